package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
)

// call performs one inspection request and decodes a JSON answer into out.
func call(t *testing.T, method, url, body string, wantStatus int, out any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	mustOK(t, err)
	resp, err := http.DefaultClient.Do(req)
	mustOK(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: HTTP %d %s, want %d", method, url, resp.StatusCode, data, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, data, err)
		}
	}
}

func TestInspectionAPI(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1}, true)
	base := e.srv.URL + "/_sandbox"
	call(t, "POST", base+"/inbound", `{"from":"6281234567890","name":"Budi","type":"text","text":"Hi"}`, 200, nil)
	call(t, "POST", base+"/inbound", `{"from":"x"}`, 400, nil)
	call(t, "POST", base+"/inbound", `{"from":"6281234567890","unknown":1}`, 400, nil)
	for i, cb := range []string{"order-1", "order-2", "order-1", "order-1"} {
		m := helloMsg(budi)
		if i == 1 {
			m.To = sari
		}
		m.BizOpaqueCallbackData = cb
		e.mustSend(m)
	}
	e.wantCode(0, textMsg(sari, "hi"), provider.CodeReEngagement)
	e.mustSend(textMsg(budi, "inside the window"))

	var page receivedPage
	call(t, "GET", base+"/messages?limit=2", "", 200, &page)
	if len(page.Data) != 2 || page.After != 2 || page.Data[0].WAMID == "" || page.Data[0].Template != "hello_world" ||
		page.Data[0].Language != "en_US" || page.Data[0].PhoneNumberID != DefaultPhoneNumberID || page.Data[0].Type != "template" {
		t.Fatalf("page 1: %+v", page)
	}
	page = receivedPage{}
	call(t, "GET", base+"/messages?limit=10&after=2", "", 200, &page)
	if len(page.Data) != 4 || page.Data[0].ID != 3 || page.After != 0 {
		t.Fatalf("page 2: %+v", page)
	}
	refused := page.Data[2]
	if refused.ErrorCode != provider.CodeReEngagement || refused.WAMID != "" || refused.To != sari || refused.Type != "text" {
		t.Fatalf("refused record %+v", refused)
	}
	call(t, "GET", base+"/messages?to=%2B62+812-0000-0002", "", 200, &page)
	if len(page.Data) != 2 {
		t.Fatalf("to filter: %+v", page.Data)
	}
	call(t, "GET", base+"/recipients/"+budi, "", 200, &page)
	if len(page.Data) != 4 {
		t.Fatalf("recipient: %d records, want 4", len(page.Data))
	}
	call(t, "GET", base+"/callbacks/order-1", "", 200, &page)
	if len(page.Data) != 3 || page.Data[0].CallbackData != "order-1" {
		t.Fatalf("callbacks: %+v", page.Data)
	}
	call(t, "GET", base+"/messages?limit=x", "", 400, nil)

	var st Stats
	call(t, "GET", base+"/stats", "", 200, &st)
	if st.Accepted != 5 || st.Refused != 1 || st.RefusedByCode[provider.CodeReEngagement] != 1 || st.UniqueRecipients != 2 ||
		st.Duplicates.Count != 2 || len(st.Duplicates.Examples) != 2 || st.Duplicates.Examples[0] != "order-1" ||
		len(st.Templates) != 1 || st.Templates[0].Accepted != 4 || st.Received != 6 {
		t.Fatalf("stats %+v", st)
	}
	if st.Rate.BusiestSecondAccepted != 5 || st.Rate.FirstAccept == nil {
		t.Fatalf("rate %+v", st.Rate)
	}

	call(t, "POST", base+"/preferences", `{"wa_id":"6281234567890","value":"stop"}`, 200, nil)
	call(t, "POST", base+"/preferences", `{"wa_id":"6281234567890","value":"never"}`, 400, nil)
	call(t, "POST", base+"/unreachable", `{"wa_id":"6281200000002"}`, 200, nil)
	e.wantCode(0, helloMsg(sari), provider.CodeUndeliverable)
	call(t, "POST", base+"/unreachable", `{"wa_id":"6281200000002","unreachable":false}`, 200, nil)
	e.mustSend(helloMsg(sari))

	var info provider.PhoneNumberInfo
	call(t, "POST", base+"/numbers/"+DefaultPhoneNumberID, `{"quality":"RED","messaging_limit":10000}`, 200, &info)
	if info.QualityRating != "RED" || info.MessagingLimit != "TIER_10K" {
		t.Fatalf("number %+v", info)
	}
	call(t, "POST", base+"/numbers/404", `{}`, 404, nil)
	call(t, "POST", base+"/templates/hello_world/en_US", `{"status":"PAUSED"}`, 200, nil)
	call(t, "POST", base+"/templates/nope/en_US", `{"status":"PAUSED"}`, 404, nil)
	var tmpls []provider.TemplateDefinition
	call(t, "GET", base+"/templates", "", 200, &tmpls)
	if len(tmpls) != 1 || tmpls[0].Status != "PAUSED" {
		t.Fatalf("templates %+v", tmpls)
	}

	// Bodies are kept before they are posted: once the catcher has them, so does the outbox.
	for _, f := range []string{"user_preferences", "message_template_status_update", "business_capability_update"} {
		e.catcher.waitField(f, 1)
	}
	var kept []KeptWebhook
	call(t, "GET", base+"/webhooks?limit=100", "", 200, &kept)
	fields := map[string]int{}
	for _, k := range kept {
		fields[k.Field]++
		var n provider.Notification
		if err := json.Unmarshal(k.Body, &n); err != nil {
			t.Fatalf("kept body: %v", err)
		}
	}
	if fields["messages"] < 2 || fields["user_preferences"] != 1 || fields["message_template_status_update"] != 1 ||
		fields["business_capability_update"] != 1 {
		t.Fatalf("kept webhook fields %v", fields)
	}

	var ch Chaos
	call(t, "PUT", base+"/chaos", `{"send_errors":{"131016":1},"latency_max":"20ms","webhook_delay":"2s"}`, 200, &ch)
	if ch.SendErrors[131016] != 1 || ch.Latency.Max != 20*time.Millisecond || ch.WebhookDelay != 2*time.Second {
		t.Fatalf("chaos %+v", ch)
	}
	call(t, "PUT", base+"/chaos", `{"webhook_fail":2}`, 400, nil)
	call(t, "PUT", base+"/chaos", `{"webhook_delay":"soon"}`, 400, nil)
	call(t, "GET", base+"/chaos", "", 200, &ch)
	if ch.SendErrors[131016] != 1 {
		t.Fatalf("chaos after bad PUT %+v", ch)
	}
	e.wantCode(0, helloMsg("6281200000003"), 131016)
	call(t, "PUT", base+"/chaos", `{}`, 200, nil)

	var now map[string]string
	call(t, "POST", base+"/clock/advance", `{"seconds":90}`, 200, &now)
	if now["now"] != t0.Add(90*time.Second).Format(time.RFC3339Nano) {
		t.Fatalf("clock %v", now)
	}
	call(t, "POST", base+"/reset", "", 200, nil)
	call(t, "GET", base+"/stats", "", 200, &st)
	if st.Received != 0 || st.Accepted != 0 || st.Webhooks.Posted != 0 {
		t.Fatalf("stats after reset %+v", st)
	}
	e.mustSend(helloMsg(budi)) // template back to APPROVED, preferences forgotten
}

