// Package api owns Kirim's HTTP API for customer systems: routing (httprouter), API
// keys and scopes, the error envelope and its status table, request validation, and the
// OpenAPI document. It never touches storage directly: it calls the engine, the ledger
// and the other domain packages.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"

	"kirim/audit"
	"kirim/campaign"
	"kirim/campaign/lists"
	"kirim/clock"
	"kirim/engine"
	"kirim/events"
	"kirim/httpguard"
	"kirim/template"
	"kirim/tenant"
	"kirim/webhook"
)

// Limits.
const (
	DefaultMaxBody       = 1 << 20
	MaxIdempotencyKeyLen = 255
	MaxCallbackData      = 512
)

// Options wire the API to the rest of Kirim.
type Options struct {
	Engine    *engine.Engine
	Webhook   *webhook.Receiver
	Templates TemplateCatalog
	Accounts  []Account
	Keys      []Key
	Clock     clock.Clock
	Logger    *slog.Logger
	MaxBody   int64
	// Ready reports whether storage and the provider are usable (GET /readyz).
	Ready func() error
	// BodyGate, when set, bounds the request bodies read at once and how long one may
	// take (see httpguard); above it a request is answered 503 with Retry-After.
	BodyGate *httpguard.Gate
	// ReadTimeout is how long an upload may go without a byte arriving.
	ReadTimeout time.Duration
	// WriteTimeout is the server's write timeout; a streamed answer (backup, export,
	// CSV, media) moves the deadline on by it before each write.
	WriteTimeout time.Duration
	// Observe, when set, is told of every request: its route pattern, method, status and
	// duration (the metrics' request histogram).
	Observe func(route, method string, status int, d time.Duration)
	// NoAccessLog turns the access log line per request off.
	NoAccessLog bool
	// Metrics serves GET /metrics (it checks its own token); nil: no such route.
	Metrics http.Handler
	// Extra adds routes outside the API's table (tests); Routes does not list them.
	Extra func(r *httprouter.Router, s *Server)

	// TemplateStore backs the /v1/templates endpoints; nil answers 503 there.
	TemplateStore *template.Store
	// TemplateProviders submit, list and delete templates at the provider, by number alias.
	TemplateProviders map[string]TemplateProvider
	// Media fetches inbound media files from the provider (GET /v1/media/{id}), by
	// number alias; a number without one answers 503 there.
	Media map[string]MediaSource
	// Ledger serves the money endpoints (money.go); nil answers them 404.
	Ledger *LedgerOptions
	// Lists serves contacts lists and imports (lists.go); nil answers them 404.
	Lists *lists.Store
	// Campaigns serves campaigns (campaigns.go); nil answers them 404.
	Campaigns *campaign.Service
	// Tenants keeps the keys made through POST /v1/keys; nil: only configured keys.
	Tenants *tenant.Store
	// Audit receives every administrative action (audit.go); nil: none is kept.
	Audit *audit.Log
	// CreateAccount makes an account durable and live (POST /v1/accounts); nil
	// answers 404. by is the operator key's name.
	CreateAccount func(ctx context.Context, a NewAccount, by string) (Account, error)
	// Instance serves the operator's storage figures and full backup.
	Instance Instance
	// Events serves the callback endpoints and deliveries (callbacks.go); nil answers
	// them 404.
	Events *events.Outbox
}

// Server is the HTTP API.
type Server struct {
	opts  Options
	log   *slog.Logger
	clock clock.Clock
	// auth holds the accounts and keys; SetKeys swaps it whole (SIGHUP).
	auth     atomic.Pointer[keyring]
	router   *httprouter.Router
	draining atomic.Bool
	used     keyUse
}

// New builds the API.
func New(opts Options) (*Server, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	s := &Server{opts: opts, log: opts.Logger, clock: opts.Clock}
	if err := s.SetKeys(opts.Accounts, opts.Keys); err != nil {
		return nil, err
	}
	s.router = s.routes()
	return s, nil
}

// Handler is the API's root handler.
func (s *Server) Handler() http.Handler { return s.observe(s.router) }

// Drain makes new requests answer 503 while the process shuts down.
func (s *Server) Drain() { s.draining.Store(true) }

type route struct {
	method, path, scope string
	h                   handler
}

