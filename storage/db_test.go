package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"strings"
	"sync"
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

// blockCommitter occupies the committer with a fn that waits for release, so the commits
// started next queue up and run as one group. It returns release and a channel with the
// blocking commit's result.
func blockCommitter(t *testing.T, d *DB) (release func(), result <-chan error) {
	t.Helper()
	started := make(chan struct{})
	unblock := make(chan struct{})
	res := make(chan error, 1)
	go func() {
		res <- d.Commit(context.Background(), func(Txn) error {
			close(started)
			<-unblock
			return nil
		})
	}()
	select {
	case <-started:
	case <-time.After(waitTimeout):
		t.Fatal("committer did not start the blocking fn")
	}
	var once sync.Once
	return func() { once.Do(func() { close(unblock) }) }, res
}

// waitQueued waits until n commit requests are queued behind a blocked committer.
func waitQueued(t *testing.T, d *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for len(d.reqs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d commits queued, want %d", len(d.reqs), n)
		}
		runtime.Gosched()
	}
}

// commitAsync starts a Commit and returns its result channel once the request is queued.
func commitAsync(t *testing.T, d *DB, ctx context.Context, fn func(Txn) error) <-chan error {
	t.Helper()
	n := len(d.reqs)
	res := make(chan error, 1)
	go func() { res <- d.Commit(ctx, fn) }()
	waitQueued(t, d, n+1)
	return res
}

func recv(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("no answer from Commit")
		return nil
	}
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

