package config

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Pricing rules a rate card may name beyond the provider's: the non-API "SME" model,
// every message charged at its price (session messages by content type), and Qontak's
// Monthly Unique Visitors, a recipient's first message of a month charged and the
// rest of that month free. Both charge whatever the provider reports as free.
const (
	RulesPerMessage = "per_message"
	RulesMUV        = "muv"
)

// Volume scopes of a rate card: one monthly counter per category (Meta's tiers) or one
// for every category together (TapTalk's table).
const (
	VolumeCategory = "category"
	VolumeTotal    = "total"
)

// Locales money is displayed in: LocaleEnglish ("IDR 1,000,000", the default) or
// LocaleIndonesian ("Rp1.000.000", "Rp510,5").
const (
	LocaleEnglish    = "en-US"
	LocaleIndonesian = "id-ID"
)

// Limits on the money configuration.
const (
	// MicrosPerUnit converts whole currency units to the micro-units money is kept in.
	MicrosPerUnit = 1_000_000
	// MaxAmountMicros bounds one configured amount (IDR 100 billion), far from overflow.
	MaxAmountMicros = 100_000_000_000_000_000
	// MaxPriceBands bounds the volume bands of one price.
	MaxPriceBands = 64
	// MarketDefault is the market of a price that applies to every calling code without
	// one of its own.
	MarketDefault = "*"
)

// RateCard is a dated price list, in whole currency units:
//
//	[[rate_cards]]
//	effective = 2025-07-01
//	currency = "IDR"
//	  [[rate_cards.prices]]
//	  market = "*"
//	  category = "marketing"
//	  up_to = [250_000, 1_000_000]
//	  amounts = [514, 510, "504.5"]
//	  [rate_cards.session]
//	  text = 75
type RateCard struct {
	// Effective is when the card takes effect: a date (00:00 UTC) or a date-time with an
	// offset. Required. The card in force for a message is the latest effective one.
	Effective Date `toml:"effective"`
	// Currency of the prices; accounts in this currency use the card. Default "IDR".
	Currency string `toml:"currency"`
	// Rules are "2025" (per-message pricing with Meta's free rules), "legacy"
	// (conversation pricing: one charge per recipient, category and 24 h), "per_message"
	// (every message charged) or "muv" (per unique recipient per calendar month of the
	// account's timezone: its first message charged, later ones that month free).
	// Default provider.rules.
	Rules string `toml:"rules"`
	// VolumeScope is what a volume band counts: "category" (each category's charged
	// messages of the month on their own) or "total" (every charged message of the
	// month). Default "category".
	VolumeScope string `toml:"volume_scope"`
	// Prices lists the price of each category in each market.
	Prices []Price `toml:"prices"`
	// Session prices session (free-form) messages by content type (text, image, video,
	// document...) whenever the rules charge them.
	Session map[string]Amount `toml:"session"`
}

// Price is one category's price in one market by monthly volume band.
type Price struct {
	// Market is the recipient's calling code ("62") or "*" for every other. Default "*".
	Market string `toml:"market"`
	// Category is marketing, utility, authentication, authentication_international or service.
	Category string `toml:"category"`
	// UpTo are the ascending inclusive upper bounds of the volume bands in messages per
	// month; empty for a flat price.
	UpTo []int64 `toml:"up_to"`
	// Amounts are the band prices, one more than UpTo (the last is for every message
	// above the last bound), in whole currency units.
	Amounts []Amount `toml:"amounts"`
}

// AccountMoney is an account's money settings, embedded in Account.
type AccountMoney struct {
	// Locale is how the API displays the account's money: "en-US" ("IDR 1,000,000",
	// the default) or "id-ID" ("Rp1.000.000"). Amounts in micro-units and CSV exports
	// do not change.
	Locale string `toml:"locale"`
	// LowBalance raises balance.low when available money falls below it. Default 0: off.
	LowBalance Amount `toml:"low_balance"`
	// OpeningBalance is credited once, at the first start, as a confirmed top-up with
	// reference "opening-balance". Sandbox only: refused with provider.kind = "cloud".
	OpeningBalance Amount `toml:"opening_balance"`
	// Package is the monthly allowance.
	Package Package `toml:"package"`
}

// Package grants free credits at the start of every month, which do not carry over.
type Package struct {
	// Credits maps a kind (a message category: service, marketing...) to units per month.
	Credits map[string]int64 `toml:"credits"`
}

// Amount is money written in whole currency units, as a TOML integer (514) or a
// decimal string ("514", "0.0411"), and held in micro-units. Floats are refused: 0.1 is
// not exact in binary, and money must be. A value that does not parse is kept with its
// problem and reported by validation, which knows the key's index and line.
type Amount struct {
	micros  int64
	problem string
}

// Micros is the amount in micro-units.
func (a Amount) Micros() int64 { return a.micros }

