package ledger

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"kirim/storage"
)

func TestExactFigure(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "TRF-1", 1_000_000*idr)

	const n = 1000
	for i := range n {
		res := f.mustHold(marketing(fmt.Sprintf("m%04d", i)))
		if res.Hold.Amount != 514*idr {
			t.Fatalf("hold %d priced %d, want %d", i, res.Hold.Amount, 514*idr)
		}
	}
	if b := f.balance("acme"); b.Held != n*514*idr || b.Available != (1_000_000-n*514)*idr {
		t.Fatalf("after holds: available %d held %d", b.Available, b.Held)
	}
	for i := range n {
		id := fmt.Sprintf("m%04d", i)
		if i < 950 {
			if res := f.capture(id, ""); res.Captured != 514*idr {
				t.Fatalf("capture %s took %d", id, res.Captured)
			}
		} else if res := f.release(id); res.Released != 514*idr {
			t.Fatalf("release %s gave back %d", id, res.Released)
		}
	}
	b := f.balance("acme")
	if b.Available != 511_700_000_000 || b.Held != 0 || b.Balance != 511_700_000_000 {
		t.Fatalf("balance = available %d held %d balance %d, want 511_700_000_000 / 0", b.Available, b.Held, b.Balance)
	}

	// 511,700 / 514 = 995.5: hold 995 more, then the 996th overdraws.
	for i := range 995 {
		f.mustHold(marketing(fmt.Sprintf("x%04d", i)))
	}
	before := f.head()
	_, err := f.hold(marketing("overdraw"))
	if !isErr(err, ErrInsufficientBalance) {
		t.Fatalf("overdrawing hold: err = %v, want ErrInsufficientBalance", err)
	}
	if ErrorCode(err) != "insufficient_balance" {
		t.Fatalf("ErrorCode = %q", ErrorCode(err))
	}
	if after := f.head(); after != before {
		t.Fatalf("refused hold wrote entries: head %d -> %d", before.Seq, after.Seq)
	}
	if err := f.db.View(func(r storage.Reader) error {
		_, err := f.l.GetHold(r, "overdraw")
		return err
	}); !isErr(err, ErrNotFound) {
		t.Fatalf("refused hold left a record: %v", err)
	}
	if b := f.balance("acme"); b.Available != 511_700_000_000-995*514*idr {
		t.Fatalf("available after refusal = %d", b.Available)
	}
	f.mustVerify()
}

func TestRefusedHoldWritesNothingWhenRolloverDue(t *testing.T) {
	f := newFixture(t, Config{Accounts: []Account{{ID: "acme", Currency: "IDR", Package: Package{Credits: map[string]int64{CategoryService: 5}}}}})
	before := f.head()
	if _, err := f.hold(marketing("m1")); !isErr(err, ErrInsufficientBalance) {
		t.Fatalf("err = %v, want ErrInsufficientBalance", err)
	}
	if f.head() != before {
		t.Fatal("refused hold ran the due rollover")
	}
}

