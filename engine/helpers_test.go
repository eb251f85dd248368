package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
	"kirim/storage"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// waitTimeout bounds every wait for an asynchronous outcome; generous, so a slow
// machine under -race does not fail a correct engine.
const waitTimeout = 15 * time.Second

const testAccount = "acct_test"

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// openDB opens a small in-memory store closed at the end of the test.
func openDB(tb testing.TB) *storage.DB {
	tb.Helper()
	db, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 8 << 20, NumMemtables: 2,
		BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20, Logger: quietLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// fakeSender answers sends with its send func; it counts calls.
type fakeSender struct {
	send func(ctx context.Context, n int, body []byte) (*provider.SendResponse, error)

	mu     sync.Mutex
	n      int
	bodies [][]byte
	called chan int // each call's number, dropped when nobody listens
}

func newFakeSender(send func(ctx context.Context, n int, body []byte) (*provider.SendResponse, error)) *fakeSender {
	return &fakeSender{send: send, called: make(chan int, 1024)}
}

func (f *fakeSender) SendMessageJSON(ctx context.Context, body []byte) (*provider.SendResponse, error) {
	f.mu.Lock()
	f.n++
	n := f.n
	f.bodies = append(f.bodies, body)
	f.mu.Unlock()
	select {
	case f.called <- n:
	default:
	}
	return f.send(ctx, n, body)
}

func (f *fakeSender) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// waitCalled waits for the sender's next call.
func (f *fakeSender) waitCalled(t *testing.T) int {
	t.Helper()
	select {
	case n := <-f.called:
		return n
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for a provider call")
		return 0
	}
}

// accepted answers a send as the Cloud API does, with a wamid derived from our id.
func accepted(body []byte) (*provider.SendResponse, error) {
	var m provider.Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("fake sender: %w", err)
	}
	return &provider.SendResponse{MessagingProduct: "whatsapp",
		Contacts: []provider.SentContact{{Input: m.To, WaID: m.To[1:]}},
		Messages: []provider.SentMessage{{ID: wamidFor(m.BizOpaqueCallbackData)}}}, nil
}

func wamidFor(id string) string { return "wamid." + id }

func alwaysAccept(_ context.Context, _ int, body []byte) (*provider.SendResponse, error) {
	return accepted(body)
}

// providerErr is the error the client returns for a Graph API error answer with code.
func providerErr(code int, title string) error {
	b, _ := json.Marshal(provider.NewErrorBody(code, title, "details of "+title, "trace"))
	return provider.ParseError(400, b)
}

// fakeBiller records what the engine asks of the ledger.
type fakeBiller struct {
	price int64

	mu       sync.Mutex
	holds    map[string]int
	captures map[string][]string // message id -> categories captured
	releases map[string][]string // message id -> reasons
	holdErr  error
}

func newFakeBiller(price int64) *fakeBiller {
	return &fakeBiller{price: price, holds: map[string]int{}, captures: map[string][]string{}, releases: map[string][]string{}}
}

func (b *fakeBiller) Hold(_ storage.Txn, m *Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.holdErr != nil {
		return b.holdErr
	}
	b.holds[m.ID]++
	m.Price, m.Currency, m.HoldID = b.price, "IDR", "hold_"+m.ID
	return nil
}

func (b *fakeBiller) Capture(_ storage.Txn, m *Message, category string) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.captures[m.ID] = append(b.captures[m.ID], category)
	return m.Price, nil
}

func (b *fakeBiller) Release(_ storage.Txn, m *Message, reason string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.releases[m.ID] = append(b.releases[m.ID], reason)
	return nil
}

func (b *fakeBiller) captured(id string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.captures[id]...)
}

func (b *fakeBiller) released(id string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.releases[id]...)
}

func (b *fakeBiller) held(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.holds[id]
}

