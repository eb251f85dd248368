package schedule

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"kirim/storage"
)

// recoverFiring fires again every run a crash left "firing".
func (s *Scheduler) recoverFiring(ctx context.Context) {
	type pending struct {
		id string
		at time.Time
	}
	var todo []pending
	prefix := storage.Key(storage.PrefixCampaignRun, []byte(subFiring))
	err := s.db.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			id, at, ok := parseFiringKey(k)
			if !ok {
				s.log.Error("schedule: bad firing key", "key", fmt.Sprintf("%q", k))
				return true, nil
			}
			todo = append(todo, pending{id, at})
			return true, nil
		})
	})
	if err != nil {
		s.log.Error("schedule: cannot list runs left firing", "err", err)
		return
	}
	for _, p := range todo {
		if ctx.Err() != nil {
			return
		}
		s.log.Info("schedule: firing again a run interrupted by a stop", "campaign", p.id, "at", p.at)
		s.fireRun(ctx, p.id, p.at)
	}
}

// fireRun calls Fire for a run already recorded "firing" and records the outcome.
func (s *Scheduler) fireRun(ctx context.Context, id string, at time.Time) {
	firedAt := s.clock.Now()
	s.inFire.Store(true)
	err := s.callFire(ctx, id, at)
	s.inFire.Store(false)
	if err != nil && ctx.Err() != nil {
		s.log.Info("schedule: fire interrupted by stop; it runs again on start", "campaign", id, "at", at, "err", err)
		return
	}
	run := Run{CampaignID: id, At: at, Status: StatusFired, FiredAt: firedAt}
	if err != nil {
		run.Status = StatusFailed
		run.Reason = truncate(err.Error(), MaxReasonLen)
		s.log.Warn("schedule: run failed", "campaign", id, "at", at, "err", err)
	} else {
		s.log.Info("schedule: run fired", "campaign", id, "at", at)
	}
	// The outcome is recorded even when stopping: Fire has already acted.
	cerr := s.db.Commit(context.WithoutCancel(ctx), func(tx storage.Txn) error {
		if err := putJSON(tx, runKey(id, at), run); err != nil {
			return err
		}
		return tx.Delete(firingKey(id, at))
	})
	if cerr != nil {
		s.log.Error("schedule: cannot record a run's outcome; it stays firing and fires again on start",
			"campaign", id, "at", at, "status", run.Status, "err", cerr)
	}
}

func (s *Scheduler) callFire(ctx context.Context, id string, at time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fire panicked: %v", r)
		}
	}()
	return s.fire(ctx, id, at)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
