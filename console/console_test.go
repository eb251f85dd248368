package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var reParam = regexp.MustCompile(`:[a-z_]+`)

// concrete fills a route's parameters with an id that names nothing.
func concrete(path string) string { return reParam.ReplaceAllString(path, "nothing_here") }

// TestEveryRouteNeedsSignIn tries every console route without a session: a page
// redirects to sign-in (remembering where it was going), a change is refused the
// same way and changes nothing.
func TestEveryRouteNeedsSignIn(t *testing.T) {
	k := start(t)
	b := k.client(t)
	routes := k.m.Console.Routes()
	if len(routes) < 5 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, rt := range routes {
		st, loc, _ := b.do(rt.Method, concrete(rt.Path), url.Values{})
		if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/sign-in") {
			t.Errorf("%s %s without a session: %d %q", rt.Method, rt.Path, st, loc)
		}
	}
	// A forged or stale cookie is no session either.
	u, _ := url.Parse(k.base + "/console/")
	b.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "kirim_session", Value: "forged", Path: "/console/"}})
	if st, loc, _ := b.get("/console/"); st != http.StatusSeeOther || loc != "/console/sign-in" {
		t.Errorf("forged cookie: %d %q", st, loc)
	}
}

// TestEveryChangeNeedsCSRF signs in as the operator, who may call every route, and
// posts to each without the session's token and with another session's.
func TestEveryChangeNeedsCSRF(t *testing.T) {
	k := start(t)
	other := k.client(t)
	other.signIn("operator", "kirim-demo-operator")
	b := k.client(t)
	b.signIn("operator", "kirim-demo-operator")
	if b.csrf == "" || b.csrf == other.csrf {
		t.Fatalf("csrf tokens %q %q", b.csrf, other.csrf)
	}
	for _, rt := range k.m.Console.Routes() {
		if rt.Method != http.MethodPost {
			continue
		}
		for _, tok := range []string{"", other.csrf} {
			st, _, body := b.do("POST", concrete(rt.Path), url.Values{"csrf": {tok}})
			if st != http.StatusForbidden || !strings.Contains(body, "did not come from this console") {
				t.Errorf("POST %s with csrf %q: %d", rt.Path, tok, st)
			}
		}
	}
	// The session survived every refusal: sign-out without a token did nothing.
	if st, _, _ := b.get("/console/"); st != http.StatusOK {
		t.Fatalf("dashboard after the refusals: %d", st)
	}
}

// TestRolesOpenOnlyTheirPages signs in with each role and opens every route: one the
// role may not open answers 403, one it may anything else.
func TestRolesOpenOnlyTheirPages(t *testing.T) {
	k := start(t)
	roles := []string{"admin", "marketer", "finance", "agent", "operator"}
	for _, role := range roles {
		pw := k.user(t, "u-"+role, role)
		b := k.client(t)
		b.signIn("u-"+role, pw)
		for _, rt := range k.m.Console.Routes() {
			if strings.HasSuffix(rt.Path, "sign-out") || strings.HasSuffix(rt.Path, "sign-out-everywhere") {
				continue
			}
			may := role == "operator" || slices.Contains(rt.Roles, role)
			var st int
			if rt.Method == http.MethodGet {
				st, _, _ = b.get(concrete(rt.Path))
			} else {
				st, _, _ = b.post(concrete(rt.Path), nil)
			}
			if !may && st != http.StatusForbidden {
				t.Errorf("%s: %s %s answered %d, want 403", role, rt.Method, rt.Path, st)
			}
			if may && st == http.StatusForbidden {
				t.Errorf("%s: %s %s refused", role, rt.Method, rt.Path)
			}
		}
	}
}

// TestSignInIsLimited: after five wrong passwords the name is refused, right
// password or not, and so is the client address for other names.
func TestSignInIsLimited(t *testing.T) {
	k := start(t)
	pw := k.user(t, "rina", "marketer")
	b := k.client(t)
	for i := range 5 {
		if st, _, body := b.do("POST", "/console/sign-in", url.Values{"login": {"rina"}, "password": {"wrong-password"}}); st != http.StatusUnauthorized || !strings.Contains(body, "Wrong name or password") {
			t.Fatalf("try %d: %d", i, st)
		}
	}
	if st, _, body := b.do("POST", "/console/sign-in", url.Values{"login": {"rina"}, "password": {pw}}); st != http.StatusTooManyRequests || !strings.Contains(body, "Too many wrong tries") {
		t.Fatalf("sixth try with the right password: %d", st)
	}
	if st, _, _ := b.do("POST", "/console/sign-in", url.Values{"login": {"demo-admin"}, "password": {"kirim-demo-admin"}}); st != http.StatusTooManyRequests {
		t.Fatalf("another name from the same address: %d", st)
	}
	var page struct {
		Data []struct {
			Action, Result, Key string
		} `json:"data"`
	}
	k.op.Must(http.StatusOK, "GET", "/v1/audit?action=user.sign_in", nil, &page)
	results := map[string]int{}
	for _, r := range page.Data {
		results[r.Result]++
	}
	if results["bad_login"] != 5 || results["rate_limited"] != 2 {
		t.Fatalf("audit of the sign-ins: %v", results)
	}
}

