package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const (
	testSecret = "app-secret"
	testToken  = "token-1"
	waitFor    = 10 * time.Second
)

// env is a sandbox behind a real HTTP server, a fake clock and, optionally, a webhook
// catcher.
type env struct {
	t       *testing.T
	sb      *Sandbox
	clk     *clock.Fake
	srv     *httptest.Server
	catcher *catcher
}

// newEnv starts a sandbox with opts on a fake clock at t0. With catch, webhooks go to a
// catcher that verifies every signature.
func newEnv(t *testing.T, opts Options, catch bool) *env {
	t.Helper()
	e := &env{t: t, clk: clock.NewFake(t0)}
	opts.Clock = e.clk
	opts.AppSecret = testSecret
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Token == "" {
		opts.Token = testToken
	}
	if catch {
		e.catcher = newCatcher(t)
		opts.WebhookURL = e.catcher.srv.URL
	}
	e.sb = New(opts)
	e.sb.Start()
	e.srv = httptest.NewServer(e.sb.Handler())
	t.Cleanup(func() {
		e.srv.Close()
		e.sb.Close()
	})
	return e
}

// client returns a provider client for the number at index i.
func (e *env) client(i int) *provider.Client {
	n := e.sb.Options().Numbers[i]
	return provider.New(provider.Config{BaseURL: e.srv.URL, Version: "v25.0", Token: testToken,
		PhoneNumberID: n.PhoneNumberID, WABAID: n.WABAID})
}

// send sends m from number 0 and returns the answer or the provider error.
func (e *env) send(m *provider.Message) (*provider.SendResponse, *provider.Error) {
	return e.sendFrom(0, m)
}

func (e *env) sendFrom(i int, m *provider.Message) (*provider.SendResponse, *provider.Error) {
	e.t.Helper()
	resp, err := e.client(i).SendMessage(context.Background(), m)
	if err == nil {
		return resp, nil
	}
	pe, ok := provider.AsError(err)
	if !ok {
		e.t.Fatalf("send: not a provider error: %v", err)
	}
	return nil, pe
}

// mustSend fails the test unless m is accepted.
func (e *env) mustSend(m *provider.Message) *provider.SendResponse {
	e.t.Helper()
	resp, perr := e.send(m)
	if perr != nil {
		e.t.Fatalf("send to %s: %v", m.To, perr)
	}
	return resp
}

// wantCode fails the test unless m is refused with code.
func (e *env) wantCode(i int, m *provider.Message, code int) {
	e.t.Helper()
	_, perr := e.sendFrom(i, m)
	if perr == nil {
		e.t.Fatalf("send to %s accepted, want error %d", m.To, code)
	}
	if perr.Code != code {
		e.t.Fatalf("send to %s: error %d (%s), want %d", m.To, perr.Code, perr.Details, code)
	}
}

func (e *env) inbound(in InboundRequest) {
	e.t.Helper()
	if _, err := e.sb.Inbound(in); err != nil {
		e.t.Fatal(err)
	}
}

func textMsg(to, body string) *provider.Message {
	return &provider.Message{To: to, Type: provider.TypeText, Text: &provider.Text{Body: body}}
}

func helloMsg(to string) *provider.Message {
	return &provider.Message{To: to, Type: provider.TypeTemplate,
		Template: &provider.Template{Name: "hello_world", Language: provider.Language{Code: "en_US"}}}
}

func tmplMsg(to, name string, body ...string) *provider.Message {
	m := &provider.Message{To: to, Type: provider.TypeTemplate,
		Template: &provider.Template{Name: name, Language: provider.Language{Code: "en_US"}}}
	if len(body) > 0 {
		c := provider.TemplateComponent{Type: "body"}
		for _, b := range body {
			c.Parameters = append(c.Parameters, provider.Parameter{Type: "text", Text: b})
		}
		m.Template.Components = []provider.TemplateComponent{c}
	}
	return m
}

