package engine

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"kirim/storage"
)

// Customer-service windows: an inbound message opens or extends a 24 h window in which
// free-form messages may be sent; one that came from a click-to-WhatsApp ad or page CTA
// also opens a 72 h free-entry-point window.
const (
	ServiceWindow    = 24 * time.Hour
	EntryPointWindow = 72 * time.Hour
)

// Inbound is one message a customer sent to one of the numbers.
type Inbound struct {
	PhoneNumberID string
	WaID          string
	Name          string
	MessageID     string
	Type          string
	Text          string // text body or button payload, for keyword matching; never logged
	At            time.Time
	Referral      bool
	// Message is the provider's whole inbound message object as received; it is stored
	// as the content of the inbound record. Never logged.
	Message json.RawMessage
	// Context is the wamid the message replies to; ReactionTo the one it reacts to.
	Context, ReactionTo string
	// MediaID is the provider's id of the image, video, audio, document or sticker.
	MediaID string
}

// Contact is what the engine knows of one customer of one number.
type Contact struct {
	PhoneNumberID string    `json:"phone_number_id"`
	WaID          string    `json:"wa_id"`
	Name          string    `json:"name,omitempty"`
	LastInbound   time.Time `json:"last_inbound,omitzero"`
	LastMessageID string    `json:"last_message_id,omitempty"`
	WindowUntil   time.Time `json:"window_until,omitzero"`
	EntryUntil    time.Time `json:"entry_point_until,omitzero"`
	Inbound       int       `json:"inbound"`
	// OptedOut stops marketing messages to the contact (optout.go).
	OptedOut     bool      `json:"opted_out,omitempty"`
	OptSource    string    `json:"opt_source,omitempty"`
	OptChangedAt time.Time `json:"opt_changed_at,omitzero"`
	// MarketingHoldUntil holds marketing messages after the provider's per-user
	// marketing limit (131049).
	MarketingHoldUntil time.Time `json:"marketing_hold_until,omitzero"`
}

func putContact(tx storage.Txn, c *Contact) error {
	b, _ := json.Marshal(c)
	return tx.Set(windowKey(c.PhoneNumberID, c.WaID), b)
}

func windowKey(phoneNumberID, waID string) []byte {
	return storage.Key(storage.PrefixWindow, storage.Str(phoneNumberID), []byte(waID))
}

func inboundSeenKey(id string) []byte {
	return storage.Key(storage.PrefixWebhookState, []byte("in/"), []byte(id))
}

// RecordInbound records customers' messages, opening their windows, and stores each
// with its content as an InboundRecord of the account that owns the number (the
// OnInbound hook sees it in the same transaction). A message id seen before is ignored,
// so a redelivered webhook changes nothing. It returns the inbound messages that were
// new.
func (e *Engine) RecordInbound(ctx context.Context, in []Inbound) ([]Inbound, error) {
	var fresh []Inbound
	err := e.db.Commit(ctx, func(tx storage.Txn) error {
		fresh = fresh[:0]
		for _, ib := range in {
			if ib.MessageID != "" {
				if _, err := tx.Get(inboundSeenKey(ib.MessageID)); err == nil {
					continue
				} else if !errors.Is(err, storage.ErrNotFound) {
					return err
				}
				if err := tx.Set(inboundSeenKey(ib.MessageID), nil); err != nil {
					return err
				}
			}
			c, err := loadContact(tx, ib.PhoneNumberID, ib.WaID)
			if err != nil {
				return err
			}
			if ib.Name != "" {
				c.Name = ib.Name
			}
			c.Inbound++
			if ib.At.After(c.LastInbound) {
				c.LastInbound = ib.At
				c.LastMessageID = ib.MessageID
				c.WindowUntil = ib.At.Add(ServiceWindow)
				if ib.Referral {
					c.EntryUntil = ib.At.Add(EntryPointWindow)
				}
			}
			e.applyKeywords(c, ib)
			if err := putContact(tx, c); err != nil {
				return err
			}
			if _, err := e.storeInbound(tx, ib); err != nil {
				return err
			}
			fresh = append(fresh, ib)
		}
		return nil
	})
	return fresh, err
}

// ContactOf returns what is known of waID on the number (zero values if nothing).
func (e *Engine) ContactOf(phoneNumberID, waID string) (*Contact, error) {
	var c *Contact
	err := e.db.View(func(r storage.Reader) error {
		var err error
		c, err = loadContact(r, phoneNumberID, waID)
		return err
	})
	return c, err
}

func loadContact(r storage.Reader, phoneNumberID, waID string) (*Contact, error) {
	c := &Contact{PhoneNumberID: phoneNumberID, WaID: waID}
	b, err := r.Get(windowKey(phoneNumberID, waID))
	if errors.Is(err, storage.ErrNotFound) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, err
	}
	return c, nil
}

// WindowOpen reports whether a free-form message to c may be sent at now.
func (c *Contact) WindowOpen(now time.Time) bool { return now.Before(c.WindowUntil) }
