package console_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"kirim/api"
	"kirim/internal/kirimtest"
)

// customerWrites has a customer write to one of the sandbox's numbers, through the
// sandbox's inspection API as a test harness would, and returns the message's wamid.
func (k *kirim) customerWrites(t *testing.T, body map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(k.m.Clients["main"].Config().BaseURL+"/_sandbox/inbound", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("sandbox inbound: %d %v", resp.StatusCode, err)
	}
	return out.ID
}

// inProcess calls the API as the demo account's admin without HTTP, and returns
// the status and the body.
func (k *kirim) inProcess(t *testing.T, method, path string, body any) (int, string) {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	k.m.API.ServeAs(rec, req, api.Principal{ID: "test", Name: "test", Account: "demo", Scopes: []string{api.ScopeAdmin}})
	return rec.Code, rec.Body.String()
}

// attr is s as html/template writes it in an attribute.
func attr(s string) string { return strings.ReplaceAll(s, "+", "&#43;") }

type convItem struct {
	ID, Direction, Type, Text, Status string
	Media                             *struct{ ID string }
}

// waitConversation waits until the conversation with phone holds n messages, as api
// (an API client of the account) reads it, and returns them newest first.
func waitConversation(t *testing.T, api *kirimtest.API, phone string, n int, done func([]convItem) bool) []convItem {
	t.Helper()
	var page struct {
		Data []convItem `json:"data"`
	}
	kirimtest.WaitFor(t, "the conversation", 30*time.Second, func() bool {
		api.Must(http.StatusOK, "GET", "/v1/contacts/"+url.PathEscape(phone)+"/messages", nil, &page)
		return len(page.Data) == n && (done == nil || done(page.Data))
	})
	return page.Data
}

