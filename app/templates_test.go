package app_test

import (
	"kirim/app"
	"kirim/app/apptest"
	"kirim/internal/kirimtest"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tmplView is the part of a template answer the test reads.
type tmplView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	Category   string `json:"category"`
	ParamCount int    `json:"param_count"`
}

func sandboxHas(m *app.Main, name string) bool {
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
	m, a := apptest.Example(t)
	const name = "pesanan_dikirim"
	def := map[string]any{"name": name, "language": "id", "category": "UTILITY", "components": []any{
		map[string]any{"type": "BODY", "text": "Halo {{1}}, pesanan Anda {{2}} sudah kami kirim hari ini.",
			"example": map[string]any{"body_text": [][]string{{"Budi", "INV-42"}}}},
		map[string]any{"type": "FOOTER", "text": "Acme Indonesia"},
	}}

	var created tmplView
	a.Must(http.StatusCreated, "POST", "/v1/templates", def, &created)
	if created.Status != "PENDING" || created.ID == "" || created.ParamCount != 2 {
		t.Fatalf("created %+v", created)
	}
	if !sandboxHas(m, name) {
		t.Fatal("the sandbox did not receive the template")
	}
	kirimtest.WaitFor(t, "APPROVED through the review webhook", 30*time.Second, func() bool { return a.TemplateStatus(name) == "APPROVED" })

	// Send it; it reaches delivered.
	var sent struct {
		ID string `json:"id"`
	}
	a.Must(http.StatusAccepted, "POST", "/v1/messages", map[string]any{"to": "+6281234567890",
		"template": map[string]any{"name": name, "language": "id", "body": []string{"Budi", "INV-42"}}}, &sent)
	kirimtest.WaitFor(t, "the send to be delivered", 30*time.Second, func() bool {
		var msg struct {
			Status string `json:"status"`
		}
		a.Must(http.StatusOK, "GET", "/v1/messages/"+sent.ID, nil, &msg)
		if msg.Status == "failed" {
			t.Fatalf("send failed")
		}
		return msg.Status == "delivered" || msg.Status == "read"
	})

	// Clone it: same content, new name, reviewed as new.
	const cloneName = "pesanan_dikirim_v2"
	var clone tmplView
	a.Must(http.StatusCreated, "POST", "/v1/templates/"+name+"/clone", map[string]any{"new_name": cloneName}, &clone)
	if clone.Status != "PENDING" || clone.ID == created.ID || !sandboxHas(m, cloneName) {
		t.Fatalf("clone %+v", clone)
	}
	kirimtest.WaitFor(t, "the clone's approval", 30*time.Second, func() bool { return a.TemplateStatus(cloneName) == "APPROVED" })

	// Paused at the provider: the webhook reaches the store and sends are refused at once.
	if err := m.Sandbox.SetTemplateStatus(cloneName, "id", "PAUSED"); err != nil {
		t.Fatal(err)
	}
	kirimtest.WaitFor(t, "PAUSED through the webhook", 30*time.Second, func() bool { return a.TemplateStatus(cloneName) == "PAUSED" })
	status, b := a.Call("POST", "/v1/messages", map[string]any{"to": "+6281234567891",
		"template": map[string]any{"name": cloneName, "language": "id", "body": []string{"Sari", "INV-43"}}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"template_not_approved"`) || !strings.Contains(string(b), `"template_status":"PAUSED"`) {
		t.Fatalf("send of a paused template: %d %s", status, b)
	}

	// Delete the original: gone at the provider and here.
	a.Must(http.StatusOK, "DELETE", "/v1/templates/"+name+"?language=id", nil, nil)
	if sandboxHas(m, name) {
		t.Fatal("still at the provider after delete")
	}
	if s := a.TemplateStatus(name); s != "NOT_FOUND" {
		t.Fatalf("after delete: %s", s)
	}

	// A template with violations is refused and nothing reaches the sandbox.
	before := len(m.Sandbox.Templates())
	bad := map[string]any{"name": "promo_salah", "language": "id", "category": "MARKETING", "components": []any{
		map[string]any{"type": "BODY", "text": "{{1}} cek https://bit.ly/promo"}}}
	status, b = a.Call("POST", "/v1/templates", bad)
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"template_invalid"`) ||
		!strings.Contains(string(b), `"rule":"variable_at_edge"`) || !strings.Contains(string(b), `"rule":"shortened_link"`) {
		t.Fatalf("invalid template: %d %s", status, b)
	}
	if after := len(m.Sandbox.Templates()); after != before || sandboxHas(m, "promo_salah") {
		t.Fatalf("the sandbox holds %d templates, had %d", after, before)
	}
}
