package api_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"

	"kirim/api"
	"kirim/campaign"
	"kirim/campaign/lists"
	"kirim/clock"
	"kirim/internal/openapicheck"
	"kirim/storage"
)

// hostile is one request a hostile or careless client sends, and the refusal it must
// get.
type hostile struct {
	name         string
	method, path string
	key          string
	body         any
	header       []string
	status       int
	code, field  string
	msg          string // part of the message
}

func (h hostile) check(t *testing.T, do func(method, path, key string, body any, header ...string) response) {
	t.Helper()
	ae := wantError(t, do(h.method, h.path, h.key, h.body, h.header...), h.status, h.code, h.field)
	if !strings.Contains(ae.Error.Message, h.msg) {
		t.Errorf("message %q does not mention %q", ae.Error.Message, h.msg)
	}
	if h.field != "" && !strings.Contains(ae.Error.Message, h.field) {
		t.Errorf("message %q does not name the field %q", ae.Error.Message, h.field)
	}
}

// TestHostileSendsChangeNothing: each hostile send is refused with its status, code
// and field, and neither a message nor a hold is left behind, though the account could
// pay and the same send written cleanly is accepted.
func TestHostileSendsChangeNothing(t *testing.T) {
	e, _ := newMoneyEnv(t)
	e.fund("strict", 10_000)
	before := e.balance(keySendA)
	const tpl = `"template":{"name":"order_update","language":"id","body":["Budi","INV-42"]}`
	send := func(name, body string, status int, code, field, msg string, header ...string) hostile {
		return hostile{name: name, method: "POST", path: "/v1/messages", key: keySendA, body: body, header: header,
			status: status, code: code, field: field, msg: msg}
	}
	noCT := []string{"Content-Type", ""}
	cases := []hostile{
		send("unknown key", `{"to":"+6281234567890",`+tpl+`,"priority":"high"}`, 400, "invalid_json", "priority", "unknown key"),
		send("unknown key in the template", `{"to":"+6281234567890","template":{"name":"order_update","language":"id","body":["Budi","INV-42"],"colour":"red"}}`, 400, "invalid_json", "template.colour", "unknown key"),
		send("unknown key in interactive", `{"to":"+6281234567890","interactive":{"type":"button","body":{"text":"x"},"action":{"buttons":[{"type":"reply","reply":{"id":"1","title":"Ya","emoji":"y"}}]}}}`, 400, "invalid_json", "interactive.action.buttons[0].reply.emoji", "unknown key"),
		send("duplicate recipient", `{"to":"+6281234567890","to":"+6281234567891",`+tpl+`}`, 400, "invalid_json", "to", "duplicate key"),
		send("duplicate template", `{"to":"+6281234567890",`+tpl+`,`+tpl+`}`, 400, "invalid_json", "template", "duplicate key"),
		send("duplicate named value", `{"to":"+6281234567890","template":{"name":"order_update","language":"id","body":{"1":"Budi","2":"INV-42","1":"Ani"}}}`, 400, "invalid_json", "template.body.1", "duplicate key"),
		send("key in upper case", `{"TO":"+6281234567890",`+tpl+`}`, 400, "invalid_json", "TO", `did you mean "to"`),
		send("nested key in another case", `{"to":"+6281234567890","template":{"Name":"order_update","language":"id","body":["Budi","INV-42"]}}`, 400, "invalid_json", "template.Name", `did you mean "name"`),
		send("invalid UTF-8", "{\"to\":\"+6281234567890\","+tpl+",\"callback_data\":\"caf\xe9\"}", 400, "invalid_json", "callback_data", "not valid UTF-8"),
		send("unpaired surrogate", `{"to":"+6281234567890",`+tpl+`,"callback_data":"\udfff"}`, 400, "invalid_json", "callback_data", "unpaired surrogate"),
		send("two bodies", `{"to":"+6281234567890",`+tpl+`}{"to":"+6281234567891",`+tpl+`}`, 400, "invalid_json", "", "more after its JSON value"),
		send("trailing bracket", `{"to":"+6281234567890",`+tpl+`}]`, 400, "invalid_json", "", "more after its JSON value"),
		send("an array of sends", `[{"to":"+6281234567890",`+tpl+`}]`, 400, "invalid_json", "", "must be a JSON object"),
		send("no Content-Type", `{"to":"+6281234567890",`+tpl+`}`, 415, "unsupported_media_type", "Content-Type", "application/json", noCT...),
		send("form Content-Type", `{"to":"+6281234567890",`+tpl+`}`, 415, "unsupported_media_type", "Content-Type", "application/json", "Content-Type", "application/x-www-form-urlencoded"),
		send("text Content-Type", `{"to":"+6281234567890",`+tpl+`}`, 415, "unsupported_media_type", "Content-Type", "text/plain", "Content-Type", "text/plain; charset=utf-8"),
		send("Latin-1 charset", `{"to":"+6281234567890",`+tpl+`}`, 415, "unsupported_media_type", "Content-Type", "UTF-8", "Content-Type", "application/json; charset=iso-8859-1"),
		send("keypad letters", `{"to":"0812-ABCD-7890",`+tpl+`}`, 400, "invalid_phone", "to", "letters"),
		send("an extension", `{"to":"+62 812 3456 7890 ext. 12",`+tpl+`}`, 400, "invalid_phone", "to", "extension"),
		send("an extension after #", `{"to":"+62 812 3456 7890#12",`+tpl+`}`, 400, "invalid_phone", "to", "extension"),
		send("a stray character", `{"to":"081234567890*",`+tpl+`}`, 400, "invalid_phone", "to", "not part of a phone number"),
		send("nested too deep", `{"to":"+6281234567890","template":{"name":"order_update","language":"id","body":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}}`, 400, "invalid_json", "template.body"+strings.Repeat("[0]", 62), "nested deeper than 64"),
	}
	for _, h := range cases {
		t.Run(h.name, func(t *testing.T) { h.check(t, e.do) })
	}
	if n := e.count("acct_a"); n != 0 {
		t.Fatalf("refused sends queued %d messages", n)
	}
	if after := e.balance(keySendA); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused sends moved money: %+v -> %+v", before, after)
	}
	// The same send written cleanly goes, with any letter case of the media type.
	r := e.do("POST", "/v1/messages", keySendA, `{"to":"+6281234567890",`+tpl+`}`, "Content-Type", "Application/JSON; Charset=UTF-8")
	if r.status != http.StatusAccepted {
		t.Fatalf("clean send: %d %s", r.status, r.body)
	}
	if after := e.balance(keySendA); e.count("acct_a") != 1 || after.Held.AmountMicros == before.Held.AmountMicros {
		t.Fatalf("the clean send was not queued with its hold: %+v", after)
	}
}

