// Package config owns Kirim's TOML configuration: the types, their defaults, validation
// with the file's line and key in every error, and KIRIM_... environment overrides for
// secrets. No other package reads configuration files.
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Provider kinds.
const (
	ProviderSandbox = "sandbox"
	ProviderCloud   = "cloud"
)

// Rule sets for messaging limits and pricing.
const (
	Rules2025   = "2025"
	RulesLegacy = "legacy"
)

// Config is the whole file.
type Config struct {
	Server    Server     `toml:"server"`
	Storage   Storage    `toml:"storage"`
	Provider  Provider   `toml:"provider"`
	Sandbox   Sandbox    `toml:"sandbox"`
	Webhook   Webhook    `toml:"webhook"`
	Engine    Engine     `toml:"engine"`
	Campaigns Campaigns  `toml:"campaigns"`
	Numbers   []Number   `toml:"numbers"`
	Accounts  []Account  `toml:"accounts"`
	Operators []Operator `toml:"operators"`
	Callbacks []Callback `toml:"callbacks"`
	Events    Events     `toml:"events"`
	RateCards []RateCard `toml:"rate_cards"` // see ledger.go

	// path is the file the config was read from, for messages.
	path string
}

// Server is the HTTP server and process settings.
type Server struct {
	// Listen is the API's address. Default "127.0.0.1:8080".
	Listen string `toml:"listen"`
	// DataDir holds the Badger database. Default "./data".
	DataDir string `toml:"data_dir"`
	// MemoryLimitMB sets the Go runtime's soft memory limit (GOMEMLIMIT), and the resident
	// size above which the pages of Badger's mapped files are handed back to the kernel.
	// Default: derived from [storage] (DerivedMemoryLimitMB), 375 with its defaults; 0: no
	// limit and no page-out.
	MemoryLimitMB int `toml:"memory_limit_mb"`
	// ShutdownTimeout bounds a graceful stop. Default 15s.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// MaxBodyBytes caps API request bodies. Default 1 MiB.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// LogLevel is debug, info, warn or error. Default info. SIGHUP applies a change.
	LogLevel string `toml:"log_level"`
	// LogFormat is "text" (logfmt-like key=value) or "json". Default text.
	LogFormat string `toml:"log_format"`
	// AccessLog writes one line per HTTP request. Default true.
	AccessLog bool `toml:"access_log"`
	// MetricsToken, when set, is the bearer token GET /metrics requires. Default "":
	// /metrics is open on the listen address.
	MetricsToken string `toml:"metrics_token"`
	// SecureCookies marks the console's cookies Secure even on plain HTTP: set it when
	// a proxy terminates TLS without sending X-Forwarded-Proto. Default false (a
	// request over TLS, or marked https by a proxy, gets Secure cookies anyway).
	SecureCookies bool `toml:"secure_cookies"`
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	// ReadTimeout bounds reading a request's body. Default 30s. A list upload may take
	// longer: its endpoint extends the deadline as the bytes arrive.
	ReadTimeout Duration `toml:"read_timeout"`
	// WriteTimeout bounds writing an answer, counted from the end of the request's
	// headers (so it includes reading the body). Default 60s; 0: none. Answers as long as
	// their data (backup, CSV exports) renew it at each write instead, so they are cut
	// only when the client stops reading for that long.
	WriteTimeout Duration `toml:"write_timeout"`
	// IdleTimeout closes a keep-alive connection idle that long. Default 2m.
	IdleTimeout Duration `toml:"idle_timeout"`
	// MaxConcurrentBodies caps the request bodies read at once on the API; above it a
	// request is answered 503 with Retry-After instead of buffered. Default 64.
	MaxConcurrentBodies int `toml:"max_concurrent_bodies"`
}

// Storage tunes Badger for the machine (see the storage package for the memory each costs).
type Storage struct {
	// MemTableMB is the size of each memtable. Default 16, at least 4.
	MemTableMB int `toml:"memtable_mb"`
	// TableMB is the size of every table file, in MiB: 0.25 to 64. Default 1.
	TableMB float64 `toml:"table_mb"`
	// NumMemtables is how many memtables may be held. Default 3.
	NumMemtables int `toml:"num_memtables"`
	// Compression compresses Badger's tables: "none", "snappy" (default) or "zstd";
	// true means "snappy" and false "none", as before Zstandard was offered.
	Compression Compression `toml:"compression"`
	// BlockCacheMB is the block cache, used with compression only. Default 16 with
	// compression, 0 without.
	BlockCacheMB int `toml:"block_cache_mb"`
	// IndexCacheMB is the index cache. Default 16.
	IndexCacheMB int `toml:"index_cache_mb"`
	// GCInterval is how often value-log GC runs. Default 10m.
	GCInterval Duration `toml:"gc_interval"`
}