func TestVolumeBands(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "TRF-1", 10_000_000*idr)
	loc := jakarta(t)
	month := monthOf(f.clock.Now(), loc)
	f.commit(func(tx storage.Txn) error {
		return writeVolume(tx, "acme", CategoryMarketing, month, Volume{Captured: 249_998, Held: 1})
	})

	cases := []struct {
		id       string
		position int64
		band     int
		price    int64
	}{
		{"m250000", 250_000, 0, 514 * idr},
		{"m250001", 250_001, 1, 510 * idr},
		{"m250002", 250_002, 1, 510 * idr},
	}
	for _, c := range cases {
		var q Quote
		if err := f.db.View(func(r storage.Reader) error {
			var err error
			q, err = f.l.Quote(r, QuoteRequest{Account: "acme", Market: "62", Category: CategoryMarketing})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		res := f.mustHold(marketing(c.id))
		if q.Position != c.position || q.Band != c.band || q.Amount != c.price {
			t.Fatalf("%s: quote position %d band %d price %d, want %d %d %d", c.id, q.Position, q.Band, q.Amount, c.position, c.band, c.price)
		}
		if res.Hold.Amount != c.price || res.Hold.Band != c.band {
			t.Fatalf("%s: held %d at band %d, want %d at %d", c.id, res.Hold.Amount, res.Hold.Band, c.price, c.band)
		}
	}

	// Next month in Jakarta (UTC+7) starts at 17:00 UTC on the last day of this one.
	next := time.Date(2025, 7, 31, 17, 0, 0, 0, time.UTC)
	f.clock.Set(next.Add(-time.Second))
	if got := f.mustHold(marketing("late-july")); got.Hold.Band != 1 || got.Hold.Month != "2025-07" {
		t.Fatalf("last second of July (Jakarta): band %d month %s", got.Hold.Band, got.Hold.Month)
	}
	f.clock.Set(next)
	got := f.mustHold(marketing("august"))
	if got.Hold.Band != 0 || got.Hold.Amount != 514*idr || got.Hold.Month != "2025-08" {
		t.Fatalf("first message of August: band %d price %d month %s", got.Hold.Band, got.Hold.Amount, got.Hold.Month)
	}
	f.mustVerify()
}

func TestSmallBandsWithRealHolds(t *testing.T) {
	card := RateCard{Effective: jan2025, Currency: "IDR", Prices: []Price{
		{Market: "62", Category: CategoryUtility, UpTo: []int64{3, 5}, Micros: rupiah(100, 60, 80)},
		{Market: MarketDefault, Category: CategoryUtility, Micros: rupiah(999)},
	}}
	f := newFixture(t, Config{RateCards: []RateCard{card}})
	f.topUp("acme", "TRF-1", 100_000*idr)
	utility := func(id string) HoldRequest {
		return HoldRequest{ID: id, Account: "acme", Market: "62", Category: CategoryUtility}
	}
	// A burst of holds: the band counts held messages too.
	want := []int64{100, 100, 100, 60, 60, 80}
	for i, p := range want {
		if got := f.mustHold(utility(fmt.Sprintf("u%d", i))).Hold.Amount; got != p*idr {
			t.Fatalf("hold %d priced %d, want %d", i, got/idr, p)
		}
	}
	// Captures move counts from held to captured; a release frees a place in the band.
	f.capture("u0", "")
	f.capture("u1", "")
	f.release("u5")
	if got := f.mustHold(utility("u6")).Hold.Amount; got != 80*idr {
		t.Fatalf("6th message after a release priced %d, want 80", got/idr)
	}
	f.release("u3")
	f.release("u4")
	f.release("u6")
	if got := f.mustHold(utility("u7")).Hold.Amount; got != 60*idr {
		t.Fatalf("4th message priced %d, want 60", got/idr)
	}
	var vol Volume
	if err := f.db.View(func(r storage.Reader) error {
		var err error
		vol, err = f.l.MonthVolume(r, "acme", CategoryUtility, "2025-07")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if vol != (Volume{Captured: 2, Held: 2}) {
		t.Fatalf("volume = %+v, want captured 2 held 2", vol)
	}
	// Another market falls back to the default price.
	if got := f.mustHold(HoldRequest{ID: "us", Account: "acme", Market: "1", Category: CategoryUtility}).Hold.Amount; got != 999*idr {
		t.Fatalf("default market priced %d", got/idr)
	}
	f.mustVerify()
}

func TestHoldResolvesOnce(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "TRF-1", 10_000*idr)
	f.mustHold(marketing("a"))
	f.mustHold(marketing("b"))

	again := f.mustHold(marketing("a"))
	if !again.Existing {
		t.Fatal("second Hold with the same id was not reported existing")
	}
	if r := f.capture("a", CategoryMarketing); r.AlreadyResolved || r.Captured != 514*idr {
		t.Fatalf("first capture: %+v", r)
	}
	h := f.head()
	steps := []struct {
		name string
		run  func(tx storage.Txn) (SettleResult, error)
	}{
		{"capture again", func(tx storage.Txn) (SettleResult, error) { return f.l.Capture(tx, "a", "") }},
		{"release after capture", func(tx storage.Txn) (SettleResult, error) { return f.l.Release(tx, "a", "failed") }},
		{"settle free after capture", func(tx storage.Txn) (SettleResult, error) {
			return f.l.Settle(tx, "a", PricingFreeCustomerService, "service")
		}},
	}
	for _, s := range steps {
		var res SettleResult
		f.commit(func(tx storage.Txn) (err error) { res, err = s.run(tx); return err })
		if !res.AlreadyResolved || res.Hold.Status != HoldCaptured {
			t.Fatalf("%s: %+v, want already resolved", s.name, res)
		}
	}
	f.release("b")
	if r := f.capture("b", ""); !r.AlreadyResolved || r.Hold.Status != HoldReleased {
		t.Fatalf("capture after release: %+v", r)
	}
	if f.head().Seq != h.Seq+1 {
		t.Fatalf("duplicates wrote entries: head %d, want %d", f.head().Seq, h.Seq+1)
	}
	if b := f.balance("acme"); b.Available != (10_000-514)*idr || b.Held != 0 {
		t.Fatalf("balance %+v", b)
	}
	if err := f.try(func(tx storage.Txn) error { _, err := f.l.Capture(tx, "nope", ""); return err }); !isErr(err, ErrNotFound) {
		t.Fatalf("capture of unknown hold: %v", err)
	}
	f.mustVerify()
}

func TestCaptureRecategorised(t *testing.T) {
	tests := []struct {
		name      string
		topUp     int64 // rupiah
		category  string
		reported  string
		captured  int64
		available int64 // after capture
		shortfall int64
	}{
		{"same category", 1000, CategoryMarketing, CategoryMarketing, 514, 486, 0},
		{"cheaper category returns the rest", 1000, CategoryMarketing, CategoryUtility, 300, 700, 0},
		{"dearer category takes from available", 1000, CategoryUtility, CategoryMarketing, 514, 486, 0},
		{"dearer beyond available writes off the rest", 400, CategoryUtility, CategoryMarketing, 514, 0, 114},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			f.topUp("acme", "TRF-1", tt.topUp*idr)
			f.mustHold(HoldRequest{ID: "m", Account: "acme", Market: "62", Category: tt.category})
			var res SettleResult
			f.commit(func(tx storage.Txn) (err error) {
				res, err = f.l.Settle(tx, "m", PricingRegular, tt.reported)
				return err
			})
			if res.Captured != tt.captured*idr || res.Shortfall != tt.shortfall*idr {
				t.Fatalf("captured %d shortfall %d, want %d %d", res.Captured/idr, res.Shortfall/idr, tt.captured, tt.shortfall)
			}
			if b := f.balance("acme"); b.Available != tt.available*idr || b.Held != 0 {
				t.Fatalf("available %d held %d, want %d 0", b.Available/idr, b.Held, tt.available)
			}
			var vol Volume
			f.commit(func(tx storage.Txn) (err error) {
				vol, err = readVolume(tx, "acme", tt.reported, "2025-07")
				return err
			})
			if vol.Captured != 1 {
				t.Fatalf("captured volume of %s = %d", tt.reported, vol.Captured)
			}
			f.mustVerify()
		})
	}
}

