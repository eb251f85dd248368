package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kirim/engine"
	"kirim/provider"
	"kirim/storage"
)

// Applier receives what the inbox holds, parsed. The engine handles statuses and
// inbound messages; Other gets every other change (templates, number and account
// updates), and may be nil. Each func must be idempotent: after a crash, changes it
// applied may be handed to it again (ApplyPending).
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

// maxPassBytes bounds the bodies one pass holds (at least one is taken whatever its
// size), so a batch of bodies of a few MB each is not all in memory at once.
const maxPassBytes = 8 << 20

// unit is one change of a stored body: what the applier applies, retries and
// dead-letters on its own, so that one bad change never holds up its neighbours or the
// bodies behind it. Its exported fields are its retry record.
type unit struct {
	Body     string `json:"body"`  // inbox id of the body it came from
	Index    int    `json:"index"` // its place among the body's changes, from 0
	EntryID  string `json:"entry_id"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error,omitempty"`
	// Change is the change itself in records written before bodies were held apart;
	// newer records find it in the held body.
	Change json.RawMessage `json:"change,omitempty"`

	raw    json.RawMessage // the change as received
	key    []byte          // its retry key, when it came from the retry set
	field  string
	val    any
	failed bool   // its apply failed in this pass
	dead   string // why it is dead-lettered, once it is
}

func (u *unit) name() string { return changeName(u.Body, u.Index) }

func (u *unit) deadLetter(at time.Time) DeadLetter {
	return DeadLetter{ID: u.name(), BodyID: u.Body, Index: u.Index, EntryID: u.EntryID, Reason: u.dead,
		Attempts: u.Attempts, At: at, Change: u.Change}
}

// body is an inbox body of a pass and what became of it.
type body struct {
	inboxEntry
	units []*unit
	dead  string // why the whole body is dead-lettered (not a notification)
}