// UnmarshalTOML reads an integer or a decimal string.
func (a *Amount) UnmarshalTOML(v any) error {
	*a = Amount{}
	switch x := v.(type) {
	case int64:
		if x < 0 || x > MaxAmountMicros/MicrosPerUnit {
			a.problem = fmt.Sprintf("amount %d must be between 0 and %d", x, int64(MaxAmountMicros/MicrosPerUnit))
			return nil
		}
		a.micros = x * MicrosPerUnit
	case string:
		m, err := ParseAmount(x)
		if err != nil {
			a.problem = err.Error()
			return nil
		}
		a.micros = m
	case float64:
		a.problem = fmt.Sprintf("amount %v: write a decimal amount as a string (\"%v\"); floats are not exact", x, x)
	default:
		a.problem = fmt.Sprintf("amount must be an integer or a decimal string, not %T", v)
	}
	return nil
}

var reAmount = regexp.MustCompile(`^([0-9]{1,12})(?:\.([0-9]{1,6}))?$`)

// ParseAmount converts a non-negative decimal amount in whole units ("514",
// "0.0411", "1000000.5") to micro-units exactly, with no floating point.
func ParseAmount(s string) (int64, error) {
	m := reAmount.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("amount %q must be digits with up to 6 decimals, like \"514\" or \"0.0411\"", s)
	}
	// In Indonesian "1.000" is a thousand (Rp1.000); read as one it would price a
	// message a thousand times too low. Three decimals after a non-zero whole part are
	// taken as that mistake.
	if len(m[2]) == 3 && strings.TrimLeft(m[1], "0") != "" {
		return 0, fmt.Errorf("amount %q is ambiguous: a dot may group thousands (Rp1.000 is a thousand); write %s%s for that, or give a fraction another number of decimals (%s.5, %s.50)",
			s, m[1], m[2], m[1], m[1])
	}
	whole, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %v", s, err)
	}
	frac := int64(0)
	if m[2] != "" {
		f, err := strconv.ParseInt(m[2]+strings.Repeat("0", 6-len(m[2])), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("amount %q: %v", s, err)
		}
		frac = f
	}
	// 12 whole digits times 10^6 stays far below MaxInt64.
	micros := whole*MicrosPerUnit + frac
	if micros > MaxAmountMicros {
		return 0, fmt.Errorf("amount %q is above %d", s, int64(MaxAmountMicros/MicrosPerUnit))
	}
	return micros, nil
}

// Date is a point in time written as a TOML date (00:00 UTC), a TOML date-time, or a
// string in either form. Like Amount, a bad value is reported by validation.
type Date struct {
	time.Time
	problem string
}

// UnmarshalTOML reads a date or a date-time.
func (d *Date) UnmarshalTOML(v any) error {
	*d = Date{}
	switch x := v.(type) {
	case time.Time:
		switch x.Location().String() {
		case "date-local", "datetime-local":
			// A local date or date-time has no zone; read its wall clock as UTC.
			x = time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC)
		case "time-local":
			d.problem = "a time of day is not a date: write 2025-07-01"
			return nil
		}
		d.Time = x.UTC()
	case string:
		if t, err := time.Parse(time.DateOnly, x); err == nil {
			d.Time = t
			return nil
		}
		t, err := time.Parse(time.RFC3339, x)
		if err != nil {
			d.problem = fmt.Sprintf("%q is not a date like 2025-07-01 or a time like 2025-07-01T00:00:00+07:00", x)
			return nil
		}
		d.Time = t.UTC()
	default:
		d.problem = fmt.Sprintf("must be a date like 2025-07-01, not %T", v)
	}
	return nil
}

var (
	reMarket   = regexp.MustCompile(`^(\*|[1-9][0-9]{0,3})$`)
	rePriceKey = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
)

// ledgerDefaults fills the money defaults.
func (c *Config) ledgerDefaults() {
	for i := range c.RateCards {
		rc := &c.RateCards[i]
		def(rc.Currency != "", &rc.Currency, "IDR")
		def(rc.Rules != "", &rc.Rules, c.Provider.Rules)
		def(rc.VolumeScope != "", &rc.VolumeScope, VolumeCategory)
		for j := range rc.Prices {
			def(rc.Prices[j].Market != "", &rc.Prices[j].Market, MarketDefault)
		}
	}
}

