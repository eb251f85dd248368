package events

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"kirim/storage"
)

func TestDeliverSignedInOrder(t *testing.T) {
	rc := newReceiver(t) // a configured endpoint with a whsec_ secret
	ra := newReceiver(t) // an endpoint made through the API
	const cfgSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	rc.trust(cfgSecret)
	f := newFixture(t, func(o *Options) {
		o.Concurrency = 1 // one at a time: the order is exact
		o.Config = []ConfigEndpoint{{URL: rc.URL(), Secret: cfgSecret, Events: []string{"message.*"}, Account: "acme"}}
	})
	_, secret := f.create("acme", ra.URL(), "message.delivered", "balance.low")
	ra.trust(secret)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}

	const n = 50
	for i := range n {
		f.emit(ev("message.delivered", "acme", i))
	}
	f.emit(ev("message.sent", "acme", n)) // only the configured endpoint wants it
	for name, c := range map[string]struct {
		r    *receiver
		want int
	}{"config": {rc, n + 1}, "api": {ra, n}} {
		gs := c.r.waitN(c.want)
		if len(gs) != c.want {
			t.Fatalf("%s: %d requests, want %d", name, len(gs), c.want)
		}
		for i, g := range gs {
			if g.N != i {
				t.Fatalf("%s: request %d carries event %d: out of order", name, i, g.N)
			}
			if !strings.HasPrefix(g.ID, "evt_") || g.Timestamp != "1752138000" {
				t.Errorf("%s: id %q timestamp %q", name, g.ID, g.Timestamp)
			}
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(gs[0].Body, &body); err != nil || len(body) != 3 {
			t.Fatalf("%s: body %s: %v", name, gs[0].Body, err)
		}
		if string(body["type"]) != `"message.delivered"` || string(body["timestamp"]) != `"2025-07-10T09:00:00Z"` || string(body["data"]) != `{"n":0}` {
			t.Errorf("%s: body %s", name, gs[0].Body)
		}
	}
	waitUntil(t, "counters", func() bool {
		for _, s := range f.o.Stats() {
			if s.Pending != 0 {
				return false
			}
		}
		return true
	})
	for _, s := range f.o.Stats() {
		want := uint64(n)
		if s.EndpointID == "config:0" {
			want = n + 1
		}
		if s.Delivered != want || s.Account != "acme" || s.Retrying != 0 || s.Failed != 0 {
			t.Errorf("stats %+v, want %d delivered", s, want)
		}
	}
}

