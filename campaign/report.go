package campaign

import (
	"fmt"
	"time"

	"kirim/engine"
	"kirim/storage"
)

// Progress is a campaign's standing with its current run.
type Progress struct {
	Campaign *Campaign `json:"campaign"`
	Run      *Run      `json:"run,omitempty"`
	// Rate is messages settled per second over about the last minute; ETA is when the
	// rest would be done at that rate (or when the messaging limit lets them go).
	Rate    float64   `json:"rate"`
	ETA     time.Time `json:"eta,omitzero"`
	NextRun time.Time `json:"next_run,omitzero"`
	// Unknown counts the run's messages in flight at a crash and not yet settled by a
	// webhook; UnknownSettleAt is when the last of them is settled by the engine's
	// unknown policy if no webhook names it first. The run completes after them.
	Unknown         int64     `json:"unknown"`
	UnknownSettleAt time.Time `json:"unknown_settle_at,omitzero"`
}

// Progress returns the campaign with its current run.
func (s *Service) Progress(account, id string) (*Progress, error) {
	p := &Progress{}
	// One snapshot: a run completing changes the run and the campaign together.
	err := s.db.View(func(r storage.Reader) error {
		c, err := loadOwned(r, account, id)
		if err != nil {
			return err
		}
		p.Campaign = c
		if c.Run > 0 {
			p.Run, err = loadRun(r, id, c.Run)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	c := p.Campaign
	if next, ok := s.sched.Next(id); ok {
		p.NextRun = next
	}
	if p.Run == nil {
		return p, nil
	}
	if p.Run.Counts[string(engine.Unknown)] > 0 && s.eng != nil {
		n, at, err := s.eng.UnknownOf(id, p.Run.Seq)
		if err != nil {
			return nil, fmt.Errorf("campaign: progress %s: %w", id, err)
		}
		p.Unknown, p.UnknownSettleAt = int64(n), at
	}
	if p.Run.State != StateRunning {
		return p, nil
	}
	s.mu.Lock()
	if rn, ok := s.runners[id]; ok && len(rn.samples) > 1 {
		a, b := rn.samples[0], rn.samples[len(rn.samples)-1]
		if d := b.at.Sub(a.at).Seconds(); d > 0 {
			p.Rate = float64(b.settled-a.settled) / d
		}
	}
	s.mu.Unlock()
	left := p.Run.Total - settledCount(p.Run) - p.Run.Counts[string(engine.Cancelled)]
	now := s.clock.Now()
	if left > 0 {
		if p.Rate > 0 {
			p.ETA = now.Add(time.Duration(float64(left) / p.Rate * float64(time.Second)))
		}
		if t, err := s.eng.RecipientsETA(c.From, int(left)); err == nil && t.After(p.ETA) {
			p.ETA = t
		}
	}
	return p, nil
}

// Runs returns the campaign's runs, newest first.
func (s *Service) Runs(account, id string, limit int) ([]*Run, error) {
	if _, err := s.Get(account, id); err != nil {
		return nil, err
	}
	var out []*Run
	err := s.db.View(func(r storage.Reader) error {
		return r.Iterate(storage.Key(keyRunPrefix, storage.Str(id)), storage.IterOptions{Reverse: true}, func(k, _ []byte) (bool, error) {
			_, rest, _ := storage.ParseStr(k[len(keyRunPrefix):])
			seq, _, _ := storage.ParseU64(rest)
			run, err := loadRun(r, id, seq)
			if err != nil {
				return false, err
			}
			out = append(out, run)
			return len(out) < limit, nil
		})
	})
	return out, err
}

// RecipientFilter selects rows of a run.
type RecipientFilter struct {
	Run    uint64 // 0: the current run
	Status string // "" all; a row status; "failed" etc.
	After  string // phone cursor
	Limit  int    // 0: no limit
}

// Recipients calls fn for the run's rows in phone order and returns the cursor of
// the next page ("" at the end).
func (s *Service) Recipients(account, id string, f RecipientFilter, fn func(*Row) error) (string, error) {
	c, err := s.Get(account, id)
	if err != nil {
		return "", err
	}
	seq := f.Run
	if seq == 0 {
		seq = c.Run
	}
	if seq == 0 {
		return "", nil
	}
	var cancelled bool
	next, last := "", ""
	n := 0
	err = s.db.View(func(r storage.Reader) error {
		run, err := loadRun(r, id, seq)
		if err != nil {
			return err
		}
		cancelled = run.State == StateCancelled
		prefix := runRows(keyRowPrefix, id, seq)
		opts := storage.IterOptions{}
		if f.After != "" {
			opts.Start = append(rowKey(keyRowPrefix, id, seq, f.After), 0)
		}
		return r.Iterate(prefix, opts, func(k, v []byte) (bool, error) {
			ph := string(k[len(prefix):])
			row, err := decodeRow(v, ph)
			if err != nil {
				return false, err
			}
			if cancelled && row.Status == RowPending {
				row.Status = StateCancelled // never sent: the run was cancelled
			}
			if f.Status != "" && row.Status != f.Status {
				return true, nil
			}
			if f.Limit > 0 && n == f.Limit {
				next = last
				return false, nil
			}
			n++
			last = ph
			return true, fn(row)
		})
	})
	return next, err
}

// Totals reads a run's counts by message status and its spend through r (an OnState
// hook's transaction): the totals a campaign.state event carries on completion.
func Totals(r storage.Reader, id string, seq uint64) (counts map[string]int64, spend int64, err error) {
	counts, spend, err = loadCounts(r, id, seq)
	if err != nil {
		return nil, 0, fmt.Errorf("campaign: totals %s run %d: %w", id, seq, err)
	}
	return counts, spend, nil
}
