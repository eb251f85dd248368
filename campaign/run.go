package campaign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"kirim/engine"
	"kirim/ledger"
	"kirim/storage"
)

// Launch starts a run now. The run is quoted and its cost reserved in one commit with
// the state change: a campaign the balance cannot pay for does not launch
// (ErrInsufficient) and nothing changes.
func (s *Service) Launch(ctx context.Context, account, id string) (*Campaign, error) {
	c, err := s.Get(account, id)
	if err != nil {
		return nil, err
	}
	if c.State != StateDraft && c.State != StateScheduled {
		return nil, fmt.Errorf("%w: a %s campaign cannot be launched", ErrState, c.State)
	}
	if err := s.startRun(ctx, c.ID, s.clock.Now(), "launch"); err != nil {
		return nil, err
	}
	return s.Get(account, id)
}

// fire is the scheduler's callback: it starts the run of instant at, once.
func (s *Service) fire(ctx context.Context, id string, at time.Time) error {
	err := s.startRun(ctx, id, at, "schedule")
	switch {
	case errors.Is(err, ErrInsufficient):
		s.log.Warn("campaign: scheduled run not started: insufficient balance", "campaign", id, "at", at)
		return s.recordSkipped(ctx, id, at, ReasonBalance)
	case errors.Is(err, ErrState):
		s.log.Warn("campaign: scheduled run not started", "campaign", id, "at", at, "err", err)
		return s.recordSkipped(ctx, id, at, "campaign_busy")
	}
	return err
}

