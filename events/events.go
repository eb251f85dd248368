// Package events owns the outbox of events Kirim reports to customer systems and their
// delivery: endpoints (from the configuration and made through the API), the event log
// written in the same commit as the change each event reports, per-endpoint queues,
// Standard Webhooks signing, retries on a schedule, failed deliveries kept for replay,
// and the guard that keeps deliveries away from link-local and metadata addresses.
//
// An event exists exactly when the caller's commit landed: Emit writes it inside the
// caller's transaction. Delivery is at least once: a queue entry is removed only in the
// commit that records its outcome, so a crash mid-delivery sends it again with the same
// webhook-id. Each endpoint has its own loop and workers, so one slow or dead endpoint
// never delays another, and nothing pending is ever held in memory beyond a page.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kirim/clock"
	"kirim/storage"
)

// Errors callers branch on; the API maps them to 404, 400 and 409.
var (
	ErrNotFound       = errors.New("events: not found")
	ErrInvalid        = errors.New("events: invalid")
	ErrConfigEndpoint = errors.New("events: endpoint is defined in the configuration")
	// ErrState refuses a change the record's state does not allow (replaying a
	// delivery that has not failed).
	ErrState = errors.New("events: not allowed in this state")
)

// EventTypes are the event types Kirim emits; endpoint filters are checked against
// them and their families ("message.*").
var EventTypes = []string{
	"message.queued", "message.sent", "message.delivered", "message.read", "message.failed",
	"message.inbound", "template.status", "template.quality", "number.updated", "balance.low",
	"topup.confirmed", "topup.rejected", "campaign.state", "import.completed",
	"endpoint.disabled", "endpoint.test",
}

// Event is one thing that happened, as reported to endpoints.
type Event struct {
	ID      string          // "evt_..."; set by Emit when empty
	Type    string          // e.g. "message.delivered"
	Account string          // owning account id
	At      time.Time       // set by Emit from the clock when zero
	Data    json.RawMessage // the resource as the API shows it
}

// ConfigEndpoint is an endpoint written in the configuration.
type ConfigEndpoint struct {
	URL string
	// Secret is "whsec_<base64>" (the key is the decoded bytes) or any other string,
	// whose bytes are the key.
	Secret  string
	Events  []string
	Account string // "" = operator endpoint
}

// Defaults of Options.
const (
	DefaultConcurrency  = 16
	DefaultDisableAfter = 5 * 24 * time.Hour
	DefaultTimeout      = 10 * time.Second
)

// DefaultRetry is the wait before each retry after a failed attempt: ten retries over
// 33 h 42 m 35 s, each wait stretched or shrunk by up to 20 % at random so endpoints
// that fail together do not retry in lockstep. A receiver down for a whole day still
// gets every event; after the last retry a delivery is failed and kept for replay.
var DefaultRetry = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour,
}

// Options configure New. DB is required; zero fields take the defaults named.
type Options struct {
	DB     *storage.DB
	Clock  clock.Clock  // default clock.Real
	Logger *slog.Logger // default slog.Default()
	// HTTP sends the deliveries. Default: a client with a 10 s timeout whose dialer
	// refuses link-local and metadata addresses (and private ones unless AllowPrivate)
	// at connect time, after DNS, so a name that re-resolves cannot reach them.
	HTTP   *http.Client
	Config []ConfigEndpoint
	// Retry is the retry schedule, DefaultRetry when empty; each wait gets ±20 % jitter.
	Retry []time.Duration
	// DisableAfter disables an endpoint whose attempts have all failed for this long.
	// Default 5 days.
	DisableAfter time.Duration
	// Concurrency is the deliveries in flight per endpoint. Default 16.
	Concurrency int
	// AllowPrivate lets endpoints live on loopback and private (RFC 1918, ULA)
	// addresses, for receivers on the same premises. The zero value refuses them; the
	// configuration's default turns it on. Link-local and cloud metadata addresses are
	// refused either way.
	AllowPrivate bool
	// OnDelivery is told of every attempt: status "ok", "retry" or "failed".
	OnDelivery func(endpointID string, status string, d time.Duration)
}

