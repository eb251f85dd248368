// Package kirimtest holds what tests of a whole running Kirim share: an API client bound
// to one key, polling for conditions on real processes, and test configurations.
package kirimtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	LedgerKey = "ledger_e2e_key_0123456789"
	// OperatorKey is LedgerConfig's operator, which confirms top-ups.
	OperatorKey = "ledger_e2e_operator_0123456789"
	IDRMicros   = 1_000_000
)

// LedgerConfig is config.example.toml's shape on free ports and a temporary data
// directory, with a sandbox that fails exactly 5 % of the messages it accepts.
func LedgerConfig(dataDir string) string {
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
[[operators]]
name = "ops"
key = %q
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
`, dataDir, LedgerKey, OperatorKey)
}

// API calls a running Kirim's API with one key.
type API struct {
	T    testing.TB
	Base string // http://host:port
	Key  string
	HTTP *http.Client
	// Account, when set, is sent as ?account= (the account an operator key acts on).
	Account string
}

// As is a copy of a calling with key, acting on account when it is not empty.
func (a *API) As(key, account string) *API {
	c := *a
	c.Key, c.Account = key, account
	return &c
}

func (a *API) Call(method, path string, body any, header ...string) (int, []byte) {
	a.T.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.T.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	if a.Account != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "account=" + url.QueryEscape(a.Account)
	}
	req, err := http.NewRequest(method, a.Base+path, rd)
	if err != nil {
		a.T.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.Key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// must calls the API and decodes the answer, failing unless the status is want.
func (a *API) Must(want int, method, path string, body, out any, header ...string) {
	a.T.Helper()
	status, b := a.Call(method, path, body, header...)
	if status != want {
		a.T.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.T.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

type Money struct {
	AmountMicros int64  `json:"amount_micros"`
	Display      string `json:"display"`
}

type Balance struct {
	Available Money `json:"available"`
	Held      Money `json:"held"`
	Balance   Money `json:"balance"`
}

type Row struct {
	Kind      string `json:"kind"`
	MessageID string `json:"message_id"`
	Reason    string `json:"reason"`
	Amount    *struct {
		AmountMicros int64 `json:"amount_micros"`
	} `json:"amount"`
}

// statement reads the whole statement through the API's pages.
func (a *API) Statement() []Row {
	a.T.Helper()
	var rows []Row
	cursor := ""
	for {
		var page struct {
			Data       []Row  `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		a.Must(http.StatusOK, "GET", "/v1/statement?limit=1000&cursor="+cursor, nil, &page)
		rows = append(rows, page.Data...)
		if page.NextCursor == "" {
			return rows
		}
		cursor = page.NextCursor
	}
}

// WaitFor polls cond until it holds or within passes. It waits on real servers and
// processes, so it polls; no assertion depends on how long anything takes.
func WaitFor(tb testing.TB, what string, within time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// TemplateStatus is the status of the template name in language id, or NOT_FOUND.
func (a *API) TemplateStatus(name string) string {
	a.T.Helper()
	var v struct {
		Status string `json:"status"`
	}
	status, b := a.Call("GET", "/v1/templates/"+name+"?language=id", nil)
	if status == http.StatusNotFound {
		return "NOT_FOUND"
	}
	if status != http.StatusOK || json.Unmarshal(b, &v) != nil {
		a.T.Fatalf("get template %s: %d %s", name, status, b)
	}
	return v.Status
}
