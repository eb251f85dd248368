package campaign

import (
	"testing"
	"time"

	"kirim/engine"
	"kirim/provider/sandbox"
)

// TestLimitRaiseWakesFeeder: a run fed up to the messaging limit waits for a slot a
// day away; a raise of the limit feeds the rest at once, the fake clock unmoved, and
// the progress ETA follows.
func TestLimitRaiseWakesFeeder(t *testing.T) {
	e := newEnv(t, envOptions{limit: 2, balance: 1_000_000 * idr})
	c := e.create(CreateRequest{ListIDs: []string{e.importCSV("a", phones(0, 6)...)}})
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitRun(c.ID, "two sent", func(_ *Campaign, r *Run) bool { return r.Counts[string(engine.Sent)] == 2 })
	// Four left, two slots a day: the last two in the window after next.
	if p := e.progress(c.ID); !p.ETA.Equal(t0.Add(48 * time.Hour)) {
		t.Fatalf("ETA at the limit %v, want t0+48h", p.ETA)
	}
	// Not woken by the test from here: only the change may move the feeder.
	if e.poll(c.ID, 200*time.Millisecond, func(_ *Campaign, r *Run) bool { return r.Counts[string(engine.Sent)] > 2 }) {
		t.Fatal("more than the limit sent")
	}
	limit := 2000
	if err := e.sb.UpdateNumber(sandbox.DefaultPhoneNumberID, sandbox.NumberUpdate{MessagingLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	if err := e.eng.UpdateNumber(e.ctx, "main", engine.NumberUpdate{Limit: &limit}); err != nil {
		t.Fatal(err)
	}
	if !e.poll(c.ID, waitTimeout, func(_ *Campaign, r *Run) bool { return r.State == StateCompleted }) {
		t.Fatalf("the run did not complete after the raise: %+v", e.progress(c.ID).Run)
	}
	if n := len(e.sandboxSends()); n != 6 {
		t.Fatalf("%d recipients reached, want 6", n)
	}
	if now := e.clk.Now(); !now.Equal(t0) {
		t.Fatalf("the clock moved to %v", now)
	}
}

// TestNumberHoldPausesCampaign: a number that cannot send a campaign's templates
// pauses the run with the reason, and the run resumes by itself (and completes) when
// the number is CONNECTED again; a run paused for a RED rating stays paused for its operator.
func TestNumberHoldPausesCampaign(t *testing.T) {
	for _, tt := range []struct {
		u    engine.NumberUpdate
		want string
	}{
		{engine.NumberUpdate{Status: engine.StatusOffline}, ReasonNumberOffline},
		{engine.NumberUpdate{Status: engine.StatusPending}, ReasonNumberPending},
		{engine.NumberUpdate{Status: engine.StatusFlagged}, ReasonNumberFlagged},
		{engine.NumberUpdate{Status: engine.StatusRestricted}, ReasonNumberRestricted},
		{engine.NumberUpdate{Restriction: "RESTRICTED_BIZ_INITIATED_MESSAGING", RestrictedUntil: t0.Add(48 * time.Hour)}, ReasonAccountRestricted},
	} {
		t.Run(tt.want, func(t *testing.T) {
			e := newEnv(t, envOptions{balance: 1_000_000 * idr})
			// Another run, paused for a RED rating: no hold, its operator resumes it.
			if err := e.eng.UpdateNumber(e.ctx, "main", engine.NumberUpdate{Quality: "RED"}); err != nil {
				t.Fatal(err)
			}
			other := e.create(CreateRequest{Name: "katalog", ListIDs: []string{e.importCSV("b", phones(100, 5)...)}})
			if _, err := e.svc.Load().Launch(e.ctx, testAccount, other.ID); err != nil {
				t.Fatal(err)
			}
			e.waitRun(other.ID, "paused for quality", func(c *Campaign, _ *Run) bool { return c.State == StatePaused })

			if err := e.eng.UpdateNumber(e.ctx, "main", tt.u); err != nil {
				t.Fatal(err)
			}
			c := e.create(CreateRequest{ListIDs: []string{e.importCSV("a", phones(0, 20)...)}})
			if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); err != nil {
				t.Fatal(err)
			}
			e.waitRun(c.ID, "paused by the hold", func(c *Campaign, _ *Run) bool { return c.State == StatePaused && c.Reason == tt.want })
			if n := len(e.sandboxSends()); n != 0 {
				t.Fatalf("%d recipients reached while the number held the run", n)
			}
			if err := e.eng.UpdateNumber(e.ctx, "main", engine.NumberUpdate{Status: engine.StatusConnected, Quality: "GREEN", Restriction: "NONE"}); err != nil {
				t.Fatal(err)
			}
			if !e.poll(c.ID, waitTimeout, func(c *Campaign, r *Run) bool { return r.State == StateCompleted }) {
				t.Fatalf("the run did not resume and complete: %+v", *e.progress(c.ID).Campaign)
			}
			if n := len(e.sandboxSends()); n != 20 {
				t.Fatalf("%d recipients reached, want 20", n)
			}
			if p := e.progress(other.ID); p.Campaign.State != StatePaused || p.Campaign.Reason != ReasonQualityRed {
				t.Fatalf("the run paused for quality is %s (%s)", p.Campaign.State, p.Campaign.Reason)
			}
		})
	}
}

// TestSpamRateLimitPausesCampaign: a 131048 pauses the number's marketing and with it
// the run (reason spam_rate_limit); the run resumes by itself when the pause ends, or
// at once when its operator resumes it, and every recipient is sent once.
func TestSpamRateLimitPausesCampaign(t *testing.T) {
	for _, tt := range []struct {
		name string
		end  func(e *env, id string)
	}{
		{"the pause ends", func(e *env, _ string) { e.clk.Advance(engine.DefaultSpamPause) }},
		{"the operator resumes", func(e *env, id string) {
			if _, err := e.svc.Load().Resume(e.ctx, testAccount, id); err != nil {
				e.t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{balance: 1_000_000 * idr})
			e.sb.SetChaos(sandbox.Chaos{SendErrors: map[int]float64{131048: 1}})
			c := e.create(CreateRequest{ListIDs: []string{e.importCSV("a", phones(0, 30)...)}})
			if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); err != nil {
				t.Fatal(err)
			}
			// Paused, and the sends under way when it paused answered: the clock may move.
			if !e.poll(c.ID, waitTimeout, func(c *Campaign, r *Run) bool {
				return c.State == StatePaused && r.Counts[string(engine.Dispatching)] == 0
			}) {
				t.Fatalf("no pause after 131048: %+v", *e.progress(c.ID).Campaign)
			}
			if p := e.progress(c.ID); p.Campaign.Reason != ReasonSpamRateLimit {
				t.Fatalf("paused with %q, counts %v", p.Campaign.Reason, p.Run.Counts)
			}
			e.sb.SetChaos(sandbox.Chaos{})
			tt.end(e, c.ID)
			if !e.poll(c.ID, waitTimeout, func(c *Campaign, r *Run) bool { return r.State == StateCompleted }) {
				p := e.progress(c.ID)
				t.Fatalf("the run did not resume and complete: %+v, counts %v", *p.Campaign, p.Run.Counts)
			}
			sends := e.sandboxSends()
			if len(sends) != 30 {
				t.Fatalf("%d recipients reached, want 30", len(sends))
			}
			for to, n := range sends {
				if n != 1 {
					t.Fatalf("%s sent %d times", to, n)
				}
			}
		})
	}
}

