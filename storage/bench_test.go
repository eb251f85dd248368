package storage

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// benchWriters is the number of concurrent writers, like 64 API clients.
const benchWriters = 64

var benchValue = []byte("a small record of about sixty-four bytes, like a queue entry....")

// runWriters spreads n writes over benchWriters goroutines and returns the wall time.
func runWriters(b *testing.B, n int, write func(i uint64) error) time.Duration {
	b.Helper()
	var next atomic.Uint64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range benchWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > uint64(n) {
					return
				}
				if err := write(i); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return elapsed
}

func groupWrite(d *DB) func(uint64) error {
	return func(i uint64) error {
		return d.Commit(context.Background(), func(tx Txn) error {
			return tx.Set(Key("bench/", U64(i)), benchValue)
		})
	}
}

func syncedTxnWrite(db *badger.DB) func(uint64) error {
	return func(i uint64) error {
		return db.Update(func(txn *badger.Txn) error {
			return txn.Set(Key("bench/", U64(i)), benchValue)
		})
	}
}

// openSyncedBadger opens Badger with the same sizes as Open but SyncWrites on: the
// one-sync-per-transaction baseline.
func openSyncedBadger(b *testing.B) *badger.DB {
	b.Helper()
	opts := Options{Dir: b.TempDir(), Logger: quietLogger()}.withDefaults()
	db, err := badger.Open(opts.badger().WithSyncWrites(true).WithDetectConflicts(true))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// BenchmarkGroupCommit64: 64 goroutines, one small key per Commit, on disk.
func BenchmarkGroupCommit64(b *testing.B) {
	d := mustOpen(b, Options{})
	b.ResetTimer()
	elapsed := runWriters(b, b.N, groupWrite(d))
	s := d.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(s.Commits)/float64(max(s.Syncs, 1)), "commits/sync")
}

// BenchmarkSyncedTxn64: the same load, one synced Badger transaction per write.
func BenchmarkSyncedTxn64(b *testing.B) {
	db := openSyncedBadger(b)
	b.ResetTimer()
	elapsed := runWriters(b, b.N, syncedTxnWrite(db))
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
}

// benchRounds alternates the two loads of BenchmarkGroupVsSyncedTxn64, so a burst of
// disk activity from elsewhere lands on both rather than on one.
const benchRounds = 4

// BenchmarkGroupVsSyncedTxn64 runs both loads in the same run, b.N writes each, so the
// ratio compares them on the same disk at the same moment.
func BenchmarkGroupVsSyncedTxn64(b *testing.B) {
	d := mustOpen(b, Options{})
	db := openSyncedBadger(b)
	gw, sw := groupWrite(d), syncedTxnWrite(db)
	b.ResetTimer()
	var group, synced time.Duration
	for r := range benchRounds {
		n := b.N / benchRounds
		if r == benchRounds-1 {
			n = b.N - n*(benchRounds-1)
		}
		off := uint64(r * (b.N / benchRounds))
		group += runWriters(b, n, func(i uint64) error { return gw(off + i) })
		synced += runWriters(b, n, func(i uint64) error { return sw(off + i) })
	}
	groupRate := float64(b.N) / group.Seconds()
	syncedRate := float64(b.N) / synced.Seconds()
	b.ReportMetric(groupRate, "group-ops/s")
	b.ReportMetric(syncedRate, "synced-txn-ops/s")
	b.ReportMetric(groupRate/syncedRate, "ratio")
}

// BenchmarkAcceptShapedCommit64: 64 goroutines commit functions shaped like a send's
// accept (a few reads of hot keys, then 14 writes of 0 to 220 bytes, one key written
// twice), in memory, so the figure is the commit path's own CPU and allocations.
func BenchmarkAcceptShapedCommit64(b *testing.B) {
	d := mustOpen(b, Options{InMemory: true})
	val := make([]byte, 220)
	hot := [][]byte{Key("lb/", Str("acct:available")), Key("lb/", Str("acct:held")), Key("lm/", Str("head"))}
	b.ReportAllocs()
	b.ResetTimer()
	runWriters(b, b.N, func(i uint64) error {
		return d.Commit(context.Background(), func(tx Txn) error {
			for _, k := range hot {
				if _, err := tx.Get(k); err != nil && err != ErrNotFound {
					return err
				}
			}
			for j, n := range []int{200, 32, 40, 8, 8, 16, 180, 0, 100, 220, 0, 0, 0, 0} {
				k := Key("bench/", U64(i), U64(uint64(j)))
				if j < len(hot) {
					k = hot[j]
				}
				if err := tx.Set(k, val[:n]); err != nil {
					return err
				}
			}
			if _, err := tx.Get(hot[0]); err != nil {
				return err
			}
			return tx.Set(hot[0], val[:8])
		})
	})
}
