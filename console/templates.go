package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"
)

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{
			{"GET", "templates", marketing, c.tplIndex},
			// httprouter cannot hold templates/new beside templates/:name, nor
			// templates/lint beside templates/:name/clone: one route serves both (see
			// tplPage and tplPost).
			{"GET", "templates/:name", marketing, c.tplPage},
			{"POST", "templates", marketing, c.tplCreate},
			{"POST", "templates/:name", marketing, c.tplPost},
			{"POST", "templates/:name/clone", marketing, c.tplClone},
			{"POST", "templates/:name/delete", marketing, c.tplDelete},
		}
	})
	addWords(tplWords)
}

// tplMaxDraft bounds a draft posted for linting: the longest texts a template may
// hold, many times over.
const tplMaxDraft = 64 << 10

var (
	tplStatuses   = []string{"APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "IN_APPEAL", "FLAGGED"}
	tplCategories = []string{"MARKETING", "UTILITY", "AUTHENTICATION"}
	// tplFormCategories are those the form makes: an authentication template is a
	// preset with an OTP button, made through the API.
	tplFormCategories = []string{"MARKETING", "UTILITY"}
	tplLanguages      = []string{"id", "en", "en_US", "en_GB", "ms", "zh_CN", "ar", "hi", "th", "vi", "pt_BR", "es"}
)

// tplNumber is one of the account's numbers, for the number pickers and to name the
// number of a template's WABA.
type tplNumber struct{ Alias, Phone, WABA string }

func (v *visit) tplNumbers() ([]tplNumber, error) {
	page, err := v.get("/v1/numbers", nil)
	if err != nil {
		return nil, err
	}
	var out []tplNumber
	for _, x := range list(page["data"]) {
		n, _ := x.(obj)
		out = append(out, tplNumber{Alias: str(n["alias"]), Phone: str(n["phone"]), WABA: str(n["waba_id"])})
	}
	return out, nil
}

// tplFrom names the first number on a WABA, which a template's clone and delete name
// as their "from".
func tplFrom(nums []tplNumber, waba string) string {
	for _, n := range nums {
		if n.WABA == waba {
			return n.Alias
		}
	}
	return ""
}

// tplRow is a template of the API with what the pages show beside it.
type tplRow struct {
	Tpl                       obj
	From                      string
	StatusClass, QualityClass string
}

func tplRowOf(t obj, nums []tplNumber) tplRow {
	return tplRow{Tpl: t, From: tplFrom(nums, str(t["waba_id"])), StatusClass: tplStatusClass(str(t["status"])),
		QualityClass: tplQualityClass(str(t["quality"]))}
}

func tplStatusClass(s string) string {
	switch s {
	case "APPROVED":
		return "ok"
	case "PENDING", "IN_APPEAL", "PENDING_DELETION", "FLAGGED", "LIMIT_EXCEEDED":
		return "warn"
	case "":
		return ""
	}
	return "bad"
}

func tplQualityClass(q string) string {
	switch q {
	case "GREEN":
		return "ok"
	case "YELLOW":
		return "warn"
	case "RED":
		return "bad"
	}
	return ""
}

// tplPath is a template's page, in one language.
func tplPath(name, lang string) string {
	return Prefix + "templates/" + url.PathEscape(name) + "?language=" + url.QueryEscape(lang)
}

type tplListData struct {
	Rows          []tplRow
	Numbers       []tplNumber
	Filter        url.Values
	Statuses      []string
	Categories    []string
	Next          string
	NotConfigured bool
}

func (c *Console) tplIndex(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	f := r.URL.Query()
	nums, err := v.tplNumbers()
	if err != nil {
		return err
	}
	d := tplListData{Numbers: nums, Filter: f, Statuses: tplStatuses, Categories: tplCategories}
	q := url.Values{"limit": {"100"}}
	for _, k := range []string{"from", "status", "category", "cursor"} {
		if s := f.Get(k); s != "" {
			q.Set(k, s)
		}
	}
	page, err := v.get("/v1/templates", q)
	switch {
	case statusOf(err) == http.StatusServiceUnavailable:
		d.NotConfigured = true
		return v.show(w, "templates", v.t("tpl.title"), d)
	case statusOf(err) == http.StatusBadRequest:
		return v.showForm(w, "templates", v.t("tpl.title"), d, err)
	case err != nil:
		return err
	}
	for _, x := range list(page["data"]) {
		t, _ := x.(obj)
		d.Rows = append(d.Rows, tplRowOf(t, nums))
	}
	if next := str(page["next_cursor"]); next != "" {
		nq := url.Values{}
		for k, vs := range f {
			nq[k] = vs
		}
		nq.Set("cursor", next)
		d.Next = nq.Encode()
	}
	return v.show(w, "templates", v.t("tpl.title"), d)
}

// tplPage serves a template's page, and the create form at templates/new. A template
// named "new" is reached as every template page is linked, with ?language=.
func (c *Console) tplPage(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	if p.ByName("name") == "new" && !r.URL.Query().Has("language") {
		d, err := v.tplFormData(url.Values{"language": {"id"}, "category": {"MARKETING"}})
		if err != nil {
			return err
		}
		return v.show(w, "template-new", v.t("tpl.new_title"), d)
	}
	d, err := v.tplDetail(p.ByName("name"))
	if err != nil {
		return err
	}
	return v.show(w, "template", d.Name, d)
}

// tplPost serves the live lint at templates/lint; no other name has a POST there.
func (c *Console) tplPost(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	if p.ByName("name") != "lint" {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: v.t("error.not_found")}
	}
	return c.tplLint(w, r, v)
}

