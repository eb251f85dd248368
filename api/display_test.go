package api_test

import (
	"math"
	"net/http"
	"strings"
	"testing"

	"kirim/api"
)

func TestMoneyDisplayByLocale(t *testing.T) {
	tests := []struct {
		micros   int64
		currency string
		locale   string
		want     string
	}{
		{1_000_000 * idr, "IDR", api.LocaleIndonesian, "Rp1.000.000"},
		{510_500_000, "IDR", api.LocaleIndonesian, "Rp510,5"},
		{75 * idr, "IDR", api.LocaleIndonesian, "Rp75"},
		{0, "IDR", api.LocaleIndonesian, "Rp0"},
		{-1_250 * idr, "IDR", api.LocaleIndonesian, "-Rp1.250"},
		{41_100, "USD", api.LocaleIndonesian, "USD 0,0411"},
		{math.MinInt64, "IDR", api.LocaleIndonesian, "-Rp9.223.372.036.854,775808"},
		{1_000_000 * idr, "IDR", api.LocaleEnglish, "IDR 1,000,000"},
		{510_500_000, "IDR", "", "IDR 510.5"},
	}
	for _, tt := range tests {
		got := api.NewMoneyIn(tt.micros, tt.currency, tt.locale)
		if got.Display != tt.want || got.AmountMicros != tt.micros || got.Currency != tt.currency {
			t.Errorf("NewMoneyIn(%d, %s, %q) = %+v, want display %q", tt.micros, tt.currency, tt.locale, got, tt.want)
		}
	}
}

// TestIndonesianAccountSeesRupiah: an account whose locale is id-ID reads its balance
// and statement in Indonesian form, with times in its timezone; the amounts in
// micro-units are the same as anyone's.
func TestIndonesianAccountSeesRupiah(t *testing.T) {
	e := newEnv(t, envOpts{ledger: moneyLedger, localeB: api.LocaleIndonesian})
	opB := keyOperator + "@acct_b"
	var tu topUpJSON
	decode(t, e.do("POST", "/v1/topups", opB, map[string]any{"amount_micros": 1_000_000*idr + 500_000, "reference": "BCA-9"}), http.StatusCreated, &tu)
	if tu.Amount.Display != "Rp1.000.000,5" {
		t.Fatalf("top-up %+v", tu)
	}
	decode(t, e.do("POST", "/v1/topups/"+tu.ID+"/confirm", opB, nil), http.StatusOK, &tu)
	if b := e.balance(keySendB); b.Available.Display != "Rp1.000.000,5" || b.Available.AmountMicros != 1_000_000*idr+500_000 {
		t.Fatalf("balance %+v", b)
	}
	var st statementJSON
	decode(t, e.do("GET", "/v1/statement", keySendB, nil), http.StatusOK, &st)
	if len(st.Data) != 1 || st.Data[0].Amount.Display != "Rp1.000.000,5" || !strings.HasSuffix(st.Data[0].At, "+07:00") {
		t.Fatalf("statement %+v", st)
	}
	// Account A keeps the default form.
	if b := e.balance(keySendA); b.Available.Display != "IDR 0" {
		t.Fatalf("balance of A %+v", b)
	}
}
