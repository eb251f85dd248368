package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"kirim/clock"
	"kirim/storage"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func openDB(tb testing.TB, dir string) *storage.DB {
	tb.Helper()
	opts := storage.Options{MemTableSize: 8 << 20, NumMemtables: 2, BlockCacheSize: 4 << 20,
		IndexCacheSize: 4 << 20, GCInterval: -1, Logger: quietLogger()}
	if dir == "" {
		opts.InMemory = true
	} else {
		opts.Dir = dir
	}
	db, err := storage.Open(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// fireCall is one call of the test's Fire: which run, and the clock when it came.
type fireCall struct {
	id      string
	at, now time.Time
}

func (f fireCall) String() string {
	return f.id + "@" + f.at.Format(time.RFC3339)
}

// recorder is a Fire that reports every call on a channel; fail, when set, decides the
// call's error.
type recorder struct {
	clk   *clock.Fake
	calls chan fireCall
	mu    sync.Mutex
	fail  func(id string, at time.Time) error
}

func newRecorder(clk *clock.Fake) *recorder {
	return &recorder{clk: clk, calls: make(chan fireCall, 4096)}
}

func (r *recorder) fire(_ context.Context, id string, at time.Time) error {
	r.calls <- fireCall{id: id, at: at, now: r.clk.Now()}
	r.mu.Lock()
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return fail(id, at)
	}
	return nil
}

// drain returns the calls received so far.
func (r *recorder) drain() []fireCall {
	var out []fireCall
	for {
		select {
		case c := <-r.calls:
			out = append(out, c)
		default:
			return out
		}
	}
}

// wait returns the next call, failing the test if none comes.
func (r *recorder) wait(t *testing.T) fireCall {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no Fire call")
		return fireCall{}
	}
}

