package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kirim/clock"
	"kirim/config"
	"kirim/engine"
	"kirim/ledger"
	"kirim/provider"
	"kirim/storage"
	"kirim/template"
)

const (
	ledgerE2EKey = "ledger_e2e_key_0123456789"
	idrMicros    = 1_000_000
)

// ledgerE2EConfig is config.example.toml's shape on free ports and a temporary data
// directory, with a sandbox that fails exactly 5 % of the messages it accepts.
func ledgerE2EConfig(dataDir string) string {
	return fmt.Sprintf(`
[server]
listen = "127.0.0.1:0"
data_dir = %q
shutdown_timeout = "10s"
[provider]
kind = "sandbox"
token = "e2e-token"
rules = "2025"
portfolio_limit = -1
[sandbox]
listen = "127.0.0.1:0"
read_rate = 0.5
fail_rate = 0.05
pacing_rate = 0.0
review_delay = "10ms"
status_delay = "10ms"
[webhook]
app_secret = "e2e-secret"
verify_token = "e2e-verify"
[[numbers]]
alias = "main"
phone = "+15550000001"
phone_number_id = "100000000000001"
waba_id = "200000000000001"
throughput_mps = 1000
[[accounts]]
id = "acme"
currency = "IDR"
timezone = "Asia/Jakarta"
low_balance = 100_000
  [[accounts.keys]]
  key = %q
  scopes = ["admin"]
[[rate_cards]]
effective = 2025-01-01
currency = "IDR"
  [[rate_cards.prices]]
  market = "*"
  category = "marketing"
  up_to = [250_000, 1_000_000, 3_000_000, 6_000_000, 10_000_000, 15_000_000, 25_000_000]
  amounts = [514, 510, 504, 494, 485, 393, 456, 456]
  [rate_cards.session]
  text = 75
`, dataDir, ledgerE2EKey)
}

// e2eAPI calls a running Kirim's API with one key.
type e2eAPI struct {
	t    *testing.T
	base string
	key  string
	http *http.Client
}

