package provider

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testToken   = "EAAJtestSystemUserToken"
	testPhoneID = "106540352242922"
	testWABAID  = "102290129340398"
	testWamid   = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjBDNzE4RjM1N0Q2ODRBQjhCRkEA"
	inboundWam  = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjBDNzE4RjM1N0Q2ODRBQjhCRkEA"
	testTo      = "+6281234567890"
	testWaID    = "6281234567890"
	sendAnswer  = `{"messaging_product":"whatsapp","contacts":[{"input":"+6281234567890","wa_id":"6281234567890"}],"messages":[{"id":"` + testWamid + `","message_status":"accepted"}]}`
	waitTimeout = 10 * time.Second
)

// recorded is one request the fake Cloud API received.
type recorded struct {
	method string
	path   string
	query  url.Values
	header http.Header
	body   []byte
}

// fakeAPI is an httptest server that records every request and answers with the
// function given, so a test states both what it expects and what Meta would say.
type fakeAPI struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []recorded
	answer func(r recorded) (int, string)
}

func newFakeAPI(t *testing.T, answer func(r recorded) (int, string)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec := recorded{method: r.Method, path: r.URL.Path, query: r.URL.Query(), header: r.Header.Clone(), body: body}
		f.mu.Lock()
		f.reqs = append(f.reqs, rec)
		f.mu.Unlock()
		status, out := f.answer(rec)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, out)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) client() *Client {
	return New(Config{BaseURL: f.srv.URL, Token: testToken, PhoneNumberID: testPhoneID, WABAID: testWABAID})
}

