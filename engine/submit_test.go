package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
	"kirim/storage"
)

func TestSubmitQueuesDurablyWithHold(t *testing.T) {
	e := newEnv(t, nil, nil, alwaysAccept, nil)
	m := e.submit("+6281234567890", func(r *SubmitRequest) { r.Message.CallbackData = "order-42" })
	got := e.get(m.ID)
	if got.State != Queued || got.Price != 514_000_000 || got.Currency != "IDR" || got.HoldID != "hold_"+m.ID {
		t.Errorf("stored %s price %d %s hold %q; want queued with the biller's hold", got.State, got.Price, got.Currency, got.HoldID)
	}
	if len(got.History) != 1 || got.History[0].State != Queued || !got.History[0].At.Equal(t0) {
		t.Errorf("history %v, want one queued entry at %v", got.History, t0)
	}
	if got.Number != "main" {
		t.Errorf("number %q, want the default number", got.Number)
	}
	var p provider.Message
	if err := json.Unmarshal(got.Payload, &p); err != nil {
		t.Fatal(err)
	}
	// The payload carries our id so a status names the message even after a crash.
	if p.BizOpaqueCallbackData != m.ID || p.To != "+6281234567890" || p.MessagingProduct != "whatsapp" || p.RecipientType != "individual" {
		t.Errorf("payload %s: want our id as callback data, the recipient and the product", got.Payload)
	}
	if n := keys(t, e.db, queuePrefix("main")); n != 1 {
		t.Errorf("%d queue entries, want 1", n)
	}
	if e.biller.held(m.ID) != 1 {
		t.Errorf("%d holds, want 1", e.biller.held(m.ID))
	}
}

