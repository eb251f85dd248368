package schedule

import (
	"context"
	"time"

	"kirim/clock"
)

// poke wakes the loop after a change to the schedules and waits until it has re-armed.
func (s *Scheduler) poke() {
	if !s.started.Load() {
		return
	}
	if s.inFire.Load() {
		// Called from Fire (or alongside it): waiting would deadlock the loop on itself,
		// and the loop reads the schedules again after Fire returns anyway.
		return
	}
	ack := make(chan struct{})
	select {
	case s.wake <- ack:
		select {
		case <-ack:
		case <-s.stopped:
		}
	case <-s.stopped:
	}
}

func (s *Scheduler) loop(ctx context.Context, ready chan struct{}) {
	defer close(s.stopped)
	s.recoverFiring(ctx)
	reason := reasonStopped
	tick := make(chan struct{}, 1)
	var acks []chan struct{}
	for {
		s.runDue(ctx, reason)
		reason = reasonLate
		var timer clock.Timer
		if at, ok := s.earliest(); ok {
			timer = s.clock.AfterFunc(at.Sub(s.clock.Now()), func() {
				select {
				case tick <- struct{}{}:
				default:
				}
			})
		}
		if ready != nil {
			close(ready)
			ready = nil
		}
		for _, a := range acks {
			close(a)
		}
		acks = acks[:0]
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-tick:
		case a := <-s.wake:
			acks = append(acks, a)
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// earliest returns the soonest instant any schedule needs the loop.
func (s *Scheduler) earliest() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best time.Time
	for _, e := range s.entries {
		if e.stale || e.next.IsZero() {
			continue
		}
		if d := e.due(); best.IsZero() || d.Before(best) {
			best = d
		}
	}
	return best, !best.IsZero()
}

// firstDue returns the due entry with the earliest instant (then the smallest id, so
// campaigns due together fire in a stable order), or nil.
func (s *Scheduler) firstDue(now time.Time) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *entry
	for _, e := range s.entries {
		if e.stale || e.next.IsZero() || e.due().After(now) {
			continue
		}
		if best == nil || e.next.Before(best.next) || e.next.Equal(best.next) && e.id < best.id {
			best = e
		}
	}
	return best
}

// runDue handles every schedule whose instant has come. Each handle moves its entry on
// (next instant, retry time, stale or gone), so the loop ends.
func (s *Scheduler) runDue(ctx context.Context, reason string) {
	for ctx.Err() == nil {
		now := s.clock.Now()
		e := s.firstDue(now)
		if e == nil {
			return
		}
		s.handle(ctx, e, now, reason)
	}
}
