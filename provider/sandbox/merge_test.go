package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"kirim/provider"
)

// TestWebhookMergesBacklog: with batching on, while a slow receiver holds one POST, the
// status posts of the same number queue up; when it answers, they leave merged in one
// POST.
func TestWebhookMergesBacklog(t *testing.T) {
	gate, entered := make(chan struct{}), make(chan struct{})
	var (
		mu       sync.Mutex
		posts    int
		statuses int
		first    = true
	)
	got := make(chan struct{}, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		isFirst := first
		first = false
		mu.Unlock()
		if isFirst {
			close(entered)
			<-gate
		}
		var n provider.Notification
		if err := json.Unmarshal(body, &n); err != nil {
			t.Errorf("bad body: %v", err)
		}
		var v provider.MessagesValue
		_ = json.Unmarshal(n.Entry[0].Changes[0].Value, &v)
		mu.Lock()
		posts++
		statuses += len(v.Statuses)
		mu.Unlock()
		got <- struct{}{}
	}))
	defer srv.Close()
	var release sync.Once
	// Runs before srv.Close (deferred later): a failing assertion must not leave the
	// held POST blocking the server's shutdown.
	defer release.Do(func() { close(gate) })
	e := newEnv(t, Options{PairGap: -1, ReadRate: -1, WebhookURL: srv.URL, WebhookBatch: 50}, false)
	for i := 0; i < 10; i++ {
		e.mustSend(helloMsg(fmt.Sprintf("6281400000%03d", i)))
		e.clk.Advance(time.Millisecond)
		if i == 0 {
			<-entered // the first POST (sent and delivered of message 0) is now held
		}
	}
	// The other nine messages' statuses (in one or more posts, depending on how the
	// sandbox's dispatcher grouped them) wait behind the held one.
	waitUntil(t, func() bool { return e.sb.Stats().Webhooks.PendingStatus == 20 })
	release.Do(func() { close(gate) })
	timeout := time.After(waitFor)
	for {
		mu.Lock()
		done := statuses == 20
		mu.Unlock()
		if done {
			break
		}
		select {
		case <-got:
		case <-timeout:
			t.Fatalf("statuses %d of 20 arrived", statuses)
		}
	}
	mu.Lock()
	n := posts
	mu.Unlock()
	if n != 2 {
		t.Fatalf("%d POSTs, want 2: the held one, then everything queued merged into one", n)
	}
	waitUntil(t, func() bool {
		st := e.sb.Stats().Webhooks
		return st.Pending == 0 && st.StatusesPosted == 20 && st.Posted == 2
	})
}

// waitUntil polls a condition of the sandbox's own counters, which change on its
// worker goroutines.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSimulateTiersEndpoint(t *testing.T) {
	e := newEnv(t, Options{}, false)
	resp, err := http.Post(e.srv.URL+"/_sandbox/tiers/simulate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	p := e.sb.st.Load().portfolio
	p.mu.Lock()
	counting := p.limiter.onTake != nil
	p.mu.Unlock()
	if !counting {
		t.Fatal("the simulation does not count the portfolio's slots")
	}
}