func (f *fakeAPI) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeAPI) only(t *testing.T) recorded {
	t.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

// checkRequest asserts the parts every Cloud API call shares.
func checkRequest(t *testing.T, r recorded, method, path, ctype string) {
	t.Helper()
	if r.method != method {
		t.Errorf("method = %s, want %s", r.method, method)
	}
	if r.path != path {
		t.Errorf("path = %s, want %s", r.path, path)
	}
	if got := r.header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.header.Get("Content-Type"); ctype != "" && !strings.HasPrefix(got, ctype) {
		t.Errorf("Content-Type = %q, want %s", got, ctype)
	}
}

// assertJSONEqual compares two JSON documents by value, ignoring key order and spacing.
func assertJSONEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is not JSON: %v\n%s", err, want)
	}
	if !reflect.DeepEqual(g, w) {
		gi, _ := json.MarshalIndent(g, "", "  ")
		wi, _ := json.MarshalIndent(w, "", "  ")
		t.Fatalf("JSON differs\n got: %s\nwant: %s", gi, wi)
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func individual(typ string) Message {
	return Message{RecipientType: "individual", To: testTo, Type: typ}
}

func with(m Message, f func(*Message)) *Message {
	f(&m)
	return &m
}

// sendCases pair a Message built in Go with the body Meta's documentation shows for it.
var sendCases = []struct {
	golden string
	msg    *Message
}{
	{"text.json", with(individual(TypeText), func(m *Message) {
		m.Text = &Text{Body: "Halo Budi, pesanan INV-9 sudah dikirim. Lacak di https://acme.co.id/t/INV-9", PreviewURL: true}
		m.BizOpaqueCallbackData = "msg_01J2Z7K9Q4X8"
	})},
	{"text_reply.json", with(individual(TypeText), func(m *Message) {
		m.Text = &Text{Body: "Terima kasih \U0001F64F pesanan Anda kami proses hari ini."}
		m.Context = &Context{MessageID: inboundWam}
	})},
	{"template_order_update.json", with(individual(TypeTemplate), func(m *Message) {
		m.BizOpaqueCallbackData = "msg_01J2Z8A1B2C3"
		m.Template = &Template{Name: "order_update", Language: Language{Code: "id"}, Components: []TemplateComponent{
			{Type: "header", Parameters: []Parameter{{Type: "image", Image: &Media{Link: "https://cdn.acme.co.id/p/INV-9.jpg"}}}},
			{Type: "body", Parameters: []Parameter{{Type: "text", Text: "Budi"}, {Type: "text", Text: "INV-9"}}},
			{Type: "button", SubType: "url", Index: "0", Parameters: []Parameter{{Type: "text", Text: "INV-9"}}},
			{Type: "button", SubType: "quick_reply", Index: "1", Parameters: []Parameter{{Type: "payload", Payload: "STOP"}}},
			{Type: "button", SubType: "copy_code", Index: "2", Parameters: []Parameter{{Type: "coupon_code", CouponCode: "SAVE20"}}},
		}}
	})},
	{"template_auth_otp.json", with(individual(TypeTemplate), func(m *Message) {
		m.Template = &Template{Name: "kode_verifikasi", Language: Language{Code: "id"}, Components: []TemplateComponent{
			{Type: "body", Parameters: []Parameter{{Type: "text", Text: "483920"}}},
			{Type: "button", SubType: "url", Index: "0", Parameters: []Parameter{{Type: "text", Text: "483920"}}},
		}}
	})},
	{"template_named.json", with(individual(TypeTemplate), func(m *Message) {
		m.Template = &Template{Name: "tagihan_jatuh_tempo", Language: Language{Code: "id", Policy: "deterministic"}, Components: []TemplateComponent{
			{Type: "header", Parameters: []Parameter{{Type: "text", ParameterName: "invoice", Text: "INV-2026-0042"}}},
			{Type: "body", Parameters: []Parameter{
				{Type: "text", ParameterName: "first_name", Text: "Siti"},
				{Type: "currency", ParameterName: "amount", Currency: &Currency{FallbackValue: "Rp150.000", Code: "IDR", Amount1000: 150_000_000}},
				{Type: "date_time", ParameterName: "due_date", DateTime: &DateTime{FallbackValue: "31 Juli 2026"}},
			}},
		}}
	})},
	{"template_document_header.json", with(individual(TypeTemplate), func(m *Message) {
		m.Template = &Template{Name: "faktur_pajak", Language: Language{Code: "id"}, Components: []TemplateComponent{
			{Type: "header", Parameters: []Parameter{{Type: "document", Document: &Media{ID: "1037543291543636", Filename: "Faktur-INV-9.pdf"}}}},
			{Type: "body", Parameters: []Parameter{{Type: "text", Text: "INV-9"}}},
		}}
	})},
	{"template_location_header.json", with(individual(TypeTemplate), func(m *Message) {
		m.Template = &Template{Name: "lokasi_pengambilan", Language: Language{Code: "id"}, Components: []TemplateComponent{
			{Type: "header", Parameters: []Parameter{{Type: "location", Location: &Location{
				Latitude: -6.2297465, Longitude: 106.829518, Name: "Gudang Acme Kuningan", Address: "Jl. H. R. Rasuna Said Kav. 1, Jakarta Selatan"}}}},
		}}
	})},
	{"image_link.json", with(individual(TypeImage), func(m *Message) {
		m.Image = &Media{Link: "https://cdn.acme.co.id/promo/juli.jpg", Caption: "Promo Juli \u2014 diskon 20%"}
	})},
	{"image_id.json", with(individual(TypeImage), func(m *Message) {
		m.Image = &Media{ID: "1479537139650973", Caption: "Bukti pembayaran"}
	})},
	{"video_link.json", with(individual(TypeVideo), func(m *Message) {
		m.Video = &Media{Link: "https://cdn.acme.co.id/video/cara-pakai.mp4", Caption: "Cara pakai"}
	})},
	{"video_id.json", with(individual(TypeVideo), func(m *Message) { m.Video = &Media{ID: "1166846181421424"} })},
	{"document_link.json", with(individual(TypeDocument), func(m *Message) {
		m.Document = &Media{Link: "https://cdn.acme.co.id/inv/INV-9.pdf", Caption: "Invoice INV-9", Filename: "INV-9.pdf"}
	})},
	{"document_id.json", with(individual(TypeDocument), func(m *Message) {
		m.Document = &Media{ID: "1376223850470843", Filename: "Syarat-dan-Ketentuan.pdf"}
	})},
	{"audio_link.json", with(individual(TypeAudio), func(m *Message) { m.Audio = &Media{Link: "https://cdn.acme.co.id/audio/salam.mp3"} })},
	{"audio_id.json", with(individual(TypeAudio), func(m *Message) { m.Audio = &Media{ID: "1013859600285441"} })},
	{"sticker_id.json", with(individual(TypeSticker), func(m *Message) { m.Sticker = &Media{ID: "798882015472548"} })},
	{"location.json", with(individual(TypeLocation), func(m *Message) {
		m.Location = &Location{Latitude: -6.2297465, Longitude: 106.829518, Name: "Toko Acme Kuningan", Address: "Jl. H. R. Rasuna Said Kav. 1, Jakarta Selatan 12950"}
	})},
	{"contacts.json", with(individual(TypeContacts), func(m *Message) {
		m.Contacts = []Contact{{
			Addresses: []ContactAddr{{Street: "Jl. Sudirman No. 5", City: "Jakarta", State: "DKI Jakarta", Zip: "10220", Country: "Indonesia", CountryCode: "ID", Type: "WORK"}},
			Birthday:  "1990-08-17",
			Emails:    []ContactEmail{{Email: "budi@acme.co.id", Type: "WORK"}},
			Name:      ContactName{FormattedName: "Budi Santoso", FirstName: "Budi", LastName: "Santoso"},
			Org:       &ContactOrg{Company: "PT Acme Indonesia", Department: "Layanan Pelanggan", Title: "Manajer"},
			Phones:    []ContactPhone{{Phone: "+62 812-3456-7890", Type: "CELL", WaID: testWaID}, {Phone: "+62 21 555 0123", Type: "WORK"}},
			URLs:      []ContactURL{{URL: "https://acme.co.id", Type: "WORK"}},
		}}
	})},
	{"interactive_buttons.json", with(individual(TypeInteractive), func(m *Message) {
		m.Interactive = &Interactive{
			Type:   "button",
			Header: &InteractiveHeader{Type: "text", Text: "Konfirmasi pesanan"},
			Body:   &InteractiveText{Text: "Pesanan INV-9 senilai Rp150.000. Lanjutkan pembayaran?"},
			Footer: &InteractiveText{Text: "Acme"},
			Action: InteractiveAction{Buttons: []InteractiveButton{
				{Type: "reply", Reply: ReplyLabel{ID: "pay_inv9", Title: "Bayar"}},
				{Type: "reply", Reply: ReplyLabel{ID: "change_inv9", Title: "Ubah pesanan"}},
				{Type: "reply", Reply: ReplyLabel{ID: "cancel_inv9", Title: "Batalkan"}},
			}},
		}
	})},
	{"interactive_buttons_image.json", with(individual(TypeInteractive), func(m *Message) {
		m.Interactive = &Interactive{
			Type:   "button",
			Header: &InteractiveHeader{Type: "image", Image: &Media{Link: "https://cdn.acme.co.id/p/sepatu.jpg"}},
			Body:   &InteractiveText{Text: "Sepatu lari ukuran 42 tersedia lagi."},
			Action: InteractiveAction{Buttons: []InteractiveButton{{Type: "reply", Reply: ReplyLabel{ID: "buy_42", Title: "Beli"}}}},
		}
	})},
	{"interactive_list.json", with(individual(TypeInteractive), func(m *Message) {
		m.Interactive = &Interactive{
			Type:   "list",
			Header: &InteractiveHeader{Type: "text", Text: "Paket internet"},
			Body:   &InteractiveText{Text: "Pilih paket yang sesuai kebutuhan Anda."},
			Footer: &InteractiveText{Text: "Harga sudah termasuk PPN"},
			Action: InteractiveAction{Button: "Lihat paket", Sections: []ListSection{
				{Title: "Bulanan", Rows: []ListRow{
					{ID: "p_basic", Title: "Basic 20 Mbps", Description: "Rp 250.000 per bulan"},
					{ID: "p_plus", Title: "Plus 50 Mbps", Description: "Rp 400.000 per bulan"},
				}},
				{Title: "Tahunan", Rows: []ListRow{{ID: "p_year", Title: "Plus 50 Mbps setahun", Description: "Hemat 2 bulan"}}},
			}},
		}
	})},
	{"reaction.json", with(individual(TypeReaction), func(m *Message) {
		m.Reaction = &Reaction{MessageID: inboundWam, Emoji: "\U0001F44D"}
	})},
}

func TestSendMessageBodies(t *testing.T) {
	for _, tc := range sendCases {
		t.Run(tc.golden, func(t *testing.T) {
			api := newFakeAPI(t, func(recorded) (int, string) { return 200, sendAnswer })
			before := *tc.msg
			resp, err := api.client().SendMessage(context.Background(), tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before, *tc.msg) {
				t.Error("SendMessage changed the caller's message")
			}
			r := api.only(t)
			checkRequest(t, r, http.MethodPost, "/v25.0/"+testPhoneID+"/messages", "application/json")
			assertJSONEqual(t, r.body, readFixture(t, "send", tc.golden))
			if resp.Messages[0].ID != testWamid || resp.Messages[0].MessageStatus != StatusAccepted {
				t.Errorf("answer = %+v", resp.Messages)
			}
			if len(resp.Contacts) != 1 || resp.Contacts[0].WaID != testWaID || resp.Contacts[0].Input != testTo {
				t.Errorf("contacts = %+v", resp.Contacts)
			}
		})
	}
}

// TestSendGoldenFilesCovered fails when a golden body exists that no case sends.
func TestSendGoldenFilesCovered(t *testing.T) {
	used := map[string]bool{"mark_read.json": true}
	for _, tc := range sendCases {
		used[tc.golden] = true
	}
	for _, tc := range createTemplateCases {
		used[tc.golden] = true
	}
	names, err := fixtureNames("send")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !used[n] {
			t.Errorf("testdata/send/%s is not used", n)
		}
	}
}

