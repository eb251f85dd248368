// Package schedule owns campaign schedules: when each campaign runs (once at an
// instant, or on every instant of a cron expression read on the wall clock of a named
// zone), the one loop that fires them, and the record of every run.
//
// # One owner
//
// robfig/cron's runner reads time.Now and real timers, so only its parser is used here.
// The Scheduler is the one owner of every schedule: it keeps them in memory, and a single
// goroutine keeps a single timer of the injected clock.Clock armed for the earliest next
// instant. Set and Remove write the store, update memory and wake that goroutine (there
// is no polling); they return once it has re-armed. Run one Scheduler per data directory:
// two would each fire every run.
//
// # Never twice
//
// Before Fire is called, one synced commit records the run "firing" and moves the
// schedule to its next instant. After Fire returns, the run becomes "fired" or "failed".
// A crash in between leaves the run "firing", and Start calls Fire for it again: Fire
// must be idempotent on (campaign, instant). The loop never fires an instant that already
// has a run record, so no bug in instant arithmetic can fire one twice.
//
// # Missed runs
//
// When instants t1 < t2 < ... < tn <= now passed while Kirim was stopped (or while the
// loop could not run, as in a suspended VM), only tn is considered: it fires if
// now - tn <= Grace, and is otherwise recorded "skipped" with the reason "missed while
// stopped, beyond grace 1h0m0s". A backlog is never run. The earlier instants t1..tn-1
// are counted in one "skipped" record at t1, whose reason gives their number and range,
// so a month of downtime on a daily schedule writes two records, not thirty. A
// once-schedule is the case n = 1.
//
// # Failures
//
// When Fire returns an error the run is recorded "failed" with the error as reason, the
// error is logged, and the schedule goes on to its next instant: a failed run is not
// retried. If Fire returns an error because the scheduler is stopping, the run stays
// "firing" and is fired again on the next Start.
//
// # Time zones
//
// Cron fields name local times, so "0 9 * * *" in Europe/Amsterdam is 09:00 local in
// winter and in summer. A local time shown twice (the repeated hour of a fall-back) runs
// at its first occurrence only. A local time that does not exist on a spring-forward day
// (02:30 in Amsterdam on the last Sunday of March) is not run that day, as in cron's
// parser; pick times outside 01:00-03:00 in zones with daylight saving.
//
// # Fire
//
// Fire runs on the loop goroutine, one call at a time and outside every lock, so a slow
// Fire delays the runs due after it: Fire implementations should start the campaign
// asynchronously and return. Fire may call Set and Remove; it must not call Stop.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"kirim/clock"
	"kirim/storage"
)

// Run statuses.
const (
	StatusFiring  = "firing"
	StatusFired   = "fired"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
)

// Limits and defaults.
const (
	// DefaultGrace is how late a missed instant may still fire on start-up.
	DefaultGrace = time.Hour
	// RetryDelay is how long the loop waits before handling an instant again after the
	// store refused to record it.
	RetryDelay = time.Minute
	// MaxCampaignIDLen bounds a campaign id; ids are about 30 characters.
	MaxCampaignIDLen = 128
	// DefaultRuns and MaxRuns bound a Runs answer.
	DefaultRuns = 100
	MaxRuns     = 1000
	// MaxMissedScan bounds how many missed instants are counted one by one after a long
	// stop: about 70 days of an every-minute schedule, some 0.4 s of cron arithmetic.
	// Past it the count reads "at least", and only the grace window is searched for the
	// instant that may still fire.
	MaxMissedScan = 100_000
	// MaxReasonLen bounds the error text kept in a failed run.
	MaxReasonLen = 512
)

const (
	reasonStopped = "missed while stopped"
	reasonLate    = "missed while the scheduler could not run"
)

// Run is one handled instant of a campaign's schedule.
type Run struct {
	CampaignID string    `json:"campaign_id"`
	At         time.Time `json:"at"`     // the scheduled instant (UTC); identifies the run with CampaignID
	Status     string    `json:"status"` // "firing" (recorded, fire in progress), "fired", "skipped" (missed beyond grace), "failed"
	FiredAt    time.Time `json:"fired_at,omitzero"`
	Reason     string    `json:"reason,omitempty"` // why skipped or failed
}

// Fire starts the run of campaignID scheduled at `at`. It must be idempotent on
// (campaignID, at): the scheduler may call it again for a run recorded "firing" when
// Kirim stopped before it was marked "fired".
type Fire func(ctx context.Context, campaignID string, at time.Time) error

