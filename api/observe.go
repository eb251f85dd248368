package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"kirim/logging"
	"kirim/storage"
)

// Request ids: a client's X-Request-Id is kept when it is printable ASCII of at most
// maxRequestIDLen characters; otherwise Kirim makes one.
const maxRequestIDLen = 128

// requestInfo is what the handlers learn of a request that its access log line and
// metrics need: the route pattern, and the account and key that made it.
type requestInfo struct {
	route, account, key string
}

type requestInfoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	ri, _ := r.Context().Value(requestInfoKey{}).(*requestInfo)
	return ri
}

// observe gives every request an id (X-Request-Id, echoed, in its logs and error
// envelopes), then writes its access log line and reports it to Options.Observe.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		ri := &requestInfo{}
		ctx := context.WithValue(logging.WithRequestID(r.Context(), id), requestInfoKey{}, ri)
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		if ri.route == "" {
			ri.route = s.routeOf(r.Method, r.URL.Path)
		}
		d := time.Since(start)
		if s.opts.Observe != nil {
			s.opts.Observe(ri.route, r.Method, rec.status, d)
		}
		if !s.opts.NoAccessLog && s.log.Enabled(ctx, slog.LevelInfo) {
			// Never the query (it may hold a phone number), a body or a key.
			s.log.LogAttrs(ctx, slog.LevelInfo, "http", slog.String("method", r.Method), slog.String("route", ri.route),
				slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes), slog.Duration("duration", d),
				slog.String("account", ri.account), slog.String("key", ri.key))
		}
	})
}

// Generated request ids are "req_", a random prefix drawn once per process, and a
// counter: unique, and cheap on a path that answers thousands of requests a second.
var (
	requestIDPrefix = "req_" + storage.NewID("", time.Now())[10:] + "_"
	requestIDSeq    atomic.Uint64
)

func newRequestID() string {
	return requestIDPrefix + strconv.FormatUint(requestIDSeq.Add(1), 10)
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// routeOf names the route pattern of a request no API handler named (health,
// webhook, admin routes added by the caller): the router's match with each parameter
// value put back as its name, "/v1/admin/x/:id". Unmatched paths are "unmatched", so
// the label set stays bounded.
func (s *Server) routeOf(method, path string) string {
	h, ps, _ := s.router.Lookup(method, path)
	if h == nil {
		return "unmatched"
	}
	if len(ps) == 0 {
		return path
	}
	segs := strings.Split(path, "/")
	j := 0
	for i, seg := range segs {
		if j < len(ps) && seg == ps[j].Value {
			segs[i] = ":" + ps[j].Key
			j++
		}
	}
	return strings.Join(segs, "/")
}

// recorder notes the status and size of a response; it keeps http.Flusher and the
// deadlines of http.ResponseController working through Unwrap.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