func TestSendMessageAnswers(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		answer     string
		wantCode   int
		wantClass  Class
		wantStatus string
		notSent    bool
		wantErr    bool
	}{
		{name: "held for quality", status: 200, answer: strings.Replace(sendAnswer, StatusAccepted, StatusHeldForQualityAssessment, 1), wantStatus: StatusHeldForQualityAssessment},
		{name: "no message_status", status: 200, answer: `{"messaging_product":"whatsapp","contacts":[{"input":"+6281234567890","wa_id":"6281234567890"}],"messages":[{"id":"wamid.X"}]}`},
		{name: "no message id", status: 200, answer: `{"messaging_product":"whatsapp","contacts":[],"messages":[]}`, wantErr: true},
		{name: "garbled 200", status: 200, answer: `{"messages":`, wantErr: true},
		{name: "re-engagement", status: 400, answer: string(readFixtureNoT("errors", "reengagement_131047.json")), wantCode: 131047, wantClass: Fatal, notSent: true, wantErr: true},
		{name: "throughput", status: 400, answer: string(readFixtureNoT("errors", "throughput_130429.json")), wantCode: 130429, wantClass: Throttled, notSent: true, wantErr: true},
		{name: "server error may have sent", status: 500, answer: string(readFixtureNoT("errors", "generic_131000.json")), wantCode: 131000, wantClass: RetryLater, wantErr: true},
		{name: "gateway page", status: 502, answer: string(readFixtureNoT("errors", "html_502.html")), wantCode: CodeGeneric, wantClass: RetryLater, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI(t, func(recorded) (int, string) { return tt.status, tt.answer })
			msg := with(individual(TypeText), func(m *Message) { m.Text = &Text{Body: "Halo"} })
			resp, err := api.client().SendMessage(context.Background(), msg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil {
				if resp.Messages[0].MessageStatus != tt.wantStatus {
					t.Errorf("message_status = %q, want %q", resp.Messages[0].MessageStatus, tt.wantStatus)
				}
				return
			}
			if IsNotSent(err) != tt.notSent {
				t.Errorf("IsNotSent = %v, want %v", IsNotSent(err), tt.notSent)
			}
			pe, ok := AsError(err)
			if tt.wantCode == 0 {
				if ok {
					t.Errorf("got provider error %v for a 200 answer", pe)
				}
				return
			}
			if !ok {
				t.Fatalf("err %T %v is not *Error", err, err)
			}
			if pe.Code != tt.wantCode || pe.Class() != tt.wantClass || pe.HTTPStatus != tt.status {
				t.Errorf("got code %d class %v status %d", pe.Code, pe.Class(), pe.HTTPStatus)
			}
		})
	}
}

