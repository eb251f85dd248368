package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"kirim/internal/kirimtest"
	"kirim/logging"
	"kirim/storage"
)

// TestRequestIDAndAccessLog: a client's request id is echoed, put in the error
// envelope and in the request's log lines; an unsafe one is replaced; the access log
// and the metrics hook name the route pattern, never the raw path; a streamed answer
// still flushes through the middleware.
func TestRequestIDAndAccessLog(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger, _, err := logging.New(&syncWriter{w: &logs, mu: &mu}, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		route, method string
		status        int
	}
	var observed []seen
	e := newEnv(t, envOpts{logger: logger,
		observe: func(route, method string, status int, _ time.Duration) {
			mu.Lock()
			observed = append(observed, seen{route, method, status})
			mu.Unlock()
		},
		instance: twoPartBackup{}})

	r := e.do("GET", "/v1/messages/msg_01M00000000000000000000000", keySendA, nil, "X-Request-Id", "erp-42")
	if r.status != http.StatusNotFound || r.header.Get("X-Request-Id") != "erp-42" {
		t.Fatalf("%d %v", r.status, r.header)
	}
	var env struct {
		Error struct {
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error.RequestID != "erp-42" {
		t.Fatalf("envelope %s", r.body)
	}
	for _, bad := range []string{"has space", strings.Repeat("x", 129), "tab\there"} {
		r := e.do("GET", "/healthz", "", nil, "X-Request-Id", bad)
		if id := r.header.Get("X-Request-Id"); id == bad || !strings.HasPrefix(id, "req_") {
			t.Fatalf("unsafe id %q answered as %q", bad, id)
		}
	}
	if r := e.do("GET", "/v1/admin/backup", keyOperator, nil); r.status != 200 || string(r.body) != "part one\npart two\n" {
		t.Fatalf("stream: %d %q", r.status, r.body)
	}
	e.do("GET", "/no/such/path?to=+6281234567890", "", nil)

	// The middleware reports a request after its answer is written: the client may read
	// the answer first.
	kirimtest.WaitFor(t, "the last request's report", 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(observed) >= 6
	})
	mu.Lock()
	defer mu.Unlock()
	wantRoutes := []seen{{"/v1/messages/:id", "GET", 404}, {"/healthz", "GET", 200}, {"/healthz", "GET", 200}, {"/healthz", "GET", 200},
		{"/v1/admin/backup", "GET", 200}, {"unmatched", "GET", 404}}
	if len(observed) != len(wantRoutes) {
		t.Fatalf("observed %+v", observed)
	}
	for i, w := range wantRoutes {
		if observed[i] != w {
			t.Errorf("request %d observed %+v, want %+v", i, observed[i], w)
		}
	}
	var access []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "http" {
			access = append(access, rec)
		}
	}
	if len(access) != len(wantRoutes) {
		t.Fatalf("%d access lines:\n%s", len(access), logs.String())
	}
	first := access[0]
	if first["request_id"] != "erp-42" || first["route"] != "/v1/messages/:id" || first["status"] != float64(404) ||
		first["account"] != "acct_a" || first["key"] != "send-a" || first["bytes"] == float64(0) {
		t.Fatalf("access line %v", first)
	}
	if access[4]["account"] != "" || access[4]["key"] != "ops" {
		t.Fatalf("admin route line %v", access[4])
	}
	if all := logs.String(); strings.Contains(all, "6281234567890") || strings.Contains(all, keySendA) || strings.Contains(all, "msg_01M") {
		t.Fatalf("the log holds a phone, a key or a raw path:\n%s", all)
	}
}

type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// twoPartBackup writes a backup in two parts.
type twoPartBackup struct{}

func (twoPartBackup) Stats() storage.Stats { return storage.Stats{} }
func (twoPartBackup) Backup(w io.Writer) error {
	if _, err := w.Write([]byte("part one\n")); err != nil {
		return err
	}
	_, err := w.Write([]byte("part two\n"))
	return err
}
