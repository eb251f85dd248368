package config

import (
	"slices"
	"strings"
	"testing"
)

// TestNeedRestart: a reload names, by key, what it cannot apply, and nothing of what it
// applies (keys, accounts, rate cards, callbacks, log level).
func TestNeedRestart(t *testing.T) {
	cases := []struct {
		name string
		edit func(string) string
		env  []string
		want []string
	}{
		{"unchanged", func(s string) string { return s }, nil, nil},
		{"reloadable only", func(s string) string {
			s = strings.Replace(s, `["send"]`, `["send", "admin"]`, 1)
			s = strings.Replace(s, `id = "acme"`, "id = \"acme\"\nname = \"Acme\"\nlow_balance = 5", 1)
			return "[server]\nlog_level = \"debug\"\n" + s + card +
				"[[callbacks]]\nurl = \"https://example.internal/e\"\nsecret = \"a-callback-secret-of-24-chars\"\nevents = [\"*\"]\n"
		}, nil, nil},
		{"addresses and storage", func(s string) string {
			return "[server]\nlisten = \"127.0.0.1:9\"\nlog_level = \"warn\"\n[storage]\ncompression = \"none\"\n" + s
		}, nil, []string{"server.listen", "server.memory_limit_mb", "storage.compression", "storage.block_cache_mb"}},
		{"a number's setting", func(s string) string {
			return strings.Replace(s, `waba_id = "2"`, "waba_id = \"2\"\nthroughput_mps = 100", 1)
		}, nil, []string{"numbers[0].throughput_mps"}},
		{"a number added", func(s string) string {
			return s + "[[numbers]]\nalias = \"b\"\nphone_number_id = \"5\"\nwaba_id = \"2\"\n"
		}, nil, []string{"numbers"}},
		{"from the environment", func(s string) string { return s }, []string{"KIRIM_ENGINE_WORKERS=8", "KIRIM_NUMBERS_MAIN_TOKEN=t"},
			[]string{"engine.workers", "numbers[0].token"}},
	}
	old, err := Parse("k.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("k.toml", []byte(tc.edit(minimal)), tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.NeedRestart(old); !slices.Equal(got, tc.want) {
				t.Fatalf("NeedRestart = %q, want %q", got, tc.want)
			}
		})
	}
}
