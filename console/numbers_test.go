package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestNumbersPage: each number shows its standing, the limit and its use, the pace,
// the pair gap, the queue and the forecast, in English and Indonesian; finance, whose
// scopes read no numbers, is told so.
func TestNumbersPage(t *testing.T) {
	k := start(t)
	msgDelivered(t, k, msgSend(t, k, "+6281244440001"))
	var nums struct {
		Data []struct {
			MessagingLimit any `json:"messaging_limit"`
		} `json:"data"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/numbers", nil, &nums)
	if len(nums.Data) != 1 {
		t.Fatalf("numbers: %+v", nums)
	}
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	st, _, body := b.get("/console/numbers")
	if st != 200 {
		t.Fatalf("numbers page: %d", st)
	}
	for _, w := range []string{`data-number="main"`, "15550000001", ">CONNECTED<", ">GREEN<",
		`<meter min="0" max="` + fmt.Sprint(nums.Data[0].MessagingLimit) + `" value="1"></meter> 1 / `,
		"80 messages/s", `class="pair">6 s<`, `class="queue">0<`, "data-countdown=", "Daily pace"} {
		if !strings.Contains(body, w) {
			t.Errorf("numbers page lacks %q", w)
		}
	}
	if st, _, _ := b.post("/console/lang", url.Values{"lang": {"id"}, "back": {"/console/numbers"}}); st != http.StatusSeeOther {
		t.Fatalf("language: %d", st)
	}
	_, _, body = b.get("/console/numbers")
	for _, w := range []string{"80 pesan/detik", `class="pair">6 detik<`, "Dimulai bisnis, 24 jam terakhir"} {
		if !strings.Contains(body, w) {
			t.Errorf("Indonesian numbers page lacks %q", w)
		}
	}
	pw := k.user(t, "fina", "finance")
	f := k.client(t)
	f.signIn("fina", pw)
	if st, _, body := f.get("/console/numbers"); st != 200 || !strings.Contains(body, "Your role does not read numbers") || strings.Contains(body, "15550000001") {
		t.Errorf("finance on numbers: %d", st)
	}
}
