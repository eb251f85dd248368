package ledger

import (
	"errors"
	"fmt"

	"kirim/storage"
)

// Charging periods: under legacy rules a charged message opens a 24 h conversation
// with its recipient in its category, under muv rules it counts its recipient for the
// month; later messages inside the period are free. A period is opened when its first
// message is held, so a burst is priced right at once, and closed again when that
// message is released (failed, expired): an undelivered message opened nothing. A
// capture of a message priced free re-checks its period, so a message is charged once
// per period whatever order the provider's reports arrive in.

// openPeriod records the period h opens, when its rules have periods.
func openPeriod(tx storage.Txn, h *Hold, rules string) error {
	if h.Recipient == "" {
		return nil
	}
	switch rules {
	case RulesLegacy:
		until := h.At.Add(ConversationLength).UnixNano()
		if err := putInt(tx, conversationKey(h.Account, h.Recipient, h.Category), until); err != nil {
			return fmt.Errorf("open conversation: %w", err)
		}
	case RulesMUV:
		if err := tx.Set(muvKey(h.Account, h.Month, h.Recipient), []byte(h.ID)); err != nil {
			return fmt.Errorf("count unique user: %w", err)
		}
	}
	return nil
}

// closePeriod undoes openPeriod for a released hold, when the period is still the one
// h opened (a later message may have opened a newer conversation).
func (l *Ledger) closePeriod(tx storage.Txn, h *Hold, acct *Account) error {
	if h.Recipient == "" {
		return nil
	}
	switch l.holdRules(h, acct) {
	case RulesLegacy:
		k := conversationKey(h.Account, h.Recipient, h.Category)
		until, found, err := lookupInt(tx, k)
		if err != nil {
			return fmt.Errorf("read conversation: %w", err)
		}
		if found && until == h.At.Add(ConversationLength).UnixNano() {
			if err := tx.Delete(k); err != nil {
				return fmt.Errorf("close conversation: %w", err)
			}
		}
	case RulesMUV:
		k := muvKey(h.Account, h.Month, h.Recipient)
		v, err := tx.Get(k)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read unique user: %w", err)
		}
		if string(v) == h.ID {
			if err := tx.Delete(k); err != nil {
				return fmt.Errorf("uncount unique user: %w", err)
			}
		}
	}
	return nil
}

// reprice is what capturing h in category charges when that is not simply its held
// amount: the provider re-categorised it, or charged a message the hold priced free.
// Under legacy and muv rules a message inside an open period of that category (or
// month) is charged nothing, and one outside any opens a period; otherwise the
// message is priced again as billable at its own time.
func (l *Ledger) reprice(tx storage.Txn, acct *Account, h *Hold, category, rules string) (int64, error) {
	if h.Recipient != "" {
		switch rules {
		case RulesLegacy:
			k := conversationKey(acct.ID, h.Recipient, category)
			until, _, err := lookupInt(tx, k)
			if err != nil {
				return 0, fmt.Errorf("read conversation: %w", err)
			}
			if h.At.UnixNano() < until {
				return 0, nil
			}
			price, err := l.billable(tx, acct, h, category)
			if err != nil {
				return 0, err
			}
			return price, putInt(tx, k, h.At.Add(ConversationLength).UnixNano())
		case RulesMUV:
			counted, err := (storeState{r: tx, acct: acct}).userCounted(h.Recipient, h.Month)
			if err != nil || counted {
				return 0, err
			}
			price, err := l.billable(tx, acct, h, category)
			if err != nil {
				return 0, err
			}
			return price, openPeriod(tx, h, RulesMUV)
		}
	}
	return l.billable(tx, acct, h, category)
}

// billable prices h as a charged message of category at its own time.
func (l *Ledger) billable(tx storage.Txn, acct *Account, h *Hold, category string) (int64, error) {
	req := QuoteRequest{Account: acct.ID, Market: h.Market, Category: category, ContentType: h.ContentType, Recipient: h.Recipient, At: h.At}
	q, err := l.quote(tx, acct, req, true)
	if err != nil {
		return 0, fmt.Errorf("reprice as %s: %w", category, err)
	}
	return q.Amount, nil
}

// holdRules are the rules that priced h. Holds written before the rules were kept
// take those of the card in force at the message's time.
func (l *Ledger) holdRules(h *Hold, acct *Account) string {
	if h.Rules != "" {
		return h.Rules
	}
	if c, ok := l.card(acct.Currency, h.At); ok && c.Rules != "" {
		return c.Rules
	}
	return l.rules
}

// counter is the volume counter h counts in while held.
func (h *Hold) counter() string {
	if h.Volume != "" {
		return h.Volume
	}
	return h.Category
}

// capturedCounter is the volume counter h counts in once captured in category.
func (h *Hold) capturedCounter(category string) string {
	if h.Volume == volumeAll {
		return volumeAll
	}
	return category
}

// positionState prices a hold of a campaign run at the next volume position its
// reserve claimed at launch, which is where the run's quote priced it.
type positionState struct {
	pricingState
	rv *Reserve
}

func (s positionState) volume(counter, month string) (int64, error) {
	if p := s.rv.Positions; counter == p.Volume && month == p.Month && s.rv.PositionsUsed < p.Count {
		return p.From + s.rv.PositionsUsed, nil
	}
	return s.pricingState.volume(counter, month)
}
