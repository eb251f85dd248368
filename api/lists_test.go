package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"kirim/api"
	"kirim/campaign/lists"
	"kirim/clock"
	"kirim/internal/openapicheck"
	"kirim/storage"
	"kirim/template"
)

// listsEnv is the API with only the lists store behind it.
type listsEnv struct {
	t     *testing.T
	store *lists.Store
	srv   *httptest.Server
}

func newListsEnv(t *testing.T) *listsEnv {
	t.Helper()
	db, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 8 << 20, NumMemtables: 2,
		BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := lists.Open(db, clock.NewFake(t0), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = st.Close()
		_ = db.Close()
	})
	// The template store keeps the Idempotency-Key answers.
	ts, err := template.OpenStore(db, template.StoreOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	server, err := api.New(api.Options{
		Lists: st, TemplateStore: ts, Clock: clock.NewFake(t0), Logger: quietLogger(),
		Accounts: []api.Account{{ID: "acct_a", Currency: "IDR", DefaultRegion: "ID"}, {ID: "acct_b", Currency: "IDR", DefaultRegion: "ID"}},
		Keys: []api.Key{
			{Name: "send-a", Account: "acct_a", Scopes: []string{api.ScopeSend}, SHA256: api.HashKey(keySendA)},
			{Name: "campaigns-a", Account: "acct_a", Scopes: []string{api.ScopeCampaigns}, SHA256: api.HashKey(keyCampaignsA)},
			{Name: "send-b", Account: "acct_b", Scopes: []string{api.ScopeSend}, SHA256: api.HashKey(keySendB)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &listsEnv{t: t, store: st, srv: httptest.NewServer(openapicheck.New(t, api.OpenAPI()).Handler(server.Handler()))}
	t.Cleanup(e.srv.Close)
	return e
}

func (e *listsEnv) do(method, path, key, contentType string, body io.Reader) response {
	e.t.Helper()
	return e.doWith(method, path, key, contentType, "", body)
}

// doWith is do with an Idempotency-Key (none when idem is empty).
func (e *listsEnv) doWith(method, path, key, contentType, idem string, body io.Reader) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// upload posts fields in order (a field whose name is "file" is the content of
// filename) as multipart/form-data.
func (e *listsEnv) upload(key string, filename string, fields ...[2]string) response {
	e.t.Helper()
	return e.uploadWith(key, "", filename, fields...)
}

// uploadWith is upload with an Idempotency-Key (none when idem is empty).
func (e *listsEnv) uploadWith(key, idem, filename string, fields ...[2]string) response {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if f[0] == "file" {
			w, _ := mw.CreateFormFile("file", filename)
			_, _ = w.Write([]byte(f[1]))
			continue
		}
		_ = mw.WriteField(f[0], f[1])
	}
	_ = mw.Close()
	return e.doWith("POST", "/v1/lists", key, mw.FormDataContentType(), idem, &buf)
}

// waitImport polls the import until it is no longer running.
func (e *listsEnv) waitImport(id string) map[string]any {
	e.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		r := e.do("GET", "/v1/imports/"+id, keySendA, "", nil)
		if r.status != http.StatusOK {
			e.t.Fatalf("GET import: %d %s", r.status, r.body)
		}
		m := r.json(e.t)
		if m["status"] != lists.StatusRunning {
			return m
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			e.t.Fatalf("import %s still running", id)
		}
	}
}

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "campaign", "lists", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestListUploadAndRead(t *testing.T) {
	e := newListsEnv(t)
	r := e.upload(keyCampaignsA, "pelanggan.csv", [2]string{"name", "Pelanggan Desember"}, [2]string{"file", fixture(t, "excel_id_semicolon.csv")})
	if r.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	up := r.json(t)
	if up["status"] != "running" || up["list_name"] != "Pelanggan Desember" {
		t.Fatalf("upload answer %v", up)
	}
	listID, importID := up["list_id"].(string), up["import_id"].(string)
	im := e.waitImport(importID)
	var got struct {
		Status     string           `json:"status"`
		RowsTotal  int64            `json:"rows_total"`
		RowsDone   int64            `json:"rows_done"`
		Imported   int64            `json:"imported"`
		Duplicates int64            `json:"duplicates"`
		Errors     []lists.RowError `json:"errors"`
		Filename   string           `json:"filename"`
	}
	b, _ := json.Marshal(im)
	_ = json.Unmarshal(b, &got)
	wantErrs := []lists.RowError{
		{Row: 7, Column: "phone", Message: `phone number "6.28123E+12" lost digits in scientific notation: format the column as text in the spreadsheet and export again`},
		{Row: 8, Column: "phone", Message: `invalid phone number "12345"`},
		{Row: 10, Column: "phone", Message: "empty phone number"},
		{Row: 11, Column: "E", Message: "too many columns: the row has a value in column E, the header has 4 columns"},
	}
	if got.Status != "done" || got.RowsTotal != 11 || got.RowsDone != 11 || got.Imported != 6 || got.Duplicates != 1 ||
		got.Filename != "pelanggan.csv" || !reflect.DeepEqual(got.Errors, wantErrs) {
		t.Fatalf("import %s", b)
	}
	if im["finished_at"] == nil || im["progress"] != 1.0 {
		t.Fatalf("import %s", b)
	}

	ls := e.do("GET", "/v1/lists", keySendA, "", nil).json(t)
	data := ls["data"].([]any)
	if len(data) != 1 || ls["next_cursor"] != "" {
		t.Fatalf("lists %v", ls)
	}
	l := e.do("GET", "/v1/lists/"+listID, keySendA, "", nil).json(t)
	if l["count"] != 6.0 || !reflect.DeepEqual(l["columns"], []any{"kota", "catatan"}) || l["import_id"] != importID {
		t.Fatalf("list %v", l)
	}

	// Contacts page by page, in phone order, with an opaque cursor.
	var phones []string
	cursor := ""
	for pages := 0; ; pages++ {
		path := "/v1/lists/" + listID + "/contacts?limit=4"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.do("GET", path, keySendA, "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("contacts: %d %s", r.status, r.body)
		}
		var page struct {
			Data []struct {
				Phone string            `json:"phone"`
				Name  string            `json:"name"`
				Vars  map[string]string `json:"vars"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal(r.body, &page)
		for _, m := range page.Data {
			phones = append(phones, m.Phone)
			if m.Phone == "+6281234567890" && (m.Name != "Budi Santoso" || m.Vars["catatan"] != "Pelanggan lama") {
				t.Fatalf("member %+v", m)
			}
		}
		if page.NextCursor == "" {
			if pages != 1 {
				t.Fatalf("%d pages, want 2", pages+1)
			}
			break
		}
		cursor = page.NextCursor
	}
	want := []string{"+6281234567890", "+6281298765430", "+6281311112222", "+6281355556666", "+6285711112222", "+6285712345678"}
	if !reflect.DeepEqual(phones, want) {
		t.Fatalf("phones %v, want %v", phones, want)
	}

	// Another account sees none of it.
	wantError(t, e.do("GET", "/v1/lists/"+listID, keySendB, "", nil), 404, "not_found", "")
	wantError(t, e.do("GET", "/v1/imports/"+importID, keySendB, "", nil), 404, "not_found", "")
	wantError(t, e.do("GET", "/v1/lists/"+listID+"/contacts", keySendB, "", nil), 404, "not_found", "")
	if ls := e.do("GET", "/v1/lists", keySendB, "", nil).json(t); len(ls["data"].([]any)) != 0 {
		t.Fatalf("account b lists %v", ls)
	}

	// Delete needs the campaigns scope; then the list is gone.
	wantError(t, e.do("DELETE", "/v1/lists/"+listID, keySendA, "", nil), 403, "forbidden", "")
	if r := e.do("DELETE", "/v1/lists/"+listID, keyCampaignsA, "", nil); r.status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantError(t, e.do("GET", "/v1/lists/"+listID, keySendA, "", nil), 404, "not_found", "")
	wantError(t, e.do("DELETE", "/v1/lists/"+listID, keyCampaignsA, "", nil), 404, "not_found", "")
	if ids, _ := e.store.ListsOf("acct_a", "+6281234567890"); len(ids) != 0 {
		t.Fatalf("contact still on %v", ids)
	}
}

func TestListUploadRawAndXLSX(t *testing.T) {
	e := newListsEnv(t)
	r := e.do("POST", "/v1/lists?name=Raw", keyCampaignsA, "text/csv; charset=utf-8", strings.NewReader("No HP,Nama\n081234567890,Budi\n"))
	if r.status != http.StatusAccepted {
		t.Fatalf("raw upload: %d %s", r.status, r.body)
	}
	if im := e.waitImport(r.json(t)["import_id"].(string)); im["imported"] != 1.0 || im["format"] != "csv" {
		t.Fatalf("raw import %v", im)
	}
	x := e.upload(keyCampaignsA, "kontak.xlsx", [2]string{"name", "Workbook"}, [2]string{"file", fixture(t, "contacts.xlsx")})
	if x.status != http.StatusAccepted {
		t.Fatalf("xlsx upload: %d %s", x.status, x.body)
	}
	if im := e.waitImport(x.json(t)["import_id"].(string)); im["imported"] != 5.0 || im["duplicates"] != 1.0 || im["format"] != "xlsx" || im["rows_total"] != 8.0 {
		t.Fatalf("xlsx import %v", im)
	}
}

func TestListUploadRefused(t *testing.T) {
	e := newListsEnv(t)
	cases := []struct {
		name          string
		r             func() response
		status        int
		code, field   string
		msgContaining string
	}{
		{"no phone column", func() response {
			return e.upload(keyCampaignsA, "x.csv", [2]string{"name", "L"}, [2]string{"file", fixture(t, "no_phone.csv")})
		}, 400, "missing_phone_column", "file", "no phone column"},
		{"duplicate header", func() response {
			return e.upload(keyCampaignsA, "x.csv", [2]string{"name", "L"}, [2]string{"file", fixture(t, "duplicate_header.csv")})
		}, 400, "invalid_file", "file", "both become first_name"},
		{"legacy xls", func() response {
			return e.upload(keyCampaignsA, "old.xls", [2]string{"name", "L"}, [2]string{"file", fixture(t, "legacy.xls")})
		}, 400, "unsupported_format", "file", ".xlsx"},
		{"no name", func() response {
			return e.upload(keyCampaignsA, "x.csv", [2]string{"file", "phone\n081234567890\n"})
		}, 400, "invalid_field", "name", "before the file part"},
		{"file after a blank name", func() response {
			return e.upload(keyCampaignsA, "x.csv", [2]string{"name", "  "}, [2]string{"file", "phone\n081234567890\n"})
		}, 400, "invalid_field", "name", "required"},
		{"no file", func() response { return e.upload(keyCampaignsA, "", [2]string{"name", "L"}) }, 400, "invalid_field", "file", "required"},
		{"raw without a name", func() response {
			return e.do("POST", "/v1/lists", keyCampaignsA, "text/csv", strings.NewReader("phone\n081234567890\n"))
		}, 400, "invalid_field", "name", "required"},
		{"json body", func() response {
			return e.do("POST", "/v1/lists?name=x", keyCampaignsA, "application/json", strings.NewReader("{}"))
		}, 415, "unsupported_media_type", "Content-Type", "multipart"},
		{"send scope", func() response {
			return e.upload(keySendA, "x.csv", [2]string{"name", "L"}, [2]string{"file", "phone\n081234567890\n"})
		}, 403, "forbidden", "", "campaigns"},
		{"unknown import", func() response { return e.do("GET", "/v1/imports/imp_nope", keySendA, "", nil) }, 404, "not_found", "", "import"},
		{"unknown list", func() response { return e.do("GET", "/v1/lists/lst_nope/contacts", keySendA, "", nil) }, 404, "not_found", "", "list"},
		{"bad limit", func() response { return e.do("GET", "/v1/lists?limit=0", keySendA, "", nil) }, 400, "invalid_field", "limit", "1 to 1000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ae := wantError(t, tc.r(), tc.status, tc.code, tc.field)
			if !strings.Contains(ae.Error.Message, tc.msgContaining) {
				t.Errorf("message %q, want it to contain %q", ae.Error.Message, tc.msgContaining)
			}
		})
	}
	// Nothing was created by any of them.
	if ls, _ := e.store.Lists("acct_a"); len(ls) != 0 {
		t.Fatalf("lists created: %+v", ls)
	}
	// A contacts cursor that is not one.
	im, err := e.store.ImportSync(context.Background(), lists.ImportRequest{Account: "acct_a", ListName: "c", Body: strings.NewReader("phone\n081234567890\n")})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, e.do("GET", "/v1/lists/"+im.ListID+"/contacts?cursor=%21%21", keySendA, "", nil), 400, "invalid_cursor", "cursor")
}

func TestListsPagination(t *testing.T) {
	e := newListsEnv(t)
	var ids []string
	for _, n := range []string{"one", "two", "three"} {
		im, err := e.store.ImportSync(context.Background(), lists.ImportRequest{Account: "acct_a", ListName: n, Body: strings.NewReader("phone\n081234567890\n")})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, im.ListID)
	}
	p1 := e.do("GET", "/v1/lists?limit=2", keySendA, "", nil).json(t)
	if d := p1["data"].([]any); len(d) != 2 || d[0].(map[string]any)["id"] != ids[0] || p1["next_cursor"] != ids[1] {
		t.Fatalf("page 1 %v", p1)
	}
	p2 := e.do("GET", "/v1/lists?limit=2&cursor="+ids[1], keySendA, "", nil).json(t)
	if d := p2["data"].([]any); len(d) != 1 || d[0].(map[string]any)["name"] != "three" || p2["next_cursor"] != "" {
		t.Fatalf("page 2 %v", p2)
	}
}

// TestListUploadIdempotent: a retried upload with the same Idempotency-Key, file and
// name answers the first import and imports nothing again; the key with another file
// or another name is a 409 and changes nothing.
func TestListUploadIdempotent(t *testing.T) {
	e := newListsEnv(t)
	file := "phone,name\n081211110001,Budi\n081211110002,Ani\n"
	first := e.uploadWith(keyCampaignsA, "upload-1", "a.csv", [2]string{"name", "pelanggan"}, [2]string{"file", file})
	if first.status != http.StatusAccepted {
		t.Fatalf("upload: %d %s", first.status, first.body)
	}
	up := first.json(t)
	e.waitImport(up["import_id"].(string))
	again := e.uploadWith(keyCampaignsA, "upload-1", "a.csv", [2]string{"name", "pelanggan"}, [2]string{"file", file})
	if again.status != http.StatusAccepted || !bytes.Equal(again.body, first.body) {
		t.Fatalf("retry answered %d %s, want the first answer %s", again.status, again.body, first.body)
	}
	for _, tc := range []struct {
		name string
		list string
		file string
	}{
		{"another file", "pelanggan", file + "081211110003,Citra\n"},
		{"another list name", "lain", file},
	} {
		r := e.uploadWith(keyCampaignsA, "upload-1", "a.csv", [2]string{"name", tc.list}, [2]string{"file", tc.file})
		wantError(t, r, http.StatusConflict, "idempotency_conflict", "Idempotency-Key")
	}
	ls := e.do("GET", "/v1/lists", keySendA, "", nil).json(t)
	data := ls["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["count"] != 2.0 {
		t.Fatalf("lists after the retries: %v", data)
	}
	// Without a key, the same upload is a new import into the same list.
	if r := e.upload(keyCampaignsA, "a.csv", [2]string{"name", "pelanggan"}, [2]string{"file", file}); r.status != http.StatusAccepted || bytes.Equal(r.body, first.body) {
		t.Fatalf("keyless upload: %d %s", r.status, r.body)
	}
}
