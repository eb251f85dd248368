package ledger

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"kirim/storage"
)

func benchLedger(b *testing.B) *Ledger {
	b.Helper()
	now := time.Date(2025, 7, 10, 9, 0, 0, 0, time.UTC)
	l, err := New(Config{
		Accounts:  []Account{{ID: "acme", Currency: "IDR", Timezone: jakarta(b)}},
		RateCards: []RateCard{seedCard(jan2025)},
		Now:       func() time.Time { return now },
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func benchTopUp(b *testing.B, db *storage.DB, l *Ledger, times int) {
	b.Helper()
	for i := range times {
		err := db.Commit(context.Background(), func(tx storage.Txn) error {
			t, _, err := l.CreateTopUp(tx, "acme", fmt.Sprintf("bench-%d", i), MaxAmount)
			if err != nil {
				return err
			}
			_, err = l.ConfirmTopUp(tx, "acme", t.ID, "bench")
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHoldCapture measures hold + capture pairs, each its own synced Commit (as in
// the accept path and the webhook path), from 64 goroutines on an on-disk store. All
// pairs hit one account, so the balance, volume and chain-head keys are as hot as they
// get.
func BenchmarkHoldCapture(b *testing.B) {
	db := mustOpen(b, b.TempDir())
	l := benchLedger(b)
	benchTopUp(b, db, l, 1)
	var next atomic.Int64
	ctx := context.Background()
	b.SetParallelism(64 / max(1, runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("m%09d", next.Add(1))
			if err := db.Commit(ctx, func(tx storage.Txn) error {
				_, err := l.Hold(tx, HoldRequest{ID: id, Account: "acme", MessageID: id, Market: "62", Category: CategoryMarketing})
				return err
			}); err != nil {
				b.Error(err)
				return
			}
			if err := db.Commit(ctx, func(tx storage.Txn) error {
				_, err := l.Capture(tx, id, "")
				return err
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
	st := db.Stats()
	b.ReportMetric(float64(st.Commits)/float64(max(1, st.Syncs)), "commits/sync")
}

// BenchmarkVerify measures Verify over one million entries: 500,000 hold + capture
// pairs written 500 pairs per commit.
func BenchmarkVerify(b *testing.B) {
	const pairs, perCommit = 500_000, 500
	// LEDGER_BENCH_DIR keeps the built store between runs (it takes a minute to build).
	dir := os.Getenv("LEDGER_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	db := mustOpen(b, dir)
	l := benchLedger(b)
	var h head
	if err := db.View(func(r storage.Reader) (err error) { h, err = readHead(r); return err }); err != nil {
		b.Fatal(err)
	}
	if h.Seq == 0 {
		benchTopUp(b, db, l, 3)
	}
	start := time.Now()
	for c := 0; h.Seq == 0 && c < pairs/perCommit; c++ {
		err := db.Commit(context.Background(), func(tx storage.Txn) error {
			for i := range perCommit {
				id := fmt.Sprintf("m%09d", c*perCommit+i)
				if _, err := l.Hold(tx, HoldRequest{ID: id, Account: "acme", MessageID: id, Market: "62", Category: CategoryMarketing}); err != nil {
					return err
				}
				if _, err := l.Capture(tx, id, ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d entries in %v", 2*pairs+3, time.Since(start).Round(time.Millisecond))
	b.ResetTimer()
	for range b.N {
		var rep VerifyReport
		if err := db.View(func(r storage.Reader) (err error) { rep, err = l.Verify(r); return err }); err != nil {
			b.Fatal(err)
		}
		if !rep.OK() || rep.Entries != 2*pairs+3 {
			b.Fatalf("verify: %d entries, problems %v", rep.Entries, rep.Problems)
		}
	}
	b.ReportMetric(float64(2*pairs+3)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkHoldCaptureCPU measures the ledger's own cost of one hold + capture pair: an
// in-memory store, 100 pairs per commit, one goroutine.
func BenchmarkHoldCaptureCPU(b *testing.B) {
	db := mustOpen(b, "")
	l := benchLedger(b)
	benchTopUp(b, db, l, 1)
	inCommits(b, db, func(tx storage.Txn, j int) error {
		id := fmt.Sprintf("m%09d", j)
		if _, err := l.Hold(tx, HoldRequest{ID: id, Account: "acme", MessageID: id, Market: "62", Category: CategoryMarketing}); err != nil {
			return err
		}
		_, err := l.Capture(tx, id, "")
		return err
	})
}

// inCommits runs op for 0..b.N-1, 100 to a commit, from one goroutine, timing only
// those commits.
func inCommits(b *testing.B, db *storage.DB, op func(tx storage.Txn, j int) error) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 100 {
		err := db.Commit(context.Background(), func(tx storage.Txn) error {
			for j := i; j < min(i+100, b.N); j++ {
				if err := op(tx, j); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHoldCPU measures one send's hold as the biller asks for it (a fresh id):
// an in-memory store, 100 holds per commit, one goroutine.
func BenchmarkHoldCPU(b *testing.B) {
	db := mustOpen(b, "")
	l := benchLedger(b)
	benchTopUp(b, db, l, 1)
	inCommits(b, db, func(tx storage.Txn, j int) error {
		id := fmt.Sprintf("msg_%09d", j)
		_, err := l.Hold(tx, HoldRequest{ID: id, Account: "acme", MessageID: id, Recipient: "6281234567890", Market: "62",
			Category: CategoryUtility, ContentType: "template", Fresh: true})
		return err
	})
}
