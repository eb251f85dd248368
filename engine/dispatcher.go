package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"kirim/provider"
	"kirim/storage"
)

// claimBatch is the most messages one claim transaction takes.
const claimBatch = 256

// idlePoll is how often an idle dispatcher looks at its queue even without a wake-up:
// a safety net, since every enqueue in this process wakes it.
const idlePoll = 5 * time.Second

// dispatcher sends one number's queue at the number's pace.
type dispatcher struct {
	e   *Engine
	num Number

	limiter *limiter
	mps     atomic.Int64 // the throughput in force: the configured one, or HIGH's
	pair    *pairRate
	wakeCh  chan struct{}
	work    chan *Message
	results chan result

	mu        sync.Mutex
	cursor    int64 // due time (ns) from which the queue is scanned; nothing due earlier is left
	claiming  bool
	pending   int // claimed, waiting for a token
	lookahead int // most messages claimed ahead of the limiter
	roomCh    chan struct{}
	loopDone  chan struct{}
	replanReq *replanReq // set by requestReplan, taken by the loop
	// pauseStarted: an outcome started the number's marketing pause (spampause.go).
	pauseStarted atomic.Bool
	workWG       sync.WaitGroup
	finDone      chan struct{}
}

type result struct {
	m    *Message
	resp *provider.SendResponse
	err  error
}

func newDispatcher(e *Engine, n Number) *dispatcher {
	if n.MPS <= 0 {
		n.MPS = StandardMPS
	}
	if n.MessagingLimit == 0 {
		n.MessagingLimit = 1000
	}
	if n.PairGap == 0 {
		n.PairGap = DefaultPairGap
	}
	if n.PairBurst <= 0 {
		n.PairBurst = DefaultPairBurst
	}
	if n.Status == "" {
		n.Status = "CONNECTED"
	}
	if n.Quality == "" {
		n.Quality = "GREEN"
	}
	d := &dispatcher{
		e:       e,
		num:     n,
		limiter: newLimiter(n.MPS, e.clock.Now()),
		pair:    newPairRate(n.PairGap, n.PairBurst),
		wakeCh:  make(chan struct{}, 1),
		roomCh:  make(chan struct{}, 1),
		// A twentieth of a second of sends: enough to hide a claim's synced commit.
		// Claimed messages are not in flight (markInFlight marks each just before its
		// call), so after a crash they are simply queued again.
		lookahead: max(4, n.MPS/20),
		work:      make(chan *Message, claimBatch),
		results:   make(chan result, claimBatch),
		claiming:  true,
		loopDone:  make(chan struct{}),
		finDone:   make(chan struct{}),
	}
	d.mps.Store(int64(n.MPS))
	return d
}

// wake tells the dispatcher a message became due at t.
func (d *dispatcher) wake(t time.Time) {
	d.mu.Lock()
	if ns := t.UnixNano(); ns < d.cursor {
		d.cursor = ns
	}
	d.mu.Unlock()
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

func (d *dispatcher) start(ctx context.Context, wg *sync.WaitGroup) {
	for i := 0; i < d.e.opts.Workers; i++ {
		d.workWG.Add(1)
		go d.worker()
	}
	go d.finisher()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(d.loopDone)
		d.loop(ctx)
	}()
}

func (d *dispatcher) stopClaiming() {
	d.mu.Lock()
	d.claiming = false
	d.mu.Unlock()
	d.wake(time.Unix(0, math.MaxInt64))
}

// drain waits for the loop to stop, the workers to finish their calls and the finisher
// to commit their results.
func (d *dispatcher) drain() {
	<-d.loopDone
	close(d.work)
	d.workWG.Wait()
	close(d.results)
	<-d.finDone
}

// loop claims due messages ahead of the limiter, at most lookahead of them waiting
// for a token at any time: a claim costs a synced commit, so claiming in advance keeps
// the number at its full pace, while the bound keeps small what a pause cannot take
// back and what a restart queues again.
func (d *dispatcher) loop(ctx context.Context) {
	for {
		d.mu.Lock()
		claiming := d.claiming
		room := d.lookahead - d.pending
		replan := d.replanReq
		d.replanReq = nil
		d.mu.Unlock()
		if !claiming || ctx.Err() != nil {
			return
		}
		if replan != nil {
			d.replan(ctx, *replan)
		}
		if room <= 0 {
			select {
			case <-d.roomCh:
			case <-d.wakeCh:
			case <-ctx.Done():
			}
			continue
		}
		now := d.e.clock.Now()
		ids, next, err := d.scan(now, min(room, claimBatch))
		if err != nil {
			d.e.log.Error("engine: scan queue", "number", d.num.Alias, "err", err)
			d.sleep(ctx, time.Second)
			continue
		}
		if len(ids) == 0 {
			wait := idlePoll
			if !next.IsZero() && next.Sub(now) < wait {
				wait = next.Sub(now)
			}
			d.sleep(ctx, wait)
			continue
		}
		claimed, err := d.claim(ctx, ids, now)
		if err != nil {
			if ctx.Err() == nil {
				d.e.log.Error("engine: claim", "number", d.num.Alias, "err", err)
				d.sleep(ctx, time.Second)
			}
			continue
		}
		d.mu.Lock()
		d.pending += len(claimed)
		d.mu.Unlock()
		for _, m := range claimed {
			d.work <- m
		}
	}
}

