package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"kirim/provider"
	"kirim/storage"
)

// TestRetryClasses sends one message whose first answer is err, checks what the engine
// made of it, then lets the retry (if any) succeed.
func TestRetryClasses(t *testing.T) {
	notSent := &provider.TransportError{Op: "send", NotSent: true, Err: errors.New("dial tcp: connection refused")}
	tests := []struct {
		name      string
		err       error
		want      State
		attempts  int
		throttled int
		code      int
		class     string
		// The requeue delay is within [minDelay, maxDelay]; zero when not requeued.
		minDelay, maxDelay time.Duration
		released           bool
		backsOff           bool
	}{
		{name: "130429 throughput: later, budget untouched", err: providerErr(provider.CodeThroughput, "Rate limit hit"),
			want: Queued, throttled: 1, code: 130429, class: "throttled", minDelay: 750 * time.Millisecond, maxDelay: 1250 * time.Millisecond, backsOff: true},
		{name: "131056 pair rate: 4^1 s", err: providerErr(provider.CodePairRate, "Pair rate limit hit"),
			want: Waiting, throttled: 1, code: 131056, class: "throttled", minDelay: 4 * time.Second, maxDelay: 4 * time.Second},
		{name: "131000 generic: backoff, one attempt spent", err: providerErr(provider.CodeGeneric, "Something went wrong"),
			want: Queued, attempts: 1, code: 131000, class: "retry_later", minDelay: 1500 * time.Millisecond, maxDelay: 2500 * time.Millisecond},
		{name: "transport error, not sent: retried", err: notSent,
			want: Queued, attempts: 1, code: provider.CodeGeneric, class: "retry_later", minDelay: 1500 * time.Millisecond, maxDelay: 2500 * time.Millisecond},
		{name: "131049 per-user marketing limit: failed, not retried", err: providerErr(provider.CodeMarketingUserLimit, "This message was not delivered to maintain healthy ecosystem engagement"),
			want: Failed, code: 131049, class: "retry_after_24h", released: true},
		{name: "131026 undeliverable: failed", err: providerErr(provider.CodeUndeliverable, "Message undeliverable"),
			want: Failed, code: 131026, class: "fatal", released: true},
		{name: "132001 template missing: failed", err: providerErr(provider.CodeTemplateMissing, "Template name does not exist in the translation"),
			want: Failed, code: 132001, class: "fix_request", released: true},
		{name: "190 auth: failed", err: providerErr(provider.CodeAuth, "Access token has expired"),
			want: Failed, code: 190, class: "stop_and_alert", released: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil, func(_ context.Context, n int, body []byte) (*provider.SendResponse, error) {
				if n == 1 {
					return nil, tt.err
				}
				return accepted(body)
			}, nil).start()
			m := e.submit("+6281234567890", nil)
			got := e.rec.waitFor(t, "the first outcome", func(x Message) bool { return x.ID == m.ID })
			if got.State != tt.want {
				t.Fatalf("state %s (error %+v), want %s", got.State, got.Error, tt.want)
			}
			if got.Attempts != tt.attempts || got.Throttled != tt.throttled {
				t.Errorf("attempts %d throttled %d, want %d and %d", got.Attempts, got.Throttled, tt.attempts, tt.throttled)
			}
			if got.Error == nil || got.Error.Code != tt.code || got.Error.Class != tt.class || got.Error.Title == "" {
				t.Errorf("error %+v, want code %d class %s with a title", got.Error, tt.code, tt.class)
			}
			if !got.LeaseUntil.IsZero() {
				t.Errorf("lease %v kept after the outcome", got.LeaseUntil)
			}
			if n := keys(t, e.db, leasePrefix("main")); n != 0 {
				t.Errorf("%d lease entries after the outcome, want 0", n)
			}
			if backedOff := e.eng.dispatchers["main"].limiter.cur < e.eng.dispatchers["main"].limiter.target; backedOff != tt.backsOff {
				t.Errorf("limiter backed off = %v, want %v", backedOff, tt.backsOff)
			}
			releases := e.biller.released(m.ID)
			if tt.released {
				if !slices.Equal(releases, []string{"failed"}) {
					t.Errorf("releases %v, want exactly one (failed)", releases)
				}
				// Nothing more happens to a failed message: no resend, no second release,
				// even when a late status names it.
				e.tick(48 * time.Hour)
				if _, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{{CallbackData: m.ID, Status: "failed",
					Errors: []provider.WebhookError{{Code: tt.code, Title: "again"}}}}); err != nil {
					t.Fatal(err)
				}
				if r := e.biller.released(m.ID); len(r) != 1 {
					t.Errorf("releases %v after a repeated failure, want one", r)
				}
				if e.sender.calls() != 1 {
					t.Errorf("%d provider calls, want 1", e.sender.calls())
				}
				if s := e.get(m.ID); s.Error.Code != tt.code || s.Error.Title != got.Error.Title {
					t.Errorf("a repeated failure rewrote the error to %+v", s.Error)
				}
				return
			}
			if len(releases) != 0 {
				t.Errorf("a retryable error released the hold: %v", releases)
			}
			delay := got.NextAttemptAt.Sub(t0)
			if delay < tt.minDelay || delay > tt.maxDelay {
				t.Errorf("requeued %v later, want within [%v, %v]", delay, tt.minDelay, tt.maxDelay)
			}
			if n := keys(t, e.db, queuePrefix("main")); n != 1 {
				t.Errorf("%d queue entries, want the requeued one", n)
			}
			// Not due yet: nothing is sent.
			e.tick(tt.minDelay / 2)
			if e.sender.calls() != 1 {
				t.Fatalf("resent before it was due: %d calls", e.sender.calls())
			}
			e.tick(tt.maxDelay)
			sent := e.rec.waitState(t, m.ID, Sent, 1)
			if e.sender.calls() != 2 {
				t.Errorf("%d provider calls, want 2", e.sender.calls())
			}
			if sent.Attempts != tt.attempts+1 || sent.Throttled != tt.throttled || sent.Error != nil {
				t.Errorf("after the retry: attempts %d throttled %d error %+v", sent.Attempts, sent.Throttled, sent.Error)
			}
			if sent.WAMID != wamidFor(m.ID) || sent.WaID != "6281234567890" {
				t.Errorf("wamid %q wa_id %q not recorded", sent.WAMID, sent.WaID)
			}
		})
	}
}