// handler serves an authenticated request; it returns the status and the JSON value to
// write, or an error.
type handler func(r *http.Request, p httprouter.Params, c *caller) (int, any, error)

func (s *Server) routes() *httprouter.Router {
	r := httprouter.New()
	r.HandleMethodNotAllowed = true
	// A path is matched as written: no redirect to another letter case or slash, which
	// would answer an API client with an HTML page instead of the envelope.
	r.RedirectTrailingSlash, r.RedirectFixedPath = false, false
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint"})
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "method not allowed"})
	})
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, v any) {
		s.log.Error("api: panic", "path", req.URL.Path, "panic", fmt.Sprint(v))
		writeError(w, &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"})
	}
	s.mount(r, s.apiRoutes())
	r.GET("/healthz", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.GET("/readyz", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		if s.draining.Load() {
			writeError(w, &Error{Status: http.StatusServiceUnavailable, Code: "shutting_down", Message: "shutting down"})
			return
		}
		if s.opts.Ready != nil {
			if err := s.opts.Ready(); err != nil {
				writeError(w, &Error{Status: http.StatusServiceUnavailable, Code: "not_ready", Message: err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	r.GET("/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPIDocument)
	})
	if s.opts.Webhook != nil {
		r.GET("/webhook", func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) { s.opts.Webhook.Verify(w, req) })
		r.POST("/webhook", func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) { s.opts.Webhook.Notify(w, req) })
	}
	if s.opts.Metrics != nil {
		r.Handler(http.MethodGet, "/metrics", s.opts.Metrics)
	}
	if s.opts.Extra != nil {
		s.opts.Extra(r, s)
	}
	return r
}

// Route describes one route of the API: who may call it and what the audit log calls
// it. Scope is "" for the routes that take no API key.
type Route struct {
	Method, Path, Scope string
	// Instance routes act on the whole instance: an operator names no account there.
	Instance bool
	// Action is the audit log's name for a call, "" when calls are not audited.
	Action string
}

// Routes lists every route the API serves, in the order they are declared.
func (s *Server) Routes() []Route {
	var out []Route
	for _, rt := range s.apiRoutes() {
		k := rt.method + " " + rt.path
		out = append(out, Route{Method: rt.method, Path: rt.path, Scope: rt.scope, Instance: instanceRoutes[k], Action: auditActions[k]})
	}
	out = append(out, Route{Method: "GET", Path: "/healthz"}, Route{Method: "GET", Path: "/readyz"}, Route{Method: "GET", Path: "/v1/openapi.json"})
	if s.opts.Webhook != nil {
		out = append(out, Route{Method: "GET", Path: "/webhook"}, Route{Method: "POST", Path: "/webhook"})
	}
	if s.opts.Metrics != nil {
		out = append(out, Route{Method: "GET", Path: "/metrics"})
	}
	return out
}

func (s *Server) apiRoutes() []route {
	return append([]route{
		{"POST", "/v1/messages", ScopeSend, s.sendMessage},
		{"GET", "/v1/messages", ScopeSend, s.listMessages},
		{"GET", "/v1/messages/:id", ScopeSend, s.getMessage},
		{"POST", "/v1/messages/:id/cancel", ScopeSend, s.cancelMessage},
		{"POST", "/v1/messages/:id/resolve", ScopeSend, s.resolveMessage},
		{"GET", "/v1/numbers", ScopeSend, s.listNumbers},
		{"POST", "/v1/numbers/:alias/resume-marketing", ScopeAdmin, s.resumeMarketing},
		{"GET", "/v1/contacts/:phone", ScopeSend, s.getContact},
		{"POST", "/v1/contacts/:phone/opt-out", ScopeSend, s.optOut},
		{"POST", "/v1/contacts/:phone/opt-in", ScopeSend, s.optIn},
		{"GET", "/v1/contacts/:phone/messages", ScopeSend, s.conversation},
		{"GET", "/v1/media/:id", ScopeSend, s.media},
		{"GET", "/v1/webhooks/dead", ScopeOperator, s.deadLetters},
		{"POST", "/v1/webhooks/dead/:id/replay", ScopeOperator, s.replayDeadLetter},
		{"POST", "/v1/templates", ScopeTemplates, s.createTemplate},
		{"GET", "/v1/templates", scopeReadTemplates, s.listTemplates},
		{"POST", "/v1/templates/lint", scopeReadTemplates, s.lintTemplate},
		{"POST", "/v1/templates/sync", ScopeTemplates, s.syncTemplates},
		{"GET", "/v1/templates/:name", scopeReadTemplates, s.getTemplate},
		{"DELETE", "/v1/templates/:name", ScopeTemplates, s.deleteTemplate},
		{"POST", "/v1/templates/:name/clone", ScopeTemplates, s.cloneTemplate},
	}, slices.Concat(s.moneyRoutes(), s.listRoutes(), s.campaignRoutes(), s.tenancyRoutes(), s.userRoutes(), s.callbackRoutes())...)
}

func (s *Server) wrap(rt route) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		if s.draining.Load() {
			w.Header().Set("Retry-After", "5")
			writeError(w, &Error{Status: http.StatusServiceUnavailable, Code: "shutting_down", Message: "shutting down, retry shortly"})
			return
		}
		ri := infoOf(r)
		if ri != nil {
			ri.route = rt.path
		}
		c, aerr := s.authenticate(r, rt.scope, instanceRoutes[rt.method+" "+rt.path])
		if ri != nil && c != nil {
			ri.account, ri.key = c.account.ID, c.key.Name
		}
		if aerr != nil {
			s.audited(r, rt, p, c, 0, nil, aerr)
			writeError(w, aerr)
			return
		}
		hasBody := r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch
		release := func() {}
		if hasBody && s.opts.BodyGate != nil {
			var ok bool
			if release, ok = s.opts.BodyGate.Enter(w, r); !ok {
				return
			}
			// An upload holds its slot while its handler reads it; another body only
			// while it is read, below.
			defer release()
		}
		if streamedBodies[rt.method+" "+rt.path] {
			httpguard.ExtendOnRead(w, r, s.opts.ReadTimeout)
		} else if hasBody {
			body, err := readBody(w, r, s.opts.MaxBody)
			release()
			if err == nil {
				err = checkContentType(r, body)
			}
			if err != nil {
				writeError(w, err)
				return
			}
			c.body = body
		}
		status, v, err := rt.h(r, p, c)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) {
				s.log.ErrorContext(r.Context(), "api: request failed", "method", r.Method, "path", rt.path, "err", err)
				ae = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
			}
			s.audited(r, rt, p, c, 0, nil, ae)
			writeError(w, ae)
			return
		}
		s.audited(r, rt, p, c, status, v, nil)
		if sr, ok := v.(streamResponse); ok {
			sr.serve(w, status, s.log, rt.path, s.opts.WriteTimeout)
			return
		}
		if raw, ok := v.(json.RawMessage); ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write(raw)
			return
		}
		writeJSON(w, status, v)
	}
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: fmt.Sprintf("body larger than %d bytes", limit)}
		}
		return nil, &Error{Status: http.StatusBadRequest, Code: "invalid_body", Message: "cannot read body"}
	}
	return body, nil
}