// TestInboxPages: an agent lists the conversations, reads one with its window and
// media, replies inside the window, sends a template to a customer whose window is
// closed, and opts a customer out and in; refused forms say what is wrong.
func TestInboxPages(t *testing.T) {
	k := start(t)
	const sari, dewi = "+6281300000011", "+6281300000012"
	file := []byte("%PDF-1.4\x00 faktur INV-7")
	k.customerWrites(t, map[string]any{"from": dewi, "text": "Dewi di sini"})
	waitConversation(t, k.admin, dewi, 1, nil)
	k.customerWrites(t, map[string]any{"from": sari, "name": "Sari", "text": "Halo, paket saya belum sampai"})
	waitConversation(t, k.admin, sari, 1, nil)
	k.customerWrites(t, map[string]any{"from": sari, "type": "document", "media": map[string]string{
		"mime_type": "application/pdf", "data": base64.StdEncoding.EncodeToString(file), "filename": "faktur.pdf", "caption": "bukti"}})
	items := waitConversation(t, k.admin, sari, 2, nil)
	if items[0].Media == nil {
		t.Fatalf("the document: %+v", items[0])
	}
	mediaID := items[0].Media.ID

	pw := k.user(t, "agent1", "agent")
	b := k.client(t)
	b.signIn("agent1", pw)

	st, _, body := b.get("/console/inbox")
	if st != http.StatusOK {
		t.Fatalf("inbox: %d", st)
	}
	// Newest first: Sari wrote last. Her row says the document, the window counts down.
	si, di := strings.Index(body, `data-phone="`+attr(sari)+`"`), strings.Index(body, `data-phone="`+attr(dewi)+`"`)
	if si < 0 || di < 0 || si > di {
		t.Fatalf("conversations not listed newest first (%d, %d): %s", si, di, body)
	}
	for _, want := range []string{"Sari", "Document: bukti", "data-countdown=", ">open<"} {
		if !strings.Contains(body[si:], want) {
			t.Errorf("inbox lacks %q", want)
		}
	}

	st, _, body = b.get("/console/inbox/" + sari)
	if st != http.StatusOK {
		t.Fatalf("conversation: %d", st)
	}
	mediaURL := "/console/inbox/" + sari + "/media/" + mediaID
	for _, want := range []string{"Halo, paket saya belum sampai", `href="` + attr(mediaURL) + `"`, `id="countdown"`, `id="reply-form"`, `id="opt-out"`} {
		if !strings.Contains(body, want) {
			t.Errorf("conversation lacks %q", want)
		}
	}
	if strings.Contains(body, `id="template-form"`) {
		t.Error("a template form inside the window")
	}
	if strings.Index(body, "Halo, paket") > strings.Index(body, attr(mediaURL)) {
		t.Error("the conversation does not read oldest first")
	}

	// The media file, byte for byte, as a download that cannot run in the console.
	resp, err := b.hc.Get(k.base + mediaURL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, file) || resp.Header.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("media: %d %v %q", resp.StatusCode, resp.Header, got)
	}

	cases := []struct {
		name, method, path string
		form               url.Values
		status             int
		want               string
	}{
		{"unknown media", "GET", "/console/inbox/" + sari + "/media/999999", nil, http.StatusNotFound, "no such media"},
		{"not a phone", "GET", "/console/inbox/not-a-phone", nil, http.StatusBadRequest, "phone: "},
		{"empty reply", "POST", "/console/inbox/" + sari + "/reply", url.Values{"text": {" "}}, http.StatusBadRequest,
			`id="r-text" name="text" required maxlength="4096" rows="3" aria-invalid="true"`},
		{"text outside the window", "POST", "/console/inbox/+6281300000099/reply", url.Values{"text": {"halo"}}, http.StatusUnprocessableEntity,
			"the customer has not written in the last 24 hours"},
		{"no template chosen", "POST", "/console/inbox/+6281300000099/template", url.Values{"template": {""}}, http.StatusBadRequest,
			"template.name: choose a template"},
		{"unknown template", "POST", "/console/inbox/+6281300000099/template", url.Values{"template": {"nope|id"}, "from": {"main"}},
			http.StatusUnprocessableEntity, "is not a known template of this number"},
		{"local number", "GET", "/console/inbox/081300000011", nil, http.StatusSeeOther, ""},
		{"search", "GET", "/console/inbox?phone=081300000011", nil, http.StatusSeeOther, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var st int
			var body string
			if tc.method == "GET" {
				st, _, body = b.get(tc.path)
			} else {
				st, _, body = b.post(tc.path, tc.form)
			}
			if st != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d, want %d with %q: %s", st, tc.status, tc.want, body)
			}
		})
	}
	if _, loc, _ := b.get("/console/inbox/081300000011?from=main"); loc != "/console/inbox/"+sari+"?from=main" {
		t.Errorf("a local number goes to %q", loc)
	}

	// A reply inside the window.
	st, loc, _ := b.post("/console/inbox/"+sari+"/reply", url.Values{"text": {"Paket dikirim besok"}})
	if st != http.StatusSeeOther || loc != "/console/inbox/"+sari+"?done=inbox.reply_sent" {
		t.Fatalf("reply: %d %q", st, loc)
	}
	items = waitConversation(t, k.admin, sari, 3, nil)
	if items[0].Direction != "outbound" || items[0].Type != "text" {
		t.Fatalf("the reply: %+v", items[0])
	}
	if _, _, body := b.get(loc); !strings.Contains(body, "Reply queued.") || !strings.Contains(body, `id="m-`+items[0].ID+`"`) {
		t.Errorf("the reply is not shown: %s", body)
	}

	// Outside the window: only the number's approved templates are offered.
	st, _, body = b.get("/console/inbox/+6281300000099")
	if st != http.StatusOK || !strings.Contains(body, `id="template-form"`) || strings.Contains(body, `id="reply-form"`) ||
		!strings.Contains(body, `value="hello_world|en_US"`) || !strings.Contains(body, "No messages with this customer yet.") {
		t.Fatalf("a closed window: %d %s", st, body)
	}
	if st, _, _ := b.post("/console/inbox/+6281300000099/template", url.Values{"template": {"hello_world|en_US"}, "from": {"main"}}); st != http.StatusSeeOther {
		t.Fatalf("template: %d", st)
	}
	if items := waitConversation(t, k.admin, "+6281300000099", 1, nil); items[0].Type != "template" {
		t.Errorf("the template send: %+v", items[0])
	}

	// Opt out and back in, audited under the agent's name.
	for _, step := range []struct {
		verb, done, button string
		out                bool
	}{{"opt-out", "inbox.opted_out_ok", `id="opt-in"`, true}, {"opt-in", "inbox.opted_in_ok", `id="opt-out"`, false}} {
		st, loc, body := b.post("/console/inbox/"+sari+"/"+step.verb, nil)
		if st != http.StatusSeeOther || loc != "/console/inbox/"+sari+"?done="+step.done {
			t.Fatalf("%s: %d %q %s", step.verb, st, loc, body)
		}
		if _, _, body := b.get(loc); !strings.Contains(body, step.button) {
			t.Errorf("after %s the page lacks %s", step.verb, step.button)
		}
		var ct struct {
			OptedOut bool `json:"opted_out"`
		}
		k.admin.Must(http.StatusOK, "GET", "/v1/contacts/"+sari, nil, &ct)
		if ct.OptedOut != step.out {
			t.Errorf("after %s opted_out = %v", step.verb, ct.OptedOut)
		}
	}
	var audit struct {
		Data []struct{ Action, Key, Target string } `json:"data"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/audit?action=contact.*", nil, &audit)
	if len(audit.Data) != 2 || audit.Data[0].Key != "agent1" || audit.Data[0].Action != "contact.opt_out" {
		t.Errorf("audit of the opt-outs: %+v", audit.Data)
	}
}

// TestInboxRoles: the inbox is the agents' and admins' (and the operator's, for the
// account picked), not the marketers' or finance's.
func TestInboxRoles(t *testing.T) {
	k := start(t)
	for _, tc := range []struct {
		role   string
		status int
	}{{"agent", http.StatusOK}, {"admin", http.StatusOK}, {"operator", http.StatusOK}, {"marketer", http.StatusForbidden}, {"finance", http.StatusForbidden}} {
		pw := k.user(t, "in-"+tc.role, tc.role)
		b := k.client(t)
		b.signIn("in-"+tc.role, pw)
		for _, path := range []string{"/console/inbox", "/console/inbox/+6281300000011"} {
			if st, _, _ := b.get(path); st != tc.status {
				t.Errorf("%s: %s answered %d, want %d", tc.role, path, st, tc.status)
			}
		}
	}
}

// TestInboxTemplateValues: outside the window the agent sends a template with its
// values, one per line: by position, or by name for a template with named
// variables; a wrong count is refused and marks the values.
func TestInboxTemplateValues(t *testing.T) {
	k := start(t)
	body := func(text string, example map[string]any) map[string]any {
		return map[string]any{"type": "BODY", "text": text, "example": example}
	}
	for _, def := range []map[string]any{
		{"name": "pesanan_dikirim", "language": "id", "category": "UTILITY", "components": []any{
			body("Halo {{1}}, pesanan Anda {{2}} sudah kami kirim hari ini.", map[string]any{"body_text": [][]string{{"Budi", "INV-42"}}})}},
		{"name": "pesanan_nama", "language": "id", "category": "UTILITY", "parameter_format": "NAMED", "components": []any{
			body("Halo {{nama}}, pesanan Anda {{nomor}} sudah kami kirim hari ini.", map[string]any{"body_text_named_params": []map[string]string{
				{"param_name": "nama", "example": "Budi"}, {"param_name": "nomor", "example": "INV-42"}}})}},
	} {
		// In-process: the API's OpenAPI document does not describe a named
		// template's example yet, and the test server checks every HTTP answer by it.
		if st, out := k.inProcess(t, "POST", "/v1/templates", def); st != http.StatusCreated {
			t.Fatalf("template %s: %d %s", def["name"], st, out)
		}
		kirimtest.WaitFor(t, "the template's approval", 30*time.Second, func() bool {
			_, out := k.inProcess(t, "GET", "/v1/templates/"+def["name"].(string)+"?language=id", nil)
			return strings.Contains(out, `"status":"APPROVED"`)
		})
	}
	pw := k.user(t, "agent2", "agent")
	b := k.client(t)
	b.signIn("agent2", pw)
	const phone = "+6281300000051"
	if _, _, page := b.get("/console/inbox/" + phone); !strings.Contains(page, `value="pesanan_nama|id"`) || !strings.Contains(page, "2 values") {
		t.Fatalf("the picker lacks the templates: %s", page)
	}
	st, _, page := b.post("/console/inbox/"+phone+"/template", url.Values{"template": {"pesanan_dikirim|id"}, "values": {"Budi"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(page, `id="r-values" name="values" rows="3" aria-invalid="true"`) {
		t.Fatalf("one value of two: %d %s", st, page)
	}
	for i, tc := range []url.Values{
		{"template": {"pesanan_dikirim|id"}, "values": {"Budi\r\n\r\nINV-42\r\n"}},
		{"template": {"pesanan_nama|id"}, "values": {"Sari\nINV-43"}},
	} {
		if st, loc, page := b.post("/console/inbox/"+phone+"/template", tc); st != http.StatusSeeOther || !strings.HasSuffix(loc, "done=inbox.reply_sent") {
			t.Fatalf("send %d: %d %s", i, st, page)
		}
	}
	waitConversation(t, k.admin, phone, 2, nil)
}

// TestInboxInIndonesian: the pages speak Indonesian to a user who chose it, with
// every word found.
func TestInboxInIndonesian(t *testing.T) {
	k := start(t)
	k.customerWrites(t, map[string]any{"from": "+6281300000061", "text": "Halo"})
	waitConversation(t, k.admin, "+6281300000061", 1, nil)
	k.admin.Must(http.StatusCreated, "POST", "/v1/users", map[string]any{"login": "wati", "role": "admin", "lang": "id", "password": "pw-wati-0123456789"}, nil)
	b := k.client(t)
	b.signIn("wati", "pw-wati-0123456789")
	for _, tc := range []struct{ path, want string }{
		{"/console/inbox", "Kotak masuk"}, {"/console/inbox/+6281300000061", "Jendela layanan pelanggan terbuka sampai"},
		{"/console/inbox/+6281300000062", "hanya template yang disetujui"}, {"/console/callbacks", "Pengiriman gagal"},
		{"/console/keys", "Kunci baru"}, {"/console/audit", "Terlama lebih dulu; waktu dalam Asia/Jakarta."},
	} {
		st, _, page := b.get(tc.path)
		if st != http.StatusOK || !strings.Contains(page, tc.want) {
			t.Errorf("%s: %d, lacks %q", tc.path, st, tc.want)
		}
		for _, prefix := range []string{">inbox.", ">cb.", ">keys.", ">audit.", "%!"} {
			if strings.Contains(page, prefix) {
				t.Errorf("%s shows %q: a word is missing", tc.path, prefix)
			}
		}
	}
}
