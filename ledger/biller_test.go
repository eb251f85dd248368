package ledger

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"kirim/engine"
	"kirim/phone"
	"kirim/storage"
)

func engineMessage(id, to, category, typ string) *engine.Message {
	return &engine.Message{ID: id, AccountID: "acme", Number: "main", To: to, Type: typ, Category: category,
		CreatedAt: time.Date(2025, 7, 10, 9, 0, 0, 0, time.UTC)}
}

func (f *fixture) billerHold(b *Biller, m *engine.Message) error {
	return f.try(func(tx storage.Txn) error { return b.Hold(tx, m) })
}

func TestBillerHoldPricesAndSetsMessage(t *testing.T) {
	card := seedCard(jan2025)
	// Indonesia gets its own marketing price; everyone else the default.
	card.Prices = append(card.Prices, Price{Market: "62", Category: CategoryMarketing, Micros: rupiah(400)})
	f := newFixture(t, Config{RateCards: []RateCard{card}})
	f.topUp("acme", "ref-1", 10_000*idr)
	b := NewBiller(f.l)

	cases := []struct {
		name, to, category, typ string
		price                   int64
		free                    bool
	}{
		{"marketing to a market with its own price", "+6281234567890", "marketing", "template", 400 * idr, false},
		{"marketing elsewhere at the default price", "+14155550123", "marketing", "template", 514 * idr, false},
		{"utility outside any window we know of", "+6281234567891", "utility", "template", 300 * idr, false},
		{"service messages are free under 2025 rules", "+6281234567892", "service", "text", 0, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := engineMessage("msg_"+string(rune('a'+i)), tc.to, tc.category, tc.typ)
			if err := f.billerHold(b, m); err != nil {
				t.Fatal(err)
			}
			if m.Price != tc.price || m.Currency != "IDR" || m.HoldID != m.ID {
				t.Fatalf("message price %d %s hold %q; want %d IDR %q", m.Price, m.Currency, m.HoldID, tc.price, m.ID)
			}
			var h Hold
			if err := f.db.View(func(r storage.Reader) error {
				var err error
				h, err = f.l.GetHold(r, m.HoldID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			wantMarket := "62"
			if strings.HasPrefix(tc.to, "+1") {
				wantMarket = "1"
			}
			if h.Market != wantMarket || h.Recipient != tc.to[1:] || h.ContentType != tc.typ || h.Free != tc.free || h.MessageID != m.ID {
				t.Fatalf("hold %+v", h)
			}
		})
	}
	held := int64(400+514+300) * idr
	if bal := f.balance("acme"); bal.Held != held || bal.Available != 10_000*idr-held {
		t.Fatalf("balance %+v", bal)
	}
	f.mustVerify()
}

func TestBillerInsufficientBalanceIsCodedAndWritesNothing(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "ref-1", 600*idr)
	b := NewBiller(f.l)
	if err := f.billerHold(b, engineMessage("msg_1", "+6281234567890", "marketing", "template")); err != nil {
		t.Fatal(err)
	}
	before := f.head()
	m := engineMessage("msg_2", "+6281234567891", "marketing", "template")
	err := f.billerHold(b, m)
	if !isErr(err, ErrInsufficientBalance) {
		t.Fatalf("want ErrInsufficientBalance, got %v", err)
	}
	var coded interface{ Code() string }
	if !errors.As(err, &coded) || coded.Code() != "insufficient_balance" {
		t.Fatalf("error %v has no insufficient_balance code", err)
	}
	if !strings.Contains(err.Error(), "insufficient balance") {
		t.Fatalf("message %q", err)
	}
	if m.HoldID != "" || m.Price != 0 {
		t.Fatalf("refused message was changed: %+v", m)
	}
	if after := f.head(); after != before {
		t.Fatalf("a refused hold wrote entries: %d -> %d", before.Seq, after.Seq)
	}
	if bal := f.balance("acme"); bal.Available != 86*idr || bal.Held != 514*idr {
		t.Fatalf("balance %+v", bal)
	}
}

func TestBillerUnknownAccountAndUnpricedMarket(t *testing.T) {
	card := seedCard(jan2025)
	card.Prices = []Price{{Market: "62", Category: CategoryMarketing, Micros: rupiah(514)}}
	f := newFixture(t, Config{RateCards: []RateCard{card}})
	f.topUp("acme", "ref-1", 1000*idr)
	b := NewBiller(f.l)
	m := engineMessage("msg_1", "+6281234567890", "marketing", "template")
	m.AccountID = "nobody"
	if err := f.billerHold(b, m); !isErr(err, ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
	if err := f.billerHold(b, engineMessage("msg_2", "+14155550123", "marketing", "template")); !isErr(err, ErrInvalid) {
		t.Fatalf("unpriced market: %v", err)
	}
}

func TestBillerCaptureAndRelease(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "ref-1", 10_000*idr)
	b := NewBiller(f.l)
	hold := func(id, category string) *engine.Message {
		m := engineMessage(id, "+6281234567890", category, "template")
		if err := f.billerHold(b, m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	capture := func(m *engine.Message, category string) int64 {
		var got int64
		f.commit(func(tx storage.Txn) error {
			var err error
			got, err = b.Capture(tx, m, category)
			return err
		})
		return got
	}
	release := func(m *engine.Message, reason string) {
		f.commit(func(tx storage.Txn) error { return b.Release(tx, m, reason) })
	}

	cases := []struct {
		name     string
		category string // held as
		reported string // pricing.category of the webhook
		want     int64
	}{
		{"same category", "marketing", "marketing", 514 * idr},
		{"provider's case is normalised", "marketing", "MARKETING", 514 * idr},
		{"empty means the hold's own", "marketing", "", 514 * idr},
		{"re-categorised cheaper", "marketing", "utility", 300 * idr},
		{"a category the card does not price is charged as held", "marketing", "marketing_lite", 514 * idr},
		{"not a name at all is charged as held", "utility", "mark eting!", 300 * idr},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := hold("msg_c"+string(rune('a'+i)), tc.category)
			if got := capture(m, tc.reported); got != tc.want {
				t.Fatalf("captured %d, want %d", got, tc.want)
			}
			// The engine settles once, but a second capture must not charge twice.
			if got := capture(m, tc.reported); got != tc.want {
				t.Fatalf("second capture reported %d, want %d", got, tc.want)
			}
		})
	}
	spent := int64(514*4+300+300) * idr

	m := hold("msg_failed", "marketing")
	release(m, "failed")
	release(m, "failed")
	if got := capture(m, "marketing"); got != 0 {
		t.Fatalf("capture after release charged %d", got)
	}
	if bal := f.balance("acme"); bal.Available != 10_000*idr-spent || bal.Held != 0 {
		t.Fatalf("balance %+v, want available %d held 0", bal, 10_000*idr-spent)
	}

	// Messages without a hold (accepted while charging was off) and holds that are
	// missing settle as free instead of blocking the webhook they came in.
	var logs bytes.Buffer
	b.log = slog.New(slog.NewTextHandler(&logs, nil))
	none := engineMessage("msg_none", "+6281234567890", "marketing", "template")
	if got := capture(none, "marketing"); got != 0 {
		t.Fatalf("capture without hold: %d", got)
	}
	release(none, "failed")
	lost := engineMessage("msg_lost", "+6281234567890", "marketing", "template")
	lost.HoldID = "msg_lost"
	if got := capture(lost, "marketing"); got != 0 {
		t.Fatalf("capture of a missing hold: %d", got)
	}
	release(lost, "cancelled")
	if !strings.Contains(logs.String(), "hold is missing") {
		t.Fatalf("a missing hold was not logged: %s", logs.String())
	}
	rep := f.mustVerify()
	if rep.OpenHolds != 0 {
		t.Fatalf("open holds %d", rep.OpenHolds)
	}
}

func TestAdjustOnce(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "ref-1", 1000*idr)
	adjust := func(key, hash string, amount int64) (AdjustResult, bool, error) {
		var res AdjustResult
		var replayed bool
		err := f.try(func(tx storage.Txn) error {
			var err error
			res, replayed, err = f.l.AdjustOnce(tx, "acme", key, []byte(hash), amount, "correction")
			return err
		})
		return res, replayed, err
	}
	first, replayed, err := adjust("k1", "body-1", -100*idr)
	if err != nil || replayed || first.Entry.Kind != KindAdjustment || first.Entry.Amount != -100*idr {
		t.Fatalf("first: %+v %v %v", first.Entry, replayed, err)
	}
	again, replayed, err := adjust("k1", "body-1", -100*idr)
	if err != nil || !replayed || again.Entry.Seq != first.Entry.Seq || again.Entry.Hash != first.Entry.Hash {
		t.Fatalf("replay: %+v %v %v", again.Entry, replayed, err)
	}
	if _, _, err := adjust("k1", "body-2", -200*idr); !isErr(err, ErrConflict) {
		t.Fatalf("same key, other request: %v", err)
	}
	if _, _, err := adjust("", "", 50*idr); err != nil {
		t.Fatal(err)
	}
	if _, _, err := adjust("", "", 50*idr); err != nil {
		t.Fatal(err)
	}
	if _, _, err := adjust("k2", "body-3", -10_000*idr); !isErr(err, ErrInsufficientBalance) {
		t.Fatalf("overdraw: %v", err)
	}
	// The refused request left no record: the key is still free for a valid one.
	if _, replayed, err := adjust("k2", "body-4", -1*idr); err != nil || replayed {
		t.Fatalf("key after a refusal: %v %v", replayed, err)
	}
	if bal := f.balance("acme"); bal.Available != (1000-100+50+50-1)*idr {
		t.Fatalf("balance %+v", bal)
	}
	f.mustVerify()
}

