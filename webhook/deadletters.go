package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// DeadLetter is what the applier gave up on: a whole body that is not a notification
// (Index -1), or one change of a body that cannot be decoded, breaks a limit, or
// failed MaxAttempts times. Listed, it carries the body or the change as received.
type DeadLetter struct {
	ID       string    `json:"id"`      // the body's id, or "<body id>.<index>" for a change
	BodyID   string    `json:"body_id"` // the inbox id of the body it came from
	Index    int       `json:"index"`   // the change's place in the body; -1 for a whole body
	EntryID  string    `json:"entry_id,omitempty"`
	Reason   string    `json:"reason"`
	Attempts int       `json:"attempts,omitempty"`
	At       time.Time `json:"at"`
	// Body and Change are filled from the held body when listed; records written
	// before bodies were held apart carry them.
	Body   []byte          `json:"body,omitempty"`
	Change json.RawMessage `json:"change,omitempty"`
}

// heldChanges reads held bodies for one read, each once, counting the bytes read.
type heldChanges struct {
	r      storage.Reader
	bodies map[string]heldBody
	loaded int
}

type heldBody struct {
	body    []byte
	changes []rawChange
}

func (h *heldChanges) get(id string) (heldBody, error) {
	if b, ok := h.bodies[id]; ok {
		return b, nil
	}
	b, err := h.r.Get(heldKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		b, err = nil, nil
	}
	if err != nil {
		return heldBody{}, err
	}
	hb := heldBody{body: b}
	hb.changes, _ = splitBody(b)
	if h.bodies == nil {
		h.bodies = map[string]heldBody{}
	}
	h.bodies[id] = hb
	h.loaded += len(b)
	return hb, nil
}

// fill sets d's Body or Change from its held body, unless its record carries them.
func (h *heldChanges) fill(d *DeadLetter) error {
	if len(d.Body) > 0 || len(d.Change) > 0 {
		return nil
	}
	hb, err := h.get(d.BodyID)
	if err != nil {
		return err
	}
	switch {
	case d.Index < 0:
		d.Body = hb.body
	case d.Index < len(hb.changes):
		d.Change = hb.changes[d.Index].raw
	}
	return nil
}

// maxListBytes ends a page of dead letters early once it has read this many bytes of
// bodies (at least one letter is listed), so a page of 500 letters of large bodies does
// not take 500 of them into memory.
const maxListBytes = 8 << 20

// DeadLetters lists dead letters, oldest first, after cursor: up to limit, fewer when
// their bodies are large.
func (rc *Receiver) DeadLetters(limit int, cursor string) ([]DeadLetter, string, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	prefix := []byte(storage.PrefixDeadLetter)
	opts := storage.IterOptions{}
	if cursor != "" {
		opts.Start = deadKey(cursor)
	}
	var out []DeadLetter
	next := ""
	err := rc.opts.DB.View(func(r storage.Reader) error {
		held := &heldChanges{r: r}
		size := 0
		return r.Iterate(prefix, opts, func(k, v []byte) (bool, error) {
			if string(k[len(prefix):]) == cursor {
				return true, nil
			}
			if len(out) == limit || held.loaded+size >= maxListBytes {
				next = out[len(out)-1].ID
				return false, nil
			}
			var d DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return false, err
			}
			if err := held.fill(&d); err != nil {
				return false, err
			}
			size += len(v)
			out = append(out, d)
			return true, nil
		})
	})
	return out, next, err
}

// ErrNotFound is returned by Replay for an id that is not in the dead-letter list.
var ErrNotFound = errors.New("webhook: no such dead letter")

// Replay puts a dead letter back in the inbox, for the applier to apply again (after an
// upgrade fixed its cause): a whole body as it was, a change as it was received, in a
// body of its own. It leaves the dead-letter list in the same commit, which also drops
// the held body once nothing else refers to it; if it fails again, it returns there.
func (rc *Receiver) Replay(ctx context.Context, id string) error {
	key := inboxKey(storage.NewID("whk", rc.opts.Clock.Now()))
	err := rc.opts.DB.Commit(ctx, func(tx storage.Txn) error {
		o := &overlay{Txn: tx, local: map[string]bool{}}
		v, err := o.Get(deadKey(id))
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var d DeadLetter
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("dead letter %s: %w", id, err)
		}
		if err := (&heldChanges{r: o}).fill(&d); err != nil {
			return err
		}
		body := d.Body
		if d.Index >= 0 {
			body = nil
			if len(d.Change) > 0 {
				body = changeBody(d.EntryID, d.Change)
			}
		}
		if len(body) == 0 {
			return fmt.Errorf("dead letter %s: its body is no longer stored", id)
		}
		if err := o.Delete(deadKey(id)); err != nil {
			return err
		}
		if err := o.Set(key, body); err != nil {
			return err
		}
		return release(o, d.BodyID)
	})
	if err != nil {
		return fmt.Errorf("webhook: replay %s: %w", id, err)
	}
	rc.lowerCursor(key)
	rc.poke()
	rc.log.Info("webhook: dead letter replayed", "id", id)
	return nil
}

// InboxDepth counts bodies stored but not yet applied.
func (rc *Receiver) InboxDepth() (int, error) {
	return rc.count([]byte(storage.PrefixInbox))
}

// DeadCount counts the dead letters.
func (rc *Receiver) DeadCount() (int, error) {
	return rc.count([]byte(storage.PrefixDeadLetter))
}

// RetryCount counts the changes waiting for a retry.
func (rc *Receiver) RetryCount() (int, error) {
	return rc.count(retryPrefix())
}

func (rc *Receiver) count(prefix []byte) (int, error) {
	n := 0
	err := rc.opts.DB.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func([]byte, []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	return n, err
}

// InboxLag is how long the oldest body not yet applied has waited (0 when the inbox is
// empty): the applier's lag behind the provider.
func (rc *Receiver) InboxLag() (time.Duration, error) {
	rc.mu.Lock()
	from := rc.cursor
	rc.mu.Unlock()
	prefix := []byte(storage.PrefixInbox)
	var lag time.Duration
	err := rc.opts.DB.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{Start: from, KeysOnly: true}, func(k, _ []byte) (bool, error) {
			if at, ok := storage.IDTime(string(k[len(prefix):])); ok {
				lag = max(rc.opts.Clock.Now().Sub(at), 0)
			}
			return false, nil
		})
	})
	return lag, err
}
