package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"kirim/storage"
)

func (f *fixture) campaignQuote(req CampaignQuoteRequest, recipients [][2]string) (CampaignQuote, []int64) {
	f.tb.Helper()
	var res CampaignQuote
	prices := make([]int64, 0, len(recipients))
	if err := f.db.View(func(r storage.Reader) error {
		q, err := f.l.NewCampaignQuoter(r, req)
		if err != nil {
			return err
		}
		for _, rc := range recipients {
			p, err := q.Add(rc[0], rc[1])
			if err != nil {
				return err
			}
			prices = append(prices, p)
		}
		res = q.Result()
		return nil
	}); err != nil {
		f.tb.Fatalf("campaign quote: %v", err)
	}
	return res, prices
}

func TestCampaignQuoteCrossesBand(t *testing.T) {
	f := newFixture(t, Config{})
	f.topUp("acme", "TRF-1", 100_000*idr)
	month := monthOf(f.clock.Now(), jakarta(t))
	f.commit(func(tx storage.Txn) error {
		return writeVolume(tx, "acme", CategoryMarketing, month, Volume{Captured: 249_990, Held: 5})
	})
	var rcpts [][2]string
	for i := range 10 {
		rcpts = append(rcpts, [2]string{fmt.Sprintf("6281100%04d", i), "62"})
	}
	q, prices := f.campaignQuote(CampaignQuoteRequest{Account: "acme", Category: CategoryMarketing}, rcpts)
	// Messages 249,996..250,000 of the month at band 1, 250,001..250,005 at band 2.
	want := CampaignQuote{
		Recipients: 10, Total: (5*514 + 5*510) * idr, Currency: "IDR", Category: CategoryMarketing, Rules: Rules2025, Month: month,
		Bands: []BandQuote{
			{Band: 0, UnitPrice: 514 * idr, Count: 5, Amount: 5 * 514 * idr},
			{Band: 1, UnitPrice: 510 * idr, Count: 5, Amount: 5 * 510 * idr},
		},
		FreeReasons: map[string]int64{}, Credits: map[string]int64{},
		Available: 100_000 * idr, BalanceAfter: (100_000 - 5*514 - 5*510) * idr, MonthVolumeBefore: 249_995,
		Positions: ReservePositions{Volume: CategoryMarketing, Month: month, From: 249_995, Count: 10},
	}
	if !reflect.DeepEqual(q, want) {
		t.Fatalf("quote\n got %+v\nwant %+v", q, want)
	}
	for i, rc := range rcpts {
		res := f.mustHold(HoldRequest{ID: fmt.Sprint("m", i), Account: "acme", Recipient: rc[0], Market: rc[1], Category: CategoryMarketing})
		if res.Hold.Amount != prices[i] {
			t.Fatalf("recipient %d held %d, quoted %d", i, res.Hold.Amount, prices[i])
		}
	}
	if b := f.balance("acme"); b.Available != q.BalanceAfter {
		t.Fatalf("available after the holds %d, quote said %d", b.Available, q.BalanceAfter)
	}
}

