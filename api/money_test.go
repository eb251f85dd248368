package api_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"kirim/ledger"
)

const idr = 1_000_000 // micros per rupiah

var seedBands = []int64{250_000, 1_000_000, 3_000_000, 6_000_000, 10_000_000, 15_000_000, 25_000_000}

func rupiah(v ...int64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = x * idr
	}
	return out
}

// newMoneyEnv is newEnv with the real ledger as the engine's biller and behind the
// money endpoints. The engine is not started: accepted messages stay queued.
func newMoneyEnv(t *testing.T) (*env, *ledger.Ledger) {
	t.Helper()
	e := newEnv(t, envOpts{ledger: moneyLedger})
	return e, e.ledger
}

func moneyLedger(tb testing.TB, now func() time.Time) *ledger.Ledger {
	jakarta, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		tb.Fatal(err)
	}
	l, err := ledger.New(ledger.Config{
		Now:    now,
		Logger: quietLogger(),
		Accounts: []ledger.Account{
			{ID: "acct_a", Currency: "IDR", Timezone: jakarta, LowBalance: 100 * idr},
			{ID: "acct_b", Currency: "IDR", Timezone: jakarta, Package: ledger.Package{Credits: map[string]int64{"service": 1000}}},
		},
		RateCards: []ledger.RateCard{{
			Effective: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Currency: "IDR",
			Prices: []ledger.Price{
				{Market: ledger.MarketDefault, Category: "marketing", UpTo: seedBands, Micros: rupiah(514, 510, 504, 494, 485, 393, 456, 456)},
				{Market: ledger.MarketDefault, Category: "utility", Micros: rupiah(300)},
			},
			SessionPrices: map[string]int64{"text": 75 * idr},
		}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// decode fails the test unless the answer has status want, then decodes it into v.
func decode(tb testing.TB, r response, want int, v any) {
	tb.Helper()
	if r.status != want {
		tb.Fatalf("status %d, want %d: %s", r.status, want, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.body, err)
	}
}

type moneyJSON struct {
	AmountMicros int64  `json:"amount_micros"`
	Currency     string `json:"currency"`
	Display      string `json:"display"`
}

type balanceJSON struct {
	Account     string           `json:"account"`
	Currency    string           `json:"currency"`
	Available   moneyJSON        `json:"available"`
	Held        moneyJSON        `json:"held"`
	Balance     moneyJSON        `json:"balance"`
	FreeCredits map[string]int64 `json:"free_credits"`
	LowBalance  moneyJSON        `json:"low_balance"`
	Low         bool             `json:"low"`
}

type topUpJSON struct {
	ID         string    `json:"id"`
	Reference  string    `json:"reference"`
	Amount     moneyJSON `json:"amount"`
	Status     string    `json:"status"`
	Note       string    `json:"note"`
	ResolvedBy string    `json:"resolved_by"`
	ResolvedAt *string   `json:"resolved_at"`
	Reason     string    `json:"reason"`
}

func (e *env) balance(key string) balanceJSON {
	e.t.Helper()
	var b balanceJSON
	decode(e.t, e.do("GET", "/v1/balance", key, nil), http.StatusOK, &b)
	return b
}

// fund creates and confirms a top-up of amount rupiah for account A.
func (e *env) fund(ref string, rupiahs int64) topUpJSON {
	e.t.Helper()
	var t topUpJSON
	decode(e.t, e.do("POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": rupiahs * idr, "reference": ref}), http.StatusCreated, &t)
	decode(e.t, e.do("POST", "/v1/topups/"+t.ID+"/confirm", opA, nil), http.StatusOK, &t)
	return t
}

func TestTopUpLifecycle(t *testing.T) {
	e, _ := newMoneyEnv(t)
	if b := e.balance(keySendA); b.Available.AmountMicros != 0 || b.Currency != "IDR" || !b.Low || b.LowBalance.Display != "IDR 100" {
		t.Fatalf("opening balance %+v", b)
	}

	var created topUpJSON
	decode(t, e.do("POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": 1_000_000 * idr, "reference": "BCA-2026-03-02-001", "note": "transfer from PT Maju"}), http.StatusCreated, &created)
	if created.Status != ledger.TopUpPending || created.Amount.Display != "IDR 1,000,000" || created.Note != "transfer from PT Maju" || created.ResolvedAt != nil {
		t.Fatalf("created %+v", created)
	}
	// Pending money is not money yet.
	if b := e.balance(keySendA); b.Available.AmountMicros != 0 {
		t.Fatalf("a pending top-up moved money: %+v", b)
	}
	// The reference is the idempotency key.
	var again topUpJSON
	decode(t, e.do("POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": 1_000_000 * idr, "reference": "BCA-2026-03-02-001"}), http.StatusOK, &again)
	if again.ID != created.ID || again.Note != created.Note {
		t.Fatalf("retry answered %+v, want %+v", again, created)
	}
	wantError(t, e.do("POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": 2 * idr, "reference": "BCA-2026-03-02-001"}), http.StatusConflict, "conflict", "reference")

	var confirmed topUpJSON
	decode(t, e.do("POST", "/v1/topups/"+created.ID+"/confirm", opA, nil), http.StatusOK, &confirmed)
	if confirmed.Status != ledger.TopUpConfirmed || confirmed.ResolvedBy != "ops" || confirmed.ResolvedAt == nil {
		t.Fatalf("confirmed %+v", confirmed)
	}
	decode(t, e.do("POST", "/v1/topups/"+created.ID+"/confirm", opA, ""), http.StatusOK, &confirmed)
	wantError(t, e.do("POST", "/v1/topups/"+created.ID+"/reject", opA, map[string]any{"reason": "late"}), http.StatusConflict, "conflict", "reason")
	b := e.balance(keySendA)
	if b.Available.AmountMicros != 1_000_000*idr || b.Balance.Display != "IDR 1,000,000" || b.Low {
		t.Fatalf("after confirm %+v", b)
	}

	var rejected topUpJSON
	decode(t, e.do("POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": 5 * idr, "reference": "no-proof"}), http.StatusCreated, &rejected)
	decode(t, e.do("POST", "/v1/topups/"+rejected.ID+"/reject", opA, map[string]any{"reason": "no proof of transfer"}), http.StatusOK, &rejected)
	if rejected.Status != ledger.TopUpRejected || rejected.Reason != "no proof of transfer" {
		t.Fatalf("rejected %+v", rejected)
	}
	wantError(t, e.do("POST", "/v1/topups/"+rejected.ID+"/confirm", opA, nil), http.StatusConflict, "conflict", "")
	e.clk.Advance(time.Minute)
	e.fund("third", 10)

	// History, newest first, filtered and paged.
	type list struct {
		Data       []topUpJSON `json:"data"`
		NextCursor string      `json:"next_cursor"`
	}
	var all list
	decode(t, e.do("GET", "/v1/topups", keyAdminA, nil), http.StatusOK, &all)
	if len(all.Data) != 3 || all.Data[0].Reference != "third" || all.NextCursor != "" {
		t.Fatalf("history %+v", all)
	}
	var p1, p2 list
	decode(t, e.do("GET", "/v1/topups?status=confirmed&limit=1", keyAdminA, nil), http.StatusOK, &p1)
	decode(t, e.do("GET", "/v1/topups?status=confirmed&limit=1&cursor="+p1.NextCursor, keyAdminA, nil), http.StatusOK, &p2)
	if len(p1.Data) != 1 || p1.Data[0].Reference != "third" || len(p2.Data) != 1 || p2.Data[0].ID != created.ID || p2.NextCursor != "" {
		t.Fatalf("pages %+v %+v", p1, p2)
	}

	cases := []struct {
		name, method, path, key string
		body                    any
		status                  int
		code, field             string
	}{
		{"amount required", "POST", "/v1/topups", keyAdminA, map[string]any{"reference": "r"}, 400, "invalid_field", "amount_micros"},
		{"amount positive", "POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": -5, "reference": "r"}, 400, "invalid_field", "amount_micros"},
		{"amount not a number", "POST", "/v1/topups", keyAdminA, `{"amount_micros": "5", "reference": "r"}`, 400, "invalid_field", "amount_micros"},
		{"reference required", "POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": 5}, 400, "invalid_field", "reference"},
		{"reference characters", "POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": 5, "reference": "a b"}, 400, "invalid_field", "reference"},
		{"note length", "POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": 5, "reference": "r", "note": strings.Repeat("x", 513)}, 400, "invalid_field", "note"},
		{"unknown field", "POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": 5, "reference": "r", "currency": "USD"}, 400, "invalid_json", "currency"},
		{"send scope cannot top up", "POST", "/v1/topups", keySendA, map[string]any{"amount_micros": 5, "reference": "r"}, 403, "forbidden", ""},
		{"send scope cannot list", "GET", "/v1/topups", keySendA, nil, 403, "forbidden", ""},
		{"send scope cannot confirm", "POST", "/v1/topups/" + rejected.ID + "/confirm", keySendA, nil, 403, "forbidden", ""},
		{"unknown top-up", "POST", "/v1/topups/tu_0000/confirm", opA, nil, 404, "not_found", ""},
		{"confirm takes no fields", "POST", "/v1/topups/" + created.ID + "/confirm", opA, map[string]any{"amount_micros": 1}, 400, "invalid_json", "amount_micros"},
		{"bad status filter", "GET", "/v1/topups?status=done", keyAdminA, nil, 400, "invalid_field", "status"},
		{"bad cursor", "GET", "/v1/topups?cursor=tu_nope", keyAdminA, nil, 400, "invalid_cursor", "cursor"},
		{"no key", "GET", "/v1/balance", "", nil, 401, "unauthorized", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do(tc.method, tc.path, tc.key, tc.body), tc.status, tc.code, tc.field)
		})
	}
	// Another account sees its own money, and its package credits.
	if b := e.balance(keySendB); b.Account != "acct_b" || b.Available.AmountMicros != 0 || b.FreeCredits["service"] != 1000 {
		t.Fatalf("account B %+v", b)
	}
}

