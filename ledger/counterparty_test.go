package ledger

import (
	"math"
	"strings"
	"testing"

	"kirim/storage"
)

// postLegs appends an entry of account with the given legs straight through post, past
// the checks of the public methods: it writes entries as an older version wrote them
// (legacy counterparties) or brings a counter to a bound no real history reaches in a
// test's time.
func (f *fixture) postLegs(kind, account string, legs ...Leg) uint64 {
	f.tb.Helper()
	var seq uint64
	f.commit(func(tx storage.Txn) error {
		acct, err := f.l.account(account)
		if err != nil {
			return err
		}
		e := Entry{Kind: kind, At: f.l.now(), Account: account, Reason: "test", Legs: legs}
		if err := f.l.post(tx, acct, &e); err != nil {
			return err
		}
		seq = e.Seq
		return nil
	})
	return seq
}

func (f *fixture) tryTopUp(account, ref string, amount int64) error {
	return f.try(func(tx storage.Txn) error {
		t, _, err := f.l.CreateTopUp(tx, account, ref, amount)
		if err != nil {
			return err
		}
		_, err = f.l.ConfirmTopUp(tx, account, t.ID, "admin")
		return err
	})
}

func (f *fixture) cached(asset, account string) int64 {
	f.tb.Helper()
	var v int64
	if err := f.db.View(func(r storage.Reader) error {
		var err error
		v, err = balanceOf(r, asset, account)
		return err
	}); err != nil {
		f.tb.Fatal(err)
	}
	return v
}

func (f *fixture) captured(currency string) int64 {
	f.tb.Helper()
	var v int64
	if err := f.db.View(func(r storage.Reader) error {
		var err error
		v, err = f.l.Captured(r, currency)
		return err
	}); err != nil {
		f.tb.Fatalf("captured %s: %v", currency, err)
	}
	return v
}

func twoIDRAccounts() Config {
	return Config{Accounts: []Account{{ID: "a", Currency: "IDR"}, {ID: "b", Currency: "IDR"}}}
}

// One account's history near the int64 bound must refuse only that account's entries:
// another account of the same currency tops up as before. The instance-wide world of
// older entries is no longer posted to, so at the bound it blocks nobody.
func TestCounterpartyBoundIsPerAccount(t *testing.T) {
	tests := []struct {
		name                string
		owner, world, spent string // whose near-bound history, and where it went
		refused             map[string]bool
	}{
		{"a's own world at the bound", "a", worldAccount("a"), providerAccount("a"), map[string]bool{"a": true}},
		{"b's own world at the bound", "b", worldAccount("b"), providerAccount("b"), map[string]bool{"b": true}},
		{"legacy shared world at the bound", "a", World, Provider, map[string]bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, twoIDRAccounts())
			// Topped up and spent the whole int64 range: world at MinInt64+1.
			f.postLegs(KindAdjustment, tt.owner, Leg{Account: tt.world, Asset: "IDR", Amount: -math.MaxInt64},
				Leg{Account: tt.spent, Asset: "IDR", Amount: math.MaxInt64})
			for _, id := range []string{"a", "b"} {
				errTopUp := f.tryTopUp(id, "T1", idr)
				errAdjust := f.try(func(tx storage.Txn) error { _, err := f.l.Adjust(tx, id, idr, "goodwill"); return err })
				want := int64(2 * idr)
				if tt.refused[id] {
					if !isErr(errTopUp, ErrInvalid) || !isErr(errAdjust, ErrInvalid) {
						t.Fatalf("%s: top-up %v, adjustment %v; want both %v", id, errTopUp, errAdjust, ErrInvalid)
					}
					want = 0
				} else if errTopUp != nil || errAdjust != nil {
					t.Fatalf("%s: top-up %v, adjustment %v", id, errTopUp, errAdjust)
				}
				if got := f.balance(id).Available; got != want {
					t.Fatalf("%s has %d available, want %d", id, got, want)
				}
			}
			f.mustVerify()
		})
	}
}

