package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"kirim/engine"
	"kirim/provider"
	"kirim/storage"
)

// Applier receives what the inbox holds, parsed. The engine handles statuses and
// inbound messages; Other gets every other change (templates, number and account
// updates), and may be nil.
type Applier struct {
	Statuses func(ctx context.Context, u []engine.StatusUpdate) error
	Inbound  func(ctx context.Context, in []engine.Inbound) error
	// Preferences receives user_preferences (marketing stop / resume).
	Preferences func(ctx context.Context, phoneNumberID string, prefs []provider.UserPreference) error
	// Other receives any other change: its entry (WABA) id, field and decoded value
	// (*provider.UnknownChange for fields Kirim does not know, which it may skip).
	Other func(ctx context.Context, entryID, field string, value any) error
}

// Start runs the applier until ctx ends.
func (rc *Receiver) Start(ctx context.Context) {
	go func() {
		defer close(rc.done)
		for {
			n, err := rc.ApplyPending(ctx)
			if err != nil && ctx.Err() == nil {
				rc.log.Error("webhook: apply", "err", err)
			}
			if n > 0 && err == nil {
				continue
			}
			fired := make(chan struct{})
			t := rc.opts.Clock.AfterFunc(pollEvery, func() { close(fired) })
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-rc.wake:
			case <-fired:
			}
			t.Stop()
		}
	}()
}

// Wait blocks until the applier started by Start has stopped.
func (rc *Receiver) Wait() { <-rc.done }

type inboxEntry struct {
	key  []byte
	id   string
	body []byte
}

