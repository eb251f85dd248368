package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// waitTimeout bounds every wait on an asynchronous event; it is never slept.
const waitTimeout = 20 * time.Second

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError + 1}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// mustOpen opens a store in a temp dir (or in memory) and closes it after the test.
func mustOpen(tb testing.TB, opts Options) *DB {
	tb.Helper()
	if !opts.InMemory && opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	d, err := Open(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = d.Close() })
	return d
}

func set(tb testing.TB, d *DB, key, value string) {
	tb.Helper()
	err := d.Commit(context.Background(), func(tx Txn) error {
		return tx.Set([]byte(key), []byte(value))
	})
	if err != nil {
		tb.Fatalf("commit %s: %v", key, err)
	}
}

// get returns the value at key, or "<missing>".
func get(tb testing.TB, d *DB, key string) string {
	tb.Helper()
	var v []byte
	err := d.View(func(r Reader) error {
		var err error
		v, err = r.Get([]byte(key))
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return "<missing>"
	}
	if err != nil {
		tb.Fatalf("get %s: %v", key, err)
	}
	return string(v)
}

func TestDurableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		set(t, d, fmt.Sprintf("m/%03d", i), fmt.Sprintf("v%d", i))
	}
	if err := d.Commit(context.Background(), func(tx Txn) error { return tx.Delete([]byte("m/050")) }); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = mustOpen(t, Options{Dir: dir})
	for i := range 100 {
		k := fmt.Sprintf("m/%03d", i)
		want := fmt.Sprintf("v%d", i)
		if i == 50 {
			want = "<missing>"
		}
		if got := get(t, d, k); got != want {
			t.Errorf("%s = %q after reopen, want %q", k, got, want)
		}
	}
}