// Error is an API error: an HTTP status, a stable code, a message and the field at
// fault.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
	Extra   map[string]any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, e *Error) {
	body := map[string]any{"code": e.Code, "message": e.Message}
	if id := w.Header().Get("X-Request-Id"); id != "" {
		body["request_id"] = id
	}
	if e.Field != "" {
		body["field"] = e.Field
	}
	for k, v := range e.Extra {
		body[k] = v
	}
	writeJSON(w, e.Status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// Money is the API's money object.
type Money struct {
	AmountMicros int64  `json:"amount_micros"`
	Currency     string `json:"currency"`
	Display      string `json:"display"`
}

// NewMoney formats micros of currency: 514000000 IDR is "IDR 514", 41100 USD "USD 0.0411".
func NewMoney(micros int64, currency string) Money {
	return Money{AmountMicros: micros, Currency: currency, Display: currency + " " + formatMicros(micros)}
}

func formatMicros(m int64) string {
	neg := m < 0
	if neg {
		m = -m
	}
	whole, frac := m/1_000_000, m%1_000_000
	ws := fmt.Sprint(whole)
	var b strings.Builder
	for i, c := range ws {
		if i > 0 && (len(ws)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != 0 {
		out += "." + strings.TrimRight(fmt.Sprintf("%06d", frac), "0")
	}
	if neg {
		out = "-" + out
	}
	return out
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}
