// Package clock owns Kirim's notion of time. Everything that schedules, expires or
// rate-limits takes a Clock, so windows, tiers, schedules and month boundaries are
// tested by advancing a Fake instead of sleeping.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock is the time source injected into every component that reads or waits on time.
type Clock interface {
	Now() time.Time
	// After behaves like time.After on this clock.
	After(d time.Duration) <-chan time.Time
	// AfterFunc behaves like time.AfterFunc on this clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled callback that can be cancelled.
type Timer interface {
	// Stop cancels the timer; it reports whether the call stopped it before it fired.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time                            { return time.Now() }
func (Real) After(d time.Duration) <-chan time.Time    { return time.After(d) }
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Fake is a manual clock for tests: time moves only when Advance or Set is called, and
// timers due by then fire in time order, synchronously, before Advance returns.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	timers  []*fakeTimer
	waiters chan struct{}
}

type fakeTimer struct {
	f     *Fake
	at    time.Time
	seq   uint64
	fire  func(now time.Time)
	fired bool
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, waiters: make(chan struct{}, 1<<16)}
}

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *Fake) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	f.schedule(d, func(now time.Time) { ch <- now })
	return ch
}

func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	return f.schedule(d, func(time.Time) { fn() })
}

func (f *Fake) schedule(d time.Duration, fire func(time.Time)) *fakeTimer {
	f.mu.Lock()
	f.seq++
	t := &fakeTimer{f: f, at: f.now.Add(d), seq: f.seq, fire: fire}
	if d <= 0 {
		t.fired = true
		now := f.now
		f.mu.Unlock()
		fire(now)
		return t
	}
	f.timers = append(f.timers, t)
	f.mu.Unlock()
	select {
	case f.waiters <- struct{}{}:
	default:
	}
	return t
}

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	if t.fired {
		return false
	}
	t.fired = true
	for i, x := range t.f.timers {
		if x == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			break
		}
	}
	return true
}

// Advance moves the clock forward by d, firing every timer due on the way in order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(d)
	f.mu.Unlock()
	f.Set(target)
}

// Set moves the clock to t (never backwards), firing every timer due by then in order.
func (f *Fake) Set(target time.Time) {
	for {
		f.mu.Lock()
		sort.Slice(f.timers, func(i, j int) bool {
			if f.timers[i].at.Equal(f.timers[j].at) {
				return f.timers[i].seq < f.timers[j].seq
			}
			return f.timers[i].at.Before(f.timers[j].at)
		})
		if len(f.timers) == 0 || f.timers[0].at.After(target) {
			if target.After(f.now) {
				f.now = target
			}
			f.mu.Unlock()
			return
		}
		t := f.timers[0]
		f.timers = f.timers[1:]
		t.fired = true
		if t.at.After(f.now) {
			f.now = t.at
		}
		now := f.now
		f.mu.Unlock()
		t.fire(now)
	}
}

// Pending reports how many timers are waiting to fire.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// BlockUntil waits until at least n timers are pending, so a test can advance the clock
// only after the goroutine under test has started waiting on it.
func (f *Fake) BlockUntil(n int) {
	for {
		if f.Pending() >= n {
			return
		}
		<-f.waiters
	}
}

// NextAt returns when the earliest pending timer fires, and false if none is pending.
func (f *Fake) NextAt() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var best *fakeTimer
	for _, t := range f.timers {
		if best == nil || t.at.Before(best.at) {
			best = t
		}
	}
	if best == nil {
		return time.Time{}, false
	}
	return best.at, true
}
