package storage

import (
	"context"
	"testing"
	"time"
)

// TestAgedRecords: Aged lists the index keys of records made at or before the cutoff,
// oldest first and at most limit; DropAged deletes them with their records and leaves
// the younger ones.
func TestAgedRecords(t *testing.T) {
	d := mustOpen(t, Options{InMemory: true})
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, name := range []string{"a", "b", "c"} {
		at := t0.Add(time.Duration(i) * time.Hour)
		set(t, d, PrefixIdempotency+name, "answer "+name)
		set(t, d, string(AgeKey(PrefixIdempotencyExpiry, at, []byte(name))), "")
	}
	tests := []struct {
		cutoff time.Time
		limit  int
		want   []string
	}{
		{t0.Add(-time.Nanosecond), 10, nil},
		{t0, 10, []string{"a"}},
		{t0.Add(90 * time.Minute), 10, []string{"a", "b"}},
		{t0.Add(5 * time.Hour), 2, []string{"a", "b"}},
	}
	for _, tt := range tests {
		var keys [][]byte
		if err := d.View(func(r Reader) error {
			var err error
			keys, err = Aged(r, PrefixIdempotencyExpiry, tt.cutoff, tt.limit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(keys) != len(tt.want) {
			t.Fatalf("cutoff %v limit %d: %d keys, want %v", tt.cutoff, tt.limit, len(keys), tt.want)
		}
		for i, k := range keys {
			if tail := string(k[len(PrefixIdempotencyExpiry)+8:]); tail != tt.want[i] {
				t.Errorf("cutoff %v: key %d names %q, want %q", tt.cutoff, i, tail, tt.want[i])
			}
		}
	}

	var old [][]byte
	if err := d.Commit(context.Background(), func(tx Txn) error {
		var err error
		if old, err = Aged(tx, PrefixIdempotencyExpiry, t0.Add(90*time.Minute), 10); err != nil {
			return err
		}
		return DropAged(tx, PrefixIdempotencyExpiry, PrefixIdempotency, old)
	}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "<missing>", "b": "<missing>", "c": "answer c"} {
		if got := get(t, d, PrefixIdempotency+name); got != want {
			t.Errorf("record %s = %q after the drop, want %q", name, got, want)
		}
	}
	if got := get(t, d, string(AgeKey(PrefixIdempotencyExpiry, t0.Add(2*time.Hour), []byte("c")))); got != "" {
		t.Errorf("the younger record's index entry = %q, want it kept", got)
	}
	if n := len(old); n != 2 {
		t.Errorf("dropped %d, want 2", n)
	}
}
