package engine

import (
	"context"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
)

// grantedIn counts the sends l grants over d from start, asked every millisecond.
func grantedIn(l *limiter, start time.Time, d time.Duration) int {
	n := 0
	for at := start; at.Before(start.Add(d)); at = at.Add(time.Millisecond) {
		for l.available(at) >= 1 {
			l.take(at, 1)
			n++
		}
	}
	return n
}

// TestLimiterSetRate: a reshaped bucket grants the new rate's sends in a second, never
// more than the provider's limit.
func TestLimiterSetRate(t *testing.T) {
	l := newLimiter(80, t0)
	if n := grantedIn(l, t0, time.Second); n > 80 || n < 75 {
		t.Fatalf("at 80 msg/s: %d granted in a second", n)
	}
	l.setRate(HighThroughputMPS, t0.Add(time.Second))
	if n := grantedIn(l, t0.Add(time.Second), time.Second); n > 1000 || n < 975 {
		t.Fatalf("at 1000 msg/s: %d granted in a second", n)
	}
	l.setRate(80, t0.Add(2*time.Second))
	if n := grantedIn(l, t0.Add(2*time.Second), time.Second); n > 80 || n < 75 {
		t.Fatalf("back at 80 msg/s: %d granted in a second", n)
	}
}

// TestThroughputUpgrade: THROUGHPUT_UPGRADE (webhook) or level HIGH (poll) raises the
// number to 1,000 msg/s, in the limiter and the dispatcher's lookahead, across a
// restart; level STANDARD returns it to the configured throughput.
func TestThroughputUpgrade(t *testing.T) {
	for _, tt := range []struct {
		name    string
		upgrade func(t *testing.T, eng *Engine)
	}{
		{"THROUGHPUT_UPGRADE webhook", func(t *testing.T, eng *Engine) { applyFixture(t, eng, "phone_quality_2025.json") }},
		{"poll", func(t *testing.T, eng *Engine) {
			if err := eng.ApplyPhoneInfo(context.Background(), "main", &provider.PhoneNumberInfo{Status: "CONNECTED",
				QualityRating: "GREEN", Throughput: &provider.Throughput{Level: "HIGH"}}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, clk := openDB(t), clock.NewFake(t0)
			mutate := func(o *Options) {
				o.Numbers[0].WABAID, o.Numbers[0].Phone, o.Numbers[0].MPS = fixtureWABA, fixturePhone, 80
			}
			e := newEnv(t, db, clk, alwaysAccept, mutate)
			check := func(eng *Engine, mps int, level string) {
				t.Helper()
				n, _ := eng.Number("main")
				d := eng.dispatchers["main"]
				_, r := limiterShape(mps)
				d.mu.Lock()
				look := d.lookahead
				d.mu.Unlock()
				st, _ := eng.NumberStatusOf("main")
				if n.MPS != mps || d.limiter.target != r || look != max(4, mps/20) || st.Throughput != level {
					t.Fatalf("number at %d msg/s (limiter %.0f, lookahead %d, level %q), want %d (%.0f, %d, %q)",
						n.MPS, d.limiter.target, look, st.Throughput, mps, r, max(4, mps/20), level)
				}
			}
			check(e.eng, 80, "")
			tt.upgrade(t, e.eng)
			check(e.eng, HighThroughputMPS, ThroughputHigh)
			if err := e.eng.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			e2 := newEnv(t, db, clk, alwaysAccept, mutate)
			check(e2.eng, HighThroughputMPS, ThroughputHigh)
			if err := e2.eng.ApplyPhoneInfo(context.Background(), "main", &provider.PhoneNumberInfo{Status: "CONNECTED",
				QualityRating: "GREEN", Throughput: &provider.Throughput{Level: "STANDARD"}}); err != nil {
				t.Fatal(err)
			}
			check(e2.eng, 80, ThroughputStandard)
		})
	}
}

// TestThroughputPinned: a number configured at a pace of its own keeps it at HIGH.
func TestThroughputPinned(t *testing.T) {
	e := newEnv(t, nil, nil, alwaysAccept, func(o *Options) { o.Numbers[0].MPS = 200 })
	if err := e.eng.ApplyPhoneInfo(context.Background(), "main", &provider.PhoneNumberInfo{Status: "CONNECTED",
		QualityRating: "GREEN", Throughput: &provider.Throughput{Level: "HIGH"}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.eng.Number("main"); n.MPS != 200 {
		t.Fatalf("a number pinned at 200 msg/s sends at %d at HIGH", n.MPS)
	}
}