func TestSubmitRefusals(t *testing.T) {
	e := newEnv(t, nil, nil, alwaysAccept, nil)
	_, err := e.eng.Submit(context.Background(), e.request("+6281234567890", func(r *SubmitRequest) { r.Message.Number = "other" }))
	if !errors.Is(err, ErrUnknownNumber) {
		t.Errorf("unknown number: %v, want ErrUnknownNumber", err)
	}
	e.biller.holdErr = errors.New("ledger: insufficient balance")
	_, err = e.eng.Submit(context.Background(), e.request("+6281234567890", nil))
	if err == nil || err.Error() != "ledger: insufficient balance" {
		t.Errorf("refused hold: %v, want the biller's error", err)
	}
	if n := keys(t, e.db, []byte(storage.PrefixMessage)); n != 0 {
		t.Errorf("%d keys under the message prefix after refusals, want none", n)
	}
	e.biller.holdErr = nil
	if err := e.eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.Submit(context.Background(), e.request("+6281234567890", nil)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestSubmitIdempotency(t *testing.T) {
	e := newEnv(t, nil, nil, alwaysAccept, nil)
	renders := 0
	req := func(key, body string, account string) SubmitRequest {
		return e.request("+6281234567890", func(r *SubmitRequest) {
			r.Message.AccountID = account
			r.IdempotencyKey = key
			r.RequestHash = []byte(body)
			r.Render = func(m *Message) ([]byte, error) {
				renders++
				return fmt.Appendf(nil, `{"id":%q,"render":%d}`, m.ID, renders), nil
			}
		})
	}
	ctx := context.Background()
	first, err := e.eng.Submit(ctx, req("k1", "body-a", testAccount))
	if err != nil {
		t.Fatal(err)
	}
	if first.Replayed {
		t.Error("first submit reported as a replay")
	}

	tests := []struct {
		name      string
		key, hash string
		account   string
		wantErr   error
		replay    bool
		newQueued bool
	}{
		{"same key and request replays", "k1", "body-a", testAccount, nil, true, false},
		{"same key and request again", "k1", "body-a", testAccount, nil, true, false},
		{"same key, other request conflicts", "k1", "body-b", testAccount, ErrIdempotencyConflict, false, false},
		{"other key is a new message", "k2", "body-a", testAccount, nil, false, true},
		{"same key in another account is its own", "k1", "body-a", "acct_other", nil, false, true},
	}
	queued := 1
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rendersBefore := renders
			res, err := e.eng.Submit(ctx, req(tt.key, tt.hash, tt.account))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tt.newQueued {
				queued++
			}
			if n := keys(t, e.db, queuePrefix("main")); n != queued {
				t.Errorf("%d queue entries, want %d", n, queued)
			}
			if err != nil {
				return
			}
			if res.Replayed != tt.replay {
				t.Errorf("Replayed = %v, want %v", res.Replayed, tt.replay)
			}
			if tt.replay {
				if string(res.Response) != string(first.Response) {
					t.Errorf("replayed response %s, want the first one %s", res.Response, first.Response)
				}
				if res.Message.ID != first.Message.ID {
					t.Errorf("replay names %s, want %s", res.Message.ID, first.Message.ID)
				}
				if renders != rendersBefore {
					t.Error("a replay rendered a new response")
				}
			} else if res.Message.ID == first.Message.ID {
				t.Error("a new request got the first message")
			}
		})
	}
	if e.biller.held(first.Message.ID) != 1 {
		t.Errorf("the first message was held %d times, want once", e.biller.held(first.Message.ID))
	}
	// Replay answers the same, without writing, for a caller that checks before it
	// validates again.
	if r, err := e.eng.Replay(testAccount, "k1", []byte("body-a")); err != nil || r == nil || !r.Replayed ||
		string(r.Response) != string(first.Response) || r.Message.ID != first.Message.ID {
		t.Errorf("Replay of k1: %+v, %v", r, err)
	}
	if _, err := e.eng.Replay(testAccount, "k1", []byte("body-b")); !errors.Is(err, ErrIdempotencyConflict) {
		t.Errorf("Replay with another hash: %v, want ErrIdempotencyConflict", err)
	}
	for _, k := range []string{"k9", ""} {
		if r, err := e.eng.Replay(testAccount, k, []byte("body-a")); err != nil || r != nil {
			t.Errorf("Replay of unused key %q: %+v, %v", k, r, err)
		}
	}
	all, _, err := e.eng.List(ListFilter{AccountID: testAccount})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Errorf("account holds %d messages, want 2 (k1 and k2)", len(all))
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, nil, nil, func(_ context.Context, n int, body []byte) (*provider.SendResponse, error) {
		var m provider.Message
		_ = json.Unmarshal(body, &m)
		if m.To == "+6281200000003" {
			return nil, providerErr(provider.CodeSpamRate, "Spam rate limit hit")
		}
		return accepted(body)
	}, nil)
	ctx := context.Background()

	queued := e.submit("+6281200000001", nil)
	c, err := e.eng.Cancel(ctx, queued.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != Cancelled {
		t.Errorf("state %s, want cancelled", c.State)
	}
	if r := e.biller.released(queued.ID); !slices.Equal(r, []string{"cancelled"}) {
		t.Errorf("releases %v, want one with reason cancelled", r)
	}
	if n := keys(t, e.db, queuePrefix("main")); n != 0 {
		t.Errorf("%d queue entries after cancel, want 0", n)
	}
	e.rec.waitState(t, queued.ID, Cancelled, 1)
	if _, err := e.eng.Cancel(ctx, queued.ID); !errors.Is(err, ErrNotCancellable) {
		t.Errorf("second cancel: %v, want ErrNotCancellable", err)
	}
	if r := e.biller.released(queued.ID); len(r) != 1 {
		t.Errorf("releases %v after a second cancel, want still one", r)
	}
	if _, err := e.eng.Cancel(ctx, "msg_00000000000000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cancel of an unknown id: %v, want ErrNotFound", err)
	}

	e.start()
	sent := e.submit("+6281200000002", nil)
	e.rec.waitState(t, sent.ID, Sent, 1)
	if _, err := e.eng.Cancel(ctx, sent.ID); !errors.Is(err, ErrNotCancellable) {
		t.Errorf("cancel of a sent message: %v, want ErrNotCancellable", err)
	}
	if r := e.biller.released(sent.ID); len(r) != 0 {
		t.Errorf("a refused cancel released the hold: %v", r)
	}

	// A message waiting 24 h for the number's marketing pause can still be cancelled,
	// and its requeued entry goes with it.
	waiting := e.submit("+6281200000003", nil)
	w := e.rec.waitState(t, waiting.ID, Waiting, 1)
	if w.WaitingReason != ReasonSpamRateLimit || !w.ETA.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("waiting reason %q eta %v, want spam_rate_limit at +24h", w.WaitingReason, w.ETA)
	}
	if _, err := e.eng.Cancel(ctx, waiting.ID); err != nil {
		t.Fatalf("cancel of a waiting message: %v", err)
	}
	calls := e.sender.calls()
	e.tick(25 * time.Hour)
	// Something sent after the tick proves the dispatcher ran past the cancelled entry.
	probe := e.submit("+6281200000004", nil)
	e.rec.waitState(t, probe.ID, Sent, 1)
	if got := e.sender.calls(); got != calls+1 {
		t.Errorf("%d provider calls after cancelling, want %d: the cancelled message was sent", got, calls+1)
	}
	if m := e.get(queued.ID); m.State != Cancelled {
		t.Errorf("cancelled message is %s after the engine ran", m.State)
	}
	if m := e.get(waiting.ID); m.State != Cancelled {
		t.Errorf("cancelled waiting message is %s after the engine ran", m.State)
	}
}

