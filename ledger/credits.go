package ledger

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"kirim/storage"
)

// creditState records the month of an account's last rollover and the credit kinds it
// granted, so the next rollover expires exactly those even if the package changed.
type creditState struct {
	Month string
	Kinds []string
}

func readCreditMonth(r storage.Reader, account string) (creditState, error) {
	var s creditState
	v, err := r.Get(creditMonthKey(account))
	if errors.Is(err, storage.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read credit month: %w", err)
	}
	return decodeCreditState(v)
}

type rolloverPlan struct {
	due   bool
	month string
	prev  creditState
}

func (l *Ledger) rolloverDue(r storage.Reader, acct *Account, now time.Time) (rolloverPlan, error) {
	prev, err := readCreditMonth(r, acct.ID)
	if err != nil {
		return rolloverPlan{}, err
	}
	month := monthOf(now, acct.Timezone)
	// Months formatted "2006-01" order as strings; a clock set back never un-rolls.
	return rolloverPlan{due: month > prev.Month, month: month, prev: prev}, nil
}

// RolloverResult is what Rollover did.
type RolloverResult struct {
	Account string
	Month   string
	Done    bool             // false: the month had already been rolled over
	Expired map[string]int64 // units expired, by kind
	Granted map[string]int64 // units granted, by kind
}

// Rollover starts the month containing now (in the account's timezone) for one account:
// it expires what is left of the previous month's credits with a credit_expiry entry per
// kind and grants the package's credits with a credit_grant entry per kind. Top-up money
// is untouched. It is idempotent within a month and is called lazily by Hold and by a
// periodic job.
func (l *Ledger) Rollover(tx storage.Txn, account string, now time.Time) (RolloverResult, error) {
	acct, err := l.account(account)
	if err != nil {
		return RolloverResult{}, fmt.Errorf("ledger: rollover: %w", err)
	}
	plan, err := l.rolloverDue(tx, acct, now)
	if err != nil {
		return RolloverResult{}, fmt.Errorf("ledger: rollover %s: %w", account, err)
	}
	if !plan.due {
		return RolloverResult{Account: account, Month: plan.prev.Month}, nil
	}
	res, err := l.rollover(tx, acct, now, plan)
	if err != nil {
		return RolloverResult{}, fmt.Errorf("ledger: rollover %s: %w", account, err)
	}
	return res, nil
}

func (l *Ledger) rollover(tx storage.Txn, acct *Account, now time.Time, plan rolloverPlan) (RolloverResult, error) {
	res := RolloverResult{Account: acct.ID, Month: plan.month, Done: true, Expired: map[string]int64{}, Granted: map[string]int64{}}
	kinds := map[string]bool{}
	for _, k := range plan.prev.Kinds {
		kinds[k] = true
	}
	for k := range acct.Package.Credits {
		kinds[k] = true
	}
	for _, kind := range slices.Sorted(maps.Keys(kinds)) {
		left, err := balanceOf(tx, creditAsset(kind), creditAccount(acct.ID, kind))
		if err != nil {
			return res, err
		}
		if left <= 0 {
			continue
		}
		e := Entry{
			Kind: KindCreditExpiry, At: now, Account: acct.ID, CreditKind: kind, Amount: left,
			Reason: "month " + plan.prev.Month + " ended",
			Legs:   transfer(creditAccount(acct.ID, kind), worldAccount(acct.ID), creditAsset(kind), left),
		}
		if err := l.post(tx, acct, &e); err != nil {
			return res, err
		}
		res.Expired[kind] = left
	}
	next := creditState{Month: plan.month}
	for _, kind := range slices.Sorted(maps.Keys(acct.Package.Credits)) {
		n := acct.Package.Credits[kind]
		if n <= 0 {
			continue
		}
		e := Entry{
			Kind: KindCreditGrant, At: now, Account: acct.ID, CreditKind: kind, Amount: n,
			Reason: "month " + plan.month,
			Legs:   transfer(worldAccount(acct.ID), creditAccount(acct.ID, kind), creditAsset(kind), n),
		}
		if err := l.post(tx, acct, &e); err != nil {
			return res, err
		}
		res.Granted[kind] = n
		next.Kinds = append(next.Kinds, kind)
	}
	if err := tx.Set(creditMonthKey(acct.ID), encodeCreditState(next)); err != nil {
		return res, fmt.Errorf("write credit month: %w", err)
	}
	return res, nil
}
