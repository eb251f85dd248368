package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
	"kirim/provider/sandbox"
	"kirim/provider/sandbox/sandboxtest"
)

// sandboxEnv is an engine sending through the real client to a sandbox over HTTP, both
// on one fake clock.
type sandboxEnv struct {
	*env
	sb *sandbox.Sandbox
}

func newSandboxEnv(t *testing.T, sbOpts sandbox.Options, mutate func(*Options)) *sandboxEnv {
	t.Helper()
	clk := clock.NewFake(t0)
	sbOpts.Clock, sbOpts.Logger, sbOpts.Seed = clk, quietLogger(), 1
	if sbOpts.ThroughputMPS == 0 {
		sbOpts.ThroughputMPS = 100000
	}
	sb := sandbox.New(sbOpts)
	sb.Start()
	client := sandboxtest.Serve(t, sb)
	e := newEnv(t, nil, clk, nil, func(o *Options) {
		// A rate far above the test's volume: every send fits in the limiter's burst,
		// so the fake clock moves only when the test moves it.
		o.Numbers = []Number{{Alias: "main", PhoneNumberID: sandbox.DefaultPhoneNumberID, WABAID: sandbox.DefaultWABAID, Sender: client, MPS: 100000}}
		o.Workers = 16
		if mutate != nil {
			mutate(o)
		}
	})
	return &sandboxEnv{env: e, sb: sb}
}

// latest returns the last reported version of each message.
func (r *recorder) latest() map[string]Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]Message{}
	for _, m := range r.seen {
		out[m.ID] = m
	}
	return out
}

