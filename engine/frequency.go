package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"kirim/storage"
)

// Frequency caps on marketing: a contact (an account's recipient, whichever of the
// account's numbers sends) gets at most Options.MarketingPerDay marketing templates in
// any rolling 24 h and Options.MarketingPerWeek in any rolling 7 days (0: no cap). A
// send counts when it is handed to the provider, and stops counting if it fails or is
// cancelled before it was delivered, so a refused send does not use the contact's
// allowance. One over the cap is not sent: POST /v1/messages refuses it (422
// frequency_capped), a queued one fails with CodeFrequencyCapped, and a campaign skips
// the recipient. Meta's own per-user marketing limit (131049) is handled alike: the
// refused message fails (class retry_after_24h) and the contact's other marketing
// templates are skipped for MarketingUserHold (CodeMarketingUserHold).

// Codes Kirim gives a marketing message it did not send for the contact's sake.
const (
	CodeFrequencyCapped   = -6 // over the marketing frequency cap
	CodeMarketingUserHold = -7 // within a day of the provider's per-user marketing limit (131049)
)

// Classes of those failures; also the 422 codes and the campaigns' skip reasons.
const (
	ClassFrequencyCapped    = "frequency_capped"
	ClassMarketingUserLimit = "marketing_user_limit"
)

// frequencyWeek is the longer of the two cap windows.
const frequencyWeek = 7 * 24 * time.Hour

// freqRecord is a contact's recent marketing sends, oldest first: at most as many as
// the larger cap, within the longest window in use.
type freqRecord struct {
	Sends []freqSend `json:"s"`
}

type freqSend struct {
	At int64  `json:"t"` // unix ns
	ID string `json:"m"`
}

func freqKey(account, wa string) []byte {
	return storage.Key(storage.PrefixNumber, []byte("f/"), storage.Str(account), []byte(wa))
}

func (e *Engine) capsOn() bool { return e.opts.MarketingPerDay > 0 || e.opts.MarketingPerWeek > 0 }

func loadFreq(r storage.Reader, account, wa string) (freqRecord, error) {
	var rec freqRecord
	b, err := r.Get(freqKey(account, wa))
	if errors.Is(err, storage.ErrNotFound) {
		return rec, nil
	}
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("engine: frequency record of %s: %w", wa, err)
	}
	return rec, nil
}

// capped reports whether one more marketing send at now, other than id (a message
// already counted is gated again after a back-off), would exceed a cap.
func (e *Engine) capped(rec freqRecord, id string, now time.Time) bool {
	day, week := 0, 0
	for _, s := range rec.Sends {
		if s.ID == id {
			return false
		}
		if age := now.UnixNano() - s.At; age < int64(LimitWindow) {
			day++
			week++
		} else if age < int64(frequencyWeek) {
			week++
		}
	}
	return (e.opts.MarketingPerDay > 0 && day >= e.opts.MarketingPerDay) ||
		(e.opts.MarketingPerWeek > 0 && week >= e.opts.MarketingPerWeek)
}

// countMarketing counts m, handed to the provider at now, against its contact's caps.
func (e *Engine) countMarketing(tx storage.Txn, m *Message, now time.Time) error {
	rec, err := loadFreq(tx, m.AccountID, waOf(m))
	if err != nil {
		return err
	}
	if slices.ContainsFunc(rec.Sends, func(s freqSend) bool { return s.ID == m.ID }) {
		return nil
	}
	rec.Sends = append(rec.Sends, freqSend{At: now.UnixNano(), ID: m.ID})
	return e.putFreq(tx, m.AccountID, waOf(m), rec, now)
}

// uncountMarketing takes back m's count: it failed or was cancelled undelivered.
func (e *Engine) uncountMarketing(tx storage.Txn, m *Message) error {
	rec, err := loadFreq(tx, m.AccountID, waOf(m))
	if err != nil {
		return err
	}
	i := slices.IndexFunc(rec.Sends, func(s freqSend) bool { return s.ID == m.ID })
	if i < 0 {
		return nil
	}
	rec.Sends = slices.Delete(rec.Sends, i, i+1)
	return e.putFreq(tx, m.AccountID, waOf(m), rec, e.clock.Now())
}

// putFreq stores rec without what no cap can read any more.
func (e *Engine) putFreq(tx storage.Txn, account, wa string, rec freqRecord, now time.Time) error {
	window := LimitWindow
	if e.opts.MarketingPerWeek > 0 {
		window = frequencyWeek
	}
	keep := max(e.opts.MarketingPerDay, e.opts.MarketingPerWeek, 1)
	from := now.Add(-window).UnixNano()
	rec.Sends = slices.DeleteFunc(rec.Sends, func(s freqSend) bool { return s.At <= from })
	if n := len(rec.Sends); n > keep {
		rec.Sends = rec.Sends[n-keep:]
	}
	if len(rec.Sends) == 0 {
		return tx.Delete(freqKey(account, wa))
	}
	b, _ := json.Marshal(rec)
	return tx.Set(freqKey(account, wa), b)
}

// MarketingBlock reports why a marketing template from the number phoneNumberID of
// account to wa would not be sent now: ClassFrequencyCapped, ClassMarketingUserLimit
// (within a day of a 131049 for that contact), or "".
func (e *Engine) MarketingBlock(account, phoneNumberID, wa string) (string, error) {
	now := e.clock.Now()
	var reason string
	err := e.db.View(func(r storage.Reader) error {
		ct, err := loadContact(r, phoneNumberID, wa)
		if err != nil {
			return err
		}
		if ct.MarketingHoldUntil.After(now) {
			reason = ClassMarketingUserLimit
			return nil
		}
		if !e.capsOn() {
			return nil
		}
		rec, err := loadFreq(r, account, wa)
		if err != nil {
			return err
		}
		if e.capped(rec, "", now) {
			reason = ClassFrequencyCapped
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("engine: marketing block of %s: %w", wa, err)
	}
	return reason, nil
}

// frequencyGate is the contact's part of the gate for a marketing template: a fail
// verdict when the contact may not get it now, else whether to count it once claimed.
func (e *Engine) frequencyGate(tx storage.Txn, m *Message, ct *Contact, now time.Time) (*MessageError, bool, error) {
	if ct.MarketingHoldUntil.After(now) {
		return &MessageError{Code: CodeMarketingUserHold, Class: ClassMarketingUserLimit,
			Title: "the recipient reached the provider's per-user marketing limit (131049) within the last day"}, false, nil
	}
	if !e.capsOn() {
		return nil, false, nil
	}
	rec, err := loadFreq(tx, m.AccountID, waOf(m))
	if err != nil {
		return nil, false, err
	}
	if e.capped(rec, m.ID, now) {
		return &MessageError{Code: CodeFrequencyCapped, Class: ClassFrequencyCapped,
			Title: "the recipient had their share of marketing messages (engine.marketing_per_day / marketing_per_week)"}, false, nil
	}
	return nil, true, nil
}

// uncounts reports whether a marketing message moving from prev to m.State stops
// counting: it failed (other than by the unknown policy, which may have sent it) or was
// cancelled, after it was counted at a claim.
func (e *Engine) uncounts(m *Message, prev State) bool {
	if !e.capsOn() || m.Category != "marketing" || m.Type != "template" || prev == m.State {
		return false
	}
	switch m.State {
	case Cancelled:
		return true
	case Failed:
		return m.Error == nil || m.Error.Code != CodeUnknownTimeout
	}
	return false
}