func TestSendMessageDefaultsMessagingProduct(t *testing.T) {
	api := newFakeAPI(t, func(recorded) (int, string) { return 200, sendAnswer })
	msg := &Message{To: testTo, Type: TypeText, Text: &Text{Body: "Halo"}}
	if _, err := api.client().SendMessage(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	assertJSONEqual(t, api.only(t).body, []byte(`{"messaging_product":"whatsapp","to":"+6281234567890","type":"text","text":{"body":"Halo"}}`))
	if msg.MessagingProduct != "" {
		t.Error("the caller's message was modified")
	}
}

func TestMarkRead(t *testing.T) {
	api := newFakeAPI(t, func(recorded) (int, string) { return 200, `{"success":true}` })
	if err := api.client().MarkRead(context.Background(), testWamid); err != nil {
		t.Fatal(err)
	}
	r := api.only(t)
	checkRequest(t, r, http.MethodPost, "/v25.0/"+testPhoneID+"/messages", "application/json")
	assertJSONEqual(t, r.body, readFixture(t, "send", "mark_read.json"))
}

func TestNewDefaults(t *testing.T) {
	c := New(Config{PhoneNumberID: testPhoneID})
	if c.base != DefaultBaseURL+"/"+DefaultVersion {
		t.Errorf("base = %q", c.base)
	}
	if c.http == nil || c.http.Timeout == 0 {
		t.Error("default HTTP client has no timeout")
	}
	c = New(Config{BaseURL: "http://127.0.0.1:9/bsp/", Version: "v23.0"})
	if c.base != "http://127.0.0.1:9/bsp/v23.0" {
		t.Errorf("base = %q", c.base)
	}
	if c.Config().Version != "v23.0" {
		t.Errorf("Config().Version = %q", c.Config().Version)
	}
}

// closingServer accepts connections, reads one whole request, then closes without an
// answer: the send reached the provider and its outcome is unknown.
func closingServer(t *testing.T) (addr string, got <-chan *http.Request) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan *http.Request, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			req, err := http.ReadRequest(bufio.NewReader(conn))
			if err == nil {
				_, _ = io.ReadAll(req.Body)
				ch <- req
			}
			conn.Close()
		}
	}()
	return ln.Addr().String(), ch
}