// Options configure New.
type Options struct {
	DB     *storage.DB // required
	Clock  clock.Clock // default clock.Real
	Logger *slog.Logger
	// Grace is how late a missed instant may still fire on start-up; default 1h
	// (DefaultGrace). There is no way to ask for zero: use a small duration.
	Grace time.Duration
	Fire  Fire // required
}

// Scheduler fires campaign schedules on time; see the package doc.
type Scheduler struct {
	db    *storage.DB
	clock clock.Clock
	log   *slog.Logger
	grace time.Duration
	fire  Fire

	// setMu serialises Set, Remove and Start's load, so the store and memory see the
	// changes in the same order. Not held while waiting for the loop.
	setMu   sync.Mutex
	started atomic.Bool
	cancel  context.CancelFunc // guarded by setMu

	mu      sync.Mutex // guards entries and the fields of each entry
	entries map[string]*entry

	inFire  atomic.Bool        // the loop is inside Fire
	wake    chan chan struct{} // Set and Remove hand the loop a channel to close once re-armed
	stopped chan struct{}      // closed when the loop ends
}

// entry is one campaign's schedule in memory. The loop alone changes next and retryAt;
// others read them under mu.
type entry struct {
	id      string
	spec    Spec
	c       compiled
	rev     string
	next    time.Time // the next instant to handle
	retryAt time.Time // after a store error: not before this
	stale   bool      // replaced or removed in the store; memory catches up
}

func (e *entry) due() time.Time {
	if e.retryAt.After(e.next) {
		return e.retryAt
	}
	return e.next
}

// New returns a Scheduler; Start loads the stored schedules and begins firing.
func New(o Options) (*Scheduler, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("schedule: options: DB is required")
	case o.Fire == nil:
		return nil, errors.New("schedule: options: Fire is required")
	case o.Grace < 0:
		return nil, fmt.Errorf("schedule: options: negative Grace %s", o.Grace)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Grace == 0 {
		o.Grace = DefaultGrace
	}
	return &Scheduler{
		db:      o.DB,
		clock:   o.Clock,
		log:     o.Logger.With("component", "schedule"),
		grace:   o.Grace,
		fire:    o.Fire,
		entries: map[string]*entry{},
		wake:    make(chan chan struct{}),
		stopped: make(chan struct{}),
	}, nil
}

// Start loads the stored schedules, fires again the runs left "firing" by a crash,
// applies the missed-run policy, and starts the loop that fires on time. It returns once
// that start-up work is done. The loop ends with Stop or when ctx is done. A Scheduler
// starts once.
func (s *Scheduler) Start(ctx context.Context) error {
	s.setMu.Lock()
	if s.started.Load() {
		s.setMu.Unlock()
		return errors.New("schedule: already started")
	}
	entries, err := s.load()
	if err != nil {
		s.setMu.Unlock()
		return err
	}
	s.mu.Lock()
	s.entries = entries
	s.mu.Unlock()
	loopCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.started.Store(true)
	ready := make(chan struct{})
	go s.loop(loopCtx, ready)
	s.setMu.Unlock()

	select {
	case <-ready:
		return nil
	case <-s.stopped:
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("schedule: start: %w", err)
		}
		return errors.New("schedule: start: stopped before it was ready")
	}
}

// Stop ends the loop and waits for it, including a Fire in progress. Stored schedules
// stay; a new Scheduler on the same store carries on.
func (s *Scheduler) Stop() {
	s.setMu.Lock()
	cancel := s.cancel
	s.setMu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-s.stopped
}

// Set stores the schedule of campaignID, replacing any other, with its next instant
// computed from the clock's now. Runs already recorded stay.
func (s *Scheduler) Set(ctx context.Context, campaignID string, spec Spec) error {
	if err := checkID(campaignID); err != nil {
		return err
	}
	now := s.clock.Now()
	if err := spec.Validate(now); err != nil {
		return err
	}
	if !spec.At.IsZero() {
		spec.At = spec.At.UTC()
	}
	c, err := spec.compile()
	if err != nil {
		return err
	}
	next, ok := spec.Next(now)
	if !ok {
		return fieldErr("schedule", "no instant after now")
	}
	rev := storage.NewID("rev", now)

	s.setMu.Lock()
	err = s.db.Commit(ctx, func(tx storage.Txn) error {
		rec := record{Spec: spec, Next: next, Rev: rev}
		old, err := getRecord(tx, campaignID)
		switch {
		case err == nil:
			rec.Last = old.Last
		case !errors.Is(err, storage.ErrNotFound):
			return err
		}
		return putJSON(tx, scheduleKey(campaignID), rec)
	})
	if err != nil {
		s.setMu.Unlock()
		return fmt.Errorf("schedule: set %s: %w", campaignID, err)
	}
	s.mu.Lock()
	s.entries[campaignID] = &entry{id: campaignID, spec: spec, c: c, rev: rev, next: next}
	s.mu.Unlock()
	s.setMu.Unlock()

	s.log.Info("schedule set", "campaign", campaignID, "schedule", spec.Describe(), "next", next)
	s.poke()
	return nil
}

