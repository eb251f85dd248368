package ledger

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"kirim/storage"
)

func TestCreditsAndRollover(t *testing.T) {
	loc := jakarta(t)
	f := newFixture(t, Config{Accounts: []Account{{ID: "acme", Currency: "IDR", Timezone: loc,
		Package: Package{Credits: map[string]int64{CategoryMarketing: 2, CategoryUtility: 1, "unique_visitor": 0}}}}})
	f.topUp("acme", "TRF-1", 10_000*idr)

	a := f.mustHold(marketing("a"))
	b := f.mustHold(marketing("b"))
	c := f.mustHold(marketing("c"))
	if a.Hold.CreditKind != CategoryMarketing || b.Hold.CreditKind != CategoryMarketing || a.Hold.Amount != 0 {
		t.Fatalf("first two holds not on credit: %+v %+v", a.Hold, b.Hold)
	}
	if c.Hold.CreditKind != "" || c.Hold.Amount != 514*idr {
		t.Fatalf("third hold should use money: %+v", c.Hold)
	}
	bal := f.balance("acme")
	if bal.Credits[CategoryMarketing] != 0 || bal.HeldCredits[CategoryMarketing] != 2 || bal.Credits[CategoryUtility] != 1 {
		t.Fatalf("credits %v held %v", bal.Credits, bal.HeldCredits)
	}
	f.release("b") // gives the unit back
	f.capture("a", "")
	if bal := f.balance("acme"); bal.Credits[CategoryMarketing] != 1 || bal.HeldCredits[CategoryMarketing] != 0 {
		t.Fatalf("after release/capture credits %v held %v", bal.Credits, bal.HeldCredits)
	}
	d := f.mustHold(marketing("d")) // the returned unit
	if d.Hold.CreditKind != CategoryMarketing {
		t.Fatalf("released unit not reused: %+v", d.Hold)
	}

	// Rollover is idempotent inside a month.
	var rr RolloverResult
	f.commit(func(tx storage.Txn) (err error) { rr, err = f.l.Rollover(tx, "acme", f.clock.Now()); return err })
	if rr.Done {
		t.Fatalf("second rollover in July did something: %+v", rr)
	}

	// August in Jakarta: July's unused utility unit expires, a fresh package is granted,
	// money carries over, and July's credit hold released in August does not revive.
	f.clock.Set(time.Date(2025, 7, 31, 17, 0, 0, 0, time.UTC))
	if bal := f.balance("acme"); bal.Credits[CategoryMarketing] != 2 || bal.Credits[CategoryUtility] != 1 {
		t.Fatalf("balance before the lazy rollover should show August's grant: %v", bal.Credits)
	}
	f.commit(func(tx storage.Txn) (err error) { rr, err = f.l.Rollover(tx, "acme", f.clock.Now()); return err })
	if !rr.Done || rr.Month != "2025-08" || rr.Expired[CategoryUtility] != 1 || rr.Expired[CategoryMarketing] != 0 ||
		rr.Granted[CategoryMarketing] != 2 || rr.Granted[CategoryUtility] != 1 {
		t.Fatalf("rollover %+v", rr)
	}
	f.release("d")
	bal = f.balance("acme")
	if bal.Credits[CategoryMarketing] != 2 || bal.HeldCredits[CategoryMarketing] != 0 {
		t.Fatalf("July's unit revived in August: credits %v held %v", bal.Credits, bal.HeldCredits)
	}
	if bal.Available != (10_000-514)*idr || bal.Held != 514*idr {
		t.Fatalf("money did not carry over: %+v", bal)
	}

	var page StatementPage
	f.commit(func(tx storage.Txn) (err error) {
		page, err = f.l.Statement(tx, "acme", time.Date(2025, 7, 31, 17, 0, 0, 0, time.UTC), time.Time{}, "", 0)
		return err
	})
	var kinds []string
	for _, r := range page.Rows {
		kinds = append(kinds, r.Kind+":"+r.CreditKind)
	}
	want := "credit_expiry:utility credit_grant:marketing credit_grant:utility release:marketing"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("August statement %q, want %q", strings.Join(kinds, " "), want)
	}
	f.mustVerify()
}