// tplLint lints a draft of the create form (its fields, as JSON) through the API and
// answers the verdict as JSON, for the form's script.
func (c *Console) tplLint(w http.ResponseWriter, r *http.Request, v *visit) error {
	r.Body = http.MaxBytesReader(w, r.Body, tplMaxDraft)
	var f url.Values
	if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
		return tplJSON(w, http.StatusBadRequest, obj{"ok": false, "violations": []any{},
			"error": "the draft must be a JSON object of the form's fields, at most 64 KiB"})
	}
	var out obj
	if err := v.call(http.MethodPost, "/v1/templates/lint", nil, tplDraft(f), &out); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) || ae.Status >= 500 {
			return tplJSON(w, http.StatusInternalServerError, obj{"ok": false, "violations": []any{}, "error": v.messageOf(err)})
		}
		// A draft the API cannot read as a template (a malformed field) is a verdict too.
		return tplJSON(w, http.StatusOK, obj{"ok": false, "violations": []any{}, "error": ae.Message, "field": ae.Field})
	}
	return tplJSON(w, http.StatusOK, out)
}

func tplJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// tplFormData is the create form's page: the fields as sent, and the verdict of the
// linter when a submission was refused.
type tplFormData struct {
	Form         url.Values
	Numbers      []tplNumber
	Languages    []string
	Categories   []string
	QuickReplies []tplQuickReply
	Violations   []any
}

// tplQuickReply is one quick-reply field of the form, numbered from 1.
type tplQuickReply struct {
	N     int
	Value string
}

func (v *visit) tplFormData(f url.Values) (tplFormData, error) {
	nums, err := v.tplNumbers()
	if err != nil {
		return tplFormData{}, err
	}
	d := tplFormData{Form: f, Numbers: nums, Languages: tplLanguages, Categories: tplFormCategories}
	for i := range tplQuickReplies {
		qr := tplQuickReply{N: i + 1}
		if i < len(f["quick_reply"]) {
			qr.Value = f["quick_reply"][i]
		}
		d.QuickReplies = append(d.QuickReplies, qr)
	}
	return d, nil
}

func (c *Console) tplCreate(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	f := r.PostForm
	def := tplDraft(f)
	var out obj
	err := v.call(http.MethodPost, "/v1/templates", nil, def, &out)
	if err == nil {
		return v.redirect(w, tplPath(str(out["name"]), str(out["language"])), "tpl.created_ok")
	}
	d, ferr := v.tplFormData(f)
	if ferr != nil {
		return ferr
	}
	// The refusal names the first broken rule; the form lists them all, as the live
	// lint does, for a browser without scripts too.
	var verdict obj
	if lerr := v.call(http.MethodPost, "/v1/templates/lint", nil, def, &verdict); lerr == nil {
		d.Violations = list(verdict["violations"])
	}
	return v.showForm(w, "template-new", v.t("tpl.new_title"), d, err)
}

// tplDetail is a template's page: the template in each of its languages, with its
// status, quality and content.
type tplDetail struct {
	Name    string
	Records []tplRecord
	Numbers []tplNumber
	// Form is a refused clone's fields.
	Form url.Values
}

type tplRecord struct {
	tplRow
	Header, Body, Footer string
	Buttons              []tplButton
}

func (v *visit) tplDetail(name string) (tplDetail, error) {
	d := tplDetail{Name: name}
	nums, err := v.tplNumbers()
	if err != nil {
		return d, err
	}
	d.Numbers = nums
	page, err := v.get("/v1/templates", url.Values{"name": {name}, "limit": {"500"}})
	if err != nil {
		return d, err
	}
	for _, x := range list(page["data"]) {
		t, _ := x.(obj)
		rec := tplRecord{tplRow: tplRowOf(t, nums)}
		for _, y := range list(t["components"]) {
			comp, _ := y.(obj)
			switch strings.ToUpper(str(comp["type"])) {
			case "HEADER":
				rec.Header = str(comp["text"])
				if rec.Header == "" {
					rec.Header = "[" + str(comp["format"]) + "]"
				}
			case "BODY":
				rec.Body = str(comp["text"])
			case "FOOTER":
				rec.Footer = str(comp["text"])
			case "BUTTONS":
				for _, z := range list(comp["buttons"]) {
					b, _ := z.(obj)
					rec.Buttons = append(rec.Buttons, tplButton{Type: str(b["type"]), Text: str(b["text"]),
						URL: str(b["url"]), PhoneNumber: str(b["phone_number"])})
				}
			}
		}
		d.Records = append(d.Records, rec)
	}
	if len(d.Records) == 0 {
		return d, &apiError{Status: http.StatusNotFound, Code: "not_found", Message: v.t("tpl.no_such", name)}
	}
	return d, nil
}

func (c *Console) tplClone(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	name := p.ByName("name")
	body := map[string]any{"new_name": strings.TrimSpace(r.PostFormValue("new_name")),
		"language": r.PostFormValue("language"), "from": r.PostFormValue("from")}
	var out obj
	err := v.call(http.MethodPost, "/v1/templates/"+url.PathEscape(name)+"/clone", nil, body, &out)
	if err == nil {
		return v.redirect(w, tplPath(str(out["name"]), str(out["language"])), "tpl.cloned_ok")
	}
	d, derr := v.tplDetail(name)
	if derr != nil {
		// The template itself is gone: the clone's refusal says so.
		return err
	}
	d.Form = r.PostForm
	return v.showForm(w, "template", d.Name, d, err)
}

func (c *Console) tplDelete(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	q := url.Values{}
	for _, k := range []string{"language", "from"} {
		if s := r.PostFormValue(k); s != "" {
			q.Set(k, s)
		}
	}
	if err := v.call(http.MethodDelete, "/v1/templates/"+url.PathEscape(p.ByName("name")), q, nil, nil); err != nil {
		return err
	}
	return v.redirect(w, Prefix+"templates", "tpl.deleted_ok")
}
