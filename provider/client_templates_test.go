package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
)

var createTemplateCases = []struct {
	golden string
	def    *TemplateDefinition
	answer string
	want   TemplateCreated
}{
	{
		golden: "template_create_utility.json",
		def: &TemplateDefinition{Name: "order_update", Language: "id", Category: "UTILITY", ParameterFormat: "POSITIONAL", Components: []TemplateComponentDef{
			{Type: "HEADER", Format: "TEXT", Text: "Pesanan {{1}} Anda", Example: &TemplateExample{HeaderText: []string{"INV-9"}}},
			{Type: "BODY", Text: "Halo {{1}}, pesanan {{2}} sudah dikirim.", Example: &TemplateExample{BodyText: [][]string{{"Budi", "INV-9"}}}},
			{Type: "FOOTER", Text: "Acme"},
			{Type: "BUTTONS", Buttons: []TemplateButtonDef{
				{Type: ButtonURL, Text: "Lacak", URL: "https://acme.co.id/t/{{1}}", Example: []string{"INV-9"}},
				{Type: ButtonQuickReply, Text: "Berhenti"},
			}},
		}},
		answer: `{"id":"594425479261596","status":"PENDING","category":"UTILITY"}`,
		want:   TemplateCreated{ID: "594425479261596", Status: "PENDING", Category: "UTILITY"},
	},
	{
		golden: "template_create_auth.json",
		def: &TemplateDefinition{Name: "kode_verifikasi", Language: "id", Category: "AUTHENTICATION", MessageSendTTLSeconds: 600, Components: []TemplateComponentDef{
			{Type: "BODY", AddSecurityRecommendation: true},
			{Type: "FOOTER", CodeExpirationMinutes: 5},
			{Type: "BUTTONS", Buttons: []TemplateButtonDef{{Type: ButtonOTP, OTPType: "COPY_CODE", Text: "Salin kode"}}},
		}},
		answer: `{"id":"1066711258284519","status":"APPROVED","category":"AUTHENTICATION"}`,
		want:   TemplateCreated{ID: "1066711258284519", Status: "APPROVED", Category: "AUTHENTICATION"},
	},
	{
		golden: "template_create_named.json",
		def: &TemplateDefinition{Name: "sambutan_member", Language: "id", Category: "MARKETING", ParameterFormat: "NAMED", Components: []TemplateComponentDef{
			{Type: "HEADER", Format: "IMAGE", Example: &TemplateExample{HeaderHandle: []string{"4::aW1hZ2UvanBlZw==:ARb2yWq7p1Jk0Yx8:e:1785043200:1234567890:100012345678901:ARaB3cD4"}}},
			{Type: "BODY", Text: "Selamat datang, {{first_name}}! Nikmati diskon {{discount}} untuk belanja pertama.", Example: &TemplateExample{BodyTextNamedParams: []NamedParam{
				{ParamName: "first_name", Example: "Siti"}, {ParamName: "discount", Example: "15%"},
			}}},
			{Type: "BUTTONS", Buttons: []TemplateButtonDef{
				{Type: ButtonCopyCode, Example: []string{"HALO15"}},
				{Type: ButtonPhoneNumber, Text: "Hubungi kami", PhoneNumber: "+622155501234"},
			}},
		}},
		answer: `{"id":"1281735026207841","status":"PENDING","category":"MARKETING"}`,
		want:   TemplateCreated{ID: "1281735026207841", Status: "PENDING", Category: "MARKETING"},
	},
}

func TestCreateTemplate(t *testing.T) {
	for _, tc := range createTemplateCases {
		t.Run(tc.golden, func(t *testing.T) {
			api := newFakeAPI(t, func(recorded) (int, string) { return 200, tc.answer })
			got, err := api.client().CreateTemplate(context.Background(), tc.def)
			if err != nil {
				t.Fatal(err)
			}
			r := api.only(t)
			checkRequest(t, r, http.MethodPost, "/v25.0/"+testWABAID+"/message_templates", "application/json")
			assertJSONEqual(t, r.body, readFixture(t, "send", tc.golden))
			if *got != tc.want {
				t.Errorf("answer = %+v, want %+v", *got, tc.want)
			}
			// The golden body decodes back into the same definition (COPY_CODE's single
			// example string included).
			var back TemplateDefinition
			if err := json.Unmarshal(readFixture(t, "send", tc.golden), &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&back, tc.def) {
				t.Errorf("golden decodes to %+v\nwant %+v", back, *tc.def)
			}
		})
	}
}