// TestPairRateBackoff: each 131056 for the same message waits 4^n seconds, as a
// per-recipient wait that leaves the number's pace alone.
func TestPairRateBackoff(t *testing.T) {
	e := newEnv(t, nil, nil, func(_ context.Context, n int, body []byte) (*provider.SendResponse, error) {
		if n <= 3 {
			return nil, providerErr(provider.CodePairRate, "Pair rate limit hit")
		}
		return accepted(body)
	}, nil).start()
	m := e.submit("+6281234567890", nil)
	for i, wait := range []time.Duration{4 * time.Second, 16 * time.Second, 64 * time.Second} {
		q := e.rec.waitState(t, m.ID, Waiting, i+1)
		if q.Throttled != i+1 || q.Attempts != 0 || q.WaitingReason != ReasonPairRate {
			t.Fatalf("throttle %d: throttled %d attempts %d", i+1, q.Throttled, q.Attempts)
		}
		if d := q.NextAttemptAt.Sub(q.UpdatedAt); d != wait {
			t.Fatalf("throttle %d: requeued %v later, want %v", i+1, d, wait)
		}
		e.tick(wait)
	}
	sent := e.rec.waitState(t, m.ID, Sent, 1)
	if sent.Attempts != 1 || e.sender.calls() != 4 {
		t.Errorf("attempts %d calls %d, want 1 and 4", sent.Attempts, e.sender.calls())
	}
}

