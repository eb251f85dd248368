package app_test

import (
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kirim/app/apptest"
	"kirim/internal/kirimtest"
)

// scrape fetches /metrics with the bearer token (none when empty).
func scrape(t *testing.T, base, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// promtoolCheck runs `promtool check metrics` on a scrape, where promtool is installed.
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed: the scrape is not linted")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestMetrics: after sends, the scrape has the series the README documents with the
// values the API shows, every label value is bounded (no phone, no message id, no raw
// path), promtool finds nothing to say, and a token guards /metrics when configured.
func TestMetrics(t *testing.T) {
	m, a := apptest.Example(t, "KIRIM_SERVER_METRICS_TOKEN=scrape-token-1")
	base := "http://" + m.APIAddr
	var ids []string
	for i := range 3 {
		var out struct {
			ID string `json:"id"`
		}
		a.Must(http.StatusAccepted, "POST", "/v1/messages", map[string]any{"to": "+62812990000" + string(rune('1'+i)),
			"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &out)
		ids = append(ids, out.ID)
	}
	kirimtest.WaitFor(t, "deliveries", 30*time.Second, func() bool {
		for _, id := range ids {
			var v struct {
				Status string `json:"status"`
			}
			a.Must(http.StatusOK, "GET", "/v1/messages/"+id, nil, &v)
			if v.Status != "delivered" && v.Status != "read" {
				return false
			}
		}
		return true
	})
	if code, _ := scrape(t, base, ""); code != http.StatusUnauthorized {
		t.Fatalf("scrape without the token: %d", code)
	}
	if code, _ := scrape(t, base, "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("scrape with a wrong token: %d", code)
	}
	// The counters follow each commit and the webhook inbox drains on its own: the
	// scrape may trail the API a moment.
	var text string
	kirimtest.WaitFor(t, "the deliveries in the metrics", 10*time.Second, func() bool {
		var code int
		code, text = scrape(t, base, "scrape-token-1")
		if code != http.StatusOK {
			t.Fatalf("scrape: %d", code)
		}
		reached := 0
		for _, m := range regexp.MustCompile(`(?m)^kirim_messages_total\{number="main",state="(?:delivered|read)"\} (\d+)$`).FindAllStringSubmatch(text, -1) {
			n, _ := strconv.Atoi(m[1])
			reached += n
		}
		return reached >= 3 && strings.Contains(text, "kirim_webhook_inbox_bodies 0\n")
	})
	for _, want := range []string{
		`kirim_messages_total{number="main",state="delivered"}`,
		`kirim_queue_messages{number="main"} 0`,
		`kirim_tier_used_recipients{number="main"} 3`,
		`kirim_tier_limit_recipients{number="main"} 250`,
		`kirim_number_quality{number="main",quality="GREEN"} 1`,
		`kirim_ledger_held_micros{account="demo",currency="IDR"}`,
		`kirim_ledger_captured_micros_total{currency="IDR"}`,
		`kirim_webhook_inbox_bodies 0`,
		`kirim_webhook_events_total{event="received"}`,
		`kirim_webhook_dead_letters 0`,
		`kirim_http_request_duration_seconds_count{code="202",method="POST",route="/v1/messages"} 3`,
		`kirim_http_request_duration_seconds_count{code="200",method="POST",route="/webhook"}`,
		`kirim_provider_request_duration_seconds_count{code="200",method="post"}`,
		`kirim_storage_bytes{kind="lsm"}`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if regexp.MustCompile(`"\+?62812|msg_[0-9A-Z]{26}|wamid\.`).MatchString(text) {
		t.Errorf("a label holds a phone or an id:\n%s", text)
	}
	promtoolCheck(t, text)
}