func TestCreateTemplateRejected(t *testing.T) {
	api := newFakeAPI(t, func(recorded) (int, string) {
		return 400, string(readFixtureNoT("errors", "template_create_2388299.json"))
	})
	_, err := api.client().CreateTemplate(context.Background(), &TemplateDefinition{Name: "x", Language: "id", Category: "UTILITY"})
	pe, ok := AsError(err)
	if !ok || pe.Subcode != 2388299 || pe.UserTitle == "" || pe.Class() != FixRequest {
		t.Fatalf("err = %#v", err)
	}
}

// templatePage builds one page of the list answer the way Graph API pages: cursors
// always, next only when more follow.
func templatePage(base string, names []string, before, after string, more bool) string {
	var data []string
	for i, n := range names {
		data = append(data, fmt.Sprintf(`{"name":%q,"parameter_format":"POSITIONAL","components":[{"type":"BODY","text":"Halo {{1}}","example":{"body_text":[["Budi"]]}},{"type":"BUTTONS","buttons":[{"type":"COPY_CODE","example":"HEMAT10"},{"type":"URL","text":"Buka","url":"https://acme.co.id/{{1}}","example":["https://acme.co.id/a"]}]}],"language":"id","status":"APPROVED","category":"MARKETING","quality_score":{"score":"GREEN","date":1751247548},"rejected_reason":"NONE","id":"%d"}`, n, 900000+i))
	}
	paging := fmt.Sprintf(`{"cursors":{"before":%q,"after":%q}`, before, after)
	if more {
		paging += fmt.Sprintf(`,"next":"%s/v25.0/%s/message_templates?limit=100&after=%s"`, base, testWABAID, after)
	}
	return `{"data":[` + strings.Join(data, ",") + `],"paging":` + paging + `}}`
}

func TestListTemplatesFollowsPages(t *testing.T) {
	var api *fakeAPI
	api = newFakeAPI(t, func(r recorded) (int, string) {
		switch r.query.Get("after") {
		case "":
			return 200, templatePage(api.srv.URL, []string{"order_update", "promo_juli"}, "QVFIUmx0", "QVFIUjF2", true)
		case "QVFIUjF2":
			return 200, templatePage(api.srv.URL, []string{"kode_verifikasi", "faktur_pajak"}, "QVFIUjJ2", "QVFIUjN2", true)
		case "QVFIUjN2":
			return 200, templatePage(api.srv.URL, []string{"sambutan_member"}, "QVFIUjR2", "QVFIUjR2", false)
		}
		return 400, `{"error":{"message":"(#100) Invalid cursor","type":"OAuthException","code":100}}`
	})
	got, err := api.client().ListTemplates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range got {
		names = append(names, d.Name)
	}
	want := []string{"order_update", "promo_juli", "kode_verifikasi", "faktur_pajak", "sambutan_member"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %v, want %v", names, want)
	}
	if got[0].QualityScore == nil || got[0].QualityScore.Score != "GREEN" || got[0].Status != "APPROVED" {
		t.Errorf("first template = %+v", got[0])
	}
	if b := got[0].Components[1].Buttons; len(b) != 2 || !reflect.DeepEqual(b[0].Example, []string{"HEMAT10"}) {
		t.Errorf("buttons = %+v", b)
	}
	reqs := api.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		checkRequest(t, r, http.MethodGet, "/v25.0/"+testWABAID+"/message_templates", "")
		if r.query.Get("limit") != "100" {
			t.Errorf("request %d: limit = %q", i, r.query.Get("limit"))
		}
		for _, f := range []string{"name", "status", "category", "language", "components", "quality_score", "rejected_reason"} {
			if !strings.Contains(","+r.query.Get("fields")+",", ","+f+",") {
				t.Errorf("request %d: fields %q lack %s", i, r.query.Get("fields"), f)
			}
		}
	}
}

func TestListTemplatesError(t *testing.T) {
	api := newFakeAPI(t, func(recorded) (int, string) {
		return 400, string(readFixtureNoT("errors", "waba_rate_80007.json"))
	})
	_, err := api.client().ListTemplates(context.Background())
	if pe, ok := AsError(err); !ok || pe.Class() != Throttled {
		t.Fatalf("err = %v", err)
	}
}