// sleep waits for d on the engine's clock, a wake-up, or ctx.
func (d *dispatcher) sleep(ctx context.Context, dur time.Duration) {
	if dur <= 0 {
		return
	}
	fired := make(chan struct{})
	t := d.e.clock.AfterFunc(dur, func() { close(fired) })
	defer t.Stop()
	select {
	case <-fired:
	case <-d.wakeCh:
	case <-ctx.Done():
	}
}

type queued struct {
	key []byte
	id  string
	due time.Time
}

// scan returns up to n queue entries due by now, oldest first, and the due time of the
// first entry not yet due (zero if none).
func (d *dispatcher) scan(now time.Time, n int) ([]queued, time.Time, error) {
	d.mu.Lock()
	from := d.cursor
	d.mu.Unlock()
	prefix := queuePrefix(d.num.Alias)
	start := storage.Key(string(prefix), storage.U64(uint64(max(from, 0))))
	var out []queued
	var next time.Time
	nowNS := now.UnixNano()
	err := d.e.db.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{Start: start, KeysOnly: true}, func(k, _ []byte) (bool, error) {
			due, id, ok := splitTimeID(k[len(prefix):])
			if !ok {
				return true, nil
			}
			if due.UnixNano() > nowNS {
				next = due
				return false, nil
			}
			out = append(out, queued{key: bytes.Clone(k), id: id, due: due})
			return len(out) < n, nil
		})
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	d.mu.Lock()
	// Everything before the last entry seen is claimed now, or will be skipped by claim;
	// wake() lowers the cursor again for anything enqueued meanwhile.
	if len(out) > 0 && d.cursor == from {
		d.cursor = out[len(out)-1].due.UnixNano()
	} else if len(out) == 0 && d.cursor == from {
		d.cursor = nowNS
	}
	d.mu.Unlock()
	return out, next, nil
}

