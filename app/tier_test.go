package app_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"kirim/app/apptest"
	"kirim/config"
	"kirim/engine"
	"kirim/internal/kirimtest"
	"kirim/provider/sandbox"
)

// TestTierWiringE2E runs Kirim in-process on the embedded sandbox and checks the wiring
// of the tier work: a customer's message posted by the sandbox's webhook opens the
// window (a session text is refused before, accepted after), STOP in a message opts the
// contact out and START opts it back in, and a limit change at the sandbox reaches
// GET /v1/numbers through the webhook.
func TestTierWiringE2E(t *testing.T) {
	m, a := apptest.Example(t)
	const phone = "+6281299990001"
	text := map[string]any{"to": phone, "text": map[string]any{"body": "Paket sudah sampai, kak"}}
	if status, b := a.Call("POST", "/v1/messages", text); status != http.StatusUnprocessableEntity {
		t.Fatalf("session text before any inbound: %d %s", status, b)
	}
	contact := func() map[string]any {
		var c map[string]any
		a.Must(http.StatusOK, "GET", "/v1/contacts/"+phone, nil, &c)
		return c
	}
	inbound := func(body string) {
		t.Helper()
		if _, err := m.Sandbox.Inbound(sandbox.InboundRequest{From: phone[1:], Text: body}); err != nil {
			t.Fatal(err)
		}
	}
	inbound("halo")
	kirimtest.WaitFor(t, "the inbound webhook to open the window", 10*time.Second, func() bool {
		ns, _ := contact()["numbers"].([]any)
		return len(ns) > 0 && ns[0].(map[string]any)["window_open"] == true
	})
	if status, b := a.Call("POST", "/v1/messages", text); status != http.StatusAccepted {
		t.Fatalf("session text inside the window: %d %s", status, b)
	}

	inbound("Stop")
	kirimtest.WaitFor(t, "STOP to opt the contact out", 10*time.Second, func() bool { return contact()["opted_out"] == true })
	inbound("START")
	kirimtest.WaitFor(t, "START to opt the contact in", 10*time.Second, func() bool { return contact()["opted_out"] == false })

	limit := 2000
	if err := m.Sandbox.UpdateNumber(m.Config.Numbers[0].PhoneNumberID, sandbox.NumberUpdate{MessagingLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	kirimtest.WaitFor(t, "the limit webhook to reach GET /v1/numbers", 10*time.Second, func() bool {
		var out struct {
			Data []map[string]any `json:"data"`
		}
		status, b := a.Call("GET", "/v1/numbers", nil)
		return status == http.StatusOK && json.Unmarshal(b, &out) == nil && len(out.Data) > 0 && out.Data[0]["messaging_limit"] == 2000.0
	})
}

// TestOptDefaultsAgree: the configuration's defaults for the opt keywords and their
// filler are the engine's, so a file that leaves them out behaves as documented.
func TestOptDefaultsAgree(t *testing.T) {
	cfg, err := config.Parse("k.toml", []byte(`
[webhook]
app_secret = "s"
[[numbers]]
alias = "main"
phone_number_id = "1"
waba_id = "2"
[[accounts]]
id = "acme"
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Engine
	if !slices.Equal(e.OptOutKeywords, engine.DefaultOptOutKeywords) || !slices.Equal(e.OptInKeywords, engine.DefaultOptInKeywords) ||
		!slices.Equal(e.OptFiller, engine.DefaultOptFiller) {
		t.Fatalf("config %v %v %v; engine %v %v %v", e.OptOutKeywords, e.OptInKeywords, e.OptFiller,
			engine.DefaultOptOutKeywords, engine.DefaultOptInKeywords, engine.DefaultOptFiller)
	}
}

// TestNumberWebhookReadsStanding: Meta's number webhooks carry a new limit but not the
// quality rating that changed with it; Kirim reads the number at once on such a
// webhook, so the rating shows in seconds, not at the next 15-minute poll.
func TestNumberWebhookReadsStanding(t *testing.T) {
	m, a := apptest.Example(t)
	limit := 2000
	if err := m.Sandbox.UpdateNumber(m.Config.Numbers[0].PhoneNumberID, sandbox.NumberUpdate{Quality: "RED", MessagingLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	kirimtest.WaitFor(t, "the limit webhook and the read it asks for", 10*time.Second, func() bool {
		var out struct {
			Data []map[string]any `json:"data"`
		}
		status, b := a.Call("GET", "/v1/numbers", nil)
		return status == http.StatusOK && json.Unmarshal(b, &out) == nil && len(out.Data) > 0 &&
			out.Data[0]["messaging_limit"] == 2000.0 && out.Data[0]["quality"] == "RED"
	})
}