func TestFreeRules(t *testing.T) {
	legacyCard := seedCard(jan2025)
	legacyCard.Rules = RulesLegacy
	smeCard := seedCard(jan2025)
	smeCard.Rules = RulesPerMessage
	tests := []struct {
		name   string
		card   RateCard
		req    QuoteRequest
		amount int64
		reason string
	}{
		{"2025 service free", seedCard(jan2025), QuoteRequest{Category: CategoryService, ContentType: "image", InWindow: true}, 0, FreeService},
		{"2025 utility in window free", seedCard(jan2025), QuoteRequest{Category: CategoryUtility, InWindow: true}, 0, FreeUtilityInWindow},
		{"2025 utility outside window", seedCard(jan2025), QuoteRequest{Category: CategoryUtility}, 300, ""},
		{"2025 marketing in window charged", seedCard(jan2025), QuoteRequest{Category: CategoryMarketing, InWindow: true}, 514, ""},
		{"2025 free entry point", seedCard(jan2025), QuoteRequest{Category: CategoryMarketing, FreeEntryPoint: true}, 0, FreeEntryPoint},
		{"legacy service charged", legacyCard, QuoteRequest{Category: CategoryService, Recipient: "628111"}, 275, ""},
		{"legacy utility in window charged", legacyCard, QuoteRequest{Category: CategoryUtility, InWindow: true}, 300, ""},
		{"per-message image", smeCard, QuoteRequest{Category: CategoryService, ContentType: "image"}, 150, ""},
		{"per-message text", smeCard, QuoteRequest{Category: CategoryService, ContentType: "text"}, 75, ""},
		{"per-message unknown type uses service price", smeCard, QuoteRequest{Category: CategoryService, ContentType: "sticker"}, 275, ""},
		{"per-message free entry point still charged", smeCard, QuoteRequest{Category: CategoryUtility, FreeEntryPoint: true}, 300, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{RateCards: []RateCard{tt.card}})
			tt.req.Account, tt.req.Market = "acme", "62"
			var q Quote
			if err := f.db.View(func(r storage.Reader) (err error) { q, err = f.l.Quote(r, tt.req); return err }); err != nil {
				t.Fatal(err)
			}
			if q.Amount != tt.amount*idr || q.FreeReason != tt.reason || q.Free != (tt.reason != "") {
				t.Fatalf("quote %d free %v %q, want %d %q", q.Amount/idr, q.Free, q.FreeReason, tt.amount, tt.reason)
			}
		})
	}
}