// TestHostileMoneyRequestsChangeNothing: top-ups and adjustments refuse the same
// tricks, and no money moves.
func TestHostileMoneyRequestsChangeNothing(t *testing.T) {
	e, _ := newMoneyEnv(t)
	funded := e.fund("strict", 1000)
	before := e.balance(keySendA)
	var pending topUpJSON
	decode(t, e.do("POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": 5 * idr, "reference": "pending-1"}), http.StatusCreated, &pending)
	cases := []hostile{
		{"duplicate amount", "POST", "/v1/topups", keyAdminA, `{"amount_micros":1000000,"amount_micros":999000000000,"reference":"dup-1"}`, nil, 400, "invalid_json", "amount_micros", "duplicate key"},
		{"amount in another case", "POST", "/v1/topups", keyAdminA, `{"Amount_Micros":1000000,"reference":"case-1"}`, nil, 400, "invalid_json", "Amount_Micros", `did you mean "amount_micros"`},
		{"top-up without Content-Type", "POST", "/v1/topups", keyAdminA, `{"amount_micros":1000000,"reference":"ct-1"}`, []string{"Content-Type", ""}, 415, "unsupported_media_type", "Content-Type", ""},
		{"adjustment with a duplicate amount", "POST", "/v1/adjustments", opA, `{"amount_micros":-1000000,"reason":"x","amount_micros":-900000000}`, nil, 400, "invalid_json", "amount_micros", "duplicate key"},
		{"adjustment with invalid UTF-8", "POST", "/v1/adjustments", opA, "{\"amount_micros\":1000000,\"reason\":\"\xff\"}", nil, 400, "invalid_json", "reason", "UTF-8"},
		{"confirm with a body", "POST", "/v1/topups/" + pending.ID + "/confirm", opA, `{"amount_micros":999000000000}`, nil, 400, "invalid_json", "amount_micros", "unknown key"},
		{"reject in another case", "POST", "/v1/topups/" + pending.ID + "/reject", opA, `{"Reason":"x"}`, nil, 400, "invalid_json", "Reason", `did you mean "reason"`},
	}
	for _, h := range cases {
		t.Run(h.name, func(t *testing.T) { h.check(t, e.do) })
	}
	if after := e.balance(keySendA); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused requests moved money: %+v -> %+v", before, after)
	}
	var page struct {
		Data []topUpJSON `json:"data"`
	}
	decode(t, e.do("GET", "/v1/topups", keyAdminA, nil), http.StatusOK, &page)
	if len(page.Data) != 2 {
		t.Fatalf("top-ups after the refusals: %+v", page.Data)
	}
	for _, tu := range page.Data {
		if (tu.ID != pending.ID || tu.Status != "pending") && (tu.ID != funded.ID || tu.Status != "confirmed") {
			t.Fatalf("top-up changed by a refusal: %+v", tu)
		}
	}
	// An empty body needs no Content-Type: the confirm goes through.
	decode(t, e.do("POST", "/v1/topups/"+pending.ID+"/confirm", opA, "", "Content-Type", ""), http.StatusOK, &pending)
	if pending.Status != "confirmed" {
		t.Fatalf("confirm without a body: %+v", pending)
	}
}