func TestCampaignQuoteCreditsFreeAndReserve(t *testing.T) {
	f := newFixture(t, Config{Accounts: []Account{{ID: "acme", Currency: "IDR", Timezone: jakarta(t),
		Package: Package{Credits: map[string]int64{CategoryMarketing: 2}}}}})
	f.topUp("acme", "TRF-1", 1000*idr)
	// A free hold runs the month's rollover, so credits are read from their balance.
	f.mustHold(HoldRequest{ID: "svc", Account: "acme", Category: CategoryService, ContentType: "text", InWindow: true})
	rcpts := [][2]string{{"628110001", "62"}, {"628110002", "62"}, {"628110003", "62"}, {"14155550100", "1"}}
	q, prices := f.campaignQuote(CampaignQuoteRequest{Account: "acme", Category: CategoryMarketing}, rcpts)
	if q.Credits[CategoryMarketing] != 2 || q.Total != 2*514*idr || !reflect.DeepEqual(prices, []int64{0, 0, 514 * idr, 514 * idr}) {
		t.Fatalf("quote %+v prices %v", q, prices)
	}
	if q.BalanceAfter != -28*idr || q.Shortfall != 28*idr {
		t.Fatalf("balance after %d shortfall %d", q.BalanceAfter, q.Shortfall)
	}
	// Outside legacy rules the quoter reads everything when it is made, so Add may run
	// after the read transaction has ended.
	var late *CampaignQuoter
	if err := f.db.View(func(r storage.Reader) (err error) {
		late, err = f.l.NewCampaignQuoter(r, CampaignQuoteRequest{Account: "acme", Category: CategoryMarketing})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, rc := range rcpts {
		if _, err := late.Add(rc[0], rc[1]); err != nil {
			t.Fatalf("add after the view: %v", err)
		}
	}
	if lq := late.Result(); !reflect.DeepEqual(lq, q) {
		t.Fatalf("late quote %+v, want %+v", lq, q)
	}
	// An unpayable run cannot reserve.
	if _, err := f.reserve(ReserveRequest{ID: "run1", Account: "acme", CampaignID: "cmp1", Amount: q.Total, Positions: q.Positions}); !isErr(err, ErrInsufficientBalance) {
		t.Fatalf("reserve beyond available: %v", err)
	}
	f.topUp("acme", "TRF-2", 28*idr)
	f.mustReserve(ReserveRequest{ID: "run1", Account: "acme", CampaignID: "cmp1", Amount: q.Total, Positions: q.Positions})
	// A re-quote counting the reserve ends at zero available.
	q2, _ := f.campaignQuote(CampaignQuoteRequest{Account: "acme", Category: CategoryMarketing, ReserveID: "run1"}, rcpts)
	if q2.Reserved != q.Total || q2.Available != 0 || q2.BalanceAfter != 0 || q2.Shortfall != 0 {
		t.Fatalf("re-quote %+v", q2)
	}

	// Service messages are free under 2025 rules: counted by reason, no money.
	qs, _ := f.campaignQuote(CampaignQuoteRequest{Account: "acme", Category: CategoryService, ContentType: "text"}, rcpts)
	if qs.Free != 4 || qs.FreeReasons[FreeService] != 4 || qs.Total != 0 || len(qs.Bands) != 0 {
		t.Fatalf("service quote %+v", qs)
	}
	if err := f.db.View(func(r storage.Reader) error {
		_, err := f.l.NewCampaignQuoter(r, CampaignQuoteRequest{Account: "acme", Category: "Bad Category"})
		return err
	}); !isErr(err, ErrInvalid) {
		t.Fatalf("bad category: %v", err)
	}
}

// TestCampaignQuoteEqualsHolds is the property the campaign launch relies on: for random
// rule sets, cards, markets, starting volumes, package credits and open conversations,
// quoting N recipients and then holding them one after another (in commits of random
// size, funded from a reserve of exactly the quote or from available) gives the same
// price for every recipient, the same total, credits and free counts, and leaves
// available at the quote's BalanceAfter.
func TestCampaignQuoteEqualsHolds(t *testing.T) {
	runs := 60
	if testing.Short() {
		runs = 15
	}
	for seed := range uint64(runs) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { quoteProperty(t, seed) })
	}
}

