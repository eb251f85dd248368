package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// benchSecret signs the bench's callback deliveries.
const benchSecret = "whsec_YmVuY2gtY2FsbGJhY2stc2VjcmV0LWJ5dGVz"

// callbackTOML is a [[callbacks]] entry taking message.queued events to url.
func callbackTOML(url string) string {
	return fmt.Sprintf("[[callbacks]]\nurl = %q\nsecret = %q\nevents = [\"message.queued\"]\n", url, benchSecret)
}

// gatedReceiver is a customer endpoint on loopback: it holds every request until the
// gate opens, answers after delay, and counts what it answered.
type gatedReceiver struct {
	srv   *http.Server
	url   string
	gate  chan struct{}
	once  sync.Once
	delay time.Duration
	got   atomic.Int64
}

func newGatedReceiver(delay time.Duration) (*gatedReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &gatedReceiver{url: "http://" + ln.Addr().String() + "/", gate: make(chan struct{}), delay: delay}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		<-r.gate
		if r.delay > 0 {
			time.Sleep(r.delay)
		}
		r.got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *gatedReceiver) open() { r.once.Do(func() { close(r.gate) }) }

func (r *gatedReceiver) close() {
	r.open()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

// callbackPhase measures the delivery of a backlog of signed events: n accepted
// messages leave n message.queued events pending for an endpoint that holds its
// requests; then it lets them through and times the drain. With slow set, a second
// endpoint that answers after 5 s takes the same events meanwhile.
func (b *bench) callbackPhase(ctx context.Context, n int, slow bool) (float64, error) {
	fast, err := newGatedReceiver(0)
	if err != nil {
		return 0, err
	}
	defer fast.close()
	extra := callbackTOML(fast.url)
	if slow {
		sl, err := newGatedReceiver(5 * time.Second)
		if err != nil {
			return 0, err
		}
		sl.open()
		defer sl.close()
		extra += callbackTOML(sl.url)
	}
	var rate float64
	err = b.inDir(ctx, "callbacks-", extra, holdRates(), func(*child) error {
		if _, err := b.accept(n, roundRobin); err != nil {
			return err
		}
		start := time.Now()
		fast.open()
		deadline := start.Add(5 * time.Minute)
		for fast.got.Load() < int64(n) {
			if time.Now().After(deadline) {
				return fmt.Errorf("bench: %d of %d events delivered in 5 minutes", fast.got.Load(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		rate = float64(n) / time.Since(start).Seconds()
		return nil
	})
	return rate, err
}

// callbacks runs the callback phases (none when n is 0) and reports their figures.
func (b *bench) callbacks(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	b.progress("callbacks: delivering %d events, alone and beside a slow endpoint", n)
	alone, err := b.callbackPhase(ctx, n, false)
	if err != nil {
		return err
	}
	withSlow, err := b.callbackPhase(ctx, n, true)
	if err != nil {
		return err
	}
	r := b.report
	r.section("callbacks", fmt.Sprintf("callbacks (signed Standard Webhooks deliveries of a backlog of %d events, loopback receiver)", n))
	r.add(benchFigure{ID: "callbacks_per_second", Label: "callbacks to one endpoint", Value: math.Round(alone), Unit: "events/s", Goal: atLeast(5000)})
	r.add(benchFigure{ID: "callbacks_beside_slow", Label: "callbacks beside an endpoint answering in 5 s", Value: round2(withSlow / alone), Unit: "of alone", Digits: 2,
		Goal: atLeast(0.90), Note: fmt.Sprintf("%.0f events/s", withSlow)})
	return nil
}

// pendingPhase accepts n messages whose message.queued events wait for an endpoint that
// refuses every connection, and reads Kirim's RSS once the burst has settled: pending
// events live on disk, not in memory.
func (b *bench) pendingPhase(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	b.progress("pending: %d events for a dead endpoint", n)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	dead := "http://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there any more: every delivery fails to connect
	return b.inDir(ctx, "pending-", callbackTOML(dead), holdRates(),
		func(child *child) error {
			watch := watchRSS(child.pid(), rssEvery, "burst")
			defer watch.end()
			if _, err := b.accept(n, roundRobin); err != nil {
				return err
			}
			watch.next("settle")
			time.Sleep(settle)
			rss, anon := child.rssMB()
			peaks := watch.end()
			r := b.report
			r.section("pending", "events pending for an endpoint nothing listens on")
			r.add(benchFigure{ID: "rss_pending_mb", Label: fmt.Sprintf("RSS with %d events pending", n), Value: float64(max(peaks["burst"].total, peaks["settle"].total)), Unit: "MB",
				Goal: below(goalRSS), Note: fmt.Sprintf("the highest from the burst on; %d MB %s after it (anonymous %d MB)", rss, settle, anon)})
			return nil
		})
}

// inDir runs fn against a child kirim, its numbers at mps and its configuration adding
// extra, in a data directory of its own.
func (b *bench) inDir(ctx context.Context, prefix, extra string, mps []int, fn func(*child) error) error {
	dir, err := os.MkdirTemp(b.dir, prefix)
	if err != nil {
		return err
	}
	saved := b.dir
	b.dir, b.extra = dir, extra
	defer func() { b.dir, b.extra = saved, "" }()
	if err := b.writeConfig(mps); err != nil {
		return err
	}
	child, err := b.startKirim(ctx)
	if err != nil {
		return err
	}
	defer child.stop()
	return fn(child)
}