type statementJSON struct {
	Account  string `json:"account"`
	Currency string `json:"currency"`
	Data     []struct {
		Seq             uint64     `json:"seq"`
		At              string     `json:"at"`
		Kind            string     `json:"kind"`
		Amount          *moneyJSON `json:"amount"`
		AvailableChange moneyJSON  `json:"available_change"`
		AvailableAfter  moneyJSON  `json:"available_after"`
		HeldAfter       moneyJSON  `json:"held_after"`
		BalanceAfter    moneyJSON  `json:"balance_after"`
		MessageID       string     `json:"message_id"`
		Reference       string     `json:"reference"`
		Reason          string     `json:"reason"`
	} `json:"data"`
	NextCursor string `json:"next_cursor"`
}

func TestSendsHoldAndStatement(t *testing.T) {
	e, _ := newMoneyEnv(t)
	e.fund("first", 1000)
	promo := map[string]any{"to": "+6281234567890", "template": map[string]any{"name": "promo_dec", "language": "id", "body": []string{"Budi"}}}
	first := e.send(promo)
	price := first["price"].(map[string]any)
	if price["amount_micros"].(float64) != 514*idr || price["display"] != "IDR 514" || first["category"] != "marketing" {
		t.Fatalf("accepted %v", first)
	}
	if b := e.balance(keySendA); b.Available.AmountMicros != 486*idr || b.Held.AmountMicros != 514*idr || b.Balance.AmountMicros != 1000*idr {
		t.Fatalf("after one send %+v", b)
	}
	// The second marketing send would overdraw: 402, and nothing is queued.
	promo["to"] = "+6281234567891"
	before := e.count("acct_a")
	wantError(t, e.do("POST", "/v1/messages", keySendA, promo), http.StatusPaymentRequired, "insufficient_balance", "")
	if n := e.count("acct_a"); n != before {
		t.Fatalf("a refused send was queued: %d -> %d", before, n)
	}
	// A utility template fits what is left.
	second := e.send(orderUpdate("+6281234567892", "Budi", "INV-42"))
	if second["price"].(map[string]any)["display"] != "IDR 300" {
		t.Fatalf("utility price %v", second["price"])
	}
	// Cancelling releases the hold.
	r := e.do("POST", "/v1/messages/"+first["id"].(string)+"/cancel", keySendA, nil)
	if r.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if b := e.balance(keySendA); b.Available.AmountMicros != 700*idr || b.Held.AmountMicros != 300*idr {
		t.Fatalf("after cancel %+v", b)
	}

	var st statementJSON
	decode(t, e.do("GET", "/v1/statement", keySendA, nil), http.StatusOK, &st)
	wantKinds := []string{"topup", "hold", "hold", "release"}
	if st.Account != "acct_a" || st.Currency != "IDR" || len(st.Data) != len(wantKinds) || st.NextCursor != "" {
		t.Fatalf("statement %+v", st)
	}
	for i, k := range wantKinds {
		if st.Data[i].Kind != k {
			t.Fatalf("row %d kind %q, want %q", i, st.Data[i].Kind, k)
		}
	}
	if row := st.Data[0]; row.Reference != "first" || row.AvailableAfter.AmountMicros != 1000*idr || row.Amount.Display != "IDR 1,000" {
		t.Fatalf("topup row %+v", row)
	}
	if row := st.Data[1]; row.MessageID != first["id"] || row.AvailableChange.AmountMicros != -514*idr || row.HeldAfter.AmountMicros != 514*idr || row.BalanceAfter.AmountMicros != 1000*idr {
		t.Fatalf("hold row %+v", row)
	}
	if row := st.Data[3]; row.MessageID != first["id"] || row.Reason != "cancelled" || row.AvailableAfter.AmountMicros != 700*idr {
		t.Fatalf("release row %+v", row)
	}

	// Pages of one row walk the same entries.
	cursor, seen := "", 0
	for {
		var p statementJSON
		decode(t, e.do("GET", "/v1/statement?limit=1&cursor="+cursor, keySendA, nil), http.StatusOK, &p)
		if len(p.Data) != 1 || p.Data[0].Seq != st.Data[seen].Seq {
			t.Fatalf("page %d: %+v", seen, p)
		}
		seen++
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if seen != len(st.Data) {
		t.Fatalf("paged %d rows, want %d", seen, len(st.Data))
	}

	// A time range: only what happened after the top-up's minute.
	e.clk.Advance(time.Hour)
	e.fund("later", 5)
	var ranged statementJSON
	from := t0.Add(30 * time.Minute).Format(time.RFC3339)
	decode(t, e.do("GET", "/v1/statement?from="+from, keySendA, nil), http.StatusOK, &ranged)
	if len(ranged.Data) != 1 || ranged.Data[0].Reference != "later" {
		t.Fatalf("from %s: %+v", from, ranged)
	}
	decode(t, e.do("GET", "/v1/statement?to="+from, keySendA, nil), http.StatusOK, &ranged)
	if len(ranged.Data) != 4 {
		t.Fatalf("to %s: %d rows", from, len(ranged.Data))
	}
	// A date is midnight in the account's timezone (Jakarta, UTC+7): 2026-03-02 00:00
	// WIB is before t0 (10:00 UTC), 2026-03-03 is after everything.
	decode(t, e.do("GET", "/v1/statement?from=2026-03-02&to=2026-03-03", keySendA, nil), http.StatusOK, &ranged)
	if len(ranged.Data) != 5 {
		t.Fatalf("by dates: %d rows", len(ranged.Data))
	}

	// CSV: the whole range with the ledger's header and exact decimal amounts.
	r = e.do("GET", "/v1/statement?limit=2", keySendA, nil, "Accept", "text/csv")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(r.header.Get("Content-Disposition"), "statement-acct_a.csv") {
		t.Fatalf("csv answer %d %v", r.status, r.header)
	}
	recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, r.body)
	}
	if len(recs) != 6 || strings.Join(recs[0], ",") != strings.Join(ledger.StatementCSVHeader, ",") {
		t.Fatalf("csv rows %d header %v", len(recs), recs[0])
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	// Plain amounts, the account's timezone (Jakarta), and the message's recipient and
	// template from its hold.
	if hold := recs[2]; hold[col["kind"]] != "hold" || hold[col["amount"]] != "514" || hold[col["available_after"]] != "486" ||
		hold[col["message_id"]] != first["id"] || hold[col["recipient"]] != "6281234567890" || hold[col["template"]] != "promo_dec/id" ||
		hold[col["date"]] != "2026-03-02" || !strings.HasSuffix(hold[col["at"]], "+07:00") {
		t.Fatalf("csv hold row %v", recs[2])
	}

	cases := []struct {
		name, query, code, field string
	}{
		{"from", "from=yesterday", "invalid_field", "from"},
		{"to before from", "from=2026-03-02&to=2026-03-01", "invalid_field", "to"},
		{"limit", "limit=0", "invalid_field", "limit"},
		{"limit too large", "limit=1001", "invalid_field", "limit"},
		{"cursor", "cursor=zz", "invalid_cursor", "cursor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("GET", "/v1/statement?"+tc.query, keySendA, nil), http.StatusBadRequest, tc.code, tc.field)
		})
	}
	// Another account's statement is its own.
	var other statementJSON
	decode(t, e.do("GET", "/v1/statement", keySendB, nil), http.StatusOK, &other)
	if other.Account != "acct_b" || len(other.Data) != 0 {
		t.Fatalf("account B statement %+v", other)
	}
}

