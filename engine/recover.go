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

// recoverInFlight runs at start: every lease left by the previous process belongs to a
// message that may or may not have reached the provider, so each becomes unknown.
func (e *Engine) recoverInFlight(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := e.expireLeases(ctx, time.Unix(0, 1<<62))
		total += n
		if err != nil {
			return total, fmt.Errorf("engine: recover: %w", err)
		}
		if n < recoverBatch {
			return total, nil
		}
	}
}

// expireLeases marks unknown the messages whose lease ended before now (every number),
// up to recoverBatch of them.
func (e *Engine) expireLeases(ctx context.Context, now time.Time) (int, error) {
	type lease struct {
		key []byte
		id  string
	}
	var found []lease
	// Every number's leases, not only the configured numbers': a number removed from the
	// configuration must not leave its in-flight messages dispatching forever (they
	// become unknown, and settleUnknown fails them with CodeNumberGone).
	prefix := []byte(storage.PrefixLease)
	err := e.db.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			_, rest, ok := storage.ParseStr(k[len(prefix):])
			if !ok {
				return true, nil
			}
			until, id, ok := splitTimeID(rest)
			if !ok || !until.Before(now) {
				return true, nil // a later lease of this number; the next number's may be due
			}
			found = append(found, lease{key: bytes.Clone(k), id: id})
			return len(found) < recoverBatch, nil
		})
	})
	if err != nil || len(found) == 0 {
		return 0, err
	}
	at := e.clock.Now()
	var changed []*Message
	err = e.db.Commit(ctx, func(tx storage.Txn) error {
		changed = changed[:0]
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
			m.move(Unknown, at)
			if err := e.update(tx, m, Dispatching); err != nil {
				return err
			}
			changed = append(changed, m)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	e.notify(changed)
	return len(found), nil
}

// settleUnknown applies the documented policy to unknown messages whose webhook has not
// come within UnknownTimeout: fail them and release their holds, or (ResendUnknown)
// queue them again.
func (e *Engine) settleUnknown(ctx context.Context, now time.Time) (int, error) {
	var ids []string
	err := e.db.View(func(r storage.Reader) error {
		return r.Iterate(ixUnknownPrefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			ids = append(ids, string(k[len(ixUnknownPrefix):]))
			return len(ids) < recoverBatch, nil
		})
	})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	var changed []*Message
	wake := map[string]time.Time{}
	err = e.db.Commit(ctx, func(tx storage.Txn) error {
		changed = changed[:0]
		for _, id := range ids {
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
			if m.State != Unknown || now.Sub(m.UpdatedAt) < e.opts.UnknownTimeout {
				continue
			}
			if _, ok := e.dispatchers[m.Number]; !ok {
				m.Error = &MessageError{Code: CodeNumberGone, Title: "sending number no longer configured"}
				m.move(Failed, now)
			} else if e.opts.ResendUnknown {
				m.State = Queued // unknown -> queued is only allowed here, by explicit policy
				m.History = append(m.History, StateChange{State: Queued, At: now})
				m.UpdatedAt, m.NextAttemptAt = now, now
				if err := tx.Set(queueKey(m.Number, now, m.ID), nil); err != nil {
					return err
				}
				wake[m.Number] = now
			} else {
				m.Error = &MessageError{Code: CodeUnknownTimeout, Title: "no status from the provider after a crash; not resent to avoid a duplicate"}
				m.move(Failed, now)
			}
			if m.State == Failed {
				if err := e.release(tx, m, "unknown_timeout"); err != nil {
					return err
				}
			}
			if err := e.update(tx, m, Unknown); err != nil {
				return err
			}
			changed = append(changed, m)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for alias, t := range wake {
		e.dispatchers[alias].wake(t)
	}
	e.notify(changed)
	return len(changed), nil
}

// recoverLoop periodically expires leases and settles old unknown messages.
func (e *Engine) recoverLoop(ctx context.Context) {
	every := min(e.opts.LeaseTimeout/2, 30*time.Second)
	for {
		fired := make(chan struct{})
		t := e.clock.AfterFunc(every, func() { close(fired) })
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-fired:
		}
		now := e.clock.Now()
		if _, err := e.expireLeases(ctx, now); err != nil && ctx.Err() == nil {
			e.log.Error("engine: expire leases", "err", err)
		}
		if _, err := e.settleUnknown(ctx, now); err != nil && ctx.Err() == nil {
			e.log.Error("engine: settle unknown messages", "err", err)
		}
		if _, err := e.expireIdempotency(ctx, now); err != nil && ctx.Err() == nil {
			e.log.Error("engine: expire idempotency records", "err", err)
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
