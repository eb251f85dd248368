package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kirim/provider"
	"kirim/storage"
)

// SubmitRequest is one message to accept.
type SubmitRequest struct {
	// Message carries AccountID, Number, To, Type, Template, Category, CallbackData,
	// CampaignID. The engine fills ID, state and times.
	Message *Message
	// Send is the provider request; the engine sets To and BizOpaqueCallbackData.
	Send *provider.Message
	// IdempotencyKey and RequestHash make a retry of the same request answer the same.
	IdempotencyKey string
	RequestHash    []byte
	// Render produces the response stored for idempotent replays.
	Render func(*Message) ([]byte, error)
}

// SubmitResult is what Submit accepted (or replayed).
type SubmitResult struct {
	Message  *Message
	Response []byte
	Replayed bool
}

// Submit durably queues a message with its hold: when it returns nil the message is in
// storage, synced. A repeated idempotency key with the same request hash returns the
// first answer; with a different hash, ErrIdempotencyConflict.
func (e *Engine) Submit(ctx context.Context, req SubmitRequest) (*SubmitResult, error) {
	m := req.Message
	if m.Number == "" {
		m.Number = e.defaultNum
	}
	if !e.HasNumber(m.Number) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNumber, m.Number)
	}
	if e.isClosed() {
		return nil, ErrClosed
	}
	now := e.clock.Now()
	if err := e.prepare(m, req.Send, now); err != nil {
		return nil, err
	}
	m.IdempotencyKey = req.IdempotencyKey

	var res SubmitResult
	err := e.db.Commit(ctx, func(tx storage.Txn) error {
		res = SubmitResult{}
		if req.IdempotencyKey != "" {
			b, err := tx.Get(idemKey(m.AccountID, req.IdempotencyKey))
			if err == nil {
				rec, err := decodeIdem(b)
				if err != nil {
					return err
				}
				if !bytes.Equal(rec.Hash, req.RequestHash) {
					return ErrIdempotencyConflict
				}
				prev, err := loadMessage(tx, rec.MessageID)
				if err != nil {
					return err
				}
				res = SubmitResult{Message: prev, Response: rec.Response, Replayed: true}
				return nil
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		if err := e.put(tx, m); err != nil {
			return err
		}
		res.Message = m
		if req.Render != nil {
			out, err := req.Render(m)
			if err != nil {
				return err
			}
			res.Response = out
		}
		if req.IdempotencyKey != "" {
			rec := encodeIdem(idemRecord{Hash: req.RequestHash, MessageID: m.ID, Response: res.Response, CreatedAt: now})
			if err := tx.Set(idemKey(m.AccountID, req.IdempotencyKey), rec); err != nil {
				return err
			}
			if err := tx.Set(idemExpiryKey(now, m.AccountID, req.IdempotencyKey), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !res.Replayed {
		e.dispatchers[m.Number].wake(now)
	}
	return &res, nil
}

// prepare gives a new message its id, first state and provider payload.
func (e *Engine) prepare(m *Message, send *provider.Message, now time.Time) error {
	m.ID = storage.NewID("msg", now)
	m.State = Queued
	m.History = []StateChange{{State: Queued, At: now}}
	m.CreatedAt, m.UpdatedAt, m.NextAttemptAt = now, now, now
	body := *send
	body.MessagingProduct = "whatsapp"
	body.RecipientType = "individual"
	body.To = m.To
	body.BizOpaqueCallbackData = m.ID
	payload, err := json.Marshal(&body)
	if err != nil {
		return fmt.Errorf("engine: encode payload: %w", err)
	}
	m.Payload = payload
	return nil
}

// put holds the price of a prepared message and writes it to the queue.
func (e *Engine) put(tx storage.Txn, m *Message) error {
	if err := e.opts.Biller.Hold(tx, m); err != nil {
		return err
	}
	if err := putNew(tx, m); err != nil {
		return err
	}
	if e.opts.OnState != nil {
		if err := e.opts.OnState(tx, m, ""); err != nil {
			return fmt.Errorf("engine: on state %s: %w", m.ID, err)
		}
	}
	return tx.Set(queueKey(m.Number, m.NextAttemptAt, m.ID), nil)
}

// Enqueue queues a message inside the caller's transaction, with its hold, so a
// batch of campaign messages commits together with the campaign's own records. The
// message carries AccountID, Number, To, Type, Template, Category and CampaignID; the
// engine fills the rest. After the commit the caller calls Wake for the number. A
// refused hold (the account cannot pay) returns the biller's error and writes nothing
// of the message.
func (e *Engine) Enqueue(tx storage.Txn, m *Message, send *provider.Message) error {
	if m.Number == "" {
		m.Number = e.defaultNum
	}
	if !e.HasNumber(m.Number) {
		return fmt.Errorf("%w: %q", ErrUnknownNumber, m.Number)
	}
	if e.isClosed() {
		return ErrClosed
	}
	if err := e.prepare(m, send, e.clock.Now()); err != nil {
		return err
	}
	return e.put(tx, m)
}

// Wake tells the number's dispatcher that messages were queued for it by Enqueue in a
// commit that began at since (read from the engine's clock before the commit). The
// dispatcher scans its queue from a cursor and wakes from there; a message queued at a
// time before the cursor would never be scanned, so the wake must not come later than
// the message's own time: the time after the commit can be, the time before it cannot.
func (e *Engine) Wake(alias string, since time.Time) {
	if d, ok := e.dispatchers[alias]; ok {
		d.wake(since)
	}
}