// TestCompressedTables writes the same records under each compression: every table
// reads back after a reopen under another compression (each table names its own), and
// Zstandard takes less disk than Snappy, which takes less than none.
func TestCompressedTables(t *testing.T) {
	const n = 30000
	value := func(i int) string {
		return fmt.Sprintf("msg_01M801EEP7F5F01HC%09d|account:acme:reserve|cmp_01M801EDM189ZSAQNXKVS9YGJW|628120000%04d", i, i%9973)
	}
	sizes := map[Compression]int64{}
	for _, c := range []Compression{CompressionNone, CompressionSnappy, CompressionZstd} {
		dir := t.TempDir()
		d := mustOpen(t, Options{Dir: dir, Compression: c, MemTableSize: MinMemTableSize})
		b := d.NewBatch()
		for i := range n {
			if err := b.Set([]byte(fmt.Sprintf("le/e/%08d", i)), []byte(value(i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		other := CompressionZstd
		if c == CompressionZstd {
			other = CompressionNone
		}
		d = mustOpen(t, Options{Dir: dir, Compression: other})
		sizes[c] = d.Stats().LSMBytes
		for _, i := range []int{0, n / 2, n - 1} {
			if got := get(t, d, fmt.Sprintf("le/e/%08d", i)); got != value(i) {
				t.Fatalf("%q: record %d reads %q after a reopen with %q", c, i, got, other)
			}
		}
	}
	t.Logf("table bytes: none %d, snappy %d, zstd %d", sizes[CompressionNone], sizes[CompressionSnappy], sizes[CompressionZstd])
	if sizes[CompressionNone] == 0 || !(sizes[CompressionZstd] < sizes[CompressionSnappy] && sizes[CompressionSnappy] < sizes[CompressionNone]) {
		t.Fatalf("table bytes none %d, snappy %d, zstd %d: want each compression smaller than the one before",
			sizes[CompressionNone], sizes[CompressionSnappy], sizes[CompressionZstd])
	}
}

func TestIterate(t *testing.T) {
	d := mustOpen(t, Options{InMemory: true})
	// "b0" is PrefixEnd("b/"): a reverse scan of b/ must skip it.
	for _, k := range []string{"a/1", "b/1", "b/2", "b/3", "b/4", "b0", "c/1"} {
		set(t, d, k, "v"+k)
	}
	tests := []struct {
		name   string
		prefix string
		opts   IterOptions
		stopAt int // stop after this many keys; 0 means never
		want   string
	}{
		{"prefix", "b/", IterOptions{}, 0, "b/1 b/2 b/3 b/4"},
		{"start", "b/", IterOptions{Start: []byte("b/3")}, 0, "b/3 b/4"},
		{"start between keys", "b/", IterOptions{Start: []byte("b/25")}, 0, "b/3 b/4"},
		{"start before prefix", "b/", IterOptions{Start: []byte("a")}, 0, "b/1 b/2 b/3 b/4"},
		{"start after prefix", "b/", IterOptions{Start: []byte("c")}, 0, ""},
		{"reverse", "b/", IterOptions{Reverse: true}, 0, "b/4 b/3 b/2 b/1"},
		{"reverse start", "b/", IterOptions{Reverse: true, Start: []byte("b/2")}, 0, "b/2 b/1"},
		{"reverse start between", "b/", IterOptions{Reverse: true, Start: []byte("b/25")}, 0, "b/2 b/1"},
		{"reverse start after prefix", "b/", IterOptions{Reverse: true, Start: []byte("zz")}, 0, "b/4 b/3 b/2 b/1"},
		{"reverse last prefix", "c/", IterOptions{Reverse: true}, 0, "c/1"},
		{"keys only", "b/", IterOptions{KeysOnly: true}, 0, "b/1 b/2 b/3 b/4"},
		{"stop early", "b/", IterOptions{}, 2, "b/1 b/2"},
		{"reverse stop early", "b/", IterOptions{Reverse: true}, 1, "b/4"},
		{"empty prefix", "", IterOptions{}, 0, "a/1 b/1 b/2 b/3 b/4 b0 c/1"},
		{"empty prefix reverse", "", IterOptions{Reverse: true}, 3, "c/1 b0 b/4"},
		{"no match", "z/", IterOptions{}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scan := func(r Reader) (string, error) {
				var got []string
				err := r.Iterate([]byte(tt.prefix), tt.opts, func(k, v []byte) (bool, error) {
					if tt.opts.KeysOnly && v != nil {
						return false, fmt.Errorf("KeysOnly gave value %q", v)
					}
					if !tt.opts.KeysOnly && string(v) != "v"+string(k) {
						return false, fmt.Errorf("value of %s = %q", k, v)
					}
					got = append(got, string(k))
					return tt.stopAt == 0 || len(got) < tt.stopAt, nil
				})
				return strings.Join(got, " "), err
			}
			var viewGot, commitGot string
			if err := d.View(func(r Reader) (err error) { viewGot, err = scan(r); return err }); err != nil {
				t.Fatal(err)
			}
			if err := d.Commit(context.Background(), func(tx Txn) (err error) { commitGot, err = scan(tx); return err }); err != nil {
				t.Fatal(err)
			}
			if viewGot != tt.want || commitGot != tt.want {
				t.Errorf("View %q, Commit %q, want %q", viewGot, commitGot, tt.want)
			}
		})
	}

	errStop := errors.New("stop")
	err := d.View(func(r Reader) error {
		return r.Iterate([]byte("b/"), IterOptions{}, func(k, v []byte) (bool, error) { return true, errStop })
	})
	if !errors.Is(err, errStop) {
		t.Errorf("error from fn: %v", err)
	}
}

func TestValueTooBig(t *testing.T) {
	d := mustOpen(t, Options{ValueLogFileSize: 1 << 20})
	big := bytes.Repeat([]byte{'s'}, 1<<20+1)
	err := d.Commit(context.Background(), func(tx Txn) error { return tx.Set([]byte("v/big"), big) })
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("err = %.300v, want a short error that does not quote the value", err)
	}
	b := d.NewBatch()
	defer b.Cancel()
	if err := b.Set([]byte("v/big"), big); err == nil {
		t.Error("Batch accepted a value larger than a value-log file")
	}
}

func TestBadKeys(t *testing.T) {
	d := mustOpen(t, Options{InMemory: true})
	for _, key := range [][]byte{nil, {}, bytes.Repeat([]byte("k"), MaxKeySize+1), []byte("!badger!head")} {
		err := d.Commit(context.Background(), func(tx Txn) error { return tx.Set(key, []byte("v")) })
		if err == nil {
			t.Errorf("Set(%.20q) accepted", key)
		}
		b := d.NewBatch()
		if err := b.Set(key, []byte("v")); err == nil {
			t.Errorf("Batch.Set(%.20q) accepted", key)
		}
		b.Cancel()
	}
}

// A close that cannot finish (here the committer is stuck; in life, a disk that refuses
// Badger's last flush) must not keep a stopping process alive, and giving up on it must
// lose no acknowledged write.
func TestCloseContextGivesUp(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	set(t, d, "k/acked", "x")
	release, blocked := blockCommitter(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = d.CloseContext(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CloseContext with a stuck close: %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "write-ahead log") {
		t.Errorf("error %q does not say where acknowledged writes are", err)
	}
	// The close went on in the background and finishes once it can.
	release()
	if err := recv(t, blocked); err != nil {
		t.Fatal(err)
	}
	if err := d.CloseContext(context.Background()); err != nil {
		t.Fatalf("CloseContext after the stuck close finished: %v", err)
	}
	d = mustOpen(t, Options{Dir: dir})
	if got := get(t, d, "k/acked"); got != "x" {
		t.Errorf("acknowledged write read %q after the abandoned close", got)
	}
}

func TestAfterClose(t *testing.T) {
	d, err := Open(Options{InMemory: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checks := map[string]error{
		"Commit": d.Commit(context.Background(), func(Txn) error { return nil }),
		"View":   d.View(func(Reader) error { return nil }),
		"Backup": d.Backup(&bytes.Buffer{}),
		"Batch":  d.NewBatch().Set([]byte("k"), nil),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}
