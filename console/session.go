package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	"kirim/api"
	"kirim/audit"
	"kirim/clock"
	"kirim/tenant"
)

// Cookie names. The session cookie is HttpOnly and SameSite=Strict: no script reads
// it and no other site's page sends it.
const (
	sessionCookie = "kirim_session"
	accountCookie = "kirim_account"
)

// visit is one signed-in request: the user, the session, and the account the pages
// act on (an operator's choice, any other user's own).
type visit struct {
	c       *Console
	r       *http.Request
	token   string
	session tenant.Session
	user    tenant.User
	account api.Account
	// accounts is every account, for an operator's account picker.
	accounts []api.Account
	loc      *time.Location
}

// visitOf finds the request's session; without one it redirects to sign-in (or
// answers 401 to a script's fetch) and returns false.
func (c *Console) visitOf(w http.ResponseWriter, r *http.Request) (*visit, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err == nil {
		if ss, u, ok := c.opts.Users.Session(ck.Value); ok {
			v := &visit{c: c, r: r, token: ck.Value, session: ss, user: u, loc: time.UTC}
			if u.Role == tenant.RoleOperator {
				v.accounts = c.opts.API.Accounts()
				if ac, err := r.Cookie(accountCookie); err == nil {
					v.account, _ = c.opts.API.Account(ac.Value)
				}
				if v.account.ID == "" && len(v.accounts) > 0 {
					v.account = v.accounts[0]
				}
			} else {
				a, ok := c.opts.API.Account(u.Account)
				if !ok {
					c.redirectSignIn(w, r)
					return nil, false
				}
				v.account = a
			}
			if loc, err := time.LoadLocation(v.account.Timezone); err == nil && v.account.Timezone != "" {
				v.loc = loc
			}
			return v, true
		}
	}
	c.redirectSignIn(w, r)
	return nil, false
}

func (c *Console) redirectSignIn(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Accept") == "text/event-stream" || r.Header.Get("X-Requested-With") == "fetch" {
		http.Error(w, "sign in again", http.StatusUnauthorized)
		return
	}
	next := ""
	if r.Method == http.MethodGet && r.URL.Path != Prefix {
		next = "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, Prefix+"sign-in"+next, http.StatusSeeOther)
}

// csrfOK checks a change's CSRF token: the form's csrf field, or a script's
// X-CSRF-Token header, against the session's.
func (v *visit) csrfOK(r *http.Request) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		// A multipart upload carries the token in the query: the body is streamed to the
		// API, not parsed here.
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			got = r.URL.Query().Get("csrf")
		} else {
			got = r.PostFormValue("csrf")
		}
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(v.session.CSRF)) == 1
}

// principal is the user as the API sees it: the scopes of its role.
func (v *visit) principal() api.Principal {
	p := api.Principal{ID: "user:" + v.user.ID, Name: v.user.Login, Account: v.user.Account}
	switch v.user.Role {
	case tenant.RoleOperator:
		p.Operator = true
	case tenant.RoleAdmin:
		p.Scopes = []string{api.ScopeAdmin}
	case tenant.RoleMarketer:
		p.Scopes = []string{api.ScopeSend, api.ScopeCampaigns, api.ScopeTemplates}
	case tenant.RoleFinance:
		p.Scopes = []string{api.ScopeMoney}
	case tenant.RoleAgent:
		p.Scopes = []string{api.ScopeSend}
	}
	return p
}

// can reports whether the user's role opens pages meant for roles.
func (v *visit) can(roles []string) bool {
	if v.user.Role == tenant.RoleOperator {
		return true
	}
	for _, r := range roles {
		if r == v.user.Role {
			return true
		}
	}
	return false
}

func (c *Console) secure(r *http.Request) bool {
	return c.opts.SecureCookies || r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: c.secure(r), SameSite: http.SameSiteStrictMode})
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	c.renderSignIn(w, r, http.StatusOK, "", "")
}

