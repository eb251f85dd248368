// Package openapicheck checks real responses against Kirim's OpenAPI document: tests
// put its handler in front of the router, so every answer the suite provokes must be
// an operation, a status and a body the document describes (objects allow no field it
// does not name). KIRIM_OPENAPI_SAMPLES=FILE also appends each exchange to FILE, as
// JSON lines, for keeping the document's schemas in step with the code.
package openapicheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Checker validates responses against one document.
type Checker struct {
	tb        testing.TB
	router    routers.Router
	errSchema *openapi3.Schema
}

var (
	samples sync.Mutex
)

// JSON lines (GET /v1/export) are checked as the text the document says they are.
func init() {
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.FileBodyDecoder)
}

// New loads and validates doc; the test fails if the document itself is invalid.
func New(tb testing.TB, doc []byte) *Checker {
	tb.Helper()
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(doc)
	if err != nil {
		tb.Fatalf("openapi: load: %v", err)
	}
	if err := t.Validate(context.Background()); err != nil {
		tb.Fatalf("openapi: invalid document: %v", err)
	}
	// Match any host: tests serve on free ports.
	t.Servers = nil
	r, err := legacy.NewRouter(t)
	if err != nil {
		tb.Fatalf("openapi: router: %v", err)
	}
	es := t.Components.Schemas["Error"]
	if es == nil || es.Value == nil {
		tb.Fatal("openapi: the document has no Error schema")
	}
	return &Checker{tb: tb, router: r, errSchema: es.Value}
}

// Handler serves next and checks each of its answers.
func (c *Checker) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		if err := c.Check(r, rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
			c.tb.Errorf("openapi: %s %s answered %d, which the document does not describe: %v\nbody: %.300s", r.Method, r.URL.Path, rec.Code, err, rec.Body.Bytes())
		}
	})
}

// isError reports whether body is the error envelope the document describes.
func (c *Checker) isError(body []byte) bool {
	return c.errSchema.VisitJSON(decoded(body)) == nil
}

func decoded(b []byte) any {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v
}

// Check validates one exchange.
func (c *Checker) Check(r *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		// The router's own answer to a path or method it does not serve: 404 or 405 in
		// the error envelope, which the document's Error schema describes.
		if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && c.isError(body) {
			return nil
		}
		return fmt.Errorf("no operation for the path: %w", err)
	}
	record(r, route.Path, status, header, body)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: false},
	}
	return openapi3filter.ValidateResponse(r.Context(), in)
}

func record(r *http.Request, path string, status int, header http.Header, body []byte) {
	file := os.Getenv("KIRIM_OPENAPI_SAMPLES")
	if file == "" {
		return
	}
	line, _ := json.Marshal(map[string]any{"method": r.Method, "path": path, "status": status,
		"content_type": header.Get("Content-Type"), "body": string(body)})
	samples.Lock()
	defer samples.Unlock()
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}