func TestAdvanceNeedsManualClock(t *testing.T) {
	sb := New(Options{})
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	call(t, "POST", srv.URL+"/_sandbox/clock/advance", `{"seconds":1}`, http.StatusConflict, nil)
}

func TestMedia(t *testing.T) {
	e := newEnv(t, Options{}, false)
	ctx := context.Background()
	data := bytes.Repeat([]byte{0xFF, 0xD8}, 1000)
	id, err := e.client(0).UploadMedia(ctx, "a.jpg", "image/jpeg", bytes.NewReader(data))
	mustOK(t, err)
	var info MediaInfo
	getJSON := func(url string, status int, out any) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		mustOK(t, err)
		defer resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("GET %s: %d, want %d", url, resp.StatusCode, status)
		}
		if out != nil {
			mustOK(t, json.NewDecoder(resp.Body).Decode(out))
		}
	}
	getJSON(e.srv.URL+"/v25.0/"+id, 200, &info)
	if info.ID != id || info.MimeType != "image/jpeg" || info.FileSize != len(data) || len(info.SHA256) != 64 {
		t.Fatalf("media info %+v", info)
	}
	resp, err := http.Get(info.URL)
	mustOK(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("download: %d bytes, want %d", len(got), len(data))
	}
	if _, err := e.client(0).UploadMedia(ctx, "a.exe", "application/x-msdownload", bytes.NewReader(data)); err == nil {
		t.Fatal("unsupported MIME accepted")
	} else if pe, _ := provider.AsError(err); pe == nil || pe.Code != 131053 {
		t.Fatalf("unsupported MIME: %v, want 131053", err)
	}
	req, _ := http.NewRequest("DELETE", e.srv.URL+"/v25.0/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	dresp, err := http.DefaultClient.Do(req)
	mustOK(t, err)
	dresp.Body.Close()
	if dresp.StatusCode != 200 {
		t.Fatalf("delete: %d", dresp.StatusCode)
	}
	getJSON(e.srv.URL+"/v25.0/"+id, 400, nil)
}

