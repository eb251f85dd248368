package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const card = `
[[rate_cards]]
effective = 2025-07-01
currency = "IDR"
  [[rate_cards.prices]]
  category = "marketing"
  up_to = [250_000, 1_000_000]
  amounts = [514, "510", "504.5"]
  [[rate_cards.prices]]
  market = "62"
  category = "utility"
  amounts = ["0.0411"]
  [rate_cards.session]
  text = 75
  image = "150"
`

func TestRateCardsAndAccountMoney(t *testing.T) {
	src := strings.Replace(minimal, `id = "acme"`, `id = "acme"
low_balance = "50000.5"
opening_balance = 1_000_000
  [accounts.package]
  credits = {service = 1000, marketing = 0}`, 1) + card
	c, err := Parse("k.toml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RateCards) != 1 {
		t.Fatalf("rate cards %+v", c.RateCards)
	}
	rc := c.RateCards[0]
	if !rc.Effective.Equal(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)) || rc.Currency != "IDR" || rc.Rules != Rules2025 {
		t.Fatalf("card %+v", rc)
	}
	mk := rc.Prices[0]
	if mk.Market != MarketDefault || mk.Category != "marketing" || len(mk.UpTo) != 2 || mk.UpTo[1] != 1_000_000 {
		t.Fatalf("marketing price %+v", mk)
	}
	want := []int64{514_000_000, 510_000_000, 504_500_000}
	for i, a := range want {
		if mk.Amounts[i].Micros() != a {
			t.Errorf("amounts[%d] = %d, want %d", i, mk.Amounts[i].Micros(), a)
		}
	}
	if u := rc.Prices[1]; u.Market != "62" || u.Amounts[0].Micros() != 41_100 {
		t.Fatalf("utility price %+v", u)
	}
	if rc.Session["text"].Micros() != 75_000_000 || rc.Session["image"].Micros() != 150_000_000 {
		t.Fatalf("session %+v", rc.Session)
	}
	a := c.Accounts[0]
	if a.LowBalance.Micros() != 50_000_500_000 || a.OpeningBalance.Micros() != 1_000_000_000_000 || a.Package.Credits["service"] != 1000 {
		t.Fatalf("account money %+v", a.AccountMoney)
	}
}