func TestAdjustments(t *testing.T) {
	e, _ := newMoneyEnv(t)
	e.fund("first", 1000)
	type adj struct {
		Seq    uint64    `json:"seq"`
		Kind   string    `json:"kind"`
		Amount moneyJSON `json:"amount"`
		Reason string    `json:"reason"`
	}
	body := map[string]any{"amount_micros": -250 * idr, "reason": "refund of a duplicate top-up"}
	var a1, a2 adj
	decode(t, e.do("POST", "/v1/adjustments", opA, body, "Idempotency-Key", "adj-1"), http.StatusCreated, &a1)
	if a1.Kind != "adjustment" || a1.Amount.Display != "IDR -250" || a1.Reason != "refund of a duplicate top-up" || a1.Seq == 0 {
		t.Fatalf("adjustment %+v", a1)
	}
	decode(t, e.do("POST", "/v1/adjustments", opA, body, "Idempotency-Key", "adj-1"), http.StatusCreated, &a2)
	if a2 != a1 {
		t.Fatalf("retry %+v, want %+v", a2, a1)
	}
	if b := e.balance(keySendA); b.Available.AmountMicros != 750*idr {
		t.Fatalf("a retried adjustment applied twice: %+v", b)
	}
	cases := []struct {
		name   string
		key    string
		body   any
		header []string
		status int
		code   string
		field  string
	}{
		{"same key, other body", opA, map[string]any{"amount_micros": -1, "reason": "x"}, []string{"Idempotency-Key", "adj-1"}, 409, "idempotency_conflict", "Idempotency-Key"},
		{"overdraw", opA, map[string]any{"amount_micros": -751 * idr, "reason": "too much"}, nil, 402, "insufficient_balance", "amount_micros"},
		{"zero", opA, map[string]any{"amount_micros": 0, "reason": "x"}, nil, 400, "invalid_field", "amount_micros"},
		{"no reason", opA, map[string]any{"amount_micros": 5}, nil, 400, "invalid_field", "reason"},
		{"blank reason", opA, map[string]any{"amount_micros": 5, "reason": "  "}, nil, 400, "invalid_field", "reason"},
		{"an account admin", keyAdminA, map[string]any{"amount_micros": 5, "reason": "x"}, nil, 403, "forbidden", ""},
		{"send scope", keySendA, map[string]any{"amount_micros": 5, "reason": "x"}, nil, 403, "forbidden", ""},
		{"long key", opA, map[string]any{"amount_micros": 5, "reason": "x"}, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400, "invalid_header", "Idempotency-Key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.do("POST", "/v1/adjustments", tc.key, tc.body, tc.header...), tc.status, tc.code, tc.field)
		})
	}
	var st statementJSON
	decode(t, e.do("GET", "/v1/statement", keySendA, nil), http.StatusOK, &st)
	if n := len(st.Data); n != 2 || st.Data[1].Kind != "adjustment" || st.Data[1].Reason != "refund of a duplicate top-up" || st.Data[1].AvailableAfter.AmountMicros != 750*idr {
		t.Fatalf("statement %+v", st)
	}
}

