package campaign

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"kirim/engine"
	"kirim/ledger"
	"kirim/phone"
	"kirim/storage"
	"kirim/template"
)

func TestCreateChecksDefinition(t *testing.T) {
	e := newEnv(t, envOptions{balance: 1_000_000 * idr})
	a := e.importCSV("a", "phone,name,voucher,city", "+6281200000001,Budi,V1,Jakarta")
	b := e.importCSV("b", "phone,name,city", "+6281200000002,Ani,Bandung")
	for _, tc := range []struct {
		name      string
		req       CreateRequest
		field     string
		code, msg string
	}{
		{"no name", CreateRequest{Name: " ", ListIDs: []string{a}}, "name", "", "name: is required"},
		{"unknown number", CreateRequest{From: "other", ListIDs: []string{a}}, "from", "", `from: "other" is not a configured number`},
		{"unknown template", CreateRequest{Template: TemplateRef{Name: "nope", Language: "id"}, ListIDs: []string{a}}, "template.name", "template_not_approved", ""},
		{"no lists", CreateRequest{}, "list_ids", "", "list_ids: name at least one list"},
		{"unknown list", CreateRequest{ListIDs: []string{"lst_nope"}}, "list_ids[0]", "", `list_ids[0]: no list "lst_nope"`},
		{"too few params", CreateRequest{ListIDs: []string{a}, Body: []string{"{{name}}"}}, "body", "param_count_mismatch",
			`body: template "promo" takes 2 body parameters, the campaign gives 1`},
		{"missing column", CreateRequest{ListIDs: []string{a}, Body: []string{"{{name}}", "{{kode}}"}}, "body[1]", "",
			`body[1]: column "kode" is not in every list (columns: city, name, phone, voucher)`},
		{"column not in every list", CreateRequest{ListIDs: []string{a, b}}, "body[1]", "",
			`body[1]: column "voucher" is not in every list (columns: city, name, phone)`},
		{"bad filter op", CreateRequest{ListIDs: []string{a}, Filters: []Filter{{Column: "city", Op: "like"}}}, "filters[0].op", "",
			`filters[0].op: "like" is not one of eq, ne, contains, prefix, empty, not_empty`},
		{"header on a template without", CreateRequest{ListIDs: []string{a}, Header: "x"}, "header", "", `header: template "promo" has no header parameter`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Load().Create(e.ctx, filled(tc.req))
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("got %v, want an InvalidError on %s", err, tc.field)
			}
			if ie.Field != tc.field || ie.Code != tc.code || (tc.msg != "" && ie.Error() != tc.msg) {
				t.Fatalf("got field %q code %q %q, want %q %q %q", ie.Field, ie.Code, ie.Error(), tc.field, tc.code, tc.msg)
			}
		})
	}
	cs, _, err := e.svc.Load().List(testAccount, "", 10)
	if err != nil || len(cs) != 0 {
		t.Fatalf("refused definitions stored %d campaigns (%v)", len(cs), err)
	}
}

