package lists

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kirim/clock"
	"kirim/storage"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// openDB opens a store in dir, or in memory when dir is "".
func openDB(tb testing.TB, dir string) *storage.DB {
	tb.Helper()
	db, err := storage.Open(storage.Options{Dir: dir, InMemory: dir == "", GCInterval: -1, Logger: quietLogger()})
	if err != nil {
		tb.Fatalf("open storage: %v", err)
	}
	return db
}

// newStore is a Store over a fresh in-memory DB with a fake clock.
func newStore(tb testing.TB) *Store {
	tb.Helper()
	db := openDB(tb, "")
	s, err := Open(db, clock.NewFake(t0), quietLogger())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = s.Close()
		_ = db.Close()
	})
	return s
}

// importFile imports a testdata file synchronously.
func importFile(tb testing.TB, s *Store, account, list, name string) (*Import, error) {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	return s.ImportSync(context.Background(), ImportRequest{Account: account, ListName: list, Filename: name, Region: "ID", Body: f})
}

// members collects a list's members in order.
func members(tb testing.TB, s *Store, listID string) []Member {
	tb.Helper()
	var out []Member
	if err := s.Members(listID, "", func(m Member) (bool, error) {
		out = append(out, m)
		return true, nil
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}