func TestTopUps(t *testing.T) {
	f := newFixture(t, Config{})
	var tu TopUp
	f.commit(func(tx storage.Txn) (err error) {
		tu, _, err = f.l.CreateTopUp(tx, "acme", "TRF-9", 500*idr)
		return err
	})
	if tu.Status != TopUpPending || tu.ID != TopUpID("acme", "TRF-9") {
		t.Fatalf("created %+v", tu)
	}
	if b := f.balance("acme"); b.Available != 0 {
		t.Fatalf("pending top-up moved money: %d", b.Available)
	}
	steps := []struct {
		name string
		run  func(tx storage.Txn) error
		want error
	}{
		{"same reference and amount", func(tx storage.Txn) error {
			got, existing, err := f.l.CreateTopUp(tx, "acme", "TRF-9", 500*idr)
			if err == nil && (!existing || got.ID != tu.ID) {
				return fmt.Errorf("not the existing top-up: %+v", got)
			}
			return err
		}, nil},
		{"same reference, other amount", func(tx storage.Txn) error { _, _, err := f.l.CreateTopUp(tx, "acme", "TRF-9", 501*idr); return err }, ErrConflict},
		{"zero amount", func(tx storage.Txn) error { _, _, err := f.l.CreateTopUp(tx, "acme", "TRF-0", 0); return err }, ErrInvalid},
		{"unknown account", func(tx storage.Txn) error { _, _, err := f.l.CreateTopUp(tx, "nope", "TRF-0", 1); return err }, ErrNotFound},
		{"confirm unknown", func(tx storage.Txn) error { _, err := f.l.ConfirmTopUp(tx, "acme", "tu_missing", "admin"); return err }, ErrNotFound},
		{"confirm", func(tx storage.Txn) error {
			res, err := f.l.ConfirmTopUp(tx, "acme", tu.ID, "admin")
			if err == nil && (res.AlreadyResolved || res.TopUp.Status != TopUpConfirmed) {
				return fmt.Errorf("confirm: %+v", res)
			}
			return err
		}, nil},
		{"confirm again", func(tx storage.Txn) error {
			res, err := f.l.ConfirmTopUp(tx, "acme", tu.ID, "admin")
			if err == nil && !res.AlreadyResolved {
				return fmt.Errorf("second confirm not a no-op: %+v", res)
			}
			return err
		}, nil},
		{"reject confirmed", func(tx storage.Txn) error { _, err := f.l.RejectTopUp(tx, "acme", tu.ID, "admin", "no"); return err }, ErrConflict},
	}
	for _, s := range steps {
		if err := f.try(s.run); (s.want == nil && err != nil) || (s.want != nil && !isErr(err, s.want)) {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.want)
		}
	}
	var rej TopUp
	f.commit(func(tx storage.Txn) error {
		t2, _, err := f.l.CreateTopUp(tx, "acme", "TRF-10", 100*idr)
		if err != nil {
			return err
		}
		rej, err = f.l.RejectTopUp(tx, "acme", t2.ID, "admin", "no transfer found")
		return err
	})
	if err := f.try(func(tx storage.Txn) error { _, err := f.l.ConfirmTopUp(tx, "acme", rej.ID, "admin"); return err }); !isErr(err, ErrConflict) {
		t.Fatalf("confirm rejected: %v", err)
	}
	if b := f.balance("acme"); b.Available != 500*idr {
		t.Fatalf("available %d, want only the confirmed 500", b.Available/idr)
	}
	var list []TopUp
	f.commit(func(tx storage.Txn) (err error) { list, err = f.l.TopUps(tx, "acme"); return err })
	if len(list) != 2 {
		t.Fatalf("top-up history has %d entries", len(list))
	}
	f.mustVerify()
}

