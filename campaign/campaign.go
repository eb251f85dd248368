// Package campaign owns campaigns: their audience drawn from contact lists, the quote
// before launch, schedules, the run state, one status row per recipient, and feeding
// the engine in batches. It never sends directly: messages go through the engine,
// which tells the campaign of every change inside the same transaction (Observe), so a
// recipient's row and the run's counters never disagree with the message.
//
// A campaign is a definition (template, sender, lists, filters, per-recipient
// variables, schedule). Each launch or scheduled instant starts a run: the audience is
// resolved into rows (one per recipient, keyed by phone, so a recipient is in a run
// once), one ledger reserve pays for the whole run, and a feeder hands the rows to the
// engine a batch at a time, never more than the number can send soon, so memory stays
// flat for a million recipients and a pause takes back only a batch.
package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"kirim/campaign/lists"
	"kirim/campaign/schedule"
	"kirim/clock"
	"kirim/engine"
	"kirim/ledger"
	"kirim/storage"
	"kirim/template"
)

// Campaign states.
const (
	StateDraft     = "draft"
	StateScheduled = "scheduled"
	StateRunning   = "running"
	StatePaused    = "paused"
	StateCompleted = "completed"
	StateCancelled = "cancelled"
)

// Reasons a run pauses itself.
const (
	ReasonTemplatePaused   = "template_paused"
	ReasonTemplateDisabled = "template_disabled"
	ReasonQualityRed       = "quality_red"
	ReasonFailureRate      = "failure_rate"
	ReasonBalance          = "insufficient_balance"
	ReasonUser             = "paused_by_user"
	// The number holds the campaign's templates (engine.SendHold): the run resumes by
	// itself once the hold is gone.
	ReasonNumberOffline     = engine.ReasonNumberOffline
	ReasonNumberPending     = engine.ReasonNumberPending
	ReasonNumberFlagged     = engine.ReasonNumberFlagged
	ReasonNumberRestricted  = engine.ReasonNumberRestricted
	ReasonAccountRestricted = engine.ReasonAccountRestricted
	// ReasonSpamRateLimit: the number's marketing is paused after a 131048; the run
	// resumes when the pause ends, or when its operator resumes it (which ends the
	// number's pause too).
	ReasonSpamRateLimit = engine.ReasonSpamRateLimit
)

// heldReasons are the pause reasons of a number's hold, lifted without the operator.
var heldReasons = map[string]bool{
	ReasonNumberOffline: true, ReasonNumberPending: true, ReasonNumberFlagged: true,
	ReasonNumberRestricted: true, ReasonAccountRestricted: true, ReasonSpamRateLimit: true,
}

// Limits and defaults.
const (
	// MaxLists bounds the lists of one campaign.
	MaxLists = 20
	// MaxFilters bounds the attribute filters of one campaign.
	MaxFilters = 10
	// MaxNameLength bounds a campaign's name.
	MaxNameLength = 200
	// DefaultBatch is the most rows handed to the engine in one commit.
	DefaultBatch = 256
	// DefaultFailurePercent and DefaultFailureMin: a run pauses itself when more than
	// this share of at least this many settled messages failed.
	DefaultFailurePercent = 20
	DefaultFailureMin     = 200
	// recheck is how often a waiting feeder looks again at the number and template
	// when nothing wakes it.
	recheck = 5 * time.Second
)

// Errors the API maps to statuses.
var (
	ErrNotFound     = errors.New("campaign: not found")
	ErrState        = errors.New("campaign: state change not allowed")
	ErrInsufficient = errors.New("campaign: insufficient balance")
	// ErrNumberNotOwned refuses a campaign that would send from another account's number.
	ErrNumberNotOwned = errors.New("campaign: the number belongs to another account")
)

