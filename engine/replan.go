package engine

import (
	"bytes"
	"context"
	"errors"
	"time"

	"kirim/storage"
)

// replanChunk is how many waiting messages one re-plan commit brings forward.
const replanChunk = 256

// replanReq asks a dispatcher to look again, at once, at its messages waiting for a
// reason a change of the number may have lifted (replanReasons).
type replanReq struct {
	// reasons are the holds lifted now: the messages waiting for another one would
	// only wait again, and stay.
	reasons map[string]bool
	// tier is how many of those waiting for the messaging limit to bring forward: the
	// slots free after the change (-1: all, the limit is unlimited). The others would
	// only wait again; they keep their time, when the oldest slot frees.
	tier int
}

// requestReplan asks the dispatcher loop for a re-plan (merged with one not yet done)
// and wakes it.
func (d *dispatcher) requestReplan(r replanReq) {
	d.mu.Lock()
	if p := d.replanReq; p != nil {
		if p.tier < 0 || (r.tier >= 0 && p.tier > r.tier) {
			r.tier = p.tier
		}
		for k, lifted := range p.reasons {
			r.reasons[k] = r.reasons[k] || lifted
		}
	}
	d.replanReq = &r
	d.mu.Unlock()
	d.wake(d.e.clock.Now())
}

// replan brings the messages waiting for a number-related reason forward to now, a
// chunk per commit, so the claim gates them again under the number's new standing:
// those that may go go at once, the others wait again with a fresh reason and ETA.
// The reason is read from the queue entry (park writes it there), so only the
// messages concerned are read.
func (d *dispatcher) replan(ctx context.Context, r replanReq) {
	prefix := queuePrefix(d.num.Alias)
	now := d.e.clock.Now()
	// Entries due by now are claimed anyway; the re-plan looks past them.
	start := storage.Key(string(prefix), storage.U64(uint64(now.UnixNano())+1))
	tier, moved := 0, 0
	for ctx.Err() == nil {
		type hit struct {
			key []byte
			id  string
			due time.Time
		}
		var hits []hit
		var last []byte
		err := d.e.db.View(func(rd storage.Reader) error {
			return rd.Iterate(prefix, storage.IterOptions{Start: start}, func(k, v []byte) (bool, error) {
				last = bytes.Clone(k)
				reason := string(v)
				if !r.reasons[reason] {
					return true, nil
				}
				if reason == ReasonTierLimit {
					if r.tier >= 0 && tier >= r.tier {
						return true, nil
					}
					tier++
				}
				due, id, ok := splitTimeID(k[len(prefix):])
				if ok {
					hits = append(hits, hit{key: last, id: id, due: due})
				}
				return len(hits) < replanChunk, nil
			})
		})
		if err != nil {
			d.e.log.Error("engine: re-plan waiting messages", "number", d.num.Alias, "err", err)
			return
		}
		if len(hits) > 0 {
			err = d.e.db.Commit(ctx, func(tx storage.Txn) error {
				for _, h := range hits {
					m, err := loadMessage(tx, h.id)
					if errors.Is(err, ErrNotFound) {
						continue
					}
					if err != nil {
						return err
					}
					// A message that moved since the scan has its own entry now.
					if m.State != Waiting || !m.NextAttemptAt.Equal(h.due) {
						continue
					}
					if err := tx.Delete(h.key); err != nil {
						return err
					}
					m.NextAttemptAt = now
					if err := tx.Set(queueKey(d.num.Alias, now, m.ID), []byte(m.WaitingReason)); err != nil {
						return err
					}
					if err := d.e.update(tx, m, m.State); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				d.e.log.Error("engine: re-plan waiting messages", "number", d.num.Alias, "err", err)
				return
			}
			moved += len(hits)
			d.wake(now)
		}
		if len(hits) < replanChunk || last == nil {
			break
		}
		start = append(last, 0)
	}
	if moved > 0 {
		d.e.log.Info("engine: waiting messages re-planned after a change of the number", "number", d.num.Alias, "count", moved)
	}
}
