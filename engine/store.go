package engine

import (
	"errors"
	"fmt"

	"kirim/storage"
)

// ErrNotFound is returned for an unknown message id.
var ErrNotFound = errors.New("engine: message not found")

func loadMessage(r storage.Reader, id string) (*Message, error) {
	b, err := r.Get(msgKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("engine: load %s: %w", id, err)
	}
	var m Message
	if err := decodeMessage(id, b, &m); err != nil {
		return nil, fmt.Errorf("engine: decode %s: %w", id, err)
	}
	return &m, nil
}

// loadPayload reads the provider request body of message id into m. A settled message
// has none (see update).
func loadPayload(r storage.Reader, m *Message) error {
	b, err := r.Get(payloadKey(m.ID))
	if errors.Is(err, storage.ErrNotFound) && m.State.Settled() {
		m.Payload = nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("engine: payload of %s: %w", m.ID, err)
	}
	m.Payload = b
	return nil
}

// putNew writes a message that did not exist, with all its indexes.
func putNew(tx storage.Txn, m *Message) error {
	if err := save(tx, m); err != nil {
		return err
	}
	if err := tx.Set(payloadKey(m.ID), m.Payload); err != nil {
		return err
	}
	for _, k := range [][]byte{
		ixAllKey(m.AccountID, m.ID),
		storage.Key(string(ixStatePrefix(m.AccountID, m.State)), []byte(m.ID)),
		storage.Key(string(ixToPrefix(m.AccountID, m.To)), []byte(m.ID)),
	} {
		if err := tx.Set(k, nil); err != nil {
			return err
		}
	}
	if m.CampaignID != "" {
		if err := tx.Set(storage.Key(string(ixCampaignPrefix(m.CampaignID)), []byte(m.ID)), nil); err != nil {
			return err
		}
	}
	return nil
}

// update writes m after a change from state prev, moving its state index entry, and
// tells the campaign observer in the same transaction.
func (e *Engine) update(tx storage.Txn, m *Message, prev State) error {
	if err := save(tx, m); err != nil {
		return err
	}
	if m.CampaignID != "" && e.opts.Observe != nil {
		if err := e.opts.Observe(tx, m, prev); err != nil {
			return fmt.Errorf("engine: observe %s: %w", m.ID, err)
		}
	}
	if prev == m.State {
		return nil
	}
	if e.uncounts(m, prev) {
		if err := e.uncountMarketing(tx, m); err != nil {
			return err
		}
	}
	if e.opts.OnState != nil {
		if err := e.opts.OnState(tx, m, prev); err != nil {
			return fmt.Errorf("engine: on state %s: %w", m.ID, err)
		}
	}
	// A settled message is never handed to the provider again (a retry is a new message),
	// so its request body goes: a quarter of what a sent message leaves in the store.
	if m.State.Settled() && !prev.Settled() {
		if err := tx.Delete(payloadKey(m.ID)); err != nil {
			return err
		}
	}
	if err := tx.Delete(storage.Key(string(ixStatePrefix(m.AccountID, prev)), []byte(m.ID))); err != nil {
		return err
	}
	if err := tx.Set(storage.Key(string(ixStatePrefix(m.AccountID, m.State)), []byte(m.ID)), nil); err != nil {
		return err
	}
	if prev == Unknown {
		if err := tx.Delete(ixUnknownKey(m.ID)); err != nil {
			return err
		}
	}
	if m.State == Unknown {
		if err := tx.Set(ixUnknownKey(m.ID), nil); err != nil {
			return err
		}
	}
	return nil
}

func save(tx storage.Txn, m *Message) error {
	return tx.Set(msgKey(m.ID), encodeMessage(m))
}