func TestRateCardAt(t *testing.T) {
	later := seedCard(time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC))
	later.Rules = RulesPerMessage
	f := newFixture(t, Config{RateCards: []RateCard{later, seedCard(jan2025)}})
	c, acct, err := f.l.RateCardAt("acme", time.Date(2025, 7, 31, 0, 0, 0, 0, time.UTC))
	if err != nil || !c.Effective.Equal(jan2025) || c.Rules != Rules2025 || acct.Currency != "IDR" {
		t.Fatalf("july: %v %+v %v", c.Effective, c.Rules, err)
	}
	c, _, err = f.l.RateCardAt("acme", time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || c.Rules != RulesPerMessage {
		t.Fatalf("august: %v %v", c.Effective, err)
	}
	if _, _, err := f.l.RateCardAt("acme", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)); !isErr(err, ErrNotFound) {
		t.Fatalf("before any card: %v", err)
	}
	if _, _, err := f.l.RateCardAt("nobody", jan2025); !isErr(err, ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
}

func TestMarketOfAgreesWithThePhoneParser(t *testing.T) {
	for _, n := range []string{
		"+6281234567890", "+14155550123", "+447911123456", "+79161234567", "+77012345678",
		"+8613912345678", "+9647901234567", "+35312345678", "+12425551234", "+8562012345678",
		"+60123456789", "+6591234567", "+0812", "6281234567890", "+", "",
	} {
		if got, want := marketOf(n), phone.CallingCode(n); got != want && !(want == "" || want == "0") {
			t.Errorf("marketOf(%q) = %q, the parser says %q", n, got, want)
		}
	}
}