func TestEmitInFailedCommitIsNotDelivered(t *testing.T) {
	r := newReceiver(t)
	f := newFixture(t, nil)
	_, secret := f.create("acme", r.URL())
	r.trust(secret)
	boom := errors.New("change refused")
	err := f.db.Commit(context.Background(), func(tx storage.Txn) error {
		if err := f.o.Emit(tx, ev("topup.confirmed", "acme", 1)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Commit = %v", err)
	}
	f.emit(ev("topup.confirmed", "acme", 2))
	r.waitN(1)
	f.reopen() // nothing of the failed commit turns up later either
	f.emit(ev("topup.confirmed", "acme", 3))
	gs := r.waitFor("event 3", func(gs []got) bool {
		for _, g := range gs {
			if g.N == 3 {
				return true
			}
		}
		return false
	})
	// Event 2 may come twice (the restart can beat the record of its delivery); the
	// failed commit's event never comes.
	for _, g := range gs {
		if g.N != 2 && g.N != 3 {
			t.Fatalf("received event %d, want events 2 and 3 only", g.N)
		}
	}
}

func TestEmitSkipsWhatNobodyWants(t *testing.T) {
	f := newFixture(t, nil)
	f.create("acme", "http://127.0.0.1:1/x", "balance.low")
	if f.o.Wants("acme", "message.sent") || !f.o.Wants("acme", "balance.low") || f.o.Wants("other", "balance.low") {
		t.Fatalf("Wants disagrees with the filter")
	}
	f.emit(ev("message.sent", "acme", 1))
	err := f.db.View(func(r storage.Reader) error {
		return r.Iterate([]byte(storage.PrefixEvent), storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			t.Errorf("event stored nobody wants: %q", k)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = f.db.Commit(context.Background(), func(tx storage.Txn) error {
		return f.o.Emit(tx, Event{Type: "balance.low", Account: "acme", Data: json.RawMessage(`[1]`)})
	})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Emit of non-object data = %v, want ErrInvalid", err)
	}
}

func TestRetriesFollowScheduleUntilRecovery(t *testing.T) {
	r := newReceiver(t)
	r.answer = func(n int, _ got) int {
		if n < 3 {
			return 500
		}
		return 200
	}
	f := newFixture(t, nil) // the default schedule: 5s, 30s, 2m, ...
	ep, secret := f.create("acme", r.URL())
	r.trust(secret)
	f.emit(ev("message.failed", "acme", 7))
	r.waitN(1)
	for i := 0; i < 3; i++ {
		var d []Delivery
		waitUntil(t, "retrying delivery", func() bool {
			d = f.deliveries(DeliveryFilter{Status: StatusRetrying})
			return len(d) == 1 && d[0].Attempts == i+1
		})
		wait := d[0].NextAttempt.Sub(d[0].LastAttempt)
		sched := DefaultRetry[i]
		if wait < sched*8/10 || wait > sched*12/10 {
			t.Fatalf("retry %d after %v, want %v ±20%%", i+1, wait, sched)
		}
		if d[0].LastCode != 500 || d[0].LastBody != "down for maintenance" || d[0].EndpointID != ep.ID {
			t.Fatalf("delivery %+v", d[0])
		}
		f.clk.Set(d[0].NextAttempt.Add(-time.Millisecond))
		if len(r.received()) != i+1 {
			t.Fatalf("attempt before it was due")
		}
		f.clk.Set(d[0].NextAttempt)
		r.waitN(i + 2)
	}
	gs := r.received()
	for _, g := range gs {
		if g.ID != gs[0].ID {
			t.Fatalf("webhook-id changed between attempts: %s, %s", gs[0].ID, g.ID)
		}
	}
	waitUntil(t, "delivered", func() bool {
		d := f.deliveries(DeliveryFilter{Status: StatusDelivered})
		return len(d) == 1 && d[0].Attempts == 4
	})
	if d := f.deliveries(DeliveryFilter{Status: StatusRetrying}); len(d) != 0 {
		t.Fatalf("still retrying: %+v", d)
	}
	s := f.o.Stats()[0]
	if s.Delivered != 1 || s.Retrying != 0 || s.Pending != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFailedDeliveryIsKeptAndReplayed(t *testing.T) {
	r := newReceiver(t)
	down := true
	r.answer = func(int, got) int {
		if down {
			return 503
		}
		return 204
	}
	f := newFixture(t, func(o *Options) { o.Retry = []time.Duration{time.Minute, time.Minute} })
	ep, secret := f.create("acme", r.URL())
	other, _ := f.create("other", "http://127.0.0.1:1/x")
	r.trust(secret)
	f.emit(ev("campaign.state", "acme", 1))
	r.waitN(1)
	for i := 2; i <= 3; i++ {
		waitUntil(t, "retry scheduled", func() bool {
			d := f.deliveries(DeliveryFilter{Status: StatusRetrying})
			return len(d) == 1 && d[0].Attempts == i-1
		})
		f.clk.Advance(2 * time.Minute)
		r.waitN(i)
	}
	var failed []Delivery
	waitUntil(t, "failed", func() bool {
		failed = f.deliveries(DeliveryFilter{Status: StatusFailed, Account: "acme"})
		return len(failed) == 1
	})
	d := failed[0]
	if d.Attempts != 3 || d.LastCode != 503 || d.LastBody != "down for maintenance" || d.EventType != "campaign.state" || d.Account != "acme" {
		t.Fatalf("failed delivery %+v", d)
	}
	if got := f.deliveries(DeliveryFilter{Status: StatusFailed, Account: "other"}); len(got) != 0 {
		t.Fatalf("another account sees %+v", got)
	}
	if s := f.o.Stats(); s[0].EndpointID != ep.ID || s[0].Failed != 1 {
		t.Fatalf("stats %+v", s)
	}
	if _, err := f.o.Replay(context.Background(), "other", d.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Replay from another account = %v", err)
	}
	r.mu.Lock()
	down = false
	r.mu.Unlock()
	if _, err := f.o.Replay(context.Background(), "acme", d.ID); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	r.waitN(4)
	waitUntil(t, "replay delivered", func() bool {
		got := f.deliveries(DeliveryFilter{Status: StatusDelivered})
		return len(got) == 1 && got[0].ID == d.ID && got[0].Attempts == 4
	})
	if _, err := f.o.Replay(context.Background(), "acme", d.ID); !errors.Is(err, ErrState) {
		t.Fatalf("Replay of a delivered delivery = %v", err)
	}
	n, err := f.o.ReplaySince(context.Background(), "acme", ep.ID, start)
	if err != nil || n != 1 {
		t.Fatalf("ReplaySince = %d, %v", n, err)
	}
	if _, err := f.o.ReplaySince(context.Background(), "acme", other.ID, start); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ReplaySince of another account's endpoint = %v", err)
	}
	gs := r.waitN(5)
	for _, g := range gs {
		if g.ID != gs[0].ID {
			t.Fatalf("webhook-id changed on replay: %s, %s", gs[0].ID, g.ID)
		}
	}
	if n, err := f.o.ReplaySince(context.Background(), "acme", ep.ID, start.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("ReplaySince after the event = %d, %v", n, err)
	}
}

func TestRestartDeliversEverything(t *testing.T) {
	r := newReceiver(t)
	f := newFixture(t, func(o *Options) { o.Concurrency = 4 })
	_, secret := f.create("acme", r.URL())
	r.trust(secret)
	const n = 300
	var evs []Event
	for i := range n {
		evs = append(evs, ev("message.sent", "acme", i))
	}
	f.emit(evs...)
	r.waitN(n / 4)
	f.reopen() // mid-way: attempts in flight are cut short and not recorded
	r.waitFor("every event", func(gs []got) bool { return len(ids(gs)) == n })
	gs := r.received()
	bodies := map[string]string{}
	for _, g := range gs {
		if b, ok := bodies[g.ID]; ok && b != string(g.Body) {
			t.Fatalf("event %s sent twice with different bodies", g.ID)
		}
		bodies[g.ID] = string(g.Body)
	}
	nums := map[int]bool{}
	for _, g := range gs {
		nums[g.N] = true
	}
	if len(nums) != n {
		t.Fatalf("%d distinct events, want %d", len(nums), n)
	}
	t.Logf("%d requests for %d events across the restart", len(gs), n)
}

func TestAccountIsolation(t *testing.T) {
	ra, rb, rop := newReceiver(t), newReceiver(t), newReceiver(t)
	f := newFixture(t, nil)
	_, sa := f.create("a", ra.URL())
	_, sb := f.create("b", rb.URL())
	_, sop := f.create("", rop.URL())
	ra.trust(sa)
	rb.trust(sb)
	rop.trust(sop)
	for i := range 10 {
		acct := "a"
		if i%2 == 1 {
			acct = "b"
		}
		e := ev("message.delivered", acct, i)
		e.Data = json.RawMessage(`{"n":` + string(rune('0'+i)) + `,"account_id":"` + acct + `"}`)
		f.emit(e)
	}
	f.emit(ev("balance.low", "c", 99)) // nobody of c's: only the operator
	rop.waitN(11)
	for name, c := range map[string]struct {
		r    *receiver
		acct string
	}{"a": {ra, "a"}, "b": {rb, "b"}} {
		gs := c.r.waitN(5)
		for _, g := range gs {
			if g.Account != c.acct {
				t.Errorf("%s's endpoint received an event of account %q", name, g.Account)
			}
		}
	}
	f.emit(ev("message.read", "a", 100))
	ra.waitN(6)
	rop.waitN(12)
	if n := len(rb.received()); n != 5 {
		t.Fatalf("b's endpoint received %d events, want 5", n)
	}
	if got := f.o.Endpoints("a"); len(got) != 1 || got[0].Account != "a" {
		t.Fatalf("Endpoints(a) = %+v", got)
	}
	if got := f.o.Endpoints(""); len(got) != 3 {
		t.Fatalf("Endpoints(\"\") = %d endpoints", len(got))
	}
	eb := f.o.Endpoints("b")[0]
	if _, err := f.o.Endpoint("a", eb.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a reads b's endpoint: %v", err)
	}
	if _, err := f.o.SendTest(context.Background(), "a", eb.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a tests b's endpoint: %v", err)
	}
}

func TestSecretRotation(t *testing.T) {
	r := newReceiver(t)
	f := newFixture(t, nil)
	ep, old := f.create("acme", r.URL())
	r.trust(old)
	_, fresh, err := f.o.RotateSecret(context.Background(), "acme", ep.ID)
	if err != nil || fresh == old {
		t.Fatalf("RotateSecret: %v", err)
	}
	f.emit(ev("number.updated", "acme", 1))
	g := r.waitN(1)[0]
	if sigs := strings.Fields(g.Sig); len(sigs) != 2 {
		t.Fatalf("signature header %q, want two while rotating", g.Sig)
	}
	// A receiver that knows only the new secret accepts too.
	rn := newReceiver(t)
	rn.trust(fresh)
	if _, err := f.o.UpdateEndpoint(context.Background(), "acme", ep.ID, EndpointPatch{URL: ptr(rn.URL())}); err != nil {
		t.Fatal(err)
	}
	f.emit(ev("number.updated", "acme", 2))
	rn.waitN(1)
	f.clk.Advance(25 * time.Hour)
	f.emit(ev("number.updated", "acme", 3))
	g = rn.waitN(2)[1]
	if sigs := strings.Fields(g.Sig); len(sigs) != 1 {
		t.Fatalf("signature header %q a day after rotating, want the new one only", g.Sig)
	}
}

func ptr[T any](v T) *T { return &v }

func TestSlowEndpointDoesNotDelayAnother(t *testing.T) {
	slow, fast := newReceiver(t), newReceiver(t)
	slow.gate = make(chan struct{})
	f := newFixture(t, func(o *Options) { o.Concurrency = 2 })
	_, ss := f.create("acme", slow.URL())
	_, fs := f.create("acme", fast.URL())
	slow.trust(ss)
	fast.trust(fs)
	const n = 200
	for i := range n {
		f.emit(ev("message.sent", "acme", i))
	}
	fast.waitN(n)
	if len(slow.received()) != 0 {
		t.Fatalf("the slow endpoint answered while blocked")
	}
	close(slow.gate)
	slow.waitFor("every event", func(gs []got) bool { return len(ids(gs)) == n })
}

func TestSendTest(t *testing.T) {
	r := newReceiver(t)
	other := newReceiver(t)
	f := newFixture(t, nil)
	ep, secret := f.create("acme", r.URL())
	_, os := f.create("acme", other.URL())
	r.trust(secret)
	other.trust(os)
	d, err := f.o.SendTest(context.Background(), "acme", ep.ID)
	if err != nil || d.Status != StatusDelivered || d.EventType != "endpoint.test" || d.Attempts != 1 {
		t.Fatalf("SendTest = %+v, %v", d, err)
	}
	if gs := r.received(); len(gs) != 1 || gs[0].Type != "endpoint.test" {
		t.Fatalf("received %+v", gs)
	}
	if n, err := f.o.ReplaySince(context.Background(), "acme", ep.ID, start); err != nil || n != 1 {
		t.Fatalf("ReplaySince = %d, %v", n, err)
	}
	r.waitN(2)
	f.emit(ev("message.sent", "acme", 1))
	other.waitN(1)
	if gs := other.received(); len(gs) != 1 || gs[0].Type != "message.sent" {
		t.Fatalf("the other endpoint received %+v", gs)
	}
}

func TestDisableAfterFailingTooLong(t *testing.T) {
	dead, alive, op := newReceiver(t), newReceiver(t), newReceiver(t)
	dead.answer = func(int, got) int { return 500 }
	f := newFixture(t, func(o *Options) {
		o.Retry = []time.Duration{3 * time.Hour, 3 * time.Hour, 3 * time.Hour}
		o.DisableAfter = 5 * time.Hour
	})
	ep, sd := f.create("acme", dead.URL(), "message.*")
	_, sa := f.create("acme", alive.URL(), "endpoint.disabled")
	_, so := f.create("", op.URL(), "endpoint.*")
	dead.trust(sd)
	alive.trust(sa)
	op.trust(so)
	f.emit(ev("message.sent", "acme", 1))
	dead.waitN(1)
	waitUntil(t, "retry scheduled", func() bool { return len(f.deliveries(DeliveryFilter{Status: StatusRetrying})) == 1 })
	f.clk.Advance(4 * time.Hour)
	dead.waitN(2)
	if e, _ := f.o.Endpoint("acme", ep.ID); e.Disabled {
		t.Fatalf("disabled after 4h of failures, DisableAfter is 5h")
	}
	f.clk.Advance(4 * time.Hour)
	dead.waitN(3)
	g := alive.waitN(1)[0]
	if g.Type != "endpoint.disabled" || !strings.Contains(string(g.Body), ep.ID) {
		t.Fatalf("alive received %s", g.Body)
	}
	op.waitN(1)
	e, _ := f.o.Endpoint("acme", ep.ID)
	if !e.Disabled || e.DisabledReason == "" {
		t.Fatalf("endpoint %+v, want disabled with a reason", e)
	}
	if f.o.Wants("acme", "message.sent") {
		t.Fatalf("a disabled endpoint still wants events")
	}
	f.reopen()
	if e, _ := f.o.Endpoint("acme", ep.ID); !e.Disabled {
		t.Fatalf("disabled state lost across a restart")
	}
	e, err := f.o.UpdateEndpoint(context.Background(), "acme", ep.ID, EndpointPatch{Disabled: ptr(false)})
	if err != nil || e.Disabled || e.DisabledReason != "" {
		t.Fatalf("re-enable = %+v, %v", e, err)
	}
	if !f.o.Wants("acme", "message.sent") {
		t.Fatalf("re-enabled endpoint wants nothing")
	}
}

func TestSweepDropsOldEvents(t *testing.T) {
	r := newReceiver(t)
	f := newFixture(t, nil)
	_, s := f.create("acme", r.URL())
	r.trust(s)
	parked, _ := f.create("acme", "http://127.0.0.1:1/x", "balance.low")
	if _, err := f.o.UpdateEndpoint(context.Background(), "acme", parked.ID, EndpointPatch{Disabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		f.emit(ev("message.sent", "acme", i))
	}
	r.waitN(5)
	count := func() int {
		n := 0
		_ = f.db.View(func(rd storage.Reader) error {
			return rd.Iterate([]byte(storage.PrefixEvent), storage.IterOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
				n++
				return true, nil
			})
		})
		return n
	}
	waitUntil(t, "recorded", func() bool { return f.o.Stats()[0].Delivered+f.o.Stats()[1].Delivered == 5 })
	if err := f.o.sweep(context.Background()); err != nil || count() != 5 {
		t.Fatalf("sweep of fresh events: %v, %d left", err, count())
	}
	f.clk.Advance(8 * 24 * time.Hour)
	if err := f.o.sweep(context.Background()); err != nil || count() != 0 {
		t.Fatalf("sweep of old events: %v, %d left", err, count())
	}
}
