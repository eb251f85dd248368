package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kirim/clock"
	"kirim/storage"
)

var start = time.Date(2025, 7, 10, 9, 0, 0, 0, time.UTC)

// openDB opens a store on disk in dir, as Kirim runs it.
func openDB(tb testing.TB, dir string) *storage.DB {
	tb.Helper()
	db, err := storage.Open(storage.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		tb.Fatalf("open storage: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

type fixture struct {
	t   *testing.T
	db  *storage.DB
	clk *clock.Fake
	log *Log
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := openDB(t, t.TempDir())
	clk := clock.NewFake(start)
	return &fixture{t: t, db: db, clk: clk, log: New(db, clk)}
}

func (f *fixture) append(r Record) Record {
	f.t.Helper()
	out, err := f.log.Append(context.Background(), r)
	if err != nil {
		f.t.Fatalf("Append %+v: %v", r, err)
	}
	return out
}

func (f *fixture) verify(want uint64) {
	f.t.Helper()
	n, err := f.log.Verify()
	if err != nil || n != want {
		f.t.Fatalf("Verify = %d, %v; want %d, nil", n, err, want)
	}
}

// all reads every record through List, page by page.
func (f *fixture) all() []Record {
	f.t.Helper()
	var out []Record
	cur := ""
	for {
		page, next, err := f.log.List(Filter{Cursor: cur, Limit: MaxLimit})
		if err != nil {
			f.t.Fatalf("List: %v", err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		cur = next
	}
}

// auditKeys counts the keys under the audit prefix.
func auditKeys(t *testing.T, db *storage.DB) int {
	t.Helper()
	n := 0
	err := db.View(func(r storage.Reader) error {
		return r.Iterate([]byte(storage.PrefixAudit), storage.IterOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	if err != nil {
		t.Fatalf("count audit keys: %v", err)
	}
	return n
}

func action(name string) Record {
	return Record{Key: "ops", KeyID: "key_1", Action: name, Target: "t", RequestID: "req", Status: 200, Result: "ok"}
}

func TestAppendNumbersChainsAndStamps(t *testing.T) {
	f := newFixture(t)
	in := Record{
		Seq: 99, At: start.Add(time.Hour), Hash: [32]byte{1}, Prev: [32]byte{2}, // ignored
		Key: "ops", KeyID: "key_1", Account: "acme", Operator: true, Action: "topup.confirm",
		Target: "top_1", RequestID: "req_1", Status: 200, Result: "ok",
	}
	var got []Record
	for i := range 3 {
		got = append(got, f.append(in))
		if i < 2 {
			f.clk.Advance(time.Second)
		}
	}
	var prev [32]byte
	for i, r := range got {
		if r.Seq != uint64(i+1) {
			t.Errorf("record %d: Seq %d", i, r.Seq)
		}
		if want := start.Add(time.Duration(i) * time.Second); !r.At.Equal(want) || r.At.Location() != time.UTC {
			t.Errorf("record %d: At %v, want %v in UTC", i, r.At, want)
		}
		if r.Prev != prev || r.Hash == ([32]byte{}) || r.Hash == prev {
			t.Errorf("record %d: Prev %x Hash %x, previous hash %x", i, r.Prev[:4], r.Hash[:4], prev[:4])
		}
		prev = r.Hash
		want := in
		want.Seq, want.At, want.Hash, want.Prev = r.Seq, r.At, r.Hash, r.Prev
		if r != want {
			t.Errorf("record %d = %+v, want %+v", i, r, want)
		}
	}
	stored := f.all()
	if len(stored) != len(got) {
		t.Fatalf("List returned %d records, want %d", len(stored), len(got))
	}
	for i := range got {
		if stored[i] != got[i] {
			t.Errorf("stored record %d = %+v, Append returned %+v", i, stored[i], got[i])
		}
	}
	f.verify(3)
}

// stepClock is a clock that can be set back, as a wall clock is by a time adjustment.
type stepClock struct {
	clock.Clock // only Now is used
	mu          sync.Mutex
	now         time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func TestTimeNeverGoesBack(t *testing.T) {
	db := openDB(t, t.TempDir())
	clk := &stepClock{now: start}
	l := New(db, clk)
	ctx := context.Background()
	a, err := l.Append(ctx, action("a"))
	if err != nil {
		t.Fatal(err)
	}
	clk.set(start.Add(-time.Hour))
	b, err := l.Append(ctx, action("b"))
	if err != nil {
		t.Fatal(err)
	}
	if !b.At.Equal(a.At) {
		t.Fatalf("after the clock stepped back At = %v, want %v", b.At, a.At)
	}
	clk.set(start.Add(time.Minute))
	c, err := l.Append(ctx, action("c"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.At.Equal(start.Add(time.Minute)) {
		t.Fatalf("once the clock caught up At = %v, want %v", c.At, start.Add(time.Minute))
	}
	if n, err := l.Verify(); err != nil || n != 3 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}

func TestAppendTxCommitsWithTheChange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	change := []byte("a/acme")
	var recs []Record
	err := f.db.Commit(ctx, func(tx storage.Txn) error {
		if err := tx.Set(change, []byte("suspended")); err != nil {
			return err
		}
		for _, a := range []string{"account.suspend", "key.revoke"} {
			r, err := f.log.AppendTx(tx, action(a))
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Seq != 1 || recs[1].Seq != 2 || recs[1].Prev != recs[0].Hash {
		t.Fatalf("two appends in one commit: %+v", recs)
	}

	// A change that fails takes its record with it, and the next record follows on.
	boom := errors.New("boom")
	err = f.db.Commit(ctx, func(tx storage.Txn) error {
		if _, err := f.log.AppendTx(tx, action("account.delete")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Commit = %v, want boom", err)
	}
	if r := f.append(action("account.resume")); r.Seq != 3 || r.Prev != recs[1].Hash {
		t.Fatalf("after a failed commit the next record is %d with prev %x", r.Seq, r.Prev[:4])
	}
	f.verify(3)
}

func TestConcurrentAppendsStayGapless(t *testing.T) {
	f := newFixture(t)
	const workers, each = 50, 4
	var wg sync.WaitGroup
	seqs := make(chan uint64, workers*each)
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r, err := f.log.Append(context.Background(), action(fmt.Sprintf("w%d.a%d", w, i)))
				if err != nil {
					errs <- err
					return
				}
				seqs <- r.Seq
			}
		}()
	}
	wg.Wait()
	close(seqs)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := make(map[uint64]bool)
	for s := range seqs {
		if seen[s] {
			t.Fatalf("seq %d returned twice", s)
		}
		seen[s] = true
	}
	for s := uint64(1); s <= workers*each; s++ {
		if !seen[s] {
			t.Fatalf("seq %d never returned", s)
		}
	}
	f.verify(workers * each)
	recs := f.all()
	if len(recs) != workers*each {
		t.Fatalf("List returned %d records", len(recs))
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Prev != recs[i-1].Hash || recs[i].At.Before(recs[i-1].At) {
			t.Fatalf("record %d does not follow record %d", recs[i].Seq, recs[i-1].Seq)
		}
	}
}

func TestReopenContinuesTheChain(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(start)
	db, err := storage.Open(storage.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	l := New(db, clk)
	var last Record
	for _, a := range []string{"a", "b", "c"} {
		if last, err = l.Append(context.Background(), action(a)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	f := &fixture{t: t, db: openDB(t, dir), clk: clk}
	f.log = New(f.db, clk)
	f.verify(3)
	r := f.append(action("d"))
	if r.Seq != 4 || r.Prev != last.Hash {
		t.Fatalf("after reopening: seq %d prev %x, want 4 and %x", r.Seq, r.Prev[:4], last.Hash[:4])
	}
	f.append(action("e"))
	f.verify(5)
}

func TestInvalidRecordsAreRefused(t *testing.T) {
	long := strings.Repeat("x", MaxFieldLen+1)
	cases := []struct {
		name  string
		edit  func(*Record)
		field string
	}{
		{"no action", func(r *Record) { r.Action = "" }, "action"},
		{"long action", func(r *Record) { r.Action = strings.Repeat("a", MaxActionLen+1) }, "action"},
		{"upper case action", func(r *Record) { r.Action = "Topup.confirm" }, "action"},
		{"action with space", func(r *Record) { r.Action = "topup confirm" }, "action"},
		{"action wildcard", func(r *Record) { r.Action = "topup.*" }, "action"},
		{"long key", func(r *Record) { r.Key = long }, "key"},
		{"long key id", func(r *Record) { r.KeyID = long }, "key_id"},
		{"long account", func(r *Record) { r.Account = long }, "account"},
		{"long target", func(r *Record) { r.Target = long }, "target"},
		{"long request id", func(r *Record) { r.RequestID = long }, "request_id"},
		{"long result", func(r *Record) { r.Result = long }, "result"},
		{"bad utf-8 target", func(r *Record) { r.Target = "\xff\xfe" }, "target"},
		{"negative status", func(r *Record) { r.Status = -1 }, "status"},
		{"status too big", func(r *Record) { r.Status = MaxStatus + 1 }, "status"},
	}
	f := newFixture(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := action("topup.confirm")
			c.edit(&r)
			_, err := f.log.Append(context.Background(), r)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), ": "+c.field+": ") {
				t.Fatalf("Append = %v, want ErrInvalid naming %s", err, c.field)
			}
			err = f.db.Commit(context.Background(), func(tx storage.Txn) error {
				_, err := f.log.AppendTx(tx, r)
				return err
			})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), ": "+c.field+": ") {
				t.Fatalf("AppendTx = %v, want ErrInvalid naming %s", err, c.field)
			}
		})
	}
	if n := auditKeys(t, f.db); n != 0 {
		t.Fatalf("%d audit keys written by refused records", n)
	}
	f.verify(0)

	// Exactly at the bounds is accepted.
	r := action(strings.Repeat("a", MaxActionLen))
	r.Target = strings.Repeat("x", MaxFieldLen)
	r.Status = MaxStatus
	f.append(r)
	f.verify(1)
}

func TestAppendAfterCancelWritesNothing(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.log.Append(ctx, action("a")); !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "audit: append a: ") {
		t.Fatalf("Append = %v, want context.Canceled with context", err)
	}
	if n := auditKeys(t, f.db); n != 0 {
		t.Fatalf("%d audit keys written", n)
	}
}

func TestJSONShowsHexHashes(t *testing.T) {
	f := newFixture(t)
	f.append(action("a"))
	r := f.append(Record{Key: "root", KeyID: "key_9", Account: "acme", Operator: true, Action: "key.create", Target: "key_10", RequestID: "req_2", Status: 201, Result: "ok"})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"seq": 2.0, "at": "2025-07-10T09:00:00Z", "key": "root", "key_id": "key_9", "account": "acme",
		"operator": true, "action": "key.create", "target": "key_10", "request_id": "req_2",
		"status": 201.0, "result": "ok",
		"hash": fmt.Sprintf("%x", r.Hash), "prev_hash": fmt.Sprintf("%x", r.Prev),
	}
	if len(got) != len(want) {
		t.Errorf("JSON has %d fields, want %d: %s", len(got), len(want), b)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("JSON %s = %v, want %v", k, got[k], v)
		}
	}
	if bytes.Contains(b, []byte("[")) {
		t.Errorf("hashes render as arrays: %s", b)
	}
}