func TestParseAmount(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"514", 514_000_000, true},
		{"0.0411", 41_100, true},
		{"1000000.5", 1_000_000_500_000, true},
		{"0.000001", 1, true},
		{" 7 ", 7_000_000, true},
		{"100000000000", 100_000_000_000_000_000, true},
		{"100000000001", 0, false}, // above MaxAmountMicros
		{"0.0000001", 0, false},    // finer than a micro
		{"-5", 0, false},
		{"1e3", 0, false},
		{"1,000", 0, false},
		{"1.000", 0, false},  // Rp1.000 is a thousand: ambiguous
		{"25.500", 0, false}, // likewise
		{"0.041", 41_000, true},
		{"1.5", 1_500_000, true},
		{"1.5000", 1_500_000, true},
		{".5", 0, false},
		{"5.", 0, false},
		{"", 0, false},
	}
	for _, tc := range cases {
		got, err := ParseAmount(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestLedgerErrorsNameKeyAndLine(t *testing.T) {
	// minimal ends on line 12; the card opens with a blank line 13 and [[rate_cards]] on 14.
	base := minimal + card
	cases := []struct {
		name    string
		src     string
		wantKey string
		line    int
		msg     string
	}{
		{"float amount", strings.Replace(base, `"504.5"`, `504.5`, 1), "rate_cards[0].prices[0].amounts", 20, "as a string"},
		{"bad decimal", strings.Replace(base, `"504.5"`, `"504.1234567"`, 1), "rate_cards[0].prices[0].amounts", 20, "up to 6 decimals"},
		{"negative integer", strings.Replace(base, `amounts = [514,`, `amounts = [-514,`, 1), "rate_cards[0].prices[0].amounts", 20, "between 0 and"},
		{"band count", strings.Replace(base, `, "504.5"]`, `]`, 1), "rate_cards[0].prices[0].amounts", 20, "need 3 amounts"},
		{"bands not ascending", strings.Replace(base, `[250_000, 1_000_000]`, `[1_000_000, 250_000]`, 1), "rate_cards[0].prices[0].up_to", 19, "ascending"},
		{"market", strings.Replace(base, `market = "62"`, `market = "+62"`, 1), "rate_cards[0].prices[1].market", 22, "calling code"},
		{"category", strings.Replace(base, `category = "utility"`, `category = "Utility"`, 1), "rate_cards[0].prices[1].category", 23, "not a category"},
		{"twice", strings.Replace(base, `market = "62"
  category = "utility"`, `market = "*"
  category = "marketing"`, 1), "rate_cards[0].prices[1].category", 23, "priced twice"},
		{"rules", strings.Replace(base, `currency = "IDR"`, `currency = "IDR"
rules = "2024"`, 1), "rate_cards[0].rules", 17, "per_message"},
		{"currency", strings.Replace(base, `currency = "IDR"`, `currency = "idr"`, 1), "rate_cards[0].currency", 16, "currency code"},
		{"no effective", strings.Replace(base, "effective = 2025-07-01\n", "", 1), "rate_cards[0].effective", 14, "required"},
		{"effective time of day", strings.Replace(base, "2025-07-01", "07:00:00", 1), "rate_cards[0].effective", 15, "not a date"},
		{"session type", strings.Replace(base, "  text = 75", "  Text = 75", 1), "rate_cards[0].session.Text", 26, "content type"},
		{"account currency unpriced", strings.Replace(base, `id = "acme"`, `id = "acme"
currency = "USD"`, 1), "accounts[0].currency", 10, "no [[rate_cards]]"},
		{"opening balance on cloud", strings.NewReplacer(`app_secret = "s"`, "app_secret = \"s\"\nverify_token = \"v\"",
			`id = "acme"`, "id = \"acme\"\nopening_balance = 5").Replace("[provider]\nkind = \"cloud\"\ntoken = \"t\"\n" + base), "", 0, "sandbox demo only"},
		{"credit kind", strings.Replace(base, `id = "acme"`, `id = "acme"
  [accounts.package]
  credits = {Service = 5}`, 1), "accounts[0].package.credits.Service", 11, "credit kind"},
		{"low balance type", strings.Replace(base, `id = "acme"`, `id = "acme"
low_balance = true`, 1), "accounts[0].low_balance", 10, "integer or a decimal string"},
		{"volume scope", strings.Replace(base, `currency = "IDR"`, `currency = "IDR"
volume_scope = "month"`, 1), "rate_cards[0].volume_scope", 17, `"category" or "total"`},
		{"locale", strings.Replace(base, `id = "acme"`, `id = "acme"
locale = "id_ID"`, 1), "accounts[0].locale", 10, `"id-ID"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkParseError(t, tc.src, nil, tc.wantKey, tc.line, tc.msg)
		})
	}
}

// TestMUVTotalVolumeAndLocale: Qontak's unique-user card, TapTalk's one monthly total
// and Indonesian money display are configuration, with the defaults kept.
func TestMUVTotalVolumeAndLocale(t *testing.T) {
	src := strings.Replace(minimal, `id = "acme"`, `id = "acme"
locale = "id-ID"`, 1) + card + `
[[rate_cards]]
effective = 2025-09-01
rules = "muv"
volume_scope = "total"
  [[rate_cards.prices]]
  category = "marketing"
  amounts = [600]
`
	c, err := Parse("k.toml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := [2]string{c.RateCards[0].Rules, c.RateCards[0].VolumeScope}; got != [2]string{Rules2025, VolumeCategory} {
		t.Errorf("defaults %v", got)
	}
	if got := [2]string{c.RateCards[1].Rules, c.RateCards[1].VolumeScope}; got != [2]string{RulesMUV, VolumeTotal} {
		t.Errorf("muv card %v", got)
	}
	if c.Accounts[0].Locale != LocaleIndonesian {
		t.Errorf("locale %q", c.Accounts[0].Locale)
	}
}

func TestNoRateCardsIsValid(t *testing.T) {
	c, err := Parse("k.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RateCards) != 0 || c.Accounts[0].OpeningBalance.Micros() != 0 {
		t.Fatalf("money defaults %+v %+v", c.RateCards, c.Accounts[0].AccountMoney)
	}
}

func TestExampleRateCard(t *testing.T) {
	c, err := Load("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RateCards) == 0 {
		t.Fatal("the example has no rate card")
	}
	// The README demo sends hello_world (utility) and marketing templates at IDR 514.
	rc := c.RateCards[0]
	for _, cat := range []string{"marketing", "utility", "authentication"} {
		found := false
		for _, p := range rc.Prices {
			if p.Category == cat && p.Market == MarketDefault {
				found = true
				if len(p.UpTo) != 7 || p.Amounts[0].Micros() != 514_000_000 || p.Amounts[7].Micros() != 456_000_000 {
					t.Errorf("%s price %+v", cat, p)
				}
			}
		}
		if !found {
			t.Errorf("no default-market %s price", cat)
		}
	}
	if rc.Session["text"].Micros() != 75_000_000 || rc.Session["document"].Micros() != 300_000_000 {
		t.Errorf("session prices %+v", rc.Session)
	}
	if c.Accounts[0].OpeningBalance.Micros() <= 0 {
		t.Error("the demo account has no opening balance")
	}
}

// FuzzParseAmount: amounts come from hand-edited files; whatever the text, the parser
// never panics, and an accepted amount prints back to itself exactly.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"514", "0.0411", "1000000.5", "0.000001", "100000000000", "1e3", "-5", "", "5.", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseAmount(s)
		if err != nil {
			return
		}
		if m < 0 || m > MaxAmountMicros {
			t.Fatalf("ParseAmount(%q) = %d out of range", s, m)
		}
		back, err := ParseAmount(fmt.Sprintf("%d.%06d", m/MicrosPerUnit, m%MicrosPerUnit))
		if err != nil || back != m {
			t.Fatalf("ParseAmount(%q) = %d does not round-trip: %d %v", s, m, back, err)
		}
	})
}
