package events

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"kirim/clock"
	"kirim/storage"
)

var start = time.Date(2025, 7, 10, 9, 0, 0, 0, time.UTC)

func openDB(tb testing.TB, dir string) *storage.DB {
	tb.Helper()
	db, err := storage.Open(storage.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		tb.Fatalf("open storage: %v", err)
	}
	return db
}

type fixture struct {
	t    testing.TB
	dir  string
	db   *storage.DB
	clk  *clock.Fake
	opts Options
	o    *Outbox
}

// newFixture opens a store and a started Outbox on a fake clock; mod adjusts the options.
func newFixture(t testing.TB, mod func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), clk: clock.NewFake(start)}
	f.opts = Options{Clock: f.clk, AllowPrivate: true}
	if mod != nil {
		mod(&f.opts)
	}
	f.open()
	t.Cleanup(f.close)
	return f
}

func (f *fixture) open() {
	f.t.Helper()
	f.db = openDB(f.t, f.dir)
	f.opts.DB = f.db
	o, err := New(f.opts)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	o.poll = 5 * time.Millisecond
	f.o = o
	o.Start(context.Background())
}

func (f *fixture) close() {
	if f.o == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.o.Close(ctx); err != nil {
		f.t.Errorf("Close: %v", err)
	}
	if err := f.db.Close(); err != nil {
		f.t.Errorf("close storage: %v", err)
	}
	f.o = nil
}

func (f *fixture) reopen() {
	f.close()
	f.open()
}

// emit writes events in one commit, as a caller does beside its own change.
func (f *fixture) emit(evs ...Event) {
	f.t.Helper()
	err := f.db.Commit(context.Background(), func(tx storage.Txn) error {
		for _, ev := range evs {
			if err := f.o.Emit(tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatalf("emit: %v", err)
	}
}

func (f *fixture) create(account, url string, events ...string) (Endpoint, string) {
	f.t.Helper()
	if len(events) == 0 {
		events = []string{"*"}
	}
	ep, secret, err := f.o.CreateEndpoint(context.Background(), account, EndpointSpec{URL: url, Events: events})
	if err != nil {
		f.t.Fatalf("CreateEndpoint %s: %v", url, err)
	}
	return ep, secret
}

func (f *fixture) deliveries(filter DeliveryFilter) []Delivery {
	f.t.Helper()
	d, _, err := f.o.Deliveries(filter)
	if err != nil {
		f.t.Fatalf("Deliveries: %v", err)
	}
	return d
}

func ev(typ, account string, n int) Event {
	return Event{Type: typ, Account: account, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

// got is one request a receiver accepted as signed.
type got struct {
	ID, Type, Timestamp, Sig string
	Account                  string
	N                        int
	Body                     []byte
}

// receiver is a customer endpoint that checks every request with the Standard
// Webhooks library, independent of the signing code under test.
type receiver struct {
	t         testing.TB
	srv       *httptest.Server
	mu        sync.Mutex
	verifiers []*standardwebhooks.Webhook
	all       []got
	answer    func(n int, g got) int // status for the n-th request (from 0); default 200
	gate      chan struct{}          // when set, requests wait for it to close
	changed   chan struct{}
	strictTS  bool
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t, changed: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/hook" }

func (r *receiver) trust(secret string) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		r.t.Fatalf("NewWebhook: %v", err)
	}
	r.mu.Lock()
	r.verifiers = append(r.verifiers, wh)
	r.mu.Unlock()
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		r.t.Errorf("request %s with Content-Type %q", req.Method, req.Header.Get("Content-Type"))
	}
	r.mu.Lock()
	vs := r.verifiers
	gate := r.gate
	r.mu.Unlock()
	if len(vs) == 0 {
		r.t.Errorf("receiver has no secret")
	}
	for _, wh := range vs {
		var err error
		if r.strictTS {
			err = wh.Verify(body, req.Header)
		} else {
			err = wh.VerifyIgnoringTimestamp(body, req.Header)
		}
		if err != nil {
			r.t.Errorf("signature of %s: %v", req.Header.Get("webhook-id"), err)
			w.WriteHeader(400)
			return
		}
	}
	var b struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			N       int    `json:"n"`
			Account string `json:"account_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		r.t.Errorf("body %s: %v", body, err)
	}
	g := got{ID: req.Header.Get("webhook-id"), Type: b.Type, Timestamp: req.Header.Get("webhook-timestamp"),
		Sig: req.Header.Get("webhook-signature"), N: b.Data.N, Account: b.Data.Account, Body: body}
	if gate != nil {
		select {
		case <-gate:
		case <-req.Context().Done():
			return
		}
	}
	r.mu.Lock()
	n := len(r.all)
	r.all = append(r.all, g)
	answer := r.answer
	r.mu.Unlock()
	code := 200
	if answer != nil {
		code = answer(n, g)
	}
	w.WriteHeader(code)
	if code >= 300 {
		_, _ = io.WriteString(w, "down for maintenance")
	}
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *receiver) received() []got {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]got(nil), r.all...)
}

// waitFor waits until cond holds, or fails the test after a deadline.
func (r *receiver) waitFor(what string, cond func([]got) bool) []got {
	r.t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if g := r.received(); cond(g) {
			return g
		}
		select {
		case <-r.changed:
		case <-tick.C:
		case <-deadline:
			r.t.Fatalf("timed out waiting for %s; have %d requests", what, len(r.received()))
		}
	}
}

func (r *receiver) waitN(n int) []got {
	r.t.Helper()
	return r.waitFor(fmt.Sprintf("%d requests", n), func(g []got) bool { return len(g) >= n })
}

// waitUntil polls cond with a deadline, for state that is not a request.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func ids(gs []got) map[string]int {
	m := map[string]int{}
	for _, g := range gs {
		m[g.ID]++
	}
	return m
}