// ApplyPending applies up to one batch of inbox bodies and of changes due for a retry.
// Each change is applied on its own terms: one that fails is retried later (MaxAttempts
// in all) and then dead-lettered alone, while the others of its body and every later
// body are applied now. A body that is not a notification at all, and a change that
// cannot be decoded or breaks a limit, are dead-lettered at once. It returns how many
// bodies and retries it took.
//
// The Applier's effects and the applier's own records are not one transaction: after
// a crash between them the next pass hands the same changes to the Applier again,
// whose funcs are idempotent (a message id, a status or an event seen before changes
// nothing). The records are written so that no change is lost, retried on two
// schedules or dead-lettered twice.
func (rc *Receiver) ApplyPending(ctx context.Context) (int, error) {
	now := rc.opts.Clock.Now()
	batch, due, err := rc.take(now)
	if err != nil || len(batch)+len(due) == 0 {
		return 0, err
	}
	var units []*unit
	for _, b := range batch {
		changes, err := splitBody(b.body)
		if err != nil {
			b.dead = clip(err.Error())
			continue
		}
		for i, c := range changes {
			u := &unit{Body: b.id, Index: i, EntryID: c.entryID, raw: c.raw}
			b.units = append(b.units, u)
			units = append(units, u)
		}
	}
	units = append(units, due...)
	var ok []*unit
	for _, u := range units {
		if u.raw == nil {
			u.dead = "webhook: the body of this change is no longer stored"
			continue
		}
		var ch provider.Change
		err := json.Unmarshal(u.raw, &ch)
		if err == nil {
			u.field = ch.Field
			u.val, err = provider.DecodeChange(ch)
		}
		if err != nil {
			u.dead = clip(fmt.Sprintf("entry %s field %s: %v", u.EntryID, ch.Field, err))
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
	retries := 0
	for _, u := range ok {
		err, bad := failed[u]
		if !bad {
			continue
		}
		u.failed = true
		u.Attempts++
		u.Error = clip(err.Error())
		if u.Attempts >= MaxAttempts {
			u.dead = clip(fmt.Sprintf("%d attempts, last: %v", u.Attempts, err))
			continue
		}
		retries++
		rc.log.Warn("webhook: a change failed to apply; it will be retried", "change", u.name(), "attempt", u.Attempts, "err", u.Error)
	}
	var ops []op
	for _, b := range batch {
		ops = append(ops, bodyOps(b, now)...)
	}
	for _, u := range due {
		ops = append(ops, dueOp(u, now))
	}
	if err := rc.commitOps(ctx, ops); err != nil {
		return 0, fmt.Errorf("webhook: record applied changes: %w", err)
	}
	if len(batch) > 0 {
		rc.mu.Lock()
		if bytes.Equal(rc.cursor, batch[0].from) { // not lowered meanwhile by a store
			rc.cursor = append(bytes.Clone(batch[len(batch)-1].key), 0)
		}
		rc.mu.Unlock()
	}
	dead := 0
	for _, b := range batch {
		if b.dead != "" {
			dead++
			rc.log.Warn("webhook: dead-lettered a body", "id", b.id, "reason", b.dead)
		}
	}
	for _, u := range units {
		if u.dead != "" {
			dead++
			rc.log.Warn("webhook: dead-lettered a change", "id", u.name(), "reason", u.dead)
		}
	}
	rc.stats.applied.Add(int64(len(ok) - len(failed)))
	rc.stats.retried.Add(int64(retries))
	rc.stats.dead.Add(int64(dead))
	return len(batch) + len(due), nil
}

// bodyOps records what became of an inbox body. It is held if any of its changes
// waits for a retry or is dead; their records follow; it leaves the inbox last.
func bodyOps(b *body, now time.Time) []op {
	var ops []op
	held := b.dead != ""
	for _, u := range b.units {
		held = held || u.dead != "" || u.failed
	}
	if held {
		ops = append(ops, set(heldKey(b.id), b.body))
	}
	if b.dead != "" {
		ops = append(ops, set(deadKey(b.id), marshal(DeadLetter{ID: b.id, BodyID: b.id, Index: -1, Reason: b.dead, At: now})))
	}
	for _, u := range b.units {
		switch {
		case u.dead != "":
			ops = append(ops, set(deadKey(u.name()), marshal(u.deadLetter(now))))
		case u.failed:
			ops = append(ops, setRetry(u, now.Add(retryDelay(u.Attempts))))
		}
	}
	return append(ops, del(b.key))
}

// dueOp records what became of a retried change: applied, its body is released unless
// something else refers to it; failed again, it waits for the next attempt; dead, it
// joins the dead letters.
func dueOp(u *unit, now time.Time) op {
	return func(o *overlay) error {
		if err := o.Delete(u.key); err != nil {
			return err
		}
		switch {
		case u.dead != "":
			if err := o.Set(deadKey(u.name()), marshal(u.deadLetter(now))); err != nil {
				return err
			}
			return o.Delete(pendKey(u.name()))
		case u.failed:
			k := retryKey(now.Add(retryDelay(u.Attempts)), u.name())
			if err := o.Set(k, marshal(u)); err != nil {
				return err
			}
			return o.Set(pendKey(u.name()), k)
		default:
			if err := o.Delete(pendKey(u.name())); err != nil {
				return err
			}
			return release(o, u.Body)
		}
	}
}

// take reads up to a batch of inbox bodies from the cursor, and the retries due at now
// with their changes.
func (rc *Receiver) take(now time.Time) ([]*body, []*unit, error) {
	var batch []*body
	var due []*unit
	prefix := []byte(storage.PrefixInbox)
	rc.mu.Lock()
	from := rc.cursor
	rc.mu.Unlock()
	end := retryKey(now, "\xff")
	size := 0
	err := rc.opts.DB.View(func(r storage.Reader) error {
		err := r.Iterate(prefix, storage.IterOptions{Start: from}, func(k, v []byte) (bool, error) {
			batch = append(batch, &body{inboxEntry: inboxEntry{key: bytes.Clone(k), id: string(k[len(prefix):]), body: bytes.Clone(v), from: from}})
			size += len(v)
			return len(batch) < rc.opts.Batch && size < maxPassBytes, nil
		})
		if err != nil {
			return err
		}
		held := map[string][]rawChange{}
		return r.Iterate(retryPrefix(), storage.IterOptions{}, func(k, v []byte) (bool, error) {
			if bytes.Compare(k, end) > 0 || size >= maxPassBytes {
				return false, nil
			}
			u := &unit{key: bytes.Clone(k)}
			if err := json.Unmarshal(v, u); err != nil {
				return false, fmt.Errorf("retry record %q: %w", k, err)
			}
			u.raw = u.Change
			if u.raw == nil {
				changes, seen := held[u.Body]
				if !seen {
					b, err := r.Get(heldKey(u.Body))
					if err != nil && !errors.Is(err, storage.ErrNotFound) {
						return false, err
					}
					size += len(b)
					changes, _ = splitBody(b)
					held[u.Body] = changes
				}
				if u.Index >= 0 && u.Index < len(changes) {
					u.raw = changes[u.Index].raw
				}
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
				err = a.Other(ctx, u.EntryID, u.field, v)
			}
		}
		if err != nil {
			failed[u] = err
		}
	}
	return failed
}

func toStatusUpdates(in []provider.Status) []engine.StatusUpdate {
	out := make([]engine.StatusUpdate, 0, len(in))
	for i := range in {
		s := &in[i]
		out = append(out, engine.StatusUpdate{
			WAMID: s.ID, CallbackData: s.BizOpaqueCallbackData, Status: s.Status,
			At: unix(int64(s.Timestamp)), RecipientID: s.RecipientID, Pricing: statusPricing(s), Errors: s.Errors,
		})
	}
	return out
}

// statusPricing is a status's pricing as the engine settles it: by type. Webhooks of
// conversation-based pricing (pricing_model CBP, until July 2025, and v23 and older)
// carry billable and a category but no type; billable is a regular charge, and not
// billable is free, at the entry point when the conversation began at one.
func statusPricing(s *provider.Status) *provider.Pricing {
	p := s.Pricing
	if p == nil || p.Type != "" || p.Billable == nil {
		return p
	}
	out := *p
	switch {
	case *p.Billable:
		out.Type = provider.PricingRegular
	case isEntryPoint(p.Category) || s.Conversation != nil && isEntryPoint(s.Conversation.Origin.Type):
		out.Type = provider.PricingFreeEntryPoint
	default:
		out.Type = provider.PricingFreeCustomerService
	}
	return &out
}

// isEntryPoint reports a CBP conversation category or origin of a free entry point
// (a click-to-WhatsApp ad or a Page call to action).
func isEntryPoint(category string) bool {
	return category == "referral_conversion" || category == provider.PricingFreeEntryPoint
}

func toInbound(phoneNumberID string, v *provider.MessagesValue) []engine.Inbound {
	names := map[string]string{}
	for _, c := range v.Contacts {
		names[c.WaID] = c.Profile.Name
	}
	out := make([]engine.Inbound, 0, len(v.Messages))
	for i := range v.Messages {
		m := &v.Messages[i]
		if m.Type == "system" || m.From == "" {
			continue
		}
		out = append(out, engine.InboundOf(phoneNumberID, names[m.From], m))
	}
	return out
}

func unix(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
