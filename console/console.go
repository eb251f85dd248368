// Package console owns the web console: server-rendered pages (html/template, with
// the stylesheet and a little JavaScript embedded in the binary), sign-in sessions,
// CSRF tokens and the pages each role may open. It never reaches storage or the
// domain packages: every read and every change is a call of the HTTP API's own
// handlers, made in-process as the signed-in user (api.Server.ServeAs), so the API's
// scopes, ownership checks, validation and audit hold in the browser too.
package console

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/julienschmidt/httprouter"

	"kirim/api"
	"kirim/audit"
	"kirim/clock"
	"kirim/tenant"
)

// Prefix is where the console is served; GET / redirects there.
const Prefix = "/console/"

// Options wire the console to the rest of Kirim.
type Options struct {
	API    *api.Server
	Users  *tenant.Store
	Audit  *audit.Log
	Clock  clock.Clock
	Logger *slog.Logger
	// SecureCookies sets the Secure attribute on the session cookie even for a plain
	// HTTP request (a console behind a TLS-terminating proxy that does not say so).
	// A request over TLS, or one a proxy marks X-Forwarded-Proto: https, always gets it.
	SecureCookies bool
	// DemoUsers is true where the demo sign-ins of the example configuration may be
	// used (the sandbox); elsewhere a demo user cannot sign in.
	DemoUsers bool
}

// Console serves the web console.
type Console struct {
	opts   Options
	log    *slog.Logger
	clock  clock.Clock
	router *httprouter.Router
	pages  map[string]*pageTemplate
	limit  *limiter
}

// New builds the console.
func New(opts Options) (*Console, error) {
	if opts.API == nil || opts.Users == nil {
		return nil, fmt.Errorf("console: the API and the user store are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Console{opts: opts, log: opts.Logger, clock: opts.Clock, limit: newLimiter(opts.Clock)}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c.pages = pages
	c.router = c.routes()
	return c, nil
}

// Mount returns a handler that serves the console at Prefix (and GET / as a redirect
// to it) and everything else with next.
func (c *Console) Mount(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			http.Redirect(w, r, Prefix, http.StatusSeeOther)
		case r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, Prefix):
			c.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// ServeHTTP serves one console request.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The pages load only their own script and stylesheet, and are never framed.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if r.URL.Path == "/console" {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	c.router.ServeHTTP(w, r)
}

// Who may open a page: a page names the roles that may, the operator always may.
var (
	anyone    = []string{tenant.RoleAdmin, tenant.RoleMarketer, tenant.RoleFinance, tenant.RoleAgent}
	marketing = []string{tenant.RoleAdmin, tenant.RoleMarketer}
	money     = []string{tenant.RoleAdmin, tenant.RoleFinance}
	inbox     = []string{tenant.RoleAdmin, tenant.RoleAgent}
	admins    = []string{tenant.RoleAdmin}
	operators = []string{}
)

// page serves a signed-in request: it renders or redirects and returns nil, or returns
// the error to show.
type page func(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error

func (c *Console) routes() *httprouter.Router {
	r := httprouter.New()
	r.RedirectTrailingSlash, r.RedirectFixedPath = false, false
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.plainError(w, r, http.StatusNotFound, "not_found")
	})
	r.PanicHandler = func(w http.ResponseWriter, r *http.Request, v any) {
		c.log.Error("console: panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
		c.plainError(w, r, http.StatusInternalServerError, "internal")
	}
	r.GET(Prefix+"static/*file", c.static)
	r.GET(Prefix+"sign-in", c.signInPage)
	r.POST(Prefix+"sign-in", c.signIn)
	c.handle(r, "POST", "sign-out", anyone, c.signOut)
	c.handle(r, "POST", "sign-out-everywhere", anyone, c.signOutEverywhere)
	c.handle(r, "POST", "account", operators, c.chooseAccount)
	c.handle(r, "POST", "lang", anyone, c.chooseLang)
	c.handle(r, "GET", "", anyone, c.dashboard)
	for _, pg := range c.pageRoutes() {
		c.handle(r, pg.method, pg.path, pg.roles, pg.h)
	}
	return r
}

// pageRoute is one page of the console beyond sign-in and the dashboard.
type pageRoute struct {
	method, path string
	roles        []string
	h            page
}

// pageRoutes lists the console's pages, each file of pages adding its own.
func (c *Console) pageRoutes() []pageRoute {
	var out []pageRoute
	for _, add := range pageSets {
		out = append(out, add(c)...)
	}
	return out
}

// pageSets are the page groups; each pages_*.go file registers its group in init.
var pageSets []func(*Console) []pageRoute

// Route is one signed-in route of the console and the roles that may open it (the
// operator always may).
type Route struct {
	Method, Path string
	Roles        []string
}

// Routes lists the console's signed-in routes, for the tests that try each one with
// each role, without a session and without a CSRF token.
func (c *Console) Routes() []Route {
	out := []Route{{"POST", Prefix + "sign-out", anyone}, {"POST", Prefix + "sign-out-everywhere", anyone},
		{"POST", Prefix + "account", operators}, {"POST", Prefix + "lang", anyone}, {"GET", Prefix, anyone}}
	for _, pg := range c.pageRoutes() {
		out = append(out, Route{pg.method, Prefix + pg.path, pg.roles})
	}
	return out
}

// handle mounts a page behind sign-in, the role check and, for a POST, the CSRF check.
func (c *Console) handle(r *httprouter.Router, method, path string, roles []string, h page) {
	r.Handle(method, Prefix+path, func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
		start := c.clock.Now()
		v, ok := c.visitOf(w, req)
		if !ok {
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if v.user.Role != tenant.RoleOperator && !slices.Contains(roles, v.user.Role) {
			c.renderError(w, v, http.StatusForbidden, v.t("error.forbidden"))
			return
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead && !v.csrfOK(req) {
			c.audit(req, v, "console.csrf_refused", req.URL.Path, http.StatusForbidden, "csrf")
			c.renderError(w, v, http.StatusForbidden, v.t("error.csrf"))
			return
		}
		if err := h(w, req, p, v); err != nil {
			c.renderError(w, v, statusOf(err), v.messageOf(err))
		}
		c.log.Debug("console: page", "method", method, "path", path, "user", v.user.Login, "took", c.clock.Now().Sub(start))
	})
}

// DemoCreator marks the demo users made for the sandbox (see app): they cannot sign
// in where Options.DemoUsers is false.
const DemoCreator = "kirim:demo"