// Outbox writes events and delivers them to endpoints.
type Outbox struct {
	db           *storage.DB
	clk          clock.Clock
	log          *slog.Logger
	client       *http.Client
	retry        []time.Duration
	disableAfter time.Duration
	concurrency  int
	allowPrivate bool
	onDelivery   func(string, string, time.Duration)
	poll         time.Duration // idle re-scan interval; tests shorten it
	retention    time.Duration // event log retention past every cursor
	keepFailed   time.Duration // failed and retried deliveries

	mu     sync.Mutex // guards eps, runCtx and changes to endpoints
	eps    map[string]*endpoint
	runCtx context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
	snap   atomic.Pointer[snapshot]
}

// snapshot is the routing table Wants and Emit read without a lock: the enabled
// endpoints by account, and the operator's.
type snapshot struct {
	byAccount map[string][]*endpoint
	operator  []*endpoint
}

// New validates the configured endpoints and loads those made through the API.
func New(opts Options) (*Outbox, error) {
	if opts.DB == nil {
		return nil, errors.New("events: options: DB is required")
	}
	o := &Outbox{
		db: opts.DB, clk: opts.Clock, log: opts.Logger, client: opts.HTTP,
		retry: opts.Retry, disableAfter: opts.DisableAfter, concurrency: opts.Concurrency,
		allowPrivate: opts.AllowPrivate, onDelivery: opts.OnDelivery,
		poll: 100 * time.Millisecond, retention: 7 * 24 * time.Hour, keepFailed: 30 * 24 * time.Hour,
		eps: map[string]*endpoint{},
	}
	if o.clk == nil {
		o.clk = clock.Real{}
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if len(o.retry) == 0 {
		o.retry = DefaultRetry
	}
	if o.disableAfter <= 0 {
		o.disableAfter = DefaultDisableAfter
	}
	if o.concurrency <= 0 {
		o.concurrency = DefaultConcurrency
	}
	if o.client == nil {
		o.client = NewHTTPClient(o.allowPrivate, o.concurrency)
	}
	if err := o.load(opts.Config); err != nil {
		return nil, err
	}
	o.publish()
	return o, nil
}

// Start runs one delivery loop per endpoint, and the sweep of old events, until Close.
func (o *Outbox) Start(ctx context.Context) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.runCtx != nil || o.closed {
		return
	}
	o.runCtx, o.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-ctx.Done():
			o.cancel()
		case <-o.runCtx.Done():
		}
	}()
	for _, e := range o.eps {
		o.startLoop(e)
	}
	o.wg.Add(1)
	go o.sweepLoop(o.runCtx)
}

// Close stops the loops and waits for them, or for ctx. Attempts cut short are not
// recorded, so they are made again after the next Start.
func (o *Outbox) Close(ctx context.Context) error {
	o.mu.Lock()
	o.closed = true
	if o.cancel != nil {
		o.cancel()
	}
	o.mu.Unlock()
	done := make(chan struct{})
	go func() { o.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("events: close: %w", ctx.Err())
	}
}

// Wants reports whether any enabled endpoint would receive an event of type typ for
// account, so callers skip building events nobody receives.
func (o *Outbox) Wants(account, typ string) bool {
	s := o.snap.Load()
	for _, e := range s.operator {
		if e.wants(typ) {
			return true
		}
	}
	if account == "" {
		return false
	}
	for _, e := range s.byAccount[account] {
		if e.wants(typ) {
			return true
		}
	}
	return false
}

// targets returns the enabled endpoints that receive ev, without skip.
func (o *Outbox) targets(ev *Event, skip string) []*endpoint {
	s := o.snap.Load()
	var out []*endpoint
	add := func(list []*endpoint) {
		for _, e := range list {
			if e.id != skip && e.wants(ev.Type) {
				out = append(out, e)
			}
		}
	}
	add(s.operator)
	if ev.Account != "" {
		add(s.byAccount[ev.Account])
	}
	return out
}

// Emit writes ev inside tx, the caller's commit, when some endpoint wants it: the
// event is stored if and only if the caller's change is. It then wakes the loops of
// those endpoints, which may run before the commit lands; they look again shortly.
func (o *Outbox) Emit(tx storage.Txn, ev Event) error {
	targets := o.targets(&ev, "")
	if len(targets) == 0 {
		return nil
	}
	if err := o.emitTx(tx, &ev, targets, ""); err != nil {
		return err
	}
	for _, e := range targets {
		e.nudge()
	}
	return nil
}

