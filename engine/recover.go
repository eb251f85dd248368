package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// recoverBatch bounds one recovery transaction.
const recoverBatch = 512

// DefaultUnknownTimeout is how long an unknown message waits for the status webhook
// that names it before the unknown policy settles it. The provider posts a "sent" status
// within seconds of accepting a message, and retries a webhook it could not deliver
// (Meta with backoff for days, the sandbox from 1 s doubling); the window starts when
// Kirim is back up and listening, so the webhooks for sends the provider accepted before
// the crash arrive in seconds, well under it. What is still unknown after it was, almost
// always, never received.
const DefaultUnknownTimeout = time.Minute

// Policies an unknown message may be settled by.
const (
	ResolveFail   = "fail"
	ResolveResend = "resend"
)

// ErrNotUnknown is Resolve's answer for a message whose outcome is known.
var ErrNotUnknown = errors.New("engine: message is not unknown")

// unknownTimeoutError is the error of a message the fail policy settled.
func unknownTimeoutError() *MessageError {
	return &MessageError{Code: CodeUnknownTimeout, Class: "unknown",
		Title: "unknown after a crash: no status arrived within unknown_timeout; the provider may have received it"}
}

// recoverInFlight runs at start: every lease left by the previous process belongs to a
// message that was claimed, or in flight. A claimed one never left and is queued
// again; one marked in flight may or may not have reached the provider, so it becomes
// unknown.
func (e *Engine) recoverInFlight(ctx context.Context) (unknown, requeued int, err error) {
	for {
		n, u, q, err := e.expireLeases(ctx, time.Unix(0, 1<<62), true)
		unknown, requeued = unknown+u, requeued+q
		if err != nil {
			return unknown, requeued, fmt.Errorf("engine: recover: %w", err)
		}
		if n < recoverBatch {
			return unknown, requeued, nil
		}
	}
}

