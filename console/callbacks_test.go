package console_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kirim/internal/kirimtest"
)

// receiver is a customer system's endpoint: it answers status and keeps what it got.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []*http.Request
	bodies [][]byte
}

func newReceiver(t *testing.T, status int) *receiver {
	rc := &receiver{status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got, rc.bodies = append(rc.got, r), append(rc.bodies, b)
		st := rc.status
		rc.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// signedBy reports whether the last request received carries a Standard Webhooks
// signature made with secret.
func (rc *receiver) signedBy(t *testing.T, secret string) bool {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) == 0 {
		t.Fatal("the endpoint got nothing")
	}
	r, body := rc.got[len(rc.got)-1], rc.bodies[len(rc.bodies)-1]
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		if sig == want {
			return true
		}
	}
	return false
}

var reSecret = regexp.MustCompile(`<pre id="secret">(whsec_[^<]+)</pre>`)

type endpointView struct {
	ID, URL, Description string
	Events               []string
}

// TestCallbacksPages: an admin makes an endpoint (its secret shown once, and the one
// that signs), tests it, edits, disables, rotates and deletes it, and replays a
// delivery that failed for good; refused forms mark their field.
func TestCallbacksPages(t *testing.T) {
	k := startEdited(t, "", `retry = ["5s", "30s", "2m", "10m", "30m", "1h", "2h", "4h", "8h", "8h"]`, `retry = ["10ms", "10ms"]`)
	good, dead := newReceiver(t, http.StatusOK), newReceiver(t, http.StatusServiceUnavailable)
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	if st, _, body := b.get("/console/callbacks"); st != http.StatusOK || !strings.Contains(body, "No endpoints yet.") || !strings.Contains(body, "No failed deliveries.") {
		t.Fatalf("callbacks: %d %s", st, body)
	}

	refused := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"scheme", url.Values{"url": {"ftp://example.com/x"}, "events": {"message.*"}}, http.StatusBadRequest,
			`id="e-url" name="url" type="url" required placeholder="https://…" value="ftp://example.com/x" aria-invalid="true"`},
		{"no events", url.Values{"url": {good.URL}, "events": {" , "}}, http.StatusBadRequest, `events: give at least one event type`},
		{"unknown event", url.Values{"url": {good.URL}, "events": {"message.*, parcel.lost"}}, http.StatusBadRequest, `&#34;parcel.lost&#34; is not an event type`},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := b.post("/console/callbacks", tc.form)
			if st != tc.status || !strings.Contains(body, tc.want) || strings.Contains(body, `id="secret"`) {
				t.Fatalf("%d, want %d with %q: %s", st, tc.status, tc.want, body)
			}
		})
	}

	st, _, body := b.post("/console/callbacks", url.Values{"url": {good.URL + "/kirim"}, "events": {"message.*, balance.low"}, "description": {"CRM"}})
	m := reSecret.FindStringSubmatch(body)
	if st != http.StatusOK || m == nil || !strings.Contains(body, "Endpoint created.") {
		t.Fatalf("create: %d %s", st, body)
	}
	secret := html.UnescapeString(m[1])
	var eps struct{ Data []endpointView }
	k.admin.Must(http.StatusOK, "GET", "/v1/callbacks/endpoints", nil, &eps)
	if len(eps.Data) != 1 || eps.Data[0].Description != "CRM" || strings.Join(eps.Data[0].Events, " ") != "message.* balance.low" {
		t.Fatalf("endpoints %+v", eps.Data)
	}
	id := eps.Data[0].ID
	page := "/console/callbacks/" + id
	if _, _, body := b.get("/console/callbacks"); !strings.Contains(body, `href="`+page+`"`) || strings.Contains(body, m[1]) {
		t.Error("the list lacks the endpoint or shows its secret")
	}
	if st, _, body := b.get(page); st != http.StatusOK || strings.Contains(body, "whsec_") || !strings.Contains(body, `value="message.*, balance.low"`) {
		t.Fatalf("endpoint page: %d %s", st, body)
	}

	// The test event is signed with the secret that was shown.
	st, _, body = b.post(page+"/test", nil)
	if st != http.StatusOK || !strings.Contains(body, "Test event: delivered, the endpoint answered 200.") {
		t.Fatalf("test: %d %s", st, body)
	}
	if !good.signedBy(t, secret) {
		t.Error("the test event is not signed with the secret shown")
	}

	// Edit: new events and description, disabled.
	st, loc, _ := b.post(page, url.Values{"url": {good.URL + "/kirim"}, "events": {"message.delivered"}, "description": {"CRM 2"}})
	if st != http.StatusSeeOther || loc != page+"?done=cb.saved_ok" {
		t.Fatalf("save: %d %q", st, loc)
	}
	// Read back through the page: the API's document does not describe a disabled
	// endpoint's disabled_reason, which the test server's schema check refuses.
	_, _, body = b.get(page + "?done=cb.saved_ok")
	for _, want := range []string{"Endpoint saved.", `value="CRM 2"`, `value="message.delivered"`, `id="e-enabled" name="enabled" type="checkbox" value="1">`, "disabled through the API"} {
		if !strings.Contains(body, want) {
			t.Errorf("after the edit the page lacks %q", want)
		}
	}
	if st, _, body := b.post(page, url.Values{"url": {"not a url"}, "events": {"message.*"}, "enabled": {"1"}}); st != http.StatusBadRequest ||
		!strings.Contains(body, `value="not a url" aria-invalid="true"`) {
		t.Errorf("a bad edit: %d %s", st, body)
	}

	// Rotation shows a new secret, once.
	st, _, body = b.post(page+"/rotate", nil)
	if m := reSecret.FindStringSubmatch(body); st != http.StatusOK || m == nil || html.UnescapeString(m[1]) == secret {
		t.Fatalf("rotate: %d %s", st, body)
	}

	// A dead endpoint's deliveries fail after the retries; the list offers a replay.
	var deadEp endpointView
	k.admin.Must(http.StatusCreated, "POST", "/v1/callbacks/endpoints", map[string]any{"url": dead.URL, "events": []string{"message.queued"}}, &deadEp)
	k.admin.Must(http.StatusAccepted, "POST", "/v1/messages", map[string]any{"to": "+6281300000021",
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, nil)
	var failed struct {
		Data []struct{ ID string } `json:"data"`
	}
	kirimtest.WaitFor(t, "the failed delivery", 30*time.Second, func() bool {
		k.admin.Must(http.StatusOK, "GET", "/v1/callbacks/deliveries?status=failed", nil, &failed)
		return len(failed.Data) == 1
	})
	if _, _, body := b.get("/console/callbacks"); !strings.Contains(body, `action="/console/callback-deliveries/`+failed.Data[0].ID+`/replay"`) ||
		!strings.Contains(body, "message.queued") || !strings.Contains(body, "503") {
		t.Fatalf("the failed delivery is not listed: %s", body)
	}
	if st, loc, _ := b.post("/console/callback-deliveries/"+failed.Data[0].ID+"/replay", nil); st != http.StatusSeeOther || loc != "/console/callbacks?done=cb.replayed_ok" {
		t.Fatalf("replay: %d %q", st, loc)
	}
	if st, _, _ := b.post("/console/callback-deliveries/dlv_nothing/replay", nil); st != http.StatusNotFound {
		t.Errorf("replay of nothing: %d", st)
	}

	if st, loc, _ := b.post(page+"/delete", nil); st != http.StatusSeeOther || loc != "/console/callbacks?done=cb.deleted_ok" {
		t.Fatalf("delete: %d %q", st, loc)
	}
	if st, _ := k.admin.Call("GET", "/v1/callbacks/endpoints/"+id, nil); st != http.StatusNotFound {
		t.Errorf("the deleted endpoint answers %d", st)
	}
	if st, _, body := b.get(page); st != http.StatusNotFound || !strings.Contains(body, "no such endpoint") {
		t.Errorf("the deleted endpoint's page: %d", st)
	}

	var audit struct {
		Data []struct{ Action, Key, Result string } `json:"data"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/audit?action=*", nil, &audit)
	got := map[string]bool{}
	for _, r := range audit.Data {
		got[r.Action+" "+r.Key+" "+r.Result] = true
	}
	for _, want := range []string{"endpoint.create demo-admin ok", "endpoint.create demo-admin invalid_field", "endpoint.test demo-admin ok",
		"endpoint.update demo-admin ok", "endpoint.rotate_secret demo-admin ok", "delivery.replay demo-admin ok", "endpoint.delete demo-admin ok"} {
		if !got[want] {
			t.Errorf("audit lacks %q", want)
		}
	}
}
