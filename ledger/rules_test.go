package ledger

import (
	"fmt"
	"testing"
	"time"

	"kirim/engine"
	"kirim/storage"
)

// settle runs Settle in one commit.
func (f *fixture) settle(id, pricingType, category string) SettleResult {
	f.tb.Helper()
	var res SettleResult
	f.commit(func(tx storage.Txn) error {
		var err error
		res, err = f.l.Settle(tx, id, pricingType, category)
		return err
	})
	return res
}

func cardWith(rules string) RateCard {
	c := seedCard(jan2025)
	c.Rules = rules
	return c
}

// TestPerMessageChargesWhateverTheProviderSays: under a per_message card a session
// text costs 75 and an image 150 however the provider reports them (free customer
// service, free entry point, regular in another category); a failure still releases.
func TestPerMessageChargesWhateverTheProviderSays(t *testing.T) {
	f := newFixture(t, Config{RateCards: []RateCard{cardWith(RulesPerMessage)}})
	f.topUp("acme", "TRF-1", 10_000*idr)
	session := func(id, ct string) HoldRequest {
		return HoldRequest{ID: id, Account: "acme", Recipient: "628111", Market: "62", Category: CategoryService, ContentType: ct, InWindow: true}
	}
	tests := []struct {
		req              HoldRequest
		pricing, reports string
		want             int64
		status           string
	}{
		{session("text1", "text"), PricingFreeCustomerService, "service", 75, HoldCaptured},
		{session("image1", "image"), PricingFreeCustomerService, "service", 150, HoldCaptured},
		{session("video1", "video"), PricingFreeEntryPoint, "service", 300, HoldCaptured},
		{session("text2", "text"), PricingRegular, "marketing", 75, HoldCaptured},
		{marketing("tpl1"), PricingFreeCustomerService, "utility", 514, HoldCaptured},
	}
	var charged int64
	for _, tt := range tests {
		h := f.mustHold(tt.req).Hold
		if h.Amount != tt.want*idr || h.Rules != RulesPerMessage || h.Free {
			t.Fatalf("%s: held %+v, want %d", tt.req.ID, h, tt.want)
		}
		res := f.settle(tt.req.ID, tt.pricing, tt.reports)
		if res.Hold.Status != tt.status || res.Captured != tt.want*idr || res.Hold.CapturedCategory != tt.req.Category {
			t.Fatalf("%s reported %s/%s: %+v", tt.req.ID, tt.pricing, tt.reports, res.Hold)
		}
		charged += tt.want * idr
	}
	f.mustHold(session("text3", "text"))
	if res := f.release("text3"); res.Hold.Status != HoldReleased || res.Released != 75*idr {
		t.Fatalf("failed text: %+v", res)
	}
	if b := f.balance("acme"); b.Available != 10_000*idr-charged || b.Held != 0 {
		t.Fatalf("balance %+v, charged %d", b, charged)
	}
	f.mustVerify()
}

// TestBillerChargesFreeReportedPerMessage is the engine's path: the engine releases a
// hold with the provider's free pricing type; under per_message the Biller charges it
// and says so in the message, under 2025 rules it releases.
func TestBillerChargesFreeReportedPerMessage(t *testing.T) {
	for _, tt := range []struct {
		rules   string
		charged int64
		status  string
	}{
		{RulesPerMessage, 75, HoldCaptured},
		{Rules2025, 0, HoldReleased},
	} {
		t.Run(tt.rules, func(t *testing.T) {
			card := cardWith(tt.rules)
			card.Prices = append(card.Prices[:3:3], Price{Market: MarketDefault, Category: CategoryService, Micros: rupiah(75)})
			f := newFixture(t, Config{RateCards: []RateCard{card}})
			f.topUp("acme", "TRF-1", 1_000*idr)
			b := NewBiller(f.l)
			m := &engine.Message{ID: "msg_1", AccountID: "acme", To: "+6281234567890", Type: "text", Category: CategoryService, CreatedAt: f.clock.Now()}
			f.commit(func(tx storage.Txn) error { return b.Hold(tx, m) })
			f.commit(func(tx storage.Txn) error { return b.Release(tx, m, PricingFreeCustomerService) })
			var h Hold
			err := f.db.View(func(r storage.Reader) error {
				var err error
				h, err = f.l.GetHold(r, m.HoldID)
				return err
			})
			if err != nil || h.Status != tt.status || m.Charged != tt.charged*idr {
				t.Fatalf("hold %+v err %v, message charged %d", h, err, m.Charged)
			}
			f.mustVerify()
		})
	}
}

