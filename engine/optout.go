package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"kirim/provider"
	"kirim/storage"
)

// Default opt-out and opt-in keywords, matched against the whole inbound text or button
// payload, trimmed and case-folded.
var (
	DefaultOptOutKeywords = []string{"STOP", "BERHENTI", "UNSUBSCRIBE"}
	DefaultOptInKeywords  = []string{"START", "MULAI"}
)

// Sources of an opt-out or opt-in.
const (
	OptSourceKeyword    = "keyword"
	OptSourcePreference = "user_preferences"
	OptSourceAPI        = "api"
)

// MarketingUserHold is how long a recipient's marketing messages are skipped after the
// provider's per-user marketing limit refused one (131049): Meta says to wait a day.
const MarketingUserHold = 24 * time.Hour

// CodeOptedOut is the error code Kirim gives a queued marketing message whose recipient
// opted out before it was sent.
const CodeOptedOut = -4

// CodeTemplateUnusable fails a queued message whose template was disabled or deleted.
const CodeTemplateUnusable = -5

// DefaultOptFiller are words a customer adds around a keyword without changing what
// they ask: "Berhenti ya", "STOP PROMO", "unsubscribe please".
var DefaultOptFiller = []string{"YA", "YAA", "AJA", "SAJA", "DONG", "DEH", "SIH", "KAK", "MIN", "GAN", "PLEASE", "PLS", "PLZ",
	"PROMO", "PROMOSI", "LAGI", "NOW", "THANKS", "MAKASIH", "OK", "OKE"}

// maxKeywordText bounds the text matched: a keyword reply is short; a long message
// that happens to contain one is a conversation.
const maxKeywordText = 64

// keywordSet matches opt keywords: the text, in capitals, with punctuation and emoji
// taken for spaces and the filler words left out, must be exactly one keyword (of one
// or more words). "jangan berhenti kirim info" and "stop by toko kami" are not.
type keywordSet struct {
	words  map[string]bool
	filler map[string]bool
}

func newKeywordSet(words, filler []string) keywordSet {
	k := keywordSet{words: map[string]bool{}, filler: map[string]bool{}}
	for _, w := range filler {
		if w = strings.ToUpper(strings.TrimSpace(w)); w != "" {
			k.filler[w] = true
		}
	}
	for _, w := range words {
		if w = strings.Join(strings.Fields(strings.ToUpper(w)), " "); w != "" {
			k.words[w] = true
		}
	}
	return k
}

func (k keywordSet) match(text string) bool {
	if len(text) > maxKeywordText {
		return false
	}
	fields := strings.FieldsFunc(strings.ToUpper(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	kept := fields[:0]
	for _, f := range fields {
		if !k.filler[f] {
			kept = append(kept, f)
		}
	}
	return len(kept) > 0 && k.words[strings.Join(kept, " ")]
}

// applyKeywords opts c out or in when the inbound text is a configured keyword.
func (e *Engine) applyKeywords(c *Contact, ib Inbound) {
	switch {
	case e.optOut.match(ib.Text):
		setOpt(c, true, OptSourceKeyword, ib.At)
	case e.optIn.match(ib.Text):
		setOpt(c, false, OptSourceKeyword, ib.At)
	}
}

func setOpt(c *Contact, out bool, source string, at time.Time) bool {
	// An older event never overrides a newer decision.
	if !c.OptChangedAt.IsZero() && at.Before(c.OptChangedAt) {
		return false
	}
	changed := c.OptedOut != out
	c.OptedOut, c.OptSource, c.OptChangedAt = out, source, at
	return changed
}

// SetOptOut opts waID out of (out) or back into marketing from every number of
// account: another account's contact with the same phone is its own, and unchanged.
func (e *Engine) SetOptOut(ctx context.Context, account, waID string, out bool, source string) error {
	now := e.clock.Now()
	err := e.db.Commit(ctx, func(tx storage.Txn) error {
		for _, a := range e.order {
			if e.dispatchers[a].num.Account != account {
				continue
			}
			pnid := e.dispatchers[a].num.PhoneNumberID
			c, err := loadContact(tx, pnid, waID)
			if err != nil {
				return err
			}
			setOpt(c, out, source, now)
			if err := putContact(tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: opt-out %t: %w", out, err)
	}
	return nil
}

// ApplyPreferences applies user_preferences webhooks (marketing stop / resume) for the
// number phoneNumberID.
func (e *Engine) ApplyPreferences(ctx context.Context, phoneNumberID string, prefs []provider.UserPreference) error {
	err := e.db.Commit(ctx, func(tx storage.Txn) error {
		for _, p := range prefs {
			if p.WaID == "" || (p.Category != "" && p.Category != "marketing_messages") {
				continue
			}
			var out bool
			switch strings.ToLower(p.Value) {
			case "stop":
				out = true
			case "resume":
			default:
				continue
			}
			at := time.Unix(int64(p.Timestamp), 0).UTC()
			if p.Timestamp <= 0 {
				at = e.clock.Now()
			}
			c, err := loadContact(tx, phoneNumberID, p.WaID)
			if err != nil {
				return err
			}
			setOpt(c, out, OptSourcePreference, at)
			if err := putContact(tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: user preferences: %w", err)
	}
	return nil
}

// holdMarketing records the provider's per-user marketing limit (131049) for the
// recipient wa of the number phoneNumberID: their marketing is skipped until until.
func holdMarketing(tx storage.Txn, phoneNumberID, wa string, until time.Time) error {
	c, err := loadContact(tx, phoneNumberID, wa)
	if err != nil {
		return err
	}
	if until.After(c.MarketingHoldUntil) {
		c.MarketingHoldUntil = until
	}
	return putContact(tx, c)
}
