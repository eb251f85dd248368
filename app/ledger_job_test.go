package app

import (
	"context"
	"kirim/clock"
	"kirim/config"
	"kirim/engine"
	"kirim/internal/kirimtest"
	"kirim/ledger"
	"kirim/storage"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLedgerJobAndOpeningBalance drives setupLedger on a fake clock: the sandbox opening
// balance is credited once however often it runs, the minute job starts each month's
// credits on time in the account's timezone and releases expired holds, and nothing
// runs after stopLedger.
func TestLedgerJobAndOpeningBalance(t *testing.T) {
	src := strings.Replace(kirimtest.LedgerConfig(t.TempDir()), `low_balance = 100_000`, `opening_balance = 1_000
  [accounts.package]
  credits = {marketing = 2}`, 1) + `
  [[rate_cards.prices]]
  category = "utility"
  amounts = [300]
`
	cfg, err := config.Parse("job.toml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 8 << 20, NumMemtables: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// 23:58 on 31 March in Jakarta (UTC+7).
	fake := clock.NewFake(time.Date(2026, 3, 31, 16, 58, 0, 0, time.UTC))
	m := NewMain(cfg)
	m.Clock, m.DB, m.Logger = fake, db, slog.New(slog.DiscardHandler)
	biller, err := m.setupLedger()
	if err != nil || biller == nil {
		t.Fatalf("setupLedger: %v %v", biller, err)
	}
	t.Cleanup(m.stopLedger)
	l := m.Ledger
	balance := func() ledger.Balance {
		t.Helper()
		var b ledger.Balance
		if err := db.View(func(r storage.Reader) error {
			var err error
			b, err = l.Balance(r, "acme")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return b
	}
	kinds := func() map[string]int {
		t.Helper()
		out := map[string]int{}
		if err := db.View(func(r storage.Reader) error {
			p, err := l.Statement(r, "acme", time.Time{}, time.Time{}, "", ledger.MaxStatementLimit)
			for _, row := range p.Rows {
				out[row.Kind+"/"+row.Reason]++
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	hold := func(id, category string) *engine.Message {
		t.Helper()
		msg := &engine.Message{ID: id, AccountID: "acme", To: "+6281234567890", Type: "template", Category: category, CreatedAt: fake.Now()}
		if err := db.Commit(context.Background(), func(tx storage.Txn) error { return biller.Hold(tx, msg) }); err != nil {
			t.Fatal(err)
		}
		return msg
	}

	if b := balance(); b.Available != 1_000*kirimtest.IDRMicros {
		t.Fatalf("opening balance %+v", b)
	}
	// A restart runs it again: still one top-up.
	if err := m.openingBalances(m.Config); err != nil {
		t.Fatal(err)
	}
	if b := balance(); b.Available != 1_000*kirimtest.IDRMicros || kinds()["topup/"] != 1 {
		t.Fatalf("after a second start %+v %v", b, kinds())
	}
	if fake.Pending() != 1 {
		t.Fatalf("%d timers pending, want the job's", fake.Pending())
	}

	fake.Advance(time.Minute) // 23:59: the job grants March's credits
	if b := balance(); b.Credits["marketing"] != 2 || kinds()["credit_grant/month 2026-03"] != 1 {
		t.Fatalf("march credits %+v %v", b.Credits, kinds())
	}
	credited := hold("msg_credit", "marketing") // backed by a credit, no money
	if b := balance(); credited.Price != 0 || b.Credits["marketing"] != 1 || b.HeldCredits["marketing"] != 1 {
		t.Fatalf("credit hold: price %d, balance %+v", credited.Price, b)
	}

	fake.Advance(time.Minute) // midnight in Jakarta: March's last credit expires, April's are granted
	got := kinds()
	if got["credit_expiry/month 2026-03 ended"] != 1 || got["credit_grant/month 2026-04"] != 1 || balance().Credits["marketing"] != 2 {
		t.Fatalf("april rollover %v %+v", got, balance().Credits)
	}

	paid := hold("msg_paid", "utility")
	if paid.Price != 300*kirimtest.IDRMicros || balance().Available != 700*kirimtest.IDRMicros {
		t.Fatalf("utility hold %d, balance %+v", paid.Price, balance())
	}
	m.stopLedger()
	if fake.Pending() != 0 {
		t.Fatalf("%d timers pending after stop", fake.Pending())
	}
	// A month later both holds have expired (a hold lives 31 days): one run of the job
	// releases them; the credit goes back to world, its month being over.
	fake.Advance(32 * 24 * time.Hour)
	(&ledgerJob{m: m, clock: fake}).run(context.Background())
	if got := kinds(); got["release/expired"] != 2 {
		t.Fatalf("expiry %v", got)
	}
	if b := balance(); b.Available != 1_000*kirimtest.IDRMicros || b.Held != 0 || b.HeldCredits["marketing"] != 0 {
		t.Fatalf("after expiry %+v", b)
	}
	var rep ledger.VerifyReport
	if err := db.View(func(r storage.Reader) error { rep, err = l.Verify(r); return err }); err != nil || !rep.OK() {
		t.Fatalf("verify %v %+v", err, rep)
	}
}