func newScheduler(t *testing.T, db *storage.DB, clk *clock.Fake, fire Fire, grace time.Duration) *Scheduler {
	t.Helper()
	s, err := New(Options{DB: db, Clock: clk, Logger: quietLogger(), Grace: grace, Fire: fire})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func start(t *testing.T, s *Scheduler) {
	t.Helper()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
}

func mustSet(t *testing.T, s *Scheduler, id string, spec Spec) {
	t.Helper()
	if err := s.Set(context.Background(), id, spec); err != nil {
		t.Fatalf("Set %s: %v", id, err)
	}
}

// runUntil moves the fake clock to end one timer at a time. After each timer it waits
// for the loop to arm the next one, so every instant is handled at its own time, and
// the loop has finished with it before the clock moves on. It needs a schedule that
// never ends (a cron) to keep a timer armed.
func runUntil(clk *clock.Fake, end time.Time) {
	for {
		clk.BlockUntil(1)
		at, ok := clk.NextAt()
		if !ok || at.After(end) {
			clk.Set(end)
			return
		}
		clk.Set(at)
	}
}

func runsOf(t *testing.T, s *Scheduler, id string) []Run {
	t.Helper()
	runs, err := s.Runs(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func describeRuns(runs []Run) string {
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, "%s %s", r.At.Format(time.RFC3339), r.Status)
		if r.Reason != "" {
			fmt.Fprintf(&b, " (%s)", r.Reason)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestMonthOfCron runs three Jakarta schedules across December 2026 on a fake clock:
// every instant fires once, on time, and nothing else fires.
func TestMonthOfCron(t *testing.T) {
	begin := utc("2026-12-01T00:00:00Z")
	end := utc("2027-01-01T00:00:00Z")
	clk := clock.NewFake(begin)
	rec := newRecorder(clk)
	s := newScheduler(t, openDB(t, ""), clk, rec.fire, 0)
	start(t, s)
	mustSet(t, s, "daily", Spec{Cron: "0 9 * * *", Timezone: "Asia/Jakarta"})
	mustSet(t, s, "monday", Spec{Cron: "0 9 * * MON", Timezone: "Asia/Jakarta"})
	mustSet(t, s, "monthly", Spec{Cron: "30 8 1 * *", Timezone: "Asia/Jakarta"})

	runUntil(clk, end)
	got := rec.drain()

	// Written out by hand: 09:00 WIB is 02:00 UTC, 08:30 WIB is 01:30 UTC, and the Mondays
	// of December 2026 are the 7th, 14th, 21st and 28th.
	var want []string
	want = append(want, "monthly@2026-12-01T01:30:00Z")
	for day := 1; day <= 31; day++ {
		at := fmt.Sprintf("2026-12-%02dT02:00:00Z", day)
		want = append(want, "daily@"+at)
		if day == 7 || day == 14 || day == 21 || day == 28 {
			want = append(want, "monday@"+at)
		}
	}
	var gotS []string
	for _, c := range got {
		gotS = append(gotS, c.String())
		if !c.now.Equal(c.at) {
			t.Errorf("%s fired at %s, not on time", c, c.now.Format(time.RFC3339))
		}
	}
	if strings.Join(gotS, "\n") != strings.Join(want, "\n") {
		t.Fatalf("fires\n got %v\nwant %v", gotS, want)
	}

	for id, n := range map[string]int{"daily": 31, "monday": 4, "monthly": 1} {
		runs := runsOf(t, s, id)
		if len(runs) != n {
			t.Fatalf("%s: %d run records, want %d:\n%s", id, len(runs), n, describeRuns(runs))
		}
		for i, r := range runs {
			if r.Status != StatusFired || !r.FiredAt.Equal(r.At) || r.CampaignID != id {
				t.Fatalf("%s: run %+v", id, r)
			}
			if i > 0 && !r.At.Before(runs[i-1].At) {
				t.Fatalf("%s: runs not newest first:\n%s", id, describeRuns(runs))
			}
		}
	}
	next := map[string]string{"daily": "2027-01-01T02:00:00Z", "monday": "2027-01-04T02:00:00Z", "monthly": "2027-01-01T01:30:00Z"}
	for id, want := range next {
		if at, ok := s.Next(id); !ok || !at.Equal(utc(want)) {
			t.Errorf("Next(%s) = %v %v, want %s", id, at, ok, want)
		}
	}
}

// TestDSTZoneFiresOnLocalTime: in Amsterdam, 09:00 local is 08:00 UTC before the
// spring change and 07:00 UTC after it.
func TestDSTZoneFiresOnLocalTime(t *testing.T) {
	clk := clock.NewFake(utc("2026-03-27T12:00:00Z"))
	rec := newRecorder(clk)
	s := newScheduler(t, openDB(t, ""), clk, rec.fire, 0)
	start(t, s)
	mustSet(t, s, "ams", Spec{Cron: "0 9 * * *", Timezone: "Europe/Amsterdam"})
	runUntil(clk, utc("2026-03-31T00:00:00Z"))
	var got []string
	for _, c := range rec.drain() {
		got = append(got, c.at.Format(time.RFC3339))
	}
	want := []string{"2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fires %v, want %v", got, want)
	}
}

func TestOnceFiresOnceThenNever(t *testing.T) {
	db := openDB(t, "")
	clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
	rec := newRecorder(clk)
	s := newScheduler(t, db, clk, rec.fire, 0)
	start(t, s)
	mustSet(t, s, "c", Spec{At: utc("2026-12-01T02:00:00Z")})
	if at, ok := s.Next("c"); !ok || !at.Equal(utc("2026-12-01T02:00:00Z")) {
		t.Fatalf("Next = %v %v", at, ok)
	}
	if at, ok := clk.NextAt(); !ok || !at.Equal(utc("2026-12-01T02:00:00Z")) {
		t.Fatalf("timer at %v %v", at, ok)
	}
	clk.Set(utc("2026-12-01T02:00:00Z"))
	if c := rec.wait(t); c.String() != "c@2026-12-01T02:00:00Z" || !c.now.Equal(c.at) {
		t.Fatalf("fire %s at %s", c, c.now)
	}
	s.Stop()
	if _, ok := s.Next("c"); ok {
		t.Fatal("a once-schedule still has a next instant after its run")
	}
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers pending after the only run", n)
	}
	clk.Advance(400 * 24 * time.Hour)
	s2 := newScheduler(t, db, clk, rec.fire, 0)
	start(t, s2)
	s2.Stop()
	if extra := rec.drain(); len(extra) != 0 {
		t.Fatalf("fired again: %v", extra)
	}
	if runs := describeRuns(runsOf(t, s2, "c")); runs != "2026-12-01T02:00:00Z fired\n" {
		t.Fatalf("runs:\n%s", runs)
	}
}

func TestSetReplaces(t *testing.T) {
	clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
	rec := newRecorder(clk)
	s := newScheduler(t, openDB(t, ""), clk, rec.fire, 0)
	start(t, s)
	mustSet(t, s, "c", Spec{Cron: "0 9 * * *", Timezone: "Asia/Jakarta"})
	runUntil(clk, utc("2026-12-01T12:00:00Z"))
	mustSet(t, s, "c", Spec{Cron: "0 10 * * *", Timezone: "Asia/Jakarta"})
	// Set returns once the loop has re-armed for the new schedule.
	if at, ok := clk.NextAt(); !ok || !at.Equal(utc("2026-12-02T03:00:00Z")) {
		t.Fatalf("timer at %v %v after Set", at, ok)
	}
	runUntil(clk, utc("2026-12-03T12:00:00Z"))
	var got []string
	for _, c := range rec.drain() {
		got = append(got, c.String())
	}
	want := []string{"c@2026-12-01T02:00:00Z", "c@2026-12-02T03:00:00Z", "c@2026-12-03T03:00:00Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fires %v, want %v", got, want)
	}
}

func TestRemoveStops(t *testing.T) {
	db := openDB(t, "")
	clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
	rec := newRecorder(clk)
	s := newScheduler(t, db, clk, rec.fire, 0)
	start(t, s)
	mustSet(t, s, "keep", Spec{Cron: "0 * * * *"})
	mustSet(t, s, "gone", Spec{Cron: "30 * * * *"})
	runUntil(clk, utc("2026-12-01T01:45:00Z"))
	if err := s.Remove(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Next("gone"); ok {
		t.Fatal("removed schedule has a next instant")
	}
	runUntil(clk, utc("2026-12-01T04:00:00Z"))
	s.Stop()
	var got []string
	for _, c := range rec.drain() {
		got = append(got, c.String())
	}
	want := []string{
		"gone@2026-12-01T00:30:00Z", "keep@2026-12-01T01:00:00Z", "gone@2026-12-01T01:30:00Z",
		"keep@2026-12-01T02:00:00Z", "keep@2026-12-01T03:00:00Z", "keep@2026-12-01T04:00:00Z",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fires %v, want %v", got, want)
	}
	if runs := runsOf(t, s, "gone"); len(runs) != 2 {
		t.Fatalf("past runs of a removed schedule: %v", runs)
	}
	// A restart does not bring it back.
	s2 := newScheduler(t, db, clk, rec.fire, 0)
	if _, ok := s2.Next("gone"); ok {
		t.Fatal("removed schedule back after restart")
	}
}

func TestRemoveLastSchedule(t *testing.T) {
	clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
	rec := newRecorder(clk)
	s := newScheduler(t, openDB(t, ""), clk, rec.fire, 0)
	start(t, s)
	mustSet(t, s, "c", Spec{At: utc("2026-12-01T02:00:00Z")})
	if err := s.Remove(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers pending after removing the only schedule", n)
	}
	clk.Advance(48 * time.Hour)
	s.Stop()
	if got := rec.drain(); len(got) != 0 {
		t.Fatalf("fired after Remove: %v", got)
	}
}

func TestSetRejects(t *testing.T) {
	clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
	s := newScheduler(t, openDB(t, ""), clk, newRecorder(clk).fire, 0)
	tests := []struct {
		id   string
		spec Spec
		want string
	}{
		{"c", Spec{At: utc("2026-11-30T00:00:00Z")}, "schedule.at: in the past"},
		{"c", Spec{Cron: "0 9 * * *", Timezone: "Nowhere/Land"}, `schedule.timezone: unknown time zone "Nowhere/Land"`},
		{"", Spec{Cron: "0 9 * * *"}, "schedule: empty campaign id"},
		{strings.Repeat("x", MaxCampaignIDLen+1), Spec{Cron: "0 9 * * *"}, "schedule: campaign id longer than 128 bytes"},
	}
	for _, tt := range tests {
		err := s.Set(context.Background(), tt.id, tt.spec)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Set(%.10q, %+v) = %v, want %q", tt.id, tt.spec, err, tt.want)
		}
	}
	if _, ok := s.Next("c"); ok {
		t.Fatal("a rejected Set stored a schedule")
	}
}

func TestNewOptions(t *testing.T) {
	db := openDB(t, "")
	fire := func(context.Context, string, time.Time) error { return nil }
	for _, o := range []Options{{Fire: fire}, {DB: db}, {DB: db, Fire: fire, Grace: -time.Second}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	s, err := New(Options{DB: db, Fire: fire})
	if err != nil {
		t.Fatal(err)
	}
	if s.grace != DefaultGrace {
		t.Fatalf("grace %s", s.grace)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("second Start accepted")
	}
	s.Stop()
	s.Stop()
}
