package console_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"kirim/api"
	"kirim/console"
)

// moneyTopUps lists the demo account's top-ups through the API.
func moneyTopUps(t *testing.T, k *kirim) []struct {
	ID, Reference, Status, Note, Reason string
	Amount                              struct {
		AmountMicros int64 `json:"amount_micros"`
	}
} {
	t.Helper()
	var page struct {
		Data []struct {
			ID, Reference, Status, Note, Reason string
			Amount                              struct {
				AmountMicros int64 `json:"amount_micros"`
			}
		} `json:"data"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/topups", nil, &page)
	return page.Data
}

// moneyAvailable is the demo account's available balance in micros.
func moneyAvailable(t *testing.T, k *kirim) int64 {
	t.Helper()
	var b struct {
		Available struct {
			AmountMicros int64 `json:"amount_micros"`
		} `json:"available"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/balance", nil, &b)
	return b.Available.AmountMicros
}

// TestMoneyTopUps: an admin asks for a top-up in whole units (refused forms name
// their field and change nothing); only the operator confirms or rejects it, and a
// confirmed one grows the balance by exactly its amount.
func TestMoneyTopUps(t *testing.T) {
	k := start(t)
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	st, _, body := b.get("/console/money")
	if st != 200 || !strings.Contains(body, `id="available">IDR 1,000,000<`) || !strings.Contains(body, "opening-balance") {
		t.Fatalf("money page: %d", st)
	}
	before := len(moneyTopUps(t, k))
	refused := []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"decimal amount", url.Values{"amount": {"500.000"}, "reference": {"BCA-1"}}, "amount", "amount: a whole number of IDR"},
		{"no amount", url.Values{"amount": {""}, "reference": {"BCA-1"}}, "amount", "amount: a whole number of IDR"},
		{"zero", url.Values{"amount": {"0"}, "reference": {"BCA-1"}}, "amount", "amount: a whole number of IDR"},
		{"too much", url.Values{"amount": {"9000000000000"}, "reference": {"BCA-1"}}, "amount", "amount_micros: must be between"},
		{"no reference", url.Values{"amount": {"500000"}, "reference": {""}}, "reference", "reference: is required"},
		{"bad reference", url.Values{"amount": {"500000"}, "reference": {"BCA 1/2"}}, "reference", "reference: must be"},
		{"long note", url.Values{"amount": {"500000"}, "reference": {"BCA-1"}, "note": {strings.Repeat("n", 600)}}, "note", "note: at most"},
	}
	for _, tc := range refused {
		st, _, body := b.post("/console/money/topups", tc.form)
		if st != http.StatusBadRequest || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d, want 400 with %q", tc.name, st, tc.msg)
		}
		if !strings.Contains(body, `name="`+tc.field+`"`) || !strings.Contains(body, `value="`+tc.form.Get(tc.field)+`" aria-invalid="true"`) {
			t.Errorf("%s: the %s field is not marked", tc.name, tc.field)
		}
	}
	if n := len(moneyTopUps(t, k)); n != before {
		t.Fatalf("refused requests made top-ups: %d, was %d", n, before)
	}
	st, loc, _ := b.post("/console/money/topups", url.Values{"amount": {"500 000"}, "reference": {"BCA-TRF-0042"}, "note": {"transfer 5 Mar"}})
	if st != http.StatusSeeOther || loc != "/console/money?done=money.topup_requested" {
		t.Fatalf("request: %d %q", st, loc)
	}
	b.post("/console/money/topups", url.Values{"amount": {"25000"}, "reference": {"BCA-TRF-0043"}})
	tops := moneyTopUps(t, k)
	if len(tops) != before+2 || tops[1].Reference != "BCA-TRF-0042" || tops[1].Status != "pending" || tops[1].Amount.AmountMicros != 500_000_000_000 || tops[1].Note != "transfer 5 Mar" {
		t.Fatalf("top-ups %+v", tops)
	}
	confirmID, rejectID := tops[1].ID, tops[0].ID
	_, _, body = b.get(loc)
	if !strings.Contains(body, "Top-up requested") || !strings.Contains(body, "BCA-TRF-0042") || strings.Contains(body, "/confirm") {
		t.Fatal("the admin's page lacks the request, or offers to confirm it")
	}
	if st, _, _ := b.post("/console/money/topups/"+confirmID+"/confirm", nil); st != http.StatusForbidden {
		t.Fatalf("an admin confirms: %d", st)
	}

	op := k.client(t)
	op.signIn("operator", "kirim-demo-operator")
	if st, _, _ := op.post("/console/account", url.Values{"account": {"demo"}}); st != http.StatusSeeOther {
		t.Fatalf("pick demo: %d", st)
	}
	_, _, body = op.get("/console/money")
	for _, w := range []string{`action="/console/money/topups/` + confirmID + `/confirm"`, `for="reason-` + rejectID + `"`, "transfer 5 Mar"} {
		if !strings.Contains(body, w) {
			t.Errorf("operator's money page lacks %q", w)
		}
	}
	st, _, body = op.post("/console/money/topups/"+rejectID+"/reject", url.Values{"reason": {strings.Repeat("r", 513)}})
	if st != http.StatusBadRequest || !strings.Contains(body, "reason: at most") || !strings.Contains(body, `id="reason-`+rejectID+`" name="reason" maxlength="512" aria-invalid="true"`) {
		t.Errorf("long reason: %d", st)
	}
	avail := moneyAvailable(t, k)
	if st, loc, _ := op.post("/console/money/topups/"+confirmID+"/confirm", nil); st != http.StatusSeeOther || loc != "/console/money?done=money.topup_confirmed" {
		t.Fatalf("confirm: %d %q", st, loc)
	}
	if st, loc, _ := op.post("/console/money/topups/"+rejectID+"/reject", url.Values{"reason": {"no transfer arrived"}}); st != http.StatusSeeOther || loc != "/console/money?done=money.topup_rejected" {
		t.Fatalf("reject: %d %q", st, loc)
	}
	if got := moneyAvailable(t, k); got != avail+500_000_000_000 {
		t.Fatalf("available %d after confirming, want %d", got, avail+500_000_000_000)
	}
	// Confirming again answers the same top-up and moves no more money.
	if st, _, _ := op.post("/console/money/topups/"+confirmID+"/confirm", nil); st != http.StatusSeeOther || moneyAvailable(t, k) != avail+500_000_000_000 {
		t.Errorf("confirm twice: %d, available %d", st, moneyAvailable(t, k))
	}
	_, _, body = b.get("/console/money")
	want := api.NewMoney(avail+500_000_000_000, "IDR").Display
	for _, w := range []string{`id="available">` + want + `<`, ">confirmed<", ">rejected<", "no transfer arrived", "operator"} {
		if !strings.Contains(body, w) {
			t.Errorf("admin's money page after the operator lacks %q", w)
		}
	}
}

