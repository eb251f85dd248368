package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"kirim/internal/kirimtest"
	"kirim/provider/sandbox"
)

// TestMissingSessionPriceRefusesTheSend: under a per_message card that prices text but
// not audio, an audio reply inside the window is refused with 422 price_missing naming
// what lacks a price, not charged nothing and not an internal error; a text goes.
func TestMissingSessionPriceRefusesTheSend(t *testing.T) {
	m, a := twoTenantsWith(t, `
[[rate_cards]]
effective = 2025-06-01
currency = "IDR"
rules = "per_message"
  [[rate_cards.prices]]
  market = "*"
  category = "utility"
  up_to = [250_000]
  amounts = [514, 510]
  [rate_cards.session]
  text = 75
`)
	const phone = "+6281299990002"
	if _, err := m.Sandbox.Inbound(sandbox.InboundRequest{From: phone[1:], Text: "halo"}); err != nil {
		t.Fatal(err)
	}
	kirimtest.WaitFor(t, "the window", 10*time.Second, func() bool {
		var c struct {
			Numbers []struct {
				WindowOpen bool `json:"window_open"`
			} `json:"numbers"`
		}
		a.Must(http.StatusOK, "GET", "/v1/contacts/"+phone, nil, &c)
		return len(c.Numbers) > 0 && c.Numbers[0].WindowOpen
	})
	status, body := a.Call("POST", "/v1/messages", map[string]any{"to": phone, "audio": map[string]string{"id": "1234567890"}})
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	if status != http.StatusUnprocessableEntity || e.Error.Code != "price_missing" || !strings.Contains(e.Error.Message, `"audio"`) {
		t.Fatalf("audio without a price: %d %s", status, body)
	}
	var sent struct {
		Price struct {
			AmountMicros int64 `json:"amount_micros"`
		} `json:"price"`
	}
	a.Must(http.StatusAccepted, "POST", "/v1/messages", map[string]any{"to": phone, "text": map[string]any{"body": "Terima kasih"}}, &sent)
	if sent.Price.AmountMicros != 75_000_000 {
		t.Fatalf("a text under the card: priced %d micros, want IDR 75", sent.Price.AmountMicros)
	}
}