// waitLatest waits until pred holds for the last reported versions of the messages.
func (r *recorder) waitLatest(t *testing.T, what string, pred func(map[string]Message) bool) map[string]Message {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		if l := r.latest(); pred(l) {
			return l
		}
		select {
		case <-r.wake:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func countState(ms map[string]Message, ids []string, s State) int {
	n := 0
	for _, id := range ids {
		if m, ok := ms[id]; ok && m.State == s {
			n++
		}
	}
	return n
}

// TestTierLimitOnSandbox is the acceptance run of the messaging limit: with a limit of
// 250, 300 templates to new recipients send 250 and park 50 as tier_limit with the ETA
// of the first freed slot; a recipient already counted, or one whose window is open,
// still goes at once; 24 h later the 50 are sent; the sandbox never refused one.
func TestTierLimitOnSandbox(t *testing.T) {
	e := newSandboxEnv(t, sandbox.Options{PortfolioLimit: 250}, func(o *Options) { o.PortfolioLimit = 250 })
	e.start()
	var ids []string
	for i := range 300 {
		ids = append(ids, e.submit(fmt.Sprintf("+628120000%04d", i), nil).ID)
	}
	l := e.rec.waitLatest(t, "250 sent and 50 waiting", func(ms map[string]Message) bool {
		return countState(ms, ids, Sent) == 250 && countState(ms, ids, Waiting) == 50
	})
	for _, id := range ids {
		m := l[id]
		if m.State != Waiting {
			continue
		}
		if m.WaitingReason != ReasonTierLimit || !m.ETA.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("waiting %s: reason %q eta %v, want tier_limit at %v", id, m.WaitingReason, m.ETA, t0.Add(24*time.Hour))
		}
	}
	// The oldest 250 went first.
	for _, id := range ids[:250] {
		if l[id].State != Sent {
			t.Fatalf("message %s of the first 250 is %s", id, l[id].State)
		}
	}
	st, err := e.eng.NumberStatusOf("main")
	if err != nil {
		t.Fatal(err)
	}
	if st.Used24h != 250 || st.Limit != 250 || !st.FreesAt.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("usage %+v, want 250 of 250 freeing at t0+24h", st.TierUsage)
	}

	// Past the pair gap, a recipient already counted takes no new slot and goes now,
	// and so does one who wrote in (customer-initiated).
	e.tick(10 * time.Second)
	again := e.submit("+6281200000007", nil)
	if _, err := e.sb.Inbound(sandbox.InboundRequest{From: "6289900000001", Text: "halo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.RecordInbound(context.Background(), []Inbound{{PhoneNumberID: sandbox.DefaultPhoneNumberID,
		WaID: "6289900000001", MessageID: "wamid.in1", Type: "text", Text: "halo", At: e.clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	inWindow := e.submit("+6289900000001", nil)
	e.rec.waitState(t, again.ID, Sent, 1)
	e.rec.waitState(t, inWindow.ID, Sent, 1)
	if n := countState(e.rec.latest(), ids, Waiting); n != 50 {
		t.Fatalf("%d waiting after the in-window sends, want still 50", n)
	}

	e.tick(24 * time.Hour)
	e.rec.waitLatest(t, "all 300 sent", func(ms map[string]Message) bool { return countState(ms, ids, Sent) == 300 })
	stats := e.sb.Stats()
	if stats.LimitErrors != 0 || stats.Refused != 0 {
		t.Errorf("sandbox refused %d (limit errors %d): %v", stats.Refused, stats.LimitErrors, stats.RefusedByCode)
	}
	if stats.Accepted != 302 {
		t.Errorf("sandbox accepted %d, want 302", stats.Accepted)
	}
}

// TestTierCountersSurviveRestart: a new engine on the same storage knows the slots, so
// a new recipient still waits; a rebuild from the message log gives the same count.
func TestTierCountersSurviveRestart(t *testing.T) {
	db := openDB(t)
	clk := clock.NewFake(t0)
	// Two messages: the limiter's burst at 80 mps, so the fake clock need not move.
	e := newEnv(t, db, clk, alwaysAccept, func(o *Options) { o.PortfolioLimit = 2 }).start()
	var ids []string
	for i := range 2 {
		ids = append(ids, e.submit(fmt.Sprintf("+62812000001%02d", i), nil).ID)
	}
	for _, id := range ids {
		e.rec.waitState(t, id, Sent, 1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.eng.Close(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	e2 := newEnv(t, db, clk, alwaysAccept, func(o *Options) { o.PortfolioLimit = 2 })
	st, _ := e2.eng.NumberStatusOf("main")
	if st.Used24h != 2 {
		t.Fatalf("after restart used %d, want 2", st.Used24h)
	}
	n, err := e2.eng.RebuildTierCounters(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("rebuild counted %d (%v), want 2", n, err)
	}
	if st, _ := e2.eng.NumberStatusOf("main"); st.Used24h != 2 || !st.FreesAt.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("after rebuild used %d freeing %v", st.Used24h, st.FreesAt)
	}
	e2.start()
	w := e2.submit("+6281200000999", nil)
	got := e2.rec.waitState(t, w.ID, Waiting, 1)
	if got.WaitingReason != ReasonTierLimit || !got.ETA.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("new recipient after restart: %s %q eta %v", got.State, got.WaitingReason, got.ETA)
	}
}

// TestPairRateOnSandbox: messages to one recipient leave within the pair budget and
// the sandbox, holding the same budget, never answers 131056: with a burst of 1 one per
// gap; with Meta's burst of 45 the first 45 at once, then one per gap.
func TestPairRateOnSandbox(t *testing.T) {
	for _, tt := range []struct {
		name      string
		burst     int // the engine's and the sandbox's
		total     int
		firstWave int // sent before the clock moves
	}{
		{name: "burst 1", burst: 1, total: 20, firstWave: 1},
		{name: "Meta's burst of 45", burst: DefaultPairBurst, total: 50, firstWave: 45},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newSandboxEnv(t, sandbox.Options{PortfolioLimit: -1, PairBurst: tt.burst}, func(o *Options) {
				o.PortfolioLimit = Unlimited
				o.Numbers[0].PairBurst = tt.burst
			})
			e.start()
			var ids []string
			for range tt.total {
				ids = append(ids, e.submit("+6281234567890", nil).ID)
			}
			for k := tt.firstWave; k <= tt.total; k++ {
				e.rec.waitLatest(t, fmt.Sprintf("%d sent", k), func(ms map[string]Message) bool { return countState(ms, ids, Sent) >= k })
				if n := countState(e.rec.latest(), ids, Sent); n != k {
					t.Fatalf("%d sent after %v, want %d", n, e.clk.Now().Sub(t0), k)
				}
				if k < tt.total {
					e.tick(DefaultPairGap)
				}
			}
			var times []time.Time
			for _, id := range ids {
				for _, h := range e.get(id).History {
					if h.State == Sent {
						times = append(times, h.At)
					}
				}
			}
			slices.SortFunc(times, time.Time.Compare)
			for i := tt.firstWave; i < len(times); i++ {
				if gap := times[i].Sub(times[i-1]); gap < DefaultPairGap {
					t.Fatalf("sends %d and %d only %v apart", i-1, i, gap)
				}
			}
			if st := e.sb.Stats(); st.RefusedByCode[provider.CodePairRate] != 0 || st.Accepted != uint64(tt.total) {
				t.Errorf("sandbox: %d accepted, refusals %v", st.Accepted, st.RefusedByCode)
			}
		})
	}
}

// TestRepliesBurstInWindow: inside the customer's open window, ten replies to one
// customer all go at once (the pair budget allows a burst), none bounced by the sandbox.
func TestRepliesBurstInWindow(t *testing.T) {
	e := newSandboxEnv(t, sandbox.Options{PortfolioLimit: -1, PairBurst: DefaultPairBurst}, func(o *Options) { o.PortfolioLimit = Unlimited })
	e.start()
	const wa = "6289900000002"
	if _, err := e.sb.Inbound(sandbox.InboundRequest{From: wa, Text: "halo, pesanan saya?"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.RecordInbound(context.Background(), []Inbound{{PhoneNumberID: sandbox.DefaultPhoneNumberID,
		WaID: wa, MessageID: "wamid.in2", Type: "text", Text: "halo", At: e.clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 10 {
		ids = append(ids, e.submit("+"+wa, func(r *SubmitRequest) {
			r.Message.Type, r.Message.Category, r.Message.Template = provider.TypeText, "service", nil
			r.Send = &provider.Message{Type: provider.TypeText, Text: &provider.Text{Body: fmt.Sprintf("balasan %d", i)}}
		}).ID)
	}
	e.rec.waitLatest(t, "ten replies sent without the clock moving", func(ms map[string]Message) bool { return countState(ms, ids, Sent) == 10 })
	if st := e.sb.Stats(); st.RefusedByCode[provider.CodePairRate] != 0 || st.Accepted != 10 {
		t.Errorf("sandbox: %d accepted, refusals %v", st.Accepted, st.RefusedByCode)
	}
}