func TestTransportErrors(t *testing.T) {
	msg := with(individual(TypeText), func(m *Message) { m.Text = &Text{Body: "Halo"} })

	t.Run("closed after reading: outcome unknown", func(t *testing.T) {
		addr, got := closingServer(t)
		c := New(Config{BaseURL: "http://" + addr, Token: testToken, PhoneNumberID: testPhoneID})
		_, err := c.SendMessage(context.Background(), msg)
		var te *TransportError
		if !errors.As(err, &te) {
			t.Fatalf("err = %T %v, want *TransportError", err, err)
		}
		if te.NotSent || IsNotSent(err) {
			t.Errorf("NotSent = %v, IsNotSent = %v; the request was fully written", te.NotSent, IsNotSent(err))
		}
		if te.Op != "send" || !strings.Contains(te.Error(), "outcome unknown") {
			t.Errorf("error = %q", te.Error())
		}
		select {
		case r := <-got:
			if r.URL.Path != "/v25.0/"+testPhoneID+"/messages" {
				t.Errorf("server saw %s", r.URL.Path)
			}
		case <-time.After(waitTimeout):
			t.Fatal("server never saw the request")
		}
	})

	t.Run("refused dial: not sent", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c := New(Config{BaseURL: "http://" + addr, Token: testToken, PhoneNumberID: testPhoneID})
		_, err = c.SendMessage(context.Background(), msg)
		var te *TransportError
		if !errors.As(err, &te) || !te.NotSent || !IsNotSent(err) {
			t.Fatalf("err = %v, want a not-sent TransportError", err)
		}
		if !strings.Contains(te.Error(), "not sent") {
			t.Errorf("error = %q", te.Error())
		}
		var op *net.OpError
		if !errors.As(err, &op) {
			t.Errorf("the dial error is not kept: %v", err)
		}
	})

	t.Run("cancelled before sending: not sent", func(t *testing.T) {
		api := newFakeAPI(t, func(recorded) (int, string) { return 200, sendAnswer })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := api.client().SendMessage(ctx, msg)
		if !IsNotSent(err) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if n := len(api.requests()); n != 0 {
			t.Fatalf("server saw %d requests", n)
		}
	})

	t.Run("cancelled while waiting for the answer: outcome unknown", func(t *testing.T) {
		arrived := make(chan struct{})
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			close(arrived)
			<-release
		}))
		defer srv.Close()
		defer close(release)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-arrived:
			case <-time.After(waitTimeout):
			}
			cancel()
		}()
		c := New(Config{BaseURL: srv.URL, Token: testToken, PhoneNumberID: testPhoneID})
		_, err := c.SendMessage(ctx, msg)
		var te *TransportError
		if !errors.As(err, &te) || te.NotSent || IsNotSent(err) {
			t.Fatalf("err = %v, want an outcome-unknown TransportError", err)
		}
	})
}

