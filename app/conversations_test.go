package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"kirim/app"
	"kirim/internal/kirimtest"
)

// customerWrites posts a customer's message to the sandbox over HTTP, as a test
// harness would, and returns its wamid.
func customerWrites(t *testing.T, m *app.Main, body map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(m.Clients["main"].Config().BaseURL+"/_sandbox/inbound", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sandbox inbound: %d %v", resp.StatusCode, err)
	}
	return out.ID
}

type convItem struct {
	ID, Direction, From, To, WAMID, Type, Text, Status string
	Media                                              *struct{ ID, MimeType, Caption, Filename, URL string }
	Interactive                                        *struct{ Type, ID, Title string }
	Context                                            *struct {
		MessageID string `json:"message_id"`
		WAMID     string
	}
}

type convPage struct {
	Data       []convItem `json:"data"`
	NextCursor string     `json:"next_cursor"`
}

// TestConversationsPerAccount: replies to A's number are A's: in A's conversation and
// inbound listing with their content, a media reply's file downloads byte for byte;
// B sees none of it and cannot fetch the file.
func TestConversationsPerAccount(t *testing.T) {
	m, a := twoTenants(t)
	b := a.As(tenAdminB, "")
	const customer = "+6281200000077"
	var sent struct{ ID string }
	a.Must(http.StatusAccepted, "POST", "/v1/messages", helloTo(customer), &sent)
	var wamid string
	kirimtest.WaitFor(t, "the send", 30*time.Second, func() bool {
		var msg struct{ WAMID string }
		a.Must(http.StatusOK, "GET", "/v1/messages/"+sent.ID, nil, &msg)
		wamid = msg.WAMID
		return wamid != ""
	})

	file := []byte("%PDF-1.4\x00\xff\x10 faktur INV-42")
	// Each reply is waited for before the next is written: the sandbox posts its
	// webhooks on their own, so two at once may arrive in either order.
	replies := 0
	write := func(body map[string]any) {
		t.Helper()
		customerWrites(t, m, body)
		replies++
		kirimtest.WaitFor(t, "the reply", 30*time.Second, func() bool {
			var c convPage
			a.Must(http.StatusOK, "GET", "/v1/contacts/"+customer+"/messages", nil, &c)
			return len(c.Data) == 1+replies
		})
	}
	write(map[string]any{"from": customer, "name": "Budi", "phone_number_id": "100000000000001", "text": "Sudah sampai, terima kasih",
		"context": map[string]string{"message_id": wamid}})
	write(map[string]any{"from": customer, "phone_number_id": "100000000000001", "type": "document",
		"media": map[string]string{"mime_type": "application/pdf", "data": base64.StdEncoding.EncodeToString(file), "filename": "faktur.pdf", "caption": "faktur"}})
	write(map[string]any{"from": customer, "phone_number_id": "100000000000001", "type": "interactive",
		"interactive": map[string]string{"type": "button_reply", "id": "ok", "title": "Oke"}})
	// The same customer writes to B's number too: that is B's conversation.
	customerWrites(t, m, map[string]any{"from": customer, "phone_number_id": "100000000000002", "text": "for beta"})
	kirimtest.WaitFor(t, "B's reply", 30*time.Second, func() bool {
		var p convPage
		b.Must(http.StatusOK, "GET", "/v1/messages?direction=inbound", nil, &p)
		return len(p.Data) == 1
	})

	var conv convPage
	kirimtest.WaitFor(t, "the replies", 30*time.Second, func() bool {
		a.Must(http.StatusOK, "GET", "/v1/contacts/"+customer+"/messages", nil, &conv)
		return len(conv.Data) == 4
	})
	want := []struct{ dir, typ, text string }{
		{"inbound", "interactive", "Oke"}, {"inbound", "document", ""}, {"inbound", "text", "Sudah sampai, terima kasih"}, {"outbound", "template", ""},
	}
	for i, w := range want {
		it := conv.Data[i]
		if it.Direction != w.dir || it.Type != w.typ || it.Text != w.text {
			t.Errorf("item %d: %+v, want %+v", i, it, w)
		}
	}
	if c := conv.Data[2].Context; c == nil || c.MessageID != sent.ID || c.WAMID != wamid {
		t.Errorf("the reply's context %+v, want %s / %s", c, sent.ID, wamid)
	}
	if it := conv.Data[0]; it.Interactive == nil || it.Interactive.ID != "ok" || it.From != customer || it.To != "main" {
		t.Errorf("button reply %+v", it)
	}
	if conv.Data[3].ID != sent.ID || conv.Data[3].Status == "" {
		t.Errorf("outbound item %+v", conv.Data[3])
	}
	doc := conv.Data[1].Media
	if doc == nil || doc.URL != "/v1/media/"+doc.ID || doc.Filename != "faktur.pdf" {
		t.Fatalf("document %+v", doc)
	}

	// Pages of two hold the same items in the same order.
	var paged []string
	cursor := ""
	for {
		var p convPage
		a.Must(http.StatusOK, "GET", "/v1/contacts/"+customer+"/messages?limit=2&cursor="+cursor, nil, &p)
		for _, it := range p.Data {
			paged = append(paged, it.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(paged) != 4 || paged[0] != conv.Data[0].ID || paged[3] != sent.ID {
		t.Errorf("paged %v", paged)
	}

	var inbound convPage
	a.Must(http.StatusOK, "GET", "/v1/messages?direction=inbound&from="+customer, nil, &inbound)
	if len(inbound.Data) != 3 || inbound.Data[2].Text != "Sudah sampai, terima kasih" {
		t.Errorf("A's inbound: %+v", inbound.Data)
	}
	var bIn convPage
	b.Must(http.StatusOK, "GET", "/v1/messages?direction=inbound", nil, &bIn)
	if len(bIn.Data) != 1 || bIn.Data[0].Text != "for beta" || bIn.Data[0].To != "beta-main" {
		t.Errorf("B's inbound: %+v", bIn.Data)
	}
	var bConv convPage
	b.Must(http.StatusOK, "GET", "/v1/contacts/"+customer+"/messages", nil, &bConv)
	if len(bConv.Data) != 1 || bConv.Data[0].Text != "for beta" {
		t.Errorf("B's conversation: %+v", bConv.Data)
	}

	// The file, byte for byte, for A; not found for B.
	req, _ := http.NewRequest(http.MethodGet, a.Base+doc.URL, nil)
	req.Header.Set("Authorization", "Bearer "+tenSendA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, file) || resp.Header.Get("Content-Type") != "application/pdf" ||
		resp.ContentLength != int64(len(file)) {
		t.Fatalf("A's download: %d %s %d %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength, got)
	}
	if status, body := b.Call("GET", doc.URL, nil); status != http.StatusNotFound {
		t.Errorf("B's download: %d %s", status, body)
	}
	if status, _ := a.Call("GET", "/v1/media/999999", nil); status != http.StatusNotFound {
		t.Errorf("unknown media: %d", status)
	}

	// A reply names the inbound message by our id; an unknown direction is refused.
	a.Must(http.StatusAccepted, "POST", "/v1/messages", map[string]any{"to": customer, "text": map[string]string{"body": "Sama-sama"},
		"context": map[string]string{"message_id": conv.Data[2].ID}}, nil)
	if status, body := b.Call("POST", "/v1/messages", map[string]any{"to": customer, "text": map[string]string{"body": "x"},
		"context": map[string]string{"message_id": conv.Data[2].ID}}); status != http.StatusBadRequest {
		t.Errorf("B replying to A's inbound message: %d %s", status, body)
	}
	if status, body := a.Call("GET", "/v1/messages?direction=sideways", nil); status != http.StatusBadRequest || !bytes.Contains(body, []byte(`"direction"`)) {
		t.Errorf("unknown direction: %d %s", status, body)
	}
	if status, _ := a.Call("GET", "/v1/contacts/"+customer+"/messages?cursor=bogus", nil); status != http.StatusBadRequest {
		t.Errorf("bogus cursor: %d", status)
	}
}
