// Package sandbox owns the WhatsApp Cloud API simulator: an http.Handler that speaks
// Meta's wire format (sends, templates, media, phone-number fields), enforces the
// limits a real number meets (throughput, pair rate, messaging limit, the 24 h window,
// opt-outs, template states) with Meta's error codes, and posts signed webhooks
// (statuses with pricing, inbound messages, account and template events) on an
// injected clock. It counts everything it receives, so duplicates and real send rates
// are measured on the far side, and exposes that record and a driving API under
// /_sandbox/. Chaos knobs (latency, error rates, webhook failures, duplicates,
// reordering, delays) are applied by deterministic counters so tests are exact.
package sandbox

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kirim/clock"
	"kirim/provider"
)

// Rule sets: how messaging limits are scoped.
const (
	// Rules2025: one limit per business portfolio, shared by all its numbers.
	Rules2025 = "2025"
	// RulesLegacy: one limit per phone number (the pre-October-2025 model).
	RulesLegacy = "legacy"
)

// Defaults of Options and Number.
const (
	DefaultPhoneNumberID      = "100000000000001"
	DefaultDisplayPhoneNumber = "15550000001"
	DefaultWABAID             = "200000000000001"
	DefaultPortfolioLimit     = 250
	DefaultLegacyLimit        = 1000
	DefaultThroughputMPS      = 80
	DefaultPairGap            = 6 * time.Second
	DefaultPairBurst          = 45
	DefaultMarketingWindow    = 24 * time.Hour
	DefaultReadRate           = 0.5
	DefaultPacingRelease      = 30 * time.Minute
	DefaultWebhookBatch       = 1
	DefaultWebhookMaxAttempts = 8
	DefaultWebhookConcurrency = 16
)

// Limits and fixed durations of the simulation.
const (
	maxSendBody        = 256 << 10 // bytes of one send request
	maxAPIBody         = 1 << 20   // bytes of any other JSON request
	maxTextBody        = 4096      // characters of a text message
	maxCallbackData    = 512       // characters of biz_opaque_callback_data
	customerWindow     = 24 * time.Hour
	freeEntryWindow    = 72 * time.Hour
	limitWindow        = 24 * time.Hour
	webhookBackoffBase = time.Second
	webhookPostTimeout = 10 * time.Second
	webhookKeep        = 256 // webhook bodies kept for /_sandbox/webhooks
	userShards         = 64
	maxDupExamples     = 100
	defaultPageLimit   = 100
	maxPageLimit       = 10000
)

