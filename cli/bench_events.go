package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
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
	err = b.withCallbacks(ctx, "callbacks-", extra, func(*child) error {
		if _, _, _, _, err := b.acceptPhase(ctx, n); err != nil {
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

// printCallbacks runs the callback phases and writes their figures.
func (b *bench) printCallbacks(ctx context.Context, n int) error {
	alone, err := b.callbackPhase(ctx, n, false)
	if err != nil {
		return err
	}
	withSlow, err := b.callbackPhase(ctx, n, true)
	if err != nil {
		return err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "callbacks (signed Standard Webhooks deliveries of a backlog of %d events, loopback receiver)\n", n)
	fmt.Fprintf(&sb, "  one endpoint                      %10.0f events/s target >= 5000\n", alone)
	fmt.Fprintf(&sb, "  beside an endpoint answering in 5 s %8.0f events/s (%.2f of alone) target >= 0.90\n\n", withSlow, withSlow/alone)
	_, err = io.WriteString(b.out, sb.String())
	return err
}

// pendingPhase accepts n messages whose message.queued events wait for an endpoint that
// refuses every connection, and reads Kirim's RSS once the burst has settled: pending
// events live on disk, not in memory.
func (b *bench) pendingPhase(ctx context.Context, n int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	dead := "http://" + ln.Addr().String() + "/"
	ln.Close() // nothing listens there any more: every delivery fails to connect
	return b.withCallbacks(ctx, "pending-", callbackTOML(dead),
		func(child *child) error {
			if _, _, _, _, err := b.acceptPhase(ctx, n); err != nil {
				return err
			}
			peak, _ := child.rssMB()
			time.Sleep(settle)
			rss, anon := child.rssMB()
			fmt.Fprintf(b.out, "  RSS with %d events pending for a dead endpoint %d MB (anonymous %d MB, %s after the burst; right after it %d MB) target < 150 MB\n\n",
				n, rss, anon, settle, peak)
			return nil
		})
}

// withCallbacks runs fn against a child kirim whose configuration adds extra, in a
// data directory of its own (the accepts reuse their Idempotency-Keys).
func (b *bench) withCallbacks(ctx context.Context, prefix, extra string, fn func(*child) error) error {
	dir, err := os.MkdirTemp(b.dir, prefix)
	if err != nil {
		return err
	}
	saved := b.dir
	b.dir, b.extra = dir, extra
	defer func() { b.dir, b.extra = saved, "" }()
	if err := b.writeConfig(1, 1); err != nil {
		return err
	}
	child, err := b.startKirim(ctx)
	if err != nil {
		return err
	}
	defer child.stop()
	return fn(child)
}