// recorder keeps a copy of every change the engine reports, so tests wait for an
// outcome instead of sleeping.
type recorder struct {
	mu   sync.Mutex
	seen []Message
	wake chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

func (r *recorder) onChange(ms []*Message) {
	r.mu.Lock()
	for _, m := range ms {
		r.seen = append(r.seen, *m)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// waitFor returns the first reported change matching pred. pred sees each change once,
// in order.
func (r *recorder) waitFor(t *testing.T, what string, pred func(Message) bool) Message {
	t.Helper()
	return r.waitWithin(t, waitTimeout, what, pred)
}

// waitWithin is waitFor with its own deadline.
func (r *recorder) waitWithin(t *testing.T, within time.Duration, what string, pred func(Message) bool) Message {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	i := 0
	for {
		r.mu.Lock()
		for ; i < len(r.seen); i++ {
			if pred(r.seen[i]) {
				m := r.seen[i]
				r.mu.Unlock()
				return m
			}
		}
		r.mu.Unlock()
		select {
		case <-r.wake:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// count is how many reported changes match pred.
func (r *recorder) count(pred func(Message) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.seen {
		if pred(m) {
			n++
		}
	}
	return n
}

// waitState waits until message id is reported in state s, as the n-th report of that
// state (n from 1), so a message that passes through a state twice can be followed.
func (r *recorder) waitState(t *testing.T, id string, s State, n int) Message {
	t.Helper()
	seen := 0
	return r.waitFor(t, fmt.Sprintf("%s to be %s (#%d)", id, s, n), func(m Message) bool {
		if m.ID == id && m.State == s {
			seen++
		}
		return m.ID == id && m.State == s && seen == n
	})
}

// waitNth waits for the n-th report (from 1) of message id, whatever its state.
func (r *recorder) waitNth(t *testing.T, id string, n int) Message {
	t.Helper()
	seen := 0
	return r.waitFor(t, fmt.Sprintf("report #%d of %s", n, id), func(m Message) bool {
		if m.ID == id {
			seen++
		}
		return m.ID == id && seen == n
	})
}

// env is an engine on an in-memory store with a fake clock, a fake sender and a fake
// biller.
type env struct {
	t      *testing.T
	db     *storage.DB
	clk    *clock.Fake
	eng    *Engine
	sender *fakeSender
	biller *fakeBiller
	rec    *recorder
}

// newEnv builds an engine (not started) around send; mutate adjusts the options.
func newEnv(t *testing.T, db *storage.DB, clk *clock.Fake, send func(context.Context, int, []byte) (*provider.SendResponse, error), mutate func(*Options)) *env {
	t.Helper()
	if db == nil {
		db = openDB(t)
	}
	if clk == nil {
		clk = clock.NewFake(t0)
	}
	e := &env{t: t, db: db, clk: clk, sender: newFakeSender(send), biller: newFakeBiller(514_000_000), rec: newRecorder()}
	opts := Options{
		DB: db, Clock: clk, Biller: e.biller, Logger: quietLogger(), Workers: 4, Seed: 7,
		Numbers:  []Number{{Alias: "main", PhoneNumberID: "100000000000001", WABAID: "200000000000001", Sender: e.sender, MPS: 80}},
		OnChange: e.rec.onChange,
	}
	if mutate != nil {
		mutate(&opts)
	}
	eng, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eng.Close(ctx)
	})
	return e
}

func (e *env) start() *env {
	e.t.Helper()
	if err := e.eng.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return e
}

// submit queues a template message to to and returns it.
func (e *env) submit(to string, mutate func(*SubmitRequest)) *Message {
	e.t.Helper()
	res, err := e.eng.Submit(context.Background(), e.request(to, mutate))
	if err != nil {
		e.t.Fatalf("submit to %s: %v", to, err)
	}
	return res.Message
}

func (e *env) request(to string, mutate func(*SubmitRequest)) SubmitRequest {
	req := SubmitRequest{
		Message: &Message{AccountID: testAccount, To: to, Type: provider.TypeTemplate, Category: "marketing",
			Template: &TemplateRef{Name: "hello_world", Language: "en_US"}},
		Send: &provider.Message{Type: provider.TypeTemplate,
			Template: &provider.Template{Name: "hello_world", Language: provider.Language{Code: "en_US"}}},
	}
	if mutate != nil {
		mutate(&req)
	}
	return req
}

// kick makes every dispatcher scan its whole queue again at the clock's current time.
func (e *env) kick() {
	for _, d := range e.eng.dispatchers {
		d.wake(time.Unix(0, 0))
	}
}

// tick advances the fake clock and kicks the dispatchers, so whatever became due is
// claimed whether or not a dispatcher had already armed its timer.
func (e *env) tick(d time.Duration) {
	e.clk.Advance(d)
	e.kick()
}

func (e *env) get(id string) *Message {
	e.t.Helper()
	m, err := e.eng.Get(id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return m
}

// keys counts the keys under prefix.
func keys(t *testing.T, db *storage.DB, prefix []byte) int {
	t.Helper()
	n := 0
	err := db.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// has reports whether key exists.
func has(t *testing.T, db *storage.DB, key []byte) bool {
	t.Helper()
	err := db.View(func(r storage.Reader) error {
		_, err := r.Get(key)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}