func TestLowBalanceOncePerCrossing(t *testing.T) {
	f := newFixture(t, Config{Accounts: []Account{{ID: "acme", Currency: "IDR", LowBalance: 1000 * idr}}})
	var events []Event
	collect := func(ev []Event) { events = append(events, ev...) }
	f.commit(func(tx storage.Txn) error {
		t1, _, err := f.l.CreateTopUp(tx, "acme", "T1", 2000*idr)
		if err != nil {
			return err
		}
		res, err := f.l.ConfirmTopUp(tx, "acme", t1.ID, "admin")
		collect(res.Events)
		return err
	})
	for i := range 3 { // 2000 -> 1486 -> 972 (crossing) -> 458
		collect(f.mustHold(marketing(fmt.Sprintf("m%d", i))).Events)
	}
	if len(events) != 1 || events[0].Type != EventBalanceLow || events[0].Available != 972*idr {
		t.Fatalf("events after first crossing: %+v", events)
	}
	collect(f.release("m0").Events) // 972: still low
	collect(f.release("m1").Events) // 1486: recovered
	if len(events) != 1 {
		t.Fatalf("events while low or recovering: %+v", events)
	}
	if b := f.balance("acme"); b.Low {
		t.Fatal("balance still flagged low after recovery")
	}
	f.commit(func(tx storage.Txn) error {
		res, err := f.l.Adjust(tx, "acme", -600*idr, "correction of duplicate top-up")
		collect(res.Events)
		return err
	})
	if len(events) != 2 || events[1].Available != 886*idr {
		t.Fatalf("second crossing: %+v", events)
	}
	if b := f.balance("acme"); !b.Low {
		t.Fatal("balance not flagged low")
	}
}

func TestAdjust(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "T1", 100*idr)
	tests := []struct {
		amount int64
		reason string
		want   error
	}{
		{50 * idr, "goodwill credit", nil},
		{-151 * idr, "claw back", ErrInsufficientBalance},
		{-150 * idr, "claw back", nil},
		{10, "", ErrInvalid},
		{0, "nothing", ErrInvalid},
	}
	for _, tt := range tests {
		err := f.try(func(tx storage.Txn) error { _, err := f.l.Adjust(tx, "acme", tt.amount, tt.reason); return err })
		if (tt.want == nil && err != nil) || (tt.want != nil && !isErr(err, tt.want)) {
			t.Fatalf("adjust %d %q: %v, want %v", tt.amount, tt.reason, err, tt.want)
		}
	}
	if b := f.balance("acme"); b.Available != 0 {
		t.Fatalf("available %d", b.Available)
	}
	f.mustVerify()
}