// ApplyPending applies up to one batch of inbox entries, oldest first, and removes them
// from the inbox. A body that cannot be parsed goes to the dead-letter list. It returns
// how many entries it took.
func (rc *Receiver) ApplyPending(ctx context.Context) (int, error) {
	var batch []inboxEntry
	prefix := []byte(storage.PrefixInbox)
	rc.mu.Lock()
	from := rc.cursor
	rc.mu.Unlock()
	err := rc.opts.DB.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{Start: from}, func(k, v []byte) (bool, error) {
			batch = append(batch, inboxEntry{key: bytes.Clone(k), id: string(k[len(prefix):]), body: bytes.Clone(v)})
			return len(batch) < rc.opts.Batch, nil
		})
	})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	var (
		statuses []engine.StatusUpdate
		inbound  []engine.Inbound
		dead     = map[string]string{}
		others   []func() error
		prefs    []func() error
	)
	for _, ent := range batch {
		n, err := provider.ParseNotification(ent.body)
		if err != nil {
			dead[ent.id] = err.Error()
			continue
		}
		var perr error
		for _, entry := range n.Entry {
			for _, ch := range entry.Changes {
				v, err := provider.DecodeChange(ch)
				if err != nil {
					perr = fmt.Errorf("entry %s field %s: %w", entry.ID, ch.Field, err)
					break
				}
				switch val := v.(type) {
				case *provider.MessagesValue:
					pid := val.Metadata.PhoneNumberID
					statuses = append(statuses, toStatusUpdates(val.Statuses)...)
					inbound = append(inbound, toInbound(pid, val)...)
					if len(val.UserPreferences) > 0 && rc.opts.Apply.Preferences != nil {
						up := val.UserPreferences
						prefs = append(prefs, func() error { return rc.opts.Apply.Preferences(ctx, pid, up) })
					}
				default:
					if rc.opts.Apply.Other != nil {
						entryID, field := entry.ID, ch.Field
						others = append(others, func() error { return rc.opts.Apply.Other(ctx, entryID, field, val) })
					}
				}
			}
			if perr != nil {
				break
			}
		}
		if perr != nil {
			dead[ent.id] = perr.Error()
		}
	}
	// Apply in order of dependence: inbound first (windows), then statuses, then the
	// rest. Each step is idempotent, so a crash before the inbox entries are removed only
	// means they are applied again.
	if len(inbound) > 0 && rc.opts.Apply.Inbound != nil {
		if err := rc.opts.Apply.Inbound(ctx, inbound); err != nil {
			return 0, fmt.Errorf("webhook: inbound: %w", err)
		}
	}
	if len(statuses) > 0 && rc.opts.Apply.Statuses != nil {
		if err := rc.opts.Apply.Statuses(ctx, statuses); err != nil {
			return 0, fmt.Errorf("webhook: statuses: %w", err)
		}
	}
	for _, f := range append(prefs, others...) {
		if err := f(); err != nil {
			return 0, fmt.Errorf("webhook: apply: %w", err)
		}
	}
	now := rc.opts.Clock.Now()
	err = rc.opts.DB.Commit(ctx, func(tx storage.Txn) error {
		for _, ent := range batch {
			if err := tx.Delete(ent.key); err != nil {
				return err
			}
			if reason, bad := dead[ent.id]; bad {
				rec, _ := json.Marshal(DeadLetter{ID: ent.id, Reason: reason, At: now, Body: ent.body})
				if err := tx.Set(deadKey(ent.id), rec); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("webhook: remove applied entries: %w", err)
	}
	rc.mu.Lock()
	if bytes.Equal(rc.cursor, from) { // not lowered meanwhile by a store
		rc.cursor = append(bytes.Clone(batch[len(batch)-1].key), 0)
	}
	rc.mu.Unlock()
	for id, reason := range dead {
		rc.log.Warn("webhook: dead-lettered a body that cannot be applied", "id", id, "reason", reason)
	}
	rc.stats.applied.Add(int64(len(batch) - len(dead)))
	rc.stats.dead.Add(int64(len(dead)))
	return len(batch), nil
}

func toStatusUpdates(in []provider.Status) []engine.StatusUpdate {
	out := make([]engine.StatusUpdate, 0, len(in))
	for _, s := range in {
		out = append(out, engine.StatusUpdate{
			WAMID: s.ID, CallbackData: s.BizOpaqueCallbackData, Status: s.Status,
			At: unix(int64(s.Timestamp)), RecipientID: s.RecipientID, Pricing: s.Pricing, Errors: s.Errors,
		})
	}
	return out
}

func toInbound(phoneNumberID string, v *provider.MessagesValue) []engine.Inbound {
	names := map[string]string{}
	for _, c := range v.Contacts {
		names[c.WaID] = c.Profile.Name
	}
	out := make([]engine.Inbound, 0, len(v.Messages))
	for _, m := range v.Messages {
		ib := engine.Inbound{
			PhoneNumberID: phoneNumberID, WaID: m.From, Name: names[m.From], MessageID: m.ID,
			Type: m.Type, At: unix(int64(m.Timestamp)), Referral: m.Referral != nil,
		}
		switch {
		case m.Text != nil:
			ib.Text = m.Text.Body
		case m.Button != nil:
			ib.Text = m.Button.Payload
		case m.Interactive != nil && m.Interactive.ButtonReply != nil:
			ib.Text = m.Interactive.ButtonReply.ID
		}
		if m.Type == "system" || m.From == "" {
			continue
		}
		out = append(out, ib)
	}
	return out
}

func unix(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// DeadLetter is a stored webhook body that could not be applied.
type DeadLetter struct {
	ID     string    `json:"id"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	Body   []byte    `json:"body"`
}

// DeadLetters lists dead-lettered bodies, oldest first, after cursor.
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
		return r.Iterate(prefix, opts, func(k, v []byte) (bool, error) {
			if string(k[len(prefix):]) == cursor {
				return true, nil
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return false, nil
			}
			var d DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return false, err
			}
			out = append(out, d)
			return true, nil
		})
	})
	return out, next, err
}

// InboxDepth counts bodies stored but not yet applied.
func (rc *Receiver) InboxDepth() (int, error) {
	n := 0
	err := rc.opts.DB.View(func(r storage.Reader) error {
		return r.Iterate([]byte(storage.PrefixInbox), storage.IterOptions{KeysOnly: true}, func([]byte, []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	return n, err
}
