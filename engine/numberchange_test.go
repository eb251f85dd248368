package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kirim/provider"
)

// The number of the provider's webhook fixtures (provider/testdata/webhooks).
const (
	fixtureWABA  = "1203948571629384"
	fixturePhone = "+6281511223344"
)

// fixtureEnv is an engine whose number is the one the webhook fixtures name, at a
// throughput whose burst holds every send of a test, so the fake clock moves only when
// the test moves it.
func fixtureEnv(t *testing.T, mutate func(*Options)) *env {
	return newEnv(t, nil, nil, alwaysAccept, func(o *Options) {
		o.Numbers[0].WABAID, o.Numbers[0].Phone, o.Numbers[0].MPS = fixtureWABA, fixturePhone, 100000
		if mutate != nil {
			mutate(o)
		}
	})
}

// applyFixture applies every number change of a webhook fixture, as the receiver does.
func applyFixture(t *testing.T, eng *Engine, name string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "provider", "testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	n, err := provider.ParseNotification(body)
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, en := range n.Entry {
		for _, c := range en.Changes {
			v, err := provider.DecodeChange(c)
			if err != nil {
				t.Fatal(err)
			}
			ok, err := eng.ApplyNumberChange(context.Background(), en.ID, v)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				applied++
			}
		}
	}
	if applied == 0 {
		t.Fatalf("%s holds no number change", name)
	}
}

func sentAt(m *Message) time.Time {
	for _, h := range m.History {
		if h.State == Sent {
			return h.At
		}
	}
	return time.Time{}
}

