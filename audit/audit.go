// Package audit owns Kirim's audit log: an append-only record of every action taken
// with an admin or operator API key. Records are numbered without gaps from 1 and each
// carries the SHA-256 of the one before it, so an edit, a deletion or a reordering of
// stored records is found by Verify instead of going unnoticed. Nothing here decides
// what is audited; callers append a Record for each action they take, in the same
// transaction as the change when they can (AppendTx), so the change and its record
// commit or fail together.
package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"kirim/clock"
	"kirim/storage"
)

// ErrInvalid is wrapped by errors about a record or filter the caller got wrong; the
// API answers them with 400.
var ErrInvalid = errors.New("invalid audit record")

// ErrBroken is wrapped by Verify's errors about the stored chain: a record that was
// changed, removed or reordered after it was written.
var ErrBroken = errors.New("audit chain broken")

// Bounds on what one record may hold. They keep a record small enough that a page of
// MaxLimit records stays a modest response, and let the binary encoding stay simple.
const (
	MaxActionLen = 64
	MaxFieldLen  = 256
	MaxStatus    = 999
)

// Record is one audited action. Seq, At, Hash and Prev are set by Append; values a
// caller puts there are ignored.
type Record struct {
	Seq       uint64
	At        time.Time
	Key       string // name of the API key that acted
	KeyID     string
	Account   string // account acted on; "" for instance-wide actions
	Operator  bool   // the key is an operator key, not an account admin key
	Action    string // what was done, such as "topup.confirm"
	Target    string // id or name of the record acted on
	RequestID string
	Status    int    // HTTP status of the result
	Result    string // "ok" or the error code
	Hash      [32]byte
	Prev      [32]byte
}

// View is a Record as the API shows it: snake_case names and hashes in hex.
type View struct {
	Seq       uint64    `json:"seq"`
	At        time.Time `json:"at"`
	Key       string    `json:"key"`
	KeyID     string    `json:"key_id"`
	Account   string    `json:"account"`
	Operator  bool      `json:"operator"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	RequestID string    `json:"request_id"`
	Status    int       `json:"status"`
	Result    string    `json:"result"`
	Hash      string    `json:"hash"`
	PrevHash  string    `json:"prev_hash"`
}

// View returns r as the API shows it.
func (r Record) View() View {
	return View{
		Seq: r.Seq, At: r.At, Key: r.Key, KeyID: r.KeyID, Account: r.Account,
		Operator: r.Operator, Action: r.Action, Target: r.Target, RequestID: r.RequestID,
		Status: r.Status, Result: r.Result,
		Hash: hex.EncodeToString(r.Hash[:]), PrevHash: hex.EncodeToString(r.Prev[:]),
	}
}

// MarshalJSON encodes r as its View, so hashes never render as arrays of numbers.
func (r Record) MarshalJSON() ([]byte, error) { return json.Marshal(r.View()) }

// Log appends to and reads the audit log of one store.
type Log struct {
	db      *storage.DB
	clk     clock.Clock
	maxScan int // MaxScan; tests lower it
}

// New returns the log kept in db, timestamped by clk.
func New(db *storage.DB, clk clock.Clock) *Log {
	return &Log{db: db, clk: clk, maxScan: MaxScan}
}

// Append writes r as the next record and returns it numbered, timestamped and hashed,
// once it is durable. It is safe to call from many goroutines: every append reads the
// chain head inside its commit function, and storage runs commit functions one at a
// time, each seeing the writes of those before it, so records stay gapless and chained.
func (l *Log) Append(ctx context.Context, r Record) (Record, error) {
	if err := validate(&r); err != nil {
		return Record{}, fmt.Errorf("audit: append %s: %w", r.Action, err)
	}
	var out Record
	var fnErr error
	err := l.db.Commit(ctx, func(tx storage.Txn) error {
		out, fnErr = l.AppendTx(tx, r)
		return fnErr
	})
	if fnErr != nil {
		return Record{}, fnErr // already says what failed
	}
	if err != nil {
		return Record{}, fmt.Errorf("audit: append %s: %w", r.Action, err)
	}
	return out, nil
}

// AppendTx writes r as the next record inside tx, the commit function of a caller that
// changes something, so the change is never stored without its record or the other way
// round. The record is durable when that Commit returns nil. It may be called more than
// once in one tx; an error leaves tx untouched.
//
// At is read from the clock here, inside the commit, and never set earlier than the
// record before it: commit functions run in sequence order, but a wall clock can step
// back, and List relies on At growing with Seq to skip to a time.
func (l *Log) AppendTx(tx storage.Txn, r Record) (Record, error) {
	if err := validate(&r); err != nil {
		return Record{}, fmt.Errorf("audit: append %s: %w", r.Action, err)
	}
	h, err := readHead(tx)
	if err != nil {
		return Record{}, fmt.Errorf("audit: append %s: %w", r.Action, err)
	}
	at := l.clk.Now().UnixNano()
	if at < h.at {
		at = h.at
	}
	r.Seq = h.seq + 1
	r.At = time.Unix(0, at).UTC()
	r.Prev = h.hash
	body := encodeBody(&r)
	r.Hash = chainHash(r.Prev, body)
	if err := tx.Set(recordKey(r.Seq), storedValue(body, r.Prev, r.Hash)); err != nil {
		return Record{}, fmt.Errorf("audit: append %s #%d: %w", r.Action, r.Seq, err)
	}
	if err := writeHead(tx, head{seq: r.Seq, at: at, hash: r.Hash}); err != nil {
		return Record{}, fmt.Errorf("audit: append %s #%d: %w", r.Action, r.Seq, err)
	}
	return r, nil
}

// validate checks what the caller supplied and clears what Append sets.
func validate(r *Record) error {
	r.Seq, r.At, r.Hash, r.Prev = 0, time.Time{}, [32]byte{}, [32]byte{}
	if err := checkAction("action", r.Action, false); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{
		{"key", r.Key}, {"key_id", r.KeyID}, {"account", r.Account},
		{"target", r.Target}, {"request_id", r.RequestID}, {"result", r.Result},
	} {
		if len(f.v) > MaxFieldLen {
			return fmt.Errorf("%s: %d bytes, at most %d: %w", f.name, len(f.v), MaxFieldLen, ErrInvalid)
		}
		// The API renders records as JSON, which would replace invalid bytes: the log
		// would then show something other than what its hashes cover.
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s: not valid UTF-8: %w", f.name, ErrInvalid)
		}
	}
	if r.Status < 0 || r.Status > MaxStatus {
		return fmt.Errorf("status: %d out of 0..%d: %w", r.Status, MaxStatus, ErrInvalid)
	}
	return nil
}

// checkAction accepts an action name, or with wildcard an action pattern that may end
// in "*". Actions are a small closed vocabulary, so the charset is kept to what needs
// no escaping anywhere it is shown or matched.
func checkAction(field, a string, wildcard bool) error {
	if a == "" {
		return fmt.Errorf("%s: required: %w", field, ErrInvalid)
	}
	if len(a) > MaxActionLen {
		return fmt.Errorf("%s: %d bytes, at most %d: %w", field, len(a), MaxActionLen, ErrInvalid)
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' {
			continue
		}
		if wildcard && c == '*' && i == len(a)-1 {
			continue
		}
		return fmt.Errorf("%s: %q: only a-z, 0-9, '.', '_' and '-': %w", field, a, ErrInvalid)
	}
	return nil
}
