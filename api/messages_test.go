package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"kirim/api"
	"kirim/engine"
	"kirim/provider"
	"kirim/provider/sandbox"
)

func TestAuth(t *testing.T) {
	e := newEnv(t, envOpts{})
	body := orderUpdate("081234567890", "Budi", "INV-42")
	tests := []struct {
		name         string
		method, path string
		auth         string // the whole Authorization header
		status       int
		code         string
	}{
		{"no key", "POST", "/v1/messages", "", 401, "unauthorized"},
		{"empty bearer", "POST", "/v1/messages", "Bearer ", 401, "unauthorized"},
		{"wrong key", "POST", "/v1/messages", "Bearer kirim_test_wrong", 401, "unauthorized"},
		{"right key, wrong scheme", "POST", "/v1/messages", "Basic " + keySendA, 401, "unauthorized"},
		{"a key's prefix", "POST", "/v1/messages", "Bearer " + keySendA[:10], 401, "unauthorized"},
		{"no key on a read", "GET", "/v1/messages", "", 401, "unauthorized"},
		{"campaigns scope cannot send", "POST", "/v1/messages", "Bearer " + keyCampaignsA, 403, "forbidden"},
		{"campaigns scope cannot list messages", "GET", "/v1/messages", "Bearer " + keyCampaignsA, 403, "forbidden"},
		{"send scope is not admin", "GET", "/v1/webhooks/dead", "Bearer " + keySendA, 403, "forbidden"},
		{"send scope sends", "POST", "/v1/messages", "Bearer " + keySendA, 202, ""},
		{"admin implies send", "POST", "/v1/messages", "Bearer " + keyAdminA, 202, ""},
		{"an account admin cannot read dead letters", "GET", "/v1/webhooks/dead", "Bearer " + keyAdminA, 403, "forbidden"},
		{"the operator reads dead letters", "GET", "/v1/webhooks/dead", "Bearer " + keyOperator, 200, ""},
		{"the scheme is case-insensitive", "GET", "/v1/webhooks/dead", "bearer " + keyOperator, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.count("acct_a")
			var b any
			if tt.method == "POST" {
				b = body
			}
			r := e.do(tt.method, tt.path, "", b, "Authorization", tt.auth)
			if tt.code != "" {
				wantError(t, r, tt.status, tt.code, "")
				if n := e.count("acct_a"); n != before {
					t.Errorf("a refused request created %d messages", n-before)
				}
				return
			}
			if r.status != tt.status {
				t.Errorf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
		})
	}
}

func TestSendAccepted(t *testing.T) {
	e := newEnv(t, envOpts{})
	tests := []struct {
		name     string
		body     map[string]any
		to       string
		category string
		price    api.Money
	}{
		{"utility template, local number", map[string]any{"to": "081234567890", "callback_data": "order-42",
			"template": map[string]any{"name": "order_update", "language": "id", "body": []string{"Budi", "INV-42"}}},
			"+6281234567890", "utility", api.Money{AmountMicros: 200_000_000, Currency: "IDR", Display: "IDR 200"}},
		{"marketing template, international form with spaces", map[string]any{"to": "+62 812-3456-7891", "from": "main",
			"template": map[string]any{"name": "promo_dec", "language": "id", "body": []string{"Budi"}}},
			"+6281234567891", "marketing", api.Money{AmountMicros: 514_000_000, Currency: "IDR", Display: "IDR 514"}},
		{"template without parameters, digits with country code", map[string]any{"to": "6281234567892",
			"template": map[string]any{"name": "hello_world", "language": "en_US"}},
			"+6281234567892", "utility", api.Money{AmountMicros: 200_000_000, Currency: "IDR", Display: "IDR 200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/v1/messages", keySendA, tt.body)
			if r.status != http.StatusAccepted {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got struct {
				ID           string    `json:"id"`
				Status       string    `json:"status"`
				To           string    `json:"to"`
				From         string    `json:"from"`
				Category     string    `json:"category"`
				Price        api.Money `json:"price"`
				CallbackData string    `json:"callback_data"`
				CreatedAt    string    `json:"created_at"`
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got.ID, "msg_") || got.Status != "queued" || got.To != tt.to || got.From != "main" || got.Category != tt.category {
				t.Errorf("answer %s: want a msg_ id, queued, to %s from main, category %s", r.body, tt.to, tt.category)
			}
			if got.Price != tt.price {
				t.Errorf("price %+v, want %+v", got.Price, tt.price)
			}
			if at, err := time.Parse(time.RFC3339, got.CreatedAt); err != nil || !at.Equal(t0) || !strings.HasSuffix(got.CreatedAt, "Z") {
				t.Errorf("created_at %q, want %v in RFC 3339 UTC", got.CreatedAt, t0)
			}
			if cb, _ := tt.body["callback_data"].(string); got.CallbackData != cb {
				t.Errorf("callback_data %q, want %q", got.CallbackData, cb)
			}
			// Durably queued, with the provider request ready and our id in it.
			m, err := e.eng.Get(got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if m.State != engine.Queued || m.AccountID != "acct_a" || m.Price != tt.price.AmountMicros {
				t.Errorf("stored %s account %s price %d", m.State, m.AccountID, m.Price)
			}
			var p provider.Message
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				t.Fatal(err)
			}
			tpl := tt.body["template"].(map[string]any)
			if p.Type != "template" || p.To != tt.to || p.BizOpaqueCallbackData != got.ID || p.Template == nil || p.Template.Name != tpl["name"] {
				t.Errorf("provider request %s", m.Payload)
			}
			if params, ok := tpl["body"].([]string); ok {
				var sent []string
				for _, c := range p.Template.Components {
					if c.Type == "body" {
						for _, prm := range c.Parameters {
							sent = append(sent, prm.Text)
						}
					}
				}
				if !slices.Equal(sent, params) {
					t.Errorf("body parameters %v, want %v", sent, params)
				}
			}
		})
	}
}