// TestFrequencyCapSkips: with one marketing template a day per contact, a run over
// recipients who had theirs today skips them (reason frequency_capped, in the quote and
// the run); a recipient capped after the run resolved fails frequency_capped at the
// claim, which the failure-rate auto-pause leaves out.
func TestFrequencyCapSkips(t *testing.T) {
	e := newEnv(t, envOptions{balance: 1_000_000 * idr, marketingPerDay: 1, failureMin: 1})
	first := e.create(CreateRequest{ListIDs: []string{e.importCSV("a", phones(0, 10)...)}})
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, first.ID); err != nil {
		t.Fatal(err)
	}
	e.waitRun(first.ID, "complete", func(_ *Campaign, r *Run) bool { return r.State == StateCompleted })

	second := e.create(CreateRequest{Name: "lagi", ListIDs: []string{e.importCSV("b", phones(5, 10)...)}})
	q, err := e.svc.Load().Quote(testAccount, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q.Recipients != 5 || q.Skipped[SkipFrequencyCapped] != 5 {
		t.Fatalf("quote: %d recipients, skipped %v; want 5 and 5 frequency_capped", q.Recipients, q.Skipped)
	}
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, second.ID); err != nil {
		t.Fatal(err)
	}
	p := e.waitRun(second.ID, "complete", func(_ *Campaign, r *Run) bool { return r.State == StateCompleted })
	if p.Run.Skipped[SkipFrequencyCapped] != 5 || p.Run.Counts[string(engine.Sent)] != 5 {
		t.Fatalf("second run: skipped %v counts %v", p.Run.Skipped, p.Run.Counts)
	}

	// Two runs over the same fresh contacts, both resolved (rows written, nobody capped
	// yet) while a RED rating holds them: the first sends, the second's every row then
	// fails frequency_capped at the claim, and it completes: no failure_rate pause.
	if err := e.eng.UpdateNumber(e.ctx, "main", engine.NumberUpdate{Quality: "RED"}); err != nil {
		t.Fatal(err)
	}
	l := e.importCSV("c", phones(100, 20)...)
	x := e.create(CreateRequest{Name: "x", ListIDs: []string{l}})
	y := e.create(CreateRequest{Name: "y", ListIDs: []string{l}})
	for _, id := range []string{x.ID, y.ID} {
		if _, err := e.svc.Load().Launch(e.ctx, testAccount, id); err != nil {
			t.Fatal(err)
		}
		e.waitRun(id, "resolved and paused", func(c *Campaign, r *Run) bool { return r.Resolved && c.State == StatePaused })
	}
	if err := e.eng.UpdateNumber(e.ctx, "main", engine.NumberUpdate{Quality: "GREEN"}); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{x.ID, y.ID} {
		if _, err := e.svc.Load().Resume(e.ctx, testAccount, id); err != nil {
			t.Fatal(err)
		}
		p := e.waitRun(id, "complete", func(c *Campaign, r *Run) bool { return r.State == StateCompleted || c.State == StatePaused })
		if p.Run.State != StateCompleted {
			t.Fatalf("run %d %s (%s), counts %v", i, p.Campaign.State, p.Campaign.Reason, p.Run.Counts)
		}
		if want := []int64{20, 0}[i]; p.Run.Counts[string(engine.Sent)] != want {
			t.Fatalf("run %d sent %d, want %d", i, p.Run.Counts[string(engine.Sent)], want)
		}
	}
	failed := 0
	if _, err := e.svc.Load().Recipients(testAccount, y.ID, RecipientFilter{Status: string(engine.Failed)}, func(r *Row) error {
		failed++
		if r.Error == nil || r.Error.Class != SkipFrequencyCapped || r.Error.Code != engine.CodeFrequencyCapped {
			t.Errorf("failed row %s with %+v, want frequency_capped", r.Phone, r.Error)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if failed != 20 {
		t.Fatalf("%d rows of the second run failed, want 20", failed)
	}
	for to, n := range e.sandboxSends() {
		if n != 1 {
			t.Fatalf("%s got %d marketing templates, want 1", to, n)
		}
	}
}

// TestRestrictionRunsOut: a run paused by the account's restriction of
// business-initiated messaging resumes by itself when the restriction expires.
func TestRestrictionRunsOut(t *testing.T) {
	e := newEnv(t, envOptions{balance: 1_000_000 * idr})
	if err := e.eng.UpdateNumber(e.ctx, "main", engine.NumberUpdate{Restriction: "RESTRICTED_BIZ_INITIATED_MESSAGING",
		RestrictedUntil: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c := e.create(CreateRequest{ListIDs: []string{e.importCSV("a", phones(0, 10)...)}})
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitRun(c.ID, "paused by the restriction", func(c *Campaign, _ *Run) bool {
		return c.State == StatePaused && c.Reason == ReasonAccountRestricted
	})
	e.clk.Advance(time.Hour)
	if !e.poll(c.ID, waitTimeout, func(_ *Campaign, r *Run) bool { return r.State == StateCompleted }) {
		t.Fatalf("the run did not resume when the restriction ran out: %+v", *e.progress(c.ID).Campaign)
	}
	if n := len(e.sandboxSends()); n != 10 {
		t.Fatalf("%d recipients reached, want 10", n)
	}
}