// validateLedger fills the money defaults and checks rate cards and the accounts'
// money settings. validate runs right after setDefaults, so the defaults land here to
// keep the money configuration in one file.
func (c *Config) validateLedger(v *validator) {
	c.ledgerDefaults()
	currencies := map[string]bool{}
	dates := map[string]bool{}
	for i, rc := range c.RateCards {
		at := func(k ...string) []string { return append([]string{"rate_cards", strconv.Itoa(i)}, k...) }
		if rc.Effective.problem != "" {
			v.add(rc.Effective.problem, at("effective")...)
		} else if rc.Effective.IsZero() {
			v.add("is required: the date the card takes effect, like 2025-07-01", at("effective")...)
		}
		if !reCurr.MatchString(rc.Currency) {
			v.add(fmt.Sprintf("%q is not a 3-letter currency code", rc.Currency), at("currency")...)
		}
		if k := rc.Currency + "@" + rc.Effective.Format(time.RFC3339Nano); !rc.Effective.IsZero() && dates[k] {
			v.add(fmt.Sprintf("two %s cards take effect at %s", rc.Currency, rc.Effective.Format(time.RFC3339)), at("effective")...)
		} else {
			dates[k] = true
		}
		currencies[rc.Currency] = true
		switch rc.Rules {
		case Rules2025, RulesLegacy, RulesPerMessage, RulesMUV:
		default:
			v.add(fmt.Sprintf("%q is not \"2025\", \"legacy\", \"per_message\" or \"muv\"", rc.Rules), at("rules")...)
		}
		if rc.VolumeScope != VolumeCategory && rc.VolumeScope != VolumeTotal {
			v.add(fmt.Sprintf("%q is not \"category\" or \"total\"", rc.VolumeScope), at("volume_scope")...)
		}
		if len(rc.Prices) == 0 && len(rc.Session) == 0 {
			v.add("a card needs at least one [[rate_cards.prices]] entry", at("prices")...)
		}
		seen := map[string]bool{}
		for j, p := range rc.Prices {
			pat := func(k string) []string { return at("prices", strconv.Itoa(j), k) }
			if !reMarket.MatchString(p.Market) {
				v.add(fmt.Sprintf("%q is not a calling code like \"62\" or \"*\"", p.Market), pat("market")...)
			}
			if !rePriceKey.MatchString(p.Category) {
				v.add(fmt.Sprintf("%q is not a category like marketing, utility, authentication or service", p.Category), pat("category")...)
			} else if k := p.Market + "/" + p.Category; seen[k] {
				v.add(fmt.Sprintf("market %q category %q is priced twice", p.Market, p.Category), pat("category")...)
			} else {
				seen[k] = true
			}
			if len(p.UpTo) > MaxPriceBands {
				v.add(fmt.Sprintf("at most %d bands", MaxPriceBands), pat("up_to")...)
			}
			for k, b := range p.UpTo {
				if b <= 0 || (k > 0 && b <= p.UpTo[k-1]) {
					v.add(fmt.Sprintf("bounds must be positive and ascending (up_to[%d] = %d)", k, b), pat("up_to")...)
					break
				}
			}
			for _, a := range p.Amounts {
				if a.problem != "" {
					v.add(a.problem, pat("amounts")...)
					break
				}
			}
			if len(p.Amounts) != len(p.UpTo)+1 {
				v.add(fmt.Sprintf("%d band bounds need %d amounts (the last for every message above the last bound), got %d", len(p.UpTo), len(p.UpTo)+1, len(p.Amounts)), pat("amounts")...)
			}
		}
		for _, ct := range slices.Sorted(maps.Keys(rc.Session)) {
			if !rePriceKey.MatchString(ct) {
				v.add(fmt.Sprintf("%q is not a content type like text, image, video or document", ct), at("session", ct)...)
			} else if p := rc.Session[ct].problem; p != "" {
				v.add(p, at("session", ct)...)
			}
		}
	}
	for i, a := range c.Accounts {
		at := func(k ...string) []string { return append([]string{"accounts", strconv.Itoa(i)}, k...) }
		for _, f := range []struct {
			key string
			a   Amount
		}{{"low_balance", a.LowBalance}, {"opening_balance", a.OpeningBalance}} {
			if f.a.problem != "" {
				v.add(f.a.problem, at(f.key)...)
			}
		}
		if a.Locale != "" && a.Locale != LocaleEnglish && a.Locale != LocaleIndonesian {
			v.add(fmt.Sprintf("%q is not %q or %q", a.Locale, LocaleEnglish, LocaleIndonesian), at("locale")...)
		}
		if len(c.RateCards) > 0 && !currencies[a.Currency] {
			v.add(fmt.Sprintf("no [[rate_cards]] entry prices %s: add one or change the account's currency", a.Currency), at("currency")...)
		}
		if a.OpeningBalance.micros > 0 && c.Provider.Kind == ProviderCloud {
			v.add("is for the sandbox demo only; with provider.kind = \"cloud\" money comes in through confirmed top-ups", at("opening_balance")...)
		}
		for _, kind := range slices.Sorted(maps.Keys(a.Package.Credits)) {
			if !rePriceKey.MatchString(kind) {
				v.add(fmt.Sprintf("%q is not a credit kind like service or marketing", kind), at("package", "credits", kind)...)
			} else if n := a.Package.Credits[kind]; n < 0 || n > math.MaxInt32 {
				v.add(fmt.Sprintf("%d credits must be between 0 and %d", n, math.MaxInt32), at("package", "credits", kind)...)
			}
		}
	}
}