// TestSendRefused: bad input gets the envelope with the field at fault, and changes
// nothing.
func TestSendRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	tpl := func(name, lang string, body ...string) map[string]any {
		return map[string]any{"name": name, "language": lang, "body": body}
	}
	tests := []struct {
		name   string
		body   any
		header []string
		status int
		code   string
		field  string
		msg    string // part of the message
	}{
		{"invalid phone", map[string]any{"to": "0812-xx", "template": tpl("order_update", "id", "a", "b")}, nil, 400, "invalid_phone", "to", "0812-xx"},
		{"phone too short", map[string]any{"to": "0812", "template": tpl("order_update", "id", "a", "b")}, nil, 400, "invalid_phone", "to", ""},
		{"no recipient", map[string]any{"template": tpl("order_update", "id", "a", "b")}, nil, 400, "invalid_field", "to", "required"},
		{"unknown JSON field", `{"to":"081234567890","template":{"name":"order_update","language":"id","body":["a","b"]},"priority":"high"}`, nil, 400, "invalid_json", "priority", "unknown key"},
		{"unknown field inside the template", `{"to":"081234567890","template":{"name":"order_update","language":"id","body":["a","b"],"colour":"red"}}`, nil, 400, "invalid_json", "template.colour", "template.colour: unknown key"},
		{"wrong JSON type", `{"to":81234567890,"template":{"name":"order_update","language":"id"}}`, nil, 400, "invalid_field", "to", ""},
		{"not JSON", `{"to": "081234567890",`, nil, 400, "invalid_json", "", ""},
		{"two JSON values", `{"to":"081234567890","text":{"body":"a"}} {}`, nil, 400, "invalid_json", "", ""},
		{"template and text at once", map[string]any{"to": "081234567890", "template": tpl("order_update", "id", "a", "b"), "text": map[string]any{"body": "hi"}}, nil, 400, "invalid_field", "template", "exactly one"},
		{"image and text at once", map[string]any{"to": "081234567890", "image": map[string]any{"link": "https://example.com/a.jpg"}, "text": map[string]any{"body": "hi"}}, nil, 400, "invalid_field", "template", "exactly one"},
		{"no message at all", map[string]any{"to": "081234567890"}, nil, 400, "invalid_field", "template", "exactly one"},
		{"unknown template", map[string]any{"to": "081234567890", "template": tpl("no_such_template", "id")}, nil, 422, "template_not_approved", "template.name", "no_such_template"},
		{"known template in another language", map[string]any{"to": "081234567890", "template": tpl("order_update", "en", "a", "b")}, nil, 422, "template_not_approved", "template.name", ""},
		{"pending template", map[string]any{"to": "081234567890", "template": tpl("promo_new", "id", "Budi")}, nil, 422, "template_not_approved", "template.name", "PENDING"},
		{"too few body parameters", map[string]any{"to": "081234567890", "template": tpl("order_update", "id", "Budi")}, nil, 422, "param_count_mismatch", "template.body", "2"},
		{"too many body parameters", map[string]any{"to": "081234567890", "template": tpl("order_update", "id", "a", "b", "c")}, nil, 422, "param_count_mismatch", "template.body", "2"},
		{"parameters for a template without any", map[string]any{"to": "081234567890", "template": tpl("hello_world", "en_US", "x")}, nil, 422, "param_count_mismatch", "template.body", ""},
		{"no template name", map[string]any{"to": "081234567890", "template": map[string]any{"language": "id"}}, nil, 400, "invalid_field", "template.name", ""},
		{"unknown sending number", map[string]any{"to": "081234567890", "from": "backup", "template": tpl("order_update", "id", "a", "b")}, nil, 400, "invalid_field", "from", "backup"},
		{"callback_data over 512 bytes", map[string]any{"to": "081234567890", "template": tpl("order_update", "id", "a", "b"), "callback_data": strings.Repeat("x", 513)}, nil, 400, "invalid_field", "callback_data", "512"},
		{"session text outside the window", map[string]any{"to": "081234567890", "text": map[string]any{"body": "Paket sudah sampai?"}}, nil, 422, "outside_window", "to", "24 hours"},
		{"empty text", map[string]any{"to": "081234567890", "text": map[string]any{"body": "  "}}, nil, 400, "invalid_field", "text.body", ""},
		{"image with id and link", map[string]any{"to": "081234567890", "image": map[string]any{"id": "123", "link": "https://example.com/a.jpg"}}, nil, 400, "invalid_field", "image", ""},
		{"image link not http", map[string]any{"to": "081234567890", "image": map[string]any{"link": "ftp://example.com/a.jpg"}}, nil, 400, "invalid_field", "image.link", ""},
		{"idempotency key too long", map[string]any{"to": "081234567890", "template": tpl("order_update", "id", "a", "b")}, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400, "invalid_header", "Idempotency-Key", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/v1/messages", keySendA, tt.body, tt.header...)
			ae := wantError(t, r, tt.status, tt.code, tt.field)
			if !strings.Contains(ae.Error.Message, tt.msg) {
				t.Errorf("message %q does not mention %q", ae.Error.Message, tt.msg)
			}
		})
	}
	if n := e.count("acct_a"); n != 0 {
		t.Errorf("refused requests created %d messages", n)
	}
}