// Compression is storage.compression: a name, or a boolean from older configs.
type Compression string

// The table compressions.
const (
	CompressionNone   Compression = "none"
	CompressionSnappy Compression = "snappy"
	CompressionZstd   Compression = "zstd"
)

// UnmarshalTOML reads a name or a boolean (true is Snappy, false none).
func (c *Compression) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case bool:
		*c = compressionOfBool(x)
	case string:
		*c = Compression(x)
	default:
		return fmt.Errorf("must be \"none\", \"snappy\" or \"zstd\", not %v", v)
	}
	return nil
}

func compressionOfBool(on bool) Compression {
	if on {
		return CompressionSnappy
	}
	return CompressionNone
}

// Provider says which WhatsApp API Kirim talks to.
type Provider struct {
	// Kind is "sandbox" (the built-in simulator, started in-process) or "cloud" (Meta's
	// Cloud API or a BSP with the same wire format). Default "sandbox".
	Kind string `toml:"kind"`
	// BaseURL of the Graph API. Default https://graph.facebook.com (cloud) or the
	// embedded sandbox's address (sandbox).
	BaseURL string `toml:"base_url"`
	// APIVersion is the path version segment. Default "v25.0".
	APIVersion string `toml:"api_version"`
	// Token is the system-user access token. Prefer KIRIM_PROVIDER_TOKEN.
	Token string `toml:"token"`
	// Rules is "2025" (portfolio messaging limits, per-message pricing) or "legacy"
	// (per-number tiers, conversation pricing). Default "2025".
	Rules string `toml:"rules"`
	// PortfolioLimit is the business portfolio's messaging limit under 2025 rules: 250,
	// 2000, 10000, 100000, or -1 for unlimited. Default 250.
	PortfolioLimit int `toml:"portfolio_limit"`
	// Timeout bounds one provider request. Default 30s.
	Timeout Duration `toml:"timeout"`
}

// Sandbox configures the embedded Cloud API simulator used when provider.kind = "sandbox".
type Sandbox struct {
	// Listen is the simulator's own loopback address. Default "127.0.0.1:8090".
	Listen string `toml:"listen"`
	// ReadRate is the fraction of delivered messages that are later read. Default 0.5.
	ReadRate float64 `toml:"read_rate"`
	// FailRate is the fraction of accepted messages that later fail (131026). Default 0.
	FailRate float64 `toml:"fail_rate"`
	// PacingRate is the fraction of marketing templates held for quality assessment. Default 0.
	PacingRate float64 `toml:"pacing_rate"`
	// ReviewDelay is how long template review takes. Default 5s.
	ReviewDelay Duration `toml:"review_delay"`
	// StatusDelay spaces the sent, delivered and read statuses. Default 1s.
	StatusDelay Duration `toml:"status_delay"`
	// WebhookBatch is the most statuses of one number in one webhook POST. Default 1, as
	// Meta posts them; more takes the sandbox's webhook exchanges out of a measurement.
	WebhookBatch int `toml:"webhook_batch"`
}

// Webhook configures the provider webhook receiver.
type Webhook struct {
	// AppSecret is the Meta app secret that signs webhooks (X-Hub-Signature-256).
	// Prefer KIRIM_WEBHOOK_APP_SECRET.
	AppSecret string `toml:"app_secret"`
	// VerifyToken answers Meta's GET verification handshake. Prefer KIRIM_WEBHOOK_VERIFY_TOKEN.
	VerifyToken string `toml:"verify_token"`
	// MaxBodyBytes caps a webhook body. Default 1 MiB.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// MaxConcurrentBodies caps the webhook bodies read at once; above it the provider is
	// answered 503 with Retry-After, and retries. Default 32.
	MaxConcurrentBodies int `toml:"max_concurrent_bodies"`
}

