package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kirim/config"
)

// templateE2E runs Kirim in-process with config.example.toml on free ports, a temporary
// data directory and a fast sandbox review.
func templateE2E(t *testing.T) (*Main, *e2eAPI) {
	t.Helper()
	src, err := os.ReadFile("config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("config.example.toml", src, []string{
		"KIRIM_SERVER_LISTEN=127.0.0.1:0",
		"KIRIM_SERVER_DATA_DIR=" + t.TempDir(),
		"KIRIM_SANDBOX_LISTEN=127.0.0.1:0",
		"KIRIM_SANDBOX_REVIEW_DELAY=20ms",
		"KIRIM_SANDBOX_STATUS_DELAY=10ms",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg)
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, &e2eAPI{t: t, base: "http://" + m.APIAddr, key: DemoKey, http: &http.Client{Timeout: 30 * time.Second}}
}

// tmplView is the part of a template answer the test reads.
type tmplView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Category   string `json:"category"`
	ParamCount int    `json:"param_count"`
}

func (a *e2eAPI) templateStatus(name string) string {
	var v tmplView
	status, b := a.call("GET", "/v1/templates/"+name+"?language=id", nil)
	if status == http.StatusNotFound {
		return "NOT_FOUND"
	}
	if status != http.StatusOK || json.Unmarshal(b, &v) != nil {
		a.t.Fatalf("get template %s: %d %s", name, status, b)
	}
	return v.Status
}

func (m *Main) sandboxHas(name string) bool {
	for _, d := range m.Sandbox.Templates() {
		if d.Name == name {
			return true
		}
	}
	return false
}

