package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kirim/engine"
	"kirim/ledger"
	"kirim/provider"
	"kirim/storage"
)

// runner feeds one campaign's current run to the engine.
type runner struct {
	id      string
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	samples []sample // recent progress, for the rate
}

type sample struct {
	at      time.Time
	settled int64
}

func (s *Service) startRunner(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.ctx.Err() != nil {
		return // not started, or closing: Start picks running campaigns up
	}
	if rn, ok := s.runners[id]; ok {
		select {
		case <-rn.done:
		default:
			return
		}
	}
	ctx, cancel := context.WithCancel(s.ctx)
	rn := &runner{id: id, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	s.runners[id] = rn
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(rn.done)
		s.loop(ctx, rn)
	}()
}

// stopRunner ends a campaign's feeder and waits for it.
func (s *Service) stopRunner(id string) {
	s.mu.Lock()
	rn, ok := s.runners[id]
	if ok {
		delete(s.runners, id)
	}
	s.mu.Unlock()
	if ok {
		rn.cancel()
		<-rn.done
	}
}

func (s *Service) wakeRunner(id string) {
	s.mu.Lock()
	rn, ok := s.runners[id]
	s.mu.Unlock()
	if ok {
		select {
		case rn.wake <- struct{}{}:
		default:
		}
	}
}

// OnChange is the engine's after-commit hook: it wakes the feeders of the campaigns
// whose messages moved (a slot in flight freed, or the run may be complete).
func (s *Service) OnChange(ms []*engine.Message) {
	var last string
	for _, m := range ms {
		if m.CampaignID != "" && m.CampaignID != last {
			s.wakeRunner(m.CampaignID)
			last = m.CampaignID
		}
	}
}

func (s *Service) loop(ctx context.Context, rn *runner) {
	for ctx.Err() == nil {
		wait, done, err := s.step(ctx, rn)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Error("campaign: feeding failed", "campaign", rn.id, "err", err)
			wait = recheck
		}
		if done {
			return
		}
		if wait <= 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-rn.wake:
		case <-s.clock.After(wait):
		}
	}
}

// step does one thing for the run: resolve its rows, pause it, complete it, or hand
// the engine one batch. It returns how long to wait before the next step (woken
// earlier by any change of the run's messages).
func (s *Service) step(ctx context.Context, rn *runner) (time.Duration, bool, error) {
	var c *Campaign
	var run *Run
	err := s.db.View(func(r storage.Reader) error {
		var err error
		if c, err = loadCampaign(r, rn.id); err != nil {
			return err
		}
		run, err = loadRun(r, rn.id, c.Run)
		return err
	})
	if err != nil {
		return 0, false, err
	}
	if c.State != StateRunning || run.State != StateRunning {
		return 0, true, nil
	}
	if !run.Resolved {
		return 0, false, s.resolve(ctx, c, run)
	}
	now := s.clock.Now()
	s.mu.Lock()
	rn.note(now, settledCount(run))
	s.mu.Unlock()
	ns, nsErr := s.eng.NumberStatusOf(c.From)
	if reason := s.autoPause(c, run, ns.Quality); reason != "" {
		s.pauseApart(c.ID, reason)
		return 0, true, nil
	}
	if run.Exhausted && run.Requeued == 0 && run.inFlight() == 0 && run.Counts[RowPending] == 0 {
		return 0, true, s.complete(ctx, c.ID, run.Seq)
	}
	budget := int64(s.inFlightCap(c)) - run.inFlight()
	if budget <= 0 {
		return recheck, false, nil
	}
	if nsErr == nil && ns.Limit != engine.Unlimited {
		// New recipients beyond the messaging limit would only wait in the engine:
		// feed what the rolling window has room for, and wake when a slot frees.
		room := int64(ns.Limit-ns.Used24h) - run.unclaimedCount()
		if room <= 0 {
			wait := recheck
			if !ns.FreesAt.IsZero() && ns.FreesAt.After(now) {
				wait = ns.FreesAt.Sub(now)
			}
			return wait, false, nil
		}
		budget = min(budget, room)
	}
	// A batch whose writes outgrow one transaction (long payloads under a small
	// memtable) is fed again in halves rather than failing the run.
	want := int(min(budget, int64(s.opts.Batch)))
	n, err := s.feed(ctx, c, run.Seq, want)
	for errors.Is(err, storage.ErrTxnTooBig) && want > 1 {
		want /= 2
		n, err = s.feed(ctx, c, run.Seq, want)
	}
	if err != nil {
		return 0, false, err
	}
	if n == 0 {
		return recheck, false, nil
	}
	return 0, false, nil
}