// TestLegacyChargesOncePerConversation: under conversation pricing the provider reports
// every message of a conversation billable; Kirim charges the conversation once,
// whatever order the reports come in, and a conversation whose first message failed
// is charged to the next delivered one.
func TestLegacyChargesOncePerConversation(t *testing.T) {
	type step struct {
		op       string // hold, capture, release
		id       string
		category string // hold: the message's; capture: the reported one
		want     int64  // hold: the price; capture: the amount charged
	}
	tests := []struct {
		name  string
		steps []step
		total int64
	}{
		{"in order", []step{
			{"hold", "a", CategoryMarketing, 514}, {"hold", "b", CategoryMarketing, 0},
			{"capture", "a", CategoryMarketing, 514}, {"capture", "b", CategoryMarketing, 0},
		}, 514},
		{"second reported first", []step{
			{"hold", "a", CategoryMarketing, 514}, {"hold", "b", CategoryMarketing, 0},
			{"capture", "b", CategoryMarketing, 0}, {"capture", "a", CategoryMarketing, 514},
		}, 514},
		{"first failed", []step{
			{"hold", "a", CategoryMarketing, 514}, {"hold", "b", CategoryMarketing, 0}, {"hold", "c", CategoryMarketing, 0},
			{"release", "a", "", 0}, {"capture", "b", CategoryMarketing, 514}, {"capture", "c", CategoryMarketing, 0},
		}, 514},
		{"failed then a new one opens", []step{
			{"hold", "a", CategoryMarketing, 514}, {"release", "a", "", 0}, {"hold", "b", CategoryMarketing, 514},
			{"capture", "b", CategoryMarketing, 514},
		}, 514},
		{"re-categorised into an open conversation", []step{
			{"hold", "u", CategoryUtility, 300}, {"hold", "m", CategoryMarketing, 514},
			{"capture", "u", CategoryUtility, 300}, {"capture", "m", CategoryUtility, 0},
		}, 300},
		{"two categories, two conversations", []step{
			{"hold", "u", CategoryUtility, 300}, {"hold", "m", CategoryMarketing, 514}, {"hold", "m2", CategoryMarketing, 0},
			{"capture", "u", CategoryUtility, 300}, {"capture", "m", CategoryMarketing, 514}, {"capture", "m2", CategoryMarketing, 0},
		}, 814},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{RateCards: []RateCard{cardWith(RulesLegacy)}})
			f.topUp("acme", "TRF-1", 10_000*idr)
			for _, s := range tt.steps {
				f.clock.Advance(time.Minute)
				switch s.op {
				case "hold":
					h := f.mustHold(HoldRequest{ID: s.id, Account: "acme", Recipient: "628111", Market: "62", Category: s.category}).Hold
					if h.Amount != s.want*idr {
						t.Fatalf("hold %s: %d, want %d", s.id, h.Amount/idr, s.want)
					}
				case "capture":
					if res := f.settle(s.id, PricingRegular, s.category); res.Captured != s.want*idr {
						t.Fatalf("capture %s: %d, want %d", s.id, res.Captured/idr, s.want)
					}
				case "release":
					f.release(s.id)
				}
			}
			if b := f.balance("acme"); b.Available != (10_000-tt.total)*idr || b.Held != 0 {
				t.Fatalf("balance %+v, want %d charged", b, tt.total)
			}
			f.mustVerify()
		})
	}
}