func TestCallbackDataLimit(t *testing.T) {
	e := newEnv(t, envOpts{})
	body := orderUpdate("081234567890", "Budi", "INV-42")
	body["callback_data"] = strings.Repeat("é", api.MaxCallbackData/2) // 512 bytes of UTF-8
	got := e.send(body)
	if got["callback_data"] != body["callback_data"] {
		t.Errorf("callback_data not echoed whole")
	}
	body["callback_data"] = strings.Repeat("é", api.MaxCallbackData/2) + "x"
	wantError(t, e.do("POST", "/v1/messages", keySendA, body), 400, "invalid_field", "callback_data")
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t, envOpts{})
	// One byte over the limit is refused before it is parsed.
	over := `{"to":"081234567890","text":{"body":"` + strings.Repeat("a", api.DefaultMaxBody) + `"}}`
	wantError(t, e.do("POST", "/v1/messages", keySendA, over), 413, "body_too_large", "")
	// A body of exactly the limit is read (and then judged on its content).
	exact := strings.Repeat(" ", api.DefaultMaxBody-2) + "{}"
	wantError(t, e.do("POST", "/v1/messages", keySendA, exact), 400, "invalid_field", "to")
	if n := e.count("acct_a"); n != 0 {
		t.Errorf("%d messages created", n)
	}
}

