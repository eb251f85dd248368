package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAccountsPage: the operator lists the accounts and makes one; a refused form
// names its field and makes nothing; an account admin may not open the page.
func TestAccountsPage(t *testing.T) {
	k := start(t)
	op := k.client(t)
	op.signIn("operator", "kirim-demo-operator")
	st, _, body := op.get("/console/accounts")
	if st != 200 || !strings.Contains(body, "<td>demo</td>") || !strings.Contains(body, "main") || !strings.Contains(body, `value="Asia/Jakarta"`) {
		t.Fatalf("accounts page: %d", st)
	}
	good := url.Values{"id": {"toko-2"}, "name": {"Toko Dua"}, "currency": {"idr"}, "timezone": {"Asia/Makassar"}, "default_region": {"id"}, "low_balance": {"50 000"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	refused := []struct {
		name, field, value, msg string
		status                  int
	}{
		{"bad id", "id", "Toko 2", "id: must be", 400},
		{"bad currency", "currency", "rupiah", "currency: ", 400},
		{"bad timezone", "timezone", "Asia/Nowhere", "timezone: ", 400},
		{"bad region", "default_region", "XX", "default_region: ", 400},
		{"ambiguous low balance", "low_balance", "1.000", "low_balance: a whole number of", 400},
		{"taken id", "id", "demo", "id: an account demo exists", 409},
	}
	for _, tc := range refused {
		st, _, body := op.post("/console/accounts", with(tc.field, tc.value))
		if st != tc.status || !strings.Contains(body, tc.msg) {
			t.Errorf("%s: %d, want %d with %q", tc.name, st, tc.status, tc.msg)
		}
		if !strings.Contains(body, `value="`+tc.value+`" aria-invalid="true"`) {
			t.Errorf("%s: the %s field is not marked", tc.name, tc.field)
		}
	}
	var list struct {
		Data []struct{ ID, Timezone, Currency string } `json:"data"`
	}
	k.op.Must(http.StatusOK, "GET", "/v1/accounts", nil, &list)
	if len(list.Data) != 1 {
		t.Fatalf("refused forms made accounts: %+v", list.Data)
	}
	st, loc, _ := op.post("/console/accounts", good)
	if st != http.StatusSeeOther || loc != "/console/accounts?done=acct.created_ok" {
		t.Fatalf("create: %d %q", st, loc)
	}
	k.op.Must(http.StatusOK, "GET", "/v1/accounts", nil, &list)
	if len(list.Data) != 2 || list.Data[1].ID != "toko-2" || list.Data[1].Timezone != "Asia/Makassar" || list.Data[1].Currency != "IDR" {
		t.Fatalf("accounts %+v", list.Data)
	}
	_, _, body = op.get(loc)
	if !strings.Contains(body, "Account created") || !strings.Contains(body, "<td>Toko Dua</td>") || !strings.Contains(body, `<option value="toko-2">`) {
		t.Error("the new account is not listed, or not in the picker")
	}
	var bal struct {
		LowBalance struct {
			AmountMicros int64 `json:"amount_micros"`
		} `json:"low_balance"`
	}
	k.op.As(demoOperatorKey, "toko-2").Must(http.StatusOK, "GET", "/v1/balance", nil, &bal)
	if bal.LowBalance.AmountMicros != 50_000_000_000 {
		t.Errorf("low balance %d", bal.LowBalance.AmountMicros)
	}
	a := k.client(t)
	a.signIn("demo-admin", "kirim-demo-admin")
	if st, _, _ := a.get("/console/accounts"); st != http.StatusForbidden {
		t.Errorf("an admin opens accounts: %d", st)
	}
	if st, _, _ := a.post("/console/accounts", good); st != http.StatusForbidden {
		t.Errorf("an admin makes an account: %d", st)
	}
}
