package engine

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
	"kirim/storage"
)

// crashInFlight leaves a message in dispatching with a lease, as a process killed during
// the provider call would: the call never returns, and the engine is closed with a
// short deadline. It returns the store, the clock and the message id. The stuck call is
// let go only after the store is closed, so the dead engine writes nothing more.
func crashInFlight(t *testing.T) (*storage.DB, *clock.Fake, string) {
	t.Helper()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // registered first: runs after the store closes
	db := openDB(t)
	clk := clock.NewFake(t0)
	old := newFakeSender(func(context.Context, int, []byte) (*provider.SendResponse, error) {
		<-release
		return nil, errors.New("the process is gone")
	})
	eng, err := New(Options{DB: db, Clock: clk, Logger: quietLogger(), Workers: 2, SendTimeout: time.Hour,
		Biller:  newFakeBiller(514_000_000),
		Numbers: []Number{{Alias: "main", PhoneNumberID: "100000000000001", Sender: old, MPS: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := eng.Submit(context.Background(), SubmitRequest{
		Message: &Message{AccountID: testAccount, To: "+6281234567890", Type: provider.TypeTemplate, Category: "marketing"},
		Send:    &provider.Message{Type: provider.TypeTemplate, Template: &provider.Template{Name: "hello_world", Language: provider.Language{Code: "en_US"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	old.waitCalled(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := eng.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a call stuck: %v, want the deadline", err)
	}
	id := res.Message.ID
	var m *Message
	if err := db.View(func(r storage.Reader) error {
		var err error
		m, err = loadMessage(r, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if m.State != Dispatching || m.LeaseUntil.IsZero() || !has(t, db, leaseKey("main", m.LeaseUntil, id)) {
		t.Fatalf("after the crash: %s lease %v; want dispatching with a lease", m.State, m.LeaseUntil)
	}
	return db, clk, id
}

// restart starts a new engine on the store a crashed one left.
func restart(t *testing.T, db *storage.DB, clk *clock.Fake, mutate func(*Options)) *env {
	t.Helper()
	e := newEnv(t, db, clk, alwaysAccept, func(o *Options) {
		o.UnknownTimeout = 6 * time.Hour
		if mutate != nil {
			mutate(o)
		}
	})
	return e.start()
}

func TestRecoveryAfterCrash(t *testing.T) {
	t.Run("in flight becomes unknown and is not sent", func(t *testing.T) {
		db, clk, id := crashInFlight(t)
		e := restart(t, db, clk, nil)
		m := e.get(id)
		if m.State != Unknown || !m.LeaseUntil.IsZero() {
			t.Fatalf("after restart: %s lease %v, want unknown without a lease", m.State, m.LeaseUntil)
		}
		if n := keys(t, db, leasePrefix("main")); n != 0 {
			t.Errorf("%d leases left after recovery", n)
		}
		if !has(t, db, ixUnknownKey(id)) {
			t.Error("not in the unknown index")
		}
		unknown, _, err := e.eng.List(ListFilter{AccountID: testAccount, State: Unknown})
		if err != nil || len(unknown) != 1 || unknown[0].ID != id {
			t.Errorf("list of unknown messages: %v %v", unknown, err)
		}
		e.tick(time.Hour)
		probe := e.submit("+6281299999999", nil)
		e.rec.waitState(t, probe.ID, Sent, 1)
		if e.sender.calls() != 1 {
			t.Errorf("%d calls after restart, want 1 (the probe): the unknown message was resent", e.sender.calls())
		}
	})

	t.Run("settled by its callback data, then by wamid", func(t *testing.T) {
		db, clk, id := crashInFlight(t)
		e := restart(t, db, clk, nil)
		res, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{{WAMID: "wamid.after-crash", CallbackData: id, Status: "sent",
			Pricing: regular("marketing"), RecipientID: "6281234567890"}})
		if err != nil || res.Applied != 1 {
			t.Fatalf("apply: %+v %v", res, err)
		}
		m := e.get(id)
		if m.State != Sent || m.WAMID != "wamid.after-crash" || m.WaID != "6281234567890" {
			t.Errorf("after sent: %s wamid %q wa_id %q", m.State, m.WAMID, m.WaID)
		}
		if has(t, db, ixUnknownKey(id)) {
			t.Error("still in the unknown index")
		}
		// The wamid learnt from the status now names the message.
		if _, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{{WAMID: "wamid.after-crash", Status: "delivered"}}); err != nil {
			t.Fatal(err)
		}
		if m := e.get(id); m.State != Delivered {
			t.Errorf("after delivered by wamid: %s", m.State)
		}
		if c := e.biller.captured(id); !slices.Equal(c, []string{"marketing"}) {
			t.Errorf("captures %v, want one", c)
		}
		e.tick(7 * time.Hour)
		if n, _, err := e.eng.settleUnknown(context.Background(), e.clk.Now()); err != nil || n != 0 {
			t.Errorf("settleUnknown touched %d settled messages (%v)", n, err)
		}
		if m := e.get(id); m.State != Delivered {
			t.Errorf("after the unknown timeout: %s, want delivered still", m.State)
		}
	})

	t.Run("settled as failed by its status", func(t *testing.T) {
		db, clk, id := crashInFlight(t)
		e := restart(t, db, clk, nil)
		_, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{{CallbackData: id, Status: "failed",
			Errors: []provider.WebhookError{{Code: 131026, Title: "Message undeliverable"}}}})
		if err != nil {
			t.Fatal(err)
		}
		m := e.get(id)
		if m.State != Failed || m.Error == nil || m.Error.Code != 131026 {
			t.Errorf("after failed: %s %+v", m.State, m.Error)
		}
		if r := e.biller.released(id); !slices.Equal(r, []string{"failed"}) {
			t.Errorf("releases %v", r)
		}
	})

	t.Run("no status: failed after UnknownTimeout", func(t *testing.T) {
		db, clk, id := crashInFlight(t)
		e := restart(t, db, clk, nil)
		unknownAt := e.get(id).UpdatedAt
		ctx := context.Background()
		if n, _, err := e.eng.settleUnknown(ctx, unknownAt.Add(6*time.Hour-time.Second)); err != nil || n != 0 {
			t.Fatalf("before the timeout: %d settled, %v", n, err)
		}
		if m := e.get(id); m.State != Unknown {
			t.Fatalf("before the timeout: %s", m.State)
		}
		// The engine's recoverer runs on the same clock: whichever of it and the direct
		// call comes first settles the message, once.
		e.clk.Set(unknownAt.Add(6 * time.Hour))
		if _, _, err := e.eng.settleUnknown(ctx, e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		e.rec.waitState(t, id, Failed, 1)
		m := e.get(id)
		if m.State != Failed || m.Error == nil || m.Error.Code != CodeUnknownTimeout {
			t.Errorf("after the timeout: %s %+v, want failed with CodeUnknownTimeout", m.State, m.Error)
		}
		if r := e.biller.released(id); !slices.Equal(r, []string{"unknown_timeout"}) {
			t.Errorf("releases %v, want one (unknown_timeout)", r)
		}
		if has(t, db, ixUnknownKey(id)) {
			t.Error("still in the unknown index")
		}
		if e.sender.calls() != 0 {
			t.Errorf("%d calls: a failed unknown message was sent", e.sender.calls())
		}
		// A status arriving after all does not revive it.
		if _, err := e.eng.ApplyStatuses(ctx, []StatusUpdate{{CallbackData: id, Status: "delivered", Pricing: regular("marketing")}}); err != nil {
			t.Fatal(err)
		}
		if m := e.get(id); m.State != Failed || len(e.biller.captured(id)) != 0 {
			t.Errorf("late delivered: %s captures %v", m.State, e.biller.captured(id))
		}
	})

	t.Run("ResendUnknown queues it again after UnknownTimeout", func(t *testing.T) {
		db, clk, id := crashInFlight(t)
		e := restart(t, db, clk, func(o *Options) { o.ResendUnknown = true })
		if e.sender.calls() != 0 {
			t.Fatalf("%d calls right after restart", e.sender.calls())
		}
		e.clk.Advance(6 * time.Hour)
		if _, _, err := e.eng.settleUnknown(context.Background(), e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		m := e.rec.waitState(t, id, Sent, 1)
		if e.sender.calls() != 1 || m.Attempts != 1 {
			t.Errorf("calls %d attempts %d, want one resend", e.sender.calls(), m.Attempts)
		}
		if r := e.biller.released(id); len(r) != 0 {
			t.Errorf("a resent message released its hold: %v", r)
		}
		states := []State{}
		for _, h := range m.History {
			states = append(states, h.State)
		}
		if want := []State{Queued, Dispatching, Unknown, Queued, Dispatching, Sent}; !slices.Equal(states, want) {
			t.Errorf("history %v, want %v", states, want)
		}
	})

	t.Run("number no longer configured", func(t *testing.T) {
		db, clk, id := crashInFlight(t)
		e := newEnv(t, db, clk, alwaysAccept, func(o *Options) {
			o.UnknownTimeout = time.Hour
			o.Numbers = []Number{{Alias: "second", PhoneNumberID: "100000000000002", Sender: o.Numbers[0].Sender}}
		}).start()
		// The lease belongs to a number this engine no longer has: the message becomes
		// unknown all the same, and fails (releasing its hold) instead of being sent from
		// another number.
		if m := e.get(id); m.State != Unknown {
			t.Fatalf("after restart without its number: %s, want unknown", m.State)
		}
		if n := keys(t, db, []byte(storage.PrefixLease)); n != 0 {
			t.Errorf("%d leases left", n)
		}
		e.clk.Advance(time.Hour)
		if _, _, err := e.eng.settleUnknown(context.Background(), e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		e.rec.waitState(t, id, Failed, 1)
		m := e.get(id)
		if m.State != Failed || m.Error == nil || m.Error.Code != CodeNumberGone {
			t.Errorf("%s %+v, want failed with CodeNumberGone", m.State, m.Error)
		}
		if r := e.biller.released(id); !slices.Equal(r, []string{"unknown_timeout"}) {
			t.Errorf("releases %v", r)
		}
		if e.sender.calls() != 0 {
			t.Errorf("%d calls", e.sender.calls())
		}
	})
}

// TestLeaseExpiryAtRuntime: a message whose call outlives its lease becomes unknown and
// is not sent again; the answer that finally comes settles it.
func TestLeaseExpiryAtRuntime(t *testing.T) {
	tests := []struct {
		name   string
		answer error
		want   State
	}{
		{"late acceptance settles it as sent", nil, Sent},
		{"late ambiguous error leaves it unknown", &provider.TransportError{Op: "send", Err: errors.New("timeout")}, Unknown},
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
			}, func(o *Options) {
				o.LeaseTimeout = 10 * time.Second
				o.UnknownTimeout = 6 * time.Hour // the answer comes before the policy acts
			}).start()
			m := e.submit("+6281234567890", nil)
			e.sender.waitCalled(t)
			// Not expired yet. The engine's own recoverer also runs on this clock, so the
			// expiry may come from it or from the direct call; either way exactly once.
			e.clk.Advance(9 * time.Second)
			if n, _, _, err := e.eng.expireLeases(context.Background(), e.clk.Now(), false); err != nil || n != 0 {
				t.Fatalf("before the lease ends: %d expired, %v", n, err)
			}
			if s := e.get(m.ID); s.State != Dispatching {
				t.Fatalf("before the lease ends: %s", s.State)
			}
			e.clk.Advance(2 * time.Second)
			if _, _, _, err := e.eng.expireLeases(context.Background(), e.clk.Now(), false); err != nil {
				t.Fatal(err)
			}
			u := e.rec.waitState(t, m.ID, Unknown, 1)
			if !u.LeaseUntil.IsZero() {
				t.Errorf("unknown message keeps lease %v", u.LeaseUntil)
			}
			if n := e.rec.count(func(x Message) bool { return x.ID == m.ID && x.State == Unknown }); n != 1 {
				t.Errorf("reported unknown %d times, want once", n)
			}
			e.tick(time.Minute)
			close(release)
			// Expiry reported it once; the answer's commit reports it again.
			final := e.rec.waitNth(t, m.ID, 2)
			if final.State != tt.want {
				t.Errorf("after the late answer: %s, want %s", final.State, tt.want)
			}
			e.tick(time.Hour)
			if e.sender.calls() != 1 {
				t.Errorf("%d calls, want 1", e.sender.calls())
			}
		})
	}
}

// TestRecoverLoopOnTheClock drives the engine's own recoverer with the fake clock: the
// stuck message becomes unknown when its lease ends and failed after UnknownTimeout.
func TestRecoverLoopOnTheClock(t *testing.T) {
	release := make(chan struct{})
	e := newEnv(t, nil, nil, func(context.Context, int, []byte) (*provider.SendResponse, error) {
		<-release
		return nil, errors.New("released at the end of the test")
	}, func(o *Options) {
		o.LeaseTimeout = 10 * time.Second
		o.UnknownTimeout = time.Minute
		o.SendTimeout = time.Hour
	}).start()
	// Runs before the engine's Close, so Close does not wait on the blocked call.
	t.Cleanup(func() { close(release) })
	m := e.submit("+6281234567890", nil)
	e.sender.waitCalled(t)
	stop := driveClock(e.clk, 2, 5*time.Second)
	u := e.rec.waitState(t, m.ID, Unknown, 1)
	f := e.rec.waitState(t, m.ID, Failed, 1)
	stop()
	if !u.UpdatedAt.After(t0.Add(10 * time.Second)) {
		t.Errorf("unknown at %v, before the lease ended", u.UpdatedAt)
	}
	if d := f.UpdatedAt.Sub(u.UpdatedAt); d < time.Minute {
		t.Errorf("failed %v after becoming unknown, want at least UnknownTimeout", d)
	}
	if f.Error == nil || f.Error.Code != CodeUnknownTimeout {
		t.Errorf("error %+v, want CodeUnknownTimeout", f.Error)
	}
	if r := e.biller.released(m.ID); !slices.Equal(r, []string{"unknown_timeout"}) {
		t.Errorf("releases %v, want one (unknown_timeout)", r)
	}
	if e.sender.calls() != 1 {
		t.Errorf("%d calls, want 1", e.sender.calls())
	}
}

// driveClock advances clk by step each time at least timers timers are armed, until the
// returned stop is called. The engine's dispatcher and recoverer each keep one timer
// armed while idle, so the clock moves only when both are waiting on it.
func driveClock(clk interface {
	BlockUntil(int)
	Advance(time.Duration)
}, timers int, step time.Duration) (stop func()) {
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-done:
				return
			default:
			}
			clk.BlockUntil(timers)
			clk.Advance(step)
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}
