package engine

import (
	"testing"
	"time"

	"kirim/clock"
)

// TestPairRateBudget walks the per-recipient budget through claims, refusals and a
// 131056 back-off: burst messages at once, then one per gap, each recipient apart.
func TestPairRateBudget(t *testing.T) {
	const gap = 6 * time.Second
	type step struct {
		at     time.Duration // from t0
		op     string        // note, forget, push
		wa     string
		until  time.Duration // push: the back-off end, from t0
		wantAt time.Duration // next(wa) after the step, from t0; -1: no wait
	}
	tests := []struct {
		name  string
		burst int
		steps []step
	}{
		{name: "burst 1 is one message per gap", burst: 1, steps: []step{
			{at: 0, op: "note", wa: "a", wantAt: 6 * time.Second},
			{at: 6 * time.Second, op: "note", wa: "a", wantAt: 12 * time.Second},
			{at: 7 * time.Second, op: "note", wa: "b", wantAt: 13 * time.Second},
		}},
		{name: "a burst of 3 goes at once, the fourth waits a gap", burst: 3, steps: []step{
			{at: 0, op: "note", wa: "a", wantAt: -1},
			{at: 0, op: "note", wa: "a", wantAt: -1},
			{at: 0, op: "note", wa: "a", wantAt: 6 * time.Second},
			{at: 6 * time.Second, op: "note", wa: "a", wantAt: 12 * time.Second},
		}},
		{name: "the budget refills one per gap", burst: 3, steps: []step{
			{at: 0, op: "note", wa: "a", wantAt: -1},
			{at: 0, op: "note", wa: "a", wantAt: -1},
			{at: 0, op: "note", wa: "a", wantAt: 6 * time.Second},
			// 18 s later the whole budget is back: three more at once.
			{at: 18 * time.Second, op: "note", wa: "a", wantAt: -1},
			{at: 18 * time.Second, op: "note", wa: "a", wantAt: -1},
			{at: 18 * time.Second, op: "note", wa: "a", wantAt: 24 * time.Second},
		}},
		{name: "a refused message gives its budget back", burst: 2, steps: []step{
			{at: 0, op: "note", wa: "a", wantAt: -1},
			{at: 0, op: "note", wa: "a", wantAt: 6 * time.Second},
			{at: 1 * time.Second, op: "forget", wa: "a", wantAt: -1},
		}},
		{name: "131056 empties the budget until the back-off ends", burst: 45, steps: []step{
			{at: 0, op: "note", wa: "a", wantAt: -1},
			{at: 0, op: "forget", wa: "a", wantAt: -1},
			{at: 0, op: "push", wa: "a", until: 4 * time.Second, wantAt: 4 * time.Second},
			{at: 4 * time.Second, op: "note", wa: "a", wantAt: 10 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPairRate(gap, tt.burst)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				switch s.op {
				case "note":
					p.note(s.wa, now)
				case "forget":
					p.forget(s.wa, now)
				case "push":
					p.push(s.wa, t0.Add(s.until))
				}
				next := p.next(s.wa)
				var got time.Duration = -1
				if next.After(now) {
					got = next.Sub(t0)
				}
				if got != s.wantAt {
					t.Fatalf("step %d (%s %s at %v): next at %v, want %v", i, s.op, s.wa, s.at, got, s.wantAt)
				}
			}
		})
	}
}

// TestPairRateReserve: calls to one recipient are charged again at the call, so a
// burst of claims cannot reach the provider faster than the budget allows.
func TestPairRateReserve(t *testing.T) {
	clk := clock.NewFake(t0)
	p := newPairRate(6*time.Second, 2)
	p.reserve(clk, "a")
	p.reserve(clk, "a")
	done := make(chan struct{})
	go func() { p.reserve(clk, "a"); close(done) }()
	clk.BlockUntil(1)
	select {
	case <-done:
		t.Fatal("a third call went within the burst of 2")
	default:
	}
	if at, _ := clk.NextAt(); !at.Equal(t0.Add(6 * time.Second)) {
		t.Fatalf("the third call waits until %v, want t0+6s", at)
	}
	clk.Advance(6 * time.Second)
	<-done
	if got := p.sent["a"].Sub(t0); got != 18*time.Second {
		t.Fatalf("after three calls the budget is whole at %v, want 18s", got)
	}
}