// EmitNow emits ev in a commit of its own, for changes made outside a transaction the
// caller can reach.
func (o *Outbox) EmitNow(ctx context.Context, ev Event) error {
	targets := o.targets(&ev, "")
	if len(targets) == 0 {
		return nil
	}
	err := o.db.Commit(ctx, func(tx storage.Txn) error { return o.emitTx(tx, &ev, targets, "") })
	if err != nil {
		return fmt.Errorf("events: emit %s: %w", ev.Type, err)
	}
	for _, e := range targets {
		e.nudge()
	}
	return nil
}

// emitTx stores ev under the next sequence number and queues it for targets. only
// marks an event meant for one endpoint, so a replay of the log skips it elsewhere.
func (o *Outbox) emitTx(tx storage.Txn, ev *Event, targets []*endpoint, only string) error {
	if err := o.prepare(ev); err != nil {
		return err
	}
	seq, err := nextSeq(tx)
	if err != nil {
		return fmt.Errorf("events: emit %s: %w", ev.Type, err)
	}
	if err := tx.Set(eventKey(seq), encodeEvent(ev, only)); err != nil {
		return fmt.Errorf("events: emit %s: %w", ev.Type, err)
	}
	for _, e := range targets {
		if err := tx.Set(queueKey(e.id, seq), nil); err != nil {
			return fmt.Errorf("events: emit %s: queue for %s: %w", ev.Type, e.id, err)
		}
		if err := updateCounters(tx, e.id, func(c *counters) { c.head++ }); err != nil {
			return fmt.Errorf("events: emit %s: %w", ev.Type, err)
		}
	}
	return nil
}

// prepare fills in what Emit sets and checks the rest.
func (o *Outbox) prepare(ev *Event) error {
	if ev.Type == "" || len(ev.Type) > 64 {
		return fmt.Errorf("events: emit: type: %q: %w", ev.Type, ErrInvalid)
	}
	if len(ev.Data) == 0 {
		ev.Data = json.RawMessage("{}")
	} else if !isObject(ev.Data) {
		return fmt.Errorf("events: emit %s: data: not a JSON object: %w", ev.Type, ErrInvalid)
	}
	if ev.At.IsZero() {
		ev.At = o.clk.Now()
	}
	ev.At = ev.At.UTC()
	if ev.ID == "" {
		ev.ID = storage.NewID("evt", o.clk.Now())
	}
	return nil
}

func isObject(b []byte) bool {
	s := strings.TrimSpace(string(b))
	return strings.HasPrefix(s, "{") && json.Valid(b)
}

// publish rebuilds the routing snapshot from eps; callers hold mu or own o alone.
func (o *Outbox) publish() {
	s := &snapshot{byAccount: map[string][]*endpoint{}}
	ids := make([]string, 0, len(o.eps))
	for id := range o.eps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := o.eps[id]
		l := e.cur.Load()
		if l.Disabled {
			continue
		}
		if l.Account == "" {
			s.operator = append(s.operator, e)
		} else {
			s.byAccount[l.Account] = append(s.byAccount[l.Account], e)
		}
	}
	o.snap.Store(s)
}

// matchFilter reports whether typ passes one endpoint filter.
func matchFilter(f, typ string) bool {
	if f == "*" {
		return true
	}
	if fam, ok := strings.CutSuffix(f, "*"); ok {
		return strings.HasPrefix(typ, fam)
	}
	return f == typ
}

// checkFilters validates an endpoint's event filters, naming the one at fault.
func checkFilters(fs []string) error {
	if len(fs) == 0 {
		return fmt.Errorf("events: at least one filter (\"*\" for every event): %w", ErrInvalid)
	}
	if len(fs) > 64 {
		return fmt.Errorf("events: %d filters, at most 64: %w", len(fs), ErrInvalid)
	}
	for i, f := range fs {
		ok := f == "*" || slices.Contains(EventTypes, f)
		if fam, wild := strings.CutSuffix(f, ".*"); wild && !ok {
			for _, t := range EventTypes {
				if strings.HasPrefix(t, fam+".") {
					ok = true
					break
				}
			}
		}
		if !ok {
			return fmt.Errorf("events[%d]: %q is not an event type, a family such as \"message.*\", or \"*\": %w", i, f, ErrInvalid)
		}
	}
	return nil
}