// startRun quotes the audience and, in one commit, reserves the cost and records the
// run; then the feeder takes over. A second call for the same instant does nothing.
func (s *Service) startRun(ctx context.Context, id string, at time.Time, trigger string) error {
	s.ops.Lock()
	defer s.ops.Unlock()
	var c *Campaign
	err := s.db.View(func(r storage.Reader) error {
		var err error
		c, err = loadCampaign(r, id)
		if err != nil {
			return err
		}
		if _, err := r.Get(runAtKey(id, at)); err == nil {
			c = nil // this instant already ran
		}
		return nil
	})
	if err != nil || c == nil {
		return err
	}
	if c.State == StateCancelled || c.State == StateCompleted && c.Schedule == nil {
		return nil
	}
	if c.State == StateRunning || c.State == StatePaused {
		return fmt.Errorf("%w: run %d is still %s", ErrState, c.Run, c.State)
	}
	q, err := s.quote(c)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.db.Commit(ctx, func(tx storage.Txn) error {
		c, err := loadCampaign(tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Get(runAtKey(id, at)); err == nil {
			return nil
		}
		if c.State != StateDraft && c.State != StateScheduled && !(c.State == StateCompleted && c.Schedule != nil) {
			return fmt.Errorf("%w: a %s campaign cannot start a run", ErrState, c.State)
		}
		seq := c.Run + 1
		run := &Run{Campaign: id, Seq: seq, At: at, Trigger: trigger, State: StateRunning, Counts: map[string]int64{},
			Quoted: q.Cost, Currency: q.Currency, StartedAt: now}
		if s.opts.Ledger != nil && q.Cost > 0 {
			run.ReserveID = reserveID(id, seq)
			res, err := s.opts.Ledger.Reserve(tx, ledger.ReserveRequest{ID: run.ReserveID, Account: c.Account, CampaignID: id, Amount: q.Cost, At: now,
				Positions: q.Positions})
			if errors.Is(err, ledger.ErrInsufficientBalance) {
				return fmt.Errorf("%w: %v", ErrInsufficient, err)
			}
			if err != nil {
				return fmt.Errorf("campaign: reserve for %s: %w", id, err)
			}
			run.Reserved = res.Amount
		}
		if err := putRun(tx, run); err != nil {
			return err
		}
		if err := tx.Set(runAtKey(id, at), storage.U64(seq)); err != nil {
			return err
		}
		c.Run, c.State, c.Reason, c.UpdatedAt = seq, StateRunning, "", now
		return s.putCampaign(tx, c)
	})
	if err != nil {
		return err
	}
	s.startRunner(id)
	return nil
}

// recordSkipped keeps a run that could not start, so reports show it.
func (s *Service) recordSkipped(ctx context.Context, id string, at time.Time, reason string) error {
	return s.db.Commit(ctx, func(tx storage.Txn) error {
		c, err := loadCampaign(tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Get(runAtKey(id, at)); err == nil {
			return nil
		}
		if c.State == StateRunning || c.State == StatePaused {
			return nil // the busy run keeps the campaign's current run number
		}
		seq := c.Run + 1
		now := s.clock.Now()
		run := &Run{Campaign: id, Seq: seq, At: at, Trigger: "schedule", State: StateCancelled, Reason: reason,
			Counts: map[string]int64{}, StartedAt: now, FinishedAt: now}
		if err := putRun(tx, run); err != nil {
			return err
		}
		if err := tx.Set(runAtKey(id, at), storage.U64(seq)); err != nil {
			return err
		}
		c.Run, c.Reason, c.UpdatedAt = seq, reason, now
		return s.putCampaign(tx, c)
	})
}

// Pause stops feeding the current run and takes its unclaimed messages back from the
// engine (their rows wait again); messages already with the provider settle as usual.
func (s *Service) Pause(ctx context.Context, account, id string) (*Campaign, error) {
	if _, err := s.Get(account, id); err != nil {
		return nil, err
	}
	if err := s.pause(ctx, id, ReasonUser); err != nil {
		return nil, err
	}
	return s.Get(account, id)
}

func (s *Service) pause(ctx context.Context, id, reason string) error {
	err := s.stopRun(ctx, id, StatePaused, reason)
	if err != nil {
		return err
	}
	s.log.Info("campaign: paused", "campaign", id, "reason", reason)
	if heldReasons[reason] {
		// The hold may have gone while the run was pausing, its news already passed.
		s.resumeReleased("")
	}
	return nil
}

// stopRun moves the running (or, for a cancel, paused) run to state and takes back
// its unclaimed messages. Observe, called by the engine inside CancelIn, turns each
// taken-back row to pending (pause) or cancelled (cancel).
func (s *Service) stopRun(ctx context.Context, id, state, reason string) error {
	s.ops.Lock()
	defer s.ops.Unlock()
	var seq uint64
	err := s.db.Commit(ctx, func(tx storage.Txn) error {
		seq = 0
		c, err := loadCampaign(tx, id)
		if err != nil {
			return err
		}
		switch {
		case state == StatePaused && c.State != StateRunning,
			state == StateCancelled && (c.State == StateCancelled || c.State == StateCompleted && c.Schedule == nil):
			return fmt.Errorf("%w: a %s campaign cannot be %s", ErrState, c.State, state)
		}
		now := s.clock.Now()
		runActive := c.State == StateRunning || c.State == StatePaused
		c.State, c.Reason, c.UpdatedAt = state, reason, now
		if err := s.putCampaign(tx, c); err != nil {
			return err
		}
		if !runActive {
			return nil
		}
		run, err := loadRun(tx, id, c.Run)
		if err != nil {
			return err
		}
		if state == StateCancelled {
			run.FinishedAt = now
			if n := run.Counts[RowPending]; n > 0 {
				run.Counts[StateCancelled] += n
				delete(run.Counts, RowPending)
			}
			if err := s.closeReserve(tx, run); err != nil {
				return err
			}
		}
		run.State, run.Reason = state, reason
		seq = c.Run
		return putRun(tx, run)
	})
	if err != nil {
		return err
	}
	s.stopRunner(id)
	if seq == 0 {
		return nil
	}
	// The run no longer feeds; take its unclaimed messages back a chunk per commit (a
	// commit has a size limit, and a run keeps up to two seconds of sends queued).
	for {
		n := 0
		err := s.db.Commit(ctx, func(tx storage.Txn) error {
			n = 0
			var keys [][]byte
			var ids []string
			err := tx.Iterate(runRows(keyUnclaimed, id, seq), storage.IterOptions{}, func(k, v []byte) (bool, error) {
				keys, ids = append(keys, bytes.Clone(k)), append(ids, string(v))
				return len(ids) < takeBackChunk, nil
			})
			if err != nil {
				return err
			}
			for i, mid := range ids {
				_, err := s.eng.CancelIn(tx, mid)
				switch {
				case err == nil:
					n++
				case errors.Is(err, engine.ErrNotCancellable), errors.Is(err, engine.ErrNotFound):
					// Claimed or gone, seen in this same commit: the entry is stale (the
					// row follows its message) and goes, so every pass ends with fewer.
					if err := tx.Delete(keys[i]); err != nil {
						return err
					}
					n++
				default:
					return fmt.Errorf("campaign: take back %s: %w", mid, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// takeBackChunk is how many messages one commit takes back from the engine.
const takeBackChunk = 200

// Resume feeds a paused run again.
func (s *Service) Resume(ctx context.Context, account, id string) (*Campaign, error) {
	c, err := s.Get(account, id)
	if err != nil {
		return nil, err
	}
	if c.State == StatePaused && c.Reason == ReasonSpamRateLimit {
		// The operator decides the number's marketing goes on: its pause ends too, or
		// the run would pause again at once. That resumes this run already.
		if err := s.eng.ResumeMarketing(ctx, c.From); err != nil && !errors.Is(err, engine.ErrNotPaused) {
			return nil, fmt.Errorf("campaign: resume %s: %w", id, err)
		}
	}
	if err := s.resume(ctx, id, false); err != nil {
		if now, gerr := s.Get(account, id); !errors.Is(err, ErrState) || gerr != nil || now.State != StateRunning || c.State != StatePaused {
			return nil, err
		}
	}
	return s.Get(account, id)
}

// errNotHeld: the run is no longer paused by a number's hold (the operator paused or
// resumed it since); an automatic resume leaves it.
var errNotHeld = errors.New("campaign: not paused by a hold")

// resume feeds a paused run again; held: only a run paused by a number's hold.
func (s *Service) resume(ctx context.Context, id string, held bool) error {
	s.ops.Lock()
	defer s.ops.Unlock()
	err := s.db.Commit(ctx, func(tx storage.Txn) error {
		c, err := loadCampaign(tx, id)
		if err != nil {
			return err
		}
		if c.State != StatePaused {
			return fmt.Errorf("%w: a %s campaign cannot be resumed", ErrState, c.State)
		}
		if held && !heldReasons[c.Reason] {
			return errNotHeld
		}
		run, err := loadRun(tx, id, c.Run)
		if err != nil {
			return err
		}
		// The failure rate that paused it is counted again from here.
		run.FailBase, run.SettledBase = run.Counts[string(engine.Failed)], settledCount(run)
		run.State, run.Reason = StateRunning, ""
		c.State, c.Reason, c.UpdatedAt = StateRunning, "", s.clock.Now()
		if err := putRun(tx, run); err != nil {
			return err
		}
		return s.putCampaign(tx, c)
	})
	if err != nil {
		return err
	}
	s.startRunner(id)
	return nil
}

// Cancel ends the campaign: future runs are dropped, the current run's unsent rows
// are cancelled and its reserve returned.
func (s *Service) Cancel(ctx context.Context, account, id string) (*Campaign, error) {
	c, err := s.Get(account, id)
	if err != nil {
		return nil, err
	}
	if err := s.stopRun(ctx, id, StateCancelled, "cancelled_by_user"); err != nil {
		return nil, err
	}
	if c.Schedule != nil {
		if err := s.sched.Remove(ctx, id); err != nil {
			return nil, fmt.Errorf("campaign: unschedule %s: %w", id, err)
		}
	}
	return s.Get(account, id)
}

// retryable reports whether a failed row may be sent again: the failure was transient
// (or its outcome unknown), not a refusal that would repeat.
func retryable(e *engine.MessageError) bool {
	if e == nil {
		return true
	}
	switch e.Class {
	case "retry_later", "throttled", "retry_after_24h", "unknown", "", engine.ClassFrequencyCapped, engine.ClassMarketingUserLimit:
		// A contact's marketing allowance comes back with time; a retry before it
		// did is skipped again.
		return true
	}
	return false
}

// RetryResult is what Retry queued again.
type RetryResult struct {
	Requeued int64
	// Unconfirmed counts those that failed by the unknown policy after a crash: the
	// provider may have received them, so their recipients may get them twice.
	Unconfirmed int64
}

// unconfirmed reports whether a failure is the unknown policy's (in flight at a crash,
// no status since).
func unconfirmed(e *engine.MessageError) bool {
	return e != nil && e.Code == engine.CodeUnknownTimeout
}

// Retry queues the current run's failed rows whose failure allows it again, and
// returns how many. A completed run runs again for them; its reserve was returned,
// so they are paid from the available balance.
func (s *Service) Retry(ctx context.Context, account, id string) (RetryResult, error) {
	s.ops.Lock()
	defer s.ops.Unlock()
	c, err := s.Get(account, id)
	if err != nil {
		return RetryResult{}, err
	}
	if c.Run == 0 || c.State == StateCancelled {
		return RetryResult{}, fmt.Errorf("%w: a %s campaign has no run to retry", ErrState, c.State)
	}
	var total RetryResult
	after := ""
	for {
		var n, unsure int64
		var last string
		err := s.db.Commit(ctx, func(tx storage.Txn) error {
			n, unsure, last = 0, 0, ""
			c, err := loadCampaign(tx, id)
			if err != nil {
				return err
			}
			run, err := loadRun(tx, id, c.Run)
			if err != nil {
				return err
			}
			prefix := runRows(keyRowPrefix, id, c.Run)
			opts := storage.IterOptions{}
			if after != "" {
				opts.Start = append(rowKey(keyRowPrefix, id, c.Run, after), 0)
			}
			var rows []*Row
			err = tx.Iterate(prefix, opts, func(k, v []byte) (bool, error) {
				ph := string(k[len(prefix):])
				last = ph
				row, err := decodeRow(v, ph)
				if err != nil {
					return false, err
				}
				if row.Status == string(engine.Failed) && retryable(row.Error) {
					rows = append(rows, row)
				}
				return len(rows) < s.opts.Batch*4, nil
			})
			if err != nil {
				return err
			}
			for _, row := range rows {
				if unconfirmed(row.Error) {
					unsure++
				}
				row.Status, row.Error = RowPending, nil
				if err := tx.Set(rowKey(keyRowPrefix, id, c.Run, row.Phone), encodeRow(row)); err != nil {
					return err
				}
				if err := tx.Set(rowKey(keyRequeuePrefix, id, c.Run, row.Phone), nil); err != nil {
					return err
				}
				run.move(string(engine.Failed), RowPending)
				run.Requeued++
				n++
			}
			if n > 0 && run.State == StateCompleted {
				run.State, run.FinishedAt = StateRunning, time.Time{}
				c.State, c.UpdatedAt = StateRunning, s.clock.Now()
				if err := s.putCampaign(tx, c); err != nil {
					return err
				}
			}
			if n > 0 {
				run.FailBase, run.SettledBase = run.Counts[string(engine.Failed)], settledCount(run)
			}
			return putRun(tx, run)
		})
		if err != nil {
			return total, fmt.Errorf("campaign: retry %s: %w", id, err)
		}
		total.Requeued += n
		total.Unconfirmed += unsure
		if last == "" || last == after {
			break
		}
		after = last
	}
	if total.Requeued > 0 {
		s.startRunner(id)
		s.wakeRunner(id)
	}
	return total, nil
}

func (s *Service) closeReserve(tx storage.Txn, run *Run) error {
	if s.opts.Ledger == nil || run.ReserveID == "" {
		return nil
	}
	if _, err := s.opts.Ledger.CloseReserve(tx, run.ReserveID, "campaign_"+run.State); err != nil {
		return fmt.Errorf("campaign: close reserve %s: %w", run.ReserveID, err)
	}
	return nil
}

// settledCount counts the rows whose outcome is known (the failure rate's base).
func settledCount(run *Run) int64 {
	var n int64
	for _, st := range []engine.State{engine.Sent, engine.Delivered, engine.Read, engine.Failed, engine.Held} {
		n += run.Counts[string(st)]
	}
	return n
}