// TestLimitRaiseWakesWaiting is the acceptance of the re-plan: messages waiting for the
// messaging limit (ETA a day away) are sent at once when a raise arrives, by either
// webhook or by a poll, with the fake clock still at the moment of the change.
func TestLimitRaiseWakesWaiting(t *testing.T) {
	for _, tt := range []struct {
		name  string
		apply func(t *testing.T, eng *Engine)
	}{
		{"business_capability_update webhook", func(t *testing.T, eng *Engine) { applyFixture(t, eng, "business_capability.json") }},
		{"phone_number_quality_update webhook", func(t *testing.T, eng *Engine) { applyFixture(t, eng, "phone_quality_2025.json") }},
		{"poll", func(t *testing.T, eng *Engine) {
			if err := eng.ApplyPhoneInfo(context.Background(), "main", &provider.PhoneNumberInfo{Status: "CONNECTED",
				QualityRating: "GREEN", MessagingLimit: provider.Tier10K}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := fixtureEnv(t, func(o *Options) { o.PortfolioLimit = 2 }).start()
			var ids []string
			for i := range 5 {
				ids = append(ids, e.submit(fmt.Sprintf("+6281300000%03d", i), nil).ID)
			}
			for _, id := range ids[2:] {
				w := e.rec.waitState(t, id, Waiting, 1)
				if w.WaitingReason != ReasonTierLimit || !w.ETA.Equal(t0.Add(LimitWindow)) {
					t.Fatalf("%s waits for %q until %v, want tier_limit until t0+24h", id, w.WaitingReason, w.ETA)
				}
			}
			e.tick(time.Minute)
			changeAt := e.clk.Now()
			tt.apply(t, e.eng)
			for _, id := range ids[2:] {
				s := e.rec.waitState(t, id, Sent, 1)
				if at := sentAt(&s); !at.Equal(changeAt) {
					t.Errorf("%s sent at %v, want at the change (%v)", id, at, changeAt)
				}
			}
			if n := e.sender.calls(); n != 5 {
				t.Errorf("%d provider calls, want 5", n)
			}
		})
	}
}

// TestNumberStatusHolds: what each status does to a marketing template, a utility
// template, a template to a customer whose window is open and a reply in the window;
// then CONNECTED sends every held message at once.
func TestNumberStatusHolds(t *testing.T) {
	type kind struct {
		name     string
		category string
		text     bool // a session reply instead of a template
		inWindow bool
	}
	kinds := []kind{
		{name: "marketing", category: "marketing"},
		{name: "utility", category: "utility"},
		{name: "utility in window", category: "utility", inWindow: true},
		{name: "reply in window", category: "service", text: true, inWindow: true},
	}
	for _, tt := range []struct {
		status, quality string
		want            []string // per kind: the waiting reason, "" sent
	}{
		{status: StatusConnected, want: []string{"", "", "", ""}},
		{status: StatusPending, want: []string{ReasonNumberPending, ReasonNumberPending, ReasonNumberPending, ReasonNumberPending}},
		{status: StatusOffline, want: []string{ReasonNumberOffline, ReasonNumberOffline, ReasonNumberOffline, ReasonNumberOffline}},
		{status: StatusBanned, want: []string{ReasonNumberOffline, ReasonNumberOffline, ReasonNumberOffline, ReasonNumberOffline}},
		{status: StatusFlagged, want: []string{ReasonNumberFlagged, "", "", ""}},
		{status: StatusRestricted, want: []string{ReasonNumberRestricted, ReasonNumberRestricted, "", ""}},
		{status: StatusConnected, quality: "RED", want: []string{ReasonQualityRed, "", "", ""}},
	} {
		t.Run(tt.status+tt.quality, func(t *testing.T) {
			e := fixtureEnv(t, func(o *Options) { o.PortfolioLimit = Unlimited }).start()
			if err := e.eng.UpdateNumber(context.Background(), "main", NumberUpdate{Status: tt.status, Quality: tt.quality}); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i, k := range kinds {
				to := fmt.Sprintf("+62814000000%02d", i)
				if k.inWindow {
					if _, err := e.eng.RecordInbound(context.Background(), []Inbound{{PhoneNumberID: "100000000000001",
						WaID: to[1:], MessageID: "wamid.in" + to, Type: "text", Text: "halo", At: e.clk.Now()}}); err != nil {
						t.Fatal(err)
					}
				}
				ids = append(ids, e.submit(to, func(r *SubmitRequest) {
					r.Message.Category = k.category
					if k.text {
						r.Message.Type, r.Message.Template = provider.TypeText, nil
						r.Send = &provider.Message{Type: provider.TypeText, Text: &provider.Text{Body: "pesanan dikirim"}}
					}
				}).ID)
			}
			held := 0
			for i, id := range ids {
				got := e.rec.waitFor(t, kinds[i].name+" outcome", func(m Message) bool {
					return m.ID == id && (m.State == Waiting || m.State == Sent)
				})
				want := tt.want[i]
				if (want == "" && got.State != Sent) || (want != "" && (got.State != Waiting || got.WaitingReason != want)) {
					t.Errorf("%s: %s %q, want %q (\"\": sent)", kinds[i].name, got.State, got.WaitingReason, want)
				}
				if want != "" {
					held++
				}
			}
			if n := e.sender.calls(); n != len(kinds)-held {
				t.Errorf("%d provider calls, want %d", n, len(kinds)-held)
			}
			if held == 0 {
				return
			}
			// The number recovers: every held message goes now, not at its recheck.
			e.tick(time.Minute)
			if err := e.eng.UpdateNumber(context.Background(), "main", NumberUpdate{Status: StatusConnected, Quality: "GREEN"}); err != nil {
				t.Fatal(err)
			}
			for i, id := range ids {
				s := e.rec.waitState(t, id, Sent, 1)
				if tt.want[i] != "" && !sentAt(&s).Equal(t0.Add(time.Minute)) {
					t.Errorf("%s sent at %v, want at the recovery", kinds[i].name, sentAt(&s))
				}
			}
		})
	}
}

// TestSendHold: the hold a campaign pauses for, by status, restriction and category.
func TestSendHold(t *testing.T) {
	e := newEnv(t, nil, nil, alwaysAccept, nil)
	until := t0.Add(48 * time.Hour)
	for _, tt := range []struct {
		u          NumberUpdate
		marketing  string
		utility    string
		wantExpiry time.Time
	}{
		{u: NumberUpdate{Status: StatusConnected}},
		{u: NumberUpdate{Status: StatusPending}, marketing: ReasonNumberPending, utility: ReasonNumberPending},
		{u: NumberUpdate{Status: StatusOffline}, marketing: ReasonNumberOffline, utility: ReasonNumberOffline},
		{u: NumberUpdate{Status: StatusFlagged}, marketing: ReasonNumberFlagged},
		{u: NumberUpdate{Status: StatusRestricted}, marketing: ReasonNumberRestricted, utility: ReasonNumberRestricted},
		{u: NumberUpdate{Status: StatusConnected, Restriction: "RESTRICTED_BIZ_INITIATED_MESSAGING", RestrictedUntil: until},
			marketing: ReasonAccountRestricted, utility: ReasonAccountRestricted, wantExpiry: until},
		{u: NumberUpdate{Restriction: "NONE", Quality: "RED"}},
	} {
		if err := e.eng.UpdateNumber(context.Background(), "main", tt.u); err != nil {
			t.Fatal(err)
		}
		for cat, want := range map[string]string{"marketing": tt.marketing, "utility": tt.utility} {
			got, exp := e.eng.SendHold("main", cat)
			if got != want || (want != "" && !exp.Equal(tt.wantExpiry)) {
				t.Errorf("%+v %s: hold %q until %v, want %q until %v", tt.u, cat, got, exp, want, tt.wantExpiry)
			}
		}
	}
}

// TestReplanLeavesStandingHolds: a change that lifts one hold re-plans only the
// messages waiting for it; one waiting for a hold still in force keeps its entry.
func TestReplanLeavesStandingHolds(t *testing.T) {
	e := fixtureEnv(t, func(o *Options) { o.PortfolioLimit = Unlimited }).start()
	if err := e.eng.UpdateNumber(context.Background(), "main", NumberUpdate{Status: StatusFlagged, Quality: "RED"}); err != nil {
		t.Fatal(err)
	}
	m := e.submit("+6281400000001", nil)
	w := e.rec.waitState(t, m.ID, Waiting, 1)
	if w.WaitingReason != ReasonNumberFlagged {
		t.Fatalf("waiting for %q", w.WaitingReason)
	}
	// The rating recovers, the number is still FLAGGED: the message is not touched.
	if err := e.eng.UpdateNumber(context.Background(), "main", NumberUpdate{Quality: "GREEN"}); err != nil {
		t.Fatal(err)
	}
	lifted := e.eng.liftedHolds("main", e.clk.Now())
	if lifted[ReasonNumberFlagged] || !lifted[ReasonQualityRed] {
		t.Fatalf("lifted %v", lifted)
	}
	e.eng.dispatchers["main"].replan(context.Background(), replanReq{reasons: lifted, tier: -1})
	if !has(t, e.db, queueKey("main", w.NextAttemptAt, m.ID)) || keys(t, e.db, queuePrefix("main")) != 1 {
		t.Fatalf("the message waiting for a standing hold was moved")
	}
	e.tick(time.Minute)
	if err := e.eng.UpdateNumber(context.Background(), "main", NumberUpdate{Status: StatusConnected}); err != nil {
		t.Fatal(err)
	}
	e.rec.waitState(t, m.ID, Sent, 1)
}
