package engine

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"kirim/clock"
)

// limiter is a token bucket at the number's throughput that slows down after throttling
// errors and recovers step by step. In any one second it grants at most its burst plus
// its rate, which is kept under the provider's limit. The burst is small (1 %, at least
// two from 10 msg/s up): workers reserve tokens ahead of time and the dispatcher claims
// messages a twentieth of a second ahead, so the bucket only fills while the number has
// nothing to send, and every token given to the burst is one less of sustained rate
// (with 3 %, a number at 1,000 msg/s could not sustain more than 960).
type limiter struct {
	mu     sync.Mutex
	lim    *rate.Limiter
	target float64
	cur    float64
	last   time.Time
}

func newLimiter(mps int, now time.Time) *limiter {
	burst, r := limiterShape(mps)
	l := &limiter{lim: rate.NewLimiter(rate.Limit(r), burst), target: r, cur: r, last: now}
	l.lim.SetBurstAt(now, burst)
	return l
}

// limiterShape is the burst and sustained rate of a bucket for mps.
func limiterShape(mps int) (burst int, r float64) {
	// At most mps leave in any second, less a margin of 1 % (at least one send): the
	// provider counts sends by when they arrive, and a send that leaves at the end of one
	// second may arrive in the next, which then holds one too many.
	burst = max(1, mps/100)
	if mps >= 10 {
		burst = max(2, burst)
	}
	r = float64(mps - burst - max(1, mps/100))
	if r <= 0 {
		r = float64(mps) / 2
	}
	return burst, r
}

// setRate reshapes the bucket for a new throughput (the provider raised or lowered
// the number's). A back-off under way keeps its share of the new rate.
func (l *limiter) setRate(mps int, now time.Time) {
	burst, r := limiterShape(mps)
	l.mu.Lock()
	defer l.mu.Unlock()
	share := l.cur / l.target
	l.target = r
	l.cur = math.Max(1, r*share)
	l.lim.SetLimitAt(now, rate.Limit(l.cur))
	l.lim.SetBurstAt(now, burst)
}

// available is how many sends the bucket would grant at now without waiting.
func (l *limiter) available(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recover(now)
	return int(l.lim.TokensAt(now))
}

// take spends n tokens at now.
func (l *limiter) take(now time.Time, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lim.AllowN(now, n)
}

// waitFor is how long until one token is available.
func (l *limiter) waitFor(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	missing := 1 - l.lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(missing / l.cur * float64(time.Second))
}

// wait blocks until the bucket grants one send.
func (l *limiter) wait(c clock.Clock) {
	now := c.Now()
	l.mu.Lock()
	l.recover(now)
	delay := l.lim.ReserveN(now, 1).DelayFrom(now)
	l.mu.Unlock()
	if delay <= 0 {
		return
	}
	done := make(chan struct{})
	c.AfterFunc(delay, func() { close(done) })
	<-done
}

// backOff lowers the rate by a fifth after a throttling error.
func (l *limiter) backOff(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = math.Max(1, l.cur*0.8)
	l.lim.SetLimitAt(now, rate.Limit(l.cur))
	l.last = now
}

// recover raises the rate by a tenth of the target for each quiet second.
func (l *limiter) recover(now time.Time) {
	if l.cur >= l.target {
		return
	}
	secs := now.Sub(l.last).Seconds()
	if secs < 1 {
		return
	}
	l.cur = math.Min(l.target, l.cur+l.target*0.1*math.Floor(secs))
	l.lim.SetLimitAt(now, rate.Limit(l.cur))
	l.last = now
}