// note records progress for the rate; the caller holds s.mu (Progress reads it).
// pauseApart pauses the campaign from its own feeder. pause stops the feeder and
// waits for it, so it runs in a goroutine of its own.
func (s *Service) pauseApart(id, reason string) {
	go func() {
		if err := s.pause(context.Background(), id, reason); err != nil && !errors.Is(err, ErrState) {
			s.log.Error("campaign: auto-pause failed", "campaign", id, "reason", reason, "err", err)
		}
	}()
}

func (rn *runner) note(at time.Time, settled int64) {
	rn.samples = append(rn.samples, sample{at, settled})
	// Keep about a minute.
	for len(rn.samples) > 2 && at.Sub(rn.samples[1].at) > time.Minute {
		rn.samples = rn.samples[1:]
	}
}

// inFlightCap is how many unsettled messages a run keeps in the engine: about two
// seconds of the number's throughput, so pausing takes back little and memory stays
// flat however large the audience.
func (s *Service) inFlightCap(c *Campaign) int {
	if s.opts.InFlight > 0 {
		return s.opts.InFlight
	}
	n, _ := s.eng.Number(c.From)
	return max(2*n.MPS, s.opts.Batch)
}

// autoPause returns why the run must pause itself, or "". quality is the number's
// quality rating.
func (s *Service) autoPause(c *Campaign, run *Run, quality string) string {
	num, _ := s.eng.Number(c.From)
	if tpl, ok := s.opts.Templates.Lookup(num.WABAID, c.Template.Name, c.Template.Language); !ok {
		return ReasonTemplateDisabled
	} else {
		switch tpl.Status {
		case "PAUSED":
			return ReasonTemplatePaused
		case "DISABLED", "DELETED", "PENDING_DELETION", "REJECTED":
			return ReasonTemplateDisabled
		}
	}
	if hold, _ := s.eng.SendHold(c.From, c.Category); hold != "" {
		return hold
	}
	if quality == "RED" {
		return ReasonQualityRed
	}
	if s.opts.FailurePercent > 0 {
		failed := run.Counts[string(engine.Failed)] - run.FailBase
		settled := settledCount(run) - run.SettledBase
		if settled >= int64(s.opts.FailureMin) && failed*100 > settled*int64(s.opts.FailurePercent) {
			return ReasonFailureRate
		}
	}
	return ""
}

// resolve writes the run's rows: one per recipient of the audience, pending. A run
// interrupted while resolving starts over (its partial rows are removed first).
func (s *Service) resolve(ctx context.Context, c *Campaign, run *Run) error {
	if err := s.deleteRows(keyRowPrefix, c.ID, run.Seq); err != nil {
		return err
	}
	b := s.db.NewBatch()
	var total int64
	skipped, err := s.audience(c, func(rc recipient) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		total++
		row := &Row{Name: rc.name, Header: rc.header, Params: rc.params, Buttons: rc.buttons, Status: RowPending}
		return b.Set(rowKey(keyRowPrefix, c.ID, run.Seq, rc.phone), encodeRow(row))
	})
	if err != nil {
		b.Cancel()
		return fmt.Errorf("campaign: resolve %s: %w", c.ID, err)
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("campaign: resolve %s: %w", c.ID, err)
	}
	return s.db.Commit(ctx, func(tx storage.Txn) error {
		r, err := loadRun(tx, c.ID, run.Seq)
		if err != nil {
			return err
		}
		r.Resolved, r.Total, r.Skipped = true, total, skipped
		r.Counts = map[string]int64{}
		if total > 0 {
			r.Counts[RowPending] = total
		}
		return putRun(tx, r)
	})
}