// Engine tunes the send queue.
// Campaigns tunes campaign runs.
type Campaigns struct {
	// FailurePausePercent pauses a run when more than this share of its settled
	// messages (at least FailurePauseMin of them) failed; -1 disables it. Default 20.
	FailurePausePercent int `toml:"failure_pause_percent"`
	// FailurePauseMin is the fewest settled messages the failure rate is judged on.
	// Default 200.
	FailurePauseMin int `toml:"failure_pause_min"`
	// MissedRunGrace is how late a scheduled run missed while Kirim was stopped may
	// still start when it comes back. Default 1h.
	MissedRunGrace Duration `toml:"missed_run_grace"`
	// Batch is the most recipients handed to the engine in one commit. Default 256.
	Batch int `toml:"batch"`
}

type Engine struct {
	// MaxAttempts bounds retries of transient provider errors (throttling does not count).
	// Default 8.
	MaxAttempts int `toml:"max_attempts"`
	// LeaseTimeout is how long a dispatcher may hold a message before it is recovered.
	// Default 2m.
	LeaseTimeout Duration `toml:"lease_timeout"`
	// UnknownTimeout is how long a message whose send outcome is unknown (in flight during
	// a crash) waits, from the restart, for the status webhook that names it; then
	// UnknownPolicy applies. Default 1m: the provider posts a status within seconds of
	// accepting a message and retries an undelivered webhook, so once Kirim listens again
	// the status of an accepted message comes within seconds (config.example.toml).
	UnknownTimeout Duration `toml:"unknown_timeout"`
	// IdempotencyTTL is how long an Idempotency-Key is remembered, for sends and for
	// every other POST that takes one; then its record is dropped. Default 168h (7
	// days), at least 24h.
	IdempotencyTTL Duration `toml:"idempotency_ttl"`
	// UnknownPolicy is "fail" (mark failed, release the hold: never risk a duplicate) or
	// "resend" (queue again: never risk a loss). Default "fail".
	UnknownPolicy string `toml:"unknown_policy"`
	// Workers is the number of concurrent provider calls per number. Default 64.
	Workers int `toml:"workers"`
	// OptOutKeywords opt a contact out of marketing when an inbound message (or a
	// quick-reply payload) is one of them, give or take case, punctuation and the
	// OptFiller words. Default STOP, BERHENTI, UNSUBSCRIBE.
	OptOutKeywords []string `toml:"opt_out_keywords"`
	// OptInKeywords opt the contact back in. Default START, MULAI.
	OptInKeywords []string `toml:"opt_in_keywords"`
	// OptFiller are words ignored around a keyword. Default engine.DefaultOptFiller.
	OptFiller []string `toml:"opt_filler"`
	// TierPoll is how often each number's status, quality and messaging limit are
	// read from the provider, besides the webhooks. Default 15m.
	TierPoll Duration `toml:"tier_poll"`
	// SpamPause is how long a number's marketing pauses after a 131048 (spam rate
	// limit); "0s": until an operator resumes it. Default 24h.
	SpamPause Duration `toml:"spam_pause"`
	// MarketingPerDay and MarketingPerWeek cap the marketing templates one contact of
	// an account gets in a rolling 24 h and 7 days; 0: no cap. Default 0.
	MarketingPerDay  int `toml:"marketing_per_day"`
	MarketingPerWeek int `toml:"marketing_per_week"`
}

// Number is one WhatsApp business phone number Kirim sends from.
type Number struct {
	// Alias names the number in the API ("from"). Required, unique.
	Alias string `toml:"alias"`
	// Phone is the number itself in E.164, for display.
	Phone string `toml:"phone"`
	// PhoneNumberID is Meta's id of the number (not the number). Required.
	PhoneNumberID string `toml:"phone_number_id"`
	// WABAID is the WhatsApp Business Account that owns the number's templates. Required.
	WABAID string `toml:"waba_id"`
	// Token overrides provider.token for this number. Prefer KIRIM_NUMBERS_<ALIAS>_TOKEN.
	Token string `toml:"token"`
	// BaseURL and APIVersion override the provider's for this number.
	BaseURL    string `toml:"base_url"`
	APIVersion string `toml:"api_version"`
	// ThroughputMPS is messages per second. Default 80; at most 1000.
	ThroughputMPS int `toml:"throughput_mps"`
	// MessagingLimit is the number's own limit under legacy rules: 1000, 10000, 100000 or
	// -1 for unlimited. Default 1000.
	MessagingLimit int `toml:"messaging_limit"`
	// PairGap and PairBurst are the pair rate: PairBurst messages to the same recipient
	// may go at once, then one per PairGap (Meta: about 45, then one per 6 s; 131056
	// beyond). Defaults 6s and 45; PairGap 0s: no pair rate; PairBurst 1: one message
	// per PairGap, no burst.
	PairGap   Duration `toml:"pair_gap"`
	PairBurst int      `toml:"pair_burst"`
	// Default marks the number an account's send uses when it names none. Default: the
	// account's first number.
	Default bool `toml:"default"`
	// Account owns the number, its templates, inbound messages and windows. Required
	// with several accounts; with one, that account.
	Account string `toml:"account"`
}

