package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kirim/engine"
)

// TestHooksAndHandler: the send hooks count by number, state and bounded error code;
// the handler serves them, behind the token when one is set.
func TestHooksAndHandler(t *testing.T) {
	m := New()
	m.ObserveMessages([]*engine.Message{
		{Number: "main", State: engine.Sent},
		{Number: "main", State: engine.Failed, Error: &engine.MessageError{Code: 131026}},
		{Number: "main", State: engine.Failed, Error: &engine.MessageError{Code: 987654}},
	})
	m.ObserveRequest("/v1/messages/:id", "GET", 404, 3*time.Millisecond)
	get := func(h http.Handler, auth string) (int, string) {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	code, body := get(m.Handler(""), "")
	if code != 200 {
		t.Fatalf("open scrape: %d", code)
	}
	for _, want := range []string{
		`kirim_messages_total{number="main",state="sent"} 1`,
		`kirim_messages_total{number="main",state="failed"} 2`,
		`kirim_send_errors_total{code="131026",number="main"} 1`,
		`kirim_send_errors_total{code="other",number="main"} 1`,
		`kirim_http_request_duration_seconds_count{code="404",method="GET",route="/v1/messages/:id"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	guarded := m.Handler("s3cret-token")
	for _, auth := range []string{"", "Bearer wrong", "Basic s3cret-token", "Bearer s3cret-tokenX"} {
		if code, body := get(guarded, auth); code != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthorized"`) {
			t.Fatalf("auth %q: %d %s", auth, code, body)
		}
	}
	for _, auth := range []string{"Bearer s3cret-token", "bearer s3cret-token"} {
		if code, _ := get(guarded, auth); code != 200 {
			t.Fatalf("auth %q: %d", auth, code)
		}
	}
}