func TestLegacyConversation(t *testing.T) {
	card := seedCard(jan2025)
	card.Rules = RulesLegacy
	f := newFixture(t, Config{RateCards: []RateCard{card}})
	f.topUp("acme", "TRF-1", 10_000*idr)
	req := func(id, recipient, category string) HoldRequest {
		return HoldRequest{ID: id, Account: "acme", Market: "62", Category: category, Recipient: recipient}
	}
	steps := []struct {
		advance time.Duration
		req     HoldRequest
		amount  int64
	}{
		{0, req("1", "628111", CategoryMarketing), 514},
		{time.Hour, req("2", "628111", CategoryMarketing), 0},        // same conversation
		{0, req("3", "628111", CategoryUtility), 300},                // another category opens its own
		{0, req("4", "628222", CategoryMarketing), 514},              // another recipient
		{23 * time.Hour, req("5", "628111", CategoryMarketing), 514}, // 24 h after the first: a new one
	}
	for _, s := range steps {
		f.clock.Advance(s.advance)
		if got := f.mustHold(s.req).Hold.Amount; got != s.amount*idr {
			t.Fatalf("hold %s priced %d, want %d", s.req.ID, got/idr, s.amount)
		}
	}
	f.mustVerify()
}

func TestRateCardInForce(t *testing.T) {
	old := seedCard(jan2025)
	newer := seedCard(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC))
	newer.Prices[0].Micros = rupiah(600, 600, 600, 600, 600, 600, 600, 600)
	usd := RateCard{Effective: jan2025, Currency: "USD", Prices: []Price{{Market: "62", Category: CategoryMarketing, Micros: []int64{41_100}}}}
	f := newFixture(t, Config{
		RateCards: []RateCard{newer, usd, old},
		Accounts:  []Account{{ID: "acme", Currency: "IDR"}, {ID: "globex", Currency: "USD"}},
	})
	tests := []struct {
		account string
		at      time.Time
		want    int64
	}{
		{"acme", time.Date(2025, 6, 30, 23, 59, 59, 0, time.UTC), 514 * idr},
		{"acme", time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), 600 * idr},
		{"globex", time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), 41_100},
	}
	for _, tt := range tests {
		var q Quote
		err := f.db.View(func(r storage.Reader) (err error) {
			q, err = f.l.Quote(r, QuoteRequest{Account: tt.account, Market: "62", Category: CategoryMarketing, At: tt.at})
			return err
		})
		if err != nil || q.Amount != tt.want {
			t.Fatalf("%s at %s: %d, %v; want %d", tt.account, tt.at, q.Amount, err, tt.want)
		}
	}
	err := f.db.View(func(r storage.Reader) error {
		_, err := f.l.Quote(r, QuoteRequest{Account: "acme", Market: "62", Category: CategoryMarketing, At: jan2025.Add(-time.Second)})
		return err
	})
	if !isErr(err, ErrInvalid) {
		t.Fatalf("quote before any card: %v", err)
	}
}

