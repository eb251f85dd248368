package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// DefaultSpamPause is how long a number's marketing pauses after a 131048 (spam rate
// limit: too many of its messages were blocked or reported). Meta says not to retry but
// to stop and check quality; a day lets the rating settle before marketing starts again.
const DefaultSpamPause = 24 * time.Hour

// ReasonSpamRateLimit: the number's marketing is paused after a 131048.
const ReasonSpamRateLimit = "spam_rate_limit"

// ErrNotPaused is ResumeMarketing's answer for a number whose marketing is not paused.
var ErrNotPaused = errors.New("engine: the number's marketing is not paused")

// marketingPaused reports whether the number's marketing is paused at now.
func (st NumberState) marketingPaused(now time.Time) bool {
	return st.MarketingPause != "" && (st.MarketingPauseUntil.IsZero() || st.MarketingPauseUntil.After(now))
}

// pauseMarketing starts the number's marketing pause at now, unless one is in force,
// and returns the number's state to store with it. started says it began now.
// sentAt is when the refused message was claimed: an answer to a send claimed before
// the last pause ended (or at that instant) belongs to that pause and starts none.
func (e *Engine) pauseMarketing(alias string, sentAt, now time.Time) (st NumberState, started bool) {
	e.tier.mu.Lock()
	defer e.tier.mu.Unlock()
	st = e.tier.states[alias]
	if st.marketingPaused(now) || !sentAt.After(st.MarketingResumedAt) {
		return st, false
	}
	st.MarketingPause, st.MarketingPausedAt, st.MarketingPauseUntil = ReasonSpamRateLimit, now, time.Time{}
	if e.opts.SpamPause > 0 {
		st.MarketingPauseUntil = now.Add(e.opts.SpamPause)
	}
	st.UpdatedAt = now
	e.tier.states[alias] = st
	return st, true
}

// spamLimited handles a 131048 for m, inside the commit of its outcome: the number's
// marketing pauses (stored with the outcome, reported by OnNumber); a marketing message
// waits for the pause to end, another is retried with the transient backoff (it may be
// the messaging limit's answer, which Meta does not document).
func (d *dispatcher) spamLimited(tx storage.Txn, m *Message, me *MessageError, now time.Time) (time.Time, bool, error) {
	st, started := d.e.pauseMarketing(d.num.Alias, claimedAt(m), now)
	if started {
		b, _ := json.Marshal(st)
		if err := tx.Set(numberStateKey(d.num.PhoneNumberID), b); err != nil {
			return time.Time{}, false, err
		}
		if d.e.opts.OnNumber != nil {
			if err := d.e.opts.OnNumber(tx, d.num, st, d.e.tier.byAlias[d.num.Alias].usage(now).Limit); err != nil {
				return time.Time{}, false, err
			}
		}
		d.pauseStarted.Store(true)
	}
	if m.Category != "marketing" || !st.marketingPaused(now) {
		return d.retryLater(tx, m, me, now)
	}
	m.Error = me
	m.move(Waiting, now)
	m.WaitingReason, m.ETA, m.NextAttemptAt = ReasonSpamRateLimit, st.MarketingPauseUntil, now.Add(holdRecheck)
	if !st.MarketingPauseUntil.IsZero() {
		m.NextAttemptAt = st.MarketingPauseUntil
	}
	return m.NextAttemptAt, false, nil
}

// claimedAt is when m was last claimed for sending.
func claimedAt(m *Message) time.Time {
	for i := len(m.History) - 1; i >= 0; i-- {
		if m.History[i].State == Dispatching {
			return m.History[i].At
		}
	}
	return m.UpdatedAt
}

// afterPause runs after the commit that started a pause: the log, the pause's end, and
// the number's campaigns (which pause with it).
func (d *dispatcher) afterPause() {
	if !d.pauseStarted.Swap(false) {
		return
	}
	st := d.e.stateOf(d.num.Alias)
	d.e.log.Warn("engine: spam rate limit (131048): the number's marketing is paused; check its quality",
		"number", d.num.Alias, "until", st.MarketingPauseUntil)
	d.e.armPauseEnd(d.num.Alias, st)
	d.e.numberChanged(d.num.Alias)
}

// armPauseEnd lifts the marketing pause of st when it ends.
func (e *Engine) armPauseEnd(alias string, st NumberState) {
	if st.MarketingPause == "" || st.MarketingPauseUntil.IsZero() {
		return
	}
	since := st.MarketingPausedAt
	e.clock.AfterFunc(st.MarketingPauseUntil.Sub(e.clock.Now()), func() {
		if e.isClosed() {
			return // the next start ends it
		}
		if err := e.liftMarketingPause(context.Background(), alias, since); err != nil && !errors.Is(err, ErrNotPaused) {
			e.log.Error("engine: end the marketing pause", "number", alias, "err", err)
		}
	})
}

// ResumeMarketing lifts the number's marketing pause now (an operator decided), and
// the messages and campaigns it held go on. ErrNotPaused when there is none.
func (e *Engine) ResumeMarketing(ctx context.Context, alias string) error {
	if _, ok := e.dispatchers[alias]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownNumber, alias)
	}
	return e.liftMarketingPause(ctx, alias, time.Time{})
}

// liftMarketingPause ends the number's marketing pause: the one that began at since,
// or (since zero) whichever is in force.
func (e *Engine) liftMarketingPause(ctx context.Context, alias string, since time.Time) error {
	d := e.dispatchers[alias]
	now := e.clock.Now()
	e.tier.mu.Lock()
	st := e.tier.states[alias]
	if st.MarketingPause == "" || (!since.IsZero() && !st.MarketingPausedAt.Equal(since)) {
		e.tier.mu.Unlock()
		return ErrNotPaused
	}
	st.MarketingPause, st.MarketingPausedAt, st.MarketingPauseUntil, st.UpdatedAt = "", time.Time{}, time.Time{}, now
	st.MarketingResumedAt = now
	e.tier.states[alias] = st
	e.tier.mu.Unlock()
	err := e.db.Commit(ctx, func(tx storage.Txn) error {
		b, _ := json.Marshal(st)
		if err := tx.Set(numberStateKey(d.num.PhoneNumberID), b); err != nil {
			return err
		}
		if e.opts.OnNumber != nil {
			return e.opts.OnNumber(tx, d.num, st, e.tier.byAlias[alias].usage(now).Limit)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: resume marketing of %s: %w", alias, err)
	}
	e.log.Info("engine: the number's marketing pause ended", "number", alias)
	e.numberChanged(alias)
	return nil
}
