// Package httpguard bounds what clients can hold of the server while their request
// bodies are read: how many bodies are read at once and how long one may take. Above
// the bound a request is answered 503 with Retry-After, before its body is read, so a
// flood of slow uploads costs a refusal each instead of a buffer each.
package httpguard

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Gate admits at most a fixed number of requests into reading their bodies.
type Gate struct {
	slots       chan struct{}
	readTimeout time.Duration
	retryAfter  time.Duration
	refused     atomic.Int64
}

// RetryAfter is what a refused client is told to wait: long enough for the bodies in
// progress to finish, short enough that Meta's retries (or a customer's) come back soon.
const RetryAfter = 5 * time.Second

// New returns a gate of slots places (at least 1) whose requests must be read within
// readTimeout (0: no deadline of the gate's own).
func New(slots int, readTimeout time.Duration) *Gate {
	return &Gate{slots: make(chan struct{}, max(slots, 1)), readTimeout: readTimeout, retryAfter: RetryAfter}
}

// Enter takes a slot for reading r's body and sets the read deadline. When every slot is
// taken it answers 503 service_busy with Retry-After and returns ok false: the caller
// must not read the body. release gives the slot back; call it once the body is read.
func (g *Gate) Enter(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	select {
	case g.slots <- struct{}{}:
	default:
		g.refused.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(int(g.retryAfter/time.Second)))
		// The connection is closed after the answer: the unread body stays unread.
		w.Header().Set("Connection", "close")
		WriteError(w, http.StatusServiceUnavailable, "service_busy", "too many request bodies are being read; retry later")
		return nil, false
	}
	if g.readTimeout > 0 {
		// Not every ResponseWriter supports deadlines (a test recorder does not); the
		// server's own read timeout still holds then.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(g.readTimeout))
	}
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			<-g.slots
		}
	}, true
}

// InUse is the number of bodies being read now.
func (g *Gate) InUse() int { return len(g.slots) }

// Refused counts the requests answered 503 since the gate was made.
func (g *Gate) Refused() int64 { return g.refused.Load() }

// WriteError writes Kirim's error envelope: {"error": {"code": ..., "message": ...,
// "request_id": ...}}, the id being the response's X-Request-Id when it has one.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteFieldError(w, status, code, "", message)
}

// WriteFieldError writes the error envelope naming the field (a header, "body") at
// fault, as the API does.
func WriteFieldError(w http.ResponseWriter, status int, code, field, message string) {
	e := map[string]string{"code": code, "message": message}
	if field != "" {
		e["field"] = field
	}
	if id := w.Header().Get("X-Request-Id"); id != "" {
		e["request_id"] = id
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]any{"error": e})
}

// IsTimeout reports whether err ended a body read at its deadline.
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// ExtendOnRead makes r's body push its read deadline d further each time bytes arrive,
// for uploads that may take longer than one read timeout but must keep moving.
func ExtendOnRead(w http.ResponseWriter, r *http.Request, d time.Duration) {
	if d <= 0 {
		return
	}
	rc := http.NewResponseController(w)
	// The server's write timeout runs from the end of the headers; an upload may take
	// longer than it to arrive, and its answer is small, so the upload lifts it.
	_ = rc.SetWriteDeadline(time.Time{})
	r.Body = &extendingBody{ReadCloser: r.Body, extend: func() { _ = rc.SetReadDeadline(time.Now().Add(d)) }}
}

type extendingBody struct {
	io.ReadCloser
	extend func()
}

func (b *extendingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.extend()
	}
	return n, err
}