func quoteProperty(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	rules := []string{Rules2025, RulesLegacy, RulesPerMessage, RulesMUV}[rng.IntN(4)]
	bands := func() ([]int64, []int64) {
		n := rng.IntN(4)
		upTo := make([]int64, n)
		micros := make([]int64, n+1)
		var b int64
		for i := range upTo {
			b += 1 + rng.Int64N(15)
			upTo[i] = b
		}
		for i := range micros {
			micros[i] = (100 + rng.Int64N(500)) * idr
		}
		return upTo, micros
	}
	card := seedCard(jan2025)
	card.Rules = rules
	card.VolumeScope = []string{"", VolumeCategory, VolumeTotal}[rng.IntN(3)]
	card.Prices = nil
	for _, cat := range []string{CategoryMarketing, CategoryUtility, CategoryAuthentication, CategoryService} {
		up, mic := bands()
		card.Prices = append(card.Prices, Price{Market: MarketDefault, Category: cat, UpTo: up, Micros: mic})
		if rng.IntN(2) == 0 {
			up, mic := bands()
			card.Prices = append(card.Prices, Price{Market: "62", Category: cat, UpTo: up, Micros: mic})
		}
	}
	category := []string{CategoryMarketing, CategoryMarketing, CategoryUtility, CategoryAuthentication, CategoryService}[rng.IntN(5)]
	contentType := ""
	if category == CategoryService && rng.IntN(2) == 0 {
		contentType = "text"
	}
	credits := map[string]int64{}
	if rng.IntN(2) == 0 {
		credits[category] = rng.Int64N(6)
	}
	tz := []*time.Location{time.UTC, jakarta(t)}[rng.IntN(2)]
	f := newFixture(t, Config{
		Accounts:  []Account{{ID: "acme", Currency: "IDR", Timezone: tz, Package: Package{Credits: credits}}},
		RateCards: []RateCard{card},
	})
	f.topUp("acme", "TRF-1", 10_000_000*idr)
	markets := []string{"62", "1", "44"}
	recipient := func(i int) [2]string { return [2]string{fmt.Sprintf("62811%05d", i), markets[i%len(markets)]} }
	hold := func(id string, rc [2]string, reserve string) HoldResult {
		return f.mustHold(HoldRequest{ID: id, Account: "acme", MessageID: id, CampaignID: "cmp1", Recipient: rc[0], Market: rc[1],
			Category: category, ContentType: contentType, InWindow: billerInWindow(category), ReserveID: reserve})
	}

	// History: earlier messages of the month (some to the campaign's recipients, which
	// opens legacy conversations and uses credits), some captured, some released.
	for i := range rng.IntN(12) {
		id := fmt.Sprint("old", i)
		hold(id, recipient(rng.IntN(40)), "")
		switch rng.IntN(3) {
		case 0:
			f.capture(id, "")
		case 1:
			f.release(id)
		}
	}
	if rng.IntN(3) == 0 {
		month := monthOf(f.clock.Now(), tz)
		f.commit(func(tx storage.Txn) error {
			return addVolume(tx, "acme", category, month, rng.Int64N(30), rng.Int64N(5))
		})
	}
	if rng.IntN(4) == 0 {
		// The month turns: the rollover is due when the campaign is quoted.
		f.clock.Advance(25 * 24 * time.Hour)
	} else {
		f.clock.Advance(time.Duration(rng.IntN(30)) * time.Hour)
	}

	n := 1 + rng.IntN(60)
	rcpts := make([][2]string, n)
	for i := range rcpts {
		rcpts[i] = recipient(i)
	}
	q, prices := f.campaignQuote(CampaignQuoteRequest{Account: "acme", Category: category, ContentType: contentType}, rcpts)

	// Sends outside the run, to other recipients, between the quote and the launch and
	// while the run feeds: with its positions claimed at launch the run still costs
	// what it was quoted. They share the volume counter (same category, or any under a
	// total-volume card) but not the package credits the quote counted on.
	direct := 0
	var others []string
	for _, c := range []string{CategoryMarketing, CategoryUtility, CategoryAuthentication} {
		if c != category || credits[category] == 0 {
			others = append(others, c)
		}
	}
	send := func() {
		for range rng.IntN(4) {
			direct++
			id := fmt.Sprint("direct", direct)
			f.mustHold(HoldRequest{ID: id, Account: "acme", MessageID: id, Recipient: fmt.Sprintf("44700%05d", direct), Market: "44",
				Category: others[rng.IntN(len(others))]})
		}
	}
	reserve := ""
	if rng.IntN(2) == 0 && q.Total > 0 {
		reserve = "run1"
		send()
		f.mustReserve(ReserveRequest{ID: reserve, Account: "acme", CampaignID: "cmp1", Amount: q.Total, Positions: q.Positions})
	}
	var total, free int64
	used := map[string]int64{}
	var bandSum []BandQuote
	for i := 0; i < n; {
		size := 1 + rng.IntN(10)
		if reserve != "" {
			send()
		}
		if err := f.db.Commit(context.Background(), func(tx storage.Txn) error {
			for j := i; j < min(n, i+size); j++ {
				id := fmt.Sprint("m", j)
				res, err := f.l.Hold(tx, HoldRequest{ID: id, Account: "acme", MessageID: id, CampaignID: "cmp1",
					Recipient: rcpts[j][0], Market: rcpts[j][1], Category: category, ContentType: contentType,
					InWindow: billerInWindow(category), ReserveID: reserve})
				if err != nil {
					return err
				}
				h := res.Hold
				if h.Amount != prices[j] {
					return fmt.Errorf("recipient %d (%s): held %d, quoted %d (%+v)", j, rcpts[j][1], h.Amount, prices[j], h)
				}
				if reserve != "" && h.Amount > 0 && h.ReserveID != reserve {
					return fmt.Errorf("recipient %d was not funded by the reserve of exactly the quote", j)
				}
				total += h.Amount
				if h.Free {
					free++
				}
				if h.CreditKind != "" {
					used[h.CreditKind]++
				}
				if h.Amount > 0 {
					bandSum = addBand(bandSum, h.Band, h.Amount)
				}
			}
			return nil
		}); err != nil {
			t.Fatalf("rules %s category %s: %v", rules, category, err)
		}
		i += size
	}
	if total != q.Total || free != q.Free || !reflect.DeepEqual(used, q.Credits) || q.Recipients != int64(n) {
		t.Fatalf("rules %s category %s: holds took %d, %d free, credits %v; quote %+v", rules, category, total, free, used, q)
	}
	if !reflect.DeepEqual(bandSum, q.Bands) && !(len(bandSum) == 0 && len(q.Bands) == 0) {
		t.Fatalf("bands: holds %+v, quote %+v", bandSum, q.Bands)
	}
	if reserve != "" {
		f.closeReserve(reserve)
		if rv := f.getReserve(reserve); rv.Released != 0 || rv.Drawn != q.Total || rv.PositionsUsed != q.Positions.Count {
			t.Fatalf("reserve of the quote: %+v", rv)
		}
		f.mustVerify()
		return
	}
	if b := f.balance("acme"); b.Available != q.BalanceAfter {
		t.Fatalf("available %d after the holds, the quote said %d", b.Available, q.BalanceAfter)
	}
	f.mustVerify()
}

