package console_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"kirim/internal/kirimtest"
)

// listsCSV is an upload with one refused row (row 3: too short to be a number).
const listsCSV = "phone,name,kota\n0812-3456-7890,Budi,Jakarta\n12345,Sari,Bandung\n+62 813 1111 2222,Rina,Surabaya\n"

// listsUpload posts the upload form as a browser does: multipart, the name before the
// file, the CSRF token in the query ("" sends none).
func listsUpload(b *browserless, csrf, name, filename, content string) (int, string, string) {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", csrf)
	_ = mw.WriteField("name", name)
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		b.t.Fatal(err)
	}
	_, _ = io.WriteString(fw, content)
	_ = mw.Close()
	path := "/console/lists"
	if csrf != "" {
		path += "?csrf=" + url.QueryEscape(csrf)
	}
	req, err := http.NewRequest("POST", b.base+path, &buf)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(raw)
}

var reImport = regexp.MustCompile(`^/console/imports/(imp_[A-Za-z0-9_]+)$`)

// listsImported uploads listsCSV into a list named name and waits for its import to
// end; it returns the import's id and its progress answer.
func listsImported(t *testing.T, b *browserless, name string) (string, map[string]any) {
	t.Helper()
	st, loc, body := listsUpload(b, b.csrf, name, "pelanggan.csv", listsCSV)
	m := reImport.FindStringSubmatch(loc)
	if st != http.StatusSeeOther || m == nil {
		t.Fatalf("upload: %d %q %s", st, loc, body)
	}
	var im map[string]any
	kirimtest.WaitFor(t, "the import to end", 30*time.Second, func() bool {
		st, _, body := b.get(loc + "/progress")
		if st != http.StatusOK {
			t.Fatalf("progress: %d %s", st, body)
		}
		if err := json.Unmarshal([]byte(body), &im); err != nil {
			t.Fatalf("progress: %v %s", err, body)
		}
		return im["status"] != "running"
	})
	return m[1], im
}

// TestListUpload uploads a CSV file through the console: the import's page reports
// the refused row, the list shows its contacts with their opt-out state, and the
// contact's page opts one out and back in.
func TestListUpload(t *testing.T) {
	k := start(t)
	pw := k.user(t, "rina", "marketer")
	b := k.client(t)
	b.signIn("rina", pw)
	if st, _, body := b.get("/console/lists"); st != http.StatusOK || !strings.Contains(body, `enctype="multipart/form-data"`) {
		t.Fatalf("lists page: %d", st)
	}
	id, im := listsImported(t, b, "Pelanggan Desember")
	if im["status"] != "done" || im["imported"] != 2.0 || im["errors_total"] != 1.0 {
		t.Fatalf("import %v", im)
	}
	st, _, body := b.get("/console/imports/" + id)
	for _, want := range []string{"Import into Pelanggan Desember", ">Done<", `<td class="num">3</td><td>phone</td><td>invalid phone number &#34;12345&#34;</td>`, `<dd data-k="imported">2</dd>`} {
		if st != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("import page: %d, lacks %q", st, want)
		}
	}
	if strings.Contains(body, "data-poll") {
		t.Error("a finished import's page still polls")
	}
	listID := regexp.MustCompile(`href="/console/lists/(lst_[A-Za-z0-9_]+)"`).FindStringSubmatch(body)
	if listID == nil {
		t.Fatal("the import page does not link its list")
	}
	if _, _, body := b.get("/console/lists"); !strings.Contains(body, ">Pelanggan Desember</a></td><td class=\"num\">2</td>") || !strings.Contains(body, "<code>kota</code>") {
		t.Errorf("lists page: %s", body)
	}
	_, _, body = b.get("/console/lists/" + listID[1])
	for _, want := range []string{`<a href="/console/contacts/&#43;6281234567890">&#43;6281234567890</a></td><td>Budi</td><td>Jakarta</td>`, "+6281311112222", "Receives"} {
		if !strings.Contains(body, want) && !strings.Contains(body, strings.ReplaceAll(want, "+", "&#43;")) {
			t.Errorf("list page lacks %q: %s", want, body)
		}
	}

	// Opt a member out on the contact's page: the list shows it.
	if st, _, body := b.get("/console/contacts/+6281234567890"); st != http.StatusOK || !strings.Contains(body, "This contact receives messages.") || !strings.Contains(body, ">Pelanggan Desember</a>") {
		t.Fatalf("contact page: %d %s", st, body)
	}
	if st, loc, _ := b.post("/console/contacts/+6281234567890/opt-out", nil); st != http.StatusSeeOther || loc != "/console/contacts/+6281234567890?done=lists.opted_out_ok" {
		t.Fatalf("opt out: %d %q", st, loc)
	}
	if _, _, body := b.get("/console/contacts/+6281234567890?done=lists.opted_out_ok"); !strings.Contains(body, "The contact is opted out.") || !strings.Contains(body, `id="opt-in"`) {
		t.Errorf("after opting out: %s", body)
	}
	if _, _, body := b.get("/console/lists/" + listID[1]); strings.Count(body, "Opted out</span>") != 1 {
		t.Errorf("the list does not show the opt-out: %s", body)
	}
	if st, _, _ := b.post("/console/contacts/+6281234567890/opt-in", nil); st != http.StatusSeeOther {
		t.Fatalf("opt in: %d", st)
	}
	if _, _, body := b.get("/console/lists/" + listID[1]); strings.Contains(body, "Opted out</span>") {
		t.Error("opted back in, the list still shows the opt-out")
	}
	if st, _, body := b.get("/console/contacts/0812-ABCD"); st != http.StatusBadRequest || !strings.Contains(body, "phone:") {
		t.Errorf("a bad phone: %d", st)
	}

	// Delete the list.
	if st, loc, _ := b.post("/console/lists/"+listID[1]+"/delete", nil); st != http.StatusSeeOther || loc != "/console/lists?done=lists.deleted_ok" {
		t.Fatalf("delete: %d %q", st, loc)
	}
	if st, _, _ := b.get("/console/lists/" + listID[1]); st != http.StatusNotFound {
		t.Errorf("a deleted list's page: %d", st)
	}
}

