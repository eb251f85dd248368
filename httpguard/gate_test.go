package httpguard

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGateRefusesAboveItsSlots(t *testing.T) {
	g := New(2, 0)
	var releases []func()
	for i := range 2 {
		w := httptest.NewRecorder()
		release, ok := g.Enter(w, httptest.NewRequest("POST", "/webhook", nil))
		if !ok {
			t.Fatalf("slot %d refused", i)
		}
		releases = append(releases, release)
	}
	w := httptest.NewRecorder()
	if _, ok := g.Enter(w, httptest.NewRequest("POST", "/webhook", nil)); ok {
		t.Fatal("a third body admitted into two slots")
	}
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" ||
		json.Unmarshal(w.Body.Bytes(), &env) != nil || env.Error.Code != "service_busy" {
		t.Fatalf("refusal: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if g.InUse() != 2 || g.Refused() != 1 {
		t.Fatalf("in use %d, refused %d", g.InUse(), g.Refused())
	}
	releases[0]()
	releases[0]() // a second call gives nothing back twice
	if g.InUse() != 1 {
		t.Fatalf("in use %d after one release", g.InUse())
	}
	if release, ok := g.Enter(httptest.NewRecorder(), httptest.NewRequest("POST", "/webhook", nil)); !ok {
		t.Fatal("a freed slot refused")
	} else {
		release()
	}
}

// rawPost opens a connection and sends a POST whose body claims size bytes but carries
// only sent of them, then stalls.
func rawPost(t *testing.T, addr string, size int, sent string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: kirim\r\nContent-Length: %d\r\n\r\n%s", size, sent); err != nil {
		t.Fatal(err)
	}
	return conn
}

// gateServer serves POST bodies through g, reporting each admitted request and how its
// body read ended.
func gateServer(t *testing.T, g *Gate) (srv *httptest.Server, entered chan struct{}, readErr chan error, read *atomic.Int64) {
	entered, readErr, read = make(chan struct{}, 4), make(chan error, 4), new(atomic.Int64)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, ok := g.Enter(w, r)
		if !ok {
			return
		}
		entered <- struct{}{}
		n, err := io.Copy(io.Discard, r.Body)
		read.Add(n)
		release()
		readErr <- err
		if IsTimeout(err) {
			WriteFieldError(w, http.StatusRequestTimeout, "read_timeout", "body", "too slow")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, entered, readErr, read
}

// TestGateRefusesOnAConnection: on a real server, while a slow body holds the only
// slot, the next request is answered 503 with Retry-After, in the error envelope,
// without its body being read; once the slow one ends, the slot is free again.
func TestGateRefusesOnAConnection(t *testing.T) {
	g := New(1, 0)
	srv, entered, readErr, read := gateServer(t, g)
	const first = `{"object":`
	slow := rawPost(t, srv.Listener.Addr().String(), 1<<20, first)
	<-entered
	resp, err := http.Post(srv.URL+"/webhook", "application/json", strings.NewReader(strings.Repeat("x", 4096)))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" ||
		json.NewDecoder(resp.Body).Decode(&env) != nil || env.Error.Code != "service_busy" {
		t.Fatalf("second request while the slot is held: %d %v %+v", resp.StatusCode, resp.Header, env)
	}
	resp.Body.Close()
	_ = slow.Close()
	if err := <-readErr; err == nil {
		t.Fatal("a body cut short read without an error")
	}
	if read.Load() != int64(len(first)) || g.InUse() != 0 || g.Refused() != 1 {
		t.Fatalf("%d bytes read (want only the slow body's %d), in use %d, refused %d", read.Load(), len(first), g.InUse(), g.Refused())
	}
	resp, err = http.Post(srv.URL+"/webhook", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the slow body ended: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestGateDeadlineEndsSlowBodies: a body that stops arriving is ended by the gate's
// read deadline, gives its slot back, and its client is answered.
func TestGateDeadlineEndsSlowBodies(t *testing.T) {
	g := New(2, 50*time.Millisecond)
	srv, entered, readErr, _ := gateServer(t, g)
	var slow []net.Conn
	for range 2 {
		slow = append(slow, rawPost(t, srv.Listener.Addr().String(), 1<<20, `{"object":`))
		<-entered
	}
	for range 2 {
		if err := <-readErr; !IsTimeout(err) {
			t.Fatalf("the slow body ended with %v, want its deadline", err)
		}
	}
	for _, c := range slow {
		answer, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(answer), "HTTP/1.1 408") || !strings.Contains(string(answer), `"field":"body"`) {
			t.Fatalf("the slow client got %q", answer)
		}
	}
	if g.InUse() != 0 {
		t.Fatalf("%d slots still taken", g.InUse())
	}
}

func TestWriteFieldError(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("X-Request-Id", "req_1")
	WriteFieldError(w, http.StatusUnauthorized, "unauthorized", "X-Hub-Signature-256", "missing <signature>")
	var env struct {
		Error map[string]string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%v %s", err, w.Body)
	}
	want := map[string]string{"code": "unauthorized", "field": "X-Hub-Signature-256", "message": "missing <signature>", "request_id": "req_1"}
	if !reflect.DeepEqual(env.Error, want) || strings.Contains(w.Body.String(), `\u003c`) {
		t.Fatalf("envelope %s, want %v", w.Body, want)
	}
}