func TestRegisterFlags(t *testing.T) {
	var o Options
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.RegisterFlags(fs)
	mustOK(t, fs.Parse([]string{"--phone-number-id=111", "--waba-id=222", "--display-phone-number=6280000",
		"--messaging-limit=2000", "--rules=legacy", "--clock=manual", "--throughput=5", "--pair-gap=1s",
		"--read-rate=0.25", "--token=tk", "--webhook-url=http://x/wh", "--app-secret=s"}))
	sb := New(o)
	got := sb.Options()
	n := got.Numbers[0]
	if n.PhoneNumberID != "111" || n.WABAID != "222" || n.DisplayPhoneNumber != "6280000" || n.MessagingLimit != 2000 ||
		n.Throughput != 5 || got.Rules != RulesLegacy || got.PairGap != time.Second || got.ReadRate != 0.25 ||
		got.Token != "tk" || got.WebhookURL != "http://x/wh" || got.AppSecret != "s" {
		t.Fatalf("options %+v", got)
	}
	if _, ok := got.Clock.(*clock.Fake); !ok {
		t.Fatalf("clock %T, want manual", got.Clock)
	}
	if err := fs.Parse([]string{"--clock=sundial"}); err == nil {
		t.Fatal("bad clock accepted")
	}
	var d Options
	fs2 := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	d.RegisterFlags(fs2)
	mustOK(t, fs2.Parse(nil))
	def := New(d).Options()
	if def.Numbers[0].PhoneNumberID != DefaultPhoneNumberID || def.PortfolioLimit != DefaultPortfolioLimit || def.ThroughputMPS != 80 {
		t.Fatalf("defaults %+v", def)
	}
}

func TestUnsignedRouteAnswersGraphError(t *testing.T) {
	e := newEnv(t, Options{}, false)
	resp, err := http.Post(e.srv.URL+"/v25.0/x/y/z", "application/json", nil)
	mustOK(t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	pe := provider.ParseError(resp.StatusCode, data)
	if pe.Code != provider.CodeInvalidParameter {
		t.Fatalf("unknown route: %s", data)
	}
}

func TestStatsAcceptedByNumber(t *testing.T) {
	// Number 3 takes one send a second: its second send in the same clock second is
	// refused and must not count.
	e := newEnv(t, Options{PairGap: -1, Numbers: []Number{{}, {}, {Throughput: 1}}}, false)
	ids := make([]string, 3)
	for i, n := range e.sb.Options().Numbers {
		ids[i] = n.PhoneNumberID
	}
	for i, tc := range []struct {
		from int
		code int // 0 accepted
	}{
		{0, 0}, {1, 0}, {1, 0}, {2, 0}, {2, provider.CodeThroughput}, {0, 0}, {1, 0},
	} {
		to := fmt.Sprintf("62812000001%02d", i)
		if tc.code != 0 {
			e.wantCode(tc.from, helloMsg(to), tc.code)
			continue
		}
		if _, perr := e.sendFrom(tc.from, helloMsg(to)); perr != nil {
			t.Fatalf("send %d from number %d: %v", i, tc.from, perr)
		}
	}
	var st Stats
	call(t, "GET", e.srv.URL+"/_sandbox/stats", "", 200, &st)
	want := map[string]uint64{ids[0]: 2, ids[1]: 3, ids[2]: 1}
	if len(st.AcceptedByNumber) != len(want) || st.Accepted != 6 {
		t.Fatalf("accepted %d by number %v, want 6 as %v", st.Accepted, st.AcceptedByNumber, want)
	}
	for id, n := range want {
		if st.AcceptedByNumber[id] != n {
			t.Errorf("number %s: %d accepted, want %d", id, st.AcceptedByNumber[id], n)
		}
	}
	// Reset forgets the counts, and a number that sent nothing is listed with 0.
	call(t, "POST", e.srv.URL+"/_sandbox/reset", "", 200, nil)
	call(t, "GET", e.srv.URL+"/_sandbox/stats", "", 200, &st)
	for _, id := range ids {
		if n, ok := st.AcceptedByNumber[id]; !ok || n != 0 {
			t.Errorf("after reset, number %s: %d (listed %v), want 0", id, n, ok)
		}
	}
}
