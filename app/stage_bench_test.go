package app_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"kirim/app"
	"kirim/app/apptest"
	"kirim/internal/benchmeter"
	"kirim/internal/kirimtest"
)

// BenchmarkStageAccept measures one POST /v1/messages through the API handler of a whole
// Kirim (config.example.toml on an on-disk store): key check, body decode, validation,
// the Idempotency-Key lookup, the ledger's hold, the engine's submit and the synced
// group commit, answered 202. One op is one accepted message. 64 goroutines send at
// once, each request to its own recipient with its own Idempotency-Key, so their
// commits share syncs as they do under load. The handler is called in-process (no
// socket): the HTTP server's own cost is BenchmarkBareHandler's in provider/sandbox.
// The number sends at 20 msg/s, so the dispatcher stays out of the figures (the
// accepted messages wait in the queue) and the few it has claimed ahead leave quickly
// when the benchmark's Kirim closes.
func BenchmarkStageAccept(b *testing.B) {
	m, a := apptest.Example(b, "KIRIM_NUMBERS_MAIN_THROUGHPUT_MPS=20", "KIRIM_PROVIDER_PORTFOLIO_LIMIT=-1",
		"KIRIM_ACCOUNTS_DEMO_OPENING_BALANCE=1000000000")
	kirimtest.WaitFor(b, "hello_world in the catalog", 30*time.Second, func() bool {
		status, _ := a.Call("GET", "/v1/templates/hello_world?language=en_US", nil)
		return status == http.StatusOK
	})
	h := m.API.Handler()
	auth := "Bearer " + app.DemoKey
	var next atomic.Int64
	prefix := []byte(`{"to":"+62812`)
	suffix := []byte(`","template":{"name":"hello_world","language":"en_US"}}`)
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	st0 := m.DB.Stats()
	meter := benchmeter.Start(b)
	b.RunParallel(func(pb *testing.PB) {
		body := make([]byte, 0, 128)
		for pb.Next() {
			n := next.Add(1)
			body = strconv.AppendInt(append(body[:0], prefix...), 10_000_000+n, 10)
			body = append(body, suffix...)
			r := httptest.NewRequest(http.MethodPost, "/v1/messages", bytes.NewReader(body))
			r.Header.Set("Authorization", auth)
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Idempotency-Key", "stage-"+strconv.FormatInt(n, 10))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusAccepted {
				b.Errorf("accept answered %d: %s", w.Code, w.Body.Bytes())
				return
			}
		}
	})
	meter.Stop(b.N, "op")
	st := m.DB.Stats()
	b.ReportMetric(float64(st.Commits-st0.Commits)/float64(max(1, st.Syncs-st0.Syncs)), "commits/sync")
}
