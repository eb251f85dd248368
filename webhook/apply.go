package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
	from []byte // the cursor the batch was read from
}

// Retries of a change that fails to apply: MaxAttempts in all, the n-th retry
// retryBase<<(n-1) after the failure, at most retryMax; about half a minute from the
// first failure to the dead-letter list with the defaults. A change is replayed from
// there once its cause is fixed (Replay).
const (
	MaxAttempts = 5
	retryBase   = 2 * time.Second
	retryMax    = 5 * time.Minute
)

// unit is one change of a stored body: what the applier applies, retries and
// dead-letters on its own, so that one bad change never holds up its neighbours or the
// bodies behind it.
type unit struct {
	Body     string          `json:"body"`  // inbox id of the body it came from
	Index    int             `json:"index"` // its place among the body's changes, from 0
	EntryID  string          `json:"entry_id"`
	Change   json.RawMessage `json:"change"` // {"field": ..., "value": ...} as received
	Attempts int             `json:"attempts"`
	Error    string          `json:"error,omitempty"`

	key []byte // its retry key, when it came from the retry set
	val any
}

func (u *unit) name() string { return u.Body + "." + strconv.Itoa(u.Index) }

// ApplyPending applies up to one batch of inbox bodies and of changes due for a retry.
// Each change is applied on its own terms: one that fails is retried later (MaxAttempts
// in all) and then dead-lettered alone, while the others of its body and every later
// body are applied now. A body that is not a notification at all, and a change that
// cannot be decoded or breaks a limit, are dead-lettered at once. It returns how many
// bodies and retries it took.
func (rc *Receiver) ApplyPending(ctx context.Context) (int, error) {
	now := rc.opts.Clock.Now()
	batch, due, err := rc.take(now)
	if err != nil || len(batch)+len(due) == 0 {
		return 0, err
	}
	var (
		units []*unit
		dead  []DeadLetter
	)
	for _, ent := range batch {
		n, err := provider.ParseNotification(ent.body)
		if err != nil {
			dead = append(dead, DeadLetter{ID: ent.id, BodyID: ent.id, Index: -1, Reason: err.Error(), At: now, Body: ent.body})
			continue
		}
		idx := 0
		for _, entry := range n.Entry {
			for _, ch := range entry.Changes {
				raw, _ := json.Marshal(ch)
				units = append(units, &unit{Body: ent.id, Index: idx, EntryID: entry.ID, Change: raw})
				idx++
			}
		}
	}
	units = append(units, due...)
	var ok []*unit
	for _, u := range units {
		var ch provider.Change
		err := json.Unmarshal(u.Change, &ch)
		if err == nil {
			u.val, err = provider.DecodeChange(ch)
		}
		if err != nil {
			dead = append(dead, u.deadLetter(fmt.Sprintf("entry %s field %s: %v", u.EntryID, ch.Field, err), now))
			continue
		}
		ok = append(ok, u)
	}
	failed := rc.apply(ctx, ok)
	if ctx.Err() != nil {
		// Stopping: nothing is recorded, so the next start applies it all again (every
		// step is idempotent) and no change spends an attempt on the shutdown.
		return 0, ctx.Err()
	}
	var retries []*unit
	for _, u := range ok {
		err, bad := failed[u]
		if !bad {
			continue
		}
		u.Attempts++
		u.Error = err.Error()
		if u.Attempts >= MaxAttempts {
			dead = append(dead, u.deadLetter(fmt.Sprintf("%d attempts, last: %v", u.Attempts, err), now))
			continue
		}
		retries = append(retries, u)
	}
	err = rc.opts.DB.Commit(ctx, func(tx storage.Txn) error {
		for _, ent := range batch {
			if err := tx.Delete(ent.key); err != nil {
				return err
			}
		}
		for _, u := range due {
			if err := tx.Delete(u.key); err != nil {
				return err
			}
		}
		for _, u := range retries {
			rec, _ := json.Marshal(u)
			if err := tx.Set(retryKey(now.Add(retryDelay(u.Attempts)), u.name()), rec); err != nil {
				return err
			}
		}
		for _, d := range dead {
			rec, _ := json.Marshal(d)
			if err := tx.Set(deadKey(d.ID), rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("webhook: record applied changes: %w", err)
	}
	if len(batch) > 0 {
		rc.mu.Lock()
		if bytes.Equal(rc.cursor, batch[0].from) { // not lowered meanwhile by a store
			rc.cursor = append(bytes.Clone(batch[len(batch)-1].key), 0)
		}
		rc.mu.Unlock()
	}
	for _, u := range retries {
		rc.log.Warn("webhook: a change failed to apply; it will be retried", "change", u.name(), "attempt", u.Attempts, "err", u.Error)
	}
	for _, d := range dead {
		rc.log.Warn("webhook: dead-lettered", "id", d.ID, "reason", d.Reason)
	}
	rc.stats.applied.Add(int64(len(ok) - len(failed)))
	rc.stats.retried.Add(int64(len(retries)))
	rc.stats.dead.Add(int64(len(dead)))
	return len(batch) + len(due), nil
}

// take reads up to a batch of inbox bodies from the cursor, and the retries due at now.
func (rc *Receiver) take(now time.Time) ([]inboxEntry, []*unit, error) {
	var batch []inboxEntry
	var due []*unit
	prefix := []byte(storage.PrefixInbox)
	rc.mu.Lock()
	from := rc.cursor
	rc.mu.Unlock()
	retries := retryPrefix()
	end := retryKey(now, "\xff")
	err := rc.opts.DB.View(func(r storage.Reader) error {
		err := r.Iterate(prefix, storage.IterOptions{Start: from}, func(k, v []byte) (bool, error) {
			batch = append(batch, inboxEntry{key: bytes.Clone(k), id: string(k[len(prefix):]), body: bytes.Clone(v), from: from})
			return len(batch) < rc.opts.Batch, nil
		})
		if err != nil {
			return err
		}
		return r.Iterate(retries, storage.IterOptions{}, func(k, v []byte) (bool, error) {
			if bytes.Compare(k, end) > 0 {
				return false, nil
			}
			u := &unit{key: bytes.Clone(k)}
			if err := json.Unmarshal(v, u); err != nil {
				return false, fmt.Errorf("retry record %q: %w", k, err)
			}
			due = append(due, u)
			return len(due) < rc.opts.Batch, nil
		})
	})
	return batch, due, err
}

// apply applies the units and returns those that failed, with their errors. Inbound
// messages go first (they open windows the statuses may need), then statuses, then
// the rest; inbound and statuses of all units go to the engine in one call each, and
// only if that call fails, unit by unit, to find the ones at fault.
func (rc *Receiver) apply(ctx context.Context, units []*unit) map[*unit]error {
	failed := map[*unit]error{}
	a := rc.opts.Apply
	type part struct {
		u        *unit
		inbound  []engine.Inbound
		statuses []engine.StatusUpdate
	}
	var parts []part
	for _, u := range units {
		if mv, ok := u.val.(*provider.MessagesValue); ok {
			parts = append(parts, part{u: u, inbound: toInbound(mv.Metadata.PhoneNumberID, mv), statuses: toStatusUpdates(mv.Statuses)})
		}
	}
	step := func(name string, get func(p part) int, call func(ps []part) error) {
		var todo []part
		for _, p := range parts {
			if _, bad := failed[p.u]; !bad && get(p) > 0 {
				todo = append(todo, p)
			}
		}
		if len(todo) == 0 || call(todo) == nil {
			return
		}
		for _, p := range todo {
			if ctx.Err() != nil {
				return
			}
			if err := call([]part{p}); err != nil {
				failed[p.u] = fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	if a.Inbound != nil {
		step("inbound", func(p part) int { return len(p.inbound) }, func(ps []part) error {
			var all []engine.Inbound
			for _, p := range ps {
				all = append(all, p.inbound...)
			}
			return a.Inbound(ctx, all)
		})
	}
	if a.Statuses != nil {
		step("statuses", func(p part) int { return len(p.statuses) }, func(ps []part) error {
			var all []engine.StatusUpdate
			for _, p := range ps {
				all = append(all, p.statuses...)
			}
			return a.Statuses(ctx, all)
		})
	}
	for _, u := range units {
		if _, bad := failed[u]; bad || ctx.Err() != nil {
			continue
		}
		var err error
		switch v := u.val.(type) {
		case *provider.MessagesValue:
			if len(v.UserPreferences) > 0 && a.Preferences != nil {
				err = a.Preferences(ctx, v.Metadata.PhoneNumberID, v.UserPreferences)
			}
		case *provider.UnknownChange:
			// Recorded and skipped: a field Kirim does not know yet is no reason to stop.
			rc.stats.unknown.Add(1)
			rc.log.Info("webhook: skipped a change of a field Kirim does not handle", "change", u.name(), "field", v.Field)
			if a.Other != nil {
				err = a.Other(ctx, u.EntryID, v.Field, v)
			}
		default:
			if a.Other != nil {
				var ch provider.Change
				_ = json.Unmarshal(u.Change, &ch)
				err = a.Other(ctx, u.EntryID, ch.Field, v)
			}
		}
		if err != nil {
			failed[u] = err
		}
	}
	return failed
}

// retryDelay is the wait before retry n (from 1).
func retryDelay(n int) time.Duration {
	d := retryBase << (n - 1)
	if d <= 0 || d > retryMax {
		return retryMax
	}
	return d
}

func retryPrefix() []byte { return storage.Key(storage.PrefixWebhookState, []byte("retry/")) }

// retryKey orders retries by when they are due.
func retryKey(at time.Time, name string) []byte {
	return storage.Key(storage.PrefixWebhookState, []byte("retry/"), storage.U64(uint64(at.UnixNano())), []byte(name))
}

func (u *unit) deadLetter(reason string, at time.Time) DeadLetter {
	return DeadLetter{ID: u.name(), BodyID: u.Body, Index: u.Index, EntryID: u.EntryID, Reason: reason,
		Attempts: u.Attempts, At: at, Change: u.Change}
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

// DeadLetter is what the applier gave up on: a whole body that is not a notification
// (Index -1, Body set), or one change of a body (Change set) that cannot be decoded,
// breaks a limit, or failed MaxAttempts times.
type DeadLetter struct {
	ID       string          `json:"id"`      // the body's id, or "<body id>.<index>" for a change
	BodyID   string          `json:"body_id"` // the inbox id of the body it came from
	Index    int             `json:"index"`   // the change's place in the body; -1 for a whole body
	EntryID  string          `json:"entry_id,omitempty"`
	Reason   string          `json:"reason"`
	Attempts int             `json:"attempts,omitempty"`
	At       time.Time       `json:"at"`
	Body     []byte          `json:"body,omitempty"`
	Change   json.RawMessage `json:"change,omitempty"`
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

// ErrNotFound is returned by Replay for an id that is not in the dead-letter list.
var ErrNotFound = errors.New("webhook: no such dead letter")

// Replay puts a dead letter back in the inbox, for the applier to apply again (after an
// upgrade fixed its cause): a whole body as it was, a change in a body of its own. It
// leaves the dead-letter list in the same commit; if it fails again, it returns there.
func (rc *Receiver) Replay(ctx context.Context, id string) error {
	key := inboxKey(storage.NewID("whk", rc.opts.Clock.Now()))
	err := rc.opts.DB.Commit(ctx, func(tx storage.Txn) error {
		v, err := tx.Get(deadKey(id))
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
		body := d.Body
		if d.Index >= 0 {
			body, _ = json.Marshal(provider.Notification{Object: provider.ObjectWhatsAppBusinessAccount,
				Entry: []provider.Entry{{ID: d.EntryID, Changes: []provider.Change{{}}}}})
			// The change goes in as received, not re-encoded.
			body = bytes.Replace(body, []byte(`{"field":"","value":null}`), d.Change, 1)
		}
		if err := tx.Delete(deadKey(id)); err != nil {
			return err
		}
		return tx.Set(key, body)
	})
	if err != nil {
		return fmt.Errorf("webhook: replay %s: %w", id, err)
	}
	rc.lowerCursor(key)
	rc.poke()
	rc.log.Info("webhook: dead letter replayed", "id", id)
	return nil
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

// DeadCount counts the dead letters.
func (rc *Receiver) DeadCount() (int, error) {
	n := 0
	err := rc.opts.DB.View(func(r storage.Reader) error {
		return r.Iterate([]byte(storage.PrefixDeadLetter), storage.IterOptions{KeysOnly: true}, func([]byte, []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	return n, err
}