// TestBodiesWhereNoneIsTaken: endpoints without a body refuse one other than {}, and
// take none without a Content-Type.
func TestBodiesWhereNoneIsTaken(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := e.send(orderUpdate("+6281234567890", "Budi", "INV-42"))["id"].(string)
	hostile{"cancel with a body", "POST", "/v1/messages/" + id + "/cancel", keySendA, `{"reason":"x"}`, nil, 400, "invalid_json", "reason", "unknown key"}.check(t, e.do)
	hostile{"opt-out with a body", "POST", "/v1/contacts/081234567891/opt-out", keySendA, `{"phone":"+6281234567892"}`, nil, 400, "invalid_json", "phone", "unknown key"}.check(t, e.do)
	hostile{"opt-out of a number with letters", "POST", "/v1/contacts/0812-ABCD-7890/opt-out", keySendA, nil, nil, 400, "invalid_phone", "phone", "letters"}.check(t, e.do)
	if got := e.do("GET", "/v1/messages/"+id, keySendA, nil).json(t); got["status"] == "cancelled" {
		t.Fatal("a refused cancel cancelled the message")
	}
	if got := e.do("GET", "/v1/contacts/081234567891", keySendA, nil).json(t); got["opted_out"] != false {
		t.Fatalf("a refused opt-out opted out: %v", got)
	}
	// No body and no Content-Type, or an empty object: the request is served.
	if r := e.do("POST", "/v1/contacts/081234567891/opt-out", keySendA, "", "Content-Type", ""); r.status != http.StatusOK || r.json(t)["opted_out"] != true {
		t.Fatalf("opt-out without a body: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/contacts/081234567891/opt-in", keySendA, "{}"); r.status != http.StatusOK || r.json(t)["opted_out"] != false {
		t.Fatalf("opt-in with {}: %d %s", r.status, r.body)
	}
}

// TestBadCursorsAndLimits: every listing refuses a cursor it did not make with 400
// invalid_cursor, and a bad limit naming limit.
func TestBadCursorsAndLimits(t *testing.T) {
	money, _ := newMoneyEnv(t)
	tpl := newTplEnv(t)
	ls := newListsEnv(t)
	cmp := newCampaignsEnv(t)
	im, err := ls.store.ImportSync(t.Context(), lists.ImportRequest{Account: "acct_a", ListName: "c", Body: strings.NewReader("phone\n081234567890\n")})
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		name, path, key string
		do              func(method, path, key string, body any, header ...string) response
	}
	lsDo := func(method, path, key string, _ any, _ ...string) response { return ls.do(method, path, key, "", nil) }
	targets := []target{
		{"messages", "/v1/messages", keySendA, money.do},
		{"dead letters", "/v1/webhooks/dead", opA, money.do},
		{"top-ups", "/v1/topups", keyAdminA, money.do},
		{"statement", "/v1/statement", keySendA, money.do},
		{"templates", "/v1/templates", keySendA, tpl.do},
		{"lists", "/v1/lists", keySendA, lsDo},
		{"contacts", "/v1/lists/" + im.ListID + "/contacts", keySendA, lsDo},
		{"campaigns", "/v1/campaigns", keyCampaignsA, cmp.do},
		{"campaign recipients", "/v1/campaigns/cmp_01JB3M1X9Q2W8Y6T4R0V5N7C3E/recipients", keyCampaignsA, cmp.do},
	}
	phoneCursor := base64.RawURLEncoding.EncodeToString([]byte("+6281234567890"))
	cursors := []string{"garbage", "msg_nope", "msg_01JB3M1X9Q2W8Y6T4R0V5N7C3", "tu_0000", "zz", "%FF%FE",
		base64.RawURLEncoding.EncodeToString([]byte("+62abc")), "cursor&cursor=x", phoneCursor + "&cursor=" + phoneCursor}
	limits := []string{"0", "-1", "abc", "1.5", "+5", "1e2", "100000", "5&limit=6"}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			for _, c := range cursors {
				wantError(t, tg.do("GET", tg.path+"?cursor="+c, tg.key, nil), 400, "invalid_cursor", "cursor")
			}
			for _, l := range limits {
				wantError(t, tg.do("GET", tg.path+"?limit="+l, tg.key, nil), 400, "invalid_field", "limit")
			}
		})
	}
	// The cursors handed out still work.
	money.fund("pages", 1000)
	for i := range 3 {
		money.send(orderUpdate("+628123456789"+string(rune('0'+i)), "Budi", "INV-42"))
	}
	p1 := money.do("GET", "/v1/messages?limit=2", keySendA, nil).json(t)
	next, _ := p1["next_cursor"].(string)
	if next == "" {
		t.Fatalf("no next cursor: %v", p1)
	}
	if p2 := money.do("GET", "/v1/messages?limit=2&cursor="+next, keySendA, nil); p2.status != http.StatusOK || len(p2.json(t)["data"].([]any)) != 1 {
		t.Fatalf("page 2: %d %s", p2.status, p2.body)
	}
}

