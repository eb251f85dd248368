package api_test

import (
	"bytes"
	"encoding/json"
	"kirim/api"
	"kirim/internal/openapicheck"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzSendMessage: whatever body a client posts, POST /v1/messages answers 202 or a
// client error in the error envelope, never a server error.
func FuzzSendMessage(f *testing.F) {
	for _, s := range []string{
		`{"to":"081234567890","template":{"name":"hello_world","language":"en_US"}}`,
		`{"to":"+6281234567890","template":{"name":"order_update","language":"en_US","body":["Budi","INV-9"]}}`,
		`{"to":"+6281234567890","template":{"name":"order_update","language":"en_US","body":{"a":"b"},"buttons":[{"index":0,"type":"url","text":"x y"}]}}`,
		`{"to":"+6281234567890","text":{"body":"hi"}}`,
		`{"to":"+6281234567890","interactive":{"type":"list","body":{"text":"x"},"action":{"button":"b","sections":[{"rows":[{"id":"1","title":"t"}]}]}}}`,
		`{"to":"+6281234567890","image":{"link":"https://x/a.jpg"},"text":{"body":"two kinds"}}`,
		`{"to":12}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	doc := openapicheck.New(f, api.OpenAPI())
	f.Fuzz(func(t *testing.T, body []byte) {
		e := newEnv(t, envOpts{})
		req := httptest.NewRequest(http.MethodPost, "/v1/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+keySendA)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.server.Handler().ServeHTTP(rec, req)
		if err := doc.Check(req, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			t.Fatalf("the answer %d %s is not in the OpenAPI document: %v", rec.Code, rec.Body.Bytes(), err)
		}
		switch rec.Code {
		case http.StatusAccepted:
			return
		case http.StatusBadRequest, http.StatusPaymentRequired, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("body %q answered %d: %s", body, rec.Code, rec.Body.Bytes())
		}
		var env struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error.Code == "" || env.Error.Message == "" {
			t.Fatalf("body %q: answer %d is not the error envelope: %s", body, rec.Code, rec.Body.Bytes())
		}
	})
}