// TestCampaignSendsEachRecipientOnce runs a campaign over two overlapping lists with
// an opted-out contact, a row missing its variable and a filter: the quote counts
// every reason, one reserve pays for the run, and the sandbox sees each recipient once.
func TestCampaignSendsEachRecipientOnce(t *testing.T) {
	e := newEnv(t, envOptions{balance: 1_000_000 * idr, inFlight: 40})
	rows := phones(0, 300)
	rows[5] = "+628120000003,Dup in file,V3" // a duplicate inside the file: counted by the import
	rows[10] = "+628120000009,Tanpa Voucher,"
	a := e.importCSV("a", rows...)
	b := e.importCSV("b", phones(250, 100)...) // 50 overlap with a
	if err := e.eng.SetOptOut(e.ctx, testAccount, phone.WaID("+628120000020"), true, "test"); err != nil {
		t.Fatal(err)
	}
	c := e.create(CreateRequest{ListIDs: []string{a, b}})
	if c.State != StateDraft {
		t.Fatalf("state %s, want draft", c.State)
	}
	q, err := e.svc.Load().Quote(testAccount, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// a has 299 unique phones (0..299 without 5), b 100 (250..349): 349 unique.
	wantRecipients := int64(349 - 1 - 1) // minus the opted out and the invalid row
	if q.Recipients != wantRecipients || q.Skipped[SkipDuplicate] != 50 || q.Skipped[SkipOptedOut] != 1 || q.Skipped[SkipInvalid] != 1 {
		t.Fatalf("quote %d recipients, skipped %v; want %d, 50 duplicate, 1 opted out, 1 invalid", q.Recipients, q.Skipped, wantRecipients)
	}
	if q.Cost != wantRecipients*price || q.BalanceAfter != 1_000_000*idr-q.Cost {
		t.Fatalf("quote cost %d balance after %d", q.Cost, q.BalanceAfter)
	}
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	p := e.waitRun(c.ID, "all sent", func(c *Campaign, r *Run) bool { return c.State == StateCompleted })
	if got := p.Run.Counts[string(engine.Sent)]; got != wantRecipients || p.Run.Total != wantRecipients {
		t.Fatalf("run counts %v total %d, want %d sent", p.Run.Counts, p.Run.Total, wantRecipients)
	}
	sends := e.sandboxSends()
	if int64(len(sends)) != wantRecipients {
		t.Fatalf("sandbox saw %d recipients, want %d", len(sends), wantRecipients)
	}
	for to, n := range sends {
		if n != 1 {
			t.Fatalf("%s sent %d times", to, n)
		}
	}
	for _, skip := range []string{"628120000020", "628120000009"} {
		if sends[skip] != 0 {
			t.Fatalf("%s was skipped but sent", skip)
		}
	}
	// The reserve paid every hold and nothing is left in it.
	var res ledger.Reserve
	if err := e.db.View(func(r storage.Reader) error {
		var err error
		res, err = e.led.GetReserve(r, p.Run.ReserveID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if res.Amount != q.Cost || res.Drawn != q.Cost || res.Status != "closed" {
		t.Fatalf("reserve %+v, want %d drawn and closed", res, q.Cost)
	}
	// Rows carry the filled parameters.
	n := 0
	_, err = e.svc.Load().Recipients(testAccount, c.ID, RecipientFilter{Limit: 2}, func(r *Row) error {
		n++
		if r.Status != string(engine.Sent) || r.MessageID == "" || len(r.Params) != 2 || r.Params[1] != fmt.Sprintf("V%d", n-1) {
			t.Errorf("row %+v", r)
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("listed %d rows: %v", n, err)
	}
}

// TestCampaignSpillsOverLimitAndPauses: with a messaging limit of 250, 600 recipients
// go 250 a day as quoted, a pause while waiting and a resume change nothing of that,
// and the sandbox never refuses one for the limit.
func TestCampaignSpillsOverLimitAndPauses(t *testing.T) {
	e := newEnv(t, envOptions{limit: 250, balance: 1_000_000 * idr, inFlight: 100})
	l := e.importCSV("all", phones(0, 600)...)
	c := e.create(CreateRequest{ListIDs: []string{l}})
	q, err := e.svc.Load().Quote(testAccount, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q.Recipients != 600 || q.MessagingLimit != 250 || !q.ETA.Equal(t0.Add(48*time.Hour)) || q.TierDays != 3 {
		t.Fatalf("quote: %d recipients, limit %d, eta %v, tier days %d; want 600, 250, t0+48h, 3", q.Recipients, q.MessagingLimit, q.ETA, q.TierDays)
	}
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	sentIs := func(n int64) func(*Campaign, *Run) bool {
		return func(_ *Campaign, r *Run) bool { return r.Counts[string(engine.Sent)] == n }
	}
	p := e.waitRun(c.ID, "the first 250", sentIs(250))
	if w := p.Run.Counts[string(engine.Waiting)] + p.Run.Counts[string(engine.Queued)]; w != 0 {
		t.Fatalf("%d messages parked in the engine, want none: the feeder waits for the window", w)
	}
	if _, err := e.svc.Load().Pause(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(24 * time.Hour)
	if got := e.progress(c.ID).Run.Counts[string(engine.Sent)]; got != 250 {
		t.Fatalf("a paused campaign sent: %d", got)
	}
	if _, err := e.svc.Load().Resume(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitRun(c.ID, "the next 250", sentIs(500))
	e.clk.Advance(24 * time.Hour)
	p = e.waitRun(c.ID, "completion", func(c *Campaign, r *Run) bool { return c.State == StateCompleted })
	if p.Run.Counts[string(engine.Sent)] != 600 || !p.Run.FinishedAt.Equal(t0.Add(48*time.Hour)) {
		t.Fatalf("run %+v, want 600 sent, finished at t0+48h", p.Run)
	}
	st := e.sb.Stats()
	if st.LimitErrors != 0 || st.Accepted != 600 {
		t.Fatalf("sandbox accepted %d with %d limit errors", st.Accepted, st.LimitErrors)
	}
	for to, n := range e.sandboxSends() {
		if n != 1 {
			t.Fatalf("%s sent %d times", to, n)
		}
	}
}

// TestPauseTakesBackUnclaimed pauses with messages queued in the engine: they are
// cancelled there, their rows pending again, and resume sends each once.
func TestPauseTakesBackUnclaimed(t *testing.T) {
	// A message or two a second: most of a batch waits in the engine's queue.
	e := newEnv(t, envOptions{balance: 1_000_000 * idr, mps: 2, inFlight: 50})
	l := e.importCSV("all", phones(0, 120)...)
	c := e.create(CreateRequest{ListIDs: []string{l}})
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitRun(c.ID, "a batch in the engine", func(_ *Campaign, r *Run) bool { return r.unclaimedCount() > 10 })
	if _, err := e.svc.Load().Pause(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	p := e.progress(c.ID)
	if p.Run.unclaimedCount() != 0 || p.Run.Requeued == 0 || p.Campaign.Reason != ReasonUser {
		t.Fatalf("after pause: counts %v requeued %d reason %q", p.Run.Counts, p.Run.Requeued, p.Campaign.Reason)
	}
	var bal ledger.Balance
	_ = e.db.View(func(r storage.Reader) error { bal, _ = e.led.Balance(r, testAccount); return nil })
	if bal.Available+bal.Held != 1_000_000*idr {
		t.Fatalf("balance %+v moved money on pause", bal)
	}
	if _, err := e.svc.Load().Resume(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	// One message a second: move the clock a second at a time. Whether a step sends
	// depends on when the workers took their turns, so a step that sends nothing soon
	// is followed by the next; only the end is checked.
	steps := 0
	for p = e.progress(c.ID); p.Campaign.State != StateCompleted; p = e.progress(c.ID) {
		steps++
		if steps == 600 {
			t.Fatalf("not complete after %d simulated seconds: campaign %s (%s), run %+v", steps, p.Campaign.State, p.Campaign.Reason, *p.Run)
		}
		before := p.Run.Counts[string(engine.Sent)]
		e.clk.Advance(time.Second)
		e.poll(c.ID, 200*time.Millisecond, func(c *Campaign, r *Run) bool {
			return c.State == StateCompleted || r.Counts[string(engine.Sent)] > before
		})
	}
	if p.Run.Counts[string(engine.Sent)] != 120 {
		t.Fatalf("counts %v", p.Run.Counts)
	}
	for to, n := range e.sandboxSends() {
		if n != 1 {
			t.Fatalf("%s sent %d times", to, n)
		}
	}
}

func TestAutoPauseOnTemplateAndLaunchWithoutMoney(t *testing.T) {
	e := newEnv(t, envOptions{balance: 100 * price, limit: 250})
	l := e.importCSV("all", phones(0, 300)...)
	c := e.create(CreateRequest{ListIDs: []string{l}})
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); !errors.Is(err, ErrInsufficient) {
		t.Fatalf("launch without the money: %v", err)
	}
	if p := e.progress(c.ID); p.Campaign.State != StateDraft || p.Run != nil {
		t.Fatalf("a refused launch changed the campaign: %+v", p.Campaign)
	}
	e.topUp(1_000_000 * idr)
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	e.waitRun(c.ID, "the first window", func(_ *Campaign, r *Run) bool { return r.Counts[string(engine.Sent)] == 250 })
	e.cat.setStatus("promo", "id", template.StatusPaused)
	e.clk.Advance(24 * time.Hour)
	p := e.waitRun(c.ID, "the auto-pause", func(c *Campaign, _ *Run) bool { return c.State == StatePaused })
	if p.Campaign.Reason != ReasonTemplatePaused || p.Run.Counts[string(engine.Sent)] != 250 {
		t.Fatalf("paused with %q after %v", p.Campaign.Reason, p.Run.Counts)
	}
}

// TestCampaignFeedsLongRowsUnderASmallMemtable: under the smallest memtable (a 600 KiB
// transaction), a full batch of rows with long parameters outgrows one transaction;
// the feeder halves the batch instead of failing the run.
func TestCampaignFeedsLongRowsUnderASmallMemtable(t *testing.T) {
	db, err := storage.Open(storage.Options{InMemory: true, MemTableSize: storage.MinMemTableSize, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := newEnv(t, envOptions{balance: 1_000_000 * idr, inFlight: 1000, db: db})
	long := strings.Repeat("x", 900)
	rows := []string{"phone,name,voucher"}
	for i := range 300 {
		rows = append(rows, fmt.Sprintf("+62812%07d,Pelanggan %d,%s%d", i, i, long, i))
	}
	c := e.create(CreateRequest{ListIDs: []string{e.importCSV("long", rows...)}})
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	p := e.waitRun(c.ID, "all sent", func(c *Campaign, r *Run) bool { return c.State == StateCompleted })
	if got := p.Run.Counts[string(engine.Sent)]; got != 300 {
		t.Fatalf("run counts %v, want 300 sent", p.Run.Counts)
	}
	sends := e.sandboxSends()
	for to, n := range sends {
		if n != 1 {
			t.Fatalf("%s sent %d times", to, n)
		}
	}
	if len(sends) != 300 {
		t.Fatalf("sandbox saw %d recipients, want 300", len(sends))
	}
}

// TestFailureRatePause: failures the provider reports pause a run whose failure rate
// crosses the threshold; failures Kirim decided itself (messages left unconfirmed by a
// crash) say nothing of the audience and do not count.
func TestFailureRatePause(t *testing.T) {
	e := newEnv(t, envOptions{balance: 1_000_000 * idr, inFlight: 10, failureMin: 20})
	for i := range 30 {
		if err := e.sb.SetUnreachable(fmt.Sprintf("62812%07d", i), true); err != nil {
			t.Fatal(err)
		}
	}
	c := e.create(CreateRequest{ListIDs: []string{e.importCSV("a", phones(0, 100)...)}})
	if _, err := e.svc.Load().Launch(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	p := e.waitRun(c.ID, "the failure-rate pause", func(c *Campaign, r *Run) bool { return c.State == StatePaused })
	if p.Campaign.Reason != ReasonFailureRate {
		t.Fatalf("paused for %q, want %q", p.Campaign.Reason, ReasonFailureRate)
	}

	// The same number of failures by the crash policy, on a run with no provider failure.
	e2 := newEnv(t, envOptions{balance: 1_000_000 * idr, inFlight: 1000, failureMin: 20})
	c2 := e2.create(CreateRequest{ListIDs: []string{e2.importCSV("b", phones(0, 100)...)}})
	if _, err := e2.svc.Load().Launch(e2.ctx, testAccount, c2.ID); err != nil {
		t.Fatal(err)
	}
	p = e2.waitRun(c2.ID, "all sent", func(c *Campaign, r *Run) bool { return c.State == StateCompleted })
	var failed []*engine.Message
	_, err := e2.svc.Load().Recipients(testAccount, c2.ID, RecipientFilter{Limit: 30}, func(r *Row) error {
		m, err := e2.eng.Get(r.MessageID)
		if err != nil {
			return err
		}
		m.State = engine.Failed
		m.Error = &engine.MessageError{Code: engine.CodeUnknownTimeout, Title: "no status from the provider after a crash"}
		failed = append(failed, m)
		return nil
	})
	if err != nil || len(failed) != 30 {
		t.Fatalf("%d rows: %v", len(failed), err)
	}
	if err := e2.db.Commit(e2.ctx, func(tx storage.Txn) error {
		for _, m := range failed {
			if err := e2.svc.Load().Observe(tx, m, engine.Sent); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var run *Run
	if err := e2.db.View(func(r storage.Reader) error {
		var err error
		run, err = loadRun(r, c2.ID, p.Run.Seq)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if run.Counts[string(engine.Failed)] != 30 || run.FailBase != 30 || run.SettledBase != 30 {
		t.Fatalf("failed %d, bases %d/%d; want 30 each", run.Counts[string(engine.Failed)], run.FailBase, run.SettledBase)
	}
	if reason := e2.svc.Load().autoPause(p.Campaign, run, ""); reason != "" {
		t.Fatalf("auto-pause %q for failures the provider never reported", reason)
	}
}
