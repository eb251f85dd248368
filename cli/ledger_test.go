package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"kirim/app/apptest"
	"kirim/config"
	"kirim/internal/kirimtest"
	"kirim/provider"
	"kirim/template"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

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
	cfg, err := config.Parse("ledger-e2e.toml", []byte(kirimtest.LedgerConfig(dataDir)), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, a := apptest.Start(t, cfg, kirimtest.LedgerKey)
	ctx := context.Background()

	// One approved MARKETING template, created through the provider as an operator would.
	const tmplName, tmplLang = "katalog_bulan_ini", "id"
	client := m.Clients["main"]
	if _, err := client.CreateTemplate(ctx, &provider.TemplateDefinition{Name: tmplName, Language: tmplLang, Category: "MARKETING",
		Components: []provider.TemplateComponentDef{{Type: "BODY", Text: "Katalog bulan ini sudah tersedia di aplikasi kami."}}}); err != nil {
		t.Fatal(err)
	}
	kirimtest.WaitFor(t, "the template's approval", 30*time.Second, func() bool {
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
	a.Must(http.StatusOK, "POST", "/v1/templates/sync", map[string]any{}, nil)
	if tp, ok := m.Catalog.Lookup(cfg.Numbers[0].WABAID, tmplName, tmplLang); !ok || tp.Status != template.Status("APPROVED") {
		t.Fatalf("catalog has %+v %v", tp, ok)
	}

	// Top up IDR 1,000,000: pending until confirmed.
	var tu struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	a.Must(http.StatusCreated, "POST", "/v1/topups", map[string]any{"amount_micros": 1_000_000 * kirimtest.IDRMicros, "reference": "BCA-E2E-0001", "note": "acceptance"}, &tu)
	// Only the operator moves money in; the account's own admin key cannot.
	if status, b := a.Call("POST", "/v1/topups/"+tu.ID+"/confirm", nil); status != http.StatusForbidden {
		t.Fatalf("the account admin confirmed its own top-up: %d %s", status, b)
	}
	op := a.As(kirimtest.OperatorKey, "acme")
	op.Must(http.StatusOK, "POST", "/v1/topups/"+tu.ID+"/confirm", nil, &tu)
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
				status, b := a.Call("POST", "/v1/messages", body)
				var out struct {
					ID    string          `json:"id"`
					Price kirimtest.Money `json:"price"`
				}
				_ = json.Unmarshal(b, &out)
				mu.Lock()
				if status == http.StatusAccepted && out.Price.AmountMicros == 514*kirimtest.IDRMicros {
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
	var bal kirimtest.Balance
	kirimtest.WaitFor(t, "every hold to settle", 60*time.Second, func() bool {
		status, b := a.Call("GET", "/v1/balance", nil)
		return status == http.StatusOK && json.Unmarshal(b, &bal) == nil && bal.Held.AmountMicros == 0
	})

	rows := a.Statement()
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
		if r.Kind == "capture" && r.Amount.AmountMicros != 514*kirimtest.IDRMicros {
			t.Fatalf("capture of %d micros", r.Amount.AmountMicros)
		}
		if r.Kind == "release" && r.Reason != "failed" {
			t.Fatalf("release for %q", r.Reason)
		}
	}
	if kinds["topup"] != 1 || kinds["hold"] != sends || kinds["capture"] != 950 || kinds["release"] != 50 || len(rows) != 2001 {
		t.Fatalf("statement kinds %v (%d rows), want 1 topup, 1000 holds, 950 captures, 50 releases", kinds, len(rows))
	}
	a.Must(http.StatusOK, "GET", "/v1/balance", nil, &bal)
	if bal.Available.AmountMicros != 511_700*kirimtest.IDRMicros || bal.Balance.Display != "IDR 511,700" || bal.Held.AmountMicros != 0 {
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
	a.Must(http.StatusOK, "GET", "/v1/messages?status=failed&limit=500", nil, &failed)
	if len(failed.Data) != 50 || failed.Data[0].Error == nil || failed.Data[0].Error.Code != provider.CodeUndeliverable {
		t.Fatalf("%d failed messages", len(failed.Data))
	}

	// Leave IDR 200 with an admin adjustment; the next IDR 514 send would overdraw: 402.
	op.Must(http.StatusCreated, "POST", "/v1/adjustments", map[string]any{"amount_micros": -511_500 * kirimtest.IDRMicros, "reason": "acceptance: leave less than one message"}, nil, "Idempotency-Key", "e2e-adjust-1")
	status, b := a.Call("POST", "/v1/messages", map[string]any{"to": "+6281299999999", "template": map[string]any{"name": tmplName, "language": tmplLang}})
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(b, &env)
	if status != http.StatusPaymentRequired || env.Error.Code != "insufficient_balance" {
		t.Fatalf("overdrawing send: %d %s", status, b)
	}
	a.Must(http.StatusOK, "GET", "/v1/balance", nil, &bal)
	if bal.Available.AmountMicros != 200*kirimtest.IDRMicros || bal.Held.AmountMicros != 0 {
		t.Fatalf("after the refused send %+v", bal)
	}

	var rep struct {
		OK      bool   `json:"ok"`
		Entries uint64 `json:"entries"`
	}
	a.As(kirimtest.OperatorKey, "").Must(http.StatusOK, "GET", "/v1/admin/ledger/verify", nil, &rep)
	if !rep.OK || rep.Entries != 2002 {
		t.Fatalf("verify %+v", rep)
	}
	t.Logf("statement after %d sends: %v; balance %s; verify after the adjustment: %d entries ok", sends, kinds, settled, rep.Entries)

	// The offline check agrees once Kirim is stopped.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := Run(ctx, []string{"ledger", "verify", "--data", dataDir}, &out, &errOut); err != nil {
		t.Fatalf("kirim ledger verify: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "entries checked  2002") || !strings.HasSuffix(out.String(), "ok\n") {
		t.Fatalf("kirim ledger verify printed:\n%s", out.String())
	}
}