// claim moves the queued messages to dispatching with a lease marked "claimed", in one
// synced commit, ahead of their throughput tokens. A claimed message has not left: each
// is marked in flight by the worker that calls the provider, just before the call (see
// markInFlight), and only that mark makes it unknown after a crash.
func (d *dispatcher) claim(ctx context.Context, q []queued, now time.Time) ([]*Message, error) {
	var claimed, parked []*Message
	var slots []gateVerdict
	until := now.Add(d.e.opts.LeaseTimeout)
	sc := d.e.tier.byAlias[d.num.Alias]
	stale := sc.takeStale()
	err := d.e.db.Commit(ctx, func(tx storage.Txn) error {
		claimed, parked = claimed[:0], parked[:0]
		d.giveBack(slots, now)
		slots = slots[:0]
		for _, k := range stale {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		for _, it := range q {
			if err := tx.Delete(it.key); err != nil {
				return err
			}
			m, err := loadMessage(tx, it.id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if m.State != Queued && m.State != Waiting {
				continue // cancelled or already handled; the stale index entry is gone now
			}
			// The tier gate (tier.go): a message that must wait is parked with its
			// reason and ETA and queued again at the time it may go.
			v, err := d.gate(tx, m, now)
			if err != nil {
				return err
			}
			if v.slot {
				slots = append(slots, v)
			}
			if v.fail != nil {
				prev := m.State
				m.Error = v.fail
				m.move(Failed, now)
				if err := d.e.release(tx, m, v.fail.Class); err != nil {
					return err
				}
				if err := d.e.update(tx, m, prev); err != nil {
					return err
				}
				parked = append(parked, m)
				continue
			}
			if v.reason != "" {
				if err := d.park(tx, m, v, now); err != nil {
					return err
				}
				parked = append(parked, m)
				continue
			}
			d.pair.note(v.wa, now)
			if err := loadPayload(tx, m); err != nil {
				return err
			}
			prev := m.State
			m.move(Dispatching, now)
			m.LeaseUntil = until
			if err := tx.Set(leaseKey(d.num.Alias, until, m.ID), leaseClaimed); err != nil {
				return err
			}
			if err := d.e.update(tx, m, prev); err != nil {
				return err
			}
			claimed = append(claimed, m)
		}
		return nil
	})
	if err != nil {
		d.giveBack(slots, now)
		sc.mu.Lock()
		sc.stale = append(sc.stale, stale...)
		sc.mu.Unlock()
		return nil, err
	}
	d.e.notify(parked)
	return claimed, err
}

// giveBack returns messaging-limit slots taken by a claim that did not commit.
func (d *dispatcher) giveBack(slots []gateVerdict, at time.Time) {
	sc := d.e.tier.byAlias[d.num.Alias]
	for _, v := range slots {
		sc.giveBack(v.wa, at)
	}
}

func (d *dispatcher) worker() {
	defer d.workWG.Done()
	for m := range d.work {
		d.limiter.wait(d.e.clock)
		d.pair.reserve(d.e.clock, waOf(m))
		d.mu.Lock()
		d.pending--
		d.mu.Unlock()
		select {
		case d.roomCh <- struct{}{}:
		default:
		}
		if err := d.markInFlight(m); err != nil {
			d.results <- result{m: m, err: err}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), d.e.opts.SendTimeout)
		resp, err := d.num.Sender.SendMessageJSON(ctx, m.Payload)
		cancel()
		d.results <- result{m: m, resp: resp, err: err}
	}
}

// errNotMarked is the outcome of a message whose in-flight mark did not commit: it was
// never handed to the provider, so it is queued again.
var errNotMarked = errors.New("engine: not marked in flight")

// markInFlight records, synced, that m's provider call starts now. It runs after the
// call's throughput token is granted, so the messages marked in flight are the calls in
// progress and those about to start; concurrent workers' marks share one commit and one
// sync (storage group commit), so marking costs no throughput. A crash then leaves
// unknown only the calls that were under way, not the messages claimed ahead.
func (d *dispatcher) markInFlight(m *Message) error {
	err := d.e.db.Commit(context.Background(), func(tx storage.Txn) error {
		return tx.Set(leaseKey(d.num.Alias, m.LeaseUntil, m.ID), leaseInFlight)
	})
	if err != nil {
		d.e.log.Error("engine: mark in flight", "number", d.num.Alias, "message", m.ID, "err", err)
		return fmt.Errorf("%w: %s: %w", errNotMarked, m.ID, err)
	}
	return nil
}

// finisher commits send outcomes in batches.
func (d *dispatcher) finisher() {
	defer close(d.finDone)
	for first := range d.results {
		batch := []result{first}
	more:
		for len(batch) < claimBatch {
			select {
			case r, ok := <-d.results:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		d.finish(batch)
	}
}

func (d *dispatcher) finish(batch []result) {
	now := d.e.clock.Now()
	var changed []*Message
	var wakeAt time.Time
	throttled := false
	err := d.e.db.Commit(context.Background(), func(tx storage.Txn) error {
		changed = changed[:0]
		wakeAt = time.Time{}
		for _, r := range batch {
			m, err := loadMessage(tx, r.m.ID)
			if err != nil {
				return err
			}
			if err := tx.Delete(leaseKey(d.num.Alias, r.m.LeaseUntil, m.ID)); err != nil {
				return err
			}
			prev := m.State
			requeueAt, thr, err := d.outcome(tx, m, r, now)
			if err != nil {
				return err
			}
			throttled = throttled || thr
			if !requeueAt.IsZero() {
				if err := tx.Set(queueKey(d.num.Alias, requeueAt, m.ID), []byte(m.WaitingReason)); err != nil {
					return err
				}
				if wakeAt.IsZero() || requeueAt.Before(wakeAt) {
					wakeAt = requeueAt
				}
			}
			if err := d.e.update(tx, m, prev); err != nil {
				return err
			}
			changed = append(changed, m)
		}
		return nil
	})
	if err != nil {
		// The leases stay; the recoverer turns these messages into unknown ones, which
		// their webhooks settle. Nothing is sent twice.
		d.e.log.Error("engine: record send outcomes", "number", d.num.Alias, "count", len(batch), "err", err)
		return
	}
	d.afterPause()
	if throttled {
		d.limiter.backOff(now)
	}
	if !wakeAt.IsZero() {
		d.wake(wakeAt)
	}
	d.e.notify(changed)
}
