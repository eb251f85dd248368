package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

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

func TestConcurrentCommitsShareSyncs(t *testing.T) {
	d := mustOpen(t, Options{})
	const n = 1000
	commitConcurrently(t, d, n, func(i int, tx Txn) error {
		return tx.Set(Key(PrefixMessage, U64(uint64(i))), []byte("x"))
	})
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

// TestSlabReuseKeepsEveryValue: the committer reuses its copies from group to group, so
// many groups of concurrent commits, with values that share a chunk, cross a chunk's end
// or are too large for one, must each read back exactly what was written.
func TestSlabReuseKeepsEveryValue(t *testing.T) {
	d := mustOpen(t, Options{})
	const n = 2000
	value := func(i int) []byte {
		size := []int{0, 7, 300, slabChunk / 3, slabLarge + 1}[i%5]
		return bytes.Repeat([]byte{byte('a' + i%26)}, size)
	}
	commitConcurrently(t, d, n, func(i int, tx Txn) error {
		if _, err := tx.Get(Key(PrefixMessage, U64(uint64(i-1)))); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return tx.Set(Key(PrefixMessage, U64(uint64(i))), value(i))
	})
	if s := d.Stats(); s.Groups < 2 {
		t.Fatalf("%d commits ran in %d group: no reuse to check", s.Commits, s.Groups)
	}
	err := d.View(func(r Reader) error {
		for i := range n {
			v, err := r.Get(Key(PrefixMessage, U64(uint64(i))))
			if err != nil {
				return err
			}
			if !bytes.Equal(v, value(i)) {
				return fmt.Errorf("key %d: %d bytes read back, want %d of %q", i, len(v), len(value(i)), value(i)[:min(1, len(value(i)))])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// commitConcurrently runs n Commits at once, the i-th with fn(i, tx), and fails the test
// on any error.
func commitConcurrently(t *testing.T, d *DB, n int, fn func(i int, tx Txn) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- d.Commit(context.Background(), func(tx Txn) error { return fn(i, tx) })
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
