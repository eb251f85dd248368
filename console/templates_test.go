package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"kirim/internal/kirimtest"
)

// tplPostJSON posts body as JSON, the way the pages' scripts do, with csrf in the
// X-CSRF-Token header ("" sends none); it returns the status, Content-Type and body.
func tplPostJSON(b *browserless, path, csrf string, body any) (int, string, string) {
	b.t.Helper()
	raw, ok := body.(string)
	if !ok {
		j, err := json.Marshal(body)
		if err != nil {
			b.t.Fatal(err)
		}
		raw = string(j)
	}
	req, err := http.NewRequest("POST", b.base+path, bytes.NewReader([]byte(raw)))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Requested-With", "fetch")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(out)
}

// tplForm is a create form that the linter passes: two variables in order, with
// samples, a quick reply and a link button.
func tplForm(name string) url.Values {
	return url.Values{"from": {"main"}, "name": {name}, "language": {"id"}, "category": {"MARKETING"},
		"parameter_format": {"POSITIONAL"}, "header_text": {"Promo akhir tahun"},
		"body":          {"Halo {{1}}, ada penawaran baru untuk pesanan {{2}} Anda minggu ini."},
		"body_examples": {"Budi\r\nINV-42\r\n"}, "footer": {"Acme Indonesia"},
		"quick_reply": {"Berhenti promosi", "", ""}, "url_text": {"Lihat pesanan"},
		"url": {"https://acme.co.id/pesanan/{{1}}"}, "url_example": {"https://acme.co.id/pesanan/INV-42"}}
}

// TestTemplatePages creates a template through the form, finds it listed and on its
// page, sees refusals of the API named by their field and the linter's rules listed,
// copies it and deletes it.
func TestTemplatePages(t *testing.T) {
	k := start(t)
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	if st, _, body := b.get("/console/templates/new"); st != http.StatusOK || !strings.Contains(body, `id="tpl-form"`) || !strings.Contains(body, `/console/static/tpl.js`) {
		t.Fatalf("new form: %d", st)
	}
	st, loc, body := b.post("/console/templates", tplForm("promo_akhir"))
	if st != http.StatusSeeOther || loc != "/console/templates/promo_akhir?language=id&done=tpl.created_ok" {
		t.Fatalf("create: %d %q %s", st, loc, body)
	}
	kirimtest.WaitFor(t, "the sandbox's approval", 30e9, func() bool { return k.admin.TemplateStatus("promo_akhir") == "APPROVED" })
	st, _, body = b.get(loc)
	for _, want := range []string{"Template submitted for review.", "<h1>promo_akhir</h1>", "APPROVED", "Halo {{1}}, ada penawaran", "Lihat pesanan", "Acme Indonesia"} {
		if st != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("template page: %d, lacks %q", st, want)
		}
	}
	if _, _, body := b.get("/console/templates"); !strings.Contains(body, `href="/console/templates/promo_akhir?language=id"`) || !strings.Contains(body, `<span class="badge ok">APPROVED</span>`) {
		t.Errorf("the list lacks the template: %s", body)
	}
	if _, _, body := b.get("/console/templates?status=REJECTED"); strings.Contains(body, "promo_akhir") {
		t.Error("the status filter shows an approved template as rejected")
	}
	if st, _, body := b.get("/console/templates?status=NOPE"); st != http.StatusBadRequest || !strings.Contains(body, "status:") {
		t.Errorf("a bad filter: %d", st)
	}

	// Refusals of the API come back on the form, the field they name marked.
	cases := []struct {
		name   string
		form   url.Values
		status int
		says   string
		marked string
	}{
		{"a name taken", tplForm("promo_akhir"), http.StatusConflict, "name: ", `id="t-name" name="name" autocomplete="off" spellcheck="false" value="promo_akhir" aria-describedby="t-name-help form-error" aria-invalid="true"`},
		{"no such number", func() url.Values { f := tplForm("promo_lain"); f.Set("from", "nope"); return f }(), http.StatusBadRequest, "from: ", `id="t-from" name="from" aria-invalid="true"`},
	}
	for _, tc := range cases {
		st, _, body := b.post("/console/templates", tc.form)
		if st != tc.status || !strings.Contains(body, tc.says) || !strings.Contains(body, tc.marked) {
			t.Errorf("%s: %d %s", tc.name, st, body)
		}
	}
	// A draft the linter rejects is refused with every broken rule listed.
	bad := tplForm("promo_salah")
	bad.Set("body", "Halo {{2}}, ada penawaran baru untuk pesanan {{1}} Anda minggu ini.")
	st, _, body = b.post("/console/templates", bad)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "the template breaks 1 rule") || !strings.Contains(body, "<code>variable_sequence</code>") ||
		!strings.Contains(body, `value="promo_salah"`) {
		t.Errorf("a draft the linter rejects: %d %s", st, body)
	}

	// Copy: a new name, reviewed anew; a taken name is refused by its field.
	if st, loc, _ := b.post("/console/templates/promo_akhir/clone", url.Values{"new_name": {"promo_akhir_v2"}, "language": {"id"}, "from": {"main"}}); st != http.StatusSeeOther || loc != "/console/templates/promo_akhir_v2?language=id&done=tpl.cloned_ok" {
		t.Fatalf("clone: %d %q", st, loc)
	}
	if st, _, body := b.post("/console/templates/promo_akhir/clone", url.Values{"new_name": {"promo_akhir_v2"}, "language": {"id"}}); st != http.StatusConflict || !strings.Contains(body, `value="promo_akhir_v2" aria-invalid="true"`) {
		t.Errorf("clone to a taken name: %d %s", st, body)
	}

	// Delete, in its language: gone from the page and the list.
	if st, loc, _ := b.post("/console/templates/promo_akhir/delete", url.Values{"language": {"id"}, "from": {"main"}}); st != http.StatusSeeOther || loc != "/console/templates?done=tpl.deleted_ok" {
		t.Fatalf("delete: %d %q", st, loc)
	}
	if st, _, _ := b.get("/console/templates/promo_akhir?language=id"); st != http.StatusNotFound {
		t.Errorf("a deleted template's page: %d", st)
	}
	if s := k.admin.TemplateStatus("promo_akhir"); s != "NOT_FOUND" {
		t.Errorf("after delete the API has it %s", s)
	}
}

