package storage

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// watchLogSyncs records the logs the store syncs itself.
func watchLogSyncs(d *DB) func() map[string]bool {
	var mu sync.Mutex
	synced := map[string]bool{}
	d.logs.mu.Lock()
	inner := d.logs.fsync
	d.logs.fsync = func(path string) error {
		mu.Lock()
		synced[filepath.Base(path)] = true
		mu.Unlock()
		return inner(path)
	}
	d.logs.mu.Unlock()
	return func() map[string]bool {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(synced)
	}
}

// unsyncedInactiveLogs lists the memtable logs in dir other than the newest (the
// active one) that were not synced: once a write is acknowledged, none may be left.
func unsyncedInactiveLogs(t *testing.T, dir string, synced map[string]bool) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var mems []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".mem") {
			mems = append(mems, e.Name())
		}
	}
	slices.Sort(mems)
	var out []string
	for _, m := range mems[:max(0, len(mems)-1)] {
		if !synced[m] {
			out = append(out, m)
		}
	}
	return out
}

// TestInactiveLogsSyncedBeforeAnswer: Badger's Sync covers only the active write-ahead
// log, so a write that went into a log Badger then left behind must be synced by the
// store before its Commit (or Batch.Flush) answers.
func TestInactiveLogsSyncedBeforeAnswer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		watch func(dir string) creationWatch
	}{
		{"watch", watchCreations},
		{"listing", func(string) creationWatch { return listing{} }},
	} {
		t.Run(tc.name, func(t *testing.T) { testInactiveLogsSynced(t, tc.watch) })
	}
}

func testInactiveLogsSynced(t *testing.T, watch func(dir string) creationWatch) {
	dir := t.TempDir()
	d := mustOpen(t, Options{Dir: dir, MemTableSize: MinMemTableSize})
	d.logs.mu.Lock()
	_ = d.logs.watch.close()
	d.logs.watch = watch(dir)
	d.logs.mu.Unlock()
	seen := watchLogSyncs(d)
	val := make([]byte, 64<<10)
	for i := range 200 {
		err := d.Commit(context.Background(), func(tx Txn) error {
			for j := range 4 {
				if err := tx.Set(Key("c/", U64(uint64(i)), U64(uint64(j))), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if left := unsyncedInactiveLogs(t, dir, seen()); len(left) > 0 {
			t.Fatalf("commit %d answered while inactive logs %v were not synced", i, left)
		}
	}
	rotated := d.Stats().LogsSynced
	if rotated < 5 {
		t.Fatalf("%d logs synced after 50 MiB through 4 MiB memtables, want at least 5", rotated)
	}

	b := d.NewBatch()
	for i := range 400 {
		if err := b.Set(Key("b/", U64(uint64(i))), val); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if left := unsyncedInactiveLogs(t, dir, seen()); len(left) > 0 {
		t.Fatalf("batch flushed while inactive logs %v were not synced", left)
	}
	if got := d.Stats().LogsSynced; got <= rotated {
		t.Errorf("logs synced %d after a 25 MiB batch, want more than %d", got, rotated)
	}
}
