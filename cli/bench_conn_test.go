package cli

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestBenchConn(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(http.StatusAccepted)
		if r.URL.Path == "/chunked" {
			// A flush before the end makes the server send the body chunked.
			_, _ = w.Write([]byte("part1,"))
			w.(http.Flusher).Flush()
		}
		_, _ = w.Write([]byte(r.Method + " " + r.Header.Get("X-Test") + " " + r.Header.Get("Content-Type") + " " + string(body)))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := &benchConn{addr: strings.TrimPrefix(srv.URL, "http://")}
	defer c.close()
	for _, tc := range []struct {
		path, want string
		code       int
		conns      int32
	}{
		{"/a", "POST one application/json {}", 202, 1},
		{"/b", "POST one application/json {}", 202, 1},     // the same connection
		{"/close", "POST one application/json {}", 202, 1}, // answered, then closed
		{"/c", "POST one application/json {}", 202, 2},     // dialled again
		{"/chunked", "part1,POST one application/json {}", 202, 2},
	} {
		code, out, err := c.post(tc.path, []byte("{}"), "X-Test", "one")
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if code != tc.code || string(out) != tc.want || conns.Load() != tc.conns {
			t.Errorf("%s: got %d %q on %d connections, want %d %q on %d", tc.path, code, out, conns.Load(), tc.code, tc.want, tc.conns)
		}
	}
}