// TestRetryBudgetExhausted: a transient error spends the budget and then fails with the
// provider's code, releasing the hold once.
func TestRetryBudgetExhausted(t *testing.T) {
	e := newEnv(t, nil, nil, func(context.Context, int, []byte) (*provider.SendResponse, error) {
		return nil, providerErr(provider.CodeGeneric, "Something went wrong")
	}, func(o *Options) { o.MaxAttempts = 3 }).start()
	m := e.submit("+6281234567890", nil)
	for i := 1; i <= 2; i++ {
		q := e.rec.waitState(t, m.ID, Queued, i)
		if q.Attempts != i {
			t.Fatalf("after call %d: attempts %d", i, q.Attempts)
		}
		base := backoff(i)
		if d := q.NextAttemptAt.Sub(q.UpdatedAt); d < base*3/4 || d >= base*5/4 {
			t.Errorf("after call %d: retry %v later, want about %v", i, d, base)
		}
		e.tick(backoff(i) * 2)
	}
	f := e.rec.waitState(t, m.ID, Failed, 1)
	if f.Attempts != 3 || f.Error == nil || f.Error.Code != provider.CodeGeneric || f.Error.Class != "retry_later" {
		t.Errorf("failed with attempts %d error %+v, want 3 and the provider's 131000", f.Attempts, f.Error)
	}
	if r := e.biller.released(m.ID); !slices.Equal(r, []string{"failed"}) {
		t.Errorf("releases %v, want one", r)
	}
	e.tick(time.Hour)
	if e.sender.calls() != 3 {
		t.Errorf("%d calls, want 3", e.sender.calls())
	}
	if n := keys(t, e.db, queuePrefix("main")); n != 0 {
		t.Errorf("%d queue entries for a failed message", n)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{
		{1, 2 * time.Second}, {2, 4 * time.Second}, {3, 8 * time.Second}, {8, 256 * time.Second},
		{9, 5 * time.Minute}, {20, 5 * time.Minute}, {100, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := backoff(tt.n); got != tt.want {
			t.Errorf("backoff(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

// TestAmbiguousTransportError: a call that may have reached the provider is never
// repeated by the engine; the message waits, unknown, for its webhook.
func TestAmbiguousTransportError(t *testing.T) {
	e := newEnv(t, nil, nil, func(context.Context, int, []byte) (*provider.SendResponse, error) {
		return nil, &provider.TransportError{Op: "send", Err: errors.New("read tcp: connection reset by peer")}
	}, func(o *Options) { o.UnknownTimeout = 6 * time.Hour }).start()
	m := e.submit("+6281234567890", nil)
	u := e.rec.waitState(t, m.ID, Unknown, 1)
	if u.Error == nil || u.Error.Class != "unknown" {
		t.Errorf("error %+v, want class unknown", u.Error)
	}
	if u.Attempts != 0 {
		t.Errorf("attempts %d, want 0", u.Attempts)
	}
	// Time passes, dispatchers scan, leases are checked: no second call.
	for range 5 {
		e.tick(time.Hour)
		if _, _, _, err := e.eng.expireLeases(context.Background(), e.clk.Now(), false); err != nil {
			t.Fatal(err)
		}
	}
	// A probe proves the dispatcher is alive and scanning.
	probeSender := e.sender.calls()
	probe := e.submit("+6281299999999", nil)
	e.rec.waitState(t, probe.ID, Unknown, 1)
	if got := e.sender.calls(); got != probeSender+1 {
		t.Fatalf("%d calls after the probe, want %d: the unknown message was sent again", got, probeSender+1)
	}
	if r := e.biller.released(m.ID); len(r) != 0 {
		t.Errorf("an unknown message released its hold: %v", r)
	}
	// Its status settles it.
	res, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{{CallbackData: m.ID, WAMID: "wamid.late", Status: "sent",
		Pricing: &provider.Pricing{Type: provider.PricingRegular, Category: "marketing"}}})
	if err != nil || res.Applied != 1 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	if s := e.get(m.ID); s.State != Sent || s.WAMID != "wamid.late" {
		t.Errorf("after its status: %s wamid %q", s.State, s.WAMID)
	}
	if n := keys(t, e.db, ixUnknownPrefix); n != 1 {
		t.Errorf("%d unknown index entries, want 1 (the probe)", n)
	}
}

// TestWebhookBeatsTheAnswer: a status that arrives while the call is still out settles
// the message; the answer that follows keeps what the status said.
func TestWebhookBeatsTheAnswer(t *testing.T) {
	tests := []struct {
		name   string
		status string
		answer error
		want   State
	}{
		{"sent, then accepted", "sent", nil, Sent},
		{"delivered, then an ambiguous error", "delivered", &provider.TransportError{Op: "send", Err: errors.New("timeout")}, Delivered},
		{"failed, then accepted", "failed", nil, Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			e := newEnv(t, nil, nil, func(_ context.Context, _ int, body []byte) (*provider.SendResponse, error) {
				<-release
				if tt.answer != nil {
					return nil, tt.answer
				}
				return accepted(body)
			}, nil).start()
			m := e.submit("+6281234567890", nil)
			e.sender.waitCalled(t)
			d := e.get(m.ID)
			if d.State != Dispatching || d.LeaseUntil.IsZero() || !has(t, e.db, leaseKey("main", d.LeaseUntil, m.ID)) {
				t.Fatalf("in flight: %s lease %v", d.State, d.LeaseUntil)
			}
			u := StatusUpdate{CallbackData: m.ID, WAMID: wamidFor(m.ID), Status: tt.status}
			if tt.status == "failed" {
				u.Errors = []provider.WebhookError{{Code: 131026, Title: "Message undeliverable"}}
			}
			if _, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{u}); err != nil {
				t.Fatal(err)
			}
			if n := keys(t, e.db, leasePrefix("main")); n != 0 {
				t.Errorf("%d leases after the status settled the message, want 0", n)
			}
			close(release)
			// The status reported the message once; the answer's commit reports it again.
			after := e.rec.waitNth(t, m.ID, 2)
			if after.State != tt.want {
				t.Errorf("after the answer: %s, want %s", after.State, tt.want)
			}
			if tt.answer == nil && after.Attempts != 1 {
				t.Errorf("attempts %d after an accepted answer, want 1", after.Attempts)
			}
			if s := e.get(m.ID); s.State != tt.want || !s.LeaseUntil.IsZero() {
				t.Errorf("stored state %s lease %v, want %s and no lease", s.State, s.LeaseUntil, tt.want)
			}
			if e.sender.calls() != 1 {
				t.Errorf("%d calls", e.sender.calls())
			}
		})
	}
}

// TestHeldForQualityAssessment: an accepted send the provider holds is held, not sent.
func TestHeldForQualityAssessment(t *testing.T) {
	e := newEnv(t, nil, nil, func(_ context.Context, _ int, body []byte) (*provider.SendResponse, error) {
		r, err := accepted(body)
		r.Messages[0].MessageStatus = provider.StatusHeldForQualityAssessment
		return r, err
	}, nil).start()
	m := e.submit("+6281234567890", nil)
	h := e.rec.waitState(t, m.ID, Held, 1)
	if h.WAMID == "" || h.Attempts != 1 {
		t.Errorf("held with wamid %q attempts %d", h.WAMID, h.Attempts)
	}
	if _, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{{WAMID: h.WAMID, Status: "sent"}}); err != nil {
		t.Fatal(err)
	}
	if s := e.get(m.ID); s.State != Sent {
		t.Errorf("held then sent: %s", s.State)
	}
}

func TestLimiter(t *testing.T) {
	now := t0
	l := newLimiter(80, now)
	if got := l.available(now); got != 2 {
		t.Errorf("burst %d, want 2 (the least burst; 1%% of 80 is less)", got)
	}
	l.take(now, 2)
	if got := l.available(now); got != 0 {
		t.Errorf("after taking the burst: %d available", got)
	}
	// In any one second no more than the number's MPS less one may be taken: the one is
	// room for a send that arrives a little later than it left.
	taken := 2
	for at := now; at.Before(now.Add(time.Second)); at = at.Add(time.Millisecond) {
		if n := l.available(at); n > 0 {
			l.take(at, n)
			taken += n
		}
	}
	if taken > 79 || taken < 77 {
		t.Errorf("%d taken in the first second, want 77 to 79", taken)
	}
	// A millisecond on, so that the bucket is not within a rounding error of a whole token.
	end := now.Add(time.Second + time.Millisecond)
	if n := l.available(end); n > 0 {
		l.take(end, n)
	}
	if w := l.waitFor(end); w <= 0 || w > 20*time.Millisecond {
		t.Errorf("wait for one token %v, want about 1/77 s", w)
	}

	// Throttling slows it down by a fifth; each quiet second gives a tenth back.
	at := now.Add(2 * time.Second)
	l.backOff(at)
	if l.cur != l.target*0.8 {
		t.Errorf("after a throttle: %v per second, want %v", l.cur, l.target*0.8)
	}
	l.available(at.Add(500 * time.Millisecond))
	if l.cur != l.target*0.8 {
		t.Errorf("recovered within a second: %v", l.cur)
	}
	l.available(at.Add(time.Second))
	if want := l.target * 0.9; l.cur < want-1e-9 || l.cur > want+1e-9 {
		t.Errorf("after one quiet second: %v, want %v", l.cur, want)
	}
	l.available(at.Add(time.Hour))
	if l.cur != l.target {
		t.Errorf("after an hour: %v, want back to %v", l.cur, l.target)
	}
	for range 100 {
		l.backOff(at)
	}
	if l.cur < 1 {
		t.Errorf("backed off below one per second: %v", l.cur)
	}
}

// TestLimiterWindow takes every token the moment it is granted, for five seconds, and
// checks both sides of the bucket's trade: no one-second window holds more than the
// number's MPS less the 1 % margin, and the sustained rate stays within 3 % of the MPS
// (3 sends for small numbers).
func TestLimiterWindow(t *testing.T) {
	for _, mps := range []int{1, 2, 10, 80, 250, 1000} {
		t.Run(fmt.Sprint(mps), func(t *testing.T) {
			l := newLimiter(mps, t0)
			var sent []time.Time
			const span = 5 * time.Second
			step := 100 * time.Microsecond
			for at := t0; at.Before(t0.Add(span)); at = at.Add(step) {
				for range l.available(at) {
					l.take(at, 1)
					sent = append(sent, at)
				}
			}
			most := mps
			if mps >= 10 {
				most = mps - max(1, mps/100)
			}
			for i, first := 0, 0; i < len(sent); i++ {
				for sent[i].Sub(sent[first]) >= time.Second {
					first++
				}
				if n := i - first + 1; n > most {
					t.Fatalf("%d sends in the second from %v, want at most %d", n, sent[first].Sub(t0), most)
				}
			}
			if mps >= 80 {
				want := min(0.97*float64(mps), float64(mps-3))
				if perSec := float64(len(sent)) / span.Seconds(); perSec < want {
					t.Errorf("sustained %.1f per second, want at least %.1f", perSec, want)
				}
			}
		})
	}
}

// TestServerErrorIsUnknown: a 5xx answer may follow an accepted send (the Cloud API has
// no idempotency key), so the message is unknown and not retried, whatever the code.
func TestServerErrorIsUnknown(t *testing.T) {
	for _, status := range []int{500, 502, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			b, _ := json.Marshal(provider.NewErrorBody(provider.CodeServiceUnavailable, "Service unavailable", "", "trace"))
			e := newEnv(t, nil, nil, func(context.Context, int, []byte) (*provider.SendResponse, error) {
				return nil, provider.ParseError(status, b)
			}, func(o *Options) { o.UnknownTimeout = 6 * time.Hour }).start()
			m := e.submit("+6281234567890", nil)
			u := e.rec.waitFor(t, "the outcome", func(x Message) bool { return x.ID == m.ID })
			if u.State != Unknown {
				t.Fatalf("state %s (error %+v), want unknown", u.State, u.Error)
			}
			e.tick(time.Hour)
			probe := e.submit("+6281299999999", nil)
			e.rec.waitFor(t, "the probe's outcome", func(x Message) bool { return x.ID == probe.ID })
			if e.sender.calls() != 2 {
				t.Errorf("%d calls, want 2 (the message and the probe)", e.sender.calls())
			}
			if r := e.biller.released(m.ID); len(r) != 0 {
				t.Errorf("released %v", r)
			}
		})
	}
}

