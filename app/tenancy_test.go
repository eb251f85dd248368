package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"kirim/app"
	"kirim/app/apptest"
	"kirim/config"
	"kirim/internal/kirimtest"
)

// Keys of the two-tenant instance: account A (acme) and B (beta), and the operator.
const (
	tenSendA      = "tenancy_send_a_0123456789"
	tenCampaignsA = "tenancy_campaigns_a_0123456789"
	tenAdminA     = "tenancy_admin_a_0123456789"
	tenAdminB     = "tenancy_admin_b_0123456789"
	tenSendB      = "tenancy_send_b_0123456789"
	tenOperator   = "tenancy_operator_0123456789"
)

// twoTenants runs Kirim with two accounts, each with its own number and WABA, and an
// operator. The API client holds A's admin key.
func twoTenants(t *testing.T) (*app.Main, *kirimtest.API) { return twoTenantsWith(t, "") }

// twoTenantsWith is twoTenants with extra TOML appended to the configuration.
func twoTenantsWith(t *testing.T, extra string) (*app.Main, *kirimtest.API) {
	t.Helper()
	src := fmt.Sprintf(`
[server]
listen = "127.0.0.1:0"
data_dir = %q
[provider]
kind = "sandbox"
portfolio_limit = -1
[sandbox]
listen = "127.0.0.1:0"
review_delay = "10ms"
status_delay = "10ms"
read_rate = 0
[webhook]
app_secret = "tenancy-secret"
verify_token = "tenancy-verify"
[[numbers]]
alias = "main"
phone_number_id = "100000000000001"
waba_id = "200000000000001"
account = "acme"
pair_gap = "0s"
[[numbers]]
alias = "beta-main"
phone_number_id = "100000000000002"
waba_id = "200000000000002"
account = "beta"
pair_gap = "0s"
[[accounts]]
id = "acme"
opening_balance = 1_000_000
  [[accounts.keys]]
  name = "send-a"
  key = %q
  scopes = ["send"]
  [[accounts.keys]]
  name = "campaigns-a"
  key = %q
  scopes = ["campaigns"]
  [[accounts.keys]]
  name = "admin-a"
  key = %q
  scopes = ["admin"]
[[accounts]]
id = "beta"
opening_balance = 1_000_000
  [[accounts.keys]]
  name = "admin-b"
  key = %q
  scopes = ["admin"]
  [[accounts.keys]]
  name = "send-b"
  key = %q
  scopes = ["send"]
[[operators]]
name = "ops"
key = %q
[[rate_cards]]
effective = 2025-01-01
currency = "IDR"
  [[rate_cards.prices]]
  market = "*"
  category = "utility"
  up_to = [250_000]
  amounts = [514, 510]
`, t.TempDir(), tenSendA, tenCampaignsA, tenAdminA, tenAdminB, tenSendB, tenOperator) + extra
	cfg, err := config.Parse("tenancy.toml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	return apptest.Start(t, cfg, tenAdminA)
}

// acmeData is what account A owns when the table runs.
type acmeData struct {
	message, list, spareList, imp, campaign, topUp, spareTopUp, key string
	endpoint, spareEndpoint, delivery                               string
	user, spareUser                                                 string
}

func seedAcme(t *testing.T, m *app.Main, a *kirimtest.API) acmeData {
	t.Helper()
	var d acmeData
	var sent struct {
		ID string `json:"id"`
	}
	a.Must(http.StatusAccepted, "POST", "/v1/messages", helloTo("+6281200000001"), &sent)
	d.message = sent.ID
	d.list, d.imp = upload(t, m, a, "pelanggan", "phone,name\n+6281200000001,Budi\n+6281200000002,Sari\n")
	d.spareList, _ = upload(t, m, a, "spare", "phone\n+6281200000003\n")
	var c struct {
		ID string `json:"id"`
	}
	a.Must(http.StatusCreated, "POST", "/v1/campaigns", map[string]any{"name": "Promo", "list_ids": []string{d.list},
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &c)
	a.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/cancel", nil, nil)
	d.campaign = c.ID
	var tu struct {
		ID string `json:"id"`
	}
	a.Must(http.StatusCreated, "POST", "/v1/topups", map[string]any{"amount_micros": 50_000_000_000, "reference": "BCA-A-1"}, &tu)
	d.topUp = tu.ID
	a.Must(http.StatusCreated, "POST", "/v1/topups", map[string]any{"amount_micros": 70_000_000_000, "reference": "BCA-A-2"}, &tu)
	d.spareTopUp = tu.ID
	var k struct {
		ID string `json:"id"`
	}
	a.Must(http.StatusCreated, "POST", "/v1/keys", map[string]any{"name": "erp", "scopes": []string{"send"}}, &k)
	d.key = k.ID
	// An endpoint that refuses everything, so its test event leaves a delivery to replay.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	t.Cleanup(refuse.Close)
	var ep struct{ ID string }
	a.Must(http.StatusCreated, "POST", "/v1/callbacks/endpoints", map[string]any{"url": refuse.URL, "events": []string{"topup.*"}}, &ep)
	d.endpoint = ep.ID
	a.Must(http.StatusCreated, "POST", "/v1/callbacks/endpoints", map[string]any{"url": refuse.URL, "events": []string{"*"}}, &ep)
	d.spareEndpoint = ep.ID
	for _, login := range []string{"rina", "spare"} {
		var u struct {
			ID string `json:"id"`
		}
		a.Must(http.StatusCreated, "POST", "/v1/users", map[string]any{"login": login, "role": "marketer", "password": "0123456789"}, &u)
		d.user, d.spareUser = d.spareUser, u.ID
	}
	var dl struct{ ID string }
	a.Must(http.StatusOK, "POST", "/v1/callbacks/endpoints/"+d.endpoint+"/test", nil, &dl)
	d.delivery = dl.ID
	return d
}

func helloTo(phone string) map[string]any {
	return map[string]any{"to": phone, "template": map[string]string{"name": "hello_world", "language": "en_US"}}
}

// upload imports csv as a list of a's account and waits for the import; it returns the
// list's and the import's ids.
func upload(t *testing.T, m *app.Main, a *kirimtest.API, name, csv string) (string, string) {
	t.Helper()
	body, ctype := multipartCSV(name, csv)
	req, _ := http.NewRequest(http.MethodPost, "http://"+m.APIAddr+"/v1/lists", body)
	req.Header.Set("Authorization", "Bearer "+a.Key)
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var started struct {
		ImportID string `json:"import_id"`
		ListID   string `json:"list_id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %d %v", resp.StatusCode, err)
	}
	kirimtest.WaitFor(t, "the import", 30*time.Second, func() bool {
		var im struct {
			Status string `json:"status"`
		}
		a.Must(http.StatusOK, "GET", "/v1/imports/"+started.ImportID, nil, &im)
		return im.Status == "done"
	})
	return started.ListID, started.ImportID
}

// The kinds of caller of the table, in the order each row is tried: the refused ones
// first, so an allowed call that changes a record comes after every refusal of it.
var callers = []struct{ name, key, account string }{
	{"none", "", ""},
	{"send-a", tenSendA, ""},
	{"admin-b", tenAdminB, ""},
	{"campaigns-a", tenCampaignsA, ""},
	{"admin-a", tenAdminA, ""},
	{"operator", tenOperator, "acme"},
}

// TestEveryRouteByEveryKey tries each route of the router with each kind of key, as a
// hostile tenant would: account B's admin key on account A's records, A's narrower
// keys on A's admin routes, no key at all; and the operator. A route without a row
// fails the test.
func TestEveryRouteByEveryKey(t *testing.T) {
	m, a := twoTenants(t)
	d := seedAcme(t, m, a)
	customerWrites(t, m, map[string]any{"from": "+6281200000001", "phone_number_id": "100000000000001", "type": "image",
		"media": map[string]string{"mime_type": "image/png", "text": "PNG"}})
	var conv convPage
	kirimtest.WaitFor(t, "the inbound image", 30*time.Second, func() bool {
		a.Must(http.StatusOK, "GET", "/v1/contacts/+6281200000001/messages", nil, &conv)
		return len(conv.Data) > 0 && conv.Data[0].Media != nil
	})
	mediaPath := conv.Data[0].Media.URL
	const (
		U  = 401
		F  = 403
		NF = 404
	)
	type want = []int // by callers' order: none, send-a, admin-b, campaigns-a, admin-a, operator
	rows := []struct {
		method, route, path string
		body                any
		want                want
	}{
		{"POST", "/v1/messages", "/v1/messages", map[string]any{"to": "+6281200000009", "from": "main", "template": map[string]string{"name": "hello_world", "language": "en_US"}},
			want{U, 202, F, F, 202, 202}},
		{"GET", "/v1/messages", "/v1/messages", nil, want{U, 200, 200, F, 200, 200}},
		{"GET", "/v1/messages/:id", "/v1/messages/" + d.message, nil, want{U, 200, NF, F, 200, 200}},
		{"POST", "/v1/messages/:id/cancel", "/v1/messages/" + d.message + "/cancel", nil, want{U, 409, NF, F, 409, 409}},
		// The seeded message is sent, not unknown: a key that may touch it is told so.
		{"POST", "/v1/messages/:id/resolve", "/v1/messages/" + d.message + "/resolve", map[string]any{"action": "fail"}, want{U, 409, NF, F, 409, 409}},
		{"GET", "/v1/numbers", "/v1/numbers", nil, want{U, 200, 200, F, 200, 200}},
		// Not paused: a key that may act on the number is told so.
		{"POST", "/v1/numbers/:alias/resume-marketing", "/v1/numbers/main/resume-marketing", nil, want{U, F, NF, F, 409, 409}},
		{"GET", "/v1/contacts/:phone", "/v1/contacts/+6281200000001", nil, want{U, 200, 200, F, 200, 200}},
		{"POST", "/v1/contacts/:phone/opt-out", "/v1/contacts/+6281200000005/opt-out", nil, want{U, 200, 200, F, 200, 200}},
		{"POST", "/v1/contacts/:phone/opt-in", "/v1/contacts/+6281200000005/opt-in", nil, want{U, 200, 200, F, 200, 200}},
		{"GET", "/v1/contacts/:phone/messages", "/v1/contacts/+6281200000001/messages", nil, want{U, 200, 200, F, 200, 200}},
		{"GET", "/v1/media/:id", mediaPath, nil, want{U, 200, NF, F, 200, 200}},
		{"GET", "/v1/webhooks/dead", "/v1/webhooks/dead", nil, want{U, F, F, F, F, 200}},
		{"POST", "/v1/webhooks/dead/:id/replay", "/v1/webhooks/dead/whk_01M00000000000000000000000.0/replay", nil, want{U, F, F, F, F, NF}},
		{"POST", "/v1/templates", "/v1/templates", map[string]any{"from": "main", "name": "promo_a", "language": "id", "category": "MARKETING"},
			want{U, F, F, F, 422, 422}},
		{"GET", "/v1/templates", "/v1/templates?from=main", nil, want{U, 200, F, F, 200, 200}},
		{"POST", "/v1/templates/lint", "/v1/templates/lint", map[string]any{"name": "x"}, want{U, 200, 200, F, 200, 200}},
		{"POST", "/v1/templates/sync", "/v1/templates/sync", map[string]any{"from": "main"}, want{U, F, F, F, 200, 200}},
		{"GET", "/v1/templates/:name", "/v1/templates/hello_world?from=main&language=en_US", nil, want{U, 200, F, F, 200, 200}},
		{"DELETE", "/v1/templates/:name", "/v1/templates/nope?from=main", nil, want{U, F, F, F, NF, NF}},
		{"POST", "/v1/templates/:name/clone", "/v1/templates/nope/clone", map[string]any{"new_name": "nope_copy", "language": "id", "from": "main"},
			want{U, F, F, F, NF, NF}},
		{"GET", "/v1/balance", "/v1/balance", nil, want{U, 200, 200, F, 200, 200}},
		{"GET", "/v1/statement", "/v1/statement", nil, want{U, 200, 200, F, 200, 200}},
		{"GET", "/v1/rates", "/v1/rates", nil, want{U, 200, 200, F, 200, 200}},
		{"GET", "/v1/topups", "/v1/topups", nil, want{U, F, 200, F, 200, 200}},
		{"POST", "/v1/topups", "/v1/topups", map[string]any{}, want{U, F, 400, F, 400, 400}},
		{"POST", "/v1/topups/:id/confirm", "/v1/topups/" + d.topUp + "/confirm", nil, want{U, F, F, F, F, 200}},
		{"POST", "/v1/topups/:id/reject", "/v1/topups/" + d.spareTopUp + "/reject", map[string]any{"reason": "no transfer"}, want{U, F, F, F, F, 200}},
		{"POST", "/v1/adjustments", "/v1/adjustments", map[string]any{}, want{U, F, F, F, F, 400}},
		{"GET", "/v1/admin/ledger/verify", "/v1/admin/ledger/verify", nil, want{U, F, F, F, F, 200}},
		{"POST", "/v1/lists", "/v1/lists", map[string]any{}, want{U, F, 415, 415, 415, 415}},
		{"GET", "/v1/lists", "/v1/lists", nil, want{U, 200, 200, 200, 200, 200}},
		{"GET", "/v1/lists/:id", "/v1/lists/" + d.list, nil, want{U, 200, NF, 200, 200, 200}},
		{"GET", "/v1/lists/:id/contacts", "/v1/lists/" + d.list + "/contacts", nil, want{U, 200, NF, 200, 200, 200}},
		{"DELETE", "/v1/lists/:id", "/v1/lists/" + d.spareList, nil, want{U, F, NF, 200, NF, NF}},
		{"GET", "/v1/imports/:id", "/v1/imports/" + d.imp, nil, want{U, 200, NF, 200, 200, 200}},
		{"POST", "/v1/campaigns", "/v1/campaigns", map[string]any{}, want{U, F, 400, 400, 400, 400}},
		{"GET", "/v1/campaigns", "/v1/campaigns", nil, want{U, F, 200, 200, 200, 200}},
		{"GET", "/v1/campaigns/:id", "/v1/campaigns/" + d.campaign, nil, want{U, F, NF, 200, 200, 200}},
		{"GET", "/v1/campaigns/:id/runs", "/v1/campaigns/" + d.campaign + "/runs", nil, want{U, F, NF, 200, 200, 200}},
		{"GET", "/v1/campaigns/:id/recipients", "/v1/campaigns/" + d.campaign + "/recipients", nil, want{U, F, NF, 200, 200, 200}},
		{"POST", "/v1/campaigns/:id/quote", "/v1/campaigns/" + d.campaign + "/quote", nil, want{U, F, NF, 200, 200, 200}},
		{"POST", "/v1/campaigns/:id/launch", "/v1/campaigns/" + d.campaign + "/launch", nil, want{U, F, NF, 409, 409, 409}},
		{"POST", "/v1/campaigns/:id/pause", "/v1/campaigns/" + d.campaign + "/pause", nil, want{U, F, NF, 409, 409, 409}},
		{"POST", "/v1/campaigns/:id/resume", "/v1/campaigns/" + d.campaign + "/resume", nil, want{U, F, NF, 409, 409, 409}},
		{"POST", "/v1/campaigns/:id/cancel", "/v1/campaigns/" + d.campaign + "/cancel", nil, want{U, F, NF, 409, 409, 409}},
		{"POST", "/v1/campaigns/:id/retry", "/v1/campaigns/" + d.campaign + "/retry", nil, want{U, F, NF, 409, 409, 409}},
		{"POST", "/v1/accounts", "/v1/accounts", map[string]any{}, want{U, F, F, F, F, 400}},
		{"GET", "/v1/accounts", "/v1/accounts", nil, want{U, F, F, F, F, 200}},
		{"POST", "/v1/keys", "/v1/keys", map[string]any{}, want{U, F, 400, F, 400, 400}},
		{"GET", "/v1/keys", "/v1/keys", nil, want{U, F, 200, F, 200, 200}},
		{"DELETE", "/v1/keys/:id", "/v1/keys/" + d.key, nil, want{U, F, NF, F, 200, 200}},
		{"GET", "/v1/audit", "/v1/audit", nil, want{U, F, 200, F, 200, 200}},
		{"GET", "/v1/export", "/v1/export", nil, want{U, F, 200, F, 200, 200}},
		{"POST", "/v1/callbacks/endpoints", "/v1/callbacks/endpoints", map[string]any{}, want{U, F, 400, F, 400, 400}},
		{"GET", "/v1/callbacks/endpoints", "/v1/callbacks/endpoints", nil, want{U, F, 200, F, 200, 200}},
		{"GET", "/v1/callbacks/endpoints/:id", "/v1/callbacks/endpoints/" + d.endpoint, nil, want{U, F, NF, F, 200, 200}},
		{"PATCH", "/v1/callbacks/endpoints/:id", "/v1/callbacks/endpoints/" + d.endpoint, map[string]any{"description": "erp"}, want{U, F, NF, F, 200, 200}},
		{"DELETE", "/v1/callbacks/endpoints/:id", "/v1/callbacks/endpoints/" + d.spareEndpoint, nil, want{U, F, NF, F, 200, NF}},
		{"POST", "/v1/callbacks/endpoints/:id/rotate-secret", "/v1/callbacks/endpoints/" + d.endpoint + "/rotate-secret", nil, want{U, F, NF, F, 200, 200}},
		{"POST", "/v1/callbacks/endpoints/:id/test", "/v1/callbacks/endpoints/" + d.endpoint + "/test", nil, want{U, F, NF, F, 200, 200}},
		{"POST", "/v1/callbacks/endpoints/:id/replay", "/v1/callbacks/endpoints/" + d.endpoint + "/replay?since=2020-01-01T00:00:00Z", nil, want{U, F, NF, F, 202, 202}},
		{"GET", "/v1/callbacks/deliveries", "/v1/callbacks/deliveries", nil, want{U, F, 200, F, 200, 200}},
		{"POST", "/v1/callbacks/deliveries/:id/replay", "/v1/callbacks/deliveries/" + d.delivery + "/replay", nil, want{U, F, NF, F, 202, 409}},
		{"POST", "/v1/users", "/v1/users", map[string]any{}, want{U, F, 400, F, 400, 400}},
		{"GET", "/v1/users", "/v1/users", nil, want{U, F, 200, F, 200, 200}},
		{"PATCH", "/v1/users/:id", "/v1/users/" + d.user, map[string]any{"lang": "id"}, want{U, F, NF, F, 200, 200}},
		{"POST", "/v1/users/:id/sign-out", "/v1/users/" + d.user + "/sign-out", nil, want{U, F, NF, F, 200, 200}},
		{"DELETE", "/v1/users/:id", "/v1/users/" + d.spareUser, nil, want{U, F, NF, F, 200, NF}},
		{"GET", "/v1/admin/storage", "/v1/admin/storage", nil, want{U, F, F, F, F, 200}},
		{"GET", "/v1/admin/backup", "/v1/admin/backup", nil, want{U, F, F, F, F, 200}},
		{"GET", "/healthz", "/healthz", nil, want{200, 200, 200, 200, 200, 200}},
		{"GET", "/readyz", "/readyz", nil, want{200, 200, 200, 200, 200, 200}},
		{"GET", "/v1/openapi.json", "/v1/openapi.json", nil, want{200, 200, 200, 200, 200, 200}},
		{"GET", "/webhook", "/webhook?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", nil, want{F, F, F, F, F, F}},
		{"POST", "/webhook", "/webhook", map[string]any{}, want{U, U, U, U, U, U}},
		{"GET", "/metrics", "/metrics", nil, want{200, 200, 200, 200, 200, 200}},
	}
	covered := map[string]bool{}
	for _, row := range rows {
		covered[row.method+" "+row.route] = true
	}
	for _, rt := range m.API.Routes() {
		if !covered[rt.Method+" "+rt.Path] {
			t.Errorf("route %s %s has no row in the table", rt.Method, rt.Path)
		}
	}
	instance := map[string]bool{}
	for _, rt := range m.API.Routes() {
		instance[rt.Method+" "+rt.Path] = rt.Instance
	}
	for _, row := range rows {
		if len(row.want) != len(callers) {
			t.Fatalf("%s %s: %d expectations for %d callers", row.method, row.route, len(row.want), len(callers))
		}
		for i, c := range callers {
			acct := c.account
			if instance[row.method+" "+row.route] {
				acct = ""
			}
			status, body := a.As(c.key, acct).Call(row.method, row.path, row.body)
			if status != row.want[i] {
				t.Errorf("%s %s by %s: %d, want %d: %.200s", row.method, row.route, c.name, status, row.want[i], body)
			}
		}
	}
}

// TestTenantsCannotTouchEachOther is the hostile tenant's attempt on money, data and
// numbers, and what the operator and the audit log see of it.
func TestTenantsCannotTouchEachOther(t *testing.T) {
	m, a := twoTenants(t)
	d := seedAcme(t, m, a)
	b := a.As(tenAdminB, "")
	op := a.As(tenOperator, "beta")

	// B's admin asks for a top-up and cannot confirm it, nor make money by adjustment.
	var tu struct {
		ID, Status string
	}
	b.Must(http.StatusCreated, "POST", "/v1/topups", map[string]any{"amount_micros": 9_000_000_000, "reference": "B-1", "note": "transfer"}, &tu)
	for _, try := range []struct{ method, path string }{
		{"POST", "/v1/topups/" + tu.ID + "/confirm"}, {"POST", "/v1/adjustments"},
	} {
		if status, body := b.Call(try.method, try.path, map[string]any{"amount_micros": 5_000_000, "reason": "gift"}); status != http.StatusForbidden {
			t.Fatalf("B's admin %s %s: %d %s", try.method, try.path, status, body)
		}
	}
	var before, after struct {
		Balance struct {
			AmountMicros int64 `json:"amount_micros"`
		} `json:"balance"`
	}
	b.Must(http.StatusOK, "GET", "/v1/balance", nil, &before)
	op.Must(http.StatusOK, "POST", "/v1/topups/"+tu.ID+"/confirm", nil, &tu)
	b.Must(http.StatusOK, "GET", "/v1/balance", nil, &after)
	if tu.Status != "confirmed" || after.Balance.AmountMicros-before.Balance.AmountMicros != 9_000_000_000 {
		t.Fatalf("the operator's confirmation: %+v, balance %d -> %d", tu, before.Balance.AmountMicros, after.Balance.AmountMicros)
	}
	// The top-up is B's; the operator acting on A does not find it.
	if status, _ := a.As(tenOperator, "acme").Call("POST", "/v1/topups/"+tu.ID+"/reject", map[string]any{"reason": "x"}); status != http.StatusNotFound {
		t.Fatalf("B's top-up under account A: %d", status)
	}

	// The audit log names who confirmed, and who tried.
	var audit struct {
		Data []struct {
			Key, Account, Action, Target, Result string
			Operator                             bool
			Status                               int
		} `json:"data"`
	}
	a.As(tenOperator, "").Must(http.StatusOK, "GET", "/v1/audit?action=topup.*", nil, &audit)
	var lines []string
	for _, r := range audit.Data {
		lines = append(lines, fmt.Sprintf("%s %s %s %s %d", r.Key, r.Account, r.Action, r.Result, r.Status))
	}
	for _, want := range []string{"admin-b beta topup.create ok 201", "admin-b beta topup.confirm forbidden 403", "ops beta topup.confirm ok 200"} {
		if !slices.Contains(lines, want) {
			t.Errorf("audit lacks %q: %q", want, lines)
		}
	}
	// B's admin sees B's records only; A's admin A's.
	b.Must(http.StatusOK, "GET", "/v1/audit", nil, &audit)
	for _, r := range audit.Data {
		if r.Account != "beta" {
			t.Errorf("B's admin reads an audit record of %q: %+v", r.Account, r)
		}
	}

	// B's admin reads nothing of A's and takes no backup.
	for _, path := range []string{"/v1/messages/" + d.message, "/v1/lists/" + d.list, "/v1/lists/" + d.list + "/contacts",
		"/v1/campaigns/" + d.campaign, "/v1/imports/" + d.imp} {
		if status, _ := b.Call("GET", path, nil); status != http.StatusNotFound {
			t.Errorf("B's admin GET %s: %d, want 404", path, status)
		}
	}
	for _, path := range []string{"/v1/admin/backup", "/v1/admin/storage", "/v1/admin/ledger/verify", "/v1/statement?account=acme", "/v1/messages?account=acme"} {
		if status, _ := b.Call("GET", path, nil); status != http.StatusForbidden && status != http.StatusNotFound {
			t.Errorf("B's admin GET %s: %d, want 403 or 404", path, status)
		}
	}
	var msgs struct {
		Data []struct{ ID string } `json:"data"`
	}
	b.Must(http.StatusOK, "GET", "/v1/messages", nil, &msgs)
	if len(msgs.Data) != 0 {
		t.Errorf("B lists A's messages: %+v", msgs.Data)
	}
	var tmpls struct {
		Data []struct {
			WABAID string `json:"waba_id"`
		} `json:"data"`
	}
	b.Must(http.StatusOK, "GET", "/v1/templates", nil, &tmpls)
	for _, tp := range tmpls.Data {
		if tp.WABAID != "200000000000002" {
			t.Errorf("B lists a template of WABA %s", tp.WABAID)
		}
	}
	var nums struct {
		Data []struct{ Alias string } `json:"data"`
	}
	b.Must(http.StatusOK, "GET", "/v1/numbers", nil, &nums)
	if len(nums.Data) != 1 || nums.Data[0].Alias != "beta-main" {
		t.Errorf("B's numbers: %+v", nums.Data)
	}

	// B cannot send from A's number, nor run a campaign of A's list or from A's number.
	send := helloTo("+6281200000001")
	send["from"] = "main"
	if status, body := a.As(tenSendB, "").Call("POST", "/v1/messages", send); status != http.StatusForbidden {
		t.Fatalf("B sends from A's number: %d %s", status, body)
	}
	for _, try := range []struct {
		body  map[string]any
		want  int
		field string
	}{
		// A's list answers as a list that does not exist: its existence does not leak.
		{map[string]any{"name": "Steal", "list_ids": []string{d.list}, "template": map[string]string{"name": "hello_world", "language": "en_US"}}, 400, "list_ids[0]"},
		{map[string]any{"name": "Steal", "from": "main", "list_ids": []string{d.list}, "template": map[string]string{"name": "hello_world", "language": "en_US"}}, 403, "from"},
	} {
		status, resp := b.Call("POST", "/v1/campaigns", try.body)
		var e struct {
			Error struct{ Field string } `json:"error"`
		}
		_ = json.Unmarshal(resp, &e)
		if status != try.want || e.Error.Field != try.field {
			t.Fatalf("B's campaign %v: %d %s, want %d on %s", try.body, status, resp, try.want, try.field)
		}
	}

	// B opting a phone out leaves A's contact with that phone as it was.
	phone := "+6281200000002"
	b.Must(http.StatusOK, "POST", "/v1/contacts/"+phone+"/opt-out", nil, nil)
	var ca, cb struct {
		OptedOut bool `json:"opted_out"`
	}
	a.Must(http.StatusOK, "GET", "/v1/contacts/"+phone, nil, &ca)
	b.Must(http.StatusOK, "GET", "/v1/contacts/"+phone, nil, &cb)
	if ca.OptedOut || !cb.OptedOut {
		t.Fatalf("after B's opt-out: A's contact opted out %v, B's %v", ca.OptedOut, cb.OptedOut)
	}
	if status, _ := a.As(tenSendB, "").Call("POST", "/v1/contacts/"+phone+"/opt-out?account=acme", nil); status != http.StatusNotFound {
		t.Fatalf("B's key naming account A: %d", status)
	}

	// A key made by A's admin sends for A only, and is refused the moment it is revoked.
	var k struct {
		ID, Key string
		Scopes  []string
	}
	a.Must(http.StatusCreated, "POST", "/v1/keys", map[string]any{"name": "shop", "scopes": []string{"send"}}, &k)
	if !strings.HasPrefix(k.Key, "kirim_") || !slices.Equal(k.Scopes, []string{"send"}) {
		t.Fatalf("new key %+v", k)
	}
	shop := a.As(k.Key, "")
	var sent struct {
		ID string `json:"id"`
	}
	shop.Must(http.StatusAccepted, "POST", "/v1/messages", helloTo("+6281200000007"), &sent)
	a.Must(http.StatusOK, "GET", "/v1/messages/"+sent.ID, nil, nil)
	if status, _ := b.Call("GET", "/v1/messages/"+sent.ID, nil); status != http.StatusNotFound {
		t.Fatalf("B reads the new key's message: %d", status)
	}
	for _, try := range []struct{ method, path string }{{"POST", "/v1/topups"}, {"GET", "/v1/keys"}} {
		if status, _ := shop.Call(try.method, try.path, map[string]any{}); status != http.StatusForbidden {
			t.Fatalf("a send key %s %s: %d", try.method, try.path, status)
		}
	}
	var keys struct {
		Data []map[string]any `json:"data"`
	}
	a.Must(http.StatusOK, "GET", "/v1/keys", nil, &keys)
	raw, _ := json.Marshal(keys)
	if strings.Contains(string(raw), k.Key) || strings.Contains(string(raw), tenAdminA) || strings.Contains(string(raw), "admin-b") {
		t.Fatalf("the key list shows a key or another account's: %s", raw)
	}
	if status, _ := b.Call("DELETE", "/v1/keys/"+k.ID, nil); status != http.StatusNotFound {
		t.Fatalf("B revokes A's key: %d", status)
	}
	a.Must(http.StatusOK, "DELETE", "/v1/keys/"+k.ID, nil, nil)
	if status, _ := shop.Call("GET", "/v1/messages/"+sent.ID, nil); status != http.StatusUnauthorized {
		t.Fatalf("a revoked key: %d, want 401", status)
	}
	// An admin key cannot make a key wider than its own.
	narrow := a.As(tenCampaignsA, "")
	if status, _ := narrow.Call("POST", "/v1/keys", map[string]any{"name": "x", "scopes": []string{"send"}}); status != http.StatusForbidden {
		t.Fatalf("a campaigns key makes a key: %d", status)
	}

	// The export holds A's own records only, as JSON lines.
	req, _ := http.NewRequest(http.MethodGet, a.Base+"/v1/export", nil)
	req.Header.Set("Authorization", "Bearer "+tenAdminA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	kinds := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var all bytes.Buffer
	for sc.Scan() {
		var line struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		kinds[line.Type]++
		all.Write(sc.Bytes())
	}
	if kinds["account"] != 1 || kinds["list"] < 1 || kinds["contact"] < 2 || kinds["message"] < 2 || kinds["statement_entry"] < 1 {
		t.Fatalf("export kinds %v", kinds)
	}
	if strings.Contains(all.String(), `"beta"`) || strings.Contains(all.String(), "B-1") {
		t.Fatalf("A's export holds B's data")
	}

	// An operator names the account it acts on, and may create one.
	if status, _ := a.As(tenOperator, "").Call("GET", "/v1/messages", nil); status != http.StatusBadRequest {
		t.Fatalf("operator without an account: %d", status)
	}
	if status, _ := a.As(tenOperator, "nobody").Call("GET", "/v1/messages", nil); status != http.StatusNotFound {
		t.Fatalf("operator naming no account: %d", status)
	}
	ops := a.As(tenOperator, "")
	ops.Must(http.StatusCreated, "POST", "/v1/accounts", map[string]any{"id": "gamma", "name": "Gamma", "currency": "IDR"}, nil)
	if status, _ := ops.Call("POST", "/v1/accounts", map[string]any{"id": "acme"}); status != http.StatusConflict {
		t.Fatalf("an account that exists: %d", status)
	}
	var g struct{ Key string }
	a.As(tenOperator, "gamma").Must(http.StatusCreated, "POST", "/v1/keys", map[string]any{"name": "gamma-admin", "scopes": []string{"admin"}}, &g)
	gamma := a.As(g.Key, "")
	gamma.Must(http.StatusOK, "GET", "/v1/balance", nil, nil)
	if status, _ := gamma.Call("POST", "/v1/messages", helloTo("+6281200000001")); status != http.StatusUnprocessableEntity {
		t.Fatalf("an account without a number sends: %d", status)
	}
}

// multipartCSV is an upload form of one CSV file.
func multipartCSV(name, csv string) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("name", name)
	part, _ := mw.CreateFormFile("file", name+".csv")
	_, _ = io.WriteString(part, csv)
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}
