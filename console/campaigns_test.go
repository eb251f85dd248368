package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"kirim/internal/kirimtest"
)

// campList imports csv as a list of the demo account through the API, as a script
// would, and waits for the import.
func campList(t *testing.T, k *kirim, name, csv string) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("name", name); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", name+".csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(fw, csv); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, k.base+"/v1/lists", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+k.admin.Key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := k.admin.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var started struct {
		ImportID string `json:"import_id"`
		ListID   string `json:"list_id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload %s: %d %v", name, resp.StatusCode, err)
	}
	kirimtest.WaitFor(t, "the import of "+name, 30*time.Second, func() bool {
		var im struct {
			Status string `json:"status"`
		}
		k.admin.Must(http.StatusOK, "GET", "/v1/imports/"+started.ImportID, nil, &im)
		return im.Status == "done"
	})
	return started.ListID
}

// campCustomers is the list of the README's example: three customers with vouchers.
const campCustomers = "No HP;Nama;Voucher\n0812-1111-0001;Budi;HEMAT10\n0812-1111-0002;Ani;HEMAT20\n0812-1111-0003;Citra;HEMAT30\n"

// campTemplate submits the README's promo_desember template and waits for the
// sandbox to approve it.
func campTemplate(t *testing.T, k *kirim) {
	t.Helper()
	k.admin.Must(http.StatusCreated, "POST", "/v1/templates", map[string]any{
		"name": "promo_desember", "language": "id", "category": "MARKETING",
		"components": []map[string]any{{"type": "BODY", "text": "Halo {{1}}, pakai voucher {{2}} untuk belanja di toko kami sampai akhir Desember.",
			"example": map[string]any{"body_text": [][]string{{"Budi", "HEMAT10"}}}}}}, nil)
	kirimtest.WaitFor(t, "the template's approval", 30*time.Second, func() bool {
		return k.admin.TemplateStatus("promo_desember") == "APPROVED"
	})
}

// campaignOf reads a campaign through the API.
func campaignOf(t *testing.T, k *kirim, id string) (state string, counts map[string]int64) {
	t.Helper()
	var c struct {
		State    string `json:"state"`
		Progress struct {
			Counts map[string]int64 `json:"counts"`
		} `json:"progress"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/campaigns/"+id, nil, &c)
	return c.State, c.Progress.Counts
}

// campaignRows reads the console's list of campaigns (the console, not the API: the
// API document does not describe a campaign's body values yet, so the tests' check
// of every API answer would refuse them).
func campaignRows(t *testing.T, b *browserless) (int, string) {
	t.Helper()
	st, _, body := b.get("/console/campaigns")
	if st != http.StatusOK {
		t.Fatalf("campaigns: %d", st)
	}
	return strings.Count(body, `<td><a href="/console/campaigns/cmp_`), body
}

// reWordKey finds a dictionary key of the campaign pages shown as itself (a word
// missing from the dictionary), and a format verb left unfilled.
var reWordKey = regexp.MustCompile(`\bcamp\.[a-z_]+(\.[a-z_]+)?\b|%!`)

// campWords fails the test if a campaign page shows a key or a broken format.
func campWords(t *testing.T, what, body string) {
	t.Helper()
	// The note's key travels in the address, which the language form keeps.
	body = regexp.MustCompile(`done=camp\.[a-z_]+`).ReplaceAllString(body, "")
	if m := reWordKey.FindString(body); m != "" {
		t.Errorf("%s shows %q", what, m)
	}
}

var reQuoteAt = regexp.MustCompile(`^/console/campaigns/(cmp_[0-9A-Za-z]+)/quote\?done=camp\.created$`)