// ownedBy reports whether posting account name belongs to Kirim account id.
func ownedBy(name, id string) bool {
	return strings.HasPrefix(name, "account:"+id+":") ||
		name == worldAccount(id) || name == providerAccount(id) || name == writeoffAccount(id)
}

// A chain that starts with entries written to the instance-wide counterparties and goes
// on with per-account ones verifies, keeps the old balances where they were, and
// Captured counts both.
func TestLegacyCounterpartiesVerifyAndCount(t *testing.T) {
	f := newFixture(t, Config{Accounts: []Account{
		{ID: "a", Currency: "IDR", Package: Package{Credits: map[string]int64{CategoryMarketing: 2}}},
		{ID: "b", Currency: "IDR"},
	}})
	mk := creditAsset(CategoryMarketing)
	// As an older version wrote them: top-ups and a credit grant from world, captures
	// to provider, a shortfall from writeoff.
	f.postLegs(KindTopUp, "a", Leg{Account: World, Asset: "IDR", Amount: -1000 * idr}, Leg{Account: availableAccount("a"), Asset: "IDR", Amount: 1000 * idr})
	f.postLegs(KindCreditGrant, "a", Leg{Account: World, Asset: mk, Amount: -2}, Leg{Account: creditAccount("a", CategoryMarketing), Asset: mk, Amount: 2})
	f.postLegs(KindCapture, "a", Leg{Account: availableAccount("a"), Asset: "IDR", Amount: -514 * idr}, Leg{Account: Provider, Asset: "IDR", Amount: 514 * idr})
	f.postLegs(KindCapture, "a", Leg{Account: availableAccount("a"), Asset: "IDR", Amount: -100 * idr},
		Leg{Account: Provider, Asset: "IDR", Amount: 150 * idr}, Leg{Account: Writeoff, Asset: "IDR", Amount: -50 * idr})
	legacyEnd := f.postLegs(KindTopUp, "b", Leg{Account: World, Asset: "IDR", Amount: -500 * idr}, Leg{Account: availableAccount("b"), Asset: "IDR", Amount: 500 * idr})
	f.mustVerify()
	if got := f.captured("IDR"); got != 664*idr {
		t.Fatalf("captured before new entries %d, want %d", got, 664*idr)
	}

	// The same accounts go on with today's entries.
	f.topUp("a", "T2", 2000*idr)
	f.commit(func(tx storage.Txn) error { _, err := f.l.Rollover(tx, "a", f.l.now()); return err })             // expires the 2 old credits, grants 2
	f.mustHold(HoldRequest{ID: "m1", Account: "a", MessageID: "m1", Market: "62", Category: CategoryMarketing}) // a credit
	f.capture("m1", "")
	f.mustHold(HoldRequest{ID: "m2", Account: "a", MessageID: "m2", Market: "62", Category: CategoryUtility})
	f.capture("m2", "")
	f.commit(func(tx storage.Txn) error { _, err := f.l.Adjust(tx, "b", -200*idr, "correction"); return err })
	f.mustHold(HoldRequest{ID: "m3", Account: "b", MessageID: "m3", Market: "62", Category: CategoryUtility})
	if res := f.capture("m3", CategoryMarketing); res.Shortfall != 214*idr {
		t.Fatalf("m3 shortfall %d, want %d", res.Shortfall, 214*idr)
	}
	rep := f.mustVerify()
	if rep.Entries <= legacyEnd {
		t.Fatalf("verified %d entries, legacy ones end at #%d", rep.Entries, legacyEnd)
	}

	for _, c := range []struct {
		asset, account string
		want           int64
	}{
		{"IDR", World, -1500 * idr},
		{"IDR", Provider, 664 * idr},
		{"IDR", Writeoff, -50 * idr},
		{mk, World, -2},
		{"IDR", worldAccount("a"), -2000 * idr},
		{"IDR", providerAccount("a"), 300 * idr},
		{mk, worldAccount("a"), 0},
		{mk, providerAccount("a"), 1},
		{"IDR", worldAccount("b"), 200 * idr},
		{"IDR", providerAccount("b"), 514 * idr},
		{"IDR", writeoffAccount("b"), -214 * idr},
		{"IDR", availableAccount("b"), 0},
	} {
		if got := f.cached(c.asset, c.account); got != c.want {
			t.Errorf("%s %s is %d, want %d", c.asset, c.account, got, c.want)
		}
	}
	if got, want := f.captured("IDR"), int64(664+300+514)*idr; got != want {
		t.Errorf("captured %d, want %d", got, want)
	}

	// Every new entry keeps to its own account's posting accounts.
	if err := f.db.View(func(r storage.Reader) error {
		for seq := legacyEnd + 1; seq <= rep.Entries; seq++ {
			e, err := readEntry(r, seq)
			if err != nil {
				return err
			}
			for _, lg := range e.Legs {
				if !ownedBy(lg.Account, e.Account) {
					t.Errorf("#%d %s of %s posts to %s", seq, e.Kind, e.Account, lg.Account)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Captured sums the legacy provider balance and every account's own in one currency,
// accounts dropped from the configuration included, and nothing of other assets.
func TestCaptured(t *testing.T) {
	f := newFixture(t, Config{Accounts: []Account{{ID: "a", Currency: "IDR"}, {ID: "b", Currency: "IDR"}, {ID: "u", Currency: "USD"}}})
	spend := func(account, asset, to string, from string, v int64) {
		f.postLegs(KindCapture, account, Leg{Account: from, Asset: asset, Amount: -v}, Leg{Account: to, Asset: asset, Amount: v})
	}
	steps := []struct {
		name    string
		do      func()
		idr, us int64
	}{
		{"nothing captured", func() {}, 0, 0},
		{"legacy provider", func() { spend("a", "IDR", Provider, World, 100) }, 100, 0},
		{"a's own", func() { spend("a", "IDR", providerAccount("a"), worldAccount("a"), 20) }, 120, 0},
		{"b's own", func() { spend("b", "IDR", providerAccount("b"), worldAccount("b"), 3) }, 123, 0},
		{"another currency", func() { spend("u", "USD", providerAccount("u"), worldAccount("u"), 7) }, 123, 7},
		{"credits are not money", func() {
			spend("a", creditAsset(CategoryMarketing), providerAccount("a"), worldAccount("a"), 5)
		}, 123, 7},
		{"b dropped from the configuration", func() {
			if err := f.l.Reload(Config{Accounts: []Account{{ID: "a", Currency: "IDR"}, {ID: "u", Currency: "USD"}}}); err != nil {
				t.Fatal(err)
			}
		}, 123, 7},
		{"past the int64 range", func() { spend("a", "IDR", Provider, World, math.MaxInt64-100) }, math.MaxInt64, 7},
	}
	for _, s := range steps {
		s.do()
		if got := f.captured("IDR"); got != s.idr {
			t.Errorf("%s: IDR captured %d, want %d", s.name, got, s.idr)
		}
		if got := f.captured("USD"); got != s.us {
			t.Errorf("%s: USD captured %d, want %d", s.name, got, s.us)
		}
	}
	if got := f.captured("EUR"); got != 0 {
		t.Errorf("EUR captured %d", got)
	}
	f.mustVerify()
}

// Account ids may contain ':', so a counterparty can end like a held or reserve account
// ("world:x:held"); Verify must not take it for one.
func TestVerifyCounterpartyNamedLikeHeld(t *testing.T) {
	f := newFixture(t, Config{Accounts: []Account{{ID: "x:held", Currency: "IDR"}, {ID: "y:reserve", Currency: "IDR"}}})
	for _, id := range []string{"x:held", "y:reserve"} {
		f.topUp(id, "T1", 1000*idr)
		f.mustHold(HoldRequest{ID: id + "-m1", Account: id, MessageID: "m1", Market: "62", Category: CategoryUtility})
		f.capture(id+"-m1", CategoryMarketing)
		f.mustHold(HoldRequest{ID: id + "-m2", Account: id, MessageID: "m2", Market: "62", Category: CategoryUtility})
	}
	f.mustVerify()
}