func (a *e2eAPI) call(method, path string, body any, header ...string) (int, []byte) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// must calls the API and decodes the answer, failing unless the status is want.
func (a *e2eAPI) must(want int, method, path string, body, out any, header ...string) {
	a.t.Helper()
	status, b := a.call(method, path, body, header...)
	if status != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

type e2eMoney struct {
	AmountMicros int64  `json:"amount_micros"`
	Display      string `json:"display"`
}

type e2eBalance struct {
	Available e2eMoney `json:"available"`
	Held      e2eMoney `json:"held"`
	Balance   e2eMoney `json:"balance"`
}

type e2eRow struct {
	Kind      string `json:"kind"`
	MessageID string `json:"message_id"`
	Reason    string `json:"reason"`
	Amount    *struct {
		AmountMicros int64 `json:"amount_micros"`
	} `json:"amount"`
}

// statement reads the whole statement through the API's pages.
func (a *e2eAPI) statement() []e2eRow {
	a.t.Helper()
	var rows []e2eRow
	cursor := ""
	for {
		var page struct {
			Data       []e2eRow `json:"data"`
			NextCursor string   `json:"next_cursor"`
		}
		a.must(http.StatusOK, "GET", "/v1/statement?limit=1000&cursor="+cursor, nil, &page)
		rows = append(rows, page.Data...)
		if page.NextCursor == "" {
			return rows
		}
		cursor = page.NextCursor
	}
}

// TestLedgerEndToEnd is the acceptance test of the balance ledger, in process against
// the embedded sandbox: top up IDR 1,000,000, send 1,000 marketing templates at IDR 514
// with exactly 5 % failed by the sandbox; the statement shows 950 captures and 50
// releases, the balance is exactly IDR 511,700, and a send that would overdraw answers
// 402.
func TestLedgerEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg, err := config.Parse("ledger-e2e.toml", []byte(ledgerE2EConfig(dataDir)), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg)
	m.Logger = slog.New(slog.DiscardHandler)
	ctx := context.Background()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = m.Close()
		}
	})
	a := &e2eAPI{t: t, base: "http://" + m.APIAddr, key: ledgerE2EKey,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}

	// One approved MARKETING template, created through the provider as an operator would.
	const tmplName, tmplLang = "katalog_bulan_ini", "id"
	client := m.Clients["main"]
	if _, err := client.CreateTemplate(ctx, &provider.TemplateDefinition{Name: tmplName, Language: tmplLang, Category: "MARKETING",
		Components: []provider.TemplateComponentDef{{Type: "BODY", Text: "Katalog bulan ini sudah tersedia di aplikasi kami."}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the template's approval", 30*time.Second, func() bool {
		defs, err := client.ListTemplates(ctx)
		if err != nil {
			return false
		}
		for _, d := range defs {
			if d.Name == tmplName && d.Language == tmplLang {
				if d.Status == "REJECTED" {
					t.Fatalf("template rejected: %s", d.RejectedReason)
				}
				return d.Status == "APPROVED"
			}
		}
		return false
	})
	m.syncTemplates(ctx)
	if tp, ok := m.Catalog.Lookup(cfg.Numbers[0].WABAID, tmplName, tmplLang); !ok || tp.Status != template.Status("APPROVED") {
		t.Fatalf("catalog has %+v %v", tp, ok)
	}

	// Top up IDR 1,000,000: pending until confirmed.
	var tu struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	a.must(http.StatusCreated, "POST", "/v1/topups", map[string]any{"amount_micros": 1_000_000 * idrMicros, "reference": "BCA-E2E-0001", "note": "acceptance"}, &tu)
	a.must(http.StatusOK, "POST", "/v1/topups/"+tu.ID+"/confirm", nil, &tu)
	if tu.Status != "confirmed" {
		t.Fatalf("top-up %+v", tu)
	}

	// 1,000 marketing templates to distinct recipients, 32 clients at once.
	const sends = 1000
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted = map[string]bool{}
		refused  []string
	)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > sends {
					return
				}
				body := map[string]any{"to": fmt.Sprintf("+62812%07d", i), "template": map[string]any{"name": tmplName, "language": tmplLang}}
				status, b := a.call("POST", "/v1/messages", body)
				var out struct {
					ID    string   `json:"id"`
					Price e2eMoney `json:"price"`
				}
				_ = json.Unmarshal(b, &out)
				mu.Lock()
				if status == http.StatusAccepted && out.Price.AmountMicros == 514*idrMicros {
					accepted[out.ID] = true
				} else {
					refused = append(refused, fmt.Sprintf("%d %s", status, b))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(accepted) != sends {
		t.Fatalf("%d of %d accepted at IDR 514; first refusals: %v", len(accepted), sends, refused[:min(3, len(refused))])
	}

	// Every hold settles from the sandbox's signed status webhooks: captures on delivery,
	// releases on failure. Nothing is held once all 1,000 are settled.
	var bal e2eBalance
	waitFor(t, "every hold to settle", 60*time.Second, func() bool {
		status, b := a.call("GET", "/v1/balance", nil)
		return status == http.StatusOK && json.Unmarshal(b, &bal) == nil && bal.Held.AmountMicros == 0
	})

	rows := a.statement()
	kinds := map[string]int{}
	charged := map[string]bool{}
	for _, r := range rows {
		kinds[r.Kind]++
		if r.Kind == "capture" || r.Kind == "release" {
			if !accepted[r.MessageID] || charged[r.MessageID] {
				t.Fatalf("%s of message %q: not one of ours, or settled twice", r.Kind, r.MessageID)
			}
			charged[r.MessageID] = true
		}
		if r.Kind == "capture" && r.Amount.AmountMicros != 514*idrMicros {
			t.Fatalf("capture of %d micros", r.Amount.AmountMicros)
		}
		if r.Kind == "release" && r.Reason != "failed" {
			t.Fatalf("release for %q", r.Reason)
		}
	}
	if kinds["topup"] != 1 || kinds["hold"] != sends || kinds["capture"] != 950 || kinds["release"] != 50 || len(rows) != 2001 {
		t.Fatalf("statement kinds %v (%d rows), want 1 topup, 1000 holds, 950 captures, 50 releases", kinds, len(rows))
	}
	a.must(http.StatusOK, "GET", "/v1/balance", nil, &bal)
	if bal.Available.AmountMicros != 511_700*idrMicros || bal.Balance.Display != "IDR 511,700" || bal.Held.AmountMicros != 0 {
		t.Fatalf("balance %+v, want exactly IDR 511,700", bal)
	}
	settled := bal.Balance.Display
	// The engine agrees: 50 messages failed (undeliverable).
	var failed struct {
		Data []struct {
			Error *struct {
				Code int `json:"code"`
			} `json:"error"`
		} `json:"data"`
	}
	a.must(http.StatusOK, "GET", "/v1/messages?status=failed&limit=500", nil, &failed)
	if len(failed.Data) != 50 || failed.Data[0].Error == nil || failed.Data[0].Error.Code != provider.CodeUndeliverable {
		t.Fatalf("%d failed messages", len(failed.Data))
	}

	// Leave IDR 200 with an admin adjustment; the next IDR 514 send would overdraw: 402.
	a.must(http.StatusCreated, "POST", "/v1/adjustments", map[string]any{"amount_micros": -511_500 * idrMicros, "reason": "acceptance: leave less than one message"}, nil, "Idempotency-Key", "e2e-adjust-1")
	status, b := a.call("POST", "/v1/messages", map[string]any{"to": "+6281299999999", "template": map[string]any{"name": tmplName, "language": tmplLang}})
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(b, &env)
	if status != http.StatusPaymentRequired || env.Error.Code != "insufficient_balance" {
		t.Fatalf("overdrawing send: %d %s", status, b)
	}
	a.must(http.StatusOK, "GET", "/v1/balance", nil, &bal)
	if bal.Available.AmountMicros != 200*idrMicros || bal.Held.AmountMicros != 0 {
		t.Fatalf("after the refused send %+v", bal)
	}

	var rep struct {
		OK      bool   `json:"ok"`
		Entries uint64 `json:"entries"`
	}
	a.must(http.StatusOK, "GET", "/v1/admin/ledger/verify", nil, &rep)
	if !rep.OK || rep.Entries != 2002 {
		t.Fatalf("verify %+v", rep)
	}
	t.Logf("statement after %d sends: %v; balance %s; verify after the adjustment: %d entries ok", sends, kinds, settled, rep.Entries)

	// The offline check agrees once Kirim is stopped.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"ledger", "verify", "--data", dataDir}, &out, &errOut); err != nil {
		t.Fatalf("kirim ledger verify: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "entries checked  2002") || !strings.HasSuffix(out.String(), "ok\n") {
		t.Fatalf("kirim ledger verify printed:\n%s", out.String())
	}
}

