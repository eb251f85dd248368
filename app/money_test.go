package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kirim/app"
	"kirim/app/apptest"
	"kirim/config"
	"kirim/internal/kirimtest"
	"kirim/ledger"
	"kirim/provider"
	"kirim/provider/sandbox"
	"kirim/storage"
)

const idr = kirimtest.IDRMicros

// moneyKirim runs kirimtest.LedgerConfig's Kirim with a sandbox that fails and reads
// nothing, an opening balance of IDR 100,000 and card appended (in force after the
// config's own 2025 card); env adds KIRIM_* overrides.
func moneyKirim(t *testing.T, card string, env ...string) (*app.Main, *kirimtest.API) {
	t.Helper()
	src := strings.NewReplacer("fail_rate = 0.05", "fail_rate = 0.0", "read_rate = 0.5", "read_rate = 0.0",
		"low_balance = 100_000", "opening_balance = 100_000").Replace(kirimtest.LedgerConfig(t.TempDir())) + card
	cfg, err := config.Parse("money.toml", []byte(src), env)
	if err != nil {
		t.Fatal(err)
	}
	m, a := apptest.Start(t, cfg, kirimtest.LedgerKey)
	kirimtest.WaitFor(t, "hello_world in the catalog", 30*time.Second, func() bool {
		status, _ := a.Call("GET", "/v1/templates/hello_world?language=en_US", nil)
		return status == http.StatusOK
	})
	return m, a
}

// send posts a message and returns its id and held price.
func send(a *kirimtest.API, body map[string]any) (string, int64) {
	a.T.Helper()
	var sent struct {
		ID    string          `json:"id"`
		Price kirimtest.Money `json:"price"`
	}
	a.Must(http.StatusAccepted, "POST", "/v1/messages", body, &sent)
	return sent.ID, sent.Price.AmountMicros
}

// settled waits until the hold of message id is resolved and returns it.
func settled(t *testing.T, m *app.Main, id string) ledger.Hold {
	t.Helper()
	var h ledger.Hold
	kirimtest.WaitFor(t, "the hold of "+id+" to settle", 20*time.Second, func() bool {
		err := m.DB.View(func(r storage.Reader) error {
			var err error
			h, err = m.Ledger.GetHold(r, id)
			return err
		})
		if err != nil {
			t.Fatalf("hold %s: %v", id, err)
		}
		return h.Status != ledger.HoldHeld
	})
	return h
}

// charged is what GET /v1/messages/{id} says the message was charged.
func charged(a *kirimtest.API, id string) int64 {
	a.T.Helper()
	var v struct {
		Charged kirimtest.Money `json:"charged"`
	}
	a.Must(http.StatusOK, "GET", "/v1/messages/"+id, nil, &v)
	return v.Charged.AmountMicros
}

// checkBooks: the ledger verifies, GET /v1/balance is the statement's last running
// balance, and the statement's captures add up to spent.
func checkBooks(t *testing.T, a *kirimtest.API, spent int64) {
	t.Helper()
	var v struct {
		OK        bool `json:"ok"`
		OpenHolds int  `json:"open_holds"`
	}
	a.As(kirimtest.OperatorKey, "").Must(http.StatusOK, "GET", "/v1/admin/ledger/verify", nil, &v)
	if !v.OK || v.OpenHolds != 0 {
		t.Fatalf("verify %+v", v)
	}
	var b kirimtest.Balance
	a.Must(http.StatusOK, "GET", "/v1/balance", nil, &b)
	var page struct {
		Data []struct {
			Kind           string          `json:"kind"`
			Amount         kirimtest.Money `json:"amount"`
			AvailableAfter kirimtest.Money `json:"available_after"`
			BalanceAfter   kirimtest.Money `json:"balance_after"`
		} `json:"data"`
	}
	a.Must(http.StatusOK, "GET", "/v1/statement?limit=1000", nil, &page)
	last := page.Data[len(page.Data)-1]
	var captured int64
	for _, r := range page.Data {
		if r.Kind == ledger.KindCapture {
			captured += r.Amount.AmountMicros
		}
	}
	if last.BalanceAfter.AmountMicros != b.Balance.AmountMicros || last.AvailableAfter.AmountMicros != b.Available.AmountMicros ||
		captured != spent || b.Balance.AmountMicros != 100_000*idr-spent || b.Held.AmountMicros != 0 {
		t.Fatalf("balance %+v, statement ends %+v, captures %d; want %d spent", b, last, captured, spent)
	}
}

// openWindow has phone write in, so session messages may be sent to it.
func openWindow(t *testing.T, m *app.Main, a *kirimtest.API, phone string) {
	t.Helper()
	if _, err := m.Sandbox.Inbound(sandbox.InboundRequest{From: phone[1:], Text: "halo"}); err != nil {
		t.Fatal(err)
	}
	kirimtest.WaitFor(t, "the window with "+phone, 10*time.Second, func() bool { return windowOpen(a, phone) })
}

