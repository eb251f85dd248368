package engine

import (
	"sync"
	"time"

	"kirim/clock"
)

// DefaultPairGap is the least time between two messages from one number to one
// recipient: Meta allows about one every 6 seconds and answers 131056 beyond it.
const DefaultPairGap = 6 * time.Second

// pairPruneEvery bounds how often the pair table is swept of recipients whose gap has
// passed, which keeps it the size of the last gap's recipients.
const pairPruneEvery = 1024

// pairRate spaces messages to one recipient from one number. Claims consult it so a
// message that would come too soon waits in the queue instead of bouncing off the
// provider; workers record each send and wait out any remaining gap, since the claim
// and the call can be a limiter wait apart.
type pairRate struct {
	gap time.Duration // <= 0: no spacing

	mu      sync.Mutex
	claimed map[string]time.Time // wa_id -> last claim (or a back-off's next allowed time minus gap)
	sent    map[string]time.Time // wa_id -> last provider call
	calls   int
}

func newPairRate(gap time.Duration) *pairRate {
	return &pairRate{gap: gap, claimed: map[string]time.Time{}, sent: map[string]time.Time{}}
}

// next is the earliest time a message to wa may go.
func (p *pairRate) next(wa string) time.Time {
	if p.gap <= 0 {
		return time.Time{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.claimed[wa]
	if !ok {
		return time.Time{}
	}
	return t.Add(p.gap)
}

// note records that a message to wa goes at t.
func (p *pairRate) note(wa string, t time.Time) {
	if p.gap <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.claimed[wa]; !ok || t.After(prev) {
		p.claimed[wa] = t
	}
	p.calls++
	if p.calls%pairPruneEvery == 0 {
		for _, m := range []map[string]time.Time{p.claimed, p.sent} {
			for k, v := range m {
				if t.Sub(v) > p.gap {
					delete(m, k)
				}
			}
		}
	}
}

// push holds wa back until at least until: a 131056 that still happened backs off
// this recipient only.
func (p *pairRate) push(wa string, until time.Time) {
	if p.gap <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := until.Add(-p.gap)
	if t.After(p.claimed[wa]) {
		p.claimed[wa] = t
	}
	if t.After(p.sent[wa]) {
		p.sent[wa] = t
	}
}

// forget drops wa's record when the provider refused the send: a refused message does
// not use the recipient's pair budget, so its retry need not wait for the gap.
func (p *pairRate) forget(wa string, now time.Time) {
	if p.gap <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.claimed[wa]; ok && !t.After(now) {
		delete(p.claimed, wa)
	}
	if t, ok := p.sent[wa]; ok && !t.After(now) {
		delete(p.sent, wa)
	}
}

// reserve waits on c until a message to wa may go, then records it.
func (p *pairRate) reserve(c clock.Clock, wa string) {
	if p.gap <= 0 {
		return
	}
	for {
		now := c.Now()
		p.mu.Lock()
		t, ok := p.sent[wa]
		if !ok || !t.Add(p.gap).After(now) {
			p.sent[wa] = now
			p.mu.Unlock()
			return
		}
		wait := t.Add(p.gap).Sub(now)
		p.mu.Unlock()
		done := make(chan struct{})
		c.AfterFunc(wait, func() { close(done) })
		<-done
	}
}

func (d *dispatcher) pairNext(wa string) time.Time { return d.pair.next(wa) }