func TestConcurrentCommitsShareSyncs(t *testing.T) {
	d := mustOpen(t, Options{})
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- d.Commit(context.Background(), func(tx Txn) error {
				return tx.Set(Key(PrefixMessage, U64(uint64(i))), []byte("x"))
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := d.Stats()
	t.Logf("commits %d groups %d syncs %d largest group %d", s.Commits, s.Groups, s.Syncs, s.LargestGroup)
	if s.Commits != n {
		t.Errorf("Commits = %d, want %d", s.Commits, n)
	}
	if s.Groups >= s.Commits || s.Syncs >= s.Commits {
		t.Errorf("no grouping: %d commits in %d groups with %d syncs", s.Commits, s.Groups, s.Syncs)
	}
	count := 0
	err := d.View(func(r Reader) error {
		return r.Iterate([]byte(PrefixMessage), IterOptions{KeysOnly: true}, func(k, v []byte) (bool, error) {
			count++
			return true, nil
		})
	})
	if err != nil || count != n {
		t.Errorf("found %d keys (err %v), want %d", count, err, n)
	}
}

func TestFailingFnDiscardsOnlyItsWrites(t *testing.T) {
	d := mustOpen(t, Options{})
	set(t, d, "c/b", "before")
	release, blocked := blockCommitter(t, d)
	bg := context.Background()
	errBoom := errors.New("boom")

	a := commitAsync(t, d, bg, func(tx Txn) error { return tx.Set([]byte("c/a"), []byte("A")) })
	b := commitAsync(t, d, bg, func(tx Txn) error {
		if err := tx.Set([]byte("c/b"), []byte("B")); err != nil {
			return err
		}
		if err := tx.Set([]byte("c/b2"), []byte("B")); err != nil {
			return err
		}
		return errBoom
	})
	c := commitAsync(t, d, bg, func(tx Txn) error {
		// The failed fn's writes must be invisible to later fns in the group.
		v, err := tx.Get([]byte("c/b"))
		if err != nil {
			return err
		}
		return tx.Set([]byte("c/c"), v)
	})
	release()
	if err := recv(t, blocked); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, a); err != nil {
		t.Errorf("a: %v", err)
	}
	if err := recv(t, b); !errors.Is(err, errBoom) {
		t.Errorf("b: %v, want its own error", err)
	}
	if err := recv(t, c); err != nil {
		t.Errorf("c: %v", err)
	}
	for k, want := range map[string]string{"c/a": "A", "c/b": "before", "c/b2": "<missing>", "c/c": "before"} {
		if got := get(t, d, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if s := d.Stats(); s.LargestGroup < 3 {
		t.Errorf("largest group %d: the three commits were not grouped", s.LargestGroup)
	}
}

func TestGroupReadsAndOverlay(t *testing.T) {
	d := mustOpen(t, Options{})
	set(t, d, "t/old", "committed")
	release, blocked := blockCommitter(t, d)
	bg := context.Background()

	first := commitAsync(t, d, bg, func(tx Txn) error {
		if err := tx.Set([]byte("t/a"), []byte("1")); err != nil {
			return err
		}
		return tx.Delete([]byte("t/old"))
	})
	var seen []string
	var ownGet, deletedGet, ownDelete string
	second := commitAsync(t, d, bg, func(tx Txn) error {
		v, err := tx.Get([]byte("t/a"))
		if err != nil {
			return fmt.Errorf("earlier fn's write: %w", err)
		}
		deletedGet = fmt.Sprint(tx.Get([]byte("t/old")))
		if err := tx.Set([]byte("t/b"), append(v, '+')); err != nil {
			return err
		}
		own, err := tx.Get([]byte("t/b"))
		if err != nil {
			return err
		}
		ownGet = string(own)
		if err := tx.Delete([]byte("t/a")); err != nil {
			return err
		}
		ownDelete = fmt.Sprint(tx.Get([]byte("t/a")))
		return tx.Iterate([]byte("t/"), IterOptions{}, func(k, v []byte) (bool, error) {
			seen = append(seen, string(k)+"="+string(v))
			return true, nil
		})
	})
	release()
	for _, ch := range []<-chan error{blocked, first, second} {
		if err := recv(t, ch); err != nil {
			t.Fatal(err)
		}
	}
	if ownGet != "1+" {
		t.Errorf("Get of own write = %q, want 1+", ownGet)
	}
	if !strings.Contains(deletedGet, ErrNotFound.Error()) {
		t.Errorf("Get of key deleted by earlier fn = %s, want not found", deletedGet)
	}
	if !strings.Contains(ownDelete, ErrNotFound.Error()) {
		t.Errorf("Get after own Delete = %s, want not found", ownDelete)
	}
	// Iterate sees the earlier fn's writes, not this fn's overlay.
	if got := strings.Join(seen, ","); got != "t/a=1" {
		t.Errorf("Iterate saw %q, want t/a=1", got)
	}
	for k, want := range map[string]string{"t/a": "<missing>", "t/b": "1+", "t/old": "<missing>"} {
		if got := get(t, d, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestTxnTooBigSplits(t *testing.T) {
	// The default 16 MiB memtable caps a transaction at about 2.4 MiB: 100 fns writing
	// 100 KB each need several transactions inside one group.
	d := mustOpen(t, Options{})
	const fns, size = 100, 100 << 10
	release, blocked := blockCommitter(t, d)
	bg := context.Background()
	value := bytes.Repeat([]byte{'v'}, size)

	var results []<-chan error
	for i := range fns {
		if i == 50 {
			// One fn alone larger than a transaction fails by itself, mid-group.
			results = append(results, commitAsync(t, d, bg, func(tx Txn) error {
				for j := range 40 {
					if err := tx.Set(Key("x/", U64(uint64(j))), value); err != nil {
						return err
					}
				}
				return nil
			}))
		}
		results = append(results, commitAsync(t, d, bg, func(tx Txn) error {
			return tx.Set(Key(PrefixInbox, U64(uint64(i))), value)
		}))
	}
	release()
	if err := recv(t, blocked); err != nil {
		t.Fatal(err)
	}
	for i, ch := range results {
		err := recv(t, ch)
		if i == 50 {
			if !errors.Is(err, ErrTxnTooBig) {
				t.Errorf("oversized fn: %v, want ErrTxnTooBig", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("fn %d: %v", i, err)
		}
	}
	var n int
	err := d.View(func(r Reader) error {
		if _, err := r.Get(Key("x/", U64(0))); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("oversized fn left a write: %v", err)
		}
		return r.Iterate([]byte(PrefixInbox), IterOptions{}, func(k, v []byte) (bool, error) {
			if len(v) != size {
				return false, fmt.Errorf("%x has %d bytes", k, len(v))
			}
			n++
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != fns {
		t.Errorf("%d of %d values landed", n, fns)
	}
	s := d.Stats()
	if s.Splits == 0 || s.LargestGroup < fns {
		t.Errorf("splits %d, largest group %d: want splits inside one group of %d", s.Splits, s.LargestGroup, fns+1)
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

func TestCommitContext(t *testing.T) {
	d := mustOpen(t, Options{InMemory: true})

	t.Run("done before Commit", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ran := false
		err := d.Commit(ctx, func(Txn) error { ran = true; return nil })
		if !errors.Is(err, context.Canceled) || ran {
			t.Errorf("err %v, ran %v: want context.Canceled and not run", err, ran)
		}
	})

	t.Run("done while queued", func(t *testing.T) {
		release, blocked := blockCommitter(t, d)
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{}, 1)
		res := commitAsync(t, d, ctx, func(tx Txn) error {
			ran <- struct{}{}
			return tx.Set([]byte("ctx/x"), []byte("x"))
		})
		cancel()
		release()
		if err := recv(t, blocked); err != nil {
			t.Fatal(err)
		}
		if err := recv(t, res); !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
		if len(ran) != 0 {
			t.Error("fn ran after its context was cancelled")
		}
		if got := get(t, d, "ctx/x"); got != "<missing>" {
			t.Errorf("ctx/x = %q", got)
		}
	})
}

func TestPanicInFn(t *testing.T) {
	d := mustOpen(t, Options{InMemory: true})
	err := d.Commit(context.Background(), func(tx Txn) error {
		_ = tx.Set([]byte("p/half"), []byte("x"))
		panic("bad fn")
	})
	if err == nil || !strings.Contains(err.Error(), "panicked: bad fn") {
		t.Fatalf("err = %v, want the panic as an error", err)
	}
	set(t, d, "p/after", "ok")
	if got := get(t, d, "p/after"); got != "ok" {
		t.Errorf("committer stopped working after a panic: p/after = %q", got)
	}
	if got := get(t, d, "p/half"); got != "<missing>" {
		t.Errorf("panicking fn's write landed: %q", got)
	}
}

func TestSetCopiesAndTxnEndsWithFn(t *testing.T) {
	d := mustOpen(t, Options{InMemory: true})
	buf := []byte("k/1")
	val := []byte("first")
	var kept Txn
	err := d.Commit(context.Background(), func(tx Txn) error {
		kept = tx
		if err := tx.Set(buf, val); err != nil {
			return err
		}
		copy(buf, "k/2")
		copy(val, "XXXXX")
		got, err := tx.Get([]byte("k/1"))
		if err != nil || string(got) != "first" {
			return fmt.Errorf("overlay changed with caller's buffer: %q %v", got, err)
		}
		got[0] = 'Z' // the copy returned by Get is the caller's
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, d, "k/1"); got != "first" {
		t.Errorf("k/1 = %q, want first", got)
	}
	if err := kept.Set([]byte("k/late"), nil); err == nil {
		t.Error("Set on a Txn after its fn returned succeeded")
	}
	if _, err := kept.Get([]byte("k/1")); err == nil {
		t.Error("Get on a Txn after its fn returned succeeded")
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

func TestCloseDrainsQueuedCommits(t *testing.T) {
	dir := t.TempDir()
	d, err := Open(Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	release, blocked := blockCommitter(t, d)
	const n = 50
	var results []<-chan error
	for i := range n {
		results = append(results, commitAsync(t, d, context.Background(), func(tx Txn) error {
			return tx.Set(Key("q/", U64(uint64(i))), []byte("x"))
		}))
	}
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	// Close is waiting for the queue; new work is already refused. (View, because a
	// Commit accepted before Close would wait behind the blocked committer.)
	deadline := time.Now().Add(waitTimeout)
	for !errors.Is(d.View(func(Reader) error { return nil }), ErrClosed) {
		if time.Now().After(deadline) {
			t.Fatal("Commit still accepted after Close began")
		}
		runtime.Gosched()
	}
	if err := d.Commit(context.Background(), func(Txn) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit while closing: %v, want ErrClosed", err)
	}
	release()
	if err := recv(t, blocked); err != nil {
		t.Fatal(err)
	}
	for i, ch := range results {
		if err := recv(t, ch); err != nil {
			t.Errorf("queued commit %d: %v", i, err)
		}
	}
	if err := recv(t, closed); err != nil {
		t.Fatal(err)
	}

	d = mustOpen(t, Options{Dir: dir})
	for i := range n {
		if got := get(t, d, string(Key("q/", U64(uint64(i))))); got != "x" {
			t.Errorf("queued commit %d lost by Close", i)
		}
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
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

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

// TestOverlayManyWrites: a fn's own writes read back the same whether the overlay
// finds them by scanning or, past overlayLinearOps writes, by its map; an empty value
// stays empty rather than missing, and the last write to a key wins.
func TestOverlayManyWrites(t *testing.T) {
	for _, n := range []int{1, overlayLinearOps, overlayLinearOps + 1, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			d := mustOpen(t, Options{InMemory: true})
			want := map[string]string{}
			err := d.Commit(context.Background(), func(tx Txn) error {
				buf := make([]byte, 0, 64)
				for i := range n {
					k := fmt.Sprintf("t/%03d", i)
					v := strings.Repeat("v", i%3) // the first value is empty
					buf = append(buf[:0], v...)
					if err := tx.Set([]byte(k), buf); err != nil {
						return err
					}
					want[k] = v
				}
				for i := 0; i < n; i += 2 {
					k := fmt.Sprintf("t/%03d", i)
					if i%4 == 0 {
						want[k] = "<missing>"
						if err := tx.Delete([]byte(k)); err != nil {
							return err
						}
						continue
					}
					want[k] = "again"
					if err := tx.Set([]byte(k), []byte("again")); err != nil {
						return err
					}
				}
				for k, w := range want {
					v, err := tx.Get([]byte(k))
					switch {
					case w == "<missing>" && !errors.Is(err, ErrNotFound):
						return fmt.Errorf("Get %s after Delete: %q, %v", k, v, err)
					case w != "<missing>" && (err != nil || string(v) != w || v == nil):
						return fmt.Errorf("Get %s = %q (nil %v), %v; want %q", k, v, v == nil, err, w)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range want {
				if got := get(t, d, k); got != w {
					t.Errorf("committed %s = %q, want %q", k, got, w)
				}
			}
		})
	}
}

// TestOverlayRemembersReads: a fn's repeated reads of the store answer as the store
// did, and the fn's own writes and deletes still win over what it read; values handed
// out are the caller's to change.
func TestOverlayRemembersReads(t *testing.T) {
	d := mustOpen(t, Options{InMemory: true})
	set(t, d, "t/present", "stored")
	err := d.Commit(context.Background(), func(tx Txn) error {
		for round := range 2 {
			v, err := tx.Get([]byte("t/present"))
			if err != nil || string(v) != "stored" {
				return fmt.Errorf("round %d: present = %q, %v", round, v, err)
			}
			v[0] = 'X'
			if _, err := tx.Get([]byte("t/absent")); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("round %d: absent: %v", round, err)
			}
		}
		if err := tx.Set([]byte("t/absent"), []byte("now")); err != nil {
			return err
		}
		if v, err := tx.Get([]byte("t/absent")); err != nil || string(v) != "now" {
			return fmt.Errorf("after Set: %q, %v", v, err)
		}
		if err := tx.Delete([]byte("t/present")); err != nil {
			return err
		}
		if _, err := tx.Get([]byte("t/present")); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("after Delete: %v", err)
		}
		// More distinct keys than the overlay remembers still read right.
		for i := range 3 * overlayReads {
			if _, err := tx.Get([]byte(fmt.Sprintf("t/none%d", i))); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("t/none%d: %v", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := get(t, d, "t/absent"); got != "now" {
		t.Errorf("t/absent = %q", got)
	}
}