// TestSMECardChargesItsPrices: under a per_message card a text costs 75 and an image
// 150, although the sandbox, like Meta, reports both as free customer service.
func TestSMECardChargesItsPrices(t *testing.T) {
	m, a := moneyKirim(t, `
[[rate_cards]]
effective = 2025-06-01
currency = "IDR"
rules = "per_message"
  [[rate_cards.prices]]
  category = "utility"
  amounts = [514]
  [rate_cards.session]
  text = 75
  image = 150
`)
	const phone = "+6281299990101"
	openWindow(t, m, a, phone)
	text, p1 := send(a, map[string]any{"to": phone, "text": map[string]any{"body": "Pesanan Anda sudah dikirim"}})
	image, p2 := send(a, map[string]any{"to": phone, "image": map[string]any{"link": "https://example.com/resi.jpg"}})
	if p1 != 75*idr || p2 != 150*idr {
		t.Fatalf("held %d and %d", p1, p2)
	}
	checkCharged(t, m, a, map[string]int64{text: 75 * idr, image: 150 * idr})
	checkBooks(t, a, 225*idr)
}

// TestLegacyCardChargesAConversationOnce: under conversation pricing the sandbox
// reports every template billable; the second message to the same recipient within
// 24 h is inside the conversation the first opened and is charged nothing.
func TestLegacyCardChargesAConversationOnce(t *testing.T) {
	m, a := moneyKirim(t, `
[[rate_cards]]
effective = 2025-06-01
currency = "IDR"
rules = "legacy"
  [[rate_cards.prices]]
  category = "utility"
  amounts = [460]
`)
	first, p1 := send(a, helloTo("+6281299990201"))
	second, p2 := send(a, helloTo("+6281299990201"))
	other, p3 := send(a, helloTo("+6281299990202"))
	if p1 != 460*idr || p2 != 0 || p3 != 460*idr {
		t.Fatalf("held %d, %d, %d", p1, p2, p3)
	}
	checkCharged(t, m, a, map[string]int64{first: 460 * idr, second: 0, other: 460 * idr})
	checkBooks(t, a, 920*idr)
}

// TestMUVCardChargesAUserOncePerMonth: Qontak's unique users: the first message to a
// recipient this month costs 600, the next ones to it nothing. The card counts one
// monthly total, which GET /v1/rates reports: two charged users.
func TestMUVCardChargesAUserOncePerMonth(t *testing.T) {
	m, a := moneyKirim(t, `
[[rate_cards]]
effective = 2025-06-01
currency = "IDR"
rules = "muv"
volume_scope = "total"
  [[rate_cards.prices]]
  category = "utility"
  amounts = [600]
  [[rate_cards.prices]]
  category = "service"
  amounts = [600]
`)
	const budi, sari = "+6281299990301", "+6281299990302"
	openWindow(t, m, a, budi)
	want := map[string]int64{}
	id, _ := send(a, helloTo(budi))
	want[id] = 600 * idr
	id, _ = send(a, helloTo(budi))
	want[id] = 0
	id, _ = send(a, map[string]any{"to": budi, "text": map[string]any{"body": "Terima kasih"}})
	want[id] = 0
	id, _ = send(a, helloTo(sari))
	want[id] = 600 * idr
	for id, w := range want {
		if h := settled(t, m, id); h.Status != ledger.HoldCaptured || h.Captured != w {
			t.Fatalf("%s: %+v, want %d captured", id, h, w)
		}
	}
	var rates struct {
		Rules  string `json:"rules"`
		Scope  string `json:"volume_scope"`
		Volume map[string]struct {
			Captured int64 `json:"captured"`
			Held     int64 `json:"held"`
		} `json:"volume"`
	}
	a.Must(http.StatusOK, "GET", "/v1/rates", nil, &rates)
	if v, ok := rates.Volume["total"]; rates.Rules != "muv" || rates.Scope != "total" || !ok || v.Captured != 2 || v.Held != 0 || len(rates.Volume) != 1 {
		t.Fatalf("rates %+v", rates)
	}
	checkBooks(t, a, 1_200*idr)
}