// TestMUVOncePerUserPerMonth: under muv rules a recipient's first message of a month
// (in the account's timezone) is charged, later ones that month are free even when the
// provider reports them billable; the next month charges again, a failed first message
// passes the charge to the next delivered one, and a free report still charges.
func TestMUVOncePerUserPerMonth(t *testing.T) {
	card := cardWith(RulesMUV)
	card.Prices = []Price{
		{Market: MarketDefault, Category: CategoryMarketing, Micros: rupiah(600)},
		{Market: MarketDefault, Category: CategoryService, Micros: rupiah(600)},
	}
	f := newFixture(t, Config{RateCards: []RateCard{card}})
	f.topUp("acme", "TRF-1", 10_000*idr)
	// 23:00 on 31 July in Jakarta.
	f.clock.Set(time.Date(2025, 7, 31, 16, 0, 0, 0, time.UTC))
	hold := func(id, to, category string, want int64, reason string) {
		t.Helper()
		h := f.mustHold(HoldRequest{ID: id, Account: "acme", Recipient: to, Market: "62", Category: category}).Hold
		if h.Amount != want*idr || h.FreeReason != reason {
			t.Fatalf("hold %s: %d %q, want %d %q", id, h.Amount/idr, h.FreeReason, want, reason)
		}
	}
	capture := func(id, pricing string, want int64) {
		t.Helper()
		if res := f.settle(id, pricing, CategoryMarketing); res.Captured != want*idr || res.Hold.Status != HoldCaptured {
			t.Fatalf("settle %s %s: %+v, want %d", id, pricing, res, want)
		}
	}
	hold("a1", "628111", CategoryMarketing, 600, "")
	hold("a2", "628111", CategoryService, 0, FreeUserCounted) // another category: still one user
	hold("b1", "628222", CategoryMarketing, 600, "")
	capture("a1", PricingRegular, 600)
	capture("a2", PricingRegular, 0)
	capture("b1", PricingFreeCustomerService, 600)

	hold("c1", "628333", CategoryMarketing, 600, "")
	hold("c2", "628333", CategoryMarketing, 0, FreeUserCounted)
	f.release("c1")
	capture("c2", PricingRegular, 600)

	f.clock.Advance(2 * time.Hour) // 01:00 on 1 August in Jakarta
	hold("a3", "628111", CategoryMarketing, 600, "")
	capture("a3", PricingRegular, 600)
	if b := f.balance("acme"); b.Available != (10_000-4*600)*idr || b.Held != 0 {
		t.Fatalf("balance %+v", b)
	}
	f.mustVerify()
}