// addTemplate stores an approved template directly, as if reviewed long ago.
func (e *env) addTemplate(waba, name, category, body string) {
	e.t.Helper()
	st := e.sb.st.Load()
	def := provider.TemplateDefinition{Name: name, Language: "en_US", Category: category,
		Components: []provider.TemplateComponentDef{{Type: "BODY", Text: body}}}
	if waba == "" {
		waba = DefaultWABAID
	}
	ts := st.templates
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := &template{id: "9" + name, key: tmplKey{waba, name, "en_US"}, def: def, vars: templateVarsOf(def),
		status: tmplApproved, category: category, quality: "GREEN"}
	ts.byKey[t.key] = t
	ts.all = append(ts.all, t)
}

// caught is one webhook change the catcher received.
type caught struct {
	entryID string
	field   string
	value   json.RawMessage
}

// catcher is a webhook receiver that verifies signatures and keeps what it gets.
type catcher struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	posts    [][]byte
	statuses []provider.Status
	changes  []caught
	badSig   int
	failNext int // answer 500 to this many POSTs
	got      chan struct{}
}

func newCatcher(t *testing.T) *catcher {
	c := &catcher{t: t, got: make(chan struct{}, 1<<16)}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *catcher) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	defer func() {
		c.mu.Unlock()
		c.got <- struct{}{}
	}()
	c.posts = append(c.posts, body)
	if !provider.VerifySignature(testSecret, body, r.Header.Get(provider.SignatureHeader)) ||
		r.Header.Get("Content-Type") != "application/json" {
		c.badSig++
	}
	if c.failNext > 0 {
		c.failNext--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var n provider.Notification
	if err := json.Unmarshal(body, &n); err != nil || n.Object != "whatsapp_business_account" {
		c.t.Errorf("catcher: bad notification %s: %v", body, err)
		return
	}
	for _, en := range n.Entry {
		for _, ch := range en.Changes {
			c.changes = append(c.changes, caught{entryID: en.ID, field: ch.Field, value: ch.Value})
			if ch.Field != provider.FieldMessages {
				continue
			}
			var v provider.MessagesValue
			if err := json.Unmarshal(ch.Value, &v); err != nil {
				c.t.Errorf("catcher: bad messages value %s: %v", ch.Value, err)
				continue
			}
			c.statuses = append(c.statuses, v.Statuses...)
		}
	}
}

// wait blocks until cond holds on the catcher (checked after every POST).
func (c *catcher) wait(what string, cond func(c *catcher) bool) {
	c.t.Helper()
	deadline := time.After(waitFor)
	for {
		c.mu.Lock()
		ok := cond(c)
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.got:
		case <-deadline:
			c.mu.Lock()
			defer c.mu.Unlock()
			c.t.Fatalf("catcher: timed out waiting for %s (posts %d, statuses %d)", what, len(c.posts), len(c.statuses))
		}
	}
}

func (c *catcher) waitStatuses(n int) []provider.Status {
	c.t.Helper()
	c.wait("statuses", func(c *catcher) bool { return len(c.statuses) >= n })
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]provider.Status(nil), c.statuses...)
}

func (c *catcher) waitPosts(n int) [][]byte {
	c.t.Helper()
	c.wait("posts", func(c *catcher) bool { return len(c.posts) >= n })
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.posts...)
}

// waitField waits for n changes of field and returns them.
func (c *catcher) waitField(field string, n int) []caught {
	c.t.Helper()
	var out []caught
	c.wait(field, func(c *catcher) bool {
		out = out[:0]
		for _, ch := range c.changes {
			if ch.field == field {
				out = append(out, ch)
			}
		}
		return len(out) >= n
	})
	return out
}

func (c *catcher) badSignatures() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.badSig
}

func (c *catcher) setFail(n int) {
	c.mu.Lock()
	c.failNext = n
	c.mu.Unlock()
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}
