package engine

import (
	"context"
	"errors"
	"strings"
	"time"

	"kirim/provider"
	"kirim/storage"
)

// StatusUpdate is one delivery status from the provider.
type StatusUpdate struct {
	WAMID        string
	CallbackData string // biz_opaque_callback_data: our message id
	Status       string // sent, delivered, read, played, failed
	At           time.Time
	RecipientID  string
	Pricing      *provider.Pricing
	Errors       []provider.WebhookError
}

// StatusResult counts what ApplyStatuses did.
type StatusResult struct {
	Applied   int // moved a message
	Duplicate int // named a message but changed nothing (repeat or out of order)
	Orphan    int // named no message Kirim knows
}

var statusState = map[string]State{
	provider.DeliverySent:      Sent,
	provider.DeliveryDelivered: Delivered,
	provider.DeliveryRead:      Read,
	provider.DeliveryPlayed:    Read,
	provider.DeliveryFailed:    Failed,
}

// ApplyStatuses moves messages by their provider statuses in one commit, settling holds:
// a billable delivery captures, a failure or a free pricing type releases. Repeats and
// out-of-order statuses change nothing (a state never moves backwards). Statuses whose
// writes outgrow one transaction are applied in halves, in order: each is idempotent.
func (e *Engine) ApplyStatuses(ctx context.Context, updates []StatusUpdate) (StatusResult, error) {
	res, err := e.applyStatuses(ctx, updates)
	if !errors.Is(err, storage.ErrTxnTooBig) || len(updates) < 2 {
		return res, err
	}
	half := len(updates) / 2
	first, err := e.ApplyStatuses(ctx, updates[:half])
	if err != nil {
		return StatusResult{}, err
	}
	second, err := e.ApplyStatuses(ctx, updates[half:])
	if err != nil {
		return StatusResult{}, err
	}
	return StatusResult{Applied: first.Applied + second.Applied, Duplicate: first.Duplicate + second.Duplicate,
		Orphan: first.Orphan + second.Orphan}, nil
}

func (e *Engine) applyStatuses(ctx context.Context, updates []StatusUpdate) (StatusResult, error) {
	var res StatusResult
	var changed []*Message
	err := e.db.Commit(ctx, func(tx storage.Txn) error {
		res = StatusResult{}
		changed = changed[:0]
		touched := map[string]*Message{}
		for _, u := range updates {
			m, err := e.findForStatus(tx, touched, u)
			if err != nil {
				return err
			}
			if m == nil {
				res.Orphan++
				continue
			}
			prev := m.State
			moved, dirty, err := e.applyOne(tx, m, u)
			if err != nil {
				return err
			}
			if !moved {
				res.Duplicate++
				if dirty { // pricing, wamid or a settlement may still be new
					if err := e.update(tx, m, prev); err != nil {
						return err
					}
				}
				continue
			}
			res.Applied++
			if err := e.update(tx, m, prev); err != nil {
				return err
			}
			if _, seen := touched[m.ID]; !seen {
				changed = append(changed, m)
			}
			touched[m.ID] = m
		}
		return nil
	})
	if err != nil {
		return StatusResult{}, err
	}
	e.notify(changed)
	return res, nil
}

func (e *Engine) findForStatus(tx storage.Txn, touched map[string]*Message, u StatusUpdate) (*Message, error) {
	id := ""
	if strings.HasPrefix(u.CallbackData, "msg_") {
		id = u.CallbackData
	} else if u.WAMID != "" {
		b, err := tx.Get(wamidKey(u.WAMID))
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		id = string(b)
	}
	if id == "" {
		return nil, nil
	}
	if m, ok := touched[id]; ok {
		return m, nil
	}
	m, err := loadMessage(tx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return m, err
}

// applyOne applies u to m; it reports whether the state moved and whether anything
// else of m changed.
func (e *Engine) applyOne(tx storage.Txn, m *Message, u StatusUpdate) (moved, dirty bool, err error) {
	to, ok := statusState[u.Status]
	if !ok {
		return false, false, nil
	}
	if u.Pricing != nil && (m.Pricing == nil || *m.Pricing != *u.Pricing) {
		p := *u.Pricing
		m.Pricing, dirty = &p, true
	}
	if m.WAMID == "" && u.WAMID != "" {
		m.WAMID, dirty = u.WAMID, true
		if err := tx.Set(wamidKey(u.WAMID), []byte(m.ID)); err != nil {
			return false, dirty, err
		}
	}
	if m.WaID == "" && u.RecipientID != "" {
		m.WaID, dirty = u.RecipientID, true
	}
	at := u.At
	if at.IsZero() {
		at = e.clock.Now()
	}
	prev := m.State
	moved = m.move(to, at)
	if moved && prev == Dispatching {
		// The webhook beat the send's own answer: the lease is no longer needed.
		if err := tx.Delete(leaseKey(m.Number, m.LeaseUntil, m.ID)); err != nil {
			return false, dirty, err
		}
		m.LeaseUntil = time.Time{}
	}
	if moved && to == Failed && len(u.Errors) > 0 {
		we := u.Errors[0]
		m.Error = &MessageError{Code: we.Code, Title: we.Title, Class: provider.Classify(we.Code).String()}
		if we.ErrorData != nil {
			m.Error.Detail = we.ErrorData.Details
		} else if we.Message != "" {
			m.Error.Detail = we.Message
		}
	}
	if moved && to == Failed && m.Error != nil && m.Error.Code == provider.CodeMarketingUserLimit {
		// The per-user marketing limit, reported late: skip the recipient's marketing
		// for a day from now, as when the send itself was refused.
		if d, ok := e.dispatchers[m.Number]; ok {
			if err := holdMarketing(tx, d.num.PhoneNumberID, waOf(m), e.clock.Now().Add(MarketingUserHold)); err != nil {
				return false, dirty, err
			}
		}
	}
	// Settle the hold once.
	wasSettled := m.Settled
	switch {
	case m.Settled:
	case m.State == Failed:
		err = e.release(tx, m, "failed")
	case m.Pricing != nil && m.Pricing.Type != "" && m.Pricing.Type != provider.PricingRegular:
		err = e.release(tx, m, m.Pricing.Type)
	case (m.State == Delivered || m.State == Read) && m.Pricing != nil && m.Pricing.Type == provider.PricingRegular:
		err = e.capture(tx, m, m.Pricing.Category)
	}
	return moved, dirty || m.Settled != wasSettled, err
}