// TestMoneyStatement: the statement defaults to this month in the account's
// timezone, takes a period whose end day counts whole, refuses a bad date by its
// field, and downloads as the API's CSV.
func TestMoneyStatement(t *testing.T) {
	k := start(t)
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	jakarta, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(jakarta)
	today := now.Format(time.DateOnly)
	_, _, body := b.get("/console/money")
	if !strings.Contains(body, `id="s-from" name="from" type="date" value="`+now.Format("2006-01")+`-01"`) {
		t.Error("the statement does not start at the first of the month")
	}
	tests := []struct {
		name, query string
		status      int
		want, not   []string
	}{
		{"today, end inclusive", "?from=" + today + "&to=" + today, 200, []string{"opening-balance", ">Top-up<", "IDR 1,000,000"}, []string{"No entries in this period."}},
		{"another year", "?from=2001-01-01&to=2001-12-31", 200, []string{"No entries in this period."}, []string{">Top-up<"}},
		{"whole history", "?from=", 200, []string{">Top-up<"}, []string{"No entries in this period."}},
		{"bad from", "?from=5+March", 400, []string{"from: ", `id="s-from" name="from" type="date" value="5 March" aria-invalid="true"`}, nil},
		{"end before start", "?from=2026-03-05&to=2026-03-01", 400, []string{"to: must be after from", `name="to" type="date" value="2026-03-01" aria-invalid="true"`}, nil},
	}
	for _, tc := range tests {
		st, _, body := b.get("/console/money" + tc.query)
		if st != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, st, tc.status)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %q", tc.name, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(body, n) {
				t.Errorf("%s: %q shown", tc.name, n)
			}
		}
	}
	if !strings.Contains(body, `href="/console/money/statement.csv?from=`+now.Format("2006-01")+`-01&amp;to="`) {
		t.Error("no CSV link for the period shown")
	}
	get := func(path string) *http.Response {
		resp, err := b.hc.Get(b.base + path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := get("/console/money/statement.csv?from=" + today + "&to=" + today)
	csv, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="statement-demo.csv"` ||
		!strings.HasPrefix(string(csv), "seq,at,date,kind,amount,") || !strings.Contains(string(csv), ",topup,1000000,") {
		t.Fatalf("csv: %d %v %s", resp.StatusCode, resp.Header, csv)
	}
	resp = get("/console/money/statement.csv?from=2001-01-01&to=2001-01-31")
	csv, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.Count(string(csv), "\n") != 1 {
		t.Fatalf("csv of an empty period: %d %s", resp.StatusCode, csv)
	}
	resp = get("/console/money/statement.csv?from=soon")
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(page), "from: ") {
		t.Fatalf("csv with a bad date: %d %s", resp.StatusCode, page)
	}
}

// TestMoneyRoles: finance and admins open the money page, a marketer and an agent
// are refused it and see no link to it; the dashboard shows this month's spend to
// the roles that see money, as the API shows money.
func TestMoneyRoles(t *testing.T) {
	k := start(t)
	msgDelivered(t, k, msgSend(t, k, "+6281255550001"), msgSend(t, k, "+6281255550002"))
	spent := moneyCharged(t, k)
	for _, tc := range []struct {
		role  string
		money bool
	}{{"finance", true}, {"admin", true}, {"marketer", false}, {"agent", false}} {
		pw := k.user(t, "u-"+tc.role, tc.role)
		b := k.client(t)
		b.signIn("u-"+tc.role, pw)
		_, _, dash := b.get("/console/")
		st, _, body := b.get("/console/money")
		if tc.money {
			if st != 200 || !strings.Contains(dash, `href="/console/money"`) || !strings.Contains(body, `id="available"`) {
				t.Errorf("%s: money page %d", tc.role, st)
			}
			if want := `id="spent">` + api.NewMoney(spent, "IDR").Display + `<`; !strings.Contains(dash, want) {
				t.Errorf("%s: dashboard lacks %q", tc.role, want)
			}
			continue
		}
		if st != http.StatusForbidden || !strings.Contains(body, "Your role cannot open this page") {
			t.Errorf("%s: money page %d, want 403", tc.role, st)
		}
		if strings.Contains(dash, `href="/console/money"`) || strings.Contains(dash, `id="spent"`) || strings.Contains(dash, `id="balance"`) {
			t.Errorf("%s: the dashboard shows money", tc.role)
		}
		if st, _, _ := b.get("/console/money/statement.csv"); st != http.StatusForbidden {
			t.Errorf("%s: statement csv %d", tc.role, st)
		}
	}
	if spent <= 0 {
		t.Fatalf("two delivered messages charged %d", spent)
	}
}

// moneyCharged sums the demo account's charges over its whole statement.
func moneyCharged(t *testing.T, k *kirim) int64 {
	t.Helper()
	var sum int64
	for _, r := range k.admin.Statement() {
		if r.Kind == "capture" && r.Amount != nil {
			sum += r.Amount.AmountMicros
		}
	}
	return sum
}

var reRawMoneyWord = regexp.MustCompile(`\b(?:money|msg|num|acct|dash)\.[a-z_.]+\b`)

// TestMoneyPagesHaveTheirWords opens the money, messages, numbers and accounts pages
// in English and Indonesian: no key of the dictionary shows through untranslated.
func TestMoneyPagesHaveTheirWords(t *testing.T) {
	k := start(t)
	id := msgSend(t, k, "+6281277770001")
	msgDelivered(t, k, id)
	b := k.client(t)
	b.signIn("operator", "kirim-demo-operator")
	b.post("/console/money/topups", url.Values{"amount": {"1000"}, "reference": {"W-1"}})
	for _, lang := range []string{"en", "id"} {
		if st, _, _ := b.post("/console/lang", url.Values{"lang": {lang}}); st != http.StatusSeeOther {
			t.Fatalf("language %s: %d", lang, st)
		}
		for _, path := range []string{"/console/", "/console/money?from=", "/console/messages", "/console/messages/" + id, "/console/numbers", "/console/accounts"} {
			st, _, body := b.get(path)
			if st != 200 {
				t.Errorf("%s %s: %d", lang, path, st)
			}
			if m := reRawMoneyWord.FindAllString(body, -1); m != nil {
				t.Errorf("%s %s shows keys %q", lang, path, m)
			}
		}
	}
}

// TestDashboardSpendIsBounded: past the statement rows the dashboard reads, the
// month's spend says "at least" the charges it saw.
func TestDashboardSpendIsBounded(t *testing.T) {
	console.SetSpendScan(t, 3)
	k := start(t)
	msgDelivered(t, k, msgSend(t, k, "+6281288880001"), msgSend(t, k, "+6281288880002"))
	// The month so far: the opening top-up, then a hold and a charge per message.
	rows := k.admin.Statement()
	var first int64
	for _, r := range rows[:3] {
		if r.Kind == "capture" {
			first += r.Amount.AmountMicros
		}
	}
	if len(rows) != 5 {
		t.Fatalf("statement has %d rows: %+v", len(rows), rows)
	}
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	_, _, dash := b.get("/console/")
	if want := `id="spent">at least ` + api.NewMoney(first, "IDR").Display + `<`; !strings.Contains(dash, want) {
		t.Errorf("dashboard lacks %q", want)
	}
}

// TestMoneyPaging: the statement and the top-ups page by the API's cursors, the
// statement keeping its period.
func TestMoneyPaging(t *testing.T) {
	k := start(t)
	var ids []string
	for i := range 25 {
		ids = append(ids, msgSend(t, k, fmt.Sprintf("+62812400%05d", i)))
	}
	msgDelivered(t, k, ids...)
	for i := range 21 {
		k.admin.Must(http.StatusCreated, "POST", "/v1/topups", map[string]any{"amount_micros": 1_000_000, "reference": fmt.Sprintf("P-%d", i)}, nil)
	}
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	_, _, first := b.get("/console/money?from=&to=")
	// The opening top-up, and a hold and a charge for each message: 51 entries.
	if n := strings.Count(first, "data-seq="); n != 50 {
		t.Fatalf("first statement page: %d rows", n)
	}
	if n := strings.Count(first, `<tr data-topup=`); n != 20 {
		t.Fatalf("first top-ups page: %d rows", n)
	}
	var next, older string
	for _, m := range reNextPage.FindAllStringSubmatch(first, -1) {
		next = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	if !strings.HasPrefix(next, "/console/money?cursor=") || !strings.Contains(next, "from=&") || !strings.HasSuffix(next, "&to=#statement") {
		t.Fatalf("next statement page %q", next)
	}
	if m := reOlderTopUps.FindStringSubmatch(first); m != nil {
		older = strings.ReplaceAll(m[1], "&amp;", "&")
	}
	_, _, second := b.get(strings.TrimSuffix(next, "#statement"))
	if n := strings.Count(second, "data-seq="); n != 1 || !strings.Contains(second, "First page") || strings.Contains(second, `rel="next"`) {
		t.Fatalf("second statement page: %d rows", n)
	}
	_, _, rest := b.get(strings.TrimSuffix(older, "#topups"))
	if n := strings.Count(rest, `<tr data-topup=`); n != 2 || !strings.Contains(rest, "opening-balance") {
		t.Fatalf("older top-ups (%q): %d rows", older, n)
	}
}

var reOlderTopUps = regexp.MustCompile(`<a href="([^"]+)">Older top-ups</a>`)