// TestLedgerJobAndOpeningBalance drives setupLedger on a fake clock: the sandbox opening
// balance is credited once however often it runs, the minute job starts each month's
// credits on time in the account's timezone and releases expired holds, and nothing
// runs after stopLedger.
func TestLedgerJobAndOpeningBalance(t *testing.T) {
	src := strings.Replace(ledgerE2EConfig(t.TempDir()), `low_balance = 100_000`, `opening_balance = 1_000
  [accounts.package]
  credits = {marketing = 2}`, 1) + `
  [[rate_cards.prices]]
  category = "utility"
  amounts = [300]
`
	cfg, err := config.Parse("job.toml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 8 << 20, NumMemtables: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// 23:58 on 31 March in Jakarta (UTC+7).
	fake := clock.NewFake(time.Date(2026, 3, 31, 16, 58, 0, 0, time.UTC))
	m := NewMain(cfg)
	m.Clock, m.DB, m.Logger = fake, db, slog.New(slog.DiscardHandler)
	biller, err := m.setupLedger()
	if err != nil || biller == nil {
		t.Fatalf("setupLedger: %v %v", biller, err)
	}
	t.Cleanup(m.stopLedger)
	l := m.Ledger
	balance := func() ledger.Balance {
		t.Helper()
		var b ledger.Balance
		if err := db.View(func(r storage.Reader) error {
			var err error
			b, err = l.Balance(r, "acme")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return b
	}
	kinds := func() map[string]int {
		t.Helper()
		out := map[string]int{}
		if err := db.View(func(r storage.Reader) error {
			p, err := l.Statement(r, "acme", time.Time{}, time.Time{}, "", ledger.MaxStatementLimit)
			for _, row := range p.Rows {
				out[row.Kind+"/"+row.Reason]++
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	hold := func(id, category string) *engine.Message {
		t.Helper()
		msg := &engine.Message{ID: id, AccountID: "acme", To: "+6281234567890", Type: "template", Category: category, CreatedAt: fake.Now()}
		if err := db.Commit(context.Background(), func(tx storage.Txn) error { return biller.Hold(tx, msg) }); err != nil {
			t.Fatal(err)
		}
		return msg
	}

	if b := balance(); b.Available != 1_000*idrMicros {
		t.Fatalf("opening balance %+v", b)
	}
	// A restart runs it again: still one top-up.
	if err := m.openingBalances(); err != nil {
		t.Fatal(err)
	}
	if b := balance(); b.Available != 1_000*idrMicros || kinds()["topup/"] != 1 {
		t.Fatalf("after a second start %+v %v", b, kinds())
	}
	if fake.Pending() != 1 {
		t.Fatalf("%d timers pending, want the job's", fake.Pending())
	}

	fake.Advance(time.Minute) // 23:59: the job grants March's credits
	if b := balance(); b.Credits["marketing"] != 2 || kinds()["credit_grant/month 2026-03"] != 1 {
		t.Fatalf("march credits %+v %v", b.Credits, kinds())
	}
	credited := hold("msg_credit", "marketing") // backed by a credit, no money
	if b := balance(); credited.Price != 0 || b.Credits["marketing"] != 1 || b.HeldCredits["marketing"] != 1 {
		t.Fatalf("credit hold: price %d, balance %+v", credited.Price, b)
	}

	fake.Advance(time.Minute) // midnight in Jakarta: March's last credit expires, April's are granted
	got := kinds()
	if got["credit_expiry/month 2026-03 ended"] != 1 || got["credit_grant/month 2026-04"] != 1 || balance().Credits["marketing"] != 2 {
		t.Fatalf("april rollover %v %+v", got, balance().Credits)
	}

	paid := hold("msg_paid", "utility")
	if paid.Price != 300*idrMicros || balance().Available != 700*idrMicros {
		t.Fatalf("utility hold %d, balance %+v", paid.Price, balance())
	}
	m.stopLedger()
	if fake.Pending() != 0 {
		t.Fatalf("%d timers pending after stop", fake.Pending())
	}
	// A month later both holds have expired (a hold lives 31 days): one run of the job
	// releases them; the credit goes back to world, its month being over.
	fake.Advance(32 * 24 * time.Hour)
	(&ledgerJob{m: m, clock: fake}).run(context.Background())
	if got := kinds(); got["release/expired"] != 2 {
		t.Fatalf("expiry %v", got)
	}
	if b := balance(); b.Available != 1_000*idrMicros || b.Held != 0 || b.HeldCredits["marketing"] != 0 {
		t.Fatalf("after expiry %+v", b)
	}
	var rep ledger.VerifyReport
	if err := db.View(func(r storage.Reader) error { rep, err = l.Verify(r); return err }); err != nil || !rep.OK() {
		t.Fatalf("verify %v %+v", err, rep)
	}
}