func TestList(t *testing.T) {
	e := newEnv(t, nil, nil, alwaysAccept, nil)
	ctx := context.Background()
	type spec struct {
		account, to, campaign string
		cancel                bool
	}
	specs := []spec{
		{testAccount, "+6281200000001", "cmp_a", false},
		{testAccount, "+6281200000002", "", false},
		{"acct_other", "+6281200000001", "cmp_b", false},
		{testAccount, "+6281200000001", "cmp_a", true},
		{testAccount, "+6281200000002", "", false},
		{testAccount, "+6281200000001", "", true},
		{"acct_other", "+6281200000002", "", false},
		{testAccount, "+6281200000001", "cmp_a", false},
	}
	var ids []string
	for _, s := range specs {
		m := e.submit(s.to, func(r *SubmitRequest) {
			r.Message.AccountID = s.account
			r.Message.CampaignID = s.campaign
		})
		if s.cancel {
			if _, err := e.eng.Cancel(ctx, m.ID); err != nil {
				t.Fatal(err)
			}
		}
		ids = append(ids, m.ID)
		e.clk.Advance(time.Millisecond)
	}
	// want returns the ids of specs matching keep, newest first.
	want := func(keep func(spec) bool) []string {
		var out []string
		for i := len(specs) - 1; i >= 0; i-- {
			if keep(specs[i]) {
				out = append(out, ids[i])
			}
		}
		return out
	}
	mine := func(s spec) bool { return s.account == testAccount }
	tests := []struct {
		name string
		f    ListFilter
		want []string
	}{
		{"all of the account", ListFilter{AccountID: testAccount}, want(mine)},
		{"other account", ListFilter{AccountID: "acct_other"}, want(func(s spec) bool { return s.account == "acct_other" })},
		{"queued", ListFilter{AccountID: testAccount, State: Queued}, want(func(s spec) bool { return mine(s) && !s.cancel })},
		{"cancelled", ListFilter{AccountID: testAccount, State: Cancelled}, want(func(s spec) bool { return mine(s) && s.cancel })},
		{"sent: none", ListFilter{AccountID: testAccount, State: Sent}, nil},
		{"to", ListFilter{AccountID: testAccount, To: "+6281200000001"}, want(func(s spec) bool { return mine(s) && s.to == "+6281200000001" })},
		{"to and state", ListFilter{AccountID: testAccount, To: "+6281200000001", State: Queued},
			want(func(s spec) bool { return mine(s) && s.to == "+6281200000001" && !s.cancel })},
		{"campaign", ListFilter{AccountID: testAccount, CampaignID: "cmp_a"}, want(func(s spec) bool { return mine(s) && s.campaign == "cmp_a" })},
		{"another account's campaign", ListFilter{AccountID: testAccount, CampaignID: "cmp_b"}, nil},
		{"unknown recipient", ListFilter{AccountID: testAccount, To: "+6281299999999"}, nil},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 2, 3, 0} {
			t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
				f := tt.f
				f.Limit = limit
				var got []string
				for page := 0; ; page++ {
					if page > len(ids) {
						t.Fatal("pagination does not end")
					}
					ms, next, err := e.eng.List(f)
					if err != nil {
						t.Fatal(err)
					}
					if limit > 0 && len(ms) > limit {
						t.Fatalf("page of %d, limit %d", len(ms), limit)
					}
					for _, m := range ms {
						got = append(got, m.ID)
					}
					if next == "" {
						break
					}
					if len(ms) == 0 || next != ms[len(ms)-1].ID {
						t.Fatalf("next cursor %q is not the last id of the page", next)
					}
					f.Cursor = next
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("listed %v, want %v", got, tt.want)
				}
			})
		}
	}
}

