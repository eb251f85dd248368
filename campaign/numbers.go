package campaign

import (
	"context"
	"errors"

	"kirim/storage"
)

// NumberChanged is the engine's AfterNumber hook: a number's standing, limit or holds
// changed. Every feeder wakes at once (one waiting for a messaging-limit slot may feed
// now; one whose number now holds its templates pauses), and the runs paused by a hold
// of that number that is gone resume.
func (s *Service) NumberChanged(alias string) {
	s.mu.Lock()
	for _, rn := range s.runners {
		select {
		case rn.wake <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	s.resumeReleased(alias)
}

// resumeReleased resumes the runs on the number alias ("": every number) that a
// number's hold paused, once the number no longer holds them.
func (s *Service) resumeReleased(alias string) {
	if s.eng == nil {
		return // the engine reports before the service is wired; Start sweeps
	}
	var ids []string
	err := s.db.View(func(r storage.Reader) error {
		return r.Iterate([]byte(keyCampaignPrefix), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			c, err := decodeCampaign(v)
			if err != nil {
				return false, err
			}
			if c.State != StatePaused || !heldReasons[c.Reason] || (alias != "" && c.From != alias) {
				return true, nil
			}
			if hold, _ := s.eng.SendHold(c.From, c.Category); hold == "" {
				ids = append(ids, c.ID)
			}
			return true, nil
		})
	})
	if err != nil {
		s.log.Error("campaign: look for runs a number's hold paused", "number", alias, "err", err)
		return
	}
	for _, id := range ids {
		err := s.resume(context.Background(), id, true)
		switch {
		case err == nil:
			s.log.Info("campaign: resumed: the number no longer holds it", "campaign", id)
		case errors.Is(err, errNotHeld), errors.Is(err, ErrState):
		default:
			s.log.Error("campaign: resume after a number's hold", "campaign", id, "err", err)
		}
	}
}
