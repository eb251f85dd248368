package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"kirim/api"
	"kirim/clock"
	"kirim/engine"
	"kirim/internal/openapicheck"
	"kirim/ledger"
	"kirim/provider"
	"kirim/provider/sandbox"
	"kirim/provider/sandbox/sandboxtest"
	"kirim/storage"
	"kirim/template"

	"github.com/julienschmidt/httprouter"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

const waitTimeout = 15 * time.Second

// API keys of the test accounts.
const (
	keySendA      = "kirim_test_send_a"
	keyAdminA     = "kirim_test_admin_a"
	keyCampaignsA = "kirim_test_campaigns_a"
	keySendB      = "kirim_test_send_b"
	keyOperator   = "kirim_test_operator"
	// opA is the operator acting on account A: do sends keyOperator with ?account=acct_a.
	opA = keyOperator + "@acct_a"
)

// Account B's own number and WABA.
const (
	pnidB = "100000000000002"
	wabaB = "200000000000002"
)

// Prices the fake biller holds, by category, in IDR micros.
var prices = map[string]int64{"marketing": 514_000_000, "utility": 200_000_000, "authentication": 300_000_000, "service": 0}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// biller prices by category and charges nothing; the ledger has its own tests.
type biller struct{}

func (biller) Hold(_ storage.Txn, m *engine.Message) error {
	m.Price, m.Currency, m.HoldID = prices[m.Category], "IDR", "hold_"+m.ID
	return nil
}
func (biller) Capture(_ storage.Txn, m *engine.Message, _ string) (int64, error) { return m.Price, nil }
func (biller) Release(storage.Txn, *engine.Message, string) error                { return nil }

// mustTemplate builds a catalog template from its Cloud API definition.
func mustTemplate(tb testing.TB, d provider.TemplateDefinition) *template.Template {
	tb.Helper()
	t, err := template.FromDefinition(d)
	if err != nil {
		tb.Fatal(err)
	}
	return &t
}

func catalog(tb testing.TB) *api.MemoryCatalog {
	c := api.NewMemoryCatalog()
	for _, d := range []provider.TemplateDefinition{
		{Name: "hello_world", Language: "en_US", Category: "UTILITY", Status: "APPROVED", Components: []provider.TemplateComponentDef{
			{Type: "HEADER", Format: "TEXT", Text: "Hello World"},
			{Type: "BODY", Text: "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us."},
			{Type: "FOOTER", Text: "WhatsApp Business Platform sample message"},
		}},
		{Name: "order_update", Language: "id", Category: "UTILITY", Status: "APPROVED", Components: []provider.TemplateComponentDef{
			{Type: "BODY", Text: "Halo {{1}}, pesanan {{2}} sudah dikirim.", Example: &provider.TemplateExample{BodyText: [][]string{{"Budi", "INV-42"}}}},
		}},
		{Name: "promo_dec", Language: "id", Category: "MARKETING", Status: "APPROVED", Components: []provider.TemplateComponentDef{
			{Type: "BODY", Text: "Diskon akhir tahun untuk {{1}}!", Example: &provider.TemplateExample{BodyText: [][]string{{"Budi"}}}},
		}},
		{Name: "promo_new", Language: "id", Category: "MARKETING", Status: "PENDING", Components: []provider.TemplateComponentDef{
			{Type: "BODY", Text: "Produk baru untuk {{1}}", Example: &provider.TemplateExample{BodyText: [][]string{{"Budi"}}}},
		}},
	} {
		c.Put(sandbox.DefaultWABAID, mustTemplate(tb, d))
		c.Put(wabaB, mustTemplate(tb, d))
	}
	return c
}

// env is the API over a real engine (in-memory store, fake clock) whose number sends
// to a real sandbox over HTTP.
type env struct {
	t      *testing.T
	clk    *clock.Fake
	sb     *sandbox.Sandbox
	eng    *engine.Engine
	server *api.Server
	srv    *httptest.Server
	ledger *ledger.Ledger // with envOpts.ledger

	mu      sync.Mutex
	changes []engine.Message
	wake    chan struct{}
}