// addBand keeps hold amounts grouped as CampaignQuote.Bands is: by (band, unit price),
// sorted.
func addBand(bs []BandQuote, band int, price int64) []BandQuote {
	for i := range bs {
		if bs[i].Band == band && bs[i].UnitPrice == price {
			bs[i].Count++
			bs[i].Amount += price
			return bs
		}
	}
	bs = append(bs, BandQuote{Band: band, UnitPrice: price, Count: 1, Amount: price})
	for i := len(bs) - 1; i > 0 && (bs[i].Band < bs[i-1].Band || bs[i].Band == bs[i-1].Band && bs[i].UnitPrice < bs[i-1].UnitPrice); i-- {
		bs[i], bs[i-1] = bs[i-1], bs[i]
	}
	return bs
}

// BenchmarkCampaignQuote quotes a run of 100,000 recipients across two markets, starting
// just below the first volume band boundary so the run crosses it.
func BenchmarkCampaignQuote(b *testing.B) {
	const recipients = 100_000
	db := mustOpen(b, "")
	l := benchLedger(b)
	benchTopUp(b, db, l, 1)
	if err := db.Commit(context.Background(), func(tx storage.Txn) error {
		return writeVolume(tx, "acme", CategoryMarketing, monthOf(l.now(), jakarta(b)), Volume{Captured: 200_000})
	}); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("628%09d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var q CampaignQuote
	for range b.N {
		if err := db.View(func(r storage.Reader) error {
			cq, err := l.NewCampaignQuoter(r, CampaignQuoteRequest{Account: "acme", Category: CategoryMarketing})
			if err != nil {
				return err
			}
			for i := range recipients {
				if _, err := cq.Add(ids[i%len(ids)], []string{"62", "1"}[i&1]); err != nil {
					return err
				}
			}
			q = cq.Result()
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if q.Recipients != recipients || len(q.Bands) != 2 {
		b.Fatalf("quote %+v", q)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*recipients), "ns/recipient")
}