// TestTemplateLintEndpoint: the form's script gets the linter's verdict as JSON, only
// with the session's CSRF token, and only for a role that manages templates.
func TestTemplateLintEndpoint(t *testing.T) {
	k := start(t)
	pw := k.user(t, "rina", "marketer")
	b := k.client(t)
	b.signIn("rina", pw)
	draft := map[string][]string{"name": {"promo"}, "language": {"id"}, "category": {"MARKETING"},
		"body": {"Halo {{2}} dan {{1}}, pesanan Anda sudah kami kirim hari ini."}, "body_examples": {"Budi\nINV-1"}}
	st, ctype, body := tplPostJSON(b, "/console/templates/lint", b.csrf, draft)
	var verdict struct {
		OK         bool `json:"ok"`
		Violations []struct {
			Rule, Severity, Component, Message string
		} `json:"violations"`
	}
	if err := json.Unmarshal([]byte(body), &verdict); err != nil || st != http.StatusOK || ctype != "application/json" {
		t.Fatalf("lint: %d %s %s (%v)", st, ctype, body, err)
	}
	if verdict.OK || len(verdict.Violations) != 1 || verdict.Violations[0].Rule != "variable_sequence" || verdict.Violations[0].Severity != "error" ||
		!strings.Contains(verdict.Violations[0].Message, "{{2}} comes before {{1}}") {
		t.Fatalf("verdict %+v", verdict)
	}
	draft["body"] = []string{"Halo {{1}} dan {{2}}, pesanan Anda sudah kami kirim hari ini."}
	if _, _, body := tplPostJSON(b, "/console/templates/lint", b.csrf, draft); !strings.Contains(body, `"ok":true`) || !strings.Contains(body, `"violations":[]`) {
		t.Fatalf("a clean draft: %s", body)
	}
	if st, ctype, _ := tplPostJSON(b, "/console/templates/lint", b.csrf, "[1,2"); st != http.StatusBadRequest || ctype != "application/json" {
		t.Errorf("not JSON: %d %s", st, ctype)
	}
	other := k.client(t)
	other.signIn("demo-admin", "kirim-demo-admin")
	for _, tok := range []string{"", other.csrf, "forged"} {
		if st, _, body := tplPostJSON(b, "/console/templates/lint", tok, draft); st != http.StatusForbidden || strings.Contains(body, "violations") {
			t.Errorf("csrf %q: %d", tok, st)
		}
	}
	// The operator lints for the account picked at the top.
	op := k.client(t)
	op.signIn("operator", "kirim-demo-operator")
	if st, _, body := tplPostJSON(op, "/console/templates/lint", op.csrf, draft); st != http.StatusOK || !strings.Contains(body, `"ok":true`) {
		t.Errorf("the operator lints: %d %s", st, body)
	}
	fpw := k.user(t, "fina", "finance")
	fin := k.client(t)
	fin.signIn("fina", fpw)
	if st, _, _ := tplPostJSON(fin, "/console/templates/lint", fin.csrf, draft); st != http.StatusForbidden {
		t.Errorf("finance lints: %d", st)
	}
	// Signed out, a script is told to sign in again rather than sent a page.
	if st, _, _ := tplPostJSON(k.client(t), "/console/templates/lint", "x", draft); st != http.StatusUnauthorized {
		t.Errorf("signed out: %d", st)
	}
}
