package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Limits on configured values.
const (
	MaxThroughputMPS = 1000
	// MaxPairBurst bounds numbers.pair_burst: more than Meta's burst only meets 131056.
	MaxPairBurst  = 100
	MinMemTableMB = 4    // storage.MinMemTableSize
	MinTableMB    = 0.25 // storage.MinTableSize
	MinKeyLength  = 16
)

// Scopes an API key may hold; admin implies the others.
var validScopes = map[string]bool{"send": true, "campaigns": true, "templates": true, "money": true, "admin": true}

// CallbackEvents are the event types a callback endpoint may subscribe to; a filter is
// one of them, a family wildcard ("message.*") or "*".
var CallbackEvents = []string{"message.queued", "message.sent", "message.delivered", "message.read", "message.failed",
	"message.inbound", "template.status", "template.quality", "number.updated", "balance.low", "topup.confirmed",
	"topup.rejected", "campaign.state", "import.completed", "endpoint.disabled", "endpoint.test"}

var (
	reAlias = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	reID    = regexp.MustCompile(`^[0-9]{1,32}$`)
	reCurr  = regexp.MustCompile(`^[A-Z]{3}$`)
)

type fieldError struct {
	Error
	path []string
}

type validator struct{ errs []fieldError }

func (v *validator) add(msg string, path ...string) {
	v.errs = append(v.errs, fieldError{Error: Error{Key: keyString(path), Msg: msg}, path: path})
}

