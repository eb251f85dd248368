package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"kirim/clock"
	"kirim/provider"
	"kirim/storage"
)

// Errors Submit and Cancel return; the api maps them to HTTP statuses.
var (
	ErrIdempotencyConflict = errors.New("engine: idempotency key reused with a different request")
	ErrUnknownNumber       = errors.New("engine: unknown sending number")
	ErrNotCancellable      = errors.New("engine: message can no longer be cancelled")
	ErrClosed              = errors.New("engine: shutting down")
)

// Sender sends an encoded message to the provider (provider.Client does).
type Sender interface {
	SendMessageJSON(ctx context.Context, body []byte) (*provider.SendResponse, error)
}

// Biller prices and pays for messages inside the engine's transactions, so a message
// and its hold are written together. The ledger implements it.
type Biller interface {
	// Hold prices m and reserves the amount, setting m.Price, m.Currency and m.HoldID.
	// It fails (writing nothing) when the account cannot pay.
	Hold(tx storage.Txn, m *Message) error
	// Capture charges the hold for a billable delivery, at the category the provider
	// reported; it returns the amount charged.
	Capture(tx storage.Txn, m *Message, category string) (int64, error)
	// Release returns the hold: the message failed, was free, or was cancelled.
	Release(tx storage.Txn, m *Message, reason string) error
}

// Number is one sending number as the engine sees it.
type Number struct {
	Alias string
	// Account owns the number: its sends, templates, inbound messages, windows and
	// opt-outs. Empty in a single-tenant engine.
	Account       string
	PhoneNumberID string
	WABAID        string
	Sender        Sender
	// MPS is the provider's throughput for the number (messages per second). At
	// Meta's StandardMPS the number follows the provider's level: HighThroughputMPS
	// while it reports HIGH.
	MPS int
	// Phone is the number in E.164, for display and to match number webhooks.
	Phone string
	// MessagingLimit is the number's own limit under legacy rules (-1 unlimited).
	// Default 1000.
	MessagingLimit int
	// PairGap and PairBurst are the pair rate: PairBurst messages to one recipient at
	// once, then one per PairGap. Defaults DefaultPairGap and DefaultPairBurst; a
	// negative PairGap: no pair rate.
	PairGap   time.Duration
	PairBurst int
	// Status and Quality are the standing assumed until the provider says otherwise.
	// Defaults CONNECTED and GREEN.
	Status, Quality string
}

// Options configure an Engine. Zero values take the documented defaults.
type Options struct {
	DB      *storage.DB
	Clock   clock.Clock // default clock.Real{}
	Numbers []Number
	Biller  Biller // default: everything is free
	Logger  *slog.Logger
	// MaxAttempts bounds transient-error retries (throttling does not count). Default 8.
	MaxAttempts int
	// LeaseTimeout is how long a claimed message may stay in flight before the recoverer
	// marks it unknown. Default 2m.
	LeaseTimeout time.Duration
	// UnknownTimeout is how long an unknown message waits for its webhook, from when it
	// became unknown; then the unknown policy settles it. Default DefaultUnknownTimeout.
	UnknownTimeout time.Duration
	// IdempotencyTTL is how long an Idempotency-Key is remembered; then its record is
	// dropped and the key may name a new message. Default DefaultIdempotencyTTL; the API
	// promises at least 24h.
	IdempotencyTTL time.Duration
	// ResendUnknown queues unknown messages again after UnknownTimeout instead of
	// failing them. Default false: a possible loss is preferred to a possible duplicate.
	ResendUnknown bool
	// Workers is the number of concurrent provider calls per number. Default 64.
	Workers int
	// SendTimeout bounds one provider call. Default 30s.
	SendTimeout time.Duration
	// OnChange is called after each commit with the messages whose state changed.
	OnChange func([]*Message)
	// TemplateStatus reports a template's current status (APPROVED, PAUSED, DISABLED,
	// ...) at claim time, so queued sends of a paused template wait instead of failing
	// at the provider, and those of a disabled one fail at once. Nil: not checked.
	TemplateStatus func(wabaID, name, language string) string
	// Observe is called inside the transaction of every change to a campaign message
	// (CampaignID set) after it is written, with the state it had before (equal to the
	// current one when only its money or pricing changed), so the campaign's recipient
	// rows and counters commit with the message. An error aborts the transaction.
	Observe func(tx storage.Txn, m *Message, prev State) error
	// OnState is called inside the transaction that writes a message's new state, for
	// every message: at acceptance (prev "") and at each change of state after, so an
	// event reporting the change commits with it. An error aborts the transaction.
	OnState func(tx storage.Txn, m *Message, prev State) error
	// OnNumber is told, inside the transaction that stores it, of a change of a
	// number's status, quality, restriction or messaging limit (limit: the scope's, -1
	// unlimited), so a number.updated event commits with it.
	OnNumber func(tx storage.Txn, n Number, st NumberState, limit int) error
	// AfterNumber is told, after the change is stored, that the number's standing,
	// limit or holds changed (the waiting messages are being re-planned), so campaigns
	// on it wake, pause or resume. Nil: nobody.
	AfterNumber func(alias string)
	// OnInbound is called inside the transaction that stores each new inbound message,
	// after it is written (a message.inbound event commits with it). An error aborts the
	// transaction: nothing of the batch is stored. Nil: none.
	OnInbound func(tx storage.Txn, rec *InboundRecord) error
	// Seed seeds retry jitter (0: random).
	Seed uint64
	// Rules is Rules2025 (default: one messaging limit for the portfolio) or
	// RulesLegacy (one per number).
	Rules string
	// PortfolioLimit is the portfolio's limit under 2025 rules. Default 250; -1 unlimited.
	PortfolioLimit int
	// OptOutKeywords and OptInKeywords opt a contact out of and back into marketing
	// when an inbound message is one of them, give or take case, punctuation and the
	// OptFiller words. Defaults DefaultOptOutKeywords and DefaultOptInKeywords.
	OptOutKeywords, OptInKeywords []string
	// OptFiller are words ignored around a keyword. Default DefaultOptFiller.
	OptFiller []string
	// MarketingPerDay and MarketingPerWeek cap the marketing templates one contact of
	// an account gets in a rolling 24 h and 7 days (frequency.go); 0: no cap.
	MarketingPerDay, MarketingPerWeek int
	// SpamPause is how long a number's marketing pauses after a 131048 (spam rate
	// limit). Default DefaultSpamPause; negative: until ResumeMarketing.
	SpamPause time.Duration
}

