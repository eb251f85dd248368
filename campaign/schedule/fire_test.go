package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"kirim/clock"
)

// TestFireFailure: a failed run is recorded with its reason and not retried; the next
// instant fires as usual.
func TestFireFailure(t *testing.T) {
	clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
	rec := newRecorder(clk)
	rec.fail = func(_ string, at time.Time) error {
		if at.Equal(utc("2026-12-01T02:00:00Z")) {
			return errors.New("template paused")
		}
		return nil
	}
	s := newScheduler(t, openDB(t, ""), clk, rec.fire, 0)
	start(t, s)
	mustSet(t, s, "c", Spec{Cron: "0 9 * * *", Timezone: "Asia/Jakarta"})
	runUntil(clk, utc("2026-12-02T12:00:00Z"))
	if got := rec.drain(); len(got) != 2 {
		t.Fatalf("fires %v, want one per instant", got)
	}
	want := "2026-12-02T02:00:00Z fired\n2026-12-01T02:00:00Z failed (template paused)\n"
	if runs := describeRuns(runsOf(t, s, "c")); runs != want {
		t.Fatalf("runs\n%s\nwant\n%s", runs, want)
	}
}

// TestFireMayChangeSchedules: Fire calling Set or Remove does not deadlock the loop it
// runs on.
func TestFireMayChangeSchedules(t *testing.T) {
	clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
	rec := newRecorder(clk)
	var s *Scheduler
	fire := func(ctx context.Context, id string, at time.Time) error {
		_ = rec.fire(ctx, id, at)
		if id == "first" {
			if err := s.Remove(ctx, "first"); err != nil {
				return err
			}
			return s.Set(ctx, "second", Spec{Cron: "0 3 * * *"})
		}
		return nil
	}
	s = newScheduler(t, openDB(t, ""), clk, fire, 0)
	start(t, s)
	mustSet(t, s, "first", Spec{Cron: "0 1 * * *"})
	runUntil(clk, utc("2026-12-02T04:00:00Z"))
	var got []string
	for _, c := range rec.drain() {
		got = append(got, c.String())
	}
	want := []string{"first@2026-12-01T01:00:00Z", "second@2026-12-01T03:00:00Z", "second@2026-12-02T03:00:00Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fires %v, want %v", got, want)
	}
}

// TestSameInstantAllFire: many campaigns due together all fire, in id order.
func TestSameInstantAllFire(t *testing.T) {
	clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
	rec := newRecorder(clk)
	s := newScheduler(t, openDB(t, ""), clk, rec.fire, 0)
	start(t, s)
	var want []string
	for i := range 20 {
		id := fmt.Sprintf("c%02d", i)
		mustSet(t, s, id, Spec{At: utc("2026-12-01T02:00:00Z")})
		want = append(want, id+"@2026-12-01T02:00:00Z")
	}
	clk.Set(utc("2026-12-01T02:00:00Z"))
	var got []string
	for range want {
		got = append(got, rec.wait(t).String())
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("fires %v, want %v", got, want)
	}
}

// TestStopDuringFire: a Fire cut short by Stop leaves the run "firing", and the next
// start fires it again.
func TestStopDuringFire(t *testing.T) {
	db := openDB(t, "")
	clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
	rec := newRecorder(clk)
	entered := make(chan struct{})
	slow := func(ctx context.Context, id string, at time.Time) error {
		_ = rec.fire(ctx, id, at)
		close(entered)
		<-ctx.Done()
		return fmt.Errorf("launch %s: %w", id, ctx.Err())
	}
	s := newScheduler(t, db, clk, slow, 0)
	start(t, s)
	mustSet(t, s, "c", Spec{At: utc("2026-12-01T02:00:00Z")})
	clk.Set(utc("2026-12-01T02:00:00Z"))
	<-entered
	s.Stop()
	if runs := describeRuns(runsOf(t, s, "c")); runs != "2026-12-01T02:00:00Z firing\n" {
		t.Fatalf("after stop, runs:\n%s", runs)
	}
	s2 := newScheduler(t, db, clk, rec.fire, 0)
	start(t, s2)
	s2.Stop()
	var got []string
	for _, c := range rec.drain() {
		got = append(got, c.String())
	}
	if strings.Join(got, " ") != "c@2026-12-01T02:00:00Z c@2026-12-01T02:00:00Z" {
		t.Fatalf("fires %v: want the cut-short one and its repeat", got)
	}
	if runs := describeRuns(runsOf(t, s2, "c")); runs != "2026-12-01T02:00:00Z fired\n" {
		t.Fatalf("runs:\n%s", runs)
	}
}