// Options configures a Sandbox. Every zero value means the documented default.
type Options struct {
	// Clock drives every window, limit, status and webhook; default clock.Real{}.
	// A *clock.Fake also enables POST /_sandbox/clock/advance.
	Clock clock.Clock
	// AppSecret signs webhook bodies (X-Hub-Signature-256).
	AppSecret string
	// WebhookURL receives webhooks; empty keeps them only in the outbox
	// (GET /_sandbox/webhooks).
	WebhookURL string
	// Token, when set, must arrive as "Authorization: Bearer <Token>" on every Graph
	// API call; otherwise error 190 with HTTP 401.
	Token string
	// Rules is Rules2025 (default) or RulesLegacy.
	Rules string
	// Numbers are the phone numbers served; default one number with
	// DefaultPhoneNumberID, DefaultDisplayPhoneNumber and DefaultWABAID.
	Numbers []Number
	// PortfolioLimit is the 2025-rules limit of unique business-initiated recipients in
	// a rolling 24 h, shared by every number; default 250, -1 unlimited.
	PortfolioLimit int
	// ThroughputMPS is the per-number default of accepted sends per clock second;
	// default 80.
	ThroughputMPS int
	// PairGap and PairBurst shape the per (number, recipient) token bucket: PairBurst
	// messages at once, then one per PairGap. Defaults 6 s and 45 (Meta: one message
	// every 6 s, bursts of up to 45 borrowing from later quota); a negative PairGap
	// disables the pair limit.
	PairGap   time.Duration
	PairBurst int
	// MarketingUserLimit is the per-user marketing limit: a marketing template sent
	// outside the customer-service window to a recipient who already got this many in
	// the last MarketingWindow (across every number) is accepted, then fails with
	// 131049 and is not billed. Default 0: off, as Meta's adaptive cap cannot be
	// predicted.
	MarketingUserLimit int
	// MarketingWindow is the window of MarketingUserLimit; default 24 h.
	MarketingWindow time.Duration
	// ReviewDelay is how long template review takes; default 0: reviewed as soon as
	// the deliverer runs, still after the create call has answered.
	ReviewDelay time.Duration
	// Reviewer decides APPROVED or REJECTED (with a reason) for a new template;
	// default a LintReviewer with PromoRejectRate.
	Reviewer func(def provider.TemplateDefinition) (status, reason string)
	// PromoRejectRate is the fraction of UTILITY templates with promotional wording
	// the default reviewer rejects; default DefaultPromoRejectRate, negative none.
	PromoRejectRate float64
	// SentDelay, DeliveredDelay and ReadDelay space the statuses of an accepted send,
	// each relative to the previous one (failed comes DeliveredDelay after sent);
	// defaults 0.
	SentDelay      time.Duration
	DeliveredDelay time.Duration
	ReadDelay      time.Duration
	// SentJitter, DeliveredJitter and ReadJitter add to each delay a share of
	// themselves, uniform in [0, jitter] per message and status (a hash of Seed and
	// the wamid, so runs repeat); defaults 0.
	SentJitter      time.Duration
	DeliveredJitter time.Duration
	ReadJitter      time.Duration
	// ReadRate is the fraction of delivered messages that are read; default 0.5,
	// negative for none.
	ReadRate float64
	// PacingRate is the fraction of accepted marketing template sends answered
	// held_for_quality_assessment; default 0.
	PacingRate float64
	// PacingRelease is how long a held send waits before it is sent, or failed with
	// 132015 if its template was paused meanwhile; default 30 min.
	PacingRelease time.Duration
	// DataDir, when set, keeps templates, media and the id counters in that directory
	// across restarts (see Open); default empty: everything in memory.
	DataDir string
	// Chaos injects faults; default none.
	Chaos Chaos
	// Seed seeds the random draws (latency, trace ids); default 0.
	Seed int64
	// Logger receives operational logs; default slog.Default().
	Logger *slog.Logger
	// WebhookBatch is the most statuses of one number in one POST; default 1, one
	// status per POST as Meta posts them (clients such as whatsapp-api-js read only
	// the first status of a POST). Above 1, statuses due together share a POST and a
	// worker that fell behind merges queued posts up to this size.
	WebhookBatch int
	// WebhookMaxAttempts bounds delivery attempts of one POST (backoff 1 s doubling);
	// default 8.
	WebhookMaxAttempts int
	// WebhookConcurrency is how many webhook POSTs may be in flight at once, as Meta
	// posts concurrently; default 16. One message's statuses (and, when batched or not
	// statuses, one number's webhooks) always share a worker, so they stay in order.
	WebhookConcurrency int

	flags *flagValues
}

// Number is one simulated business phone number.
type Number struct {
	PhoneNumberID      string
	DisplayPhoneNumber string
	WABAID             string
	// Throughput is accepted sends per clock second; default Options.ThroughputMPS.
	Throughput int
	// MessagingLimit is the legacy-rules limit of unique business-initiated recipients
	// in a rolling 24 h; default 1000, -1 unlimited. Unused under Rules2025.
	MessagingLimit int
	// Quality is GREEN (default), YELLOW or RED.
	Quality string
	// Status is CONNECTED (default), FLAGGED, RESTRICTED, ...
	Status string
}

// Sandbox is a simulated Cloud API. Create it with New, serve Handler, call Start to
// deliver webhooks and Close to stop.
type Sandbox struct {
	opts    Options
	clk     clock.Clock
	fake    *clock.Fake // set when the clock may be driven through the API
	realClk bool
	log     *slog.Logger
	reviewr func(def provider.TemplateDefinition) (status, reason string)
	prefix  string // makes wamids of different sandboxes differ
	seq     atomic.Uint64

	persist   *persister // nil without a data directory
	persistMu sync.Mutex

	st      atomic.Pointer[state]
	chaos   atomic.Pointer[chaosState]
	out     *outbox
	handler http.Handler
	rng     lockedRand

	startOnce sync.Once
	closeOnce sync.Once
}

// state is everything Reset forgets.
type state struct {
	numbers   []*number
	byID      map[string]*number
	portfolio *portfolio
	shards    [userShards]userShard
	templates *templateStore
	media     *mediaStore
	rec       *recorder
	readRatio ratio
	pacing    ratio
}

