package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"kirim/engine"
	"kirim/provider"
	"kirim/provider/sandbox"
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
