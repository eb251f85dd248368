package app_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kirim/app"
	"kirim/app/apptest"
	"kirim/internal/kirimtest"
)

// uploadList imports csv as a list of the demo account and waits for the import.
func uploadList(t *testing.T, m *app.Main, a *kirimtest.API, name, csv string) string {
	t.Helper()
	id, _ := upload(t, m, a.As(app.DemoKey, ""), name, csv)
	return id
}

// TestCampaignLifecycleAPI drives a campaign through every verb of the API on a
// running Kirim: quote, launch, pause, resume, runs, retry, cancel, and the states
// each answers with.
func TestCampaignLifecycleAPI(t *testing.T) {
	m, a := apptest.Example(t)
	var csv strings.Builder
	csv.WriteString("phone,name\n")
	for i := range 30 {
		fmt.Fprintf(&csv, "+62813770%05d,Pelanggan %d\n", i, i)
	}
	list := uploadList(t, m, a, "Lifecycle", csv.String())
	var c struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	a.Must(http.StatusCreated, "POST", "/v1/campaigns", map[string]any{"name": "Lifecycle", "list_ids": []string{list},
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &c)
	var q struct {
		Recipients int64 `json:"recipients"`
	}
	a.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/quote", nil, &q)
	if q.Recipients != 30 {
		t.Fatalf("quote %+v", q)
	}
	a.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/launch", nil, &c)
	a.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/pause", nil, &c)
	if c.State != "paused" && c.State != "completed" {
		t.Fatalf("after pause: %s", c.State)
	}
	if c.State == "paused" {
		a.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/resume", nil, &c)
	}
	kirimtest.WaitFor(t, "completion", 60*time.Second, func() bool {
		a.Must(http.StatusOK, "GET", "/v1/campaigns/"+c.ID, nil, &c)
		return c.State == "completed"
	})
	// The scrape after a campaign is clean for promtool and counts its messages (the
	// counter follows each commit, so it may trail the campaign's state a moment).
	var text string
	kirimtest.WaitFor(t, "the campaign's sends in the metrics", 10*time.Second, func() bool {
		var code int
		code, text = scrape(t, "http://"+m.APIAddr, "")
		// A message that is sent and delivered in one commit is counted once, as delivered.
		reached := 0
		for _, m := range regexp.MustCompile(`(?m)^kirim_messages_total\{number="main",state="(?:sent|delivered|read)"\} (\d+)$`).FindAllStringSubmatch(text, -1) {
			n, _ := strconv.Atoi(m[1])
			reached += n
		}
		return code == http.StatusOK && reached >= 30
	})
	promtoolCheck(t, text)
	var runs struct {
		Data []map[string]any `json:"data"`
	}
	a.Must(http.StatusOK, "GET", "/v1/campaigns/"+c.ID+"/runs", nil, &runs)
	if len(runs.Data) != 1 {
		t.Fatalf("runs %+v", runs)
	}
	var all struct {
		Data []map[string]any `json:"data"`
	}
	a.Must(http.StatusOK, "GET", "/v1/campaigns", nil, &all)
	if len(all.Data) != 1 {
		t.Fatalf("campaigns %+v", all)
	}
	var recipients struct {
		Data []map[string]any `json:"data"`
	}
	a.Must(http.StatusOK, "GET", "/v1/campaigns/"+c.ID+"/recipients?limit=100", nil, &recipients)
	if len(recipients.Data) != 30 {
		t.Fatalf("%d recipients", len(recipients.Data))
	}
	if status, b := a.Call("GET", "/v1/campaigns/"+c.ID+"/recipients", nil, "Accept", "text/csv"); status != http.StatusOK ||
		strings.Count(string(b), "\n") != 31 {
		t.Fatalf("recipients as CSV: %d %q", status, b)
	}
	var retried struct {
		Requeued int64 `json:"requeued"`
	}
	a.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/retry", nil, &retried)
	if retried.Requeued != 0 {
		t.Fatalf("retry of a campaign without failures: %+v", retried)
	}
	if status, b := a.Call("POST", "/v1/campaigns/"+c.ID+"/cancel", nil); status != http.StatusConflict {
		t.Fatalf("cancel a completed campaign: %d %s", status, b)
	}
	if status, _ := a.Call("POST", "/v1/campaigns/cmp_01M00000000000000000000000/pause", nil); status != http.StatusNotFound {
		t.Fatalf("pause an unknown campaign: %d", status)
	}
	// A second campaign, cancelled before it ends.
	a.Must(http.StatusCreated, "POST", "/v1/campaigns", map[string]any{"name": "Cancelled", "list_ids": []string{list},
		"template": map[string]string{"name": "hello_world", "language": "en_US"},
		"schedule": map[string]string{"at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}, &c)
	a.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/cancel", nil, &c)
	if c.State != "cancelled" {
		t.Fatalf("after cancel: %s", c.State)
	}
	// The document, the handshake and the replay of a dead letter that is not there.
	a.Must(http.StatusOK, "GET", "/v1/openapi.json", nil, nil)
	if status, _ := a.As(app.DemoOperatorKey, "").Call("POST", "/v1/webhooks/dead/whk_01M00000000000000000000000/replay", nil); status != http.StatusNotFound {
		t.Fatalf("replay of nothing: %d", status)
	}
	resp, err := http.Get("http://" + m.APIAddr + "/webhook?hub.mode=subscribe&hub.verify_token=sandbox-verify-token&hub.challenge=42")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "42" {
		t.Fatalf("handshake: %d %q", resp.StatusCode, b)
	}
}