// TestVolumeScope: a total-volume card counts every category in one monthly counter
// (TapTalk's table), a category card each on its own.
func TestVolumeScope(t *testing.T) {
	for _, tt := range []struct {
		scope string
		want  []int64 // prices of marketing, utility, marketing, utility
	}{
		{VolumeCategory, []int64{100, 100, 100, 100}},
		{VolumeTotal, []int64{100, 100, 200, 200}},
	} {
		t.Run(tt.scope, func(t *testing.T) {
			card := RateCard{Effective: jan2025, Currency: "IDR", VolumeScope: tt.scope, Prices: []Price{
				{Market: MarketDefault, Category: CategoryMarketing, UpTo: []int64{2}, Micros: rupiah(100, 200)},
				{Market: MarketDefault, Category: CategoryUtility, UpTo: []int64{2}, Micros: rupiah(100, 200)},
			}}
			f := newFixture(t, Config{RateCards: []RateCard{card}})
			f.topUp("acme", "TRF-1", 10_000*idr)
			for i, cat := range []string{CategoryMarketing, CategoryUtility, CategoryMarketing, CategoryUtility} {
				id := fmt.Sprint("m", i)
				if h := f.mustHold(HoldRequest{ID: id, Account: "acme", Market: "62", Category: cat}).Hold; h.Amount != tt.want[i]*idr {
					t.Fatalf("message %d (%s): %d, want %d", i, cat, h.Amount/idr, tt.want[i])
				}
				f.capture(id, "")
			}
			month := monthOf(f.clock.Now(), jakarta(t))
			var got Volume
			if err := f.db.View(func(r storage.Reader) error {
				var err error
				got, err = readVolume(r, "acme", card.volumeOf(CategoryMarketing), month)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if want := map[string]int64{VolumeCategory: 2, VolumeTotal: 4}[tt.scope]; got != (Volume{Captured: want}) {
				t.Fatalf("volume %+v, want %d captured", got, want)
			}
			f.mustVerify()
		})
	}
}

// TestCaptureCountsInTheMonthOfTheAccept: a message accepted at 23:59 on 31 July in
// Jakarta whose delivery is reported after midnight counts in July's volume.
func TestCaptureCountsInTheMonthOfTheAccept(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "TRF-1", 10_000*idr)
	f.clock.Set(time.Date(2025, 7, 31, 16, 59, 0, 0, time.UTC))
	f.mustHold(marketing("late"))
	f.clock.Advance(2 * time.Minute)
	f.capture("late", "")
	vol := func(month string) Volume {
		var v Volume
		if err := f.db.View(func(r storage.Reader) error {
			var err error
			v, err = f.l.MonthVolume(r, "acme", CategoryMarketing, month)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if jul, aug := vol("2025-07"), vol("2025-08"); jul != (Volume{Captured: 1}) || aug != (Volume{}) {
		t.Fatalf("July %+v, August %+v", jul, aug)
	}
}

// TestQuotedRunCostsItsQuote is the figure from the field: a run of four quoted at
// 1,600 (four messages of band 1 at 400) with direct sends before and during it. With
// its positions claimed at launch it costs 1,600; the direct sends go after it.
func TestQuotedRunCostsItsQuote(t *testing.T) {
	card := RateCard{Effective: jan2025, Currency: "IDR", Prices: []Price{
		{Market: MarketDefault, Category: CategoryMarketing, UpTo: []int64{4}, Micros: rupiah(400, 600)},
	}}
	f := newFixture(t, Config{RateCards: []RateCard{card}})
	f.topUp("acme", "TRF-1", 10_000*idr)
	rcpts := [][2]string{{"628001", "62"}, {"628002", "62"}, {"628003", "62"}, {"628004", "62"}}
	q, _ := f.campaignQuote(CampaignQuoteRequest{Account: "acme", Category: CategoryMarketing}, rcpts)
	if q.Total != 1_600*idr || q.Positions != (ReservePositions{Volume: CategoryMarketing, Month: q.Month, Count: 4}) {
		t.Fatalf("quote %+v", q)
	}
	direct := func(id string, want int64) {
		t.Helper()
		if h := f.mustHold(marketing(id)).Hold; h.Amount != want*idr {
			t.Fatalf("direct %s: %d, want %d", id, h.Amount/idr, want)
		}
	}
	direct("d1", 400) // between the quote and the launch
	f.mustReserve(ReserveRequest{ID: "run1", Account: "acme", CampaignID: "cmp1", Amount: q.Total, Positions: q.Positions})
	var spent int64
	for i, rc := range rcpts {
		direct(fmt.Sprint("d", i+2), 600) // while the run feeds: after its positions
		id := fmt.Sprint("c", i)
		h := f.mustHold(HoldRequest{ID: id, Account: "acme", CampaignID: "cmp1", Recipient: rc[0], Market: rc[1],
			Category: CategoryMarketing, ReserveID: "run1"}).Hold
		spent += f.capture(id, "").Captured
		if h.ReserveID != "run1" {
			t.Fatalf("hold %s not funded by the run's reserve: %+v", id, h)
		}
	}
	if spent != q.Total {
		t.Fatalf("the run spent %d, quoted %d", spent/idr, q.Total/idr)
	}
	rv := f.closeReserve("run1")
	if rv.PositionsUsed != 4 || rv.Released != 0 {
		t.Fatalf("reserve %+v", rv)
	}
	f.mustVerify()
}

// TestClosingReserveGivesPositionsBack: a run that ends early (cancelled) gives its
// unused positions back, so later sends are priced where they would have been.
func TestClosingReserveGivesPositionsBack(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "TRF-1", 10_000*idr)
	month := monthOf(f.clock.Now(), jakarta(t))
	pos := ReservePositions{Volume: CategoryMarketing, Month: month, From: 0, Count: 5}
	f.mustReserve(ReserveRequest{ID: "run1", Account: "acme", CampaignID: "cmp1", Amount: 5 * 514 * idr, Positions: pos})
	f.mustHold(HoldRequest{ID: "c0", Account: "acme", CampaignID: "cmp1", Market: "62", Category: CategoryMarketing, ReserveID: "run1"})
	vol := func() Volume {
		var v Volume
		if err := f.db.View(func(r storage.Reader) error {
			var err error
			v, err = readVolume(r, "acme", CategoryMarketing, month)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := vol(); v != (Volume{Held: 5}) {
		t.Fatalf("volume with the run's positions claimed: %+v", v)
	}
	f.closeReserve("run1")
	if v := vol(); v != (Volume{Held: 1}) {
		t.Fatalf("volume after the close: %+v", v)
	}
	// A second close changes nothing.
	f.closeReserve("run1")
	if v := vol(); v != (Volume{Held: 1}) {
		t.Fatalf("volume after a second close: %+v", v)
	}
	if err := f.try(func(tx storage.Txn) error {
		_, err := f.l.Reserve(tx, ReserveRequest{ID: "run2", Account: "acme", CampaignID: "cmp1", Amount: 1, Positions: ReservePositions{Volume: "Bad/", Month: month, Count: 1}})
		return err
	}); !isErr(err, ErrInvalid) {
		t.Fatalf("bad positions: %v", err)
	}
	f.mustVerify()
}