func keyString(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if _, err := strconv.Atoi(p); err == nil && i > 0 {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// positive refuses a zero or negative duration where only a positive one makes sense.
func positive(v *validator, d Duration, path ...string) {
	if d.Duration <= 0 {
		v.add("must be a positive duration like \"30s\"", path...)
	}
}

func (c *Config) validate() []fieldError {
	v := &validator{}
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		v.add(fmt.Sprintf("%q is not host:port", c.Server.Listen), "server", "listen")
	}
	if c.Server.MaxBodyBytes < 1024 {
		v.add("must be at least 1024", "server", "max_body_bytes")
	}
	switch c.Server.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		v.add(fmt.Sprintf("%q is not one of debug, info, warn, error", c.Server.LogLevel), "server", "log_level")
	}
	if c.Server.LogFormat != "text" && c.Server.LogFormat != "json" {
		v.add(fmt.Sprintf("%q is not \"text\" or \"json\"", c.Server.LogFormat), "server", "log_format")
	}
	for _, d := range []struct {
		key string
		val Duration
	}{{"shutdown_timeout", c.Server.ShutdownTimeout}, {"read_header_timeout", c.Server.ReadHeaderTimeout},
		{"read_timeout", c.Server.ReadTimeout}, {"idle_timeout", c.Server.IdleTimeout}} {
		positive(v, d.val, "server", d.key)
	}
	if c.Server.ReadHeaderTimeout.Duration > c.Server.ReadTimeout.Duration && c.Server.ReadTimeout.Duration > 0 {
		v.add("must not be longer than server.read_timeout, which counts the headers too", "server", "read_header_timeout")
	}
	switch w := c.Server.WriteTimeout.Duration; {
	case w < 0:
		v.add("must not be negative (0: no write timeout)", "server", "write_timeout")
	case w > 0 && w <= c.Server.ReadTimeout.Duration:
		v.add(fmt.Sprintf("must be 0 (none) or longer than server.read_timeout (%v): it counts the time the body takes to read",
			c.Server.ReadTimeout.Duration), "server", "write_timeout")
	}
	if c.Server.MaxConcurrentBodies < 1 {
		v.add("must be at least 1", "server", "max_concurrent_bodies")
	}
	if c.Server.MemoryLimitMB < 0 {
		v.add("must not be negative (0 leaves the memory limit unset and the mapped files resident)", "server", "memory_limit_mb")
	}
	if c.Storage.MemTableMB < MinMemTableMB {
		v.add(fmt.Sprintf("must be at least %d", MinMemTableMB), "storage", "memtable_mb")
	}
	if c.Storage.TableMB < MinTableMB || c.Storage.TableMB > 64 {
		v.add(fmt.Sprintf("must be between %v and 64", MinTableMB), "storage", "table_mb")
	}
	if c.Storage.NumMemtables < 1 {
		v.add("must be at least 1", "storage", "num_memtables")
	}
	if c.Storage.BlockCacheMB < 0 || c.Storage.BlockCacheMB == 0 && c.Storage.Compression != CompressionNone {
		v.add("must be at least 1 with compressed tables (their blocks are read through it)", "storage", "block_cache_mb")
	}
	if c.Storage.IndexCacheMB < 0 {
		v.add("must not be negative (0 keeps every table index in memory)", "storage", "index_cache_mb")
	}
	if c.Storage.GCInterval.Duration == 0 {
		v.add("must be a duration, or negative to turn value-log GC off", "storage", "gc_interval")
	}
	switch c.Storage.Compression {
	case CompressionNone, CompressionSnappy, CompressionZstd:
	default:
		v.add(fmt.Sprintf("%q is not \"none\", \"snappy\" or \"zstd\"", c.Storage.Compression), "storage", "compression")
	}

	p := c.Provider
	switch p.Kind {
	case ProviderSandbox, ProviderCloud:
	default:
		v.add(fmt.Sprintf("%q is not \"sandbox\" or \"cloud\"", p.Kind), "provider", "kind")
	}
	if p.Rules != Rules2025 && p.Rules != RulesLegacy {
		v.add(fmt.Sprintf("%q is not \"2025\" or \"legacy\"", p.Rules), "provider", "rules")
	}
	if p.PortfolioLimit < -1 || p.PortfolioLimit == 0 {
		v.add("must be a positive limit (250, 2000, 10000, 100000) or -1 for unlimited", "provider", "portfolio_limit")
	}
	positive(v, p.Timeout, "provider", "timeout")
	if p.BaseURL != "" {
		if u, err := url.Parse(p.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(fmt.Sprintf("%q is not an http(s) URL", p.BaseURL), "provider", "base_url")
		}
	}
	if p.Kind == ProviderCloud {
		if c.Webhook.AppSecret == "" {
			v.add("is required with provider.kind = \"cloud\" (or set KIRIM_WEBHOOK_APP_SECRET)", "webhook", "app_secret")
		}
		if c.Webhook.VerifyToken == "" {
			v.add("is required with provider.kind = \"cloud\" (or set KIRIM_WEBHOOK_VERIFY_TOKEN)", "webhook", "verify_token")
		}
	}
	if p.Kind == ProviderSandbox {
		if _, _, err := net.SplitHostPort(c.Sandbox.Listen); err != nil {
			v.add(fmt.Sprintf("%q is not host:port", c.Sandbox.Listen), "sandbox", "listen")
		}
		if c.Webhook.AppSecret == "" {
			v.add("is required: the sandbox signs its webhooks with it", "webhook", "app_secret")
		}
	}
	for _, r := range []struct {
		key string
		val float64
	}{{"read_rate", c.Sandbox.ReadRate}, {"fail_rate", c.Sandbox.FailRate}, {"pacing_rate", c.Sandbox.PacingRate}} {
		if r.val < 0 || r.val > 1 {
			v.add("must be between 0 and 1", "sandbox", r.key)
		}
	}

	if c.Sandbox.WebhookBatch < 1 {
		v.add("must be at least 1", "sandbox", "webhook_batch")
	}

	for _, d := range []struct {
		key string
		val Duration
	}{{"review_delay", c.Sandbox.ReviewDelay}, {"status_delay", c.Sandbox.StatusDelay}} {
		if d.val.Duration < 0 {
			v.add("must not be negative", "sandbox", d.key)
		}
	}
	if c.Webhook.MaxBodyBytes < 1024 {
		v.add("must be at least 1024", "webhook", "max_body_bytes")
	}
	if c.Webhook.MaxConcurrentBodies < 1 {
		v.add("must be at least 1", "webhook", "max_concurrent_bodies")
	}

	e := c.Engine
	positive(v, e.LeaseTimeout, "engine", "lease_timeout")
	positive(v, e.UnknownTimeout, "engine", "unknown_timeout")
	if e.TierPoll.Duration < 0 {
		v.add("must not be negative (0 turns the poll off)", "engine", "tier_poll")
	}
	if e.MarketingPerDay < 0 {
		v.add("must not be negative (0: no cap)", "engine", "marketing_per_day")
	}
	if e.MarketingPerWeek < 0 {
		v.add("must not be negative (0: no cap)", "engine", "marketing_per_week")
	} else if e.MarketingPerWeek > 0 && e.MarketingPerWeek < e.MarketingPerDay {
		v.add(fmt.Sprintf("must be 0 or at least marketing_per_day (%d): a week holds every day's share", e.MarketingPerDay),
			"engine", "marketing_per_week")
	}
	if e.SpamPause.Duration < 0 {
		v.add("must not be negative (0 pauses until an operator resumes)", "engine", "spam_pause")
	}
	if e.MaxAttempts < 1 {
		v.add("must be at least 1", "engine", "max_attempts")
	}
	if e.UnknownPolicy != "fail" && e.UnknownPolicy != "resend" {
		v.add(fmt.Sprintf("%q is not \"fail\" or \"resend\"", e.UnknownPolicy), "engine", "unknown_policy")
	}
	if e.Workers < 1 || e.Workers > 1024 {
		v.add("must be between 1 and 1024", "engine", "workers")
	}
	if e.IdempotencyTTL.Duration < 24*time.Hour {
		v.add("must be at least 24h: the API promises to remember a key that long", "engine", "idempotency_ttl")
	}

	cp := c.Campaigns
	if cp.FailurePausePercent < -1 || cp.FailurePausePercent == 0 || cp.FailurePausePercent > 100 {
		v.add("must be -1 (off) or between 1 and 100", "campaigns", "failure_pause_percent")
	}
	if cp.FailurePauseMin < 1 {
		v.add("must be at least 1", "campaigns", "failure_pause_min")
	}
	if cp.MissedRunGrace.Duration < 0 {
		v.add("must not be negative", "campaigns", "missed_run_grace")
	}
	if cp.Batch < 1 || cp.Batch > 5000 {
		v.add("must be between 1 and 5000", "campaigns", "batch")
	}

	if len(c.Numbers) == 0 {
		v.add("at least one [[numbers]] entry is required", "numbers")
	}
	aliases, ids := map[string]bool{}, map[string]bool{}
	for i, n := range c.Numbers {
		at := func(k string) []string { return []string{"numbers", strconv.Itoa(i), k} }
		if !reAlias.MatchString(n.Alias) {
			v.add(fmt.Sprintf("%q must be 1-32 of a-z, 0-9, _ and -", n.Alias), at("alias")...)
		} else if aliases[n.Alias] {
			v.add(fmt.Sprintf("%q is used twice", n.Alias), at("alias")...)
		}
		aliases[n.Alias] = true
		if !reID.MatchString(n.PhoneNumberID) {
			v.add("is required: Meta's numeric phone-number id (not the phone number)", at("phone_number_id")...)
		} else if ids[n.PhoneNumberID] {
			v.add(fmt.Sprintf("%q is used twice", n.PhoneNumberID), at("phone_number_id")...)
		}
		ids[n.PhoneNumberID] = true
		if !reID.MatchString(n.WABAID) {
			v.add("is required: the numeric WhatsApp Business Account id", at("waba_id")...)
		}
		if n.Phone != "" {
			if _, err := phonenumbers.Parse(n.Phone, "ZZ"); err != nil || !strings.HasPrefix(n.Phone, "+") {
				v.add(fmt.Sprintf("%q is not an E.164 number like +6281234567890", n.Phone), at("phone")...)
			}
		}
		if n.ThroughputMPS < 1 || n.ThroughputMPS > MaxThroughputMPS {
			v.add(fmt.Sprintf("must be between 1 and %d", MaxThroughputMPS), at("throughput_mps")...)
		}
		if n.MessagingLimit < -1 || n.MessagingLimit == 0 {
			v.add("must be a positive limit or -1 for unlimited", at("messaging_limit")...)
		}
		if n.PairGap.Duration < 0 {
			v.add("must not be negative", at("pair_gap")...)
		}
		if n.PairBurst < 1 || n.PairBurst > MaxPairBurst {
			v.add(fmt.Sprintf("must be between 1 and %d (Meta allows about 45 at once)", MaxPairBurst), at("pair_burst")...)
		}
		if n.BaseURL != "" {
			if u, err := url.Parse(n.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.add(fmt.Sprintf("%q is not an http(s) URL", n.BaseURL), at("base_url")...)
			}
		}
		if c.Provider.Kind == ProviderCloud && n.Token == "" && c.Provider.Token == "" {
			v.add(fmt.Sprintf("no token: set provider.token, numbers.token or KIRIM_NUMBERS_%s_TOKEN", upper(n.Alias)), at("token")...)
		}
	}

	if len(c.Accounts) == 0 {
		v.add("at least one [[accounts]] entry is required", "accounts")
	}
	accIDs := map[string]bool{}
	for i, a := range c.Accounts {
		at := func(k ...string) []string { return append([]string{"accounts", strconv.Itoa(i)}, k...) }
		if !reAlias.MatchString(a.ID) {
			v.add(fmt.Sprintf("%q must be 1-32 of a-z, 0-9, _ and -", a.ID), at("id")...)
		} else if accIDs[a.ID] {
			v.add(fmt.Sprintf("%q is used twice", a.ID), at("id")...)
		}
		accIDs[a.ID] = true
		if !reCurr.MatchString(a.Currency) {
			v.add(fmt.Sprintf("%q is not a 3-letter currency code", a.Currency), at("currency")...)
		}
		if _, err := time.LoadLocation(a.Timezone); err != nil {
			v.add(fmt.Sprintf("%q is not a timezone like Asia/Jakarta", a.Timezone), at("timezone")...)
		}
		if phonenumbers.GetCountryCodeForRegion(a.DefaultRegion) == 0 {
			v.add(fmt.Sprintf("%q is not a region code like ID", a.DefaultRegion), at("default_region")...)
		}
		for j, k := range a.Keys {
			kat := func(f string) []string { return at("keys", strconv.Itoa(j), f) }
			switch {
			case k.Key == "" && k.KeySHA256 == "":
				v.add("give key or key_sha256", kat("key")...)
			case k.Key != "" && k.KeySHA256 != "":
				v.add("give key or key_sha256, not both", kat("key")...)
			case k.Key != "" && len(k.Key) < MinKeyLength:
				v.add(fmt.Sprintf("must be at least %d characters", MinKeyLength), kat("key")...)
			case k.KeySHA256 != "":
				if b, err := hex.DecodeString(k.KeySHA256); err != nil || len(b) != 32 {
					v.add("must be 64 hex digits (the SHA-256 of the key)", kat("key_sha256")...)
				}
			}
			if len(k.Scopes) == 0 {
				v.add("at least one of send, campaigns, templates, money, admin", kat("scopes")...)
			}
			for _, s := range k.Scopes {
				if !validScopes[s] {
					v.add(fmt.Sprintf("%q is not one of send, campaigns, templates, money, admin", s), kat("scopes")...)
				}
			}
		}
	}

	c.validateCallbacks(v)
	c.validateTenancy(v)
	c.validateLedger(v)
	return v.errs
}
