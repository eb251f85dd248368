package ledger

import (
	"errors"
	"testing"

	"kirim/storage"
)

// TestReload: a new rate card and a new account take effect at once; an invalid
// configuration, or one that changes an account's currency, changes nothing.
func TestReload(t *testing.T) {
	f := newFixture(t, Config{})
	utility := func(account string) (int64, error) {
		var q Quote
		err := f.db.View(func(r storage.Reader) (err error) {
			q, err = f.l.Quote(r, QuoteRequest{Account: account, Market: "62", Category: CategoryUtility})
			return err
		})
		return q.Amount, err
	}
	if p, err := utility("acme"); err != nil || p != 300*idr {
		t.Fatalf("before: %d %v", p, err)
	}
	card := seedCard(jan2025)
	card.Prices[1].Micros = rupiah(250)
	accounts := []Account{{ID: "acme", Currency: "IDR"}, {ID: "tokobaru", Currency: "IDR"}}
	if err := f.l.Reload(Config{Accounts: accounts, RateCards: []RateCard{card}}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"acme", "tokobaru"} {
		if p, err := utility(a); err != nil || p != 250*idr {
			t.Fatalf("after reload, %s: %d %v", a, p, err)
		}
	}
	refused := []struct {
		name string
		cfg  Config
	}{
		{"invalid account", Config{Accounts: []Account{{ID: "acme", Currency: "RUPIAH"}}, RateCards: []RateCard{card}}},
		{"currency change", Config{Accounts: []Account{{ID: "acme", Currency: "USD"}}, RateCards: []RateCard{card}}},
		{"duplicate account", Config{Accounts: []Account{{ID: "acme", Currency: "IDR"}, {ID: "acme", Currency: "IDR"}}}},
	}
	for _, r := range refused {
		if err := f.l.Reload(r.cfg); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%s: %v, want ErrInvalid", r.name, err)
		}
		if p, err := utility("tokobaru"); err != nil || p != 250*idr {
			t.Fatalf("%s changed the ledger: %d %v", r.name, p, err)
		}
	}
}
