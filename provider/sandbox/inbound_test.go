package sandbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"kirim/provider"
)

// TestInboundTypes posts each kind of customer message over HTTP and checks the
// webhook it becomes; a media file is then served by the Cloud API media endpoints.
func TestInboundTypes(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1}, true)
	pdf := []byte("%PDF-1.4 invoice \x00\x01\x02 bytes")
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, m provider.InboundMessage)
	}{
		{"image with caption", `{"from":"` + budi + `","type":"image","media":{"mime_type":"image/png","text":"PNGDATA","caption":"struk"},"context":{"message_id":"wamid.OURS"}}`,
			func(t *testing.T, m provider.InboundMessage) {
				if m.Image == nil || m.Image.ID == "" || m.Image.MimeType != "image/png" || m.Image.Caption != "struk" || m.Image.SHA256 == "" {
					t.Errorf("image %+v", m.Image)
				}
				if m.Context == nil || m.Context.ID != "wamid.OURS" {
					t.Errorf("context %+v", m.Context)
				}
			}},
		{"document", `{"from":"` + budi + `","type":"document","media":{"mime_type":"application/pdf","data":"` + base64.StdEncoding.EncodeToString(pdf) + `","filename":"inv.pdf"}}`,
			func(t *testing.T, m provider.InboundMessage) {
				if m.Document == nil || m.Document.Filename != "inv.pdf" {
					t.Fatalf("document %+v", m.Document)
				}
				c := e.client(0)
				info, err := c.MediaInfo(context.Background(), m.Document.ID)
				if err != nil || info.MimeType != "application/pdf" || info.FileSize != int64(len(pdf)) {
					t.Fatalf("media info %+v: %v", info, err)
				}
				body, ctype, size, err := c.DownloadMedia(context.Background(), info.URL)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(body)
				body.Close()
				if !bytes.Equal(got, pdf) || ctype != "application/pdf" || size != int64(len(pdf)) {
					t.Errorf("download: %q %s %d", got, ctype, size)
				}
			}},
		{"location", `{"from":"` + budi + `","type":"location","location":{"latitude":-6.2,"longitude":106.8,"name":"Kantor","address":"Jl. Sudirman"}}`,
			func(t *testing.T, m provider.InboundMessage) {
				if m.Location == nil || m.Location.Address != "Jl. Sudirman" {
					t.Errorf("location %+v", m.Location)
				}
			}},
		{"contacts", `{"from":"` + budi + `","type":"contacts","contacts":[{"name":{"formatted_name":"Sari"},"phones":[{"phone":"+6281200000002"}]}]}`,
			func(t *testing.T, m provider.InboundMessage) {
				if len(m.Contacts) != 1 || m.Contacts[0].Name.FormattedName != "Sari" {
					t.Errorf("contacts %+v", m.Contacts)
				}
			}},
		{"list reply", `{"from":"` + budi + `","type":"interactive","interactive":{"type":"list_reply","id":"row-2","title":"Besok"}}`,
			func(t *testing.T, m provider.InboundMessage) {
				if m.Interactive == nil || m.Interactive.ListReply == nil || m.Interactive.ListReply.ID != "row-2" {
					t.Errorf("interactive %+v", m.Interactive)
				}
			}},
		{"reaction", `{"from":"` + budi + `","type":"reaction","reaction":{"message_id":"wamid.X","emoji":"❤️"}}`,
			func(t *testing.T, m provider.InboundMessage) {
				if m.Reaction == nil || m.Reaction.MessageID != "wamid.X" || m.Reaction.Emoji != "❤️" {
					t.Errorf("reaction %+v", m.Reaction)
				}
			}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(e.srv.URL+"/_sandbox/inbound", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, out)
			}
			msgs := e.catcher.waitField(provider.FieldMessages, i+1)
			v := decode[provider.MessagesValue](t, msgs[i].value)
			if len(v.Messages) != 1 || !strings.Contains(string(out), v.Messages[0].ID) {
				t.Fatalf("webhook %s for answer %s", msgs[i].value, out)
			}
			tt.check(t, v.Messages[0])
		})
	}
}

// TestInboundRefusals: each malformed request is refused, naming its field.
func TestInboundRefusals(t *testing.T) {
	e := newEnv(t, Options{}, false)
	for _, tt := range []struct{ body, field string }{
		{`{"from":"` + budi + `","type":"image"}`, "media"},
		{`{"from":"` + budi + `","type":"image","media":{"mime_type":"image/gif","text":"x"}}`, "media.mime_type"},
		{`{"from":"` + budi + `","type":"image","media":{"data":"%%%"}}`, "media.data"},
		{`{"from":"` + budi + `","type":"image","media":{"data":"eA==","text":"x"}}`, "media"},
		{`{"from":"` + budi + `","type":"location","location":{"latitude":91,"longitude":0}}`, "location.latitude"},
		{`{"from":"` + budi + `","type":"location"}`, "location"},
		{`{"from":"` + budi + `","type":"contacts","contacts":[{"name":{}}]}`, "contacts[0].name.formatted_name"},
		{`{"from":"` + budi + `","type":"interactive","interactive":{"type":"nfm_reply","id":"a","title":"b"}}`, "interactive.type"},
		{`{"from":"` + budi + `","type":"interactive"}`, "interactive"},
		{`{"from":"` + budi + `","type":"reaction","reaction":{"emoji":"x"}}`, "reaction.message_id"},
		{`{"from":"` + budi + `","text":"hi","context":{}}`, "context.message_id"},
		{`{"from":"` + budi + `","text":"hi","media":{"text":"x"}}`, "media"},
		{`{"from":"` + budi + `","type":"poll"}`, "type"},
	} {
		resp, err := http.Post(e.srv.URL+"/_sandbox/inbound", "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(out), tt.field) {
			t.Errorf("%s: %d %s, want 400 naming %s", tt.body, resp.StatusCode, out, tt.field)
		}
	}
}