// number is the live state of one Number.
type number struct {
	idx     int
	id      string
	display string
	waba    string

	accepted atomic.Uint64 // sends accepted from this number, held ones included

	mu          sync.Mutex
	throughput  int
	limit       int
	quality     string
	status      string
	restriction string
	winSec      int64 // the clock second winCount counts
	winCount    int
	limiter     uniqueLimiter // legacy rules
}

type portfolio struct {
	mu      sync.Mutex
	limit   int
	limiter uniqueLimiter
}

// New returns a sandbox configured by opts (defaults filled in). With opts.DataDir it
// restores what that directory holds, as Open does; if the directory cannot be used the
// error is logged and the sandbox runs in memory.
func New(opts Options) *Sandbox {
	s := newSandbox(opts)
	if s.opts.DataDir == "" {
		return s
	}
	if err := s.openData(); err != nil {
		s.log.Error("sandbox: data directory unusable; running in memory", "dir", s.opts.DataDir, "err", err)
		s.opts.DataDir, s.persist = "", nil
		s.st.Store(s.newState())
	}
	return s
}

func newSandbox(opts Options) *Sandbox {
	opts.applyFlags()
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Rules != RulesLegacy {
		if opts.Rules != "" && opts.Rules != Rules2025 && opts.Logger != nil {
			opts.Logger.Warn("sandbox: unknown rules, using 2025", "rules", opts.Rules)
		}
		opts.Rules = Rules2025
	}
	if opts.PortfolioLimit == 0 {
		opts.PortfolioLimit = DefaultPortfolioLimit
	}
	if opts.ThroughputMPS <= 0 {
		opts.ThroughputMPS = DefaultThroughputMPS
	}
	if opts.PairGap == 0 {
		opts.PairGap = DefaultPairGap
	}
	if opts.PairBurst <= 0 {
		opts.PairBurst = DefaultPairBurst
	}
	if opts.MarketingWindow <= 0 {
		opts.MarketingWindow = DefaultMarketingWindow
	}
	if opts.ReadRate == 0 {
		opts.ReadRate = DefaultReadRate
	}
	if opts.PromoRejectRate == 0 {
		opts.PromoRejectRate = DefaultPromoRejectRate
	}
	if opts.PacingRelease <= 0 {
		opts.PacingRelease = DefaultPacingRelease
	}
	if opts.WebhookBatch <= 0 {
		opts.WebhookBatch = DefaultWebhookBatch
	}
	if opts.WebhookMaxAttempts <= 0 {
		opts.WebhookMaxAttempts = DefaultWebhookMaxAttempts
	}
	if opts.WebhookConcurrency <= 0 {
		opts.WebhookConcurrency = DefaultWebhookConcurrency
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if len(opts.Numbers) == 0 {
		opts.Numbers = []Number{{}}
	}
	nums := make([]Number, len(opts.Numbers))
	for i, n := range opts.Numbers {
		if n.PhoneNumberID == "" {
			n.PhoneNumberID = DefaultPhoneNumberID
			if i > 0 {
				n.PhoneNumberID = fmt.Sprintf("1000000000000%02d", i+1)
			}
		}
		if n.DisplayPhoneNumber == "" {
			n.DisplayPhoneNumber = DefaultDisplayPhoneNumber
			if i > 0 {
				n.DisplayPhoneNumber = fmt.Sprintf("155500000%02d", i+1)
			}
		}
		if n.WABAID == "" {
			n.WABAID = DefaultWABAID
		}
		if n.Throughput <= 0 {
			n.Throughput = opts.ThroughputMPS
		}
		if n.MessagingLimit == 0 {
			n.MessagingLimit = DefaultLegacyLimit
		}
		if n.Quality == "" {
			n.Quality = "GREEN"
		}
		if n.Status == "" {
			n.Status = "CONNECTED"
		}
		nums[i] = n
	}
	opts.Numbers = nums

	s := &Sandbox{opts: opts, clk: opts.Clock, log: opts.Logger, reviewr: opts.Reviewer}
	if s.reviewr == nil {
		s.reviewr = NewLintReviewer(opts.PromoRejectRate).Review
	}
	if f, ok := opts.Clock.(*clock.Fake); ok {
		s.fake = f
	}
	_, s.realClk = opts.Clock.(clock.Real)
	s.rng.init(opts.Seed)
	// A seeded sandbox repeats its wamids; an unseeded one draws a prefix per start, so
	// a restart without a data directory does not repeat the last run's wamids either.
	prefix := uint32(s.rng.uint64())
	if opts.Seed == 0 {
		prefix = rand.Uint32()
	}
	s.prefix = fmt.Sprintf("%08X", prefix)
	s.out = newOutbox(s)
	s.st.Store(s.newState())
	s.SetChaos(opts.Chaos)
	s.handler = s.routes()
	return s
}

func (s *Sandbox) newState() *state {
	st := &state{
		byID:      make(map[string]*number, len(s.opts.Numbers)),
		portfolio: &portfolio{limit: s.opts.PortfolioLimit},
		templates: newTemplateStore(),
		media:     newMediaStore(),
		rec:       newRecorder(),
	}
	if s.persist != nil {
		st.media.dir = filepath.Join(s.persist.dir, mediaDir)
	}
	st.readRatio.set(s.opts.ReadRate)
	st.pacing.set(s.opts.PacingRate)
	wabas := map[string]bool{}
	for i, n := range s.opts.Numbers {
		num := &number{
			idx: i, id: n.PhoneNumberID, display: n.DisplayPhoneNumber, waba: n.WABAID,
			throughput: n.Throughput, limit: n.MessagingLimit, quality: n.Quality, status: n.Status,
		}
		st.numbers = append(st.numbers, num)
		st.byID[num.id] = num
		if !wabas[n.WABAID] {
			wabas[n.WABAID] = true
			st.templates.addHelloWorld(n.WABAID)
		}
	}
	for i := range st.shards {
		st.shards[i].peers = make(map[peerKey]peerState)
		st.shards[i].flags = make(map[uint64]uint8)
		st.shards[i].accepted = make(map[uint64]struct{})
		st.shards[i].marketing = make(map[uint64][]int64)
	}
	return st
}

// Handler serves the Graph API paths and /_sandbox/.
func (s *Sandbox) Handler() http.Handler { return s.handler }

// Start starts the webhook deliverer. It is safe to call more than once.
func (s *Sandbox) Start() {
	s.startOnce.Do(s.out.start)
}

// Close stops the webhook deliverer; webhooks not yet posted are abandoned.
func (s *Sandbox) Close() {
	s.closeOnce.Do(s.out.stop)
}

// Reset forgets every send, window, limit, preference, template change, media file and
// pending webhook, as if the sandbox had just been created (in its data directory too).
// Chaos counters restart; wamids keep counting.
func (s *Sandbox) Reset() {
	s.out.reset()
	s.st.Store(s.newState())
	s.SetChaos(s.Chaos())
	if s.persist != nil {
		if err := clearMediaDir(filepath.Join(s.persist.dir, mediaDir)); err != nil {
			s.log.Error("sandbox: reset media directory", "dir", s.opts.DataDir, "err", err)
		}
		s.saveState()
	}
}

// Options returns the options in force, defaults filled in.
func (s *Sandbox) Options() Options { return s.opts }

// Advance moves a manual (fake) clock forward; it fails when the clock is real.
func (s *Sandbox) Advance(d time.Duration) error {
	if s.fake == nil {
		return fmt.Errorf("sandbox: advance: %w", errRealClock)
	}
	if d < 0 {
		return fmt.Errorf("sandbox: advance: negative duration %s", d)
	}
	s.fake.Advance(d)
	return nil
}

// now returns the clock in unix nanoseconds.
func (s *Sandbox) now() int64 { return s.clk.Now().UnixNano() }

// numberByID finds a live number; ids are compared exactly.
func (st *state) numberByID(id string) *number { return st.byID[id] }

// wabaKnown reports whether some number belongs to waba.
func (st *state) wabaKnown(waba string) bool {
	for _, n := range st.numbers {
		if n.waba == waba {
			return true
		}
	}
	return false
}

// firstNumberOfWABA returns the first number of waba, for webhooks that need metadata.
func (st *state) firstNumberOfWABA(waba string) *number {
	for _, n := range st.numbers {
		if n.waba == waba {
			return n
		}
	}
	return nil
}

// tierName renders a messaging limit the way Graph API fields and webhooks do.
func tierName(limit int) string {
	switch {
	case limit < 0:
		return "TIER_UNLIMITED"
	case limit == 0:
		return "TIER_NOT_SET"
	case limit%1000 == 0:
		return fmt.Sprintf("TIER_%dK", limit/1000)
	}
	return fmt.Sprintf("TIER_%d", limit)
}

func upper(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
