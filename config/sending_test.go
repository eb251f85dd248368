package config

import (
	"strings"
	"testing"
	"time"
)

// TestSendingKeys: the pair rate and the marketing limits take their defaults when
// left out, keep what is written, and a bad value is refused naming its key and line.
func TestSendingKeys(t *testing.T) {
	c, err := Parse("k.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Numbers[0]; n.PairBurst != 45 || n.PairGap.Duration != 6*time.Second {
		t.Fatalf("pair rate defaults: burst %d gap %v, want 45 and 6s", n.PairBurst, n.PairGap)
	}
	if c.Engine.SpamPause.Duration != 24*time.Hour {
		t.Fatalf("spam_pause default %v, want 24h", c.Engine.SpamPause)
	}
	engineKeys := func(set string) string { return "[engine]\n" + set + "\n" + minimal }
	c, err = Parse("k.toml", []byte(engineKeys(`spam_pause = "0s"`)), nil)
	if err != nil || c.Engine.SpamPause.Duration != 0 {
		t.Fatalf("spam_pause = 0s kept as %v (%v)", c.Engine.SpamPause, err)
	}
	if c.Engine.MarketingPerDay != 0 || c.Engine.MarketingPerWeek != 0 {
		t.Fatalf("frequency caps on by default: %d a day, %d a week", c.Engine.MarketingPerDay, c.Engine.MarketingPerWeek)
	}
	c, err = Parse("k.toml", []byte(engineKeys("marketing_per_day = 1\nmarketing_per_week = 3")), nil)
	if err != nil || c.Engine.MarketingPerDay != 1 || c.Engine.MarketingPerWeek != 3 {
		t.Fatalf("caps 1 and 3: %v %+v", err, c.Engine)
	}
	number := func(set string) string { return strings.Replace(minimal, `waba_id = "2"`, "waba_id = \"2\"\n"+set, 1) }
	c, err = Parse("k.toml", []byte(number("pair_burst = 1")), nil)
	if err != nil || c.Numbers[0].PairBurst != 1 {
		t.Fatalf("pair_burst = 1: %v %+v", err, c)
	}
	for _, tc := range []struct {
		name, src, key, msg string
		line                int
	}{
		{"burst zero", number("pair_burst = 0"), "numbers[0].pair_burst", "must be between 1 and 100", 8},
		{"burst beyond Meta's", number("pair_burst = 500"), "numbers[0].pair_burst", "must be between 1 and 100", 8},
		{"negative gap", number(`pair_gap = "-6s"`), "numbers[0].pair_gap", "must not be negative", 8},
		{"negative spam pause", engineKeys(`spam_pause = "-1h"`), "engine.spam_pause", "must not be negative", 2},
		{"negative daily cap", engineKeys("marketing_per_day = -1"), "engine.marketing_per_day", "must not be negative", 2},
		{"weekly cap under the daily one", engineKeys("marketing_per_day = 3\nmarketing_per_week = 2"), "engine.marketing_per_week",
			"must be 0 or at least marketing_per_day (3)", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := parseErrors(t, tc.src)
			if len(es) != 1 || es[0].Key != tc.key || es[0].Line != tc.line || !strings.Contains(es[0].Msg, tc.msg) {
				t.Fatalf("got %v, want one error on %s line %d saying %q", es, tc.key, tc.line, tc.msg)
			}
		})
	}
}