// TestSessionCookie checks the cookie's attributes, the sign-out of one session and
// of all of them, and that sign-in never redirects off the console.
func TestSessionCookie(t *testing.T) {
	k := start(t)
	pw := k.user(t, "sari", "agent")
	form := url.Values{"login": {"sari"}, "password": {pw}, "next": {"//evil.example/x"}}
	req, _ := http.NewRequest("POST", k.base+"/console/sign-in", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := k.client(t).hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/console/" {
		t.Fatalf("next=//evil.example: redirected to %q", loc)
	}
	ck := resp.Cookies()
	if len(ck) != 1 || ck[0].Name != "kirim_session" || !ck[0].HttpOnly || !ck[0].Secure || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != "/console/" {
		t.Fatalf("cookie %+v", ck)
	}
	one, two := k.client(t), k.client(t)
	one.signIn("sari", pw)
	two.signIn("sari", pw)
	if st, loc, _ := one.post("/console/sign-out", nil); st != http.StatusSeeOther || loc != "/console/sign-in" {
		t.Fatalf("sign out: %d %q", st, loc)
	}
	if st, _, _ := one.get("/console/"); st != http.StatusSeeOther {
		t.Fatal("signed-out session still open")
	}
	if st, _, _ := two.get("/console/"); st != http.StatusOK {
		t.Fatal("sign-out ended another session")
	}
	one.signIn("sari", pw)
	if st, _, _ := one.post("/console/sign-out-everywhere", nil); st != http.StatusSeeOther {
		t.Fatalf("sign out everywhere: %d", st)
	}
	if st, _, _ := two.get("/console/"); st != http.StatusSeeOther {
		t.Fatal("sign-out everywhere left a session open")
	}
}

// TestUsersPage: an account admin makes, refuses and deletes users of its own
// account in the console; the API's checks and audit apply, under the admin's name.
func TestUsersPage(t *testing.T) {
	k := start(t)
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	if st, _, body := b.get("/console/users"); st != http.StatusOK || !strings.Contains(body, "demo-admin") {
		t.Fatalf("users page: %d", st)
	}
	st, _, body := b.post("/console/users", url.Values{"login": {"budi"}, "role": {"marketer"}, "password": {"short"}})
	if st != http.StatusBadRequest || !strings.Contains(body, "password: must be at least 10 characters") || !strings.Contains(body, `id="u-password" name="password" type="password" required minlength="10" autocomplete="new-password" aria-invalid="true"`) {
		t.Fatalf("weak password: %d %s", st, body)
	}
	if st, _, _ := b.post("/console/users", url.Values{"login": {"ops2"}, "role": {"operator"}, "password": {"0123456789ab"}}); st != http.StatusForbidden {
		t.Fatalf("an admin makes an operator: %d", st)
	}
	if st, loc, _ := b.post("/console/users", url.Values{"login": {"budi"}, "role": {"marketer"}, "password": {"0123456789ab"}}); st != http.StatusSeeOther || loc != "/console/users?done=users.created_ok" {
		t.Fatalf("create: %d %q", st, loc)
	}
	if _, _, body := b.get("/console/users?done=users.created_ok"); !strings.Contains(body, "User created.") || !strings.Contains(body, "budi") {
		t.Fatal("the new user is not listed")
	}
	// A crafted note is not shown: only the dictionary's words are.
	if _, _, body := b.get("/console/users?done=Call+0812+now"); strings.Contains(body, "Call 0812") {
		t.Fatal("a crafted note is shown")
	}
	budi := k.client(t)
	budi.signIn("budi", "0123456789ab")
	var users struct {
		Data []struct{ ID, Login string } `json:"data"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/users", nil, &users)
	id := ""
	for _, u := range users.Data {
		if u.Login == "budi" {
			id = u.ID
		}
	}
	if st, _, _ := b.post("/console/users/"+id+"/delete", nil); st != http.StatusSeeOther {
		t.Fatalf("delete: %d", st)
	}
	if st, _, _ := budi.get("/console/"); st != http.StatusSeeOther {
		t.Fatal("a deleted user's session is still open")
	}
	var audit struct {
		Data []struct{ Action, Key, Result string } `json:"data"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/audit?action=user.*", nil, &audit)
	got := map[string]bool{}
	for _, r := range audit.Data {
		got[r.Action+" "+r.Key+" "+r.Result] = true
	}
	for _, want := range []string{"user.create demo-admin ok", "user.create demo-admin invalid_field", "user.create demo-admin forbidden", "user.delete demo-admin ok"} {
		if !got[want] {
			t.Errorf("audit lacks %q: %v", want, got)
		}
	}
}
