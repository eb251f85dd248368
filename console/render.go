package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"kirim/api"
	"kirim/tenant"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
)

//go:embed web
var webFS embed.FS

// pageTemplate is one page: the layout, the shared partials and the page's own file.
type pageTemplate struct{ t *template.Template }

// funcs are the templates' helpers that need no user; those that do (words, money,
// times) are methods of view.
var funcs = template.FuncMap{
	"str": func(v any) string {
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	},
	"int": func(v any) int64 {
		switch n := v.(type) {
		case float64:
			return int64(n)
		case int64:
			return n
		case int:
			return int64(n)
		}
		return 0
	},
	"list": func(v any) []any {
		l, _ := v.([]any)
		return l
	},
	"pct": func(part, whole any) int {
		p, w := toF(part), toF(whole)
		if w <= 0 {
			return 0
		}
		return int(p * 100 / w)
	},
}

func toF(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case int64:
		return float64(n)
	}
	return 0
}

// parsePages parses every page under web/pages with the layout and partials.
func parsePages() (map[string]*pageTemplate, error) {
	base, err := template.New("layout").Funcs(funcs).ParseFS(webFS, "web/layout.html", "web/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: parse layout: %w", err)
	}
	files, err := fs.Glob(webFS, "web/pages/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*pageTemplate{}
	for _, f := range files {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if t, err = t.ParseFS(webFS, f); err != nil {
			return nil, fmt.Errorf("console: parse %s: %w", f, err)
		}
		out[strings.TrimSuffix(path.Base(f), ".html")] = &pageTemplate{t: t}
	}
	return out, nil
}

// view is what a page's template gets: the visit (nil on the sign-in page), the
// page's data, and the helpers that depend on the user's language and account.
type view struct {
	V     *visit
	Page  string
	Title string
	Data  any
	// Flash is a success to show once; Error an error to show by the form.
	Flash, Error string
	// Field is the form field an error names, to mark it.
	Field string
	Lang  string
	CSRF  string
	Path  string
	Next  string
}

// T translates a key to the user's language.
func (v *view) T(key string, args ...any) string { return tr(v.Lang, key, args...) }

// When shows an API time (RFC 3339) in the account's timezone.
func (v *view) When(t any) string {
	s, _ := t.(string)
	if s == "" {
		return ""
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	loc := time.UTC
	if v.V != nil && v.V.loc != nil {
		loc = v.V.loc
	}
	return at.In(loc).Format("2006-01-02 15:04")
}

// Money shows an API money object by its display form.
func (v *view) Money(m any) string {
	o, _ := m.(map[string]any)
	if d, ok := o["display"].(string); ok {
		return d
	}
	return ""
}

// Can reports whether the user's role opens the pages of group (see navGroups).
func (v *view) Can(group string) bool {
	if v.V == nil {
		return false
	}
	return v.V.can(navGroups[group])
}

// Operator reports whether the user is an operator.
func (v *view) Operator() bool { return v.V != nil && v.V.user.Role == "operator" }

// navGroups maps the navigation's groups to the roles that see them.
var navGroups = map[string][]string{
	"anyone": anyone, "marketing": marketing, "money": money, "inbox": inbox, "admins": admins, "operators": operators,
}

func (v *visit) t(key string, args ...any) string { return tr(v.user.Lang, key, args...) }

// render writes a page; a template that fails writes nothing of itself.
func (c *Console) render(w http.ResponseWriter, v *visit, status int, name string, vw *view) {
	pt, ok := c.pages[name]
	if !ok {
		c.log.Error("console: no page template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	vw.Page = name
	if v != nil {
		vw.V, vw.Lang, vw.CSRF, vw.Path = v, v.user.Lang, v.session.CSRF, v.r.URL.RequestURI()
	}
	if vw.Lang == "" {
		vw.Lang = "en"
	}
	var buf bytes.Buffer
	if err := pt.t.ExecuteTemplate(&buf, "layout", vw); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// show renders a page with status 200.
func (v *visit) show(w http.ResponseWriter, name, title string, data any) error {
	flash := ""
	if key := v.r.URL.Query().Get("done"); known(key) {
		flash = v.t(key)
	}
	v.c.render(w, v, http.StatusOK, name, &view{Title: title, Data: data, Flash: flash})
	return nil
}

// showForm renders a page again with the error of its form.
func (v *visit) showForm(w http.ResponseWriter, name, title string, data any, err error) error {
	var ae *apiError
	vw := &view{Title: title, Data: data, Error: v.messageOf(err)}
	status := http.StatusInternalServerError
	if asAPI(err, &ae) {
		vw.Field, status = ae.Field, ae.Status
	}
	v.c.render(w, v, status, name, vw)
	return nil
}

func asAPI(err error, ae **apiError) bool {
	e, ok := err.(*apiError)
	if ok {
		*ae = e
	}
	return ok
}

func (c *Console) renderError(w http.ResponseWriter, v *visit, status int, msg string) {
	c.render(w, v, status, "error", &view{Title: tr(v.user.Lang, "error.title"), Error: msg})
}

func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, login, errKey string) {
	lang := "en"
	if strings.HasPrefix(r.Header.Get("Accept-Language"), "id") {
		lang = "id"
	}
	vw := &view{Lang: lang, Title: tr(lang, "signin.title"), Data: login, Next: r.URL.Query().Get("next")}
	if r.Method == http.MethodPost {
		vw.Next = r.PostFormValue("next")
	}
	if errKey != "" {
		vw.Error = tr(lang, errKey)
	}
	c.render(w, nil, status, "signin", vw)
}

// plainError answers a request that has no page to show it on.
func (c *Console) plainError(w http.ResponseWriter, r *http.Request, status int, code string) {
	v, ok := c.visitOf(w, r)
	if !ok {
		return
	}
	c.renderError(w, v, status, v.t("error."+code))
}

// redirect sends the browser to a console path after a change, with a note to show.
func (v *visit) redirect(w http.ResponseWriter, to, doneKey string) error {
	if doneKey != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		// The note travels as a key of the dictionary, so a crafted link cannot put
		// words of its own on a console page.
		to += sep + "done=" + url.QueryEscape(doneKey)
	}
	http.Redirect(w, v.r, to, http.StatusSeeOther)
	return nil
}

func (c *Console) static(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
	name := strings.TrimPrefix(p.ByName("file"), "/")
	b, err := webFS.ReadFile("web/static/" + name)
	if err != nil || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

func itoa(n int) string { return strconv.Itoa(n) }

// Account is the account the pages act on.
func (v *view) Account() api.Account {
	if v.V == nil {
		return api.Account{}
	}
	return v.V.account
}

// Accounts lists every account, for an operator's picker.
func (v *view) Accounts() []api.Account {
	if v.V == nil {
		return nil
	}
	return v.V.accounts
}

// User is the signed-in user.
func (v *view) User() tenant.User {
	if v.V == nil {
		return tenant.User{}
	}
	return v.V.user
}