// TestListUploadRefused: an upload without the session's token changes nothing; a
// file the API refuses comes back on the form with its field marked.
func TestListUploadRefused(t *testing.T) {
	k := start(t)
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	b.get("/console/lists")
	other := k.client(t)
	other.signIn("operator", "kirim-demo-operator")
	for _, tok := range []string{"", other.csrf} {
		if st, _, body := listsUpload(b, tok, "Curian", "a.csv", listsCSV); st != http.StatusForbidden || !strings.Contains(body, "did not come from this console") {
			t.Errorf("csrf %q: %d", tok, st)
		}
	}
	cases := []struct {
		what, name, file, content string
		status                    int
		says, marked              string
	}{
		{"no phone column", "Tanpa nomor", "a.csv", "nama,kota\nBudi,Jakarta\n", http.StatusBadRequest, "file: ", `aria-describedby="upload-help form-error" aria-invalid="true"`},
		{"no name", "", "a.csv", listsCSV, http.StatusBadRequest, "name", `id="l-name" name="name" required maxlength="128" autocomplete="off" value="" aria-invalid="true"`},
		{"a legacy workbook", "Lama", "a.xls", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", http.StatusBadRequest, "file: ", `aria-invalid="true"`},
	}
	for _, tc := range cases {
		st, _, body := listsUpload(b, b.csrf, tc.name, tc.file, tc.content)
		if st != tc.status || !strings.Contains(body, tc.says) || !strings.Contains(body, tc.marked) {
			t.Errorf("%s: %d %s", tc.what, st, body)
		}
	}
	if st, _, body := b.post("/console/lists", url.Values{"name": {"x"}}); st != http.StatusBadRequest || !strings.Contains(body, "choose a CSV or XLSX file") {
		t.Errorf("a form without a file: %d", st)
	}
	var lists struct {
		Data []struct{ Name string } `json:"data"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/lists", nil, &lists)
	if len(lists.Data) != 0 {
		t.Errorf("refused uploads made %d lists", len(lists.Data))
	}
	// The operator uploads into the account picked at the top.
	listsImported(t, other, "Dari operator")
	k.admin.Must(http.StatusOK, "GET", "/v1/lists", nil, &lists)
	if len(lists.Data) != 1 || lists.Data[0].Name != "Dari operator" {
		t.Errorf("the operator's upload: %+v", lists.Data)
	}
	if st, _, body := b.get("/console/imports/imp_nothing/progress"); st != http.StatusNotFound || !strings.HasPrefix(body, `{"error":`) {
		t.Errorf("progress of no import: %d", st)
	}
}

// reRawWord finds a key of these pages' words shown as itself: a word missing from
// the dictionary.
var reRawWord = regexp.MustCompile(`\b(tpl|lists)\.[a-z_]+\b`)

// TestTemplateAndListPagesInIndonesian opens every page of the two groups in
// Indonesian: each is in Indonesian and shows no word missing from the dictionary.
func TestTemplateAndListPagesInIndonesian(t *testing.T) {
	k := start(t)
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	if st, _, _ := b.post("/console/lang", url.Values{"lang": {"id"}, "back": {"/console/"}}); st != http.StatusSeeOther {
		t.Fatalf("choose Indonesian: %d", st)
	}
	b.get("/console/lists")
	id, _ := listsImported(t, b, "Pelanggan")
	_, _, imp := b.get("/console/imports/" + id)
	listID := regexp.MustCompile(`href="/console/lists/(lst_[A-Za-z0-9_]+)"`).FindStringSubmatch(imp)
	if listID == nil {
		t.Fatal("the import page does not link its list")
	}
	if st, _, body := b.post("/console/templates", tplForm("promo_id")); st != http.StatusSeeOther {
		t.Fatalf("create: %d %s", st, body)
	}
	pages := []struct{ path, word string }{
		{"/console/templates", "Template baru"},
		{"/console/templates/new", "Kirim untuk ditinjau"},
		{"/console/templates/promo_id?language=id", "Salin dengan nama baru"},
		{"/console/lists", "Unggah kontak"},
		{"/console/imports/" + id, "Baris yang ditolak"},
		{"/console/lists/" + listID[1], "Hapus daftar"},
		{"/console/contacts/+6281234567890", "Kontak ini menerima pesan."},
	}
	for _, pg := range pages {
		st, _, body := b.get(pg.path)
		if st != http.StatusOK || !strings.Contains(body, pg.word) {
			t.Errorf("%s: %d, lacks %q", pg.path, st, pg.word)
		}
		for _, raw := range reRawWord.FindAllString(body, -1) {
			if raw != "tpl.js" && raw != "lists.js" { // the pages' scripts
				t.Errorf("%s shows the key %q", pg.path, raw)
			}
		}
	}
}
