package api

import (
	"encoding/json"
	"testing"
	"time"

	"kirim/engine"
)

// FuzzInboundView: whatever a provider sent as a message (stored as received), its
// view is made without a panic, and a media view always points at the media route.
func FuzzInboundView(f *testing.F) {
	for _, s := range []string{
		`{"from":"62812","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"halo"}}`,
		`{"type":"image","image":{"id":"1","mime_type":"image/png","caption":"c"},"context":{"id":"wamid.0"}}`,
		`{"type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"response_json":"{}"}}}`,
		`{"type":"reaction","reaction":{"message_id":"wamid.0","emoji":"👍"}}`,
		`{"type":"location","location":{"latitude":1e308,"longitude":-1}}`,
		`{"type":"contacts","contacts":[{"name":{"formatted_name":"x"}}]}`,
		`null`, `[]`, `{"image":null,"button":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		if !json.Valid(content) {
			return
		}
		rec := &engine.InboundRecord{ID: "inb_x", Account: "a", Number: "main", From: "+62812", Content: content, At: time.Unix(1, 0),
			Context: &engine.MessageRef{WAMID: "wamid.0"}}
		v, err := inboundViewOf(rec)
		if err != nil {
			return
		}
		if v.Media != nil && v.Media.URL != "/v1/media/"+v.Media.ID {
			t.Fatalf("media url %q for id %q", v.Media.URL, v.Media.ID)
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("view does not encode: %v", err)
		}
	})
}
