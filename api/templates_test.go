package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kirim/api"
	"kirim/clock"
	"kirim/engine"
	"kirim/internal/openapicheck"
	"kirim/provider"
	"kirim/provider/sandbox"
	"kirim/provider/sandbox/sandboxtest"
	"kirim/storage"
	"kirim/template"
)

// tplEnv is the API with a template store over a real engine and a sandbox provider
// whose review never runs on its own (its clock does not move): tests apply status
// updates to the store the way the webhook applier does.
type tplEnv struct {
	*env
	store  *template.Store
	client *provider.Client
	calls  *countingProvider
}

// countingProvider passes calls through and counts the submissions.
type countingProvider struct {
	api.TemplateProvider
	creates int
	fail    error // answered to every call when set
}

func (c *countingProvider) CreateTemplate(ctx context.Context, d *provider.TemplateDefinition) (*provider.TemplateCreated, error) {
	c.creates++
	if c.fail != nil {
		return nil, c.fail
	}
	return c.TemplateProvider.CreateTemplate(ctx, d)
}

func (c *countingProvider) DeleteTemplate(ctx context.Context, name, hsmID string) error {
	if c.fail != nil {
		return c.fail
	}
	return c.TemplateProvider.DeleteTemplate(ctx, name, hsmID)
}

func newTplEnv(tb testing.TB) *tplEnv {
	tb.Helper()
	t, _ := tb.(*testing.T)
	e := &env{t: t, clk: clock.NewFake(t0), wake: make(chan struct{}, 1)}
	e.sb = sandbox.New(sandbox.Options{Clock: e.clk, PortfolioLimit: -1, Logger: quietLogger(), AppSecret: "app-secret"})
	client := sandboxtest.Serve(tb, e.sb)
	db, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 8 << 20, NumMemtables: 2,
		BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20, Logger: quietLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	e.eng, err = engine.New(engine.Options{DB: db, Clock: e.clk, Logger: quietLogger(), Biller: biller{}, Workers: 1,
		Numbers: []engine.Number{{Alias: "main", Account: "acct_a", PhoneNumberID: sandbox.DefaultPhoneNumberID, WABAID: sandbox.DefaultWABAID, Sender: client, MPS: 80}}})
	if err != nil {
		tb.Fatal(err)
	}
	store, err := template.OpenStore(db, template.StoreOptions{Now: e.clk.Now, Logger: quietLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	calls := &countingProvider{TemplateProvider: client}
	e.server, err = api.New(api.Options{
		Engine: e.eng, Templates: store, TemplateStore: store, TemplateProviders: map[string]api.TemplateProvider{"main": calls},
		Clock: e.clk, Logger: quietLogger(),
		Accounts: []api.Account{{ID: "acct_a", Currency: "IDR", DefaultRegion: "ID"}},
		Keys: []api.Key{
			{Name: "send-a", Account: "acct_a", Scopes: []string{api.ScopeSend}, SHA256: api.HashKey(keySendA)},
			{Name: "admin-a", Account: "acct_a", Scopes: []string{api.ScopeAdmin}, SHA256: api.HashKey(keyAdminA)},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	e.srv = httptest.NewServer(openapicheck.New(t, api.OpenAPI()).Handler(e.server.Handler()))
	tb.Cleanup(e.srv.Close)
	return &tplEnv{env: e, store: store, client: client, calls: calls}
}

// orderShipped is a valid UTILITY template body for POST /v1/templates.
func orderShipped(name string) map[string]any {
	return map[string]any{"name": name, "language": "id", "category": "UTILITY", "components": []any{
		map[string]any{"type": "HEADER", "format": "TEXT", "text": "Pesanan {{1}}", "example": map[string]any{"header_text": []string{"INV-9"}}},
		map[string]any{"type": "BODY", "text": "Halo {{1}}, pesanan Anda {{2}} sudah kami kirim hari ini.",
			"example": map[string]any{"body_text": [][]string{{"Budi", "INV-9"}}}},
		map[string]any{"type": "FOOTER", "text": "Acme Indonesia"},
		map[string]any{"type": "BUTTONS", "buttons": []any{
			map[string]any{"type": "URL", "text": "Lacak", "url": "https://acme.co.id/lacak/{{1}}", "example": []string{"INV-9"}}}},
	}}
}

func bodyOnly(name, category, text string, samples ...string) map[string]any {
	b := map[string]any{"type": "BODY", "text": text}
	if len(samples) > 0 {
		b["example"] = map[string]any{"body_text": [][]string{samples}}
	}
	return map[string]any{"name": name, "language": "id", "category": category, "components": []any{b}}
}

// sandboxNames lists the templates the provider holds, hello_world aside.
func (e *tplEnv) sandboxNames() []string {
	var out []string
	for _, d := range e.sb.Templates() {
		if d.Name != "hello_world" {
			out = append(out, d.Name+"/"+d.Language)
		}
	}
	return out
}

type violation struct {
	Rule, Severity, Component, Message, Text string
}

func violationsOf(tb testing.TB, raw any) []violation {
	tb.Helper()
	b, _ := json.Marshal(raw)
	var vs []violation
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatalf("violations %s: %v", b, err)
	}
	return vs
}

func TestTemplateLintAndInvalidCreate(t *testing.T) {
	e := newTplEnv(t)
	cases := []struct {
		name string
		body any
		want []violation
	}{
		{"valid", orderShipped("order_shipped"), nil},
		{"variable at the edge and a bad name", func() map[string]any {
			b := bodyOnly("Bad-Name", "UTILITY", "{{1}} pesanan Anda sudah dikirim ya", "Budi")
			return b
		}(), []violation{
			{"name_charset", "error", "name", `name contains "B"; use only lower-case letters a-z, digits and underscores`, "Bad-Name"},
			{"variable_at_edge", "error", "body", `the body starts with {{1}}; put some words before it, e.g. "Halo {{1}},"`, "{{1}}"},
		}},
		{"an offer in a UTILITY template", bodyOnly("promo_note", "UTILITY", "Halo {{1}}, dapatkan diskon untuk pesanan berikutnya.", "Budi"), []violation{
			{"promotional_offer_in_utility", "error", "body", `"diskon" makes an offer, so this is a MARKETING template; submit it as MARKETING or move the offer into a variable`, "diskon"},
		}},
		{"several body errors", bodyOnly("order_gap", "UTILITY", "Halo {{1}},  pesanan {{3}} sudah dikirim.", "Budi"), []violation{
			{"variable_sequence", "error", "body", "variables are numbered from {{1}} with no gaps, but {{2}} is missing; renumber {{3}}", "{{3}}"},
			{"variable_density", "error", "body", "2 variables need at least 7 words plus variables, the body has 6; add 1 words or remove variables", "Halo {{1}},  pesanan {{3}} sudah dikirim."},
			{"variable_example_missing", "error", "body", "{{3}} has no sample value; add one for the review", "{{3}}"},
			{"double_space", "error", "body", "two spaces in a row; use a single space", "Halo {{1}},  pesanan {{3}} sudah "},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.env.t = t
			r := e.do("POST", "/v1/templates/lint", keySendA, tc.body)
			if r.status != http.StatusOK {
				t.Fatalf("lint: %d %s", r.status, r.body)
			}
			m := r.json(t)
			got := violationsOf(t, m["violations"])
			if m["ok"] != (len(tc.want) == 0) {
				t.Fatalf("ok = %v with %v", m["ok"], got)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("violations %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("violation %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			if len(tc.want) == 0 {
				return
			}
			// Creating it is refused with the same violations and nothing is submitted.
			r = e.do("POST", "/v1/templates", keyAdminA, tc.body)
			wantError(t, r, http.StatusUnprocessableEntity, "template_invalid", "")
			var env struct {
				Error struct {
					Violations []violation `json:"violations"`
				} `json:"error"`
			}
			if err := json.Unmarshal(r.body, &env); err != nil || len(env.Error.Violations) != len(tc.want) {
				t.Fatalf("422 violations %s", r.body)
			}
			for i := range tc.want {
				if env.Error.Violations[i] != tc.want[i] {
					t.Fatalf("422 violation %d: %+v", i, env.Error.Violations[i])
				}
			}
		})
	}
	e.env.t = t
	if e.calls.creates != 0 || len(e.sandboxNames()) != 0 {
		t.Fatalf("invalid templates reached the provider: %d calls, %v", e.calls.creates, e.sandboxNames())
	}
	if recs, _, _ := e.store.List(template.ListFilter{}); len(recs) != 0 {
		t.Fatalf("invalid templates stored: %+v", recs)
	}
	// A warning does not block: it comes back with the created template.
	r := e.do("POST", "/v1/templates", keyAdminA, bodyOnly("bonus_note", "UTILITY", "Halo {{1}}, bonus poin untuk pesanan Anda sudah masuk ke akun.", "Budi"))
	if r.status != http.StatusCreated {
		t.Fatalf("create with a warning: %d %s", r.status, r.body)
	}
	if ws := violationsOf(t, r.json(t)["warnings"]); len(ws) != 1 || ws[0].Rule != "promotional_in_utility" || ws[0].Severity != "warning" {
		t.Fatalf("warnings %+v", ws)
	}
	// Malformed bodies are 400s that name the field.
	wantError(t, e.do("POST", "/v1/templates/lint", keySendA, `{"name": "x", "components": [{"type": "BODY"}, {"type": "BODY"}]}`), 400, "invalid_field", "components")
	wantError(t, e.do("POST", "/v1/templates/lint", keySendA, `{"name": "x", "colour": "red"}`), 400, "invalid_json", "colour")
	wantError(t, e.do("POST", "/v1/templates", keySendA, orderShipped("x")), 403, "forbidden", "")
}

func TestTemplateLifecycleAPI(t *testing.T) {
	e := newTplEnv(t)
	r := e.do("POST", "/v1/templates", keyAdminA, orderShipped("order_shipped"), "Idempotency-Key", "create-1")
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	created := r.json(t)
	sb := e.sb.Templates()
	if len(sb) != 2 || sb[1].Name != "order_shipped" || sb[1].Language != "id" || sb[1].Category != "UTILITY" {
		t.Fatalf("the sandbox holds %+v", sb)
	}
	if created["id"] != sb[1].ID || created["status"] != "PENDING" || created["quality"] != "UNKNOWN" ||
		created["param_count"] != float64(4) || created["waba_id"] != sandbox.DefaultWABAID {
		t.Fatalf("created %s", r.body)
	}
	if len(sb[1].Components) != 4 || sb[1].Components[1].Text != "Halo {{1}}, pesanan Anda {{2}} sudah kami kirim hari ini." ||
		sb[1].Components[3].Buttons[0].URL != "https://acme.co.id/lacak/{{1}}" {
		t.Fatalf("submitted components %+v", sb[1].Components)
	}

	// Idempotency-Key: a retry gets the first answer without a second submission; the key
	// with another body is a conflict; without a key the duplicate name is a conflict.
	again := e.do("POST", "/v1/templates", keyAdminA, orderShipped("order_shipped"), "Idempotency-Key", "create-1")
	if again.status != http.StatusCreated || !bytes.Equal(bytes.TrimSpace(again.body), bytes.TrimSpace(r.body)) {
		t.Fatalf("retry: %d %s\nfirst: %s", again.status, again.body, r.body)
	}
	wantError(t, e.do("POST", "/v1/templates", keyAdminA, orderShipped("other_name"), "Idempotency-Key", "create-1"), 409, "idempotency_conflict", "Idempotency-Key")
	wantError(t, e.do("POST", "/v1/templates", keyAdminA, orderShipped("order_shipped")), 409, "template_exists", "name")
	if e.calls.creates != 1 {
		t.Fatalf("%d submissions, want 1", e.calls.creates)
	}

	// Sends follow the status at once.
	send := orderUpdateLike("order_shipped", "Budi", "INV-9")
	r = e.do("POST", "/v1/messages", keySendA, send)
	wantError(t, r, 422, "template_not_approved", "template.name")
	apply := func(event string) {
		t.Helper()
		if _, err := e.store.ApplyStatus(context.Background(), sandbox.DefaultWABAID, provider.TemplateStatusUpdate{Event: event,
			MessageTemplateID: provider.FlexString(sb[1].ID), MessageTemplateName: "order_shipped", MessageTemplateLanguage: "id"}); err != nil {
			t.Fatal(err)
		}
	}
	apply("APPROVED")
	if r = e.do("POST", "/v1/messages", keySendA, send); r.status != http.StatusAccepted {
		t.Fatalf("send of an approved template: %d %s", r.status, r.body)
	}
	apply("PAUSED")
	r = e.do("POST", "/v1/messages", keySendA, send)
	wantError(t, r, 422, "template_not_approved", "template.name")
	if !strings.Contains(string(r.body), `"template_status":"PAUSED"`) {
		t.Fatalf("paused answer %s", r.body)
	}
	apply("REINSTATED")

	// Get and list.
	r = e.do("GET", "/v1/templates/order_shipped?language=id", keySendA, nil)
	if m := r.json(t); r.status != 200 || m["status"] != "APPROVED" || m["category"] != "UTILITY" || m["param_count"] != float64(4) {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/v1/templates/order_shipped", keySendA, nil); r.status != 200 {
		t.Fatalf("get with its only language implied: %d %s", r.status, r.body)
	}
	wantError(t, e.do("GET", "/v1/templates/order_shipped?language=en", keySendA, nil), 404, "not_found", "")
	wantError(t, e.do("GET", "/v1/templates/no_such", keySendA, nil), 404, "not_found", "")

	// Clone: same content under a new name, linted and submitted as new.
	r = e.do("POST", "/v1/templates/order_shipped/clone", keyAdminA, map[string]any{"new_name": "order_shipped_v2"})
	if r.status != http.StatusCreated {
		t.Fatalf("clone: %d %s", r.status, r.body)
	}
	clone := r.json(t)
	if clone["name"] != "order_shipped_v2" || clone["status"] != "PENDING" || clone["id"] == created["id"] || clone["param_count"] != float64(4) {
		t.Fatalf("clone %s", r.body)
	}
	if got := strings.Join(e.sandboxNames(), " "); got != "order_shipped/id order_shipped_v2/id" {
		t.Fatalf("sandbox after clone: %s", got)
	}
	r = e.do("POST", "/v1/templates/order_shipped/clone", keyAdminA, map[string]any{"new_name": "Order Shipped"})
	wantError(t, r, 422, "template_invalid", "")
	wantError(t, e.do("POST", "/v1/templates/order_shipped/clone", keyAdminA, map[string]any{"new_name": "order_shipped_v2"}), 409, "template_exists", "name")
	wantError(t, e.do("POST", "/v1/templates/nope/clone", keyAdminA, map[string]any{"new_name": "x_y"}), 404, "not_found", "")
	// A template named like a static route is still reachable by its own paths.
	if r = e.do("POST", "/v1/templates/order_shipped_v2/clone", keyAdminA, map[string]any{"new_name": "lint"}); r.status != 201 {
		t.Fatalf("clone to 'lint': %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/v1/templates/lint", keySendA, nil); r.status != 200 || r.json(t)["name"] != "lint" {
		t.Fatalf("get 'lint': %d %s", r.status, r.body)
	}
	wantError(t, e.do("POST", "/v1/templates/unknown", keyAdminA, `{}`), 404, "not_found", "")

	r = e.do("GET", "/v1/templates?status=pending&limit=1", keySendA, nil)
	page := r.json(t)
	data, _ := page["data"].([]any)
	if r.status != 200 || len(data) != 1 || data[0].(map[string]any)["name"] != "lint" || page["next_cursor"] == "" {
		t.Fatalf("list page 1: %s", r.body)
	}
	r = e.do("GET", "/v1/templates?status=PENDING&limit=1&cursor="+page["next_cursor"].(string), keySendA, nil)
	page = r.json(t)
	data, _ = page["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["name"] != "order_shipped_v2" || page["next_cursor"] != "" {
		t.Fatalf("list page 2: %s", r.body)
	}
	wantError(t, e.do("GET", "/v1/templates?status=SLEEPING", keySendA, nil), 400, "invalid_field", "status")
	wantError(t, e.do("GET", "/v1/templates?cursor=zzz", keySendA, nil), 400, "invalid_cursor", "cursor")

	// Delete: at the provider, then here.
	r = e.do("DELETE", "/v1/templates/order_shipped?language=id", keyAdminA, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"language":"id","name":"order_shipped"`) {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if got := strings.Join(e.sandboxNames(), " "); got != "order_shipped_v2/id lint/id" {
		t.Fatalf("sandbox after delete: %s", got)
	}
	wantError(t, e.do("GET", "/v1/templates/order_shipped", keySendA, nil), 404, "not_found", "")
	wantError(t, e.do("POST", "/v1/messages", keySendA, send), 422, "template_not_approved", "template.name")
	wantError(t, e.do("DELETE", "/v1/templates/order_shipped", keyAdminA, nil), 404, "not_found", "")
}

// orderUpdateLike is a send of a template with a header, two body values and a URL
// button value, shaped like orderShipped.
func orderUpdateLike(name string, body ...string) map[string]any {
	return map[string]any{"to": "081234567890", "template": map[string]any{"name": name, "language": "id",
		"header": map[string]any{"type": "text", "text": "INV-9"}, "body": body,
		"buttons": []any{map[string]any{"index": 0, "type": "url", "text": "INV-9"}}}}
}

func TestTemplateSync(t *testing.T) {
	e := newTplEnv(t)
	ctx := context.Background()
	// Made elsewhere (Meta's UI, another tool): Kirim does not know it yet.
	d := provider.TemplateDefinition{Name: "made_elsewhere", Language: "en", Category: "MARKETING",
		Components: []provider.TemplateComponentDef{{Type: "BODY", Text: "Hello {{1}}, our new menu is out today.",
			Example: &provider.TemplateExample{BodyText: [][]string{{"Budi"}}}}}}
	if _, err := e.client.CreateTemplate(ctx, &d); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("GET", "/v1/templates/made_elsewhere", keySendA, nil), 404, "not_found", "")
	wantError(t, e.do("POST", "/v1/templates/sync", keySendA, nil), 403, "forbidden", "")
	r := e.do("POST", "/v1/templates/sync", keyAdminA, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"added":2`) {
		t.Fatalf("sync: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/v1/templates/made_elsewhere", keySendA, nil)
	if m := r.json(t); r.status != 200 || m["status"] != "PENDING" || m["category"] != "MARKETING" {
		t.Fatalf("after sync: %d %s", r.status, r.body)
	}
	if r = e.do("GET", "/v1/templates/hello_world?language=en_US", keySendA, nil); r.json(t)["status"] != "APPROVED" {
		t.Fatalf("hello_world: %s", r.body)
	}
	// A second sync with a body naming the number changes nothing.
	r = e.do("POST", "/v1/templates/sync", keyAdminA, map[string]any{"from": "main"})
	if r.status != 200 || !strings.Contains(string(r.body), `"unchanged":2`) {
		t.Fatalf("second sync: %d %s", r.status, r.body)
	}
	wantError(t, e.do("POST", "/v1/templates/sync", keyAdminA, map[string]any{"from": "nope"}), 400, "invalid_field", "from")
}

func TestTemplateProviderRefusal(t *testing.T) {
	e := newTplEnv(t)
	e.calls.fail = &provider.Error{Code: 100, Title: "Invalid parameter", Details: "something is off", Enveloped: true}
	r := e.do("POST", "/v1/templates", keyAdminA, orderShipped("order_shipped"))
	wantError(t, r, http.StatusBadGateway, "provider_error", "")
	if _, ok := e.store.Get(sandbox.DefaultWABAID, "order_shipped", "id"); ok {
		t.Fatal("a refused submission stayed stored")
	}
	e.calls.fail = &provider.Error{Code: 100, Title: "Invalid parameter", Details: "Message template already exists", Enveloped: true}
	wantError(t, e.do("POST", "/v1/templates", keyAdminA, orderShipped("order_shipped")), 409, "template_exists", "name")
	e.calls.fail = &provider.TransportError{Op: "create template", Err: errors.New("connection refused"), NotSent: true}
	wantError(t, e.do("POST", "/v1/templates", keyAdminA, orderShipped("order_shipped")), http.StatusBadGateway, "provider_unavailable", "")
	// After the provider recovers, the same template goes through.
	e.calls.fail = nil
	if r = e.do("POST", "/v1/templates", keyAdminA, orderShipped("order_shipped")); r.status != http.StatusCreated {
		t.Fatalf("after recovery: %d %s", r.status, r.body)
	}
	// A delete the provider refuses keeps the template here.
	e.calls.fail = &provider.Error{Code: 200, Title: "Permission denied", Enveloped: true}
	wantError(t, e.do("DELETE", "/v1/templates/order_shipped", keyAdminA, nil), http.StatusBadGateway, "provider_error", "")
	if _, ok := e.store.Get(sandbox.DefaultWABAID, "order_shipped", "id"); !ok {
		t.Fatal("deleted here although the provider refused")
	}
}

// BenchmarkLintEndpoint: POST /v1/templates/lint with a 1,024-character body, through
// the real router, authentication and handler.
func BenchmarkLintEndpoint(b *testing.B) {
	e := newTplEnv(b)
	text := "Halo {{1}}, terima kasih sudah berbelanja di Acme Indonesia. Pesanan {{2}} sebesar {{3}} sudah kami terima dan sedang disiapkan oleh tim gudang kami di Jakarta.\n" +
		"Kami akan mengirim pesanan melalui kurir {{4}} dalam waktu satu sampai dua hari kerja. Anda dapat memantau status pengiriman kapan saja di https://acme.co.id/lacak atau melalui aplikasi Acme.\n" +
		"Jika ada pertanyaan tentang pesanan, pembayaran, atau pengembalian barang, silakan hubungi layanan pelanggan kami setiap hari pukul 08.00 sampai 21.00 WIB."
	for len([]rune(text)) < template.MaxBodyLen-1 {
		text += " Salam."
	}
	text = string([]rune(text)[:template.MaxBodyLen-1]) + "."
	if n := len([]rune(text)); n != 1024 {
		b.Fatalf("body text is %d characters", n)
	}
	body, err := json.Marshal(bodyOnly("order_received", "UTILITY", text, "Budi", "INV-9", "Rp 150.000", "JNE"))
	if err != nil {
		b.Fatal(err)
	}
	h := e.server.Handler()
	check := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1/templates/lint", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+keySendA)
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(check, req)
	if check.Code != 200 || !strings.Contains(check.Body.String(), `"ok":true`) {
		b.Fatalf("lint: %d %s", check.Code, check.Body)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/v1/templates/lint", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+keySendA)
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
