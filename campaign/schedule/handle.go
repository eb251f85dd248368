package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// plan is what to do with a schedule whose instant has come.
type plan struct {
	last    time.Time // the latest instant at or before now: the one that may fire
	first   time.Time // the earliest missed instant before last
	prev    time.Time // the missed instant just before last
	earlier int       // how many instants before last were missed
	capped  bool      // earlier stopped counting at MaxMissedScan
	fire    bool      // last is within grace
	next    time.Time // the first instant after now; zero when the schedule is done
}

func (s *Scheduler) plan(e *entry, now time.Time) plan {
	p := plan{last: e.next, first: e.next}
	if e.spec.Recurring() {
		next, ok := e.c.next(p.last)
		for ok && !next.After(now) {
			if p.earlier == MaxMissedScan && !p.capped {
				// Counting on would take too long; only the grace window can still fire.
				p.capped = true
				from := now.Add(-s.grace - time.Nanosecond)
				if from.Before(p.last) {
					from = p.last
				}
				if j, jok := e.c.next(from); jok && !j.After(now) {
					next = j
				} else {
					next, ok = e.c.next(now)
					break
				}
			}
			p.prev, p.last = p.last, next
			p.earlier++
			next, ok = e.c.next(p.last)
		}
		if ok {
			p.next = next
		}
	}
	p.fire = now.Sub(p.last) <= s.grace
	return p
}

func (s *Scheduler) handle(ctx context.Context, e *entry, now time.Time, reason string) {
	p := s.plan(e, now)
	var fire, stale bool
	var skippedEarlier, skippedLast *Run
	err := s.db.Commit(ctx, func(tx storage.Txn) error {
		fire, stale, skippedEarlier, skippedLast = false, false, nil, nil
		rec, err := getRecord(tx, e.id)
		if errors.Is(err, storage.ErrNotFound) {
			stale = true
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Rev != e.rev || !rec.Next.Equal(e.next) {
			stale = true
			return nil
		}
		if p.earlier > 0 {
			had, err := exists(tx, runKey(e.id, p.first))
			if err != nil {
				return err
			}
			if !had {
				count := fmt.Sprint(p.earlier)
				if p.capped {
					count = "at least " + count
				}
				run := Run{CampaignID: e.id, At: p.first, Status: StatusSkipped,
					Reason: fmt.Sprintf("%s: %s instants from %s to %s, superseded by %s", reason, count,
						p.first.Format(time.RFC3339), p.prev.Format(time.RFC3339), p.last.Format(time.RFC3339))}
				if err := putJSON(tx, runKey(e.id, p.first), run); err != nil {
					return err
				}
				skippedEarlier = &run
			}
		}
		had, err := exists(tx, runKey(e.id, p.last))
		if err != nil {
			return err
		}
		switch {
		case had:
			// Already handled: never again, whatever the arithmetic says.
		case p.fire:
			run := Run{CampaignID: e.id, At: p.last, Status: StatusFiring}
			if err := putJSON(tx, runKey(e.id, p.last), run); err != nil {
				return err
			}
			if err := tx.Set(firingKey(e.id, p.last), nil); err != nil {
				return err
			}
			fire = true
		default:
			run := Run{CampaignID: e.id, At: p.last, Status: StatusSkipped,
				Reason: fmt.Sprintf("%s, beyond grace %s", reason, s.grace)}
			if err := putJSON(tx, runKey(e.id, p.last), run); err != nil {
				return err
			}
			skippedLast = &run
		}
		if p.next.IsZero() {
			return tx.Delete(scheduleKey(e.id))
		}
		rec.Next, rec.Last = p.next, p.last
		return putJSON(tx, scheduleKey(e.id), rec)
	})
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.log.Error("schedule: cannot record a run; retrying later", "campaign", e.id, "at", p.last, "retry_in", RetryDelay, "err", err)
		s.mu.Lock()
		e.retryAt = now.Add(RetryDelay)
		s.mu.Unlock()
		return
	}

	s.mu.Lock()
	switch {
	case stale:
		e.stale = true
	case s.entries[e.id] != e:
		// Replaced or removed after the commit: the new state is already in memory.
	case p.next.IsZero():
		delete(s.entries, e.id)
	default:
		e.next, e.retryAt = p.next, time.Time{}
	}
	s.mu.Unlock()

	if skippedEarlier != nil {
		s.log.Warn("schedule: missed runs skipped", "campaign", e.id, "from", p.first, "to", p.prev, "count", p.earlier)
	}
	if skippedLast != nil {
		s.log.Warn("schedule: missed run skipped", "campaign", e.id, "at", p.last, "reason", skippedLast.Reason)
	}
	if fire {
		s.fireRun(ctx, e.id, p.last)
	}
}