func BenchmarkMarketOf(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if marketOf("+6281234567890") != "62" {
			b.Fatal("wrong market")
		}
	}
}

// A free service message the provider charges anyway, on a card without any service
// price, is released unpaid (and logged) rather than failing the status it came in.
func TestBillerUnpricedCaptureReleases(t *testing.T) {
	card := RateCard{Effective: jan2025, Currency: "IDR", Prices: []Price{{Market: MarketDefault, Category: CategoryMarketing, Micros: rupiah(514)}}}
	f := newFixture(t, Config{RateCards: []RateCard{card}})
	b := NewBiller(f.l)
	var logs bytes.Buffer
	b.log = slog.New(slog.NewTextHandler(&logs, nil))
	svc := engineMessage("msg_svc", "+6281234567890", "service", "text")
	if err := f.billerHold(b, svc); err != nil {
		t.Fatal(err)
	}
	var got int64
	f.commit(func(tx storage.Txn) error {
		var err error
		got, err = b.Capture(tx, svc, "service")
		return err
	})
	if got != 0 || !strings.Contains(logs.String(), "released unpaid") {
		t.Fatalf("captured %d; logs %s", got, logs.String())
	}
	var h Hold
	if err := f.db.View(func(r storage.Reader) error {
		var err error
		h, err = f.l.GetHold(r, svc.HoldID)
		return err
	}); err != nil || h.Status != HoldReleased || h.ReleaseReason != "unpriced" {
		t.Fatalf("hold %+v %v", h, err)
	}
	f.mustVerify()
}