func (s *Service) deleteRows(base, id string, seq uint64) error {
	b := s.db.NewBatch()
	err := s.db.View(func(r storage.Reader) error {
		return r.Iterate(runRows(base, id, seq), storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			return true, b.Delete(k)
		})
	})
	if err != nil {
		b.Cancel()
		return err
	}
	return b.Flush()
}

// feed hands the engine up to n pending rows, requeued ones first, in one commit
// with their rows and the run's counters, and returns how many it handed.
func (s *Service) feed(ctx context.Context, c *Campaign, seq uint64, n int) (int, error) {
	num, _ := s.eng.Number(c.From)
	tpl, err := s.template(num.WABAID, c.Template)
	if err != nil {
		return 0, err
	}
	named := tpl.Params().Body.Names
	fed := 0
	since := s.clock.Now()
	err = s.db.Commit(ctx, func(tx storage.Txn) error {
		fed = 0
		run, err := loadRun(tx, c.ID, seq)
		if err != nil {
			return err
		}
		if run.State != StateRunning {
			return nil
		}
		type pick struct {
			phone   string
			requeue bool
		}
		var picks []pick
		if run.Requeued > 0 {
			prefix := runRows(keyRequeuePrefix, c.ID, seq)
			err := tx.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
				picks = append(picks, pick{string(k[len(prefix):]), true})
				return len(picks) < n, nil
			})
			if err != nil {
				return err
			}
		}
		cursor := run.Cursor
		if !run.Exhausted && len(picks) < n {
			prefix := runRows(keyRowPrefix, c.ID, seq)
			opts := storage.IterOptions{KeysOnly: true}
			if cursor != "" {
				opts.Start = append(rowKey(keyRowPrefix, c.ID, seq, cursor), 0)
			}
			want := n - len(picks)
			got := 0
			err := tx.Iterate(prefix, opts, func(k, _ []byte) (bool, error) {
				ph := string(k[len(prefix):])
				picks = append(picks, pick{ph, false})
				cursor = ph
				got++
				return got < want, nil
			})
			if err != nil {
				return err
			}
			if got < want {
				run.Exhausted = true
			}
		}
		for _, p := range picks {
			if p.requeue {
				if err := tx.Delete(rowKey(keyRequeuePrefix, c.ID, seq, p.phone)); err != nil {
					return err
				}
				run.Requeued--
			}
			key := rowKey(keyRowPrefix, c.ID, seq, p.phone)
			row, err := loadRow(tx, key, p.phone)
			if err != nil {
				return fmt.Errorf("campaign: row %s: %w", p.phone, err)
			}
			if row.Status != RowPending {
				continue
			}
			m, send := s.message(c, seq, row, named)
			if err := s.eng.Enqueue(tx, m, send); err != nil {
				return err
			}
			row.Status, row.MessageID, row.Error = string(engine.Queued), m.ID, nil
			row.Fed++
			if err := tx.Set(key, encodeRow(row)); err != nil {
				return err
			}
			if err := tx.Set(rowKey(keyUnclaimed, c.ID, seq, p.phone), []byte(m.ID)); err != nil {
				return err
			}
			run.move(RowPending, string(engine.Queued))
			fed++
		}
		run.Cursor = cursor
		return putRun(tx, run)
	})
	if err != nil {
		if errors.Is(err, ledger.ErrInsufficientBalance) {
			s.pauseApart(c.ID, ReasonBalance)
			return 0, nil
		}
		return 0, fmt.Errorf("campaign: feed %s: %w", c.ID, err)
	}
	if fed > 0 {
		s.eng.Wake(c.From, since)
	}
	return fed, nil
}

