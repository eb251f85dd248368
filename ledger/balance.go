package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"kirim/storage"
)

// Event is something callers forward to the account's callbacks.
type Event struct {
	Type      string // EventBalanceLow, EventTopUpConfirmed or EventTopUpRejected
	Account   string
	Currency  string
	Available int64
	Threshold int64
	At        time.Time
	// TopUp is the top-up a topup event reports.
	TopUp *TopUp
}

// emit tells the OnEvent hook of ev, in tx.
func (l *Ledger) emit(tx storage.Txn, ev Event) error {
	if l.onEvent == nil {
		return nil
	}
	if err := l.onEvent(tx, ev); err != nil {
		return fmt.Errorf("event %s: %w", ev.Type, err)
	}
	return nil
}

// checkLow raises balance.low once per crossing: when available falls below the
// threshold and the account was not already flagged low. Climbing back to or above the
// threshold clears the flag so the next fall raises it again.
func (l *Ledger) checkLow(tx storage.Txn, acct *Account, now time.Time) ([]Event, error) {
	if acct.LowBalance <= 0 {
		return nil, nil
	}
	avail, err := balanceOf(tx, acct.Currency, availableAccount(acct.ID))
	if err != nil {
		return nil, err
	}
	flagged, err := readLowFlag(tx, acct.ID)
	if err != nil {
		return nil, err
	}
	low := avail < acct.LowBalance
	if low == flagged {
		return nil, nil
	}
	flag := []byte{0}
	if low {
		flag[0] = 1
	}
	if err := tx.Set(accountStateKey(acct.ID), flag); err != nil {
		return nil, fmt.Errorf("write low-balance flag: %w", err)
	}
	if !low {
		return nil, nil
	}
	l.log.Info("ledger: balance low", "account", acct.ID, "available_micros", avail, "threshold_micros", acct.LowBalance)
	ev := Event{Type: EventBalanceLow, Account: acct.ID, Currency: acct.Currency, Available: avail, Threshold: acct.LowBalance, At: now}
	if err := l.emit(tx, ev); err != nil {
		return nil, err
	}
	return []Event{ev}, nil
}

func readLowFlag(r storage.Reader, account string) (bool, error) {
	v, err := r.Get(accountStateKey(account))
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read low-balance flag: %w", err)
	}
	return len(v) == 1 && v[0] == 1, nil
}

// Balance is an account's position.
type Balance struct {
	Account   string
	Currency  string
	Available int64 // micros that new holds may use
	Held      int64 // micros in open message holds and open campaign reserves
	Reserved  int64 // the part of Held in open campaign reserves, not yet drawn by messages
	Balance   int64 // Available + Held: prepaid money not yet spent
	// Credits are the unused package credits by kind as of now: when the month has turned
	// but the rollover has not run yet, they show the new month's grant.
	Credits     map[string]int64
	HeldCredits map[string]int64
	LowBalance  int64 // threshold
	Low         bool  // Available is below LowBalance
}

// Balance reads an account's balances from the cache (Verify proves it equals the chain).
func (l *Ledger) Balance(r storage.Reader, account string) (Balance, error) {
	acct, err := l.account(account)
	if err != nil {
		return Balance{}, fmt.Errorf("ledger: balance: %w", err)
	}
	b := Balance{Account: acct.ID, Currency: acct.Currency, LowBalance: acct.LowBalance, Credits: map[string]int64{}, HeldCredits: map[string]int64{}}
	if b.Available, err = balanceOf(r, acct.Currency, availableAccount(acct.ID)); err != nil {
		return Balance{}, fmt.Errorf("ledger: balance %s: %w", account, err)
	}
	if b.Held, err = balanceOf(r, acct.Currency, heldAccount(acct.ID)); err != nil {
		return Balance{}, fmt.Errorf("ledger: balance %s: %w", account, err)
	}
	if b.Reserved, err = balanceOf(r, acct.Currency, reserveAccount(acct.ID)); err != nil {
		return Balance{}, fmt.Errorf("ledger: balance %s: %w", account, err)
	}
	b.Held += b.Reserved
	b.Balance = b.Available + b.Held
	b.Low = acct.LowBalance > 0 && b.Available < acct.LowBalance
	plan, err := l.rolloverDue(r, acct, l.now())
	if err != nil {
		return Balance{}, fmt.Errorf("ledger: balance %s: %w", account, err)
	}
	kinds := map[string]bool{}
	for _, k := range plan.prev.Kinds {
		kinds[k] = true
	}
	for k := range acct.Package.Credits {
		kinds[k] = true
	}
	for _, kind := range slices.Sorted(maps.Keys(kinds)) {
		held, err := balanceOf(r, creditAsset(kind), heldAccount(acct.ID))
		if err != nil {
			return Balance{}, fmt.Errorf("ledger: balance %s: %w", account, err)
		}
		if held != 0 {
			b.HeldCredits[kind] = held
		}
		if plan.due {
			b.Credits[kind] = acct.Package.Credits[kind]
			continue
		}
		if b.Credits[kind], err = balanceOf(r, creditAsset(kind), creditAccount(acct.ID, kind)); err != nil {
			return Balance{}, fmt.Errorf("ledger: balance %s: %w", account, err)
		}
	}
	return b, nil
}

// Captured is the money of currency captured for the provider since the ledger began,
// over every account: what messages have cost, in micros. It is the instance-wide
// provider balance of older entries plus every account's own provider balance,
// including accounts no longer configured (their spending happened; a counter must not
// fall when an account is removed). A total past the int64 range reads as
// math.MaxInt64 rather than failing, so no account's counter breaks another's metrics.
func (l *Ledger) Captured(r storage.Reader, currency string) (int64, error) {
	total, err := balanceOf(r, currency, Provider)
	if err != nil {
		return 0, fmt.Errorf("ledger: captured %s: %w", currency, err)
	}
	prefix := balanceKey(currency, providerAccount(""))
	err = r.Iterate(prefix, storage.IterOptions{}, func(k, v []byte) (bool, error) {
		if len(v) != 8 {
			return false, fmt.Errorf("value of %q has %d bytes: %w", k, len(v), errCorrupt)
		}
		total = addSaturating(total, int64(binary.BigEndian.Uint64(v)))
		return true, nil
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: captured %s: %w", currency, err)
	}
	return total, nil
}

// addSaturating is a+b held within the int64 range.
func addSaturating(a, b int64) int64 {
	switch {
	case b > 0 && a > math.MaxInt64-b:
		return math.MaxInt64
	case b < 0 && a < math.MinInt64-b:
		return math.MinInt64
	}
	return a + b
}