// TestSessionWindow: a free-form message needs the customer's open 24 h window.
func TestSessionWindow(t *testing.T) {
	e := newEnv(t, envOpts{})
	text := map[string]any{"to": "081234567890", "text": map[string]any{"body": "Paket sudah sampai, kak"}}
	wantError(t, e.do("POST", "/v1/messages", keySendA, text), 422, "outside_window", "to")

	// The customer writes: the window opens.
	if _, err := e.eng.RecordInbound(context.Background(), []engine.Inbound{{PhoneNumberID: sandbox.DefaultPhoneNumberID,
		WaID: "6281234567890", MessageID: "wamid.in1", Type: "text", Text: "halo", At: e.clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	got := e.send(text)
	if got["category"] != "service" || got["status"] != "queued" {
		t.Errorf("session message accepted as %v", got)
	}
	if price := got["price"].(map[string]any); price["amount_micros"] != 0.0 || price["display"] != "IDR 0" {
		t.Errorf("session price %v, want free", price)
	}
	// Another recipient's window is still closed.
	other := map[string]any{"to": "081234567899", "text": map[string]any{"body": "halo"}}
	wantError(t, e.do("POST", "/v1/messages", keySendA, other), 422, "outside_window", "to")

	// 24 hours later it has closed again.
	e.clk.Advance(24 * time.Hour)
	wantError(t, e.do("POST", "/v1/messages", keySendA, text), 422, "outside_window", "to")
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, envOpts{})
	body := `{"to":"081234567890","template":{"name":"order_update","language":"id","body":["Budi","INV-42"]}}`
	first := e.do("POST", "/v1/messages", keySendA, body, "Idempotency-Key", "order-42-notice")
	if first.status != http.StatusAccepted {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	e.clk.Advance(time.Hour)
	again := e.do("POST", "/v1/messages", keySendA, body, "Idempotency-Key", "order-42-notice")
	if again.status != http.StatusAccepted || string(again.body) != string(first.body) {
		t.Errorf("replay: %d %s\nwant the first answer byte for byte: %s", again.status, again.body, first.body)
	}
	if n := e.count("acct_a"); n != 1 {
		t.Errorf("%d messages after a replay, want 1", n)
	}

	changed := strings.Replace(body, "INV-42", "INV-43", 1)
	r := e.do("POST", "/v1/messages", keySendA, changed, "Idempotency-Key", "order-42-notice")
	wantError(t, r, 409, "idempotency_conflict", "Idempotency-Key")
	if n := e.count("acct_a"); n != 1 {
		t.Errorf("%d messages after a conflict, want 1", n)
	}

	// Keys belong to an account; without a key every request is new.
	if r := e.do("POST", "/v1/messages", keySendB, body, "Idempotency-Key", "order-42-notice"); r.status != http.StatusAccepted || string(r.body) == string(first.body) {
		t.Errorf("another account's request with the same key: %d %s", r.status, r.body)
	}
	e.send(body)
	e.send(body)
	if n := e.count("acct_a"); n != 3 {
		t.Errorf("%d messages, want 3", n)
	}
}

func TestGetMessage(t *testing.T) {
	e := newEnv(t, envOpts{})
	sent := e.send(map[string]any{"to": "081234567890", "callback_data": "order-42",
		"template": map[string]any{"name": "order_update", "language": "id", "body": []string{"Budi", "INV-42"}}})
	id := sent["id"].(string)

	r := e.do("GET", "/v1/messages/"+id, keySendA, nil)
	if r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	var got struct {
		ID            string               `json:"id"`
		Status        string               `json:"status"`
		StatusHistory []engine.StateChange `json:"status_history"`
		To            string               `json:"to"`
		From          string               `json:"from"`
		Type          string               `json:"type"`
		Template      *engine.TemplateRef  `json:"template"`
		Category      string               `json:"category"`
		Price         api.Money            `json:"price"`
		Charged       api.Money            `json:"charged"`
		Error         any                  `json:"error"`
		Attempts      int                  `json:"attempts"`
		CallbackData  string               `json:"callback_data"`
		CreatedAt     string               `json:"created_at"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := []engine.StateChange{{State: engine.Queued, At: t0}}
	if got.ID != id || got.Status != "queued" || !reflect.DeepEqual(got.StatusHistory, want) || got.To != "+6281234567890" ||
		got.From != "main" || got.Type != "template" || got.Template == nil || *got.Template != (engine.TemplateRef{Name: "order_update", Language: "id"}) ||
		got.Category != "utility" || got.Price.AmountMicros != 200_000_000 || got.Charged != (api.Money{AmountMicros: 0, Currency: "IDR", Display: "IDR 0"}) ||
		got.Error != nil || got.CallbackData != "order-42" || got.CreatedAt != sent["created_at"] {
		t.Errorf("GET answer %s", r.body)
	}

	wantError(t, e.do("GET", "/v1/messages/"+id, keySendB, nil), 404, "not_found", "")
	wantError(t, e.do("GET", "/v1/messages/msg_00000000000000000000000000", keySendA, nil), 404, "not_found", "")

	// Cancel: another account cannot; the owner can, once.
	wantError(t, e.do("POST", "/v1/messages/"+id+"/cancel", keySendB, nil), 404, "not_found", "")
	c := e.do("POST", "/v1/messages/"+id+"/cancel", keySendA, nil)
	if c.status != http.StatusOK || c.json(t)["status"] != "cancelled" {
		t.Errorf("cancel: %d %s", c.status, c.body)
	}
	wantError(t, e.do("POST", "/v1/messages/"+id+"/cancel", keySendA, nil), 409, "not_cancellable", "")
}

func TestListMessages(t *testing.T) {
	e := newEnv(t, envOpts{})
	var ids []string
	for i, to := range []string{"081234567890", "081234567891", "081234567890", "081234567890", "081234567891"} {
		m := e.send(orderUpdate(to, "Budi", fmt.Sprintf("INV-%d", i)))
		ids = append(ids, m["id"].(string))
		e.clk.Advance(time.Millisecond)
	}
	if r := e.do("POST", "/v1/messages/"+ids[2]+"/cancel", keySendA, nil); r.status != http.StatusOK {
		t.Fatalf("cancel: %d", r.status)
	}
	e.do("POST", "/v1/messages", keySendB, orderUpdate("081234567890", "Other", "INV-9"))
	rev := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, ids[i])
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", rev(4, 3, 2, 1, 0)},
		{"limit=2", rev(4, 3, 2, 1, 0)},
		{"limit=1", rev(4, 3, 2, 1, 0)},
		{"status=cancelled", rev(2)},
		{"status=queued&limit=2", rev(4, 3, 1, 0)},
		{"to=081234567890", rev(3, 2, 0)},
		{"to=%2B6281234567890&limit=1", rev(3, 2, 0)},
		{"to=081234567890&status=queued", rev(3, 0)},
		{"to=081234567899", nil},
		{"status=sent", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var got []string
			cursor := ""
			for page := 0; ; page++ {
				if page > len(ids) {
					t.Fatal("pagination does not end")
				}
				q := tt.query
				if cursor != "" {
					q += "&cursor=" + cursor
				}
				r := e.do("GET", "/v1/messages?"+q, keySendA, nil)
				if r.status != http.StatusOK {
					t.Fatalf("%d %s", r.status, r.body)
				}
				var pg struct {
					Data []struct {
						ID     string `json:"id"`
						Status string `json:"status"`
					} `json:"data"`
					NextCursor *string `json:"next_cursor"`
				}
				if err := json.Unmarshal(r.body, &pg); err != nil {
					t.Fatal(err)
				}
				if pg.NextCursor == nil || pg.Data == nil {
					t.Fatalf("page without data or next_cursor: %s", r.body)
				}
				for _, d := range pg.Data {
					got = append(got, d.ID)
				}
				if *pg.NextCursor == "" {
					break
				}
				cursor = *pg.NextCursor
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("listed %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []struct{ query, code, field string }{
		{"status=lost", "invalid_field", "status"},
		{"limit=0", "invalid_field", "limit"},
		{"limit=501", "invalid_field", "limit"},
		{"limit=ten", "invalid_field", "limit"},
		{"to=12", "invalid_phone", "to"},
	} {
		wantError(t, e.do("GET", "/v1/messages?"+bad.query, keySendA, nil), 400, bad.code, bad.field)
	}
	r := e.do("GET", "/v1/messages", keySendB, nil)
	if data := r.json(t)["data"].([]any); len(data) != 1 {
		t.Errorf("account B lists %d messages, want its own 1", len(data))
	}
}

// TestSendReachesSandbox: an accepted message is sent by the engine through the real
// client to the sandbox, once, and GET shows what came of it.
func TestSendReachesSandbox(t *testing.T) {
	e := newEnv(t, envOpts{start: true})
	sent := e.send(map[string]any{"to": "081234567890", "template": map[string]any{"name": "hello_world", "language": "en_US"}})
	id := sent["id"].(string)
	m := e.waitState(id, engine.Sent)
	rec := e.sb.Received(sandbox.ReceivedFilter{CallbackData: id})
	if len(rec) != 1 || rec[0].Template != "hello_world" || rec[0].To != "6281234567890" || rec[0].WAMID != m.WAMID {
		t.Fatalf("sandbox received %+v, want one hello_world send with wamid %s", rec, m.WAMID)
	}
	got := e.do("GET", "/v1/messages/"+id, keySendA, nil).json(t)
	if got["status"] != "sent" || got["wamid"] != m.WAMID || got["attempts"] != 1.0 {
		t.Errorf("GET after sending: %v", got)
	}
	// A template the sandbox does not have fails with the provider's code and title.
	// (Past the pair gap: the engine spaces messages to one recipient.)
	e.clk.Advance(engine.DefaultPairGap)
	bad := e.send(orderUpdate("081234567890", "Budi", "INV-42"))
	f := e.waitState(bad["id"].(string), engine.Failed)
	if f.Error == nil || f.Error.Code != provider.CodeTemplateMissing {
		t.Errorf("error %+v, want 132001", f.Error)
	}
	got = e.do("GET", "/v1/messages/"+f.ID, keySendA, nil).json(t)
	if ge, _ := got["error"].(map[string]any); ge == nil || ge["code"] != float64(provider.CodeTemplateMissing) || ge["title"] == "" {
		t.Errorf("GET of a failed message: %v", got)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var notReady error
	e := newEnv(t, envOpts{ready: func() error { return notReady }})
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 || r.json(t)["status"] != "ok" {
		t.Errorf("healthz: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/readyz", "", nil); r.status != 200 || r.json(t)["status"] != "ready" {
		t.Errorf("readyz: %d %s", r.status, r.body)
	}
	notReady = errors.New("provider unreachable")
	wantError(t, e.do("GET", "/readyz", "", nil), 503, "not_ready", "")
	notReady = nil

	e.server.Drain()
	wantError(t, e.do("GET", "/readyz", "", nil), 503, "shutting_down", "")
	r := e.do("POST", "/v1/messages", keySendA, orderUpdate("081234567890", "Budi", "INV-42"))
	wantError(t, r, 503, "shutting_down", "")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 while draining without Retry-After")
	}
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Errorf("healthz while draining: %d", r.status)
	}
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t, envOpts{})
	wantError(t, e.do("GET", "/v1/nothing-here", keySendA, nil), 404, "not_found", "")
	wantError(t, e.do("DELETE", "/v1/messages", keySendA, nil), 405, "method_not_allowed", "")
}

// TestIdempotentReplayAfterRulesChanged: a retry with the same key and body gets the
// original answer even when the request would now be refused (the window closed).
func TestIdempotentReplayAfterRulesChanged(t *testing.T) {
	e := newEnv(t, envOpts{})
	if _, err := e.eng.RecordInbound(context.Background(), []engine.Inbound{{PhoneNumberID: sandbox.DefaultPhoneNumberID,
		WaID: "6281234567890", MessageID: "wamid.in1", Type: "text", Text: "halo", At: e.clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	body := `{"to":"081234567890","text":{"body":"Paket sudah sampai, kak"}}`
	first := e.do("POST", "/v1/messages", keySendA, body, "Idempotency-Key", "reply-1")
	if first.status != http.StatusAccepted {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	e.clk.Advance(25 * time.Hour)
	again := e.do("POST", "/v1/messages", keySendA, body, "Idempotency-Key", "reply-1")
	if again.status != http.StatusAccepted || string(again.body) != string(first.body) {
		t.Errorf("replay after the window closed: %d %s, want the original answer %s", again.status, again.body, first.body)
	}
	wantError(t, e.do("POST", "/v1/messages", keySendA, strings.Replace(body, "kak", "bu", 1), "Idempotency-Key", "reply-1"),
		409, "idempotency_conflict", "Idempotency-Key")
	// The same body under a key never answered is refused: the window is closed.
	if r := e.do("POST", "/v1/messages", keySendA, body, "Idempotency-Key", "reply-2"); r.status/100 != 4 {
		t.Errorf("a new key after the window closed: %d %s, want a refusal", r.status, r.body)
	}
	if n := e.count("acct_a"); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}