// TestCBPWebhookCaptures: a conversation-based pricing status (billable, category, no
// pricing type) posted as Meta posts it captures the message's hold. The sandbox's own
// statuses are held back an hour so only the fixture settles the message.
func TestCBPWebhookCaptures(t *testing.T) {
	m, a := moneyKirim(t, `
[[rate_cards]]
effective = 2025-06-01
currency = "IDR"
  [[rate_cards.prices]]
  category = "utility"
  amounts = [514]
`, "KIRIM_SANDBOX_STATUS_DELAY=1h")
	id, held := send(a, helloTo("+6281299990401"))
	var msg struct {
		WAMID string `json:"wamid"`
	}
	kirimtest.WaitFor(t, "the send's wamid", 10*time.Second, func() bool {
		a.Must(http.StatusOK, "GET", "/v1/messages/"+id, nil, &msg)
		return msg.WAMID != ""
	})
	tmpl, err := os.ReadFile(filepath.Join("testdata", "cbp_sent_delivered.json"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	body := []byte(strings.NewReplacer("{{WAMID}}", msg.WAMID, "{{MESSAGE_ID}}", id, "{{RECIPIENT}}", "6281299990401",
		"{{TIME}}", strconv.FormatInt(now, 10), "{{EXPIRES}}", strconv.FormatInt(now+86400, 10)).Replace(string(tmpl)))
	req, _ := http.NewRequest(http.MethodPost, "http://"+m.APIAddr+"/webhook", bytes.NewReader(bytes.TrimSpace(body)))
	req.Header.Set(provider.SignatureHeader, provider.Sign("e2e-secret", bytes.TrimSpace(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	if h := settled(t, m, id); h.Status != ledger.HoldCaptured || h.Captured != 514*idr || held != 514*idr {
		t.Fatalf("hold %+v, held %d", h, held)
	}
	if got := charged(a, id); got != 514*idr {
		t.Fatalf("the message says charged %d", got)
	}
	checkBooks(t, a, 514*idr)
}

// TestQuotedCampaignSpendsItsQuote: a run of four is quoted at 1,600 (positions 2..5
// of the month at 400; the band ends at 5). A direct send between the quote and the
// launch takes position 1; direct sends made while the run feeds (one message in
// flight at a time) are priced after the positions the launch claimed, at 600, and
// the run spends exactly what it was quoted.
func TestQuotedCampaignSpendsItsQuote(t *testing.T) {
	m, a := moneyKirim(t, `
[[rate_cards]]
effective = 2025-06-01
currency = "IDR"
  [[rate_cards.prices]]
  category = "utility"
  up_to = [5]
  amounts = [400, 600]
`, "KIRIM_NUMBERS_MAIN_THROUGHPUT_MPS=1", "KIRIM_CAMPAIGNS_BATCH=1")
	list, _ := upload(t, m, a, "Run", "phone\n+6281299990501\n+6281299990502\n+6281299990503\n+6281299990504\n")
	var c struct {
		ID       string `json:"id"`
		State    string `json:"state"`
		Progress struct {
			Quoted kirimtest.Money `json:"quoted"`
			Spend  kirimtest.Money `json:"spend"`
		} `json:"progress"`
	}
	a.Must(http.StatusCreated, "POST", "/v1/campaigns", map[string]any{"name": "Run", "list_ids": []string{list},
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &c)
	if _, p := send(a, helloTo("+6281299990599")); p != 400*idr {
		t.Fatalf("first direct send %d", p)
	}
	var q struct {
		Cost kirimtest.Money `json:"cost"`
	}
	a.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/quote", nil, &q)
	if q.Cost.AmountMicros != 1_600*idr {
		t.Fatalf("quote %+v", q)
	}
	a.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/launch", nil, &c)
	for i := range 3 {
		if _, p := send(a, helloTo(fmt.Sprintf("+628129999058%d", i))); p != 600*idr {
			t.Fatalf("direct send %d during the run priced %d: the run's positions were not kept", i, p)
		}
	}
	kirimtest.WaitFor(t, "the run to complete", 60*time.Second, func() bool {
		a.Must(http.StatusOK, "GET", "/v1/campaigns/"+c.ID, nil, &c)
		return c.State == "completed"
	})
	kirimtest.WaitFor(t, "every hold to settle", 30*time.Second, func() bool {
		var v struct {
			OpenHolds int `json:"open_holds"`
		}
		a.As(kirimtest.OperatorKey, "").Must(http.StatusOK, "GET", "/v1/admin/ledger/verify", nil, &v)
		return v.OpenHolds == 0
	})
	a.Must(http.StatusOK, "GET", "/v1/campaigns/"+c.ID, nil, &c)
	if c.Progress.Quoted.AmountMicros != q.Cost.AmountMicros || c.Progress.Spend.AmountMicros != q.Cost.AmountMicros {
		t.Fatalf("run quoted %d spent %d, the quote said %d", c.Progress.Quoted.AmountMicros, c.Progress.Spend.AmountMicros, q.Cost.AmountMicros)
	}
	checkBooks(t, a, (400+1_600+3*600)*idr)
}

// checkCharged waits for each message's hold to settle and checks it captured the
// amount wanted, and that the message itself says so.
func checkCharged(t *testing.T, m *app.Main, a *kirimtest.API, want map[string]int64) {
	t.Helper()
	for id, w := range want {
		if h := settled(t, m, id); h.Status != ledger.HoldCaptured || h.Captured != w {
			t.Fatalf("%s: %+v, want %d captured", id, h, w)
		}
		if got := charged(a, id); got != w {
			t.Fatalf("%s: the message says charged %d, want %d", id, got, w)
		}
	}
}
