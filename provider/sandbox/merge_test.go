package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// TestWebhookConcurrency: with one status per POST, a receiver holding one message's
// POST does not hold back other messages' statuses, while the held message's next
// status waits behind it.
func TestWebhookConcurrency(t *testing.T) {
	gate, entered := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var order []string // wamid:status in arrival order
	first := true
	got := make(chan struct{}, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n provider.Notification
		_ = json.Unmarshal(body, &n)
		var v provider.MessagesValue
		_ = json.Unmarshal(n.Entry[0].Changes[0].Value, &v)
		mu.Lock()
		hold := first
		first = false
		mu.Unlock()
		if hold {
			close(entered)
			<-gate
		}
		mu.Lock()
		for _, s := range v.Statuses {
			order = append(order, s.ID+":"+s.Status)
		}
		mu.Unlock()
		got <- struct{}{}
	}))
	defer srv.Close()
	var release sync.Once
	defer release.Do(func() { close(gate) })
	e := newEnv(t, Options{PairGap: -1, ReadRate: -1, WebhookURL: srv.URL, DeliveredDelay: time.Second}, false)
	held := e.mustSend(helloMsg(budi)).Messages[0].ID
	<-entered // its sent status is held by the receiver
	e.clk.Advance(time.Second)
	// Other messages whose worker is free arrive meanwhile.
	var others []string
	for i := 0; len(others) < 3 && i < 100; i++ {
		id := e.mustSend(helloMsg(fmt.Sprintf("6281500000%03d", i))).Messages[0].ID
		if workerOf(e.sb, id) != workerOf(e.sb, held) {
			others = append(others, id)
		}
	}
	timeout := time.After(waitFor)
	for {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n >= 3 {
			break
		}
		select {
		case <-got:
		case <-timeout:
			t.Fatalf("other messages' statuses did not arrive while one POST was held: %v", order)
		}
	}
	release.Do(func() { close(gate) })
	e.clk.Advance(time.Second) // the others' delivered
	waitUntil(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(order) == 2+2*len(others)
	})
	mu.Lock()
	defer mu.Unlock()
	pos := map[string]int{}
	for i, o := range order {
		pos[o] = i
	}
	if pos[held+":sent"] > pos[held+":delivered"] {
		t.Fatalf("the held message's delivered overtook its sent: %v", order)
	}
}

// workerOf is the worker that posts the statuses of a wamid as the sandbox renders it.
func workerOf(sb *Sandbox, wamid string) int {
	seq, _ := strconv.ParseUint(wamid[len(wamid)-16:], 16, 64)
	return sb.out.messageWorker(seq)
}