// TestTemplateLifecycleE2E is the acceptance run on the sandbox: create a template, see
// it PENDING then APPROVED through the review webhook, send it until delivered, clone
// it, pause the clone at the provider, delete the original; a template with violations
// is refused with 422 and never reaches the sandbox.
func TestTemplateLifecycleE2E(t *testing.T) {
	m, a := templateE2E(t)
	const name = "pesanan_dikirim"
	def := map[string]any{"name": name, "language": "id", "category": "UTILITY", "components": []any{
		map[string]any{"type": "BODY", "text": "Halo {{1}}, pesanan Anda {{2}} sudah kami kirim hari ini.",
			"example": map[string]any{"body_text": [][]string{{"Budi", "INV-42"}}}},
		map[string]any{"type": "FOOTER", "text": "Acme Indonesia"},
	}}

	var created tmplView
	a.must(http.StatusCreated, "POST", "/v1/templates", def, &created)
	if created.Status != "PENDING" || created.ID == "" || created.ParamCount != 2 {
		t.Fatalf("created %+v", created)
	}
	if !m.sandboxHas(name) {
		t.Fatal("the sandbox did not receive the template")
	}
	waitFor(t, "APPROVED through the review webhook", 30*time.Second, func() bool { return a.templateStatus(name) == "APPROVED" })

	// Send it; it reaches delivered.
	var sent struct {
		ID string `json:"id"`
	}
	a.must(http.StatusAccepted, "POST", "/v1/messages", map[string]any{"to": "+6281234567890",
		"template": map[string]any{"name": name, "language": "id", "body": []string{"Budi", "INV-42"}}}, &sent)
	waitFor(t, "the send to be delivered", 30*time.Second, func() bool {
		var msg struct {
			Status string `json:"status"`
		}
		a.must(http.StatusOK, "GET", "/v1/messages/"+sent.ID, nil, &msg)
		if msg.Status == "failed" {
			t.Fatalf("send failed")
		}
		return msg.Status == "delivered" || msg.Status == "read"
	})

	// Clone it: same content, new name, reviewed as new.
	const cloneName = "pesanan_dikirim_v2"
	var clone tmplView
	a.must(http.StatusCreated, "POST", "/v1/templates/"+name+"/clone", map[string]any{"new_name": cloneName}, &clone)
	if clone.Status != "PENDING" || clone.ID == created.ID || !m.sandboxHas(cloneName) {
		t.Fatalf("clone %+v", clone)
	}
	waitFor(t, "the clone's approval", 30*time.Second, func() bool { return a.templateStatus(cloneName) == "APPROVED" })

	// Paused at the provider: the webhook reaches the store and sends are refused at once.
	if err := m.Sandbox.SetTemplateStatus(cloneName, "id", "PAUSED"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "PAUSED through the webhook", 30*time.Second, func() bool { return a.templateStatus(cloneName) == "PAUSED" })
	status, b := a.call("POST", "/v1/messages", map[string]any{"to": "+6281234567891",
		"template": map[string]any{"name": cloneName, "language": "id", "body": []string{"Sari", "INV-43"}}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"template_not_approved"`) || !strings.Contains(string(b), `"template_status":"PAUSED"`) {
		t.Fatalf("send of a paused template: %d %s", status, b)
	}

	// Delete the original: gone at the provider and here.
	a.must(http.StatusOK, "DELETE", "/v1/templates/"+name+"?language=id", nil, nil)
	if m.sandboxHas(name) {
		t.Fatal("still at the provider after delete")
	}
	if s := a.templateStatus(name); s != "NOT_FOUND" {
		t.Fatalf("after delete: %s", s)
	}

	// A template with violations is refused and nothing reaches the sandbox.
	before := len(m.Sandbox.Templates())
	bad := map[string]any{"name": "promo_salah", "language": "id", "category": "MARKETING", "components": []any{
		map[string]any{"type": "BODY", "text": "{{1}} cek https://bit.ly/promo"}}}
	status, b = a.call("POST", "/v1/templates", bad)
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"template_invalid"`) ||
		!strings.Contains(string(b), `"rule":"variable_at_edge"`) || !strings.Contains(string(b), `"rule":"shortened_link"`) {
		t.Fatalf("invalid template: %d %s", status, b)
	}
	if after := len(m.Sandbox.Templates()); after != before || m.sandboxHas("promo_salah") {
		t.Fatalf("the sandbox holds %d templates, had %d", after, before)
	}
}

// TestTemplatesSyncCommand: `kirim templates sync` asks the running server to pull the
// provider's list, so a template made elsewhere becomes known.
func TestTemplatesSyncCommand(t *testing.T) {
	m, a := templateE2E(t)
	ctx := context.Background()
	d := []byte(`{"name": "dibuat_di_luar", "language": "id", "category": "MARKETING", "components": [
		{"type": "BODY", "text": "Katalog bulan ini sudah tersedia di aplikasi kami."}]}`)
	req, _ := http.NewRequest("POST", "http://"+m.SandAddr+"/"+m.Config.Provider.APIVersion+"/"+m.Config.Numbers[0].WABAID+"/message_templates", bytes.NewReader(d))
	req.Header.Set("Content-Type", "application/json")
	if tok := m.Config.Provider.Token; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("made elsewhere: %s", resp.Status)
	}
	// The review webhook makes the store learn it (a template it did not know triggers a
	// sync); the command must work regardless, so wait for that first to keep the
	// counts exact.
	waitFor(t, "the review webhook", 30*time.Second, func() bool { return a.templateStatus("dibuat_di_luar") == "APPROVED" })

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"templates", "sync", "--server", "http://" + m.APIAddr, "--key", DemoKey}, &out, &errOut); err != nil {
		t.Fatalf("templates sync: %v (%s)", err, errOut.String())
	}
	if want := "templates sync: WABA " + m.Config.Numbers[0].WABAID + ": 0 added, 0 updated, 0 removed, 2 unchanged, 0 skipped\n"; out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
	// A wrong key is reported with the server's answer.
	if err := run(ctx, []string{"templates", "sync", "--server", "http://" + m.APIAddr, "--key", "nope"}, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong key: %v", err)
	}
}