func TestDeleteTemplate(t *testing.T) {
	tests := []struct {
		name, tmpl, hsmID string
		want              url.Values
	}{
		{"all languages", "promo_juli", "", url.Values{"name": {"promo_juli"}}},
		{"one language", "promo_juli", "1281735026207841", url.Values{"name": {"promo_juli"}, "hsm_id": {"1281735026207841"}}},
		{"name needs escaping", "a&b=c", "", url.Values{"name": {"a&b=c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, func(recorded) (int, string) { return 200, `{"success":true}` })
			if err := api.client().DeleteTemplate(context.Background(), tt.tmpl, tt.hsmID); err != nil {
				t.Fatal(err)
			}
			r := api.only(t)
			checkRequest(t, r, http.MethodDelete, "/v25.0/"+testWABAID+"/message_templates", "")
			if !reflect.DeepEqual(r.query, tt.want) {
				t.Errorf("query = %v, want %v", r.query, tt.want)
			}
			if len(r.body) != 0 {
				t.Errorf("DELETE carried a body: %q", r.body)
			}
		})
	}
}

func TestUploadMedia(t *testing.T) {
	file := []byte("\xff\xd8\xff\xe0 not really a jpeg")
	type part struct {
		name, filename, ctype string
		data                  []byte
	}
	var (
		mu    sync.Mutex
		parts []part
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v25.0/"+testPhoneID+"/media" || r.Header.Get("Authorization") != "Bearer "+testToken {
			http.Error(w, "bad request line", http.StatusBadRequest)
			return
		}
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			data, _ := io.ReadAll(p)
			mu.Lock()
			parts = append(parts, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), data})
			mu.Unlock()
		}
		_, _ = io.WriteString(w, `{"id":"1037543291543636"}`)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL, Token: testToken, PhoneNumberID: testPhoneID})
	id, err := c.UploadMedia(context.Background(), "bukti.jpg", "image/jpeg", bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if id != "1037543291543636" {
		t.Errorf("id = %q", id)
	}
	byName := map[string]part{}
	for _, p := range parts {
		byName[p.name] = p
	}
	if p := byName["messaging_product"]; string(p.data) != "whatsapp" {
		t.Errorf("messaging_product = %q", p.data)
	}
	if p := byName["type"]; string(p.data) != "image/jpeg" {
		t.Errorf("type = %q", p.data)
	}
	f, ok := byName["file"]
	if !ok {
		t.Fatalf("no file part in %v", parts)
	}
	if f.filename != "bukti.jpg" || f.ctype != "image/jpeg" || !bytes.Equal(f.data, file) {
		t.Errorf("file part = %q %q %q", f.filename, f.ctype, f.data)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk gone") }

func TestUploadMediaReadError(t *testing.T) {
	api := newFakeAPI(t, func(recorded) (int, string) { return 200, `{"id":"1"}` })
	_, err := api.client().UploadMedia(context.Background(), "a.pdf", "application/pdf", failingReader{})
	if err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Fatalf("err = %v", err)
	}
	if n := len(api.requests()); n != 0 {
		t.Fatalf("%d requests made for an unreadable file", n)
	}
}

func TestGetPhoneNumber(t *testing.T) {
	api := newFakeAPI(t, func(recorded) (int, string) {
		return 200, `{"verified_name":"Toko Acme","code_verification_status":"VERIFIED","display_phone_number":"+62 812-3456-7890","quality_rating":"GREEN","platform_type":"CLOUD_API","throughput":{"level":"STANDARD"},"whatsapp_business_manager_messaging_limit":"TIER_2K","status":"CONNECTED","name_status":"APPROVED","id":"106540352242922"}`
	})
	got, err := api.client().GetPhoneNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := api.only(t)
	checkRequest(t, r, http.MethodGet, "/v25.0/"+testPhoneID, "")
	fields := "," + r.query.Get("fields") + ","
	for _, f := range []string{"status", "quality_rating", "name_status", "verified_name", "throughput", "whatsapp_business_manager_messaging_limit", "display_phone_number"} {
		if !strings.Contains(fields, ","+f+",") {
			t.Errorf("fields %q lack %s", fields, f)
		}
	}
	want := PhoneNumberInfo{ID: testPhoneID, DisplayPhoneNumber: "+62 812-3456-7890", VerifiedName: "Toko Acme", Status: "CONNECTED",
		QualityRating: "GREEN", NameStatus: "APPROVED", Throughput: &Throughput{Level: "STANDARD"}, MessagingLimit: "TIER_2K"}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got %+v\nwant %+v", *got, want)
	}
	if n, ok := ParseTierLimit(got.MessagingLimit); !ok || n != 2000 {
		t.Errorf("ParseTierLimit(%q) = %d, %v", got.MessagingLimit, n, ok)
	}
}