func TestQuoteInvalid(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		name string
		req  QuoteRequest
		want error
	}{
		{"unknown account", QuoteRequest{Account: "nope", Category: CategoryMarketing}, ErrNotFound},
		{"no category", QuoteRequest{Account: "acme"}, ErrInvalid},
		{"bad category", QuoteRequest{Account: "acme", Category: "Mark eting"}, ErrInvalid},
		{"unpriced category", QuoteRequest{Account: "acme", Category: "marketing_lite"}, ErrNoPrice},
		{"bad recipient", QuoteRequest{Account: "acme", Category: CategoryMarketing, Recipient: "62/81"}, ErrInvalid},
	}
	for _, tt := range tests {
		err := f.db.View(func(r storage.Reader) error { _, err := f.l.Quote(r, tt.req); return err })
		if !isErr(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	good := seedCard(jan2025)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"bad rules", Config{Rules: "2024"}},
		{"bad account id", Config{Accounts: []Account{{ID: "a/b", Currency: "IDR"}}}},
		{"duplicate account", Config{Accounts: []Account{{ID: "a", Currency: "IDR"}, {ID: "a", Currency: "IDR"}}}},
		{"bad currency", Config{Accounts: []Account{{ID: "a", Currency: "rupiah"}}}},
		{"negative credits", Config{Accounts: []Account{{ID: "a", Currency: "IDR", Package: Package{Credits: map[string]int64{"service": -1}}}}}},
		{"card without date", Config{RateCards: []RateCard{{Currency: "IDR"}}}},
		{"band prices mismatch", Config{RateCards: []RateCard{{Effective: jan2025, Currency: "IDR", Prices: []Price{{Market: "*", Category: "marketing", UpTo: []int64{10}, Micros: []int64{1}}}}}}},
		{"bands not ascending", Config{RateCards: []RateCard{{Effective: jan2025, Currency: "IDR", Prices: []Price{{Market: "*", Category: "marketing", UpTo: []int64{10, 10}, Micros: []int64{1, 2, 3}}}}}}},
		{"bad market", Config{RateCards: []RateCard{{Effective: jan2025, Currency: "IDR", Prices: []Price{{Market: "+62", Category: "marketing", Micros: []int64{1}}}}}}},
		{"duplicate price", Config{RateCards: []RateCard{{Effective: jan2025, Currency: "IDR", Prices: append(good.Prices, good.Prices[0])}}}},
		{"negative session price", Config{RateCards: []RateCard{{Effective: jan2025, Currency: "IDR", SessionPrices: map[string]int64{"text": -1}}}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); !isErr(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
		}
	}
	if _, err := New(Config{Accounts: []Account{{ID: "acme", Currency: "IDR"}}, RateCards: []RateCard{good}}); err != nil {
		t.Fatalf("valid config: %v", err)
	}
}

func TestExpireHolds(t *testing.T) {
	f := newFixture(t, Config{HoldTTL: time.Hour})
	f.topUp("acme", "T1", 10_000*idr)
	f.mustHold(marketing("a"))
	f.clock.Advance(30 * time.Minute)
	f.mustHold(marketing("b"))
	f.capture("a", "")
	f.clock.Advance(31 * time.Minute) // a's expiry passed but it is captured; b's has not
	var n int
	f.commit(func(tx storage.Txn) (err error) { n, err = f.l.ExpireHolds(tx, f.clock.Now(), 10); return err })
	if n != 0 {
		t.Fatalf("expired %d holds, want 0", n)
	}
	f.clock.Advance(30 * time.Minute)
	f.commit(func(tx storage.Txn) (err error) { n, err = f.l.ExpireHolds(tx, f.clock.Now(), 10); return err })
	if n != 1 {
		t.Fatalf("expired %d holds, want 1", n)
	}
	var h Hold
	f.commit(func(tx storage.Txn) (err error) { h, err = f.l.GetHold(tx, "b"); return err })
	if h.Status != HoldReleased || h.ReleaseReason != ReleaseExpired {
		t.Fatalf("hold b %+v", h)
	}
	if r := f.capture("b", ""); !r.AlreadyResolved {
		t.Fatal("late capture after expiry charged")
	}
	f.mustVerify()
}

func TestFreeHoldChargedOnlyIfProviderBills(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "T1", 1000*idr)
	res := f.mustHold(HoldRequest{ID: "u1", Account: "acme", Market: "62", Category: CategoryUtility, InWindow: true})
	if !res.Hold.Free || res.Hold.Amount != 0 {
		t.Fatalf("utility in window not free: %+v", res.Hold)
	}
	f.mustHold(HoldRequest{ID: "u2", Account: "acme", Market: "62", Category: CategoryUtility, InWindow: true})
	var r1, r2 SettleResult
	f.commit(func(tx storage.Txn) (err error) {
		r1, err = f.l.Settle(tx, "u1", PricingFreeCustomerService, CategoryUtility)
		return err
	})
	f.commit(func(tx storage.Txn) (err error) {
		r2, err = f.l.Settle(tx, "u2", PricingRegular, CategoryUtility)
		return err
	})
	if r1.Hold.Status != HoldReleased || r2.Captured != 300*idr {
		t.Fatalf("free %+v, billed %+v", r1, r2)
	}
	if b := f.balance("acme"); b.Available != 700*idr {
		t.Fatalf("available %d", b.Available/idr)
	}
	if err := f.try(func(tx storage.Txn) error { _, err := f.l.Settle(tx, "u1", "bogus", ""); return err }); !isErr(err, ErrInvalid) {
		t.Fatalf("bogus pricing type: %v", err)
	}
	f.mustVerify()
}