// Remove cancels the future runs of campaignID. Past run records stay, and a run
// already firing completes. Removing a campaign without a schedule is not an error.
func (s *Scheduler) Remove(ctx context.Context, campaignID string) error {
	if err := checkID(campaignID); err != nil {
		return err
	}
	s.setMu.Lock()
	err := s.db.Commit(ctx, func(tx storage.Txn) error {
		return tx.Delete(scheduleKey(campaignID))
	})
	if err != nil {
		s.setMu.Unlock()
		return fmt.Errorf("schedule: remove %s: %w", campaignID, err)
	}
	s.mu.Lock()
	delete(s.entries, campaignID)
	s.mu.Unlock()
	s.setMu.Unlock()
	s.poke()
	return nil
}

// Next returns the next instant campaignID will be handled at, and false when it has no
// schedule (none set, removed, or a once-schedule already run).
func (s *Scheduler) Next(campaignID string) (time.Time, bool) {
	if !s.started.Load() {
		var rec record
		err := s.db.View(func(r storage.Reader) error {
			var err error
			rec, err = getRecord(r, campaignID)
			return err
		})
		if err != nil || rec.Next.IsZero() {
			return time.Time{}, false
		}
		return rec.Next, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[campaignID]
	if !ok || e.stale || e.next.IsZero() {
		return time.Time{}, false
	}
	return e.next, true
}

// Runs returns up to limit run records of campaignID, newest first. A limit of zero or
// less means DefaultRuns; more than MaxRuns means MaxRuns.
func (s *Scheduler) Runs(campaignID string, limit int) ([]Run, error) {
	if err := checkID(campaignID); err != nil {
		return nil, err
	}
	switch {
	case limit <= 0:
		limit = DefaultRuns
	case limit > MaxRuns:
		limit = MaxRuns
	}
	var runs []Run
	err := s.db.View(func(r storage.Reader) error {
		return r.Iterate(runPrefix(campaignID), storage.IterOptions{Reverse: true}, func(k, v []byte) (bool, error) {
			run, err := decodeRun(v)
			if err != nil {
				return false, err
			}
			runs = append(runs, run)
			return len(runs) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("schedule: runs of %s: %w", campaignID, err)
	}
	return runs, nil
}

func checkID(id string) error {
	if id == "" {
		return errors.New("schedule: empty campaign id")
	}
	if len(id) > MaxCampaignIDLen {
		return fmt.Errorf("schedule: campaign id longer than %d bytes", MaxCampaignIDLen)
	}
	return nil
}

// load reads every stored schedule. One that no longer compiles (a zone dropped from
// the zone database) is logged and left out rather than keeping Kirim from starting.
func (s *Scheduler) load() (map[string]*entry, error) {
	entries := map[string]*entry{}
	prefix := storage.Key(storage.PrefixCampaignRun, []byte(subSchedule))
	err := s.db.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{}, func(k, v []byte) (bool, error) {
			id, _, ok := storage.ParseStr(k[len(prefix):])
			if !ok {
				s.log.Error("schedule: bad schedule key", "key", fmt.Sprintf("%q", k))
				return true, nil
			}
			var rec record
			if err := decodeJSON(v, &rec); err != nil {
				s.log.Error("schedule: undecodable schedule left out", "campaign", id, "err", err)
				return true, nil
			}
			c, err := rec.Spec.compile()
			if err != nil {
				s.log.Error("schedule: schedule no longer valid, left out", "campaign", id, "err", err)
				return true, nil
			}
			if rec.Next.IsZero() {
				return true, nil
			}
			entries[id] = &entry{id: id, spec: rec.Spec, c: c, rev: rec.Rev, next: rec.Next}
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("schedule: load: %w", err)
	}
	return entries, nil
}
