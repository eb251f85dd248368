package schedule

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"kirim/clock"
)

// TestRestart stops a scheduler, lets instants pass, and starts another on the same
// store.
func TestRestart(t *testing.T) {
	daily := Spec{Cron: "0 9 * * *", Timezone: "Asia/Jakarta"} // 02:00 UTC
	tests := []struct {
		name      string
		spec      Spec
		restartAt string
		wantFire  []string
		wantRuns  string // newest first
		wantNext  string // "" for none
	}{
		{
			name: "three missed, the last within grace: the last fires, the others are one skipped record",
			spec: daily, restartAt: "2026-12-03T02:30:00Z",
			wantFire: []string{"c@2026-12-03T02:00:00Z"},
			wantRuns: "2026-12-03T02:00:00Z fired\n" +
				"2026-12-01T02:00:00Z skipped (missed while stopped: 2 instants from 2026-12-01T02:00:00Z to 2026-12-02T02:00:00Z, superseded by 2026-12-03T02:00:00Z)\n",
			wantNext: "2026-12-04T02:00:00Z",
		},
		{
			name: "three missed, the last beyond grace: nothing fires",
			spec: daily, restartAt: "2026-12-03T03:00:01Z",
			wantRuns: "2026-12-03T02:00:00Z skipped (missed while stopped, beyond grace 1h0m0s)\n" +
				"2026-12-01T02:00:00Z skipped (missed while stopped: 2 instants from 2026-12-01T02:00:00Z to 2026-12-02T02:00:00Z, superseded by 2026-12-03T02:00:00Z)\n",
			wantNext: "2026-12-04T02:00:00Z",
		},
		{
			name: "exactly at the end of grace still fires",
			spec: daily, restartAt: "2026-12-01T03:00:00Z",
			wantFire: []string{"c@2026-12-01T02:00:00Z"},
			wantRuns: "2026-12-01T02:00:00Z fired\n",
			wantNext: "2026-12-02T02:00:00Z",
		},
		{
			name: "a month away on an hourly schedule writes two records",
			spec: Spec{Cron: "0 * * * *"}, restartAt: "2027-01-01T00:10:00Z",
			wantFire: []string{"c@2027-01-01T00:00:00Z"},
			wantRuns: "2027-01-01T00:00:00Z fired\n" +
				"2026-12-01T01:00:00Z skipped (missed while stopped: 743 instants from 2026-12-01T01:00:00Z to 2026-12-31T23:00:00Z, superseded by 2027-01-01T00:00:00Z)\n",
			wantNext: "2027-01-01T01:00:00Z",
		},
		{
			name: "eighty days away on an every-minute schedule: counting stops, the grace window is searched",
			spec: Spec{Cron: "* * * * *"}, restartAt: "2027-02-19T00:10:30Z",
			wantFire: []string{"c@2027-02-19T00:10:00Z"},
			wantRuns: "2027-02-19T00:10:00Z fired\n" +
				"2026-12-01T00:01:00Z skipped (missed while stopped: at least 100060 instants from 2026-12-01T00:01:00Z to 2027-02-19T00:09:00Z, superseded by 2027-02-19T00:10:00Z)\n",
			wantNext: "2027-02-19T00:11:00Z",
		},
		{
			name: "a once-schedule missed within grace fires",
			spec: Spec{At: utc("2026-12-01T02:00:00Z")}, restartAt: "2026-12-01T02:59:00Z",
			wantFire: []string{"c@2026-12-01T02:00:00Z"},
			wantRuns: "2026-12-01T02:00:00Z fired\n",
		},
		{
			name: "a once-schedule missed beyond grace is skipped",
			spec: Spec{At: utc("2026-12-01T02:00:00Z")}, restartAt: "2026-12-01T05:00:00Z",
			wantRuns: "2026-12-01T02:00:00Z skipped (missed while stopped, beyond grace 1h0m0s)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t, "")
			clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
			rec := newRecorder(clk)
			first := newScheduler(t, db, clk, rec.fire, 0)
			start(t, first)
			mustSet(t, first, "c", tt.spec)
			first.Stop()

			clk.Set(utc(tt.restartAt))
			second := newScheduler(t, db, clk, rec.fire, 0)
			start(t, second)
			second.Stop() // the start-up work is done when Start returns; Stop makes it settle

			var got []string
			for _, c := range rec.drain() {
				got = append(got, c.String())
			}
			if strings.Join(got, " ") != strings.Join(tt.wantFire, " ") {
				t.Fatalf("fires %v, want %v", got, tt.wantFire)
			}
			if runs := describeRuns(runsOf(t, second, "c")); runs != tt.wantRuns {
				t.Fatalf("runs\n%s\nwant\n%s", runs, tt.wantRuns)
			}
			third := newScheduler(t, db, clk, rec.fire, 0)
			at, ok := third.Next("c")
			if tt.wantNext == "" && ok || tt.wantNext != "" && (!ok || !at.Equal(utc(tt.wantNext))) {
				t.Fatalf("Next = %v %v, want %q", at, ok, tt.wantNext)
			}
			// A further start with nothing due fires nothing more.
			start(t, third)
			third.Stop()
			if extra := rec.drain(); len(extra) != 0 {
				t.Fatalf("fired again after restart: %v", extra)
			}
		})
	}
}