// readLog is a Txn that records the keys read through it.
type readLog struct {
	storage.Txn
	keys []string
}

func (r *readLog) Get(key []byte) ([]byte, error) {
	r.keys = append(r.keys, string(key))
	return r.Txn.Get(key)
}

// TestFreshHoldSkipsTheLookup: a hold whose id was just made is not looked up (the
// send path's lookup always misses), while any other hold is, which keeps Hold
// idempotent for callers that may ask twice.
func TestFreshHoldSkipsTheLookup(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "TRF-1", 10_000*idr)
	for _, tc := range []struct {
		id     string
		fresh  bool
		lookup bool
	}{
		{"fresh", true, false},
		{"again", false, true},
	} {
		req := marketing(tc.id)
		req.Fresh = tc.fresh
		var log readLog
		f.commit(func(tx storage.Txn) error {
			log.Txn = tx
			_, err := f.l.Hold(&log, req)
			return err
		})
		looked := slices.Contains(log.keys, string(holdKey(tc.id)))
		if looked != tc.lookup {
			t.Errorf("%s: hold key read = %v, want %v (keys read: %q)", tc.id, looked, tc.lookup, log.keys)
		}
	}
	if b := f.balance("acme"); b.Held != 2*514*idr {
		t.Fatalf("held %d after two holds, want %d", b.Held, 2*514*idr)
	}
}

// TestReserveBalanceReadWhileItCanExist: the statement row of a post reads the
// account's reserve balance only until it is found absent, and again once a campaign
// reserve has been posted to; the running held balance of every row stays right.
func TestReserveBalanceReadWhileItCanExist(t *testing.T) {
	f := newFixture(t, Config{})
	reserveKey := string(balanceKey("IDR", reserveAccount("acme")))
	steps := []struct {
		name string
		do   func(tx storage.Txn) error
		read bool
	}{
		{"a top-up: absent, remembered", func(tx storage.Txn) error {
			tp, _, err := f.l.CreateTopUp(tx, "acme", "TRF-1", 100_000*idr)
			if err == nil {
				_, err = f.l.ConfirmTopUp(tx, "acme", tp.ID, "admin")
			}
			return err
		}, true},
		{"a hold: not read", func(tx storage.Txn) error { _, err := f.l.Hold(tx, marketing("h1")); return err }, false},
		{"another hold: not read", func(tx storage.Txn) error { _, err := f.l.Hold(tx, marketing("h2")); return err }, false},
		{"a reserve opens", func(tx storage.Txn) error {
			_, err := f.l.Reserve(tx, ReserveRequest{ID: "run1", Account: "acme", CampaignID: "cmp1", Amount: 5_000 * idr})
			return err
		}, true},
		{"a hold after it: read", func(tx storage.Txn) error { _, err := f.l.Hold(tx, marketing("h3")); return err }, true},
		{"the reserve closes", func(tx storage.Txn) error { _, err := f.l.CloseReserve(tx, "run1", "completed"); return err }, true},
		{"a zero balance is read each time", func(tx storage.Txn) error { _, err := f.l.Hold(tx, marketing("h4")); return err }, true},
	}
	for _, s := range steps {
		var log readLog
		f.commit(func(tx storage.Txn) error {
			log.Txn = tx
			return s.do(&log)
		})
		if read := slices.Contains(log.keys, reserveKey); read != s.read {
			t.Errorf("%s: reserve balance read = %v, want %v", s.name, read, s.read)
		}
		var page StatementPage
		if err := f.db.View(func(r storage.Reader) (err error) {
			page, err = f.l.Statement(r, "acme", time.Time{}, time.Time{}, "", MaxStatementLimit)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		last := page.Rows[len(page.Rows)-1]
		if b := f.balance("acme"); last.HeldAfter != b.Held || last.AvailableAfter != b.Available {
			t.Errorf("%s: statement says held %d, available %d; the balance %d, %d", s.name, last.HeldAfter, last.AvailableAfter, b.Held, b.Available)
		}
	}
	f.mustVerify()
}
