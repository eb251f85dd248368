package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"kirim/storage"
)

// Top-up statuses: only a confirmed top-up moves money.
const (
	TopUpPending   = "pending"
	TopUpConfirmed = "confirmed"
	TopUpRejected  = "rejected"
)

// MaxAmount bounds one top-up or adjustment (10^17 micros, IDR 100 billion), far from
// int64 overflow even summed over many.
const MaxAmount = 100_000_000_000_000_000

// TopUp is a request to add money to an account, confirmed or rejected by an admin.
type TopUp struct {
	ID         string    `json:"id"`
	Account    string    `json:"account"`
	Reference  string    `json:"reference"` // e.g. the bank transfer reference; unique per account
	Amount     int64     `json:"amount"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	ResolvedBy string    `json:"resolved_by,omitempty"`
	Reason     string    `json:"reason,omitempty"` // why it was rejected
	Note       string    `json:"note,omitempty"`   // the creator's free text (CreateTopUpNoted)
	Seq        uint64    `json:"seq,omitempty"`    // the topup entry, once confirmed
}

// TopUpID is the id of an account's top-up with a reference: derived, so creating it
// twice finds the same record.
func TopUpID(account, reference string) string {
	sum := sha256.Sum256([]byte(account + "\x00" + reference))
	return "tu_" + hex.EncodeToString(sum[:10])
}

// CreateTopUp records a pending top-up. It is idempotent by reference: the same
// reference and amount returns the existing top-up (existing = true) whatever its
// status; the same reference with another amount is ErrConflict.
func (l *Ledger) CreateTopUp(tx storage.Txn, account, reference string, amount int64) (t TopUp, existing bool, err error) {
	acct, err := l.account(account)
	if err != nil {
		return TopUp{}, false, fmt.Errorf("ledger: create top-up: %w", err)
	}
	if err := validID("reference", reference); err != nil {
		return TopUp{}, false, fmt.Errorf("ledger: create top-up: %w", err)
	}
	if amount <= 0 || amount > MaxAmount {
		return TopUp{}, false, fmt.Errorf("ledger: create top-up %s: amount %d must be in 1..%d: %w", reference, amount, int64(MaxAmount), ErrInvalid)
	}
	id := TopUpID(acct.ID, reference)
	old, err := readTopUp(tx, acct.ID, id)
	switch {
	case err == nil:
		if old.Amount != amount {
			return TopUp{}, false, fmt.Errorf("ledger: create top-up %s: reference exists with amount %d, not %d: %w", reference, old.Amount, amount, ErrConflict)
		}
		return old, true, nil
	case !errors.Is(err, ErrNotFound):
		return TopUp{}, false, fmt.Errorf("ledger: create top-up %s: %w", reference, err)
	}
	t = TopUp{ID: id, Account: acct.ID, Reference: reference, Amount: amount, Status: TopUpPending, CreatedAt: l.now()}
	if err := writeTopUp(tx, &t); err != nil {
		return TopUp{}, false, fmt.Errorf("ledger: create top-up %s: %w", reference, err)
	}
	return t, false, nil
}

// TopUpResult is what ConfirmTopUp did.
type TopUpResult struct {
	TopUp           TopUp
	AlreadyResolved bool // it was confirmed before: nothing was written
	Events          []Event
}

// ConfirmTopUp credits a pending top-up to available with a topup entry. Confirming a
// confirmed top-up is a no-op; confirming a rejected one is ErrConflict.
func (l *Ledger) ConfirmTopUp(tx storage.Txn, account, id, by string) (TopUpResult, error) {
	acct, t, err := l.pendingTopUp(tx, account, id)
	if err != nil {
		return TopUpResult{}, fmt.Errorf("ledger: confirm top-up %s: %w", id, err)
	}
	switch t.Status {
	case TopUpConfirmed:
		return TopUpResult{TopUp: t, AlreadyResolved: true}, nil
	case TopUpRejected:
		return TopUpResult{}, fmt.Errorf("ledger: confirm top-up %s: it was rejected: %w", id, ErrConflict)
	}
	now := l.now()
	e := Entry{
		Kind: KindTopUp, At: now, Account: acct.ID, Reference: t.Reference, Amount: t.Amount,
		Legs: transfer(worldAccount(acct.ID), availableAccount(acct.ID), acct.Currency, t.Amount),
	}
	if err := l.post(tx, acct, &e); err != nil {
		return TopUpResult{}, fmt.Errorf("ledger: confirm top-up %s: %w", id, err)
	}
	t.Status, t.ResolvedAt, t.ResolvedBy, t.Seq = TopUpConfirmed, now, by, e.Seq
	if err := writeTopUp(tx, &t); err != nil {
		return TopUpResult{}, fmt.Errorf("ledger: confirm top-up %s: %w", id, err)
	}
	confirmed := t
	if err := l.emit(tx, Event{Type: EventTopUpConfirmed, Account: acct.ID, Currency: acct.Currency, At: now, TopUp: &confirmed}); err != nil {
		return TopUpResult{}, fmt.Errorf("ledger: confirm top-up %s: %w", id, err)
	}
	events, err := l.checkLow(tx, acct, now)
	if err != nil {
		return TopUpResult{}, fmt.Errorf("ledger: confirm top-up %s: %w", id, err)
	}
	return TopUpResult{TopUp: t, Events: events}, nil
}

// RejectTopUp marks a pending top-up rejected; no money moves. Rejecting a rejected
// top-up is a no-op; rejecting a confirmed one is ErrConflict (use Adjust).
func (l *Ledger) RejectTopUp(tx storage.Txn, account, id, by, reason string) (TopUp, error) {
	acct, t, err := l.pendingTopUp(tx, account, id)
	if err != nil {
		return TopUp{}, fmt.Errorf("ledger: reject top-up %s: %w", id, err)
	}
	switch t.Status {
	case TopUpRejected:
		return t, nil
	case TopUpConfirmed:
		return TopUp{}, fmt.Errorf("ledger: reject top-up %s: it was confirmed: %w", id, ErrConflict)
	}
	if len(reason) > MaxReasonLength {
		return TopUp{}, fmt.Errorf("ledger: reject top-up %s: reason is longer than %d bytes: %w", id, MaxReasonLength, ErrInvalid)
	}
	t.Status, t.ResolvedAt, t.ResolvedBy, t.Reason = TopUpRejected, l.now(), by, reason
	if err := writeTopUp(tx, &t); err != nil {
		return TopUp{}, fmt.Errorf("ledger: reject top-up %s: %w", id, err)
	}
	rejected := t
	if err := l.emit(tx, Event{Type: EventTopUpRejected, Account: acct.ID, Currency: acct.Currency, At: t.ResolvedAt, TopUp: &rejected}); err != nil {
		return TopUp{}, fmt.Errorf("ledger: reject top-up %s: %w", id, err)
	}
	return t, nil
}

// TopUps lists an account's top-ups, newest first.
func (l *Ledger) TopUps(r storage.Reader, account string) ([]TopUp, error) {
	if _, err := l.account(account); err != nil {
		return nil, fmt.Errorf("ledger: top-ups: %w", err)
	}
	var out []TopUp
	err := r.Iterate(topUpPrefix(account), storage.IterOptions{}, func(_, v []byte) (bool, error) {
		var t TopUp
		if err := json.Unmarshal(v, &t); err != nil {
			return false, fmt.Errorf("decode top-up: %w", err)
		}
		out = append(out, t)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: top-ups %s: %w", account, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

func (l *Ledger) pendingTopUp(tx storage.Txn, account, id string) (*Account, TopUp, error) {
	acct, err := l.account(account)
	if err != nil {
		return nil, TopUp{}, err
	}
	if err := validID("top-up id", id); err != nil {
		return nil, TopUp{}, err
	}
	t, err := readTopUp(tx, acct.ID, id)
	if err != nil {
		return nil, TopUp{}, err
	}
	return acct, t, nil
}

func readTopUp(r storage.Reader, account, id string) (TopUp, error) {
	v, err := r.Get(topUpKey(account, id))
	if errors.Is(err, storage.ErrNotFound) {
		return TopUp{}, fmt.Errorf("top-up %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return TopUp{}, err
	}
	var t TopUp
	if err := json.Unmarshal(v, &t); err != nil {
		return TopUp{}, fmt.Errorf("decode top-up %s: %w", id, err)
	}
	return t, nil
}

func writeTopUp(tx storage.Txn, t *TopUp) error {
	v, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode top-up: %w", err)
	}
	return tx.Set(topUpKey(t.Account, t.ID), v)
}

// AdjustResult is what Adjust did.
type AdjustResult struct {
	Entry  Entry
	Events []Event
}

// Adjust corrects an account's available balance with an adjustment entry: a positive
// amount credits it from the account's world, a negative one debits it to that world. Past entries are
// never edited; a wrong entry is corrected by a new one with a reason. A debit larger
// than available fails with ErrInsufficientBalance.
func (l *Ledger) Adjust(tx storage.Txn, account string, amount int64, reason string) (AdjustResult, error) {
	acct, err := l.account(account)
	if err != nil {
		return AdjustResult{}, fmt.Errorf("ledger: adjust: %w", err)
	}
	if amount == 0 || amount > MaxAmount || amount < -MaxAmount {
		return AdjustResult{}, fmt.Errorf("ledger: adjust %s: amount %d must be non-zero and within ±%d: %w", account, amount, int64(MaxAmount), ErrInvalid)
	}
	if reason == "" || len(reason) > MaxReasonLength {
		return AdjustResult{}, fmt.Errorf("ledger: adjust %s: reason is required, up to %d bytes: %w", account, MaxReasonLength, ErrInvalid)
	}
	now := l.now()
	e := Entry{
		Kind: KindAdjustment, At: now, Account: acct.ID, Reason: reason, Amount: amount,
		Legs: transfer(worldAccount(acct.ID), availableAccount(acct.ID), acct.Currency, amount),
	}
	if err := l.post(tx, acct, &e); err != nil {
		return AdjustResult{}, fmt.Errorf("ledger: adjust %s: %w", account, err)
	}
	events, err := l.checkLow(tx, acct, now)
	if err != nil {
		return AdjustResult{}, fmt.Errorf("ledger: adjust %s: %w", account, err)
	}
	return AdjustResult{Entry: e, Events: events}, nil
}