func TestIsNotSent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errors.New("x"), false},
		{"refused 400", &Error{HTTPStatus: 400, Code: CodeReEngagement}, true},
		{"throttled 429", &Error{HTTPStatus: 429, Code: CodeThroughput}, true},
		{"server 500", &Error{HTTPStatus: 500, Code: CodeGeneric}, false},
		{"gateway 503", &Error{HTTPStatus: 503, Code: CodeServiceUnavailable}, false},
		{"wrapped refusal", fmt.Errorf("engine: %w", &Error{HTTPStatus: 400, Code: CodePairRate}), true},
		{"transport not sent", &TransportError{Op: "send", NotSent: true, Err: errors.New("dial")}, true},
		{"transport unknown", &TransportError{Op: "send", Err: io.ErrUnexpectedEOF}, false},
		{"wrapped transport", fmt.Errorf("engine: %w", &TransportError{NotSent: true, Err: errors.New("dial")}), true},
	}
	for _, tt := range tests {
		if got := IsNotSent(tt.err); got != tt.want {
			t.Errorf("%s: IsNotSent = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// readFixtureNoT is readFixture for table literals built before a *testing.T exists.
func readFixtureNoT(dir, name string) []byte {
	b, err := readFixtureBytes(dir, name)
	if err != nil {
		panic(err)
	}
	return b
}