// expireLeases handles the leases that ended before now (every number), up to
// recoverBatch of them: their messages become unknown, except, at start (requeue), the
// ones only claimed, which are queued again. At run time a claimed message may still be
// with a worker that is about to send it, so it becomes unknown too. It returns the
// leases seen, and how many messages became unknown and were queued again.
func (e *Engine) expireLeases(ctx context.Context, now time.Time, requeue bool) (seen, unknown, requeued int, err error) {
	type lease struct {
		key     []byte
		id      string
		claimed bool
	}
	var found []lease
	// Every number's leases, not only the configured numbers': a number removed from the
	// configuration must not leave its in-flight messages dispatching forever (they
	// become unknown, and settleUnknown fails them with CodeNumberGone).
	prefix := []byte(storage.PrefixLease)
	err = e.db.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{}, func(k, v []byte) (bool, error) {
			_, rest, ok := storage.ParseStr(k[len(prefix):])
			if !ok {
				return true, nil
			}
			until, id, ok := splitTimeID(rest)
			if !ok || !until.Before(now) {
				return true, nil // a later lease of this number; the next number's may be due
			}
			found = append(found, lease{key: bytes.Clone(k), id: id, claimed: leaseIsClaimedOnly(v)})
			return len(found) < recoverBatch, nil
		})
	})
	if err != nil || len(found) == 0 {
		return 0, 0, 0, err
	}
	at := e.clock.Now()
	var changed []*Message
	wake := map[string]time.Time{}
	err = e.db.Commit(ctx, func(tx storage.Txn) error {
		changed, unknown, requeued = changed[:0], 0, 0
		clear(wake)
		for _, l := range found {
			if err := tx.Delete(l.key); err != nil {
				return err
			}
			m, err := loadMessage(tx, l.id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if m.State != Dispatching {
				continue
			}
			m.LeaseUntil = time.Time{}
			if _, ok := e.dispatchers[m.Number]; ok && requeue && l.claimed {
				m.move(Queued, at)
				m.NextAttemptAt = at
				if err := tx.Set(queueKey(m.Number, at, m.ID), nil); err != nil {
					return err
				}
				wake[m.Number] = at
				requeued++
			} else {
				m.move(Unknown, at)
				unknown++
			}
			if err := e.update(tx, m, Dispatching); err != nil {
				return err
			}
			changed = append(changed, m)
		}
		return nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	for alias, t := range wake {
		e.dispatchers[alias].wake(t)
	}
	e.notify(changed)
	return len(found), unknown, requeued, nil
}

// SettleAt is when the unknown policy settles m if no webhook names it first (zero for
// a message that is not unknown).
func (e *Engine) SettleAt(m *Message) time.Time {
	if m.State != Unknown {
		return time.Time{}
	}
	return m.UpdatedAt.Add(e.opts.UnknownTimeout)
}

// unknowns calls fn for every unknown message, in id order.
func (e *Engine) unknowns(fn func(m *Message) bool) error {
	return e.db.View(func(r storage.Reader) error {
		return r.Iterate(ixUnknownPrefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			m, err := loadMessage(r, string(k[len(ixUnknownPrefix):]))
			if errors.Is(err, ErrNotFound) {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			return fn(m), nil
		})
	})
}

// UnknownOf counts the unknown messages of a campaign's run and returns when the last
// of them settles by the unknown policy, if no webhook settles it first.
func (e *Engine) UnknownOf(campaignID string, run uint64) (int, time.Time, error) {
	n, last := 0, time.Time{}
	err := e.unknowns(func(m *Message) bool {
		if m.CampaignID == campaignID && m.CampaignRun == run && m.State == Unknown {
			n++
			if at := e.SettleAt(m); at.After(last) {
				last = at
			}
		}
		return true
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("engine: unknown messages of %s: %w", campaignID, err)
	}
	return n, last, nil
}

// settleUnknown applies the configured policy to the unknown messages that no webhook
// named within UnknownTimeout: fail them and release their holds, or (ResendUnknown)
// queue them again. It returns how many it settled and when the next one is due (zero:
// none is waiting).
func (e *Engine) settleUnknown(ctx context.Context, now time.Time) (int, time.Time, error) {
	var due []string
	var next time.Time
	err := e.unknowns(func(m *Message) bool {
		at := e.SettleAt(m)
		switch {
		case at.IsZero():
		case !at.After(now):
			due = append(due, m.ID)
		case next.IsZero() || at.Before(next):
			next = at
		}
		return len(due) < recoverBatch
	})
	if err != nil || len(due) == 0 {
		return 0, next, err
	}
	action := ResolveFail
	if e.opts.ResendUnknown {
		action = ResolveResend
	}
	var changed []*Message
	wake := map[string]time.Time{}
	err = e.db.Commit(ctx, func(tx storage.Txn) error {
		changed = changed[:0]
		clear(wake)
		for _, id := range due {
			m, err := loadMessage(tx, id)
			if errors.Is(err, ErrNotFound) {
				if err := tx.Delete(ixUnknownKey(id)); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			if m.State != Unknown || now.Before(e.SettleAt(m)) {
				continue // a webhook came meanwhile
			}
			if err := e.settleOne(tx, m, action, now, wake); err != nil {
				return err
			}
			changed = append(changed, m)
		}
		return nil
	})
	if err != nil {
		return 0, next, err
	}
	e.wakeAll(wake)
	e.notify(changed)
	if len(due) == recoverBatch {
		next = now // more are due
	}
	return len(changed), next, nil
}

// settleOne settles the unknown message m by action: fail (failed, hold released) or
// resend (queued again: unknown -> queued happens only here, by explicit choice). A
// message whose number is no longer configured fails either way.
func (e *Engine) settleOne(tx storage.Txn, m *Message, action string, now time.Time, wake map[string]time.Time) error {
	if _, ok := e.dispatchers[m.Number]; !ok {
		m.Error = &MessageError{Code: CodeNumberGone, Title: "sending number no longer configured"}
		m.move(Failed, now)
	} else if action == ResolveResend {
		m.State = Queued
		m.History = append(m.History, StateChange{State: Queued, At: now})
		m.UpdatedAt, m.NextAttemptAt = now, now
		if err := tx.Set(queueKey(m.Number, now, m.ID), nil); err != nil {
			return err
		}
		wake[m.Number] = now
	} else {
		m.Error = unknownTimeoutError()
		m.move(Failed, now)
	}
	if m.State == Failed {
		if err := e.release(tx, m, "unknown_timeout"); err != nil {
			return err
		}
	}
	return e.update(tx, m, Unknown)
}

func (e *Engine) wakeAll(wake map[string]time.Time) {
	for alias, t := range wake {
		e.dispatchers[alias].wake(t)
	}
}

// Resolve settles one unknown message now, by action (ResolveFail or ResolveResend),
// without waiting for UnknownTimeout: an operator who knows the outcome settles it
// early. ErrNotUnknown if the message is not unknown.
func (e *Engine) Resolve(ctx context.Context, id, action string) (*Message, error) {
	if action != ResolveFail && action != ResolveResend {
		return nil, fmt.Errorf("engine: resolve %s: action %q: want %q or %q", id, action, ResolveFail, ResolveResend)
	}
	var out *Message
	wake := map[string]time.Time{}
	err := e.db.Commit(ctx, func(tx storage.Txn) error {
		clear(wake)
		m, err := loadMessage(tx, id)
		if err != nil {
			return err
		}
		if m.State != Unknown {
			return fmt.Errorf("%w: it is %s", ErrNotUnknown, m.State)
		}
		out = m
		return e.settleOne(tx, m, action, e.clock.Now(), wake)
	})
	if err != nil {
		return nil, fmt.Errorf("engine: resolve %s: %w", id, err)
	}
	e.wakeAll(wake)
	e.notify([]*Message{out})
	return out, nil
}

// recoverLoop periodically expires leases and settles unknown messages, each when it
// is due.
func (e *Engine) recoverLoop(ctx context.Context) {
	every := min(e.opts.LeaseTimeout/2, 30*time.Second)
	wait := time.Duration(0) // settle at once what a long stop left due
	for {
		fired := make(chan struct{})
		t := e.clock.AfterFunc(wait, func() { close(fired) })
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-fired:
		}
		now := e.clock.Now()
		if _, _, _, err := e.expireLeases(ctx, now, false); err != nil && ctx.Err() == nil {
			e.log.Error("engine: expire leases", "err", err)
		}
		n, next, err := e.settleUnknown(ctx, now)
		if err != nil && ctx.Err() == nil {
			e.log.Error("engine: settle unknown messages", "err", err)
		}
		if n > 0 {
			e.log.Warn("engine: unknown messages settled by the unknown policy", "count", n, "resend", e.opts.ResendUnknown)
		}
		if _, err := e.expireIdempotency(ctx, now); err != nil && ctx.Err() == nil {
			e.log.Error("engine: expire idempotency records", "err", err)
		}
		wait = every
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(now), 0))
		}
	}
}

// DefaultIdempotencyTTL is how long an Idempotency-Key is remembered by default.
const DefaultIdempotencyTTL = 7 * 24 * time.Hour

// expireIdempotency drops the idempotency records created more than IdempotencyTTL
// before now, oldest first, a batch per commit. Records written before the age index
// existed have no index entry and are kept.
func (e *Engine) expireIdempotency(ctx context.Context, now time.Time) (int, error) {
	const batch = 512
	cutoff := now.Add(-e.opts.IdempotencyTTL)
	total := 0
	for {
		var keys [][]byte
		err := e.db.View(func(r storage.Reader) error {
			var err error
			keys, err = storage.Aged(r, storage.PrefixIdempotencyExpiry, cutoff, batch)
			return err
		})
		if err != nil || len(keys) == 0 {
			return total, err
		}
		err = e.db.Commit(ctx, func(tx storage.Txn) error {
			return storage.DropAged(tx, storage.PrefixIdempotencyExpiry, storage.PrefixIdempotency, keys)
		})
		if err != nil {
			return total, fmt.Errorf("engine: expire idempotency records: %w", err)
		}
		total += len(keys)
		if len(keys) < batch {
			return total, nil
		}
	}
}
