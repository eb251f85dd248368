package ledger

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"kirim/clock"
	"kirim/storage"
)

const idr = 1_000_000 // micros per rupiah

// seedBands are the upper bounds of the seed's IDR volume table: first 250K, next 750K,
// next 2M, next 3M, next 4M, next 5M, next 10M, above 25M.
var seedBands = []int64{250_000, 1_000_000, 3_000_000, 6_000_000, 10_000_000, 15_000_000, 25_000_000}

func rupiah(v ...int64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = x * idr
	}
	return out
}

var jan2025 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// seedCard is the IDR card of the product rules: the non-monotonic template table for
// marketing, flat utility / authentication / service prices and the SME session prices.
func seedCard(effective time.Time) RateCard {
	return RateCard{
		Effective: effective,
		Currency:  "IDR",
		Prices: []Price{
			{Market: MarketDefault, Category: CategoryMarketing, UpTo: seedBands, Micros: rupiah(514, 510, 504, 494, 485, 393, 456, 456)},
			{Market: MarketDefault, Category: CategoryUtility, Micros: rupiah(300)},
			{Market: MarketDefault, Category: CategoryAuthentication, Micros: rupiah(300)},
			{Market: MarketDefault, Category: CategoryService, Micros: rupiah(275)},
		},
		SessionPrices: map[string]int64{"text": 75 * idr, "image": 150 * idr, "video": 300 * idr, "document": 300 * idr},
	}
}

func jakarta(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		tb.Fatalf("load Asia/Jakarta: %v", err)
	}
	return loc
}

// mustOpen opens a store: in memory when dir is "", else on disk in dir.
func mustOpen(tb testing.TB, dir string) *storage.DB {
	tb.Helper()
	opts := storage.Options{Dir: dir, InMemory: dir == "", GCInterval: -1}
	db, err := storage.Open(opts)
	if err != nil {
		tb.Fatalf("open storage: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

type fixture struct {
	tb    testing.TB
	db    *storage.DB
	l     *Ledger
	clock *clock.Fake
}

func newFixture(tb testing.TB, cfg Config) *fixture {
	tb.Helper()
	f := &fixture{tb: tb, db: mustOpen(tb, ""), clock: clock.NewFake(time.Date(2025, 7, 10, 9, 0, 0, 0, time.UTC))}
	if cfg.Now == nil {
		cfg.Now = f.clock.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Accounts == nil {
		cfg.Accounts = []Account{{ID: "acme", Currency: "IDR", Timezone: jakarta(tb)}}
	}
	if cfg.RateCards == nil {
		cfg.RateCards = []RateCard{seedCard(jan2025)}
	}
	l, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	f.l = l
	return f
}

// commit runs fn in one commit and fails the test on error.
func (f *fixture) commit(fn func(tx storage.Txn) error) {
	f.tb.Helper()
	if err := f.db.Commit(context.Background(), fn); err != nil {
		f.tb.Fatalf("commit: %v", err)
	}
}

// try runs fn in one commit and returns its error.
func (f *fixture) try(fn func(tx storage.Txn) error) error {
	return f.db.Commit(context.Background(), fn)
}

func (f *fixture) topUp(account, ref string, amount int64) {
	f.tb.Helper()
	f.commit(func(tx storage.Txn) error {
		t, _, err := f.l.CreateTopUp(tx, account, ref, amount)
		if err != nil {
			return err
		}
		_, err = f.l.ConfirmTopUp(tx, account, t.ID, "admin")
		return err
	})
}

func (f *fixture) hold(req HoldRequest) (HoldResult, error) {
	var res HoldResult
	err := f.try(func(tx storage.Txn) error {
		var err error
		res, err = f.l.Hold(tx, req)
		return err
	})
	return res, err
}

func (f *fixture) mustHold(req HoldRequest) HoldResult {
	f.tb.Helper()
	res, err := f.hold(req)
	if err != nil {
		f.tb.Fatalf("hold %s: %v", req.ID, err)
	}
	return res
}

func (f *fixture) capture(id, category string) SettleResult {
	f.tb.Helper()
	var res SettleResult
	f.commit(func(tx storage.Txn) error {
		var err error
		res, err = f.l.Capture(tx, id, category)
		return err
	})
	return res
}

func (f *fixture) release(id string) SettleResult {
	f.tb.Helper()
	var res SettleResult
	f.commit(func(tx storage.Txn) error {
		var err error
		res, err = f.l.Release(tx, id, ReleaseFailed)
		return err
	})
	return res
}

func (f *fixture) balance(account string) Balance {
	f.tb.Helper()
	var b Balance
	if err := f.db.View(func(r storage.Reader) error {
		var err error
		b, err = f.l.Balance(r, account)
		return err
	}); err != nil {
		f.tb.Fatalf("balance: %v", err)
	}
	return b
}

func (f *fixture) verify() VerifyReport {
	f.tb.Helper()
	var rep VerifyReport
	if err := f.db.View(func(r storage.Reader) error {
		var err error
		rep, err = f.l.Verify(r)
		return err
	}); err != nil {
		f.tb.Fatalf("verify: %v", err)
	}
	return rep
}

func (f *fixture) mustVerify() VerifyReport {
	f.tb.Helper()
	rep := f.verify()
	if !rep.OK() {
		f.tb.Fatalf("verify found %d problems: %v", rep.ProblemCount, rep.Problems)
	}
	return rep
}

func (f *fixture) head() head {
	f.tb.Helper()
	var h head
	if err := f.db.View(func(r storage.Reader) error {
		var err error
		h, err = readHead(r)
		return err
	}); err != nil {
		f.tb.Fatalf("head: %v", err)
	}
	return h
}

func marketing(id string) HoldRequest {
	return HoldRequest{ID: id, Account: "acme", MessageID: id, Market: "62", Category: CategoryMarketing}
}

func isErr(err, target error) bool { return errors.Is(err, target) }