func (o *Options) defaults() {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Biller == nil {
		o.Biller = freeBiller{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.LeaseTimeout <= 0 {
		o.LeaseTimeout = 2 * time.Minute
	}
	if o.UnknownTimeout <= 0 {
		o.UnknownTimeout = DefaultUnknownTimeout
	}
	if o.IdempotencyTTL <= 0 {
		o.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	if o.Rules == "" {
		o.Rules = Rules2025
	}
	if o.PortfolioLimit == 0 {
		o.PortfolioLimit = 250
	}
	if o.OptOutKeywords == nil {
		o.OptOutKeywords = DefaultOptOutKeywords
	}
	if o.OptFiller == nil {
		o.OptFiller = DefaultOptFiller
	}
	if o.SpamPause == 0 {
		o.SpamPause = DefaultSpamPause
	}
	if o.OptInKeywords == nil {
		o.OptInKeywords = DefaultOptInKeywords
	}
}

// Engine is the send path after acceptance.
type Engine struct {
	opts        Options
	db          *storage.DB
	clock       clock.Clock
	log         *slog.Logger
	dispatchers map[string]*dispatcher
	order       []string
	defaultNum  string

	tier          *tiers // tier.go
	optOut, optIn keywordSet

	mu     sync.Mutex
	rng    *rand.Rand
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool // set under mu by Close; read without it
}

// New builds an engine; Start recovers and starts the dispatchers.
func New(opts Options) (*Engine, error) {
	opts.defaults()
	if opts.DB == nil {
		return nil, fmt.Errorf("engine: no storage")
	}
	if len(opts.Numbers) == 0 {
		return nil, fmt.Errorf("engine: no numbers")
	}
	e := &Engine{
		opts:        opts,
		db:          opts.DB,
		clock:       opts.Clock,
		log:         opts.Logger,
		dispatchers: map[string]*dispatcher{},
		rng:         rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		optOut:      newKeywordSet(opts.OptOutKeywords, opts.OptFiller),
		optIn:       newKeywordSet(opts.OptInKeywords, opts.OptFiller),
	}
	if opts.Rules != Rules2025 && opts.Rules != RulesLegacy {
		return nil, fmt.Errorf("engine: rules %q: want %q or %q", opts.Rules, Rules2025, RulesLegacy)
	}
	for i, n := range opts.Numbers {
		if n.Alias == "" || n.Sender == nil {
			return nil, fmt.Errorf("engine: number %d: alias and sender are required", i)
		}
		if _, dup := e.dispatchers[n.Alias]; dup {
			return nil, fmt.Errorf("engine: number %q twice", n.Alias)
		}
		if i == 0 {
			e.defaultNum = n.Alias
		}
		e.dispatchers[n.Alias] = newDispatcher(e, n)
		e.order = append(e.order, n.Alias)
	}
	if err := e.setupTiers(); err != nil {
		return nil, err
	}
	e.tier.finishLoad(e.clock.Now())
	return e, nil
}

// Start recovers what a previous process left in flight, then starts one dispatcher per
// number and the recoverer. It returns once recovery is committed.
func (e *Engine) Start(ctx context.Context) error {
	unknown, requeued, err := e.recoverInFlight(ctx)
	if err != nil {
		return err
	}
	if requeued > 0 {
		e.log.Info("engine: messages claimed but not sent at the last stop are queued again", "count", requeued)
	}
	if unknown > 0 {
		e.log.Warn("engine: messages in flight at the last stop are now unknown until their webhooks arrive",
			"count", unknown, "settle_after", e.opts.UnknownTimeout.String())
	}
	if err := e.armHolds(ctx); err != nil {
		return err
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	for _, d := range e.dispatchers {
		d.start(e.ctx, &e.wg)
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.recoverLoop(e.ctx)
	}()
	return nil
}

// Close stops claiming new work, lets in-flight provider calls finish and their results
// commit until ctx ends, then returns. Whatever is still in flight is recovered (as
// unknown) on the next Start.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	wasClosed, started := e.closed.Swap(true), e.cancel != nil
	e.mu.Unlock()
	if wasClosed || !started {
		return nil
	}
	for _, d := range e.dispatchers {
		d.stopClaiming()
	}
	done := make(chan struct{})
	go func() {
		for _, d := range e.dispatchers {
			d.drain()
		}
		e.cancel()
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		e.cancel()
		return fmt.Errorf("engine: close: %w", ctx.Err())
	}
}

// DefaultNumber is the alias used when a send names none.
func (e *Engine) DefaultNumber() string { return e.defaultNum }

// DefaultNumberOf is the alias an account's send uses when it names none: the first
// of the account's numbers in the configured order, or "" when it has none.
func (e *Engine) DefaultNumberOf(account string) string {
	for _, a := range e.order {
		if e.dispatchers[a].num.Account == account {
			return a
		}
	}
	return ""
}

// HasNumber reports whether alias is a configured number.
func (e *Engine) HasNumber(alias string) bool { _, ok := e.dispatchers[alias]; return ok }

// Number returns the configured number with alias.
func (e *Engine) Number(alias string) (Number, bool) {
	d, ok := e.dispatchers[alias]
	if !ok {
		return Number{}, false
	}
	return d.current(), true
}

// Get returns the message with id, with its payload.
func (e *Engine) Get(id string) (*Message, error) {
	var m *Message
	err := e.db.View(func(r storage.Reader) error {
		var err error
		if m, err = loadMessage(r, id); err != nil {
			return err
		}
		return loadPayload(r, m)
	})
	return m, err
}

// Cancel cancels a message that has not been claimed yet and releases its hold.
func (e *Engine) Cancel(ctx context.Context, id string) (*Message, error) {
	var out *Message
	err := e.db.Commit(ctx, func(tx storage.Txn) error {
		var err error
		out, err = e.CancelIn(tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	e.notify([]*Message{out})
	return out, nil
}

// CancelIn is Cancel inside the caller's transaction (a campaign pausing takes its
// unclaimed messages back); ErrNotCancellable once the message was claimed.
func (e *Engine) CancelIn(tx storage.Txn, id string) (*Message, error) {
	m, err := loadMessage(tx, id)
	if err != nil {
		return nil, err
	}
	prev := m.State
	if !m.move(Cancelled, e.clock.Now()) {
		return nil, ErrNotCancellable
	}
	if err := tx.Delete(queueKey(m.Number, m.NextAttemptAt, m.ID)); err != nil {
		return nil, err
	}
	if err := e.release(tx, m, "cancelled"); err != nil {
		return nil, err
	}
	return m, e.update(tx, m, prev)
}

// isClosed is read on every send's accept: an atomic, so accepts take no lock of the
// engine's.
func (e *Engine) isClosed() bool { return e.closed.Load() }

func (e *Engine) notify(ms []*Message) {
	if e.opts.OnChange != nil && len(ms) > 0 {
		e.opts.OnChange(ms)
	}
}

func (e *Engine) release(tx storage.Txn, m *Message, reason string) error {
	if m.Settled {
		return nil
	}
	if err := e.opts.Biller.Release(tx, m, reason); err != nil {
		return fmt.Errorf("engine: release %s: %w", m.ID, err)
	}
	m.Settled = true
	return nil
}

func (e *Engine) capture(tx storage.Txn, m *Message, category string) error {
	if m.Settled {
		return nil
	}
	charged, err := e.opts.Biller.Capture(tx, m, category)
	if err != nil {
		return fmt.Errorf("engine: capture %s: %w", m.ID, err)
	}
	m.Charged = charged
	m.Settled = true
	return nil
}

// jitter returns d scaled by a random factor in [0.75, 1.25).
func (e *Engine) jitter(d time.Duration) time.Duration {
	e.mu.Lock()
	f := e.rng.Int64N(500)
	e.mu.Unlock()
	return d * time.Duration(750+f) / 1000
}

// freeBiller charges nothing; used when no ledger is wired.
type freeBiller struct{}

func (freeBiller) Hold(storage.Txn, *Message) error                     { return nil }
func (freeBiller) Capture(storage.Txn, *Message, string) (int64, error) { return 0, nil }
func (freeBiller) Release(storage.Txn, *Message, string) error          { return nil }

// Numbers lists the configured numbers in configuration order.
func (e *Engine) Numbers() []Number {
	out := make([]Number, 0, len(e.order))
	for _, a := range e.order {
		out = append(out, e.dispatchers[a].current())
	}
	return out
}