func TestRatesAndVerify(t *testing.T) {
	e, _ := newMoneyEnv(t)
	e.fund("first", 10_000)
	e.send(map[string]any{"to": "+6281234567890", "template": map[string]any{"name": "promo_dec", "language": "id", "body": []string{"Budi"}}})

	var rates struct {
		Currency  string `json:"currency"`
		Effective string `json:"effective"`
		Rules     string `json:"rules"`
		Scope     string `json:"volume_scope"`
		Prices    []struct {
			Market   string `json:"market"`
			Category string `json:"category"`
			Bands    []struct {
				From  int64     `json:"from"`
				UpTo  *int64    `json:"up_to"`
				Price moneyJSON `json:"price"`
			} `json:"bands"`
		} `json:"prices"`
		Session map[string]moneyJSON `json:"session"`
		Volume  map[string]struct {
			Month    string `json:"month"`
			Captured int64  `json:"captured"`
			Held     int64  `json:"held"`
		} `json:"volume"`
	}
	decode(t, e.do("GET", "/v1/rates", keySendA, nil), http.StatusOK, &rates)
	if rates.Currency != "IDR" || rates.Effective != "2025-01-01T00:00:00Z" || rates.Rules != ledger.Rules2025 || len(rates.Prices) != 2 ||
		rates.Scope != ledger.VolumeCategory {
		t.Fatalf("rates %+v", rates)
	}
	mk := rates.Prices[0]
	if mk.Market != "*" || mk.Category != "marketing" || len(mk.Bands) != 8 {
		t.Fatalf("marketing %+v", mk)
	}
	if b := mk.Bands[1]; b.From != 250_001 || b.UpTo == nil || *b.UpTo != 1_000_000 || b.Price.Display != "IDR 510" {
		t.Fatalf("second band %+v", b)
	}
	if b := mk.Bands[7]; b.From != 25_000_001 || b.UpTo != nil || b.Price.Display != "IDR 456" {
		t.Fatalf("last band %+v", b)
	}
	if rates.Session["text"].Display != "IDR 75" {
		t.Fatalf("session %+v", rates.Session)
	}
	if v := rates.Volume["marketing"]; v.Month != "2026-03" || v.Held != 1 || v.Captured != 0 {
		t.Fatalf("volume %+v", rates.Volume)
	}

	var rep struct {
		OK           bool   `json:"ok"`
		Entries      uint64 `json:"entries"`
		Head         string `json:"head"`
		OpenHolds    int    `json:"open_holds"`
		ProblemCount int    `json:"problem_count"`
	}
	decode(t, e.do("GET", "/v1/admin/ledger/verify", opA, nil), http.StatusOK, &rep)
	if !rep.OK || rep.Entries != 2 || rep.OpenHolds != 1 || len(rep.Head) != 64 || rep.ProblemCount != 0 {
		t.Fatalf("verify %+v", rep)
	}
	wantError(t, e.do("GET", "/v1/admin/ledger/verify", keySendA, nil), http.StatusForbidden, "forbidden", "")
}

