package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"kirim/storage"
)

// Delivery is an event's delivery to one endpoint. Only deliveries that needed more
// than one attempt (and test and replayed ones) are kept as records; a first attempt
// that succeeds leaves nothing but the endpoint's counters.
type Delivery struct {
	ID          string    `json:"id"` // "dlv_..."
	EndpointID  string    `json:"endpoint_id"`
	EventID     string    `json:"event_id"`
	EventType   string    `json:"event_type"`
	Account     string    `json:"account_id"` // the event's account
	Status      string    `json:"status"`     // pending, retrying, delivered, failed
	Attempts    int       `json:"attempts"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastCode    int       `json:"last_code,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	LastBody    string    `json:"last_body,omitempty"` // the first 512 bytes of the answer
}

// DeliveryFilter selects deliveries. Account is the caller's scope: "" sees every
// delivery, an account only those to its own endpoints.
type DeliveryFilter struct {
	Account    string
	EndpointID string
	Status     string
	Cursor     string // the next cursor of the previous page; "" starts at the oldest
	Limit      int    // default 100, at most 1000
}

// Page sizes and the scan bound of Deliveries: a filter by account or endpoint reads
// records to find its matches, and the bound keeps one call's cost fixed.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	maxScan      = 20_000
)

// Deliveries lists deliveries oldest first, and the cursor of the next page ("" at the
// end). A page may hold fewer than Limit, even none, and still carry a cursor.
func (o *Outbox) Deliveries(f DeliveryFilter) ([]Delivery, string, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	var prefix []byte
	switch f.Status {
	case "":
		prefix = []byte(storage.PrefixDelivery)
	case StatusPending, StatusRetrying, StatusDelivered, StatusFailed:
		prefix = statusPrefix(f.Status)
	default:
		return nil, "", fmt.Errorf("status: %q, want pending, retrying, delivered or failed: %w", f.Status, ErrInvalid)
	}
	var start []byte
	if f.Cursor != "" {
		start = append(storage.Key(string(prefix), storage.Str(f.Cursor)), 0)
	}
	var out []Delivery
	var next string
	err := o.db.View(func(r storage.Reader) error {
		out, next = []Delivery{}, ""
		scanned := 0
		return r.Iterate(prefix, storage.IterOptions{Start: start, KeysOnly: true}, func(k, _ []byte) (bool, error) {
			id, _, ok := storage.ParseStr(k[len(prefix):])
			if !ok {
				return false, fmt.Errorf("delivery key %q: %w", k, storage.ErrCorruptRecord)
			}
			rec, err := readRecord(r, id)
			if err != nil {
				return false, err
			}
			scanned++
			if (f.Account == "" || rec.EndpointAccount == f.Account) && (f.EndpointID == "" || rec.EndpointID == f.EndpointID) {
				out = append(out, rec.Delivery)
			}
			if len(out) >= limit || scanned >= maxScan {
				next = id
				return false, nil
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("events: deliveries: %w", err)
	}
	return out, next, nil
}

// Replay puts a failed delivery back in its endpoint's retry set, due now, with the
// retry schedule started over.
func (o *Outbox) Replay(ctx context.Context, account, deliveryID string) (Delivery, error) {
	// The endpoints are read before the commit: a commit function must not wait for
	// mu, which is held across commits.
	o.mu.Lock()
	live := make(map[string]bool, len(o.eps))
	for id := range o.eps {
		live[id] = true
	}
	o.mu.Unlock()
	var out record
	err := o.db.Commit(ctx, func(tx storage.Txn) error {
		old, err := readRecord(tx, deliveryID)
		if err != nil {
			return err
		}
		if account != "" && old.EndpointAccount != account {
			return fmt.Errorf("delivery %s: %w", deliveryID, ErrNotFound)
		}
		if old.Status != StatusFailed {
			return fmt.Errorf("delivery %s: status: %s, only failed deliveries are replayed: %w", deliveryID, old.Status, ErrState)
		}
		if !live[old.EndpointID] {
			return fmt.Errorf("delivery %s: endpoint %s: %w", deliveryID, old.EndpointID, ErrNotFound)
		}
		rec := old
		rec.Status, rec.Tries, rec.NextAttempt = StatusPending, 0, o.clk.Now().UTC()
		if err := writeRecord(tx, &old, &rec); err != nil {
			return err
		}
		out = rec
		return updateCounters(tx, rec.EndpointID, func(c *counters) { c.count(old.Status, rec.Status) })
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("events: replay: %w", err)
	}
	o.wake(out.EndpointID)
	return out.Delivery, nil
}

func (o *Outbox) wake(id string) {
	o.mu.Lock()
	e := o.eps[id]
	o.mu.Unlock()
	if e != nil {
		e.nudge()
	}
}

// ReplaySince delivers again every logged event for the endpoint at or after since,
// as new deliveries with the events' own ids, so receivers recognise what they already
// have. It reaches back as far as the log is kept (7 days). It finds since by binary
// search on the log, which relies on event times growing with their sequence, as they
// do for events Emit stamps.
func (o *Outbox) ReplaySince(ctx context.Context, account, endpointID string, since time.Time) (int, error) {
	o.mu.Lock()
	e, err := o.find(account, endpointID)
	o.mu.Unlock()
	if err != nil {
		return 0, err
	}
	from, err := o.firstSince(since)
	if err != nil {
		return 0, fmt.Errorf("events: replay since: %w", err)
	}
	const page = 500
	total := 0
	for {
		var evs []stored
		err := o.db.View(func(r storage.Reader) error {
			evs = evs[:0]
			return r.Iterate([]byte(storage.PrefixEvent), storage.IterOptions{Start: eventKey(from)}, func(k, v []byte) (bool, error) {
				seq, _, _ := storage.ParseU64(k[len(storage.PrefixEvent):])
				from = seq + 1
				ev, err := decodeEvent(seq, v)
				if err != nil {
					return false, err
				}
				if o.replays(e, &ev, since) {
					evs = append(evs, ev)
				}
				return len(evs) < page, nil
			})
		})
		if err != nil {
			return total, fmt.Errorf("events: replay since: %w", err)
		}
		if len(evs) == 0 {
			return total, nil
		}
		now := o.clk.Now().UTC()
		acct := e.cur.Load().Account
		err = o.db.Commit(ctx, func(tx storage.Txn) error {
			for _, ev := range evs {
				rec := &record{
					Delivery: Delivery{
						ID: storage.NewID("dlv", now), EndpointID: e.id, EventID: ev.ID, EventType: ev.Type,
						Account: ev.Account, Status: StatusPending, NextAttempt: now,
					},
					EndpointAccount: acct, Seq: ev.Seq, At: ev.At, Data: ev.Data,
				}
				if err := writeRecord(tx, nil, rec); err != nil {
					return err
				}
			}
			return updateCounters(tx, e.id, func(c *counters) { c.pending += uint64(len(evs)) })
		})
		if err != nil {
			return total, fmt.Errorf("events: replay since: %w", err)
		}
		total += len(evs)
		e.nudge()
	}
}

// replays reports whether ev goes to e in a replay since since.
func (o *Outbox) replays(e *endpoint, ev *stored, since time.Time) bool {
	if ev.At.Before(since) || (ev.Only != "" && ev.Only != e.id) {
		return false
	}
	acct := e.cur.Load().Account
	return (acct == "" || acct == ev.Account) && e.wants(ev.Type)
}

// firstSince returns the lowest logged sequence whose event is at or after since.
func (o *Outbox) firstSince(since time.Time) (uint64, error) {
	var lo, hi uint64
	err := o.db.View(func(r storage.Reader) error {
		err := r.Iterate([]byte(storage.PrefixEvent), storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			lo, _, _ = storage.ParseU64(k[len(storage.PrefixEvent):])
			return false, nil
		})
		if err != nil {
			return err
		}
		v, err := r.Get(keyNextSeq)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		hi, _, _ = storage.ParseU64(v)
		// Binary search for the first seq in [lo, hi) at or after since.
		for lo < hi {
			mid := lo + (hi-lo)/2
			v, err := r.Get(eventKey(mid))
			before := errors.Is(err, storage.ErrNotFound) // swept: older than anything kept
			if err != nil && !before {
				return err
			}
			if !before {
				ev, err := decodeEvent(mid, v)
				if err != nil {
					return err
				}
				before = ev.At.Before(since)
			}
			if before {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return nil
	})
	return lo, err
}

// SendTest writes an "endpoint.test" event for this endpoint alone and attempts it at
// once. The outcome is kept as a delivered or failed delivery, not retried.
func (o *Outbox) SendTest(ctx context.Context, account, id string) (Delivery, error) {
	o.mu.Lock()
	e, err := o.find(account, id)
	o.mu.Unlock()
	if err != nil {
		return Delivery{}, err
	}
	acct := e.cur.Load().Account
	data, _ := json.Marshal(map[string]string{"endpoint_id": id, "account_id": acct, "message": "test event from Kirim"})
	ev := Event{Type: "endpoint.test", Account: acct, Data: data}
	var seq uint64
	err = o.db.Commit(ctx, func(tx storage.Txn) error {
		if err := o.emitTx(tx, &ev, nil, id); err != nil {
			return err
		}
		v, err := tx.Get(keyNextSeq)
		if err != nil {
			return err
		}
		seq, _, _ = storage.ParseU64(v)
		seq--
		return nil
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("events: send test: %w", err)
	}
	res := o.attempt(ctx, e, job{ev: stored{Event: ev, Seq: seq, Only: id}})
	if res.cut {
		return Delivery{}, fmt.Errorf("events: send test: %w", ctx.Err())
	}
	rec := &record{
		Delivery:        Delivery{ID: storage.NewID("dlv", o.clk.Now()), EndpointID: id, EventID: ev.ID, EventType: ev.Type, Account: acct},
		EndpointAccount: acct, Seq: seq, At: ev.At, Data: ev.Data,
	}
	o.outcome(rec, &res)
	if !res.ok {
		rec.Status, rec.NextAttempt = StatusFailed, time.Time{}
	}
	err = o.db.Commit(ctx, func(tx storage.Txn) error {
		if err := writeRecord(tx, nil, rec); err != nil {
			return err
		}
		return updateCounters(tx, id, func(c *counters) { c.count("", rec.Status) })
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("events: send test: %w", err)
	}
	return rec.Delivery, nil
}

// EndpointStats are one endpoint's numbers for metrics.
type EndpointStats struct {
	EndpointID, Account       string
	Pending, Retrying, Failed int64
	Delivered                 uint64
}

// Stats returns every endpoint's counters: one key read per endpoint.
func (o *Outbox) Stats() []EndpointStats {
	o.mu.Lock()
	type ep struct{ id, account string }
	eps := make([]ep, 0, len(o.eps))
	for id, e := range o.eps {
		eps = append(eps, ep{id, e.cur.Load().Account})
	}
	o.mu.Unlock()
	slices.SortFunc(eps, func(a, b ep) int { return strings.Compare(a.id, b.id) })
	out := make([]EndpointStats, 0, len(eps))
	_ = o.db.View(func(r storage.Reader) error {
		for _, e := range eps {
			c, err := readCounters(r, e.id)
			if err != nil {
				o.log.Error("events: stats", "endpoint", e.id, "err", err)
			}
			queued := int64(0)
			if c.head > c.done {
				queued = int64(c.head - c.done)
			}
			out = append(out, EndpointStats{
				EndpointID: e.id, Account: e.account, Pending: queued + int64(c.pending),
				Retrying: int64(c.retrying), Failed: int64(c.failed), Delivered: c.delivered,
			})
		}
		return nil
	})
	return out
}

// sweepEvery is how often old events and deliveries are dropped.
const sweepEvery = time.Hour

func (o *Outbox) sweepLoop(ctx context.Context) {
	defer o.wg.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := o.sweep(ctx); err != nil && ctx.Err() == nil {
				o.log.Error("events: sweep", "err", err)
			}
		}
	}
}

// sweep drops logged events every endpoint is past and that are older than the
// retention, and finished deliveries older than keepFailed. Failed deliveries carry
// their event, so they outlive the log.
func (o *Outbox) sweep(ctx context.Context) error {
	now := o.clk.Now()
	var below uint64 = 1<<64 - 1
	err := o.db.View(func(r storage.Reader) error {
		p := []byte(storage.PrefixEventCounters)
		return r.Iterate(p, storage.IterOptions{}, func(k, _ []byte) (bool, error) {
			id, _, _ := storage.ParseStr(k[len(p):])
			c, err := readCounters(r, id)
			if err != nil {
				return false, err
			}
			if c.head > c.done {
				below = min(below, c.resume)
			}
			return true, nil
		})
	})
	if err != nil {
		return err
	}
	cutoff := now.Add(-o.retention)
	for {
		var keys [][]byte
		err := o.db.View(func(r storage.Reader) error {
			return r.Iterate([]byte(storage.PrefixEvent), storage.IterOptions{}, func(k, v []byte) (bool, error) {
				seq, _, _ := storage.ParseU64(k[len(storage.PrefixEvent):])
				ev, err := decodeEvent(seq, v)
				if err != nil {
					return false, err
				}
				if seq >= below || !ev.At.Before(cutoff) {
					return false, nil
				}
				keys = append(keys, bytes.Clone(k))
				return len(keys) < 1000, nil
			})
		})
		if err == nil && len(keys) > 0 {
			err = o.deleteKeys(ctx, keys)
		}
		if err != nil || len(keys) < 1000 {
			if err != nil {
				return err
			}
			break
		}
	}
	old := now.Add(-o.keepFailed)
	for _, st := range []string{StatusFailed, StatusDelivered} {
		for {
			var keys [][]byte
			prefix := statusPrefix(st)
			err := o.db.View(func(r storage.Reader) error {
				return r.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
					id, _, _ := storage.ParseStr(k[len(prefix):])
					if made, ok := storage.IDTime(id); ok && !made.Before(old) {
						return false, nil
					}
					rec, err := readRecord(r, id)
					if err != nil {
						return false, err
					}
					if rec.LastAttempt.Before(old) {
						keys = append(keys, bytes.Clone(k), deliveryKey(id))
					}
					return len(keys) < 1000, nil
				})
			})
			if err == nil && len(keys) > 0 {
				err = o.deleteKeys(ctx, keys)
			}
			if err != nil {
				return err
			}
			if len(keys) < 1000 {
				break
			}
		}
	}
	return nil
}

func (o *Outbox) deleteKeys(ctx context.Context, keys [][]byte) error {
	return o.db.Commit(ctx, func(tx storage.Txn) error {
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