func TestStatementPagesAndCSV(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "TRF-1", 2000*idr)
	f.clock.Advance(time.Minute)
	f.mustHold(HoldRequest{ID: "m1", Account: "acme", MessageID: "m1", CampaignID: "c1", Market: "62", Category: CategoryMarketing,
		Recipient: "6281234567890", Template: "promo_juli/id"})
	f.capture("m1", "")
	f.clock.Advance(time.Minute)
	f.mustHold(marketing("m2"))
	f.release("m2")
	f.commit(func(tx storage.Txn) error { _, err := f.l.Adjust(tx, "acme", -86*idr, "=HYPERLINK(\"x\")"); return err })

	var rows []StatementRow
	var loc *time.Location
	cursor := ""
	for pages := 0; ; pages++ {
		var p StatementPage
		f.commit(func(tx storage.Txn) (err error) {
			p, err = f.l.Statement(tx, "acme", time.Time{}, time.Time{}, cursor, 2)
			return err
		})
		rows, loc = append(rows, p.Rows...), p.Timezone
		if p.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("statement does not end")
		}
		cursor = p.Next
	}
	type want struct {
		kind             string
		amount, availChg int64
		availAfter, held int64
	}
	wants := []want{
		{KindTopUp, 2000, 2000, 2000, 0},
		{KindHold, 514, -514, 1486, 514},
		{KindCapture, 514, 0, 1486, 0},
		{KindHold, 514, -514, 972, 514},
		{KindRelease, 514, 514, 1486, 0},
		{KindAdjustment, -86, -86, 1400, 0},
	}
	if len(rows) != len(wants) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(wants), rows)
	}
	for i, w := range wants {
		r := rows[i]
		if r.Kind != w.kind || r.Amount != w.amount*idr || r.AvailableChange != w.availChg*idr || r.AvailableAfter != w.availAfter*idr ||
			r.HeldAfter != w.held*idr || r.BalanceAfter != (w.availAfter+w.held)*idr {
			t.Fatalf("row %d = %+v, want %+v", i, r, w)
		}
	}
	if rows[1].CampaignID != "c1" || rows[1].MessageID != "m1" || rows[0].Reference != "TRF-1" ||
		rows[2].Recipient != "6281234567890" || rows[2].Template != "promo_juli/id" || loc.String() != "Asia/Jakarta" {
		t.Fatalf("row facts lost: %+v %+v", rows[0], rows[1])
	}

	// The time range keeps only the second minute's entries.
	var p StatementPage
	start := f.clock.Now().Add(-time.Minute)
	f.commit(func(tx storage.Txn) (err error) {
		p, err = f.l.Statement(tx, "acme", start.Add(time.Second), f.clock.Now().Add(time.Nanosecond), "", 0)
		return err
	})
	if len(p.Rows) != 3 || p.Rows[0].Kind != KindHold || p.Rows[0].MessageID != "m2" {
		t.Fatalf("ranged statement: %+v", p.Rows)
	}

	var buf bytes.Buffer
	if err := WriteStatementCSV(&buf, StatementPage{Currency: "IDR", Timezone: loc, Rows: rows}, true); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 || strings.Join(recs[0], ",") != strings.Join(StatementCSVHeader, ",") {
		t.Fatalf("csv: %v", recs)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	capture := recs[3]
	if capture[col["amount"]] != "514" || capture[col["available_after"]] != "1486" || recs[6][col["amount"]] != "-86" ||
		capture[col["currency"]] != "IDR" || capture[col["recipient"]] != "6281234567890" || capture[col["template"]] != "promo_juli/id" ||
		capture[col["category"]] != CategoryMarketing || capture[col["campaign_id"]] != "c1" {
		t.Fatalf("csv columns: %v / %v", capture, recs[6])
	}
	// 09:01 UTC on 10 July is 16:01 in Jakarta, the account's timezone.
	if at := capture[col["at"]]; !strings.HasPrefix(at, "2025-07-10T16:01:00") || !strings.HasSuffix(at, "+07:00") || capture[col["date"]] != "2025-07-10" {
		t.Fatalf("csv time %q %q", at, capture[col["date"]])
	}
	if got := recs[6][col["reason"]]; got != "'=HYPERLINK(\"x\")" {
		t.Fatalf("formula not defused: %q", got)
	}
	if err := f.try(func(tx storage.Txn) error {
		_, err := f.l.Statement(tx, "acme", time.Time{}, time.Time{}, "zz", 0)
		return err
	}); !isErr(err, ErrInvalid) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestFormatMicros(t *testing.T) {
	tests := map[int64]string{0: "0", 514 * idr: "514", 510_500_000: "510.5", 41_100: "0.0411", -1: "-0.000001", -86 * idr: "-86",
		1_000_000 * idr: "1000000", math.MinInt64: "-9223372036854.775808"}
	for in, want := range tests {
		if got := FormatMicros(in); got != want {
			t.Errorf("FormatMicros(%d) = %q, want %q", in, got, want)
		}
	}
}