func TestRecordInbound(t *testing.T) {
	e := newEnv(t, nil, nil, alwaysAccept, nil)
	ctx := context.Background()
	const pid, wa = "100000000000001", "6281234567890"
	in := func(id string, at time.Time, referral bool) Inbound {
		return Inbound{PhoneNumberID: pid, WaID: wa, Name: "Budi", MessageID: id, Type: "text", Text: "halo", At: at, Referral: referral}
	}
	c, err := e.eng.ContactOf(pid, wa)
	if err != nil {
		t.Fatal(err)
	}
	if c.WindowOpen(t0) {
		t.Fatal("window open before any inbound message")
	}
	fresh, err := e.eng.RecordInbound(ctx, []Inbound{in("wamid.in1", t0, false)})
	if err != nil || len(fresh) != 1 {
		t.Fatalf("first inbound: %v, %d fresh", err, len(fresh))
	}
	// A redelivered webhook changes nothing.
	fresh, err = e.eng.RecordInbound(ctx, []Inbound{in("wamid.in1", t0, false)})
	if err != nil || len(fresh) != 0 {
		t.Fatalf("repeated inbound: %v, %d fresh, want 0", err, len(fresh))
	}
	c, _ = e.eng.ContactOf(pid, wa)
	if c.Inbound != 1 || c.Name != "Budi" || !c.WindowUntil.Equal(t0.Add(ServiceWindow)) {
		t.Errorf("contact %+v: want one inbound and a window until +24h", c)
	}
	if !c.WindowOpen(t0.Add(ServiceWindow-time.Nanosecond)) || c.WindowOpen(t0.Add(ServiceWindow)) {
		t.Error("the window must be open until exactly 24 h after the inbound message")
	}
	// A later message extends the window; an older one arriving late does not shorten it.
	if _, err := e.eng.RecordInbound(ctx, []Inbound{in("wamid.in3", t0.Add(10*time.Hour), true), in("wamid.in2", t0.Add(time.Hour), false)}); err != nil {
		t.Fatal(err)
	}
	c, _ = e.eng.ContactOf(pid, wa)
	if !c.WindowUntil.Equal(t0.Add(10*time.Hour+ServiceWindow)) || c.LastMessageID != "wamid.in3" {
		t.Errorf("window until %v last %s; want the latest message's window", c.WindowUntil, c.LastMessageID)
	}
	if !c.EntryUntil.Equal(t0.Add(10*time.Hour + EntryPointWindow)) {
		t.Errorf("free entry point until %v, want 72 h after the referral", c.EntryUntil)
	}
	if c.Inbound != 3 {
		t.Errorf("%d inbound messages counted, want 3", c.Inbound)
	}
	other, _ := e.eng.ContactOf("100000000000002", wa)
	if other.WindowOpen(t0) {
		t.Error("a window with one number opened another number's")
	}
}

// TestIdempotencyExpiry: a key is remembered for IdempotencyTTL, then its record is
// dropped and the key may name a new message; younger keys stay.
func TestIdempotencyExpiry(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC))
	e := newEnv(t, nil, clk, alwaysAccept, func(o *Options) { o.IdempotencyTTL = 48 * time.Hour })
	ctx := context.Background()
	submit := func(key, body string) (*SubmitResult, error) {
		return e.eng.Submit(ctx, e.request("+6281234567890", func(r *SubmitRequest) {
			r.IdempotencyKey, r.RequestHash = key, []byte(body)
		}))
	}
	old, err := submit("old", "a")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(24 * time.Hour)
	if _, err := submit("young", "a"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(24*time.Hour - time.Second)
	if n, err := e.eng.expireIdempotency(ctx, clk.Now()); err != nil || n != 0 {
		t.Fatalf("a second before the TTL: expired %d, %v", n, err)
	}
	if _, err := submit("old", "b"); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("within the TTL another body: %v, want a conflict", err)
	}
	clk.Advance(time.Second)
	if n, err := e.eng.expireIdempotency(ctx, clk.Now()); err != nil || n != 1 {
		t.Fatalf("at the TTL: expired %d, %v; want the old key only", n, err)
	}
	again, err := submit("old", "b")
	if err != nil || again.Replayed || again.Message.ID == old.Message.ID {
		t.Fatalf("the expired key: %+v, %v; want a new message", again, err)
	}
	if res, err := submit("young", "a"); err != nil || !res.Replayed {
		t.Fatalf("the young key: %+v, %v; want a replay", res, err)
	}
	// The new record of the old key has its own age.
	clk.Advance(48 * time.Hour)
	if n, err := e.eng.expireIdempotency(ctx, clk.Now()); err != nil || n != 2 {
		t.Fatalf("two days later: expired %d, %v; want both keys", n, err)
	}
	var left int
	if err := e.db.View(func(r storage.Reader) error {
		for _, p := range []string{storage.PrefixIdempotency, storage.PrefixIdempotencyExpiry} {
			if err := r.Iterate([]byte(p), storage.IterOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
				left++
				return true, nil
			}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil || left != 0 {
		t.Fatalf("%d idempotency keys left, %v", left, err)
	}
}
