package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
)

// countingBody records how many bytes of a request body were read.
type countingBody struct {
	r    io.Reader
	read int
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func (c *countingBody) Close() error { return nil }

// TestNotifyRefusesBeforeReading: a request without a well-formed signature, or one
// that finds every body slot taken, is answered in the error envelope without a byte
// of its body read.
func TestNotifyRefusesBeforeReading(t *testing.T) {
	rc := New(Options{DB: openDB(t, ""), Clock: clock.NewFake(t0), Logger: quietLogger(), AppSecret: testSecret, MaxConcurrentBodies: 1})
	body := fixture(t, "status_delivered.json")
	send := func(sig string) (*httptest.ResponseRecorder, *countingBody) {
		cb := &countingBody{r: strings.NewReader(string(body))}
		r := httptest.NewRequest(http.MethodPost, "/webhook", nil)
		r.Body = cb
		if sig != "" {
			r.Header.Set(provider.SignatureHeader, sig)
		}
		w := httptest.NewRecorder()
		rc.Notify(w, r)
		return w, cb
	}
	var field string
	envelope := func(w *httptest.ResponseRecorder) string {
		var env struct {
			Error struct{ Code, Message, Field string } `json:"error"`
		}
		if w.Header().Get("Content-Type") != "application/json" || json.Unmarshal(w.Body.Bytes(), &env) != nil {
			t.Fatalf("not the error envelope: %v %s", w.Header(), w.Body)
		}
		field = env.Error.Field
		return env.Error.Code
	}
	for _, sig := range []string{"", "sha256=", "sha1=abc", "sha256=" + strings.Repeat("g", 64)} {
		w, cb := send(sig)
		if w.Code != http.StatusUnauthorized || envelope(w) != "unauthorized" || field != provider.SignatureHeader || cb.read != 0 {
			t.Fatalf("signature %q: %d field %q, %d bytes read", sig, w.Code, field, cb.read)
		}
	}
	// The one slot is taken: the next signed body is refused unread, with Retry-After.
	release, ok := rc.gate.Enter(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/webhook", nil))
	if !ok {
		t.Fatal("gate closed")
	}
	w, cb := send(provider.Sign(testSecret, body))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || envelope(w) != "service_busy" || cb.read != 0 {
		t.Fatalf("busy: %d %v, %d bytes read", w.Code, w.Header(), cb.read)
	}
	release()
	// Once a slot is free, the same signed body is accepted at once.
	if w, _ := send(provider.Sign(testSecret, body)); w.Code != http.StatusOK {
		t.Fatalf("after the flood: %d %s", w.Code, w.Body)
	}
	if st := rc.Stats(); st.Busy != 1 || st.Unsigned != 4 || st.Received != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The handshake's refusal is in the envelope too.
	vw := httptest.NewRecorder()
	rc.Verify(vw, httptest.NewRequest(http.MethodGet, "/webhook?hub.mode=subscribe&hub.verify_token=wrong", nil))
	if vw.Code != http.StatusForbidden || envelope(vw) != "forbidden" {
		t.Fatalf("verify: %d %s", vw.Code, vw.Body)
	}
}

// TestNotifySlowBody: on a real server, a signed body that stops arriving is ended at
// ReadTimeout and answered 408 in the error envelope; its slot is free for the next.
func TestNotifySlowBody(t *testing.T) {
	rc := New(Options{DB: openDB(t, ""), Clock: clock.NewFake(t0), Logger: quietLogger(), AppSecret: testSecret,
		MaxConcurrentBodies: 1, ReadTimeout: 50 * time.Millisecond})
	srv := httptest.NewServer(http.HandlerFunc(rc.Notify))
	defer srv.Close()
	body := fixture(t, "status_delivered.json")
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: kirim\r\n%s: %s\r\nContent-Length: %d\r\n\r\n%s",
		provider.SignatureHeader, provider.Sign(testSecret, body), len(body), body[:len(body)/2])
	answer, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(answer), "HTTP/1.1 408") || !strings.Contains(string(answer), `"code":"read_timeout","field":"body"`) {
		t.Fatalf("the slow client got %q", answer)
	}
	if st := rc.Stats(); st.TimedOut != 1 || st.Received != 0 || rc.gate.InUse() != 0 {
		t.Fatalf("stats %+v, %d slots taken", st, rc.gate.InUse())
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(body))
	req.Header.Set(provider.SignatureHeader, provider.Sign(testSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the next body: %v %v", resp, err)
	}
	resp.Body.Close()
}
