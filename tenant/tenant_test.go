package tenant

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"kirim/clock"
	"kirim/storage"
)

func openStore(t *testing.T, dir string, clk clock.Clock) (*storage.DB, *Store) {
	t.Helper()
	db, err := storage.Open(storage.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(db, clk)
	if err != nil {
		t.Fatal(err)
	}
	return db, s
}

// TestKeysLiveAcrossRestarts makes, uses and revokes keys, and reopens the store: only
// hashes are stored, a revoked key is refused at once and stays revoked, and the last
// use written by Flush survives.
func TestKeysLiveAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := clock.NewFake(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	db, s := openStore(t, dir, clk)
	k1, secret1, err := s.CreateKey(ctx, "acme", "erp", []string{"send"}, "admin-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	k2, secret2, err := s.CreateKey(ctx, "beta", "shop", []string{"admin"}, "ops", nil)
	if err != nil {
		t.Fatal(err)
	}
	if secret1 == secret2 || len(secret1) < 40 || k1.SHA256 != sha256.Sum256([]byte(secret1)) {
		t.Fatalf("secrets %q %q", secret1, secret2)
	}
	if got, ok := s.Lookup(sha256.Sum256([]byte(secret1))); !ok || got.ID != k1.ID || got.Account != "acme" {
		t.Fatalf("lookup %+v %v", got, ok)
	}
	// A key is revoked only within its account.
	if _, err := s.Revoke(ctx, "beta", k1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("beta revokes acme's key: %v", err)
	}
	clk.Advance(2 * time.Minute)
	s.Touch(k2.ID)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	used := clk.Now().UTC()
	if _, err := s.Revoke(ctx, "acme", k1.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup(k1.SHA256); ok {
		t.Fatal("a revoked key still authenticates")
	}
	if _, err := s.CreateAccount(ctx, Account{ID: "gamma", Currency: "IDR", Timezone: "Asia/Jakarta", DefaultRegion: "ID"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(ctx, Account{ID: "gamma"}, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("account twice: %v", err)
	}
	if _, err := s.CreateAccount(ctx, Account{ID: "acme"}, func(id string) bool { return id == "acme" }); !errors.Is(err, ErrExists) {
		t.Fatalf("a configured account: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, s = openStore(t, dir, clk)
	defer db.Close()
	if _, ok := s.Lookup(k1.SHA256); ok {
		t.Fatal("a revoked key authenticates after a restart")
	}
	got, ok := s.Lookup(k2.SHA256)
	if !ok || !got.LastUsed.Equal(used) || got.CreatedBy != "ops" {
		t.Fatalf("after restart %+v %v, want last use %v", got, ok, used)
	}
	keys := s.Keys("acme")
	if len(keys) != 1 || !keys[0].Revoked() {
		t.Fatalf("acme's keys %+v", keys)
	}
	if all := s.Keys(""); len(all) != 2 {
		t.Fatalf("every key: %d", len(all))
	}
	if as := s.Accounts(); len(as) != 1 || as[0].ID != "gamma" {
		t.Fatalf("accounts %+v", as)
	}
	// Nothing stored holds a key itself.
	err = db.View(func(r storage.Reader) error {
		return r.Iterate([]byte(storage.PrefixAPIKey), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			for _, sec := range []string{secret1, secret2} {
				if contains(v, sec) {
					t.Errorf("a stored key record holds the key")
				}
			}
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTouchWritesAtMostOncePerMinute: a busy key costs one write a minute at most.
func TestTouchWritesAtMostOncePerMinute(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	db, s := openStore(t, t.TempDir(), clk)
	defer db.Close()
	k, _, err := s.CreateKey(context.Background(), "acme", "erp", []string{"send"}, "admin", nil)
	if err != nil {
		t.Fatal(err)
	}
	first := clk.Now()
	s.Touch(k.ID)
	clk.Advance(30 * time.Second)
	s.Touch(k.ID)
	if got := s.Keys("acme")[0].LastUsed; !got.Equal(first) {
		t.Fatalf("last use %v, want %v (the second touch is within a minute)", got, first)
	}
	clk.Advance(31 * time.Second)
	s.Touch(k.ID)
	if got := s.Keys("acme")[0].LastUsed; !got.Equal(clk.Now()) {
		t.Fatalf("last use %v, want %v", got, clk.Now())
	}
	if _, _, err := s.CreateKey(context.Background(), "acme", "x", []string{"send"}, "admin", func([32]byte) bool { return true }); !errors.Is(err, ErrExists) {
		t.Fatalf("a key taken elsewhere: %v", err)
	}
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
