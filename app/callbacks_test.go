package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"kirim/config"
	"kirim/internal/kirimtest"
	"kirim/provider/sandbox"
)

// hookReceiver answers with status (500 until told otherwise) and keeps the events it
// verified with the Standard Webhooks library.
type hookReceiver struct {
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	secret string
	got    map[string][]string // type -> data.id
	texts  map[string][]string // type -> data.text
	ids    map[string]int      // webhook-id -> deliveries
	bad    int
}

func newHookReceiver(t *testing.T, status int) *hookReceiver {
	r := &hookReceiver{got: map[string][]string{}, texts: map[string][]string{}, ids: map[string]int{}}
	r.status.Store(int32(status))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(r.secret)
		if err == nil {
			err = wh.Verify(body, req.Header)
		}
		if err != nil {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		st := int(r.status.Load())
		if st >= 300 {
			w.WriteHeader(st)
			_, _ = io.WriteString(w, "not now")
			return
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				ID   string `json:"id"`
				Text string `json:"text"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &ev)
		r.got[ev.Type] = append(r.got[ev.Type], ev.Data.ID)
		r.texts[ev.Type] = append(r.texts[ev.Type], ev.Data.Text)
		r.ids[req.Header.Get("webhook-id")]++
		w.WriteHeader(st)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) count(typ string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got[typ])
}

func (r *hookReceiver) setSecret(s string) {
	r.mu.Lock()
	r.secret = s
	r.mu.Unlock()
}

// TestCallbackEndpointsRecoverAndReplay: an endpoint made through the API that answers
// 500 gets every event once it recovers; one that is down past the (shortened) retry
// horizon shows its failed deliveries, and a replay delivers them.
func TestCallbackEndpointsRecoverAndReplay(t *testing.T) {
	m, a := twoTenantsWith(t, "[events]\nretry = [\"50ms\", \"50ms\", \"50ms\"]\n")
	b := a.As(tenAdminB, "")

	flaky, dead := newHookReceiver(t, 500), newHookReceiver(t, 503)
	var ep struct{ ID, Secret string }
	a.Must(http.StatusCreated, "POST", "/v1/callbacks/endpoints", map[string]any{"url": flaky.srv.URL, "events": []string{"message.*"}}, &ep)
	flaky.setSecret(ep.Secret)
	// B's endpoint takes every event of B's; none of A's may reach it.
	bRecv := newHookReceiver(t, 200)
	var bEp struct{ ID, Secret string }
	b.Must(http.StatusCreated, "POST", "/v1/callbacks/endpoints", map[string]any{"url": bRecv.srv.URL, "events": []string{"*"}}, &bEp)
	bRecv.setSecret(bEp.Secret)
	var deadEp struct{ ID, Secret string }
	a.Must(http.StatusCreated, "POST", "/v1/callbacks/endpoints", map[string]any{"url": dead.srv.URL, "events": []string{"message.sent"}, "description": "down"}, &deadEp)
	dead.setSecret(deadEp.Secret)

	// Another account neither sees the endpoint nor may change it; link-local is refused.
	if status, _ := b.Call("GET", "/v1/callbacks/endpoints/"+ep.ID, nil); status != http.StatusNotFound {
		t.Fatalf("B reads A's endpoint: %d", status)
	}
	if status, _ := b.Call("DELETE", "/v1/callbacks/endpoints/"+ep.ID, nil); status != http.StatusNotFound {
		t.Fatalf("B deletes A's endpoint: %d", status)
	}
	if status, body := a.Call("POST", "/v1/callbacks/endpoints", map[string]any{"url": "http://169.254.169.254/latest", "events": []string{"*"}}); status != http.StatusBadRequest {
		t.Fatalf("a metadata URL: %d %s", status, body)
	}

	const n = 5
	for i := 0; i < n; i++ {
		a.Must(http.StatusAccepted, "POST", "/v1/messages", helloTo(fmt.Sprintf("+62812000001%02d", i)), nil)
	}
	kirimtest.WaitFor(t, "retries under way", 20*time.Second, func() bool {
		var ds struct{ Data []map[string]any }
		a.Must(http.StatusOK, "GET", "/v1/callbacks/deliveries?status=retrying&endpoint_id="+ep.ID, nil, &ds)
		return len(ds.Data) > 0
	})
	flaky.status.Store(200)
	kirimtest.WaitFor(t, "the recovered endpoint's events", 30*time.Second, func() bool {
		return flaky.count("message.sent") >= n && flaky.count("message.delivered") >= n
	})

	// The dead endpoint's deliveries fail after the last retry and are kept.
	var failed struct {
		Data []struct {
			ID, Status, LastBody string
			LastCode             int `json:"last_code"`
		} `json:"data"`
	}
	kirimtest.WaitFor(t, "the failed deliveries", 30*time.Second, func() bool {
		a.Must(http.StatusOK, "GET", "/v1/callbacks/deliveries?status=failed&endpoint_id="+deadEp.ID, nil, &failed)
		return len(failed.Data) >= n
	})
	if d := failed.Data[0]; d.LastCode != 503 || d.Status != "failed" {
		t.Fatalf("failed delivery %+v", d)
	}
	if status, _ := b.Call("POST", "/v1/callbacks/deliveries/"+failed.Data[0].ID+"/replay", nil); status != http.StatusNotFound {
		t.Fatalf("B replays A's delivery: %d", status)
	}
	dead.status.Store(204)
	a.Must(http.StatusAccepted, "POST", "/v1/callbacks/deliveries/"+failed.Data[0].ID+"/replay", nil, nil)
	kirimtest.WaitFor(t, "the replayed delivery", 20*time.Second, func() bool { return dead.count("message.sent") >= 1 })
	var replayed struct{ Requeued int }
	a.Must(http.StatusAccepted, "POST", "/v1/callbacks/endpoints/"+deadEp.ID+"/replay?since="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), nil, &replayed)
	if replayed.Requeued < n {
		t.Fatalf("replay since: %d requeued", replayed.Requeued)
	}
	kirimtest.WaitFor(t, "every replayed event", 20*time.Second, func() bool { return dead.count("message.sent") >= n+1 })

	// A customer's reply reaches the endpoint with its text, and shows in the conversation.
	if _, err := m.Sandbox.Inbound(sandbox.InboundRequest{From: "6281200000100", Text: "Terima kasih!"}); err != nil {
		t.Fatal(err)
	}
	kirimtest.WaitFor(t, "the message.inbound event", 20*time.Second, func() bool { return flaky.count("message.inbound") == 1 })
	flaky.mu.Lock()
	text := flaky.texts["message.inbound"]
	flaky.mu.Unlock()
	if len(text) != 1 || text[0] != "Terima kasih!" {
		t.Fatalf("inbound event text %q", text)
	}
	var conv struct {
		Data []struct{ Direction, Text string } `json:"data"`
	}
	a.Must(http.StatusOK, "GET", "/v1/contacts/+6281200000100/messages", nil, &conv)
	if len(conv.Data) < 2 || conv.Data[0].Direction != "inbound" || conv.Data[0].Text != "Terima kasih!" {
		t.Fatalf("conversation %+v", conv.Data)
	}
	bRecv.mu.Lock()
	leaked := len(bRecv.got)
	bRecv.mu.Unlock()
	if leaked != 0 {
		t.Fatalf("B's endpoint received A's events: %v", bRecv.got)
	}

	// A test event, and a rotated secret still verified by the receiver.
	var test struct{ Status string }
	a.Must(http.StatusOK, "POST", "/v1/callbacks/endpoints/"+ep.ID+"/test", nil, &test)
	if test.Status != "delivered" || flaky.count("endpoint.test") != 1 {
		t.Fatalf("test delivery %+v, received %d", test, flaky.count("endpoint.test"))
	}
	var rotated struct{ Secret string }
	a.Must(http.StatusOK, "POST", "/v1/callbacks/endpoints/"+ep.ID+"/rotate-secret", nil, &rotated)
	flaky.setSecret(rotated.Secret)
	a.Must(http.StatusOK, "POST", "/v1/callbacks/endpoints/"+ep.ID+"/test", nil, &test)
	flaky.mu.Lock()
	bad := flaky.bad
	flaky.mu.Unlock()
	if test.Status != "delivered" || bad != 0 {
		t.Fatalf("after rotation: %+v, %d refused", test, bad)
	}
}

// TestReloadAddsCallbackEndpoints: a [[callbacks]] entry added to the configuration
// takes events after a reload, with no restart; one removed stops.
func TestReloadAddsCallbackEndpoints(t *testing.T) {
	m, a := twoTenants(t)
	r := newHookReceiver(t, 200)
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	r.setSecret(secret)
	next := *m.Config
	next.Callbacks = []config.Callback{{URL: r.srv.URL, Secret: secret, Events: []string{"message.queued"}, Account: "acme"}}
	res, err := m.Reload(&next)
	if err != nil || res.Callbacks != 1 || slices.Contains(res.NeedRestart, "callbacks") {
		t.Fatalf("reload: %+v %v", res, err)
	}
	a.Must(http.StatusAccepted, "POST", "/v1/messages", helloTo("+6281200000200"), nil)
	kirimtest.WaitFor(t, "the new endpoint's event", 20*time.Second, func() bool { return r.count("message.queued") == 1 })
	next.Callbacks = nil
	if res, err := m.Reload(&next); err != nil || res.Callbacks != 1 {
		t.Fatalf("reload: %+v %v", res, err)
	}
	var eps struct{ Data []map[string]any }
	a.Must(http.StatusOK, "GET", "/v1/callbacks/endpoints", nil, &eps)
	if len(eps.Data) != 0 {
		t.Fatalf("endpoints after removal: %+v", eps.Data)
	}
}