// InvalidError is a campaign definition refused, naming the field.
type InvalidError struct {
	Field, Message string
	// Code is an API error code when it is more specific than a bad field.
	Code string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Templates looks templates up (the template store does).
type Templates interface {
	Lookup(wabaID, name, language string) (*template.Template, bool)
}

// Options wire a Service.
type Options struct {
	DB        *storage.DB
	Clock     clock.Clock
	Logger    *slog.Logger
	Lists     *lists.Store
	Templates Templates
	// Ledger pays for runs with one reserve each; nil: campaigns cost nothing.
	Ledger *ledger.Ledger
	// Batch is the most rows handed to the engine in one commit. Default DefaultBatch.
	Batch int
	// InFlight caps a run's messages in the engine not yet settled. Default: two
	// seconds of the number's throughput, at least Batch.
	InFlight int
	// FailurePercent and FailureMin set the failure-rate auto-pause (FailurePercent
	// < 0 disables it). Defaults DefaultFailurePercent and DefaultFailureMin.
	FailurePercent, FailureMin int
	// Grace is the scheduler's missed-run grace. Default 1h.
	Grace time.Duration
	// OnState is told, inside the transaction, of every change of a campaign's state
	// (prev "" when it is created), so an event reporting it commits with it.
	OnState func(tx storage.Txn, c *Campaign, prev string) error
}

// Service runs campaigns. Engine must be set with SetEngine before Start.
type Service struct {
	opts  Options
	db    *storage.DB
	clock clock.Clock
	log   *slog.Logger
	eng   *engine.Engine
	sched *schedule.Scheduler

	// ops serializes the state changes (launch, pause, resume, cancel, retry): a
	// resume must not interleave with a pause still taking its messages back.
	ops     sync.Mutex
	mu      sync.Mutex
	runners map[string]*runner // by campaign id
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New builds a Service. It owns the campaign scheduler.
func New(opts Options) (*Service, error) {
	if opts.DB == nil {
		return nil, errors.New("campaign: DB is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Batch <= 0 {
		opts.Batch = DefaultBatch
	}
	if opts.FailurePercent == 0 {
		opts.FailurePercent = DefaultFailurePercent
	}
	if opts.FailureMin <= 0 {
		opts.FailureMin = DefaultFailureMin
	}
	s := &Service{opts: opts, db: opts.DB, clock: opts.Clock, log: opts.Logger, runners: map[string]*runner{}}
	sched, err := schedule.New(schedule.Options{DB: opts.DB, Clock: opts.Clock, Logger: opts.Logger, Grace: opts.Grace, Fire: s.fire})
	if err != nil {
		return nil, fmt.Errorf("campaign: %w", err)
	}
	s.sched = sched
	return s, nil
}

// SetEngine gives the service the engine it feeds. The engine is built with the
// service's Observe and OnChange, so it comes after New.
func (s *Service) SetEngine(e *engine.Engine) { s.eng = e }

// ReserveID names the ledger reserve that pays for a campaign message (the ledger's
// Biller asks); "" for other messages.
func ReserveID(m *engine.Message) string {
	if m.CampaignID == "" || m.CampaignRun == 0 {
		return ""
	}
	return reserveID(m.CampaignID, m.CampaignRun)
}

func reserveID(campaignID string, run uint64) string {
	return fmt.Sprintf("%s.r%d", campaignID, run)
}

// Start resumes the runs that were running when Kirim stopped and starts the
// scheduler (which fires what was missed, by its policy).
func (s *Service) Start(ctx context.Context) error {
	if s.eng == nil {
		return errors.New("campaign: Start before SetEngine")
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	var running []string
	err := s.db.View(func(r storage.Reader) error {
		return r.Iterate([]byte(keyCampaignPrefix), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			c, err := decodeCampaign(v)
			if err != nil {
				return false, err
			}
			if c.State == StateRunning {
				running = append(running, c.ID)
			}
			return true, nil
		})
	})
	if err != nil {
		return fmt.Errorf("campaign: start: %w", err)
	}
	for _, id := range running {
		s.startRunner(id)
	}
	// A hold lifted while Kirim was stopped, or before the service started.
	s.resumeReleased("")
	if err := s.sched.Start(ctx); err != nil {
		return fmt.Errorf("campaign: start scheduler: %w", err)
	}
	return nil
}

// Close stops the scheduler and the feeders; what they committed stays.
func (s *Service) Close() {
	if s.cancel == nil {
		return
	}
	s.sched.Stop()
	s.cancel()
	s.wg.Wait()
}
