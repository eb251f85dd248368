package engine

import (
	"strings"
)

// Throughput levels the provider reports (GET /{phone-number-id}?fields=throughput).
const (
	ThroughputStandard = "STANDARD"
	ThroughputHigh     = "HIGH"
)

// Meta's throughputs: StandardMPS for every number, HighThroughputMPS once the
// provider upgraded it (level HIGH; the THROUGHPUT_UPGRADE webhook).
const (
	StandardMPS       = 80
	HighThroughputMPS = 1000
)

// mpsFor is the throughput the number sends at in state st. A number configured at
// Meta's standard pace follows Meta's level: HighThroughputMPS while it is HIGH. Any
// other configured pace is the operator's (a BSP's own limit, a coexistence number's
// 20, a number meant to go slower or already known to be upgraded) and is kept.
func (d *dispatcher) mpsFor(st NumberState) int {
	if d.num.MPS == StandardMPS && strings.ToUpper(st.Throughput) == ThroughputHigh {
		return HighThroughputMPS
	}
	return d.num.MPS
}

// setMPS makes the number send at mps from now: the limiter's rate and burst and how
// far ahead the dispatcher claims follow.
func (d *dispatcher) setMPS(mps int) {
	if old := d.mps.Swap(int64(mps)); old == int64(mps) {
		return
	} else if old != 0 {
		d.e.log.Info("engine: throughput changed", "number", d.num.Alias, "from", old, "to", mps)
	}
	d.limiter.setRate(mps, d.e.clock.Now())
	d.mu.Lock()
	d.lookahead = max(4, mps/20)
	d.mu.Unlock()
	select {
	case d.roomCh <- struct{}{}:
	default:
	}
}

// current is the number as configured, at its present throughput.
func (d *dispatcher) current() Number {
	n := d.num
	n.MPS = int(d.mps.Load())
	return n
}
