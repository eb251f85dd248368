package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"kirim/engine"
	"kirim/provider"
	"kirim/provider/sandbox"
	"kirim/provider/sandbox/sandboxtest"
)

// TestOptOutKeywords: STOP makes a marketing template answer 422 opted_out while a
// utility template still goes; START reverses it; the API's opt-out and opt-in do the
// same, and so does a user_preferences stop.
func TestOptOutKeywords(t *testing.T) {
	e := newEnv(t, envOpts{})
	promo := map[string]any{"to": "081234567890", "template": map[string]any{"name": "promo_dec", "language": "id", "body": []string{"Budi"}}}
	inbound := func(id, text string) {
		t.Helper()
		if _, err := e.eng.RecordInbound(context.Background(), []engine.Inbound{{PhoneNumberID: sandbox.DefaultPhoneNumberID,
			WaID: "6281234567890", MessageID: id, Type: "text", Text: text, At: e.clk.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	e.send(promo)
	inbound("wamid.in1", " stop ")
	wantError(t, e.do("POST", "/v1/messages", keySendA, promo), 422, "opted_out", "to")
	if got := e.send(orderUpdate("081234567890", "Budi", "INV-42")); got["category"] != "utility" {
		t.Errorf("utility template after STOP: %v", got)
	}
	r := e.do("GET", "/v1/contacts/081234567890", keySendA, nil)
	var c map[string]any
	if r.status != http.StatusOK || json.Unmarshal(r.body, &c) != nil || c["opted_out"] != true {
		t.Fatalf("contact after STOP: %d %s", r.status, r.body)
	}
	inbound("wamid.in2", "MULAI")
	e.send(promo)

	for _, step := range []struct {
		path    string
		optedIn bool
	}{{"/v1/contacts/081234567890/opt-out", false}, {"/v1/contacts/081234567890/opt-in", true}} {
		clear(c)
		if r := e.do("POST", step.path, keySendA, nil); r.status != http.StatusOK || json.Unmarshal(r.body, &c) != nil || c["opted_out"] == step.optedIn {
			t.Fatalf("%s: %d %s", step.path, r.status, r.body)
		}
		r := e.do("POST", "/v1/messages", keySendA, promo)
		if step.optedIn && r.status != http.StatusAccepted || !step.optedIn && r.status != http.StatusUnprocessableEntity {
			t.Fatalf("promo after %s: %d %s", step.path, r.status, r.body)
		}
	}
	if err := e.eng.ApplyPreferences(context.Background(), sandbox.DefaultPhoneNumberID, []provider.UserPreference{
		{WaID: "6281234567890", Category: "marketing_messages", Value: "stop", Timestamp: provider.FlexInt(e.clk.Now().Unix() + 1)}}); err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("POST", "/v1/messages", keySendA, promo), 422, "opted_out", "to")
}

// TestListNumbers: GET /v1/numbers reports the standing, the limit and its usage.
func TestListNumbers(t *testing.T) {
	e := newEnv(t, envOpts{})
	r := e.do("GET", "/v1/numbers", keySendA, nil)
	var out struct {
		Data []map[string]any `json:"data"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil || len(out.Data) != 1 {
		t.Fatalf("numbers: %d %s", r.status, r.body)
	}
	n := out.Data[0]
	for k, want := range map[string]any{"alias": "main", "status": "CONNECTED", "quality": "GREEN", "messaging_limit": 250.0,
		"used_24h": 0.0, "throughput_mps": 80.0, "pair_gap_seconds": 6.0, "queue_depth": 0.0, "rules": "2025"} {
		if n[k] != want {
			t.Errorf("%s = %v, want %v", k, n[k], want)
		}
	}
	e.send(orderUpdate("081234567890", "Budi", "INV-42"))
	out.Data = nil
	r = e.do("GET", "/v1/numbers", keySendA, nil)
	if json.Unmarshal(r.body, &out) != nil || out.Data[0]["queue_depth"] != 1.0 {
		t.Errorf("after a send: %s", r.body)
	}
}

// TestResumeMarketing: a 131048 shows as the number's marketing_pause; an
// administrator ends it (a sender may not), the held message goes, a second call is
// 409 not_paused and another account's number is not found.
func TestResumeMarketing(t *testing.T) {
	e := newEnv(t, envOpts{start: true})
	// The sandbox knows the marketing template too, so the send goes once resumed.
	e.sandboxPromo()
	e.sb.SetChaos(sandbox.Chaos{SendErrors: map[int]float64{provider.CodeSpamRate: 1}})
	promo := map[string]any{"to": "081234567890", "template": map[string]any{"name": "promo_dec", "language": "id", "body": []string{"Budi"}}}
	id, _ := e.send(promo)["id"].(string)
	if w := e.waitState(id, engine.Waiting); w.WaitingReason != engine.ReasonSpamRateLimit {
		t.Fatalf("after 131048 waiting for %q", w.WaitingReason)
	}
	number := func(r response) map[string]any {
		t.Helper()
		var n map[string]any
		if err := json.Unmarshal(r.body, &n); err != nil {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return n
	}
	var list struct {
		Data []map[string]any `json:"data"`
	}
	if r := e.do("GET", "/v1/numbers", keySendA, nil); json.Unmarshal(r.body, &list) != nil || len(list.Data) != 1 {
		t.Fatalf("numbers: %d %s", r.status, r.body)
	}
	pause, _ := list.Data[0]["marketing_pause"].(map[string]any)
	if pause["reason"] != engine.ReasonSpamRateLimit || pause["until"] != e.clk.Now().Add(engine.DefaultSpamPause).Format(time.RFC3339) {
		t.Fatalf("marketing_pause %v", list.Data[0]["marketing_pause"])
	}
	wantError(t, e.do("POST", "/v1/numbers/main/resume-marketing", keySendA, nil), http.StatusForbidden, "forbidden", "")
	wantError(t, e.do("POST", "/v1/numbers/b-main/resume-marketing", keyAdminA, nil), http.StatusNotFound, "not_found", "alias")
	e.sb.SetChaos(sandbox.Chaos{})
	r := e.do("POST", "/v1/numbers/main/resume-marketing", keyAdminA, nil)
	if n := number(r); r.status != http.StatusOK || n["alias"] != "main" || n["marketing_pause"] != nil {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	e.waitState(id, engine.Sent)
	wantError(t, e.do("POST", "/v1/numbers/main/resume-marketing", keyAdminA, nil), http.StatusConflict, "not_paused", "")
}

// sandboxPromo makes the catalog's marketing template promo_dec known and approved at
// the sandbox, so a promo_dec send is accepted there.
func (e *env) sandboxPromo() {
	e.t.Helper()
	if _, err := sandboxtest.Serve(e.t, e.sb).CreateTemplate(context.Background(), &provider.TemplateDefinition{Name: "promo_dec", Language: "id",
		Category: "MARKETING", Components: []provider.TemplateComponentDef{{Type: "BODY", Text: "Diskon akhir tahun untuk {{1}}!",
			Example: &provider.TemplateExample{BodyText: [][]string{{"Budi"}}}}}}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.sb.SetTemplateStatus("promo_dec", "id", "APPROVED"); err != nil {
		e.t.Fatal(err)
	}
}

// TestMarketingRefusals: a marketing template to a contact who had their share
// (engine.marketing_per_day) answers 422 frequency_capped, and one to a contact
// WhatsApp's per-user marketing limit refused (131049) within the day answers 422
// marketing_user_limit; utility templates still go.
func TestMarketingRefusals(t *testing.T) {
	// A throughput whose burst holds every send: the fake clock need not move.
	e := newEnv(t, envOpts{start: true, engine: func(o *engine.Options) { o.MarketingPerDay, o.Numbers[0].MPS = 1, 100000 }})
	e.sandboxPromo()
	promo := func(to string) map[string]any {
		return map[string]any{"to": to, "template": map[string]any{"name": "promo_dec", "language": "id", "body": []string{"Budi"}}}
	}
	id, _ := e.send(promo("081234567890"))["id"].(string)
	e.waitState(id, engine.Sent)
	wantError(t, e.do("POST", "/v1/messages", keySendA, promo("081234567890")), http.StatusUnprocessableEntity, "frequency_capped", "to")
	e.send(orderUpdate("081234567890", "Budi", "INV-42"))

	e.sb.SetChaos(sandbox.Chaos{SendErrors: map[int]float64{provider.CodeMarketingUserLimit: 1}})
	id, _ = e.send(promo("081234567891"))["id"].(string)
	if f := e.waitState(id, engine.Failed); f.Error == nil || f.Error.Code != provider.CodeMarketingUserLimit {
		t.Fatalf("131049: %+v", f.Error)
	}
	wantError(t, e.do("POST", "/v1/messages", keySendA, promo("081234567891")), http.StatusUnprocessableEntity, "marketing_user_limit", "to")
}