// Account is one business (tenant) using this Kirim.
type Account struct {
	// ID is the account's stable id. Required, unique.
	ID   string `toml:"id"`
	Name string `toml:"name"`
	// Currency of the balance and the rate card. Default "IDR".
	Currency string `toml:"currency"`
	// Timezone decides month boundaries (credits, volume bands). Default "Asia/Jakarta".
	Timezone string `toml:"timezone"`
	// DefaultRegion parses local phone numbers (081234...). Default "ID".
	DefaultRegion string `toml:"default_region"`
	// Keys are the account's API keys.
	Keys []APIKey `toml:"keys"`
	// AccountMoney holds low_balance, opening_balance and [accounts.package] (ledger.go).
	AccountMoney
}

// APIKey is one API key. Give the key itself (only for the demo, or through an
// environment variable) or, better, its SHA-256 (kirim key hash).
type APIKey struct {
	Name      string   `toml:"name"`
	Key       string   `toml:"key"`
	KeySHA256 string   `toml:"key_sha256"`
	Scopes    []string `toml:"scopes"`
}

// Callback is an endpoint of the customer's systems that receives signed events.
type Callback struct {
	URL string `toml:"url"`
	// Secret signs the deliveries: "whsec_<base64>" (the key is the decoded bytes), or
	// any other string of at least 24 characters, used as it is.
	Secret string   `toml:"secret"`
	Events []string `toml:"events"`
	// Account whose events the endpoint receives; empty: every account's (an
	// operator's endpoint).
	Account string `toml:"account"`
}

// Duration is a time.Duration written as "15s" in TOML.
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration like \"15s\" or \"2m\": %q", string(b))
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Path is the file the config was read from.
func (c *Config) Path() string { return c.path }