// TestCrashWhileFiring: the store goes away while Fire runs, so the run is recorded
// "firing" but never "fired". The next start fires it again, once.
func TestCrashWhileFiring(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	clk := clock.NewFake(utc("2026-12-01T00:00:00Z"))
	rec := newRecorder(clk)
	var once sync.Once
	crash := func(ctx context.Context, id string, at time.Time) error {
		err := rec.fire(ctx, id, at)
		// Closing the store here is what a kill -9 leaves behind: the "firing" record is
		// durable and the "fired" one is never written.
		once.Do(func() { _ = db.Close() })
		return err
	}
	s := newScheduler(t, db, clk, crash, 0)
	start(t, s)
	mustSet(t, s, "c", Spec{Cron: "0 9 * * *", Timezone: "Asia/Jakarta"})
	clk.BlockUntil(1)
	clk.Set(utc("2026-12-01T02:00:00Z"))
	if c := rec.wait(t); c.String() != "c@2026-12-01T02:00:00Z" {
		t.Fatalf("fire %s", c)
	}
	s.Stop()

	clk.Set(utc("2026-12-01T02:20:00Z"))
	db2 := openDB(t, dir)
	s2 := newScheduler(t, db2, clk, rec.fire, 0)
	if runs := describeRuns(runsOf(t, s2, "c")); runs != "2026-12-01T02:00:00Z firing\n" {
		t.Fatalf("before restart, runs:\n%s", runs)
	}
	start(t, s2)
	s2.Stop()
	var got []string
	for _, c := range rec.drain() {
		got = append(got, c.String())
	}
	if strings.Join(got, " ") != "c@2026-12-01T02:00:00Z" {
		t.Fatalf("fires after restart %v, want the interrupted run once", got)
	}
	runs := runsOf(t, s2, "c")
	if len(runs) != 1 || runs[0].Status != StatusFired || !runs[0].FiredAt.Equal(utc("2026-12-01T02:20:00Z")) {
		t.Fatalf("runs after restart:\n%s", describeRuns(runs))
	}
	if at, ok := s2.Next("c"); !ok || !at.Equal(utc("2026-12-02T02:00:00Z")) {
		t.Fatalf("Next = %v %v", at, ok)
	}
	// A third start finds nothing left firing.
	s3 := newScheduler(t, db2, clk, rec.fire, 0)
	start(t, s3)
	s3.Stop()
	if extra := rec.drain(); len(extra) != 0 {
		t.Fatalf("fired again: %v", extra)
	}
}
