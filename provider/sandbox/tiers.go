package sandbox

import (
	"sync"
	"time"
)

// Tier simulation: the sandbox raises and lowers messaging limits on its clock by the
// rule Kirim's forecast models, so an upgrade can be watched end to end.
//
//   - Upgrade (both rule sets): once a limit has been held for tierEvaluation and the
//     slots taken in the trailing tierEvaluation are at least half of it, with quality
//     not RED (legacy: and the number CONNECTED), the limit rises one level
//     tierDelay2025 (6 h) or tierDelayLegacy (24 h) later, posting the webhooks
//     UpdateNumber posts. The 2025 ladder is 250, 2K, 10K, 100K, unlimited; legacy is
//     250, 1K, 10K, 100K, unlimited.
//   - Downgrade (legacy only; 2025 rules never lower a limit): a number FLAGGED for
//     tierEvaluation drops one level and is CONNECTED again.
//
// The rule is evaluated every tierStep from the moment the simulation is enabled.
const (
	tierEvaluation  = 7 * 24 * time.Hour
	tierStep        = time.Hour
	tierDelay2025   = 6 * time.Hour
	tierDelayLegacy = 24 * time.Hour
)

var (
	tierLadder2025   = []int{250, 2000, 10000, 100000, -1}
	tierLadderLegacy = []int{250, 1000, 10000, 100000, -1}
)

type tierSim struct {
	s      *Sandbox
	mu     sync.Mutex
	scopes []*simScope
	stop   bool
}

type simScope struct {
	num          *number // the number whose limit it is (legacy), or the one that reports the portfolio's
	portfolio    bool
	takes        []int64
	since        int64
	flaggedSince int64
	pending      bool
}

// SimulateTiers starts the upgrade and downgrade simulation on the sandbox's clock; it
// counts the slots taken from now on. Reset ends it.
func (s *Sandbox) SimulateTiers() {
	st := s.st.Load()
	sim := &tierSim{s: s}
	now := s.now()
	if s.opts.Rules == RulesLegacy {
		for _, n := range st.numbers {
			sc := &simScope{num: n, since: now}
			sim.scopes = append(sim.scopes, sc)
			n.mu.Lock()
			n.limiter.onTake = sim.taker(sc)
			n.mu.Unlock()
		}
	} else if len(st.numbers) > 0 {
		sc := &simScope{num: st.numbers[0], portfolio: true, since: now}
		sim.scopes = append(sim.scopes, sc)
		st.portfolio.mu.Lock()
		st.portfolio.limiter.onTake = sim.taker(sc)
		st.portfolio.mu.Unlock()
	}
	sim.arm()
}

func (t *tierSim) taker(sc *simScope) func(int64) {
	return func(now int64) {
		t.mu.Lock()
		sc.takes = append(sc.takes, now)
		t.mu.Unlock()
	}
}

func (t *tierSim) arm() {
	t.s.clk.AfterFunc(tierStep, t.tick)
}

func (t *tierSim) limitOf(sc *simScope) int {
	if sc.portfolio {
		p := t.s.st.Load().portfolio
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.limit
	}
	return sc.num.limitNow()
}

func (t *tierSim) tick() {
	now := t.s.now()
	legacy := t.s.opts.Rules == RulesLegacy
	type change struct {
		sc     *simScope
		limit  int
		status string
		delay  time.Duration
	}
	var changes []change
	for _, sc := range t.scopes {
		limit := t.limitOf(sc)
		sc.num.mu.Lock()
		status, quality := sc.num.status, sc.num.quality
		sc.num.mu.Unlock()
		t.mu.Lock()
		from := now - int64(tierEvaluation)
		i := 0
		for i < len(sc.takes) && sc.takes[i] <= from {
			i++
		}
		sc.takes = sc.takes[i:]
		used := len(sc.takes)
		if legacy && status == "FLAGGED" {
			if sc.flaggedSince == 0 {
				sc.flaggedSince = now
			} else if now-sc.flaggedSince >= int64(tierEvaluation) {
				sc.flaggedSince, sc.since = 0, now
				changes = append(changes, change{sc: sc, limit: levelBelow(tierLadderLegacy, limit), status: "CONNECTED"})
			}
		} else {
			sc.flaggedSince = 0
		}
		ok := quality != "RED" && (!legacy || status == "" || status == "CONNECTED")
		if limit >= 0 && !sc.pending && ok && now-sc.since >= int64(tierEvaluation) && used >= (limit+1)/2 {
			sc.pending = true
			ladder, delay := tierLadder2025, tierDelay2025
			if legacy {
				ladder, delay = tierLadderLegacy, tierDelayLegacy
			}
			changes = append(changes, change{sc: sc, limit: levelAbove(ladder, limit), delay: delay})
		}
		t.mu.Unlock()
	}
	for _, c := range changes {
		c := c
		apply := func() {
			u := NumberUpdate{MessagingLimit: &c.limit, Status: c.status}
			if err := t.s.UpdateNumber(c.sc.num.id, u); err != nil {
				t.s.log.Warn("sandbox: tier simulation", "err", err)
			}
			t.mu.Lock()
			c.sc.pending, c.sc.since = false, t.s.now()
			t.mu.Unlock()
		}
		if c.delay > 0 {
			t.s.clk.AfterFunc(c.delay, apply)
		} else {
			apply()
		}
	}
	t.mu.Lock()
	stop := t.stop
	t.mu.Unlock()
	if !stop {
		t.arm()
	}
}

func levelAbove(ladder []int, limit int) int {
	for _, v := range ladder {
		if v < 0 || v > limit {
			return v
		}
	}
	return -1
}

func levelBelow(ladder []int, limit int) int {
	prev := ladder[0]
	for _, v := range ladder {
		if v < 0 || v >= limit {
			if limit < 0 {
				return ladder[len(ladder)-2]
			}
			return prev
		}
		prev = v
	}
	return prev
}
