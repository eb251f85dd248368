package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"kirim/internal/kirimtest"
)

// msgSend sends Meta's sample template to phone as the demo admin and returns the
// message's id.
func msgSend(t *testing.T, k *kirim, phone string) string {
	t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	k.admin.Must(http.StatusAccepted, "POST", "/v1/messages", map[string]any{"to": phone,
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &out)
	return out.ID
}

// msgStatus is a message's status as the API tells it.
func msgStatus(t *testing.T, k *kirim, id string) string {
	t.Helper()
	var v struct {
		Status string `json:"status"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/messages/"+id, nil, &v)
	return v.Status
}

// msgDelivered waits until the sandbox has delivered (or read) each message.
func msgDelivered(t *testing.T, k *kirim, ids ...string) {
	t.Helper()
	kirimtest.WaitFor(t, "deliveries", 30*time.Second, func() bool {
		for _, id := range ids {
			if st := msgStatus(t, k, id); st != "delivered" && st != "read" {
				return false
			}
		}
		return true
	})
}

// TestMessagesPage: the list filters by status, recipient and campaign as the API
// does, refuses a bad filter naming its field, and pages with the API's cursor.
func TestMessagesPage(t *testing.T) {
	k := start(t)
	one, two := msgSend(t, k, "0812-1111-0001"), msgSend(t, k, "+6281211110002")
	msgDelivered(t, k, one, two)
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	tests := []struct {
		name, query string
		status      int
		want, not   []string
	}{
		{"all", "", 200, []string{"6281211110001", "6281211110002", "/console/messages/" + one, "hello_world"}, []string{"msg.st."}},
		{"by recipient, local form", "?to=0812-1111-0002", 200, []string{"6281211110002"}, []string{"6281211110001"}},
		{"by status", "?status=" + msgStatus(t, k, one), 200, []string{"6281211110001"}, []string{"No messages match."}},
		{"no such status among them", "?status=cancelled", 200, []string{"No messages match.", `<option value="cancelled" selected>`}, []string{"6281211110001"}},
		{"by campaign", "?campaign_id=cmp_none", 200, []string{"No messages match.", `value="cmp_none"`}, []string{"6281211110001"}},
		{"bad status", "?status=lost", 400, []string{"status: ", `id="f-status" name="status" aria-invalid="true"`}, []string{"6281211110001"}},
		{"bad phone", "?to=abc", 400, []string{"to: ", `value="abc" aria-invalid="true"`}, nil},
		{"bad cursor", "?cursor=zzz", 400, []string{"cursor"}, nil},
	}
	for _, tc := range tests {
		st, _, body := b.get("/console/messages" + tc.query)
		if st != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, st, tc.status)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %q in the page", tc.name, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(body, n) {
				t.Errorf("%s: %q in the page", tc.name, n)
			}
		}
	}
}

var reNextPage = regexp.MustCompile(`href="([^"]+)" rel="next"`)

// TestMessagesPaging: past a page of 50 the list links the next page by the API's
// cursor, keeping the filter, and the next page holds the rest.
func TestMessagesPaging(t *testing.T) {
	k := start(t)
	for i := range 52 {
		msgSend(t, k, fmt.Sprintf("+62812200%05d", i))
	}
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	_, _, first := b.get("/console/messages?status=")
	if n := strings.Count(first, `<tr><td><a href="/console/messages/msg_`); n != 50 {
		t.Fatalf("first page: %d rows", n)
	}
	m := reNextPage.FindStringSubmatch(first)
	if m == nil {
		t.Fatal("no link to the next page")
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.HasPrefix(next, "/console/messages?cursor=") {
		t.Fatalf("next page link %q", next)
	}
	st, _, second := b.get(next)
	if st != 200 || strings.Count(second, `<tr><td><a href="/console/messages/msg_`) != 2 || strings.Contains(second, `rel="next"`) {
		t.Fatalf("second page: %d, %d rows", st, strings.Count(second, `<tr><td><a href="/console/messages/msg_`))
	}
	if !strings.Contains(second, `<a href="/console/messages">First page</a>`) {
		t.Error("the second page links no first page")
	}
	// The oldest message is on the second page and nowhere on the first.
	if !strings.Contains(second, "6281220000000") || strings.Contains(first, "6281220000000<") {
		t.Error("the pages overlap or skip")
	}
}

// TestMessageDetail: a message shows its history, price and charge, template and
// error; a queued one can be cancelled by a sender, a sent one cannot, finance reads
// no messages and may not cancel.
func TestMessageDetail(t *testing.T) {
	// No burst: a second message to the same recipient waits out the pair gap (6 s),
	// still cancellable.
	k := start(t, "KIRIM_NUMBERS_MAIN_PAIR_BURST=1")
	sent := msgSend(t, k, "+6281233330001")
	msgDelivered(t, k, sent)
	later := msgSend(t, k, "+6281233330001")
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	st, _, body := b.get("/console/messages/" + sent)
	if st != 200 {
		t.Fatalf("detail: %d", st)
	}
	for _, w := range []string{"hello_world", "en_US", "6281233330001", `id="price">IDR `, `id="charged">IDR `, `id="history"`, ">queued<", ">delivered<", ">sent<"} {
		if !strings.Contains(body, w) {
			t.Errorf("detail lacks %q", w)
		}
	}
	if strings.Contains(body, "/cancel") {
		t.Error("a delivered message offers to cancel")
	}
	if st, _, _ := b.get("/console/messages/msg_nothing_here"); st != http.StatusNotFound {
		t.Errorf("no such message: %d", st)
	}
	// Too late: the API's refusal is shown on the message.
	st, _, body = b.post("/console/messages/"+sent+"/cancel", nil)
	if st != http.StatusConflict || !strings.Contains(body, "already on its way") || !strings.Contains(body, `id="history"`) {
		t.Errorf("cancel a delivered message: %d", st)
	}
	if got := msgStatus(t, k, later); got != "queued" && got != "waiting" {
		t.Fatalf("second message is %s, want queued or waiting", got)
	}
	_, _, body = b.get("/console/messages/" + later)
	if !strings.Contains(body, `action="/console/messages/`+later+`/cancel"`) {
		t.Fatal("a waiting message offers no cancel")
	}
	st, loc, _ := b.post("/console/messages/"+later+"/cancel", nil)
	if st != http.StatusSeeOther || loc != "/console/messages/"+later+"?done=msg.cancelled_ok" {
		t.Fatalf("cancel: %d %q", st, loc)
	}
	if got := msgStatus(t, k, later); got != "cancelled" {
		t.Fatalf("after cancel: %s", got)
	}
	_, _, body = b.get(loc)
	if !strings.Contains(body, "Message cancelled.") || !strings.Contains(body, ">cancelled<") {
		t.Error("the cancelled message does not say so")
	}

	pw := k.user(t, "fina", "finance")
	f := k.client(t)
	f.signIn("fina", pw)
	for _, path := range []string{"/console/messages", "/console/messages/" + sent} {
		st, _, body := f.get(path)
		if st != 200 || !strings.Contains(body, "Your role does not read messages") || strings.Contains(body, "6281233330001") {
			t.Errorf("finance on %s: %d", path, st)
		}
	}
	if st, _, _ := f.post("/console/messages/"+later+"/cancel", url.Values{}); st != http.StatusForbidden {
		t.Errorf("finance cancels: %d", st)
	}
}