// campaignsEnv is the API with a campaign service (not started) and its lists.
type campaignsEnv struct {
	t   *testing.T
	srv *httptest.Server
	svc *campaign.Service
}

func newCampaignsEnv(t *testing.T) *campaignsEnv {
	t.Helper()
	db, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 8 << 20, NumMemtables: 2,
		BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	st, err := lists.Open(db, clk, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := campaign.New(campaign.Options{DB: db, Clock: clk, Logger: quietLogger(), Lists: st, Templates: catalog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		_ = st.Close()
		_ = db.Close()
	})
	server, err := api.New(api.Options{Lists: st, Campaigns: svc, Clock: clk, Logger: quietLogger(),
		Accounts: []api.Account{{ID: "acct_a", Currency: "IDR", DefaultRegion: "ID"}},
		Keys:     []api.Key{{Name: "campaigns-a", Account: "acct_a", Scopes: []string{api.ScopeCampaigns}, SHA256: api.HashKey(keyCampaignsA)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &campaignsEnv{t: t, srv: httptest.NewServer(openapicheck.New(t, api.OpenAPI()).Handler(server.Handler())), svc: svc}
	t.Cleanup(e.srv.Close)
	return e
}

func (e *campaignsEnv) do(method, path, key string, body any, header ...string) response {
	e.t.Helper()
	return (&env{t: e.t, srv: e.srv}).do(method, path, key, body, header...)
}

// TestHostileCampaignRequestsChangeNothing: a campaign body with tricks is refused
// and no campaign is created; a verb refuses a body it does not take.
func TestHostileCampaignRequestsChangeNothing(t *testing.T) {
	e := newCampaignsEnv(t)
	const ok = `"template":{"name":"promo_dec","language":"id"},"list_ids":["lst_01JB3M1X9Q2W8Y6T4R0V5N7C3E"]`
	cases := []hostile{
		{"unknown key", "POST", "/v1/campaigns", keyCampaignsA, `{"name":"x",` + ok + `,"send_now":true}`, nil, 400, "invalid_json", "send_now", "unknown key"},
		{"duplicate list ids", "POST", "/v1/campaigns", keyCampaignsA, `{"name":"x",` + ok + `,"list_ids":["lst_other"]}`, nil, 400, "invalid_json", "list_ids", "duplicate key"},
		{"schedule key in another case", "POST", "/v1/campaigns", keyCampaignsA, `{"name":"x",` + ok + `,"schedule":{"At":"2026-12-01T02:00:00Z"}}`, nil, 400, "invalid_json", "schedule.At", `did you mean "at"`},
		{"form Content-Type", "POST", "/v1/campaigns", keyCampaignsA, `{"name":"x",` + ok + `}`, []string{"Content-Type", "multipart/form-data; boundary=x"}, 415, "unsupported_media_type", "Content-Type", ""},
		{"launch with a body", "POST", "/v1/campaigns/cmp_01JB3M1X9Q2W8Y6T4R0V5N7C3E/launch", keyCampaignsA, `{"at":"now"}`, nil, 400, "invalid_json", "at", "unknown key"},
	}
	for _, h := range cases {
		t.Run(h.name, func(t *testing.T) { h.check(t, e.do) })
	}
	if cs, _, err := e.svc.List("acct_a", "", 10); err != nil || len(cs) != 0 {
		t.Fatalf("campaigns after the refusals: %v %v", cs, err)
	}
	// A launch with no body and no Content-Type reaches the service (no such campaign).
	wantError(t, e.do("POST", "/v1/campaigns/cmp_01JB3M1X9Q2W8Y6T4R0V5N7C3E/launch", keyCampaignsA, nil), 404, "not_found", "")
}

// TestListImportRefusesGuessedPhones: rows whose phone has letters or an extension are
// per-row errors of the import, and the other rows are imported.
func TestListImportRefusesGuessedPhones(t *testing.T) {
	e := newListsEnv(t)
	r := e.upload(keyCampaignsA, "x.csv", [2]string{"name", "L"}, [2]string{"file", "phone\n0812-ABCD-7890\n+62 812 3456 7890 ext. 12\n081234567890\n"})
	if r.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	im := e.waitImport(r.json(t)["import_id"].(string))
	errs, _ := im["errors"].([]any)
	if im["imported"] != 1.0 || len(errs) != 2 {
		t.Fatalf("import %v", im)
	}
	for i, want := range []string{"0812-ABCD-7890", "ext. 12"} {
		row := errs[i].(map[string]any)
		if row["row"] != float64(i+2) || row["column"] != "phone" || !strings.Contains(row["message"].(string), want) {
			t.Errorf("row error %v, want row %d about %q", row, i+2, want)
		}
	}
}

// TestErrorEnvelopeEverywhere: unknown paths (in another case or with a trailing
// slash too), wrong methods and panics answer with the envelope.
func TestErrorEnvelopeEverywhere(t *testing.T) {
	server, err := api.New(api.Options{Logger: quietLogger(),
		Accounts: []api.Account{{ID: "acct_a", Currency: "IDR"}},
		Extra: func(r *httprouter.Router, _ *api.Server) {
			r.GET("/v1/boom", func(http.ResponseWriter, *http.Request, httprouter.Params) { panic("boom") })
		}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/nothing-here", 404, "not_found"},
		{"GET", "/V1/MESSAGES", 404, "not_found"},
		{"GET", "/v1/messages/", 404, "not_found"},
		{"GET", "/v1//messages", 404, "not_found"},
		{"PUT", "/v1/messages", 405, "method_not_allowed"},
		{"PATCH", "/v1/topups", 405, "method_not_allowed"},
		{"GET", "/v1/boom", 500, "internal"},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		server.Handler().ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		wantError(t, response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, c.status, c.code, "")
		if rec.Code == 405 && rec.Header().Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
}