// TestCampaignWizard goes through the wizard's forms as a browser without scripts
// would: each step refuses what is missing, naming the field, and creates nothing;
// the preview fills the template for three real recipients; the last step makes one
// campaign however often it is sent, and quotes it.
func TestCampaignWizard(t *testing.T) {
	k := start(t)
	campTemplate(t, k)
	list := campList(t, k, "pelanggan", campCustomers)
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	st, _, body := b.get("/console/campaigns/new")
	if st != http.StatusOK || !strings.Contains(body, `value="main|promo_desember|id"`) || !strings.Contains(body, `value="main|hello_world|en_US"`) {
		t.Fatalf("step 1: %d %s", st, body)
	}
	token := regexp.MustCompile(`name="token" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if token == nil {
		t.Fatal("step 1 has no wizard token")
	}
	tpl := "main|promo_desember|id"
	form := func(kv ...string) url.Values {
		f := url.Values{"token": {token[1]}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Add(kv[i], kv[i+1])
		}
		return f
	}
	refusals := []struct {
		name, field string
		form        url.Values
		want        string
	}{
		{"no name", "name", form("go", "2", "template", tpl), "name: is required"},
		{"no template", "template", form("go", "2", "name", "Promo"), "template: choose an approved template"},
		{"an unknown template", "template", form("go", "2", "name", "Promo", "template", "main|no_such|id"), `template: &#34;no_such&#34; (id) is not a template`},
		{"no list", "list_ids", form("go", "3", "name", "Promo", "template", tpl), "list_ids: choose at least one list"},
		{"an unknown list", "list_ids", form("go", "3", "name", "Promo", "template", tpl, "list_ids", "lst_nothing"), "list_ids: no list"},
		{"an empty fixed value", "body[1]", form("go", "4", "name", "Promo", "template", tpl, "list_ids", list, "v.body.0", "col:name", "v.body.1", "=", "f.body.1", " "),
			"body[1]: choose a column or give a fixed value"},
		{"a time past", "schedule.at", form("go", "5", "name", "Promo", "template", tpl, "list_ids", list, "mode", "at", "at", "2020-01-01T09:00"), "schedule.at: is in the past"},
		{"no cron", "schedule.cron", form("go", "5", "name", "Promo", "template", tpl, "list_ids", list, "mode", "cron", "cron", ""), "schedule.cron: is required"},
		{"a bad cron", "schedule", form("go", "5", "name", "Promo", "template", tpl, "list_ids", list, "mode", "cron", "cron", "every day"), "schedule"},
	}
	for _, r := range refusals {
		st, _, body := b.post("/console/campaigns/new", r.form)
		if st != http.StatusBadRequest || !strings.Contains(body, r.want) || !strings.Contains(body, `aria-invalid="true"`) {
			t.Errorf("%s: %d, want 400 with %q marked: %s", r.name, st, r.want, body)
		}
	}
	if n, _ := campaignRows(t, b); n != 0 {
		t.Fatalf("the refusals made %d campaigns", n)
	}
	// Back from a step with an error is not blocked by it.
	if st, _, body := b.post("/console/campaigns/new", form("go", "2", "name", "Promo", "template", tpl, "v.body.1", "=")); st != http.StatusOK || !strings.Contains(body, `id="l-`+list+`"`) {
		t.Fatalf("step 2: %d", st)
	}
	// Step 3 guesses the columns and fills the template for three recipients.
	st, _, body = b.post("/console/campaigns/new", form("go", "3", "name", "Promo", "template", tpl, "list_ids", list))
	if st != http.StatusOK {
		t.Fatalf("step 3: %d %s", st, body)
	}
	campWords(t, "step 3", body)
	for _, want := range []string{`<option value="col:name" selected>`, `<option value="col:voucher" selected>`,
		`Halo <span data-slot="body.0">Budi</span>, pakai voucher <span data-slot="body.1">HEMAT10</span>`,
		`<span data-slot="body.0">Ani</span>`, `<span data-slot="body.0">Citra</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("step 3 lacks %q", want)
		}
	}
	// A fixed value fills every recipient alike.
	_, _, body = b.post("/console/campaigns/new", form("go", "3", "name", "Promo", "template", tpl, "list_ids", list,
		"v.body.0", "col:name", "v.body.1", "=", "f.body.1", "DESEMBER"))
	if strings.Count(body, `<span data-slot="body.1">DESEMBER</span>`) != 3 {
		t.Errorf("the fixed value is not in the three previews")
	}
	final := form("go", "5", "name", "Promo Desember", "template", tpl, "list_ids", list, "v.body.0", "col:name", "v.body.1", "col:voucher", "mode", "now")
	st, loc, body := b.post("/console/campaigns/new", final)
	m := reQuoteAt.FindStringSubmatch(loc)
	if st != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %q %s", st, loc, body)
	}
	// The same form again (a double click, a reload) is the same campaign.
	if _, again, _ := b.post("/console/campaigns/new", final); again != loc {
		t.Fatalf("sent twice: %q then %q", loc, again)
	}
	if n, _ := campaignRows(t, b); n != 1 {
		t.Fatalf("%d campaigns", n)
	}
	if _, _, body := b.get("/console/campaigns/" + m[1]); !strings.Contains(body, "<code>{{1}} → {{name}}</code><br><code>{{2}} → {{voucher}}</code>") ||
		!strings.Contains(body, `<span class="badge">Draft</span>`) || !strings.Contains(body, "promo_desember") {
		t.Fatalf("the campaign's page: %s", body)
	}
	st, _, body = b.get(loc)
	campWords(t, "the quote", body)
	if st != http.StatusOK || !strings.Contains(body, `<p class="big" id="q-recipients">3</p>`) || !strings.Contains(body, `id="camp-launch"`) ||
		!strings.Contains(body, "Campaign saved.") || !strings.Contains(body, `data-skip="opted_out"`) {
		t.Fatalf("quote: %d %s", st, body)
	}
	// A campaign for later is scheduled at once, in the account's timezone.
	later := time.Now().In(time.FixedZone("WIB", 7*3600)).Add(48 * time.Hour).Format("2006-01-02T15:04")
	sched := form("go", "5", "name", "Later", "template", "main|hello_world|en_US", "list_ids", list, "mode", "at", "at", later)
	if st, loc, body := b.post("/console/campaigns/new", sched); st != http.StatusSeeOther || !reQuoteAt.MatchString(loc) {
		t.Fatalf("scheduled: %d %q %s", st, loc, body)
	} else if _, _, body := b.get(loc); !strings.Contains(body, "This campaign is scheduled") || strings.Contains(body, `id="camp-launch"`) {
		t.Fatalf("the quote of a scheduled campaign: %s", body)
	}
	// Both are listed; the time is the account's (Asia/Jakarta, WIB).
	n, body := campaignRows(t, b)
	if n != 2 || !strings.Contains(body, "Promo Desember") || !strings.Contains(body, "Once at "+strings.Replace(later, "T", " ", 1)) {
		t.Fatalf("campaigns: %d, want the one at %s WIB: %s", n, later, body)
	}
}

// campEvents reads the Server-Sent Events of a campaign's page until fn says stop or
// the stream ends; it returns the events by name.
func campEvents(t *testing.T, b *browserless, ctx context.Context, id string, fn func(name, data string) bool) []string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/console/campaigns/"+id+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := b.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var names []string
	sc := bufio.NewScanner(resp.Body)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			names = append(names, name)
			if !fn(name, strings.TrimPrefix(line, "data: ")) {
				return names
			}
		}
	}
	return names
}

type campEventData struct {
	State      string           `json:"state"`
	Recipients int64            `json:"recipients"`
	Done       int64            `json:"done"`
	Counts     map[string]int64 `json:"counts"`
}

// TestCampaignEvents: the progress stream of a finished campaign sends its counts and
// ends; the stream of a running one sends progress, then ends when it is cancelled.
func TestCampaignEvents(t *testing.T) {
	k := start(t)
	list := campList(t, k, "three", campCustomers)
	var c struct{ ID string }
	k.admin.Must(http.StatusCreated, "POST", "/v1/campaigns", map[string]any{"name": "Three", "list_ids": []string{list},
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &c)
	k.admin.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/launch", nil, nil)
	kirimtest.WaitFor(t, "the campaign's end", 60*time.Second, func() bool {
		st, _ := campaignOf(t, k, c.ID)
		return st == "completed"
	})
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	var last campEventData
	names := campEvents(t, b, context.Background(), c.ID, func(_, data string) bool {
		if err := json.Unmarshal([]byte(data), &last); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		return true
	})
	if len(names) != 1 || names[0] != "end" || last.State != "completed" || last.Recipients != 3 || last.Done != 3 ||
		last.Counts["sent"]+last.Counts["delivered"]+last.Counts["read"] != 3 {
		t.Fatalf("events %v, last %+v", names, last)
	}

	// A run larger than the number's messaging limit (250 a day) cannot end by itself.
	var csv strings.Builder
	csv.WriteString("phone,name\n")
	for i := range 300 {
		fmt.Fprintf(&csv, "+62813770%05d,Pelanggan %d\n", i, i)
	}
	big := campList(t, k, "big", csv.String())
	k.admin.Must(http.StatusCreated, "POST", "/v1/campaigns", map[string]any{"name": "Big", "list_ids": []string{big},
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &c)
	k.admin.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/launch", nil, nil)
	// A client that leaves ends its stream: no goroutine is left polling for it.
	names = campEvents(t, b, context.Background(), c.ID, func(string, string) bool { return false })
	if len(names) != 1 || names[0] != "progress" {
		t.Fatalf("first events of a running campaign: %v", names)
	}
	kirimtest.WaitFor(t, "the stream's end after the client left", 30*time.Second, func() bool {
		var dump strings.Builder
		if err := pprof.Lookup("goroutine").WriteTo(&dump, 2); err != nil {
			t.Fatal(err)
		}
		return !strings.Contains(dump.String(), "console.(*Console).campEvents")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cancelled := false
	names = campEvents(t, b, ctx, c.ID, func(name, data string) bool {
		if err := json.Unmarshal([]byte(data), &last); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		if name == "progress" && last.Recipients == 300 && !cancelled {
			k.admin.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/cancel", nil, nil)
			cancelled = true
		}
		return true
	})
	if ctx.Err() != nil || !cancelled || names[0] != "progress" || names[len(names)-1] != "end" || last.State != "cancelled" {
		t.Fatalf("events %v, last %+v (timed out: %v)", names, last, ctx.Err())
	}
}

// TestCampaignVerbs: a marketer launches, pauses, resumes and cancels a campaign from
// its page; each button answers with the page and its note, a change the state does
// not allow is refused with the API's reason; the report pages and downloads.
func TestCampaignVerbs(t *testing.T) {
	k := start(t)
	var csv strings.Builder
	csv.WriteString("phone,name\n")
	for i := range 300 {
		fmt.Fprintf(&csv, "+62813770%05d,Pelanggan %d\n", i, i)
	}
	list := campList(t, k, "big", csv.String())
	var c struct{ ID string }
	k.admin.Must(http.StatusCreated, "POST", "/v1/campaigns", map[string]any{"name": "Big", "list_ids": []string{list},
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &c)
	pw := k.user(t, "rani", "marketer")
	b := k.client(t)
	b.signIn("rani", pw)
	page := "/console/campaigns/" + c.ID
	if _, _, body := b.get(page); !strings.Contains(body, `href="`+page+`/quote"`) {
		t.Fatalf("a draft's page has no way to launch: %s", body)
	}
	steps := []struct {
		verb, key, note, state, button string
	}{
		{"launch", "camp.launched", "Campaign launched.", "running", `id="camp-pause"`},
		{"pause", "camp.paused", "Campaign paused.", "paused", `id="camp-resume"`},
		{"resume", "camp.resumed", "Campaign resumed.", "running", `id="camp-pause"`},
		{"cancel", "camp.cancelled", "Campaign cancelled.", "cancelled", `id="camp-csv"`},
	}
	for _, s := range steps {
		st, loc, body := b.post(page+"/"+s.verb, nil)
		if st != http.StatusSeeOther || loc != page+"?done="+s.key {
			t.Fatalf("%s: %d %q %s", s.verb, st, loc, body)
		}
		if state, _ := campaignOf(t, k, c.ID); state != s.state {
			t.Fatalf("after %s: %s", s.verb, state)
		}
		if _, _, body := b.get(loc); !strings.Contains(body, s.note) || !strings.Contains(body, s.button) {
			t.Fatalf("page after %s lacks %q or %q: %s", s.verb, s.note, s.button, body)
		}
	}
	st, _, body := b.post(page+"/pause", nil)
	if st != http.StatusConflict || !strings.Contains(body, "cannot be paused") {
		t.Fatalf("pause a cancelled campaign: %d %s", st, body)
	}
	// The report: 25 a page, the next page after the last of this one, and all of it
	// as CSV.
	_, _, body = b.get(page)
	campWords(t, "the campaign's page", body)
	next := regexp.MustCompile(`href="([^"]+)" id="camp-next"`).FindStringSubmatch(body)
	if strings.Count(body, "<td>&#43;62813770") != 25 || next == nil {
		t.Fatalf("first page of recipients: %d rows", strings.Count(body, "<td>&#43;62813770"))
	}
	_, _, body2 := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if strings.Count(body2, "<td>&#43;62813770") != 25 || !strings.Contains(body2, "<td>&#43;6281377000025</td>") {
		t.Fatalf("second page of recipients: %d rows", strings.Count(body2, "<td>&#43;62813770"))
	}
	// A filter the API refuses shows the report unfiltered, with why.
	if st, _, body := b.get(page + "?run=abc"); st != http.StatusBadRequest || !strings.Contains(body, "run: must be a run number") ||
		strings.Count(body, "<td>&#43;62813770") != 25 {
		t.Fatalf("a bad filter: %d %s", st, body)
	}
	resp, err := b.hc.Get(k.base + page + "/recipients.csv")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(string(raw), "phone,name,status,") || strings.Count(string(raw), "\n") != 301 {
		t.Fatalf("CSV: %d %s %d lines", resp.StatusCode, resp.Header.Get("Content-Type"), strings.Count(string(raw), "\n"))
	}
	if st, _, _ := b.get("/console/campaigns/cmp_01M00000000000000000000000/recipients.csv"); st != http.StatusNotFound {
		t.Fatalf("CSV of no campaign: %d", st)
	}
	// In Indonesian.
	if st, _, _ := b.post("/console/lang", url.Values{"lang": {"id"}, "back": {page}}); st != http.StatusSeeOther {
		t.Fatalf("language: %d", st)
	}
	_, _, body = b.get(page)
	campWords(t, "the campaign's page in Indonesian", body)
	for _, want := range []string{"Dibatalkan", "Unduh laporan (CSV)", "Penerima", "Terkirim"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page in Indonesian lacks %q", want)
		}
	}
	for _, p := range []string{"/console/campaigns", "/console/campaigns/new"} {
		_, _, body := b.get(p)
		campWords(t, p+" in Indonesian", body)
		if !strings.Contains(body, "Kampanye") {
			t.Errorf("%s is not in Indonesian", p)
		}
	}
}
