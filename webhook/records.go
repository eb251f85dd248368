package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"kirim/provider"
	"kirim/storage"
)

// The applier's durable records, beside the inbox (storage.PrefixInbox) and the
// dead-letter list (storage.PrefixDeadLetter):
//
//	ws/held/<body id>               a body some of whose changes wait for a retry or are
//	                                dead-lettered, as received
//	ws/retry/<due><body id>.<index> a change waiting for its next attempt, by due time
//	ws/pend/<body id>.<index>       the retry key of that change, so a retry is written
//	                                once and a held body is released once nothing
//	                                refers to it
//	wd/<body id>[.<index>]          a dead letter
//
// A retry or dead-letter record is small: it names its change by body id and index,
// and the change's bytes stay once in the held body. So the bookkeeping of one body is
// at most its own size plus a few hundred bytes per change, and a hostile body cannot
// make a commit too large to write (which would stop the applier on it forever).
// Bookkeeping that still outgrows one transaction is committed in parts; every write
// is keyed so that a part written twice after a crash changes nothing.

func retryPrefix() []byte { return storage.Key(storage.PrefixWebhookState, []byte("retry/")) }

// retryKey orders retries by when they are due.
func retryKey(at time.Time, name string) []byte {
	return storage.Key(storage.PrefixWebhookState, []byte("retry/"), storage.U64(uint64(at.UnixNano())), []byte(name))
}

func pendKey(name string) []byte {
	return storage.Key(storage.PrefixWebhookState, []byte("pend/"), []byte(name))
}

func heldKey(bodyID string) []byte {
	return storage.Key(storage.PrefixWebhookState, []byte("held/"), []byte(bodyID))
}

func inboxKey(id string) []byte { return storage.Key(storage.PrefixInbox, []byte(id)) }

func deadKey(id string) []byte { return storage.Key(storage.PrefixDeadLetter, []byte(id)) }

// changeName names a change of a body: "<body id>.<index>".
func changeName(bodyID string, index int) string { return bodyID + "." + strconv.Itoa(index) }

// maxReason caps the error kept with a retry or a dead letter.
const maxReason = 1024

// clip shortens s to at most maxReason bytes, on a rune boundary.
func clip(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// rawChange is one change of a body, as received.
type rawChange struct {
	entryID string
	raw     json.RawMessage
}

// splitBody checks a body is a notification within the limits and returns its
// changes in order, each as its bytes in the body (never re-encoded).
func splitBody(body []byte) ([]rawChange, error) {
	if _, err := provider.ParseNotification(body); err != nil {
		return nil, err
	}
	var env struct {
		Entry []struct {
			ID      string            `json:"id"`
			Changes []json.RawMessage `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("provider: notification: %w", err)
	}
	var out []rawChange
	for _, e := range env.Entry {
		for _, c := range e.Changes {
			out = append(out, rawChange{entryID: e.ID, raw: c})
		}
	}
	return out, nil
}

// changeBody wraps one change in an envelope of its own, for a replay.
func changeBody(entryID string, change json.RawMessage) []byte {
	id, _ := json.Marshal(entryID)
	b := []byte(`{"object":"` + provider.ObjectWhatsAppBusinessAccount + `","entry":[{"id":`)
	b = append(b, id...)
	b = append(b, `,"changes":[`...)
	b = append(b, change...)
	return append(b, "]}]}"...)
}

// marshal encodes a record without escaping HTML characters, so a change kept in an
// old record does not grow sixfold.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// overlay is a transaction that remembers its own writes, because Iterate does not see
// them (storage.DB.Commit).
type overlay struct {
	storage.Txn
	local map[string]bool // true: set, false: deleted
}

func (o *overlay) Set(k, v []byte) error {
	o.local[string(k)] = true
	return o.Txn.Set(k, v)
}

func (o *overlay) Delete(k []byte) error {
	o.local[string(k)] = false
	return o.Txn.Delete(k)
}

// exists reports whether a key with prefix exists, this transaction's writes included.
func (o *overlay) exists(prefix []byte) (bool, error) {
	for k, set := range o.local {
		if set && bytes.HasPrefix([]byte(k), prefix) {
			return true, nil
		}
	}
	found := false
	err := o.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		if set, ok := o.local[string(k)]; ok && !set {
			return true, nil
		}
		found = true
		return false, nil
	})
	return found, err
}

// release deletes a held body once no retry and no dead letter refers to it.
func release(o *overlay, bodyID string) error {
	for _, p := range [][]byte{deadKey(bodyID + "."), pendKey(bodyID + ".")} {
		if found, err := o.exists(p); err != nil || found {
			return err
		}
	}
	if _, err := o.Get(deadKey(bodyID)); err == nil {
		return nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	return o.Delete(heldKey(bodyID))
}

// op is one step of the applier's bookkeeping.
type op func(o *overlay) error

func set(k, v []byte) op { return func(o *overlay) error { return o.Set(k, v) } }
func del(k []byte) op    { return func(o *overlay) error { return o.Delete(k) } }

// setRetry records u's next attempt, unless a retry of it is already recorded (an
// earlier pass wrote it and was stopped before taking its body out of the inbox).
func setRetry(u *unit, due time.Time) op {
	return func(o *overlay) error {
		if _, err := o.Get(pendKey(u.name())); err == nil {
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		k := retryKey(due, u.name())
		if err := o.Set(k, marshal(u)); err != nil {
			return err
		}
		return o.Set(pendKey(u.name()), k)
	}
}

// commitOps commits ops in order: all in one transaction when they fit, else in
// halves. Each op is idempotent, so a crash between two parts only means the next
// pass writes the first part again.
func (rc *Receiver) commitOps(ctx context.Context, ops []op) error {
	if len(ops) == 0 {
		return nil
	}
	err := rc.opts.DB.Commit(ctx, func(tx storage.Txn) error {
		o := &overlay{Txn: tx, local: map[string]bool{}}
		for _, f := range ops {
			if err := f(o); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, storage.ErrTxnTooBig) || len(ops) < 2 {
		return err
	}
	half := len(ops) / 2
	if err := rc.commitOps(ctx, ops[:half]); err != nil {
		return err
	}
	return rc.commitOps(ctx, ops[half:])
}

// retryDelay is the wait before retry n (from 1).
func retryDelay(n int) time.Duration {
	d := retryBase << (n - 1)
	if d <= 0 || d > retryMax {
		return retryMax
	}
	return d
}
