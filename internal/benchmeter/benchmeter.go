// Package benchmeter reports what a benchmark's work cost per unit: the CPU time this
// process spent, which a shared two-core machine distorts far less than wall time, and,
// when one op is a batch of units (a campaign of 10,000 recipients), the time, bytes
// and allocations of each unit beside the per-op figures.
package benchmeter

import (
	"runtime"
	"testing"
	"time"
)

// Meter measures from Start to Stop.
type Meter struct {
	b    *testing.B
	cpu0 time.Duration
	mem0 runtime.MemStats
}

// Start turns on the allocation report, resets the benchmark's timer and notes the
// process's CPU time and allocations: call it right before the measured work.
func Start(b *testing.B) *Meter {
	m := &Meter{b: b}
	b.ReportAllocs()
	runtime.ReadMemStats(&m.mem0)
	m.cpu0 = CPU()
	b.ResetTimer()
	return m
}

// Stop stops the timer and reports the CPU time per unit as cpu-ns/<unit>. Unless unit
// is "op" (b.N units, the usual figures already say it), it also reports ns/<unit>,
// B/<unit> and allocs/<unit> over units.
func (m *Meter) Stop(units int, unit string) {
	m.b.StopTimer()
	cpu := CPU() - m.cpu0
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	n := float64(max(units, 1))
	m.b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/"+unit)
	if unit == "op" {
		return
	}
	m.b.ReportMetric(float64(m.b.Elapsed().Nanoseconds())/n, "ns/"+unit)
	m.b.ReportMetric(float64(mem.TotalAlloc-m.mem0.TotalAlloc)/n, "B/"+unit)
	m.b.ReportMetric(float64(mem.Mallocs-m.mem0.Mallocs)/n, "allocs/"+unit)
}
