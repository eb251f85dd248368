package sandbox

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kirim/provider"
)

// benchParallelism multiplies GOMAXPROCS into the number of keep-alive clients.
const benchParallelism = 32

// benchLoad posts template sends to url from parallel keep-alive clients, each to a
// new recipient, and reports requests per second.
func benchLoad(b *testing.B, url string, wantStatus int) {
	tr := provider.NewTransport()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var next atomic.Uint64
	prefix := []byte(`{"messaging_product":"whatsapp","to":"+62`)
	suffix := []byte(`","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}},"biz_opaque_callback_data":"bench"}`)
	b.SetParallelism(benchParallelism)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		body := make([]byte, 0, 256)
		rd := bytes.NewReader(nil)
		for pb.Next() {
			n := next.Add(1)
			body = append(body[:0], prefix...)
			body = strconv.AppendUint(body, 81000000000+n, 10)
			body = append(body, suffix...)
			rd.Reset(body)
			req, _ := http.NewRequest(http.MethodPost, url, rd)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != wantStatus {
				b.Errorf("HTTP %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	// CPU per request (this process: clients and server) does not depend on what else
	// the machine runs, unlike req/s.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-us/req")
}

// cpuTime is the user plus system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAccept measures accepted sends per second through the whole accept path:
// parse, validate, limits, record, status scheduling and webhook batching into the
// outbox (no URL).
func BenchmarkAccept(b *testing.B) {
	sb := New(Options{ThroughputMPS: 1 << 30, PairGap: -1, PortfolioLimit: -1, Logger: slog.New(slog.DiscardHandler)})
	sb.Start()
	defer sb.Close()
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	benchLoad(b, srv.URL+"/v25.0/"+DefaultPhoneNumberID+"/messages", http.StatusOK)
	b.StopTimer()
	if st := sb.Stats(); st.Accepted != uint64(b.N) {
		b.Fatalf("accepted %d of %d", st.Accepted, b.N)
	}
}

// BenchmarkBareHandler is the floor: a handler that only reads the body and answers a
// fixed JSON, over the same loopback HTTP and clients.
func BenchmarkBareHandler(b *testing.B) {
	answer := []byte(`{"messaging_product":"whatsapp","contacts":[{"input":"+6281000000000","wa_id":"6281000000000"}],"messages":[{"id":"wamid.X","message_status":"accepted"}]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	defer srv.Close()
	benchLoad(b, srv.URL+"/v25.0/"+DefaultPhoneNumberID+"/messages", http.StatusOK)
}
