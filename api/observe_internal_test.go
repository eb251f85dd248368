package api

import (
	"net/http"
	"testing"

	"github.com/julienschmidt/httprouter"
)

// TestRouteOf: a route no API handler named is labelled by its pattern, parameters put
// back by name; an unknown path is "unmatched".
func TestRouteOf(t *testing.T) {
	s := &Server{router: httprouter.New()}
	noop := func(http.ResponseWriter, *http.Request, httprouter.Params) {}
	s.router.GET("/v1/admin/things/:id/parts/:part", noop)
	s.router.GET("/healthz", noop)
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/v1/admin/things/abc/parts/7", "/v1/admin/things/:id/parts/:part"},
		{"GET", "/healthz", "/healthz"},
		{"GET", "/v1/admin/things/abc", "unmatched"},
		{"POST", "/healthz", "unmatched"},
	} {
		if got := s.routeOf(c.method, c.path); got != c.want {
			t.Errorf("routeOf(%s %s) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}
