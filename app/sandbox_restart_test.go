package app_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"kirim/app/apptest"
	"kirim/internal/kirimtest"
	"kirim/provider/sandbox"
)

// message is the part of GET /v1/messages/{id} the restart test reads.
type message struct {
	Status string `json:"status"`
	WAMID  string `json:"wamid"`
}

// waitDelivered waits for a send to reach delivered (or read) and returns it.
func waitDelivered(t *testing.T, a *kirimtest.API, id string) message {
	t.Helper()
	var msg message
	kirimtest.WaitFor(t, "message "+id+" delivered", 30*time.Second, func() bool {
		a.Must(http.StatusOK, "GET", "/v1/messages/"+id, nil, &msg)
		if msg.Status == "failed" {
			t.Fatalf("message %s failed", id)
		}
		return msg.Status == "delivered" || msg.Status == "read"
	})
	return msg
}

// TestSandboxRestartKeepsTemplates: the in-process sandbox keeps its templates in
// the data directory, so after a restart Kirim's start-up sync and an explicit sync
// keep an approved template APPROVED (a sandbox that forgot it would have it removed),
// it still sends, its wamids do not repeat the last run's, and an inbound message after
// the restart opens the window for a free-form reply.
func TestSandboxRestartKeepsTemplates(t *testing.T) {
	dir := t.TempDir()
	env := "KIRIM_SERVER_DATA_DIR=" + dir
	m, a := apptest.Example(t, env)
	const name = "pesanan_siap"
	def := map[string]any{"name": name, "language": "id", "category": "UTILITY", "components": []any{
		map[string]any{"type": "BODY", "text": "Halo {{1}}, pesanan Anda {{2}} siap diambil hari ini.",
			"example": map[string]any{"body_text": [][]string{{"Budi", "INV-7"}}}},
	}}
	a.Must(http.StatusCreated, "POST", "/v1/templates", def, nil)
	kirimtest.WaitFor(t, "APPROVED", 30*time.Second, func() bool { return a.TemplateStatus(name) == "APPROVED" })
	send := map[string]any{"to": "+6281234567890",
		"template": map[string]any{"name": name, "language": "id", "body": []string{"Budi", "INV-7"}}}
	var sent struct {
		ID string `json:"id"`
	}
	a.Must(http.StatusAccepted, "POST", "/v1/messages", send, &sent)
	before := waitDelivered(t, a, sent.ID)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m2, a2 := apptest.Example(t, env)
	if !sandboxHas(m2, name) {
		t.Fatal("the restarted sandbox lost the template")
	}
	if s := a2.TemplateStatus(name); s != "APPROVED" {
		t.Fatalf("after the restart's sync: %s, want APPROVED", s)
	}
	a2.Must(http.StatusOK, "POST", "/v1/templates/sync", nil, nil)
	if s := a2.TemplateStatus(name); s != "APPROVED" {
		t.Fatalf("after POST /v1/templates/sync: %s, want APPROVED", s)
	}
	send["to"] = "+6281234567891"
	a2.Must(http.StatusAccepted, "POST", "/v1/messages", send, &sent)
	after := waitDelivered(t, a2, sent.ID)
	if after.WAMID == "" || after.WAMID == before.WAMID {
		t.Fatalf("wamids %q before and %q after the restart", before.WAMID, after.WAMID)
	}

	// A customer writes in after the restart: the window opens for a free-form reply.
	if _, err := m2.Sandbox.Inbound(sandbox.InboundRequest{From: "6281234567890", Name: "Budi", Text: "Halo"}); err != nil {
		t.Fatal(err)
	}
	reply := map[string]any{"to": "+6281234567890", "text": map[string]any{"body": "Halo Budi, pesanan siap."}}
	var body []byte
	kirimtest.WaitFor(t, "the window to open", 30*time.Second, func() bool {
		var status int
		status, body = a2.Call("POST", "/v1/messages", reply)
		if status != http.StatusAccepted && status != http.StatusUnprocessableEntity {
			t.Fatalf("free-form reply: %d %s", status, body)
		}
		return status == http.StatusAccepted
	})
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, a2, sent.ID)
}
