package engine

import (
	"strings"
)

// Throughput levels the provider reports (GET /{phone-number-id}?fields=throughput).
const (
	ThroughputStandard = "STANDARD"
	ThroughputHigh     = "HIGH"
)

// HighThroughputMPS is a number's throughput once the provider upgraded it (level
// HIGH; the THROUGHPUT_UPGRADE webhook): 1,000 messages a second.
const HighThroughputMPS = 1000

// mpsFor is the throughput the number sends at in state st: HighThroughputMPS at the
// provider's HIGH level, else the configured one.
func (d *dispatcher) mpsFor(st NumberState) int {
	if strings.ToUpper(st.Throughput) == ThroughputHigh {
		return max(HighThroughputMPS, d.num.MPS)
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
