package engine

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
	"kirim/storage"
)

// TestRestartQueuesClaimedMessagesAgain: of the messages a killed process had claimed,
// only those whose provider call had started become unknown; the ones still waiting for
// a throughput token were never handed over and are sent, once each, after the restart.
func TestRestartQueuesClaimedMessagesAgain(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // registered first: runs after the store closes
	db := openDB(t)
	// The dead engine's workers wait for tokens on this clock: it never moves again.
	deadClock := clock.NewFake(t0)
	stuck := newFakeSender(func(context.Context, int, []byte) (*provider.SendResponse, error) {
		<-release
		return nil, errors.New("the process is gone")
	})
	// OnState sees each claim inside its commit (claims report no OnChange).
	claimed := make(chan string, 16)
	eng, err := New(Options{DB: db, Clock: deadClock, Logger: quietLogger(), Workers: 8, SendTimeout: time.Hour,
		OnState: func(_ storage.Txn, m *Message, _ State) error {
			if m.State == Dispatching {
				claimed <- m.ID
			}
			return nil
		},
		Numbers: []Number{{Alias: "main", PhoneNumberID: "100000000000001", Sender: stuck, MPS: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, to := range []string{"+6281200000001", "+6281200000002", "+6281200000003", "+6281200000004", "+6281200000005", "+6281200000006"} {
		res, err := eng.Submit(context.Background(), SubmitRequest{
			Message: &Message{AccountID: testAccount, To: to, Type: provider.TypeTemplate, Category: "marketing"},
			Send:    &provider.Message{Type: provider.TypeTemplate, Template: &provider.Template{Name: "hello_world", Language: provider.Language{Code: "en_US"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Message.ID)
	}
	// The bucket's burst (2 at 80 msg/s) lets two calls start; the rest are claimed and
	// wait for tokens the frozen clock never grants.
	stuck.waitCalled(t)
	stuck.waitCalled(t)
	for range ids {
		select {
		case <-claimed:
		case <-time.After(waitTimeout):
			t.Fatal("timed out waiting for the claims")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := eng.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with calls stuck: %v, want the deadline", err)
	}
	inFlight := map[string]bool{}
	for _, b := range stuck.bodies {
		var m provider.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		inFlight[m.BizOpaqueCallbackData] = true
	}
	if len(inFlight) != 2 {
		t.Fatalf("%d calls under way at the crash, want 2", len(inFlight))
	}

	// Tokens come as the new engine's clock moves; it races ahead of the workers, so
	// the lease is long enough that none ends while its message waits for a token.
	e := restart(t, db, clock.NewFake(t0.Add(time.Minute)), func(o *Options) { o.LeaseTimeout = 1000 * time.Hour })
	stop := driveClock(e.clk, 1, 20*time.Millisecond)
	defer stop()
	for _, id := range ids {
		if inFlight[id] {
			if m := e.get(id); m.State != Unknown {
				t.Errorf("%s was in flight: %s after restart, want unknown", id, m.State)
			}
			continue
		}
		m := e.rec.waitState(t, id, Sent, 1)
		states := []State{}
		for _, h := range m.History {
			states = append(states, h.State)
		}
		if want := []State{Queued, Dispatching, Queued, Dispatching, Sent}; !slices.Equal(states, want) {
			t.Errorf("%s: history %v, want %v", id, states, want)
		}
	}
	if got := e.sender.calls(); got != len(ids)-2 {
		t.Errorf("%d calls after restart, want %d (the claimed messages, once each)", got, len(ids)-2)
	}
	for _, b := range e.sender.bodies {
		var m provider.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if inFlight[m.BizOpaqueCallbackData] {
			t.Errorf("%s was in flight at the crash and was sent again", m.BizOpaqueCallbackData)
		}
	}
	if n := keys(t, db, leasePrefix("main")); n != 0 {
		t.Errorf("%d leases left", n)
	}
}

// TestUnknownSettledOnTime: the recoverer settles an unknown message when its window
// ends, not at its next periodic pass; the failure says what happened.
func TestUnknownSettledOnTime(t *testing.T) {
	db, clk, id := crashInFlight(t)
	e := restart(t, db, clk, func(o *Options) { o.UnknownTimeout = 45 * time.Second })
	u := e.get(id)
	if at := e.eng.SettleAt(u); !at.Equal(u.UpdatedAt.Add(45 * time.Second)) {
		t.Fatalf("settle at %v, want %v", at, u.UpdatedAt.Add(45*time.Second))
	}
	n, last, err := e.eng.UnknownOf("", 0)
	if err != nil || n != 1 || !last.Equal(e.eng.SettleAt(u)) {
		t.Fatalf("UnknownOf: %d %v %v, want 1 at %v", n, last, err, e.eng.SettleAt(u))
	}
	if _, next, err := e.eng.settleUnknown(context.Background(), u.UpdatedAt); err != nil || !next.Equal(e.eng.SettleAt(u)) {
		t.Fatalf("settleUnknown before the window ends: next %v %v, want %v", next, err, e.eng.SettleAt(u))
	}
	// The periodic pass comes every 30 s (half the 2 min lease); the message is due at 45 s.
	stop := driveClock(e.clk, 2, time.Second)
	f := e.rec.waitState(t, id, Failed, 1)
	stop()
	if d := f.UpdatedAt.Sub(u.UpdatedAt); d < 45*time.Second || d > 46*time.Second {
		t.Errorf("settled %v after becoming unknown, want 45s", d)
	}
	if f.Error == nil || f.Error.Code != CodeUnknownTimeout || f.Error.Class != "unknown" ||
		!strings.Contains(f.Error.Title, "the provider may have received it") {
		t.Errorf("error %+v, want code -1, class unknown and a title that says it may have been received", f.Error)
	}
	if r := e.biller.released(id); !slices.Equal(r, []string{"unknown_timeout"}) {
		t.Errorf("releases %v, want one (unknown_timeout)", r)
	}
	if n, _, err := e.eng.UnknownOf("", 0); err != nil || n != 0 {
		t.Errorf("UnknownOf after settling: %d %v", n, err)
	}
}

func TestDefaultUnknownTimeout(t *testing.T) {
	e := newEnv(t, nil, nil, alwaysAccept, nil)
	if e.eng.opts.UnknownTimeout != DefaultUnknownTimeout || DefaultUnknownTimeout != time.Minute {
		t.Errorf("default %v (const %v), want 1m", e.eng.opts.UnknownTimeout, DefaultUnknownTimeout)
	}
}

// TestResolve: an operator settles an unknown message early, by failing it or sending
// it again; the state-change hook sees it; only an unknown message can be resolved.
func TestResolve(t *testing.T) {
	hooked := func(seen *[]string, mu *sync.Mutex) func(*Options) {
		return func(o *Options) {
			o.OnState = func(_ storage.Txn, m *Message, prev State) error {
				mu.Lock()
				*seen = append(*seen, string(prev)+">"+string(m.State))
				mu.Unlock()
				return nil
			}
		}
	}
	t.Run("fail", func(t *testing.T) {
		var mu sync.Mutex
		var seen []string
		db, clk, id := crashInFlight(t)
		e := restart(t, db, clk, hooked(&seen, &mu))
		m, err := e.eng.Resolve(context.Background(), id, ResolveFail)
		if err != nil {
			t.Fatal(err)
		}
		if m.State != Failed || m.Error == nil || m.Error.Code != CodeUnknownTimeout {
			t.Fatalf("resolved: %s %+v", m.State, m.Error)
		}
		if r := e.biller.released(id); !slices.Equal(r, []string{"unknown_timeout"}) {
			t.Errorf("releases %v", r)
		}
		mu.Lock()
		got := slices.Clone(seen)
		mu.Unlock()
		if !slices.Contains(got, "unknown>failed") {
			t.Errorf("hook saw %q, want unknown>failed", got)
		}
		if _, err := e.eng.Resolve(context.Background(), id, ResolveResend); !errors.Is(err, ErrNotUnknown) {
			t.Errorf("resolving a failed message: %v, want ErrNotUnknown", err)
		}
		if e.sender.calls() != 0 {
			t.Errorf("%d calls", e.sender.calls())
		}
	})
	t.Run("resend", func(t *testing.T) {
		db, clk, id := crashInFlight(t)
		e := restart(t, db, clk, nil)
		if _, err := e.eng.Resolve(context.Background(), id, "maybe"); err == nil || errors.Is(err, ErrNotUnknown) {
			t.Errorf("an unknown action: %v, want an error", err)
		}
		m, err := e.eng.Resolve(context.Background(), id, ResolveResend)
		if err != nil || m.State != Queued {
			t.Fatalf("resolved: %v %v", m, err)
		}
		e.rec.waitState(t, id, Sent, 1)
		if e.sender.calls() != 1 {
			t.Errorf("%d calls, want the one resend", e.sender.calls())
		}
		if n := keys(t, db, ixUnknownPrefix); n != 0 {
			t.Errorf("%d left in the unknown index", n)
		}
	})
	t.Run("not found", func(t *testing.T) {
		e := newEnv(t, nil, nil, alwaysAccept, nil).start()
		if _, err := e.eng.Resolve(context.Background(), "msg_nope", ResolveFail); !errors.Is(err, ErrNotFound) {
			t.Errorf("%v, want ErrNotFound", err)
		}
	})
}
