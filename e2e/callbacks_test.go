package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"kirim/internal/kirimtest"
)

// receiver is a customer's endpoint that verifies every request with the Standard
// Webhooks library (not Kirim's code) and remembers what arrived.
type receiver struct {
	t   *testing.T
	wh  *standardwebhooks.Webhook
	srv *httptest.Server

	mu     sync.Mutex
	bad    []string
	byID   map[string]string              // webhook-id -> body
	events map[string]map[string][]string // type -> resource id -> webhook-ids
	accts  map[string]int                 // account_id -> events
}

func newReceiver(t *testing.T, secret string) *receiver {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, wh: wh, byID: map[string]string{}, events: map[string]map[string][]string{}, accts: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.wh.Verify(body, req.Header); err != nil {
		r.bad = append(r.bad, err.Error())
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := req.Header.Get("webhook-id")
	if prev, ok := r.byID[id]; ok && prev != string(body) {
		r.bad = append(r.bad, "webhook-id "+id+" came with two bodies")
	}
	r.byID[id] = string(body)
	var ev struct {
		Type string `json:"type"`
		Data struct {
			ID        string `json:"id"`
			AccountID string `json:"account_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		r.bad = append(r.bad, "body: "+err.Error())
	}
	if r.events[ev.Type] == nil {
		r.events[ev.Type] = map[string][]string{}
	}
	r.events[ev.Type][ev.Data.ID] = append(r.events[ev.Type][ev.Data.ID], id)
	r.accts[ev.Data.AccountID]++
	w.WriteHeader(http.StatusNoContent)
}

// has reports whether an event of typ arrived for each id.
func (r *receiver) has(typ string, ids []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if len(r.events[typ][id]) == 0 {
			return false
		}
	}
	return true
}

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_dGVuYW50LWItc2VjcmV0LWZvci1lMmU="
)

// TestCallbacksSurviveCrashes sends 1,000 messages while Kirim is SIGKILLed twice, and
// checks that account A's endpoint got a signed message.sent and message.delivered for
// every message that reached the customer, duplicates only as retries of one
// webhook-id, and nothing of account B's; B's endpoint gets B's top-up.
func TestCallbacksSurviveCrashes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	ra, rb := newReceiver(t, secretA), newReceiver(t, secretB)
	c := newClusterWith(t, "0", fmt.Sprintf(`
[[accounts]]
id = "beta"
  [[accounts.keys]]
  key = "e2e_beta_key_0123456789"
  scopes = ["admin"]
[[callbacks]]
url = %q
secret = %q
events = ["*"]
account = "acme"
[[callbacks]]
url = %q
secret = %q
events = ["*"]
account = "beta"
[events]
retry = ["1s", "1s", "2s", "2s", "5s"]
`, ra.srv.URL, secretA, rb.srv.URL, secretB))
	c.startKirim()
	const n = 1000
	var ids []string
	for round := 0; round < 3; round++ {
		ids = append(ids, c.send(n/3+boolInt(round == 2, n%3))...)
		if round < 2 {
			c.kirim.kill9(t)
			c.startKirim()
		}
	}
	if len(ids) != n {
		t.Fatalf("accepted %d of %d", len(ids), n)
	}
	// B asks for a top-up; the operator confirms it.
	var tu struct{ ID string }
	beta := *c
	beta.key = "e2e_beta_key_0123456789"
	beta.must(201, "POST", "/v1/topups", map[string]any{"amount_micros": 5_000_000, "reference": "B-1"}, &tu)
	c.operator().must(200, "POST", "/v1/topups/"+tu.ID+"/confirm?account=beta", nil, nil)

	kirimtest.WaitFor(t, "every message to settle", 3*time.Minute, func() bool {
		for _, s := range []string{"queued", "waiting", "dispatching", "unknown", "sent"} {
			if c.countStatus(s) != 0 {
				return false
			}
		}
		return true
	})
	var reached []string
	for _, id := range ids {
		if m := c.message(id); m.Status == "delivered" || m.Status == "read" {
			reached = append(reached, id)
		}
	}
	if len(reached) < n*9/10 {
		t.Fatalf("only %d of %d messages were delivered", len(reached), n)
	}
	kirimtest.WaitFor(t, "every sent and delivered event", 2*time.Minute, func() bool {
		return ra.has("message.sent", reached) && ra.has("message.delivered", reached) && rb.has("topup.confirmed", []string{tu.ID})
	})
	for _, r := range []*receiver{ra, rb} {
		r.mu.Lock()
		if len(r.bad) > 0 {
			t.Errorf("refused deliveries: %q", r.bad[:min(5, len(r.bad))])
		}
		dups := 0
		for typ, byRes := range r.events {
			for res, hooks := range byRes {
				for _, h := range hooks[1:] {
					dups++
					if h != hooks[0] {
						t.Errorf("%s of %s came as two events: %s and %s", typ, res, hooks[0], h)
					}
				}
			}
		}
		t.Logf("receiver: %d events by type %v, %d redelivered, accounts %v", len(r.byID), countTypes(r.events), dups, r.accts)
		r.mu.Unlock()
	}
	ra.mu.Lock()
	if ra.accts["beta"] != 0 {
		t.Errorf("A's endpoint received %d of B's events", ra.accts["beta"])
	}
	ra.mu.Unlock()
	rb.mu.Lock()
	if rb.accts["acme"] != 0 {
		t.Errorf("B's endpoint received %d of A's events", rb.accts["acme"])
	}
	rb.mu.Unlock()
}

func boolInt(b bool, v int) int {
	if b {
		return v
	}
	return 0
}

func countTypes(m map[string]map[string][]string) map[string]int {
	out := map[string]int{}
	for t, byRes := range m {
		out[t] = len(byRes)
	}
	return out
}

// TestUnknownCallbackKeyStopsServe: a typo in [[callbacks]] stops `kirim serve` with the
// file, line and key; nothing in the configuration is silently ignored.
func TestUnknownCallbackKeyStopsServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(src) + "\n[[callbacks]]\nurl = \"http://127.0.0.1:9/x\"\nsecrte = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nevents = [\"*\"]\n"
	path := filepath.Join(t.TempDir(), "kirim.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	line := strings.Count(cfg[:strings.Index(cfg, "secrte")], "\n") + 1
	cmd := exec.Command(kirimBinary(t), "serve", "--config", path, "--data", t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("serve started with an unknown key:\n%s", out)
	}
	for _, want := range []string{fmt.Sprintf("kirim.toml:%d: callbacks[0].secrte: unknown key", line)} {
		if !strings.Contains(string(out), want) {
			t.Errorf("serve's error lacks %q:\n%s", want, out)
		}
	}
}