func TestMoneyEndpointsWithoutLedger(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, p := range []string{"/v1/balance", "/v1/statement", "/v1/rates", "/v1/topups"} {
		wantError(t, e.do("GET", p, keyAdminA, nil), http.StatusNotFound, "not_found", "")
	}
	wantError(t, e.do("GET", "/v1/admin/ledger/verify", keyOperator, nil), http.StatusNotFound, "not_found", "")
	wantError(t, e.do("POST", "/v1/topups", keyAdminA, map[string]any{"amount_micros": 5, "reference": "r"}), http.StatusNotFound, "not_found", "")
}

// TestConcurrentSendsNeverOverdraw races sends against a balance that pays for only
// some of them: exactly that many are accepted and the rest answer 402.
func TestConcurrentSendsNeverOverdraw(t *testing.T) {
	e, _ := newMoneyEnv(t)
	e.fund("first", 514*7+100)
	const n = 20
	codes := make(chan int, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			body := map[string]any{"to": fmt.Sprintf("+62812345%05d", i), "template": map[string]any{"name": "promo_dec", "language": "id", "body": []string{"Budi"}}}
			codes <- e.do("POST", "/v1/messages", keySendA, body).status
		}(i)
	}
	got := map[int]int{}
	for i := 0; i < n; i++ {
		got[<-codes]++
	}
	if got[http.StatusAccepted] != 7 || got[http.StatusPaymentRequired] != n-7 {
		t.Fatalf("answers %v, want 7 accepted and %d refused", got, n-7)
	}
	if b := e.balance(keySendA); b.Available.AmountMicros != 100*idr || b.Held.AmountMicros != 514*7*idr {
		t.Fatalf("balance %+v", b)
	}
}
