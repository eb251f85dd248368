package campaign

import (
	"fmt"
	"testing"
	"time"

	"kirim/campaign/schedule"
	"kirim/engine"
	"kirim/phone"
)

// TestCronCampaignAcrossAMonth runs "0 9 * * *" in Asia/Jakarta through December on
// the fake clock: a run at 09:00 WIB (02:00 UTC) every day and at no other time, each
// run resolving the list as it is then (it grows on the 10th, 20th and 30th), and
// each recipient sent once per run.
func TestCronCampaignAcrossAMonth(t *testing.T) {
	e := newEnv(t, envOptions{balance: 10_000_000 * idr})
	l := e.importCSV("pelanggan", phones(0, 10)...)
	c := e.create(CreateRequest{ListIDs: []string{l}, Schedule: &schedule.Spec{Cron: "0 9 * * *", Timezone: "Asia/Jakarta"}})
	if c.State != StateScheduled {
		t.Fatalf("state %s, want scheduled", c.State)
	}
	jkt, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	size := int64(10)
	perPhone := map[string]int{}
	for day := 1; day <= 31; day++ {
		want := time.Date(2026, 12, day, 9, 0, 0, 0, jkt)
		next, ok := e.svc.Load().sched.Next(c.ID)
		if !ok || !next.Equal(want) {
			t.Fatalf("day %d: next run %v %v, want %v", day, next, ok, want)
		}
		if day%10 == 0 {
			e.importCSV("pelanggan", phones(1000+day, 5)...)
			size += 5
		}
		// Just before the instant nothing starts.
		e.clk.Set(want.Add(-time.Second))
		if got := e.progress(c.ID).Campaign.Run; got != uint64(day-1) {
			t.Fatalf("day %d: run %d started before its instant", day, got)
		}
		e.clk.Set(want)
		p := e.waitRun(c.ID, fmt.Sprintf("run %d", day), func(c *Campaign, r *Run) bool {
			return c.Run == uint64(day) && r.State == StateCompleted
		})
		if !p.Run.At.Equal(want) || p.Run.Total != size || p.Run.Counts[string(engine.Sent)] != size {
			t.Fatalf("day %d: run at %v with %d rows, counts %v; want %v and %d sent", day, p.Run.At, p.Run.Total, p.Run.Counts, want, size)
		}
		if p.Campaign.State != StateScheduled {
			t.Fatalf("day %d: state %s between runs, want scheduled", day, p.Campaign.State)
		}
		err := func() error {
			_, err := e.svc.Load().Recipients(testAccount, c.ID, RecipientFilter{}, func(r *Row) error {
				perPhone[r.Phone]++
				return nil
			})
			return err
		}()
		if err != nil {
			t.Fatal(err)
		}
	}
	runs, err := e.svc.Load().Runs(testAccount, c.ID, 100)
	if err != nil || len(runs) != 31 {
		t.Fatalf("%d runs (%v), want 31", len(runs), err)
	}
	sends := e.sandboxSends()
	for ph, n := range perPhone {
		if got := sends[phone.WaID(ph)]; got != n {
			t.Fatalf("%s: sandbox saw %d sends, the runs hold %d rows", ph, got, n)
		}
	}
	if perPhone["+628120000000"] != 31 || perPhone[fmt.Sprintf("+62812%07d", 1030)] != 2 {
		t.Fatalf("first contact in %d runs, the one added on the 30th in %d; want 31 and 2",
			perPhone["+628120000000"], perPhone[fmt.Sprintf("+62812%07d", 1030)])
	}
}

// TestCronMissedRuns: down across two instants and back within the grace, the last
// one runs (once) and the earlier is recorded skipped; back beyond the grace, nothing
// runs and the instant is recorded skipped; the next instant runs as usual.
func TestCronMissedRuns(t *testing.T) {
	e := newEnv(t, envOptions{balance: 10_000_000 * idr})
	l := e.importCSV("pelanggan", phones(0, 10)...)
	c := e.create(CreateRequest{ListIDs: []string{l}, Schedule: &schedule.Spec{Cron: "0 9 * * *", Timezone: "Asia/Jakarta"}})
	day := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, time.UTC) }

	e.restart(func() { e.clk.Set(day(2, 2, 30)) })
	p := e.waitRun(c.ID, "the run missed within grace", func(c *Campaign, r *Run) bool { return r.State == StateCompleted })
	if p.Campaign.Run != 1 || !p.Run.At.Equal(day(2, 2, 0)) {
		t.Fatalf("ran %d at %v, want run 1 of the Dec 2 instant", p.Campaign.Run, p.Run.At)
	}

	e.restart(func() { e.clk.Set(day(3, 5, 0)) })
	runs, err := e.svc.Load().sched.Runs(c.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[time.Time]string{}
	for _, r := range runs {
		statuses[r.At] = r.Status
	}
	if statuses[day(1, 2, 0)] != schedule.StatusSkipped || statuses[day(2, 2, 0)] != schedule.StatusFired || statuses[day(3, 2, 0)] != schedule.StatusSkipped {
		t.Fatalf("run records %v: want Dec 1 skipped, Dec 2 fired, Dec 3 skipped", statuses)
	}
	if got := e.progress(c.ID).Campaign.Run; got != 1 {
		t.Fatalf("a run beyond grace started: run %d", got)
	}
	e.clk.Set(day(4, 2, 0))
	p = e.waitRun(c.ID, "the next instant", func(c *Campaign, r *Run) bool { return c.Run == 2 && r.State == StateCompleted })
	if !p.Run.At.Equal(day(4, 2, 0)) || p.Run.Counts[string(engine.Sent)] != 10 {
		t.Fatalf("run 2 at %v counts %v", p.Run.At, p.Run.Counts)
	}
}