// setDefaults fills every setting that neither the file nor the environment set. A
// setting written as 0 keeps it, for validation to accept (where 0 means something)
// or refuse: it never silently becomes the default.
func (c *Config) setDefaults(has func(path ...string) bool) {
	s := &c.Server
	def(has("server", "listen"), &s.Listen, "127.0.0.1:8080")
	def(has("server", "data_dir"), &s.DataDir, "./data")
	def(has("server", "shutdown_timeout"), &s.ShutdownTimeout, Duration{15 * time.Second})
	def(has("server", "max_body_bytes"), &s.MaxBodyBytes, 1<<20)
	def(has("server", "log_level"), &s.LogLevel, "info")
	def(has("server", "log_format"), &s.LogFormat, "text")
	def(has("server", "access_log"), &s.AccessLog, true)
	def(has("server", "read_header_timeout"), &s.ReadHeaderTimeout, Duration{10 * time.Second})
	def(has("server", "read_timeout"), &s.ReadTimeout, Duration{30 * time.Second})
	def(has("server", "write_timeout"), &s.WriteTimeout, Duration{60 * time.Second})
	def(has("server", "idle_timeout"), &s.IdleTimeout, Duration{2 * time.Minute})
	def(has("server", "max_concurrent_bodies"), &s.MaxConcurrentBodies, 64)

	st := &c.Storage
	def(has("storage", "memtable_mb"), &st.MemTableMB, 16)
	def(has("storage", "table_mb"), &st.TableMB, 1)
	def(has("storage", "num_memtables"), &st.NumMemtables, 3)
	// The environment sets the name as written, so it may say true or false too.
	if on, err := strconv.ParseBool(string(st.Compression)); err == nil {
		st.Compression = compressionOfBool(on)
	}
	def(has("storage", "compression"), &st.Compression, CompressionSnappy)
	if st.Compression == CompressionNone {
		def(has("storage", "block_cache_mb"), &st.BlockCacheMB, 0)
	} else {
		def(has("storage", "block_cache_mb"), &st.BlockCacheMB, 16)
	}
	def(has("storage", "index_cache_mb"), &st.IndexCacheMB, 16)
	def(has("storage", "gc_interval"), &st.GCInterval, Duration{10 * time.Minute})
	// After [storage]: the limit is derived from it.
	def(has("server", "memory_limit_mb"), &s.MemoryLimitMB, DerivedMemoryLimitMB(*st))

	p := &c.Provider
	def(has("provider", "kind"), &p.Kind, ProviderSandbox)
	def(has("provider", "api_version"), &p.APIVersion, "v25.0")
	def(has("provider", "rules"), &p.Rules, Rules2025)
	def(has("provider", "portfolio_limit"), &p.PortfolioLimit, 250)
	def(has("provider", "timeout"), &p.Timeout, Duration{30 * time.Second})

	sb := &c.Sandbox
	def(has("sandbox", "listen"), &sb.Listen, "127.0.0.1:8090")
	def(has("sandbox", "read_rate"), &sb.ReadRate, 0.5)
	def(has("sandbox", "review_delay"), &sb.ReviewDelay, Duration{5 * time.Second})
	def(has("sandbox", "status_delay"), &sb.StatusDelay, Duration{time.Second})
	def(has("sandbox", "webhook_batch"), &sb.WebhookBatch, 1)

	def(has("webhook", "max_body_bytes"), &c.Webhook.MaxBodyBytes, 1<<20)
	def(has("webhook", "max_concurrent_bodies"), &c.Webhook.MaxConcurrentBodies, 32)

	e := &c.Engine
	def(has("engine", "max_attempts"), &e.MaxAttempts, 8)
	def(has("engine", "lease_timeout"), &e.LeaseTimeout, Duration{2 * time.Minute})
	def(has("engine", "unknown_timeout"), &e.UnknownTimeout, Duration{time.Minute})
	def(has("engine", "idempotency_ttl"), &e.IdempotencyTTL, Duration{7 * 24 * time.Hour})
	def(has("engine", "unknown_policy"), &e.UnknownPolicy, "fail")
	def(has("engine", "workers"), &e.Workers, 64)
	def(has("engine", "opt_out_keywords"), &e.OptOutKeywords, []string{"STOP", "BERHENTI", "UNSUBSCRIBE"})
	def(has("engine", "opt_filler"), &e.OptFiller, []string{"YA", "YAA", "AJA", "SAJA", "DONG", "DEH", "SIH", "KAK", "MIN", "GAN",
		"PLEASE", "PLS", "PLZ", "PROMO", "PROMOSI", "LAGI", "NOW", "THANKS", "MAKASIH", "OK", "OKE"})
	def(has("engine", "opt_in_keywords"), &e.OptInKeywords, []string{"START", "MULAI"})
	def(has("engine", "tier_poll"), &e.TierPoll, Duration{15 * time.Minute})
	def(has("engine", "spam_pause"), &e.SpamPause, Duration{24 * time.Hour})

	cp := &c.Campaigns
	def(has("campaigns", "failure_pause_percent"), &cp.FailurePausePercent, 20)
	def(has("campaigns", "failure_pause_min"), &cp.FailurePauseMin, 200)
	def(has("campaigns", "missed_run_grace"), &cp.MissedRunGrace, Duration{time.Hour})
	def(has("campaigns", "batch"), &cp.Batch, 256)

	for i := range c.Numbers {
		n, at := &c.Numbers[i], strconv.Itoa(i)
		def(has("numbers", at, "throughput_mps"), &n.ThroughputMPS, 80)
		def(has("numbers", at, "messaging_limit"), &n.MessagingLimit, 1000)
		def(has("numbers", at, "pair_gap"), &n.PairGap, Duration{6 * time.Second})
		def(has("numbers", at, "pair_burst"), &n.PairBurst, 45)
	}
	c.numberDefaults(has)
	c.eventDefaults(has)
	for i := range c.Accounts {
		a, at := &c.Accounts[i], strconv.Itoa(i)
		def(has("accounts", at, "currency"), &a.Currency, "IDR")
		def(has("accounts", at, "timezone"), &a.Timezone, "Asia/Jakarta")
		def(has("accounts", at, "default_region"), &a.DefaultRegion, "ID")
	}
}

// def sets *p to v unless the setting was given.
func def[T any](given bool, p *T, v T) {
	if !given {
		*p = v
	}
}

// Location loads the account's timezone (validated at load).
func (a *Account) Location() *time.Location {
	loc, err := time.LoadLocation(a.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// upper turns a toml key into its environment form.
func upper(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(s))
}
