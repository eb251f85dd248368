package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBatch(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	set(t, d, "cm/gone", "x")
	b := d.NewBatch()
	const n = 20000
	key := make([]byte, 0, 16)
	for i := range n {
		key = append(key[:0], Key(PrefixListMember, U64(uint64(i)))...)
		if err := b.Set(key, U64(uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Delete([]byte("cm/gone")); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err == nil {
		t.Error("second Flush succeeded")
	}
	b.Cancel() // harmless after Flush
	if err := b.Set([]byte("cm/late"), nil); err == nil {
		t.Error("Set after Flush succeeded")
	}
	cancelled := d.NewBatch()
	if err := cancelled.Set([]byte("cm/cancelled"), nil); err != nil {
		t.Fatal(err)
	}
	cancelled.Cancel()
	if err := d.Close(); err != nil { // would hang if a Batch were still counted as open
		t.Fatal(err)
	}

	d = mustOpen(t, Options{Dir: dir})
	count := 0
	err = d.View(func(r Reader) error {
		return r.Iterate([]byte(PrefixListMember), IterOptions{}, func(k, v []byte) (bool, error) {
			if bytes.HasPrefix(k, []byte("cm/gone")) || bytes.HasPrefix(k, []byte("cm/cancelled")) {
				return false, fmt.Errorf("unexpected key %q", k)
			}
			if !bytes.Equal(k[len(PrefixListMember):], v) {
				return false, fmt.Errorf("key %x has value %x", k, v)
			}
			count++
			return true, nil
		})
	})
	if err != nil || count != n {
		t.Fatalf("%d keys after batch (err %v), want %d", count, err, n)
	}
}

func TestBackupRestore(t *testing.T) {
	d := mustOpen(t, Options{})
	want := map[string]string{}
	for i := range 500 {
		k := string(Key(PrefixContact, U64(uint64(i))))
		set(t, d, k, fmt.Sprint("contact ", i))
		want[k] = fmt.Sprint("contact ", i)
	}
	set(t, d, "c/deleted", "x")
	if err := d.Commit(context.Background(), func(tx Txn) error { return tx.Delete([]byte("c/deleted")) }); err != nil {
		t.Fatal(err)
	}
	set(t, d, string(KeySchemaVersion), "1")
	want[string(KeySchemaVersion)] = "1"

	var buf bytes.Buffer
	if err := d.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	// Writes after the backup must not appear in it.
	set(t, d, "c/after", "x")

	dir := t.TempDir() + "/restored"
	if err := Restore(dir, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := Restore(dir, bytes.NewReader(buf.Bytes())); err == nil {
		t.Error("Restore into a non-empty dir succeeded")
	}
	empty := t.TempDir()
	if err := Restore(empty, bytes.NewReader(buf.Bytes())); err != nil {
		t.Errorf("Restore into an empty dir: %v", err)
	}
	if err := Restore(t.TempDir()+"/bad", strings.NewReader("not a backup")); err == nil {
		t.Error("Restore of garbage succeeded")
	}

	r := mustOpen(t, Options{Dir: dir})
	got := map[string]string{}
	err := r.View(func(rd Reader) error {
		return rd.Iterate(nil, IterOptions{}, func(k, v []byte) (bool, error) {
			got[string(k)] = string(v)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("restored %d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("restored %q = %q, want %q", k, got[k], v)
		}
	}
}

func TestRunGC(t *testing.T) {
	d := mustOpen(t, Options{ValueLogFileSize: 1 << 20, GCInterval: time.Hour})
	for i := range 50 {
		set(t, d, "gc/key", strings.Repeat("x", 1000+i))
	}
	n, err := d.RunGC()
	if err != nil {
		t.Fatal(err)
	}
	if s := d.Stats(); s.GCRewrites != int64(n) {
		t.Errorf("GCRewrites %d, RunGC said %d", s.GCRewrites, n)
	}
	mem := mustOpen(t, Options{InMemory: true})
	if n, err := mem.RunGC(); n != 0 || err != nil {
		t.Errorf("in-memory RunGC = %d, %v", n, err)
	}
}

func TestStatsSizes(t *testing.T) {
	d := mustOpen(t, Options{})
	set(t, d, "s/1", "x")
	s := d.Stats()
	if s.WALBytes == 0 && s.LSMBytes == 0 && s.VLogBytes == 0 {
		t.Errorf("no on-disk sizes reported: %+v", s)
	}
	t.Logf("%+v", s)
	if s.Commits != 1 || s.Groups != 1 || s.Syncs != 1 || s.LargestGroup != 1 {
		t.Errorf("counters %+v, want one commit, group and sync", s)
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"no dir", Options{}, false},
		{"negative size", Options{InMemory: true, MemTableSize: -1}, false},
		{"bad ratio", Options{InMemory: true, GCDiscardRatio: 1}, false},
		{"memtable too small", Options{InMemory: true, MemTableSize: 3 << 20}, false},
		{"smallest memtable", Options{InMemory: true, MemTableSize: 4 << 20}, true},
		{"table too small", Options{InMemory: true, TableSize: 1 << 10}, false},
		{"unknown compression", Options{InMemory: true, Compression: "lz4"}, false},
		{"zstd", Options{InMemory: true, Compression: CompressionZstd}, true},
		{"defaults", Options{InMemory: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Logger = quietLogger()
			d, err := Open(tt.opts)
			if (err == nil) != tt.ok {
				t.Fatalf("Open: %v, want ok=%v", err, tt.ok)
			}
			if d != nil {
				_ = d.Close()
			}
		})
	}
}

type recordHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Level.String()+" "+r.Message)
	return nil
}

func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h *recordHandler) WithGroup(string) slog.Handler { return h }

func TestBadgerLogger(t *testing.T) {
	h := &recordHandler{}
	l := badgerLogger{slog.New(h)}
	l.Infof("flushing %d", 1)
	l.Debugf("compaction")
	l.Warningf("slow %s\n", "disk")
	l.Errorf("broken")
	if got := strings.Join(h.msgs, "|"); got != "WARN slow disk|ERROR broken" {
		t.Errorf("logged %q", got)
	}
}

func TestStatsWritten(t *testing.T) {
	d := mustOpen(t, Options{InMemory: true})
	ctx := context.Background()
	set(t, d, PrefixMessage+"abc", "12345")           // 5 + 5
	set(t, d, PrefixMessageIndex+"s/acme\x00abc", "") // 12
	set(t, d, "zz/unknown", "v")                      // other: 11
	errRefused := errors.New("refused")
	if err := d.Commit(ctx, func(tx Txn) error {
		_ = tx.Set([]byte(PrefixMessage+"lost"), []byte("never written"))
		return errRefused
	}); !errors.Is(err, errRefused) {
		t.Fatalf("refused commit: %v", err)
	}
	if err := d.Commit(ctx, func(tx Txn) error { return tx.Delete([]byte(PrefixMessage + "abc")) }); err != nil {
		t.Fatal(err)
	}
	b := d.NewBatch()
	if err := b.Set([]byte(PrefixContact+"+62812"), []byte("{}")); err != nil { // 8 + 2
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{PrefixMessage: 10 + 5, PrefixMessageIndex: 13, PrefixContact: 10, "other": 11}
	if got := d.Stats().Written; !maps.Equal(got, want) {
		t.Errorf("Written = %v, want %v", got, want)
	}
}
