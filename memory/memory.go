// Package memory owns what the process does with memory beyond Badger's options: the
// soft limit of the configuration (GOMEMLIMIT), and handing the heap back to the system
// once a burst of work is over.
package memory

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"kirim/clock"
)

// SetLimit applies server.memory_limit_mb; zero or less leaves the runtime's default.
func SetLimit(mb int) {
	if mb > 0 {
		debug.SetMemoryLimit(int64(mb) << 20)
	}
}

// Defaults of a Trimmer's zero fields.
const (
	DefaultInterval = 5 * time.Second
	DefaultMaxWait  = 5 * time.Minute
	DefaultMinFreed = 16 << 20
)

// Trimmer collects and returns the heap a burst of work left behind, once the process
// has gone quiet.
//
// The Go runtime collects only when the program allocates. After a burst (a campaign
// launched, a backlog accepted over the API) Badger's flushes and compactions drop their
// table-builder buffers, hundreds of MB of them; a quiet server then allocates too little
// to start a collection, and the scavenger returns memory only down to the heap goal of
// the last collection, which still counts those buffers. So they stay resident until
// the runtime's two-minute forced collection, and even then the goal it leaves is twice
// the live heap. In `kirim bench` the anonymous memory 5 s after 100,000 accepts was
// 230 MB; collected and returned, 22 MB.
//
// A process is quiet when no collection completed between two looks: a busy one
// collects on its own and is left alone. A quiet process is trimmed, and a trim that
// returns less than MinFreed doubles the wait before the next one (up to MaxWait), so an
// idle server is not collected every Interval for nothing.
type Trimmer struct {
	Clock    clock.Clock
	Interval time.Duration // how often the runtime is looked at; default DefaultInterval
	MaxWait  time.Duration // longest wait between the trims of a quiet process; default DefaultMaxWait
	MinFreed uint64        // a trim returning less backs off; default DefaultMinFreed
	Logger   *slog.Logger

	// read and trim are the runtime's (readRuntime, debug.FreeOSMemory) unless a test
	// sets them.
	read func() Stats
	trim func()

	lastGC   uint64
	lastTrim time.Time
	wait     time.Duration
}

// Stats is what a Trimmer reads of the runtime.
type Stats struct {
	GCCycles uint64 // collections completed since the process started
	Retained uint64 // bytes the heap holds from the system: objects, free and unused
}

func (t *Trimmer) defaults() {
	if t.Clock == nil {
		t.Clock = clock.Real{}
	}
	if t.Interval <= 0 {
		t.Interval = DefaultInterval
	}
	if t.MaxWait <= 0 {
		t.MaxWait = DefaultMaxWait
	}
	t.MaxWait = max(t.MaxWait, t.Interval)
	if t.MinFreed == 0 {
		t.MinFreed = DefaultMinFreed
	}
	if t.Logger == nil {
		t.Logger = slog.Default()
	}
	if t.read == nil {
		t.read = readRuntime
	}
	if t.trim == nil {
		t.trim = debug.FreeOSMemory
	}
	if t.wait == 0 {
		t.wait = t.Interval
	}
}

// Run looks at the runtime every Interval until ctx is done.
func (t *Trimmer) Run(ctx context.Context) {
	t.defaults()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.Clock.After(t.Interval):
			t.tick(now)
		}
	}
}

// tick trims a quiet process whose wait is over, and reports the bytes it returned.
func (t *Trimmer) tick(now time.Time) (trimmed bool, freed uint64) {
	s := t.read()
	if s.GCCycles != t.lastGC {
		// The program collected on its own since the last look: it is busy, and the next
		// quiet period starts with the shortest wait.
		t.lastGC, t.wait = s.GCCycles, t.Interval
		return false, 0
	}
	if !t.lastTrim.IsZero() && now.Sub(t.lastTrim) < t.wait {
		return false, 0
	}
	t.trim()
	after := t.read()
	// The trim's own collection is not the program's.
	t.lastGC, t.lastTrim = after.GCCycles, now
	if s.Retained > after.Retained {
		freed = s.Retained - after.Retained
	}
	if freed < t.MinFreed {
		t.wait = min(2*t.wait, t.MaxWait)
	} else {
		t.wait = t.Interval
		t.Logger.Debug("memory: returned the heap of a burst", "freed_mb", freed>>20, "retained_mb", after.Retained>>20)
	}
	return true, freed
}

var runtimeMetrics = []string{
	"/gc/cycles/total:gc-cycles",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/unused:bytes",
}

func readRuntime() Stats {
	samples := make([]metrics.Sample, len(runtimeMetrics))
	for i, name := range runtimeMetrics {
		samples[i].Name = name
	}
	metrics.Read(samples)
	s := Stats{GCCycles: samples[0].Value.Uint64()}
	for _, h := range samples[1:] {
		s.Retained += h.Value.Uint64()
	}
	return s
}
