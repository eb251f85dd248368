package engine

import (
	"errors"
	"math"
	"time"

	"kirim/provider"
	"kirim/storage"
)

// outcome applies one send result to m. It returns when to queue m again (zero: not).
func (d *dispatcher) outcome(tx storage.Txn, m *Message, r result, now time.Time) (time.Time, bool, error) {
	m.LeaseUntil = time.Time{}
	if r.err == nil {
		m.Attempts++
		m.Error = nil
		if len(r.resp.Messages) > 0 {
			m.WAMID = r.resp.Messages[0].ID
			if err := tx.Set(wamidKey(m.WAMID), []byte(m.ID)); err != nil {
				return time.Time{}, false, err
			}
		}
		if len(r.resp.Contacts) > 0 && r.resp.Contacts[0].WaID != "" {
			m.WaID = r.resp.Contacts[0].WaID
		}
		to := Sent
		if len(r.resp.Messages) > 0 && r.resp.Messages[0].MessageStatus == provider.StatusHeldForQualityAssessment {
			to = Held
		}
		// A webhook may have moved it further already; states never go back.
		m.move(to, now)
		return time.Time{}, false, nil
	}
	if m.State != Dispatching {
		// The status webhook settled it while the call was out; keep what it said.
		return time.Time{}, false, nil
	}
	if errors.Is(r.err, errNotMarked) {
		d.pair.forget(waOf(m), now)
		return d.retryLater(tx, m, &MessageError{Code: provider.CodeGeneric, Title: r.err.Error(), Class: provider.RetryLater.String()}, now)
	}
	pe, isProvider := provider.AsError(r.err)
	if !isProvider || !provider.IsNotSent(r.err) {
		if provider.IsNotSent(r.err) {
			d.pair.forget(waOf(m), now)
			return d.retryLater(tx, m, &MessageError{Code: provider.CodeGeneric, Title: r.err.Error(), Class: provider.RetryLater.String()}, now)
		}
		// The request may have reached the provider: never send it again blindly.
		m.Error = &MessageError{Title: r.err.Error(), Class: "unknown"}
		m.move(Unknown, now)
		return time.Time{}, false, nil
	}
	me := &MessageError{Code: pe.Code, Title: pe.Title, Detail: pe.Details, Class: pe.Class().String()}
	d.pair.forget(waOf(m), now)
	if pe.Code == provider.CodeSpamRate {
		return d.spamLimited(tx, m, me, now)
	}
	switch pe.Class() {
	case provider.Throttled:
		m.Throttled++
		m.Error = me
		wait := d.e.jitter(time.Second)
		if pe.Code == provider.CodePairRate {
			// Meta: retry the same user after 4^n seconds. Only this recipient backs
			// off; the number's pace is not at fault.
			wait = time.Duration(math.Pow(4, float64(min(m.Throttled, 5)))) * time.Second
			d.pair.push(waOf(m), now.Add(wait))
			m.move(Waiting, now)
			m.WaitingReason, m.NextAttemptAt = ReasonPairRate, now.Add(wait)
			m.ETA = m.NextAttemptAt
			return m.NextAttemptAt, false, nil
		}
		m.move(Queued, now)
		m.NextAttemptAt = now.Add(wait)
		return m.NextAttemptAt, true, nil
	case provider.RetryLater:
		return d.retryLater(tx, m, me, now)
	case provider.RetryAfter24h:
		// The recipient's per-user marketing limit: Meta fails the message, and a retry
		// within a day may block the user. It fails (a campaign's retry may send it
		// again later), and the recipient's other marketing is skipped for a day.
		m.Error = me
		m.move(Failed, now)
		if err := d.e.release(tx, m, "failed"); err != nil {
			return time.Time{}, false, err
		}
		return time.Time{}, false, holdMarketing(tx, d.num.PhoneNumberID, waOf(m), now.Add(MarketingUserHold))
	default:
		if pe.Class() == provider.StopAndAlert {
			d.e.log.Error("engine: provider refuses this number's sends; check the token and the account", "number", d.num.Alias, "code", pe.Code, "title", pe.Title)
		}
		m.Error = me
		m.move(Failed, now)
		return time.Time{}, false, d.e.release(tx, m, "failed")
	}
}

func (d *dispatcher) retryLater(tx storage.Txn, m *Message, me *MessageError, now time.Time) (time.Time, bool, error) {
	m.Attempts++
	m.Error = me
	if m.Attempts >= d.e.opts.MaxAttempts {
		m.move(Failed, now)
		return time.Time{}, false, d.e.release(tx, m, "failed")
	}
	m.move(Queued, now)
	m.NextAttemptAt = now.Add(d.e.jitter(backoff(m.Attempts)))
	return m.NextAttemptAt, false, nil
}

// backoff is the base delay before the attempt after attempt n: 2 s doubling, capped at
// 5 minutes.
func backoff(n int) time.Duration {
	d := 2 * time.Second << min(n-1, 10)
	return min(d, 5*time.Minute)
}
