package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"kirim/app"
	"kirim/app/apptest"
	"kirim/internal/kirimtest"
)

// DemoOperatorKey is the example configuration's operator key (sandbox only).
const demoOperatorKey = "kirim_demo_operator_change_me"

// kirim runs the example configuration on the sandbox; admin is the demo account's
// admin API key and op the operator's.
type kirim struct {
	m         *app.Main
	admin, op *kirimtest.API
	base      string
}

func start(t *testing.T, env ...string) *kirim {
	t.Helper()
	m, a := apptest.Example(t, env...)
	return &kirim{m: m, admin: a, op: a.As(demoOperatorKey, ""), base: "http://" + m.APIAddr}
}

// user makes a console user of the demo account (an operator with role operator) and
// returns its password.
func (k *kirim) user(t *testing.T, login, role string) string {
	t.Helper()
	pw := "pw-" + login + "-0123456789"
	body := map[string]any{"login": login, "role": role, "password": pw}
	if role == "operator" {
		k.op.Must(http.StatusCreated, "POST", "/v1/users", body, nil)
	} else {
		k.admin.Must(http.StatusCreated, "POST", "/v1/users", body, nil)
	}
	return pw
}

// browserless is a console client over plain HTTP: a cookie jar, no redirects
// followed, and the CSRF token of the last page it read.
type browserless struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func (k *kirim) client(t *testing.T) *browserless {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browserless{t: t, base: k.base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var reCSRF = regexp.MustCompile(`data-csrf="([^"]+)"`)

// do sends a request and returns the status, the Location and the body.
func (b *browserless) do(method, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if m := reCSRF.FindSubmatch(raw); m != nil {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(raw)
}

func (b *browserless) get(path string) (int, string, string) { return b.do("GET", path, nil) }

// post sends a form with the session's CSRF token.
func (b *browserless) post(path string, form url.Values) (int, string, string) {
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	return b.do("POST", path, form)
}

func (b *browserless) signIn(login, password string) {
	b.t.Helper()
	st, loc, body := b.do("POST", "/console/sign-in", url.Values{"login": {login}, "password": {password}})
	if st != http.StatusSeeOther || loc != "/console/" {
		b.t.Fatalf("sign in %s: %d %q %s", login, st, loc, body)
	}
	if st, _, _ := b.get("/console/"); st != http.StatusOK {
		b.t.Fatalf("dashboard after sign-in: %d", st)
	}
}
