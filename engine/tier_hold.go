package engine

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Number statuses, as the provider reports them (GET /{phone-number-id} status, the
// legacy FLAGGED / UNFLAGGED webhooks) and WhatsApp Manager shows them.
const (
	StatusConnected    = "CONNECTED"
	StatusPending      = "PENDING"
	StatusOffline      = "OFFLINE"
	StatusFlagged      = "FLAGGED"
	StatusRestricted   = "RESTRICTED"
	StatusDisconnected = "DISCONNECTED"
	StatusBanned       = "BANNED"
	StatusDeleted      = "DELETED"
	StatusMigrated     = "MIGRATED"
)

// What each status does to sends (README, "Numbers: status, quality, limits"):
//
//   - CONNECTED (and RATE_LIMITED, UNKNOWN or none): everything goes.
//   - PENDING: the number is in review or not registered yet: nothing is sent. Every
//     message waits (number_pending), campaigns on it pause with that reason, and
//     both go on by themselves once the number is CONNECTED.
//   - OFFLINE, DISCONNECTED, BANNED, DELETED, MIGRATED: the number cannot send (review
//     failed, registration cancelled, the number moved away): as PENDING, with
//     number_offline. A message held so can be cancelled.
//   - FLAGGED: quality is low and the limit is at risk of a downgrade. Marketing
//     templates wait (number_flagged) and marketing campaigns pause, so the number's
//     quality can recover; utility and authentication templates, and every message
//     inside an open window, still go.
//   - RESTRICTED: the number may not start conversations: templates outside the
//     customer's window wait (number_restricted) and campaigns pause; replies inside
//     an open window still go.
//
// Quality RED holds marketing templates (quality_red) under any status, and so does a
// spam rate limit (131048: spam_rate_limit) for Options.SpamPause or until an operator
// resumes the number's marketing (spampause.go).

// statusHold is the reason every send of a number in status waits, or "".
func statusHold(status string) string {
	switch strings.ToUpper(status) {
	case StatusPending:
		return ReasonNumberPending
	case StatusOffline, StatusDisconnected, StatusBanned, StatusDeleted, StatusMigrated:
		return ReasonNumberOffline
	}
	return ""
}

// holdRecheck is how long a message held by the number's standing waits before it is
// looked at again. The standing changes only by a webhook, a poll or an operator, and
// each of those re-plans the held messages at once (replan.go): this is a safety net.
const holdRecheck = time.Hour

// bizRestricted reports whether the account's restriction of business-initiated
// messaging is in force at now.
func (st NumberState) bizRestricted(now time.Time) bool {
	return st.Restriction == "RESTRICTED_BIZ_INITIATED_MESSAGING" && (st.RestrictedT.IsZero() || st.RestrictedT.After(now))
}

// SendHold reports why the number holds the business-initiated templates of category
// now, "" when it does not, and until when the hold lasts (zero: until the provider,
// or an operator, says otherwise). A campaign pauses with this reason and resumes when
// it is gone. The messaging limit and the quality rating are not holds: the limit only
// paces, and a campaign paused for a RED rating waits for its operator.
func (e *Engine) SendHold(alias, category string) (string, time.Time) {
	if _, ok := e.dispatchers[alias]; !ok {
		return "", time.Time{}
	}
	st := e.stateOf(alias)
	now := e.clock.Now()
	if r := statusHold(st.Status); r != "" {
		return r, time.Time{}
	}
	if strings.ToUpper(st.Status) == StatusRestricted {
		return ReasonNumberRestricted, time.Time{}
	}
	if st.bizRestricted(now) {
		return ReasonAccountRestricted, st.RestrictedT
	}
	if category == "marketing" && st.marketingPaused(now) {
		return ReasonSpamRateLimit, st.MarketingPauseUntil
	}
	if category == "marketing" && strings.ToUpper(st.Status) == StatusFlagged {
		return ReasonNumberFlagged, time.Time{}
	}
	return "", time.Time{}
}

// liftedHolds are the waiting reasons of the number's standing that do not hold at now,
// with tier_limit: the messages waiting for them are looked at again after a change.
func (e *Engine) liftedHolds(alias string, now time.Time) map[string]bool {
	st := e.stateOf(alias)
	status := strings.ToUpper(st.Status)
	held := statusHold(status)
	return map[string]bool{
		ReasonTierLimit:         true,
		ReasonNumberOffline:     held != ReasonNumberOffline,
		ReasonNumberPending:     held != ReasonNumberPending,
		ReasonNumberFlagged:     status != StatusFlagged,
		ReasonNumberRestricted:  status != StatusRestricted,
		ReasonQualityRed:        st.Quality != "RED",
		ReasonAccountRestricted: !st.bizRestricted(now),
		ReasonSpamRateLimit:     !st.marketingPaused(now),
	}
}

// armRestrictionEnd tells the number's campaigns when the account's restriction of st
// runs out (the state needs no change: the gate reads the expiry).
func (e *Engine) armRestrictionEnd(alias string, st NumberState) {
	now := e.clock.Now()
	if st.Restriction == "" || st.RestrictedT.IsZero() || !st.RestrictedT.After(now) {
		return
	}
	until := st.RestrictedT
	e.clock.AfterFunc(until.Sub(now), func() {
		if cur := e.stateOf(alias); !e.isClosed() && cur.Restriction == st.Restriction && cur.RestrictedT.Equal(until) {
			e.numberChanged(alias)
		}
	})
}

// armHolds, at start, ends the pauses that ran out while Kirim was stopped and arms
// the end of the others and of the restrictions.
func (e *Engine) armHolds(ctx context.Context) error {
	now := e.clock.Now()
	for _, a := range e.order {
		st := e.stateOf(a)
		e.armRestrictionEnd(a, st)
		switch {
		case st.MarketingPause == "":
		case !st.marketingPaused(now):
			if err := e.liftMarketingPause(ctx, a, st.MarketingPausedAt); err != nil && !errors.Is(err, ErrNotPaused) {
				return err
			}
		default:
			e.armPauseEnd(a, st)
		}
	}
	return nil
}
