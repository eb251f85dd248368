package ledger

import (
	"errors"
	"testing"

	"kirim/storage"
)

// TestOnEventCommitsWithTheChange: a top-up's confirmation and rejection and a fall
// below the low-balance threshold are told to OnEvent inside their transaction, and a
// hook that fails aborts the change itself.
func TestOnEventCommitsWithTheChange(t *testing.T) {
	var seen []Event
	fail := false
	f := newFixture(t, Config{
		Accounts: []Account{{ID: "acme", Currency: "IDR", Timezone: jakarta(t), LowBalance: 2_000 * idr}},
		OnEvent: func(_ storage.Txn, ev Event) error {
			if fail {
				return errors.New("outbox full")
			}
			seen = append(seen, ev)
			return nil
		},
	})
	var pending TopUp
	f.commit(func(tx storage.Txn) error {
		var err error
		pending, _, err = f.l.CreateTopUp(tx, "acme", "BCA-1", 1_000*idr)
		return err
	})
	f.commit(func(tx storage.Txn) error { _, err := f.l.ConfirmTopUp(tx, "acme", pending.ID, "ops"); return err })
	if len(seen) != 2 || seen[0].Type != EventTopUpConfirmed || seen[0].TopUp == nil || seen[0].TopUp.Status != TopUpConfirmed ||
		seen[1].Type != EventBalanceLow || seen[1].Available != 1_000*idr {
		t.Fatalf("events %+v", seen)
	}
	var other TopUp
	f.commit(func(tx storage.Txn) error {
		var err error
		other, _, err = f.l.CreateTopUp(tx, "acme", "BCA-2", 5_000*idr)
		return err
	})
	fail = true
	if err := f.try(func(tx storage.Txn) error { _, err := f.l.ConfirmTopUp(tx, "acme", other.ID, "ops"); return err }); err == nil {
		t.Fatal("a confirmation whose event failed went through")
	}
	if b := f.balance("acme"); b.Available != 1_000*idr {
		t.Fatalf("the aborted confirmation moved money: %+v", b)
	}
	fail = false
	f.commit(func(tx storage.Txn) error {
		_, err := f.l.RejectTopUp(tx, "acme", other.ID, "ops", "no transfer")
		return err
	})
	if last := seen[len(seen)-1]; last.Type != EventTopUpRejected || last.TopUp.Reason != "no transfer" {
		t.Fatalf("reject event %+v", last)
	}
}