// signIn checks a name and password. Failures are counted per name and per client
// address: past the limit, further tries are refused without checking the password.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	login := strings.ToLower(strings.TrimSpace(r.PostFormValue("login")))
	password := r.PostFormValue("password")
	ip := clientIP(r)
	if wait := c.limit.blocked("login:"+login, "ip:"+ip); wait > 0 {
		w.Header().Set("Retry-After", itoa(int(wait.Seconds())+1))
		c.auditSignIn(r, login, "", http.StatusTooManyRequests, "rate_limited")
		c.renderSignIn(w, r, http.StatusTooManyRequests, login, "signin.limited")
		return
	}
	u, token, _, err := c.opts.Users.SignIn(r.Context(), login, password)
	if err == nil && !c.opts.DemoUsers && u.CreatedBy == DemoCreator {
		_ = c.opts.Users.SignOut(r.Context(), token)
		c.auditSignIn(r, login, u.Account, http.StatusForbidden, "demo_user")
		c.renderSignIn(w, r, http.StatusForbidden, login, "signin.demo")
		return
	}
	if err != nil {
		if errors.Is(err, tenant.ErrBadLogin) {
			c.limit.fail("login:"+login, "ip:"+ip)
			c.auditSignIn(r, login, "", http.StatusUnauthorized, "bad_login")
			c.renderSignIn(w, r, http.StatusUnauthorized, login, "signin.bad")
			return
		}
		c.log.Error("console: sign in", "err", err)
		c.renderSignIn(w, r, http.StatusInternalServerError, login, "error.internal")
		return
	}
	c.limit.reset("login:" + login)
	c.setCookie(w, r, sessionCookie, token, int(tenant.SessionTTL.Seconds()))
	c.auditSignIn(r, login, u.Account, http.StatusOK, "ok")
	next := r.PostFormValue("next")
	// Only a path of the console: never a redirect off-site.
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		next = Prefix
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	if err := c.opts.Users.SignOut(r.Context(), v.token); err != nil {
		return err
	}
	c.audit(r, v, "user.sign_out", v.user.ID, http.StatusOK, "ok")
	c.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"sign-in", http.StatusSeeOther)
	return nil
}

func (c *Console) signOutEverywhere(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	if err := c.opts.Users.SignOutEverywhere(r.Context(), v.user.ID); err != nil {
		return err
	}
	c.audit(r, v, "user.sign_out_everywhere", v.user.ID, http.StatusOK, "ok")
	c.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"sign-in", http.StatusSeeOther)
	return nil
}

// chooseAccount sets the account an operator's pages act on.
func (c *Console) chooseAccount(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ *visit) error {
	id := r.PostFormValue("account")
	if _, ok := c.opts.API.Account(id); !ok {
		return badRequest("account", "no such account")
	}
	c.setCookie(w, r, accountCookie, id, 0)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
	return nil
}

// chooseLang sets the user's language, kept with the user.
func (c *Console) chooseLang(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	lang := r.PostFormValue("lang")
	if _, err := c.opts.Users.UpdateUser(r.Context(), v.user.ID, lang, ""); err != nil {
		return badRequest("lang", "must be en or id")
	}
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, Prefix) || strings.HasPrefix(back, "//") {
		back = Prefix
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// audit records a console-only action (sign-in, sign-out, a refused CSRF check); the
// rest is audited by the API it calls.
func (c *Console) audit(r *http.Request, v *visit, action, target string, status int, result string) {
	if c.opts.Audit == nil {
		return
	}
	rec := audit.Record{Key: v.user.Login, KeyID: "user:" + v.user.ID, Account: v.user.Account,
		Operator: v.user.Role == tenant.RoleOperator, Action: action, Target: target, Status: status, Result: result}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if _, err := c.opts.Audit.Append(ctx, rec); err != nil {
		c.log.Error("console: audit append", "action", action, "err", err)
	}
}

func (c *Console) auditSignIn(r *http.Request, login, account string, status int, result string) {
	if c.opts.Audit == nil {
		return
	}
	rec := audit.Record{Key: login, KeyID: "user:" + login, Account: account, Action: "user.sign_in", Target: clientIP(r),
		Status: status, Result: result}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if _, err := c.opts.Audit.Append(ctx, rec); err != nil {
		c.log.Error("console: audit append", "action", rec.Action, "err", err)
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Sign-in limits: after maxFailures wrong tries within failWindow, a name (or a
// client address) is refused until the window has passed.
const (
	maxFailures = 5
	failWindow  = 15 * time.Minute
	// maxTracked bounds the limiter's memory under a spray of names.
	maxTracked = 100_000
)

type limiter struct {
	clock clock.Clock
	mu    sync.Mutex
	fails map[string][]time.Time
}

func newLimiter(clk clock.Clock) *limiter {
	return &limiter{clock: clk, fails: map[string][]time.Time{}}
}

// blocked returns how long the first of keys that is over the limit stays blocked.
func (l *limiter) blocked(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	for _, k := range keys {
		ts := l.recent(k, now)
		if len(ts) >= maxFailures {
			return ts[0].Add(failWindow).Sub(now)
		}
	}
	return 0
}

func (l *limiter) recent(k string, now time.Time) []time.Time {
	ts := l.fails[k]
	i := 0
	for i < len(ts) && !now.Before(ts[i].Add(failWindow)) {
		i++
	}
	if i > 0 {
		ts = ts[i:]
		if len(ts) == 0 {
			delete(l.fails, k)
		} else {
			l.fails[k] = ts
		}
	}
	return ts
}

func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if len(l.fails) > maxTracked {
		for k := range l.fails {
			l.recent(k, now)
		}
	}
	for _, k := range keys {
		l.fails[k] = append(l.recent(k, now), now)
	}
}

func (l *limiter) reset(k string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, k)
}