// TestEnqueueWakeCoversAScanDuringTheCommit: a dispatcher that scans while a commit
// queues a message (the scan cannot see it yet) moves its cursor past the message's
// time; the wake after the commit must bring the cursor back, or the message is never
// scanned.
func TestEnqueueWakeCoversAScanDuringTheCommit(t *testing.T) {
	e := newEnv(t, nil, nil, nil, nil)
	d := e.eng.dispatchers["main"]
	req := e.request("+6281234567890", nil)
	since := e.clk.Now()
	err := e.db.Commit(context.Background(), func(tx storage.Txn) error {
		if err := e.eng.Enqueue(tx, req.Message, req.Send); err != nil {
			return err
		}
		e.clk.Advance(time.Second)
		ids, _, err := d.scan(e.clk.Now(), 10)
		if len(ids) != 0 {
			t.Errorf("the scan saw an uncommitted message")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.eng.Wake("main", since)
	ids, _, err := d.scan(e.clk.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0].id != req.Message.ID {
		t.Fatalf("after the wake the scan found %v, want %s", ids, req.Message.ID)
	}
}

// TestSettledMessageDropsItsPayload: the provider request body stays while a message may
// still be sent, and goes once it is settled, by acceptance or by failure; the message
// itself still reads.
func TestSettledMessageDropsItsPayload(t *testing.T) {
	e := newEnv(t, nil, nil, func(_ context.Context, _ int, body []byte) (*provider.SendResponse, error) {
		var p provider.Message
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, err
		}
		switch p.To {
		case "+6281200000002":
			return nil, providerErr(provider.CodeUndeliverable, "Message undeliverable")
		case "+6281200000003":
			return nil, providerErr(provider.CodeGeneric, "Something went wrong")
		}
		return accepted(body)
	}, func(o *Options) { o.Numbers[0].MPS = 1000 }).start() // all three in the limiter's burst
	want := map[string]State{"+6281200000001": Sent, "+6281200000002": Failed, "+6281200000003": Queued}
	ids := map[string]string{}
	for to := range want {
		ids[to] = e.submit(to, nil).ID
	}
	seen := map[string]bool{}
	e.rec.waitFor(t, "the three outcomes", func(m Message) bool {
		seen[m.ID] = true
		return len(seen) == len(want)
	})
	for to, st := range want {
		m := e.get(ids[to])
		if m.State != st {
			t.Fatalf("%s: %s, want %s", to, m.State, st)
		}
		stored := keys(t, e.db, payloadKey(m.ID))
		if settled := st.Settled(); (stored == 0) != settled || (m.Payload == nil) != settled {
			t.Errorf("%s (%s): %d payload keys, payload %q; want it kept only while unsettled", to, st, stored, m.Payload)
		}
	}
}