// complete ends a run whose every row settled and returns what is left of its reserve.
func (s *Service) complete(ctx context.Context, id string, seq uint64) error {
	return s.db.Commit(ctx, func(tx storage.Txn) error {
		c, err := loadCampaign(tx, id)
		if err != nil {
			return err
		}
		run, err := loadRun(tx, id, seq)
		if err != nil {
			return err
		}
		if run.State != StateRunning || c.Run != seq {
			return nil
		}
		now := s.clock.Now()
		run.State, run.FinishedAt = StateCompleted, now
		if err := s.closeReserve(tx, run); err != nil {
			return err
		}
		if err := putRun(tx, run); err != nil {
			return err
		}
		c.State, c.UpdatedAt = StateCompleted, now
		if c.Schedule != nil && c.Schedule.Recurring() {
			c.State = StateScheduled
		}
		return s.putCampaign(tx, c)
	})
}

// notTheRunsFailure reports whether a failure says nothing of the run's audience or
// template, so the failure-rate auto-pause leaves it out: a message left unconfirmed
// by a crash, a contact's frequency cap, or WhatsApp's per-user marketing limit.
func notTheRunsFailure(e *engine.MessageError) bool {
	if e == nil {
		return false
	}
	return e.Code == engine.CodeUnknownTimeout || e.Code == provider.CodeMarketingUserLimit ||
		e.Class == engine.ClassFrequencyCapped || e.Class == engine.ClassMarketingUserLimit
}

// Observe is the engine's in-transaction hook: the row of a campaign message follows
// the message's state, and the run's counters and spend follow the row. A message
// taken back by a pause makes its row pending again.
func (s *Service) Observe(tx storage.Txn, m *engine.Message, _ engine.State) error {
	if m.CampaignRun == 0 {
		return nil
	}
	key := rowKey(keyRowPrefix, m.CampaignID, m.CampaignRun, m.To)
	row, err := loadRow(tx, key, m.To)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if row.MessageID != m.ID {
		return nil // an earlier message of the row, taken back before it was sent
	}
	status := string(m.State)
	if m.State == engine.Cancelled {
		run, err := loadRunHead(tx, m.CampaignID, m.CampaignRun)
		if err != nil {
			return err
		}
		if run.State == StatePaused {
			status, row.MessageID = RowPending, ""
			if err := tx.Set(rowKey(keyRequeuePrefix, m.CampaignID, m.CampaignRun, m.To), nil); err != nil {
				return err
			}
			run.Requeued++
			if err := putRunHead(tx, run); err != nil {
				return err
			}
		}
	}
	if m.State == engine.Failed && row.Status != status && notTheRunsFailure(m.Error) {
		run, err := loadRunHead(tx, m.CampaignID, m.CampaignRun)
		if err != nil {
			return err
		}
		run.FailBase++
		run.SettledBase++
		if err := putRunHead(tx, run); err != nil {
			return err
		}
	}
	counts, spend, err := loadCounts(tx, m.CampaignID, m.CampaignRun)
	if err != nil {
		return err
	}
	moveCount(counts, row.Status, status)
	spend += m.Charged - row.Charged
	row.Status, row.Charged, row.Error = status, m.Charged, m.Error
	if status == RowPending {
		row.Charged = 0
	}
	uk := rowKey(keyUnclaimed, m.CampaignID, m.CampaignRun, m.To)
	if unclaimed(status) {
		err = tx.Set(uk, []byte(m.ID))
	} else {
		err = tx.Delete(uk)
	}
	if err != nil {
		return err
	}
	if err := tx.Set(key, encodeRow(row)); err != nil {
		return err
	}
	return putCounts(tx, m.CampaignID, m.CampaignRun, counts, spend)
}