type envOpts struct {
	start bool // start the engine's dispatchers
	ready func() error
	// ledger, when set, builds the ledger that charges sends and serves the money API.
	ledger func(tb testing.TB, now func() time.Time) *ledger.Ledger
	// logger, observe and extra go to api.Options when set.
	logger  *slog.Logger
	observe func(route, method string, status int, d time.Duration)
	extra   func(r *httprouter.Router, s *api.Server)
	// instance serves the operator's storage figures and backup.
	instance api.Instance
	// localeB is the money display locale of acct_b.
	localeB string
	// engine adjusts the engine's options.
	engine func(*engine.Options)
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	e := &env{t: t, clk: clock.NewFake(t0), wake: make(chan struct{}, 1)}
	e.sb = sandbox.New(sandbox.Options{Clock: e.clk, PortfolioLimit: -1, Logger: quietLogger(), AppSecret: "app-secret",
		Numbers: []sandbox.Number{{}, {PhoneNumberID: pnidB, WABAID: wabaB}}})
	client := sandboxtest.Serve(t, e.sb)
	cfgB := client.Config()
	cfgB.PhoneNumberID, cfgB.WABAID = pnidB, wabaB
	clientB := provider.New(cfgB)
	db, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 8 << 20, NumMemtables: 2,
		BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	var bill engine.Biller = biller{}
	var money *api.LedgerOptions
	if o.ledger != nil {
		e.ledger = o.ledger(t, e.clk.Now)
		bill, money = ledger.NewBiller(e.ledger), &api.LedgerOptions{Ledger: e.ledger, Store: db}
	}
	eopts := engine.Options{DB: db, Clock: e.clk, Logger: quietLogger(), Biller: bill, Workers: 2,
		Numbers: []engine.Number{{Alias: "main", Account: "acct_a", PhoneNumberID: sandbox.DefaultPhoneNumberID, WABAID: sandbox.DefaultWABAID, Sender: client, MPS: 80},
			{Alias: "b-main", Account: "acct_b", PhoneNumberID: pnidB, WABAID: wabaB, Sender: clientB, MPS: 80}},
		OnChange: e.onChange}
	if o.engine != nil {
		o.engine(&eopts)
	}
	e.eng, err = engine.New(eopts)
	if err != nil {
		t.Fatal(err)
	}
	if o.start {
		if err := e.eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = e.eng.Close(ctx)
		})
	}
	logger := o.logger
	if logger == nil {
		logger = quietLogger()
	}
	e.server, err = api.New(api.Options{
		Engine: e.eng, Templates: catalog(t), Clock: e.clk, Logger: logger, Ready: o.ready, Ledger: money,
		Observe: o.observe, Extra: o.extra, Instance: o.instance,
		Accounts: []api.Account{{ID: "acct_a", Currency: "IDR", DefaultRegion: "ID"}, {ID: "acct_b", Currency: "IDR", DefaultRegion: "ID", Locale: o.localeB}},
		Keys: []api.Key{
			{Name: "send-a", Account: "acct_a", Scopes: []string{api.ScopeSend}, SHA256: api.HashKey(keySendA)},
			{Name: "admin-a", Account: "acct_a", Scopes: []string{api.ScopeAdmin}, SHA256: api.HashKey(keyAdminA)},
			{Name: "campaigns-a", Account: "acct_a", Scopes: []string{api.ScopeCampaigns}, SHA256: api.HashKey(keyCampaignsA)},
			{Name: "send-b", Account: "acct_b", Scopes: []string{api.ScopeSend}, SHA256: api.HashKey(keySendB)},
			{Name: "ops", Operator: true, SHA256: api.HashKey(keyOperator)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(openapicheck.New(t, api.OpenAPI()).Handler(e.server.Handler()))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) onChange(ms []*engine.Message) {
	e.mu.Lock()
	for _, m := range ms {
		e.changes = append(e.changes, *m)
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// waitState waits until the engine reports message id in state s.
func (e *env) waitState(id string, s engine.State) engine.Message {
	e.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		e.mu.Lock()
		for _, m := range e.changes {
			if m.ID == id && m.State == s {
				e.mu.Unlock()
				return m
			}
		}
		e.mu.Unlock()
		select {
		case <-e.wake:
		case <-deadline.C:
			e.t.Fatalf("timed out waiting for %s to be %s", id, s)
		}
	}
}

// response is one answer of the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; body is a string, []byte or a value encoded as JSON.
func (e *env) do(method, path, key string, body any, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	if k, acct, ok := strings.Cut(key, "@"); ok {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		key, path = k, path+sep+"account="+acct
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// json decodes the answer into a generic map.
func (r response) json(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		tb.Fatalf("answer %d is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

// apiError is the error envelope.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// wantError checks an answer is the error envelope with status, code and field.
func wantError(tb testing.TB, r response, status int, code, field string) apiError {
	tb.Helper()
	var ae apiError
	if err := json.Unmarshal(r.body, &ae); err != nil {
		tb.Fatalf("status %d: not the error envelope: %s", r.status, r.body)
	}
	if r.status != status || ae.Error.Code != code || ae.Error.Field != field {
		tb.Errorf("got %d %q field %q (%s), want %d %q field %q", r.status, ae.Error.Code, ae.Error.Field, ae.Error.Message, status, code, field)
	}
	if ae.Error.Message == "" {
		tb.Errorf("%s: empty message", code)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type %q", ct)
	}
	return ae
}

// send posts a message as account A and fails unless it is accepted.
func (e *env) send(body any, header ...string) map[string]any {
	e.t.Helper()
	r := e.do("POST", "/v1/messages", keySendA, body, header...)
	if r.status != http.StatusAccepted {
		e.t.Fatalf("send: %d %s", r.status, r.body)
	}
	return r.json(e.t)
}

// count is how many messages account has.
func (e *env) count(account string) int {
	e.t.Helper()
	ms, _, err := e.eng.List(engine.ListFilter{AccountID: account, Limit: engine.MaxListLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ms)
}

func orderUpdate(to string, params ...string) map[string]any {
	return map[string]any{"to": to, "template": map[string]any{"name": "order_update", "language": "id", "body": params}}
}
