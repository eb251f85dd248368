package memory

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"kirim/clock"
)

// fakeRuntime stands in for the runtime: the test says when the program collects and
// how much a trim returns.
type fakeRuntime struct {
	stats Stats
	frees []uint64 // what each trim returns, in order
	trims int
}

func (f *fakeRuntime) read() Stats { return f.stats }

func (f *fakeRuntime) trim() {
	f.stats.GCCycles++
	f.stats.Retained -= f.frees[f.trims]
	f.trims++
}

func TestTrimmerWaits(t *testing.T) {
	const mb = 1 << 20
	type step struct {
		after   time.Duration // since the previous step
		gc      bool          // the program collected before this look
		trimmed bool
	}
	tests := []struct {
		name  string
		frees []uint64
		steps []step
	}{
		{
			name:  "a busy process is left alone",
			steps: []step{{5 * time.Second, true, false}, {5 * time.Second, true, false}, {5 * time.Second, true, false}},
		},
		{
			name:  "the first quiet look trims",
			frees: []uint64{200 * mb},
			steps: []step{{5 * time.Second, true, false}, {5 * time.Second, false, true}},
		},
		{
			name:  "a trim that returns much keeps the shortest wait",
			frees: []uint64{200 * mb, 100 * mb},
			steps: []step{{5 * time.Second, true, false}, {5 * time.Second, false, true}, {5 * time.Second, false, true}},
		},
		{
			name:  "trims that return little double the wait",
			frees: []uint64{mb, mb, mb},
			steps: []step{
				{5 * time.Second, true, false},
				{5 * time.Second, false, true}, // wait becomes 10 s
				{5 * time.Second, false, false},
				{5 * time.Second, false, true}, // 10 s after: wait becomes 20 s
				{15 * time.Second, false, false},
				{5 * time.Second, false, true},
			},
		},
		{
			name:  "the wait stops at MaxWait",
			frees: []uint64{mb, mb, mb, mb},
			steps: []step{
				{5 * time.Second, true, false},
				{5 * time.Second, false, true},  // 10 s
				{10 * time.Second, false, true}, // 20 s
				{20 * time.Second, false, true}, // 30 s, the cap
				{29 * time.Second, false, false},
				{time.Second, false, true},
			},
		},
		{
			name:  "activity resets the wait",
			frees: []uint64{mb, mb},
			steps: []step{
				{5 * time.Second, true, false},
				{5 * time.Second, false, true}, // 10 s
				{5 * time.Second, true, false}, // busy again
				{5 * time.Second, false, true}, // the shortest wait again
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := &fakeRuntime{stats: Stats{Retained: 1 << 30}, frees: tc.frees}
			tr := &Trimmer{Interval: 5 * time.Second, MaxWait: 30 * time.Second, read: rt.read, trim: rt.trim}
			tr.defaults()
			now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
			for i, s := range tc.steps {
				now = now.Add(s.after)
				if s.gc {
					rt.stats.GCCycles++
				}
				trimmed, freed := tr.tick(now)
				if trimmed != s.trimmed {
					t.Fatalf("step %d: trimmed %v, want %v", i, trimmed, s.trimmed)
				}
				if trimmed && freed != tc.frees[rt.trims-1] {
					t.Fatalf("step %d: freed %d, want %d", i, freed, tc.frees[rt.trims-1])
				}
			}
			if rt.trims != len(tc.frees) {
				t.Fatalf("%d trims, want %d", rt.trims, len(tc.frees))
			}
		})
	}
}

var sink [][]byte

// TestTrimReturnsGarbage runs against the real runtime: garbage left by a burst, with no
// collection since, is collected and returned to the system by one quiet look.
func TestTrimReturnsGarbage(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // nothing but the trim collects
	tr := &Trimmer{Interval: time.Second}
	tr.defaults()
	runtime.GC() // finish whatever collection was under way
	now := time.Now()
	tr.tick(now) // the process's earlier collections make this look busy

	const burst = 64 << 20
	for range burst >> 20 {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = 1 // touched, so resident
		}
		sink = append(sink, b)
	}
	sink = nil
	released := readReleased()
	trimmed, freed := tr.tick(now.Add(time.Second))
	if !trimmed {
		t.Fatal("a quiet process with 64 MiB of garbage was not trimmed")
	}
	if freed < burst*3/4 {
		t.Fatalf("the trim freed %d MiB of a %d MiB burst", freed>>20, burst>>20)
	}
	if got := readReleased() - released; got < burst*3/4 {
		t.Fatalf("the trim returned %d MiB to the system, want at least 48", got>>20)
	}
}

func readReleased() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func TestRunLooksEveryInterval(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	rt := &fakeRuntime{stats: Stats{GCCycles: 1, Retained: 1 << 30}, frees: []uint64{100 << 20}}
	looks := make(chan struct{}, 10)
	tr := &Trimmer{Clock: clk, Interval: 5 * time.Second, trim: rt.trim,
		read: func() Stats { looks <- struct{}{}; return rt.read() }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	for range 2 {
		clk.BlockUntil(1)
		clk.Advance(5 * time.Second)
		<-looks
	}
	// The second look found the process quiet, trimmed, and read again.
	<-looks
	cancel()
	<-done
	if rt.trims != 1 {
		t.Fatalf("%d trims after two looks, want 1", rt.trims)
	}
}
