package engine

import (
	"sync"
	"time"

	"kirim/clock"
)

// Meta's pair rate: about one message every 6 seconds from one number to one user,
// with bursts of up to 45 borrowed from the minutes after (a burst of 20 is repaid
// in 2 minutes); beyond it the provider answers 131056.
const (
	// DefaultPairGap is the sustained pace to one recipient: one message per gap.
	DefaultPairGap = 6 * time.Second
	// DefaultPairBurst is how many messages may go to one recipient at once.
	DefaultPairBurst = 45
)

// pairPruneEvery bounds how often the pair table is swept of recipients whose budget
// is whole again, which keeps it the size of the recipients of the last burst*gap.
const pairPruneEvery = 1024

// pairRate is a budget per recipient of one number: burst messages, refilled one per
// gap (a GCRA, the token bucket in one time per recipient). Claims consult it so a
// message that would exceed it waits in the queue instead of bouncing off the
// provider; workers charge it again at the call, since the claim and the call can be
// a limiter wait apart and calls must not arrive closer than the provider allows.
type pairRate struct {
	gap   time.Duration // <= 0: no budget
	burst int

	mu sync.Mutex
	// Theoretical arrival times: the budget of wa is whole at tat, and a message may
	// go while tat is at most (burst-1)*gap ahead.
	claimed map[string]time.Time // charged at claim
	sent    map[string]time.Time // charged at the provider call
	calls   int
}

func newPairRate(gap time.Duration, burst int) *pairRate {
	return &pairRate{gap: gap, burst: max(burst, 1), claimed: map[string]time.Time{}, sent: map[string]time.Time{}}
}

// slack is how far ahead a recipient's tat may be with a message still allowed.
func (p *pairRate) slack() time.Duration { return time.Duration(p.burst-1) * p.gap }

// next is the earliest time a message to wa may go (zero: now).
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
	return t.Add(-p.slack())
}

// charge spends one message of wa's budget in m at t.
func (p *pairRate) charge(m map[string]time.Time, wa string, t time.Time) {
	tat, ok := m[wa]
	if !ok || tat.Before(t) {
		tat = t
	}
	m[wa] = tat.Add(p.gap)
}

// note records that a message to wa was claimed at t.
func (p *pairRate) note(wa string, t time.Time) {
	if p.gap <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.charge(p.claimed, wa, t)
	p.calls++
	if p.calls%pairPruneEvery == 0 {
		for _, m := range []map[string]time.Time{p.claimed, p.sent} {
			for k, v := range m {
				if !v.After(t) {
					delete(m, k)
				}
			}
		}
	}
}

// push empties wa's budget until until: a 131056 that still happened says the
// provider's budget for this recipient is spent, and backs off this recipient only.
func (p *pairRate) push(wa string, until time.Time) {
	if p.gap <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := until.Add(p.slack())
	for _, m := range []map[string]time.Time{p.claimed, p.sent} {
		if t.After(m[wa]) {
			m[wa] = t
		}
	}
}

// forget gives back one message of wa's budget when the provider refused the send: a
// refused message does not use the recipient's pair budget.
func (p *pairRate) forget(wa string, now time.Time) {
	if p.gap <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range []map[string]time.Time{p.claimed, p.sent} {
		if t, ok := m[wa]; ok {
			if t = t.Add(-p.gap); t.After(now) {
				m[wa] = t
			} else {
				delete(m, wa)
			}
		}
	}
}

// reserve waits on c until a message to wa may go, then charges it.
func (p *pairRate) reserve(c clock.Clock, wa string) {
	if p.gap <= 0 {
		return
	}
	for {
		now := c.Now()
		p.mu.Lock()
		t, ok := p.sent[wa]
		if !ok || !t.Add(-p.slack()).After(now) {
			p.charge(p.sent, wa, now)
			p.mu.Unlock()
			return
		}
		wait := t.Add(-p.slack()).Sub(now)
		p.mu.Unlock()
		done := make(chan struct{})
		c.AfterFunc(wait, func() { close(done) })
		<-done
	}
}

func (d *dispatcher) pairNext(wa string) time.Time { return d.pair.next(wa) }
