package ledger

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"kirim/storage"
)

// CampaignQuoteRequest describes the messages of one campaign run to quote.
type CampaignQuoteRequest struct {
	Account     string
	Category    string // the template's category
	ContentType string // for session messages; usually empty
	// CreditKind is the package credit that may cover a message; default Category (as
	// the Biller holds).
	CreditKind string
	// At is when the messages are priced and held: the card in force, the volume month
	// and the credit month are taken at At. Default now. A card change or a month
	// boundary during the run is not predicted.
	At time.Time
	// ReserveID, when set, counts that reserve's remaining money as the run's own (a
	// quote of what is left of a launched run).
	ReserveID string
}

// BandQuote is the messages of a quote charged at one volume band and unit price.
type BandQuote struct {
	Band      int   `json:"band"` // 0-based
	UnitPrice int64 `json:"unit_price"`
	Count     int64 `json:"count"`
	Amount    int64 `json:"amount"`
}

// CampaignQuote is the exact cost of a campaign run, as Hold would charge it.
type CampaignQuote struct {
	Recipients int64  `json:"recipients"`
	Total      int64  `json:"total"` // micros of money the holds would take
	Currency   string `json:"currency"`
	Category   string `json:"category"`
	Rules      string `json:"rules"`
	Month      string `json:"month"` // the volume month
	// Bands groups the charged messages by (band, unit price): when markets differ in
	// price one band has several rows. Sorted by band, then unit price.
	Bands []BandQuote `json:"bands"`
	// Free counts messages free by the pricing rules, FreeReasons by reason.
	Free        int64            `json:"free"`
	FreeReasons map[string]int64 `json:"free_reasons,omitempty"`
	// Credits is the package credit units that would be used, by kind.
	Credits map[string]int64 `json:"credits,omitempty"`
	// Available is the account's available money when the quoter was made; Reserved is
	// the remaining money of the request's reserve, counted as the run's.
	Available int64 `json:"available"`
	Reserved  int64 `json:"reserved"`
	// BalanceAfter is Available + Reserved - Total: available money once the run is
	// paid and its reserve closed. Negative means the run cannot be paid for.
	BalanceAfter int64 `json:"balance_after"`
	// Shortfall is what must be topped up before the run can be paid for (0 when it can).
	Shortfall int64 `json:"shortfall"`
	// MonthVolumeBefore is the month's charged volume of the category (of every
	// category under a total-volume card) before the run: captured plus held messages.
	MonthVolumeBefore int64 `json:"month_volume_before"`
	// Positions are the volume positions the quote priced its money holds at; passing
	// them to Reserve at launch keeps them for the run (ReserveRequest.Positions).
	Positions ReservePositions `json:"positions,omitzero"`
}

// CampaignQuoter prices a campaign's recipients one at a time, exactly as Hold would
// price them if they were held in the same order from now: same card, same volume band
// progression from the month's current volume, same free rules, same package credits
// used first while they last. It keeps counters only, never the recipients, so a run
// of a million costs the same memory as one of ten. It assumes each recipient appears
// once (campaigns dedupe). A CampaignQuoter is not safe for concurrent use. Under
// conversation-based (legacy) rules Add reads each recipient's open conversation, so the
// Reader it was made with must stay open while Add is called; under the other rules
// everything is read when it is made and Add reads nothing.
type CampaignQuoter struct {
	l     *Ledger
	acct  *Account
	card  *RateCard
	req   QuoteRequest
	kind  string
	state quoterState
	res   CampaignQuote
	bands map[[2]int64]*BandQuote // (band, unit price)
}

// quoterState is the pricing state of storage with the holds priced so far on top:
// each money hold adds one to its month's volume, each credit hold uses one unit.
type quoterState struct {
	base storeState
	vol  map[[2]string]int64 // (category, month) -> volume including priced holds
	left map[string]int64    // credit kind -> units left after priced holds
}

func (s *quoterState) volume(counter, month string) (int64, error) {
	k := [2]string{counter, month}
	if v, ok := s.vol[k]; ok {
		return v, nil
	}
	v, err := s.base.volume(counter, month)
	if err != nil {
		return 0, err
	}
	s.vol[k] = v
	return v, nil
}

func (s *quoterState) conversationUntil(recipient, category string) (int64, error) {
	return s.base.conversationUntil(recipient, category)
}

// userCounted reads storage only: each recipient of a run appears once.
func (s *quoterState) userCounted(recipient, month string) (bool, error) {
	return s.base.userCounted(recipient, month)
}

func (s *quoterState) credits(kind string) (int64, error) {
	if v, ok := s.left[kind]; ok {
		return v, nil
	}
	v, err := s.base.credits(kind)
	if err != nil {
		return 0, err
	}
	s.left[kind] = v
	return v, nil
}

// held applies one priced hold to the state, as Hold's writes would.
func (s *quoterState) held(q Quote, credit bool, kind string) {
	switch {
	case credit:
		s.left[kind]--
	case holdMoney(q, credit) > 0:
		s.vol[[2]string{q.Volume, q.Month}]++
	}
}

// NewCampaignQuoter starts a quote of one campaign run for req.Account.
func (l *Ledger) NewCampaignQuoter(r storage.Reader, req CampaignQuoteRequest) (*CampaignQuoter, error) {
	acct, err := l.account(req.Account)
	if err != nil {
		return nil, fmt.Errorf("ledger: campaign quote: %w", err)
	}
	if req.At.IsZero() {
		req.At = l.now()
	}
	if req.CreditKind == "" {
		req.CreditKind = req.Category
	}
	qreq := QuoteRequest{
		Account: acct.ID, Category: req.Category, ContentType: req.ContentType,
		InWindow: billerInWindow(req.Category), At: req.At,
	}
	card, err := l.pricingCard(acct, qreq)
	if err != nil {
		return nil, fmt.Errorf("ledger: campaign quote %s: %w", acct.ID, err)
	}
	base := storeState{r: r, acct: acct}
	if len(acct.Package.Credits) > 0 {
		plan, err := l.rolloverDue(r, acct, req.At)
		if err != nil {
			return nil, fmt.Errorf("ledger: campaign quote %s: %w", acct.ID, err)
		}
		base.rolloverDue = plan.due
	}
	q := &CampaignQuoter{
		l: l, acct: acct, card: card, req: qreq, kind: req.CreditKind,
		state: quoterState{base: base, vol: make(map[[2]string]int64, 1), left: make(map[string]int64, 1)},
		bands: make(map[[2]int64]*BandQuote, 4),
		res: CampaignQuote{
			Currency: acct.Currency, Category: req.Category, Month: monthOf(req.At, acct.Timezone),
			Rules: card.Rules, FreeReasons: map[string]int64{}, Credits: map[string]int64{},
		},
	}
	if q.res.Rules == "" {
		q.res.Rules = l.rules
	}
	if q.res.Available, err = balanceOf(r, acct.Currency, availableAccount(acct.ID)); err != nil {
		return nil, fmt.Errorf("ledger: campaign quote %s: %w", acct.ID, err)
	}
	if req.ReserveID != "" {
		rv, err := readReserve(r, req.ReserveID)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("ledger: campaign quote %s: reserve %s: %w", acct.ID, req.ReserveID, err)
		case rv.Account == acct.ID && rv.Status == ReserveOpen:
			q.res.Reserved = rv.Remaining
		}
	}
	// Load now what every Add needs, so that outside legacy and muv rules Add reads
	// nothing.
	q.res.Positions = ReservePositions{Volume: card.volumeOf(req.Category), Month: q.res.Month}
	if q.res.MonthVolumeBefore, err = q.state.volume(q.res.Positions.Volume, q.res.Month); err != nil {
		return nil, fmt.Errorf("ledger: campaign quote %s: %w", acct.ID, err)
	}
	if acct.Package.Credits[q.kind] > 0 {
		if _, err := q.state.credits(q.kind); err != nil {
			return nil, fmt.Errorf("ledger: campaign quote %s: %w", acct.ID, err)
		}
	}
	return q, nil
}

// Add prices the next recipient (wa_id digits and market calling code, as the Biller
// derives them: MarketOf) and returns the money its hold would take: 0 when it is free
// or a package credit covers it.
func (q *CampaignQuoter) Add(recipientWaID, market string) (int64, error) {
	req := q.req
	req.Recipient, req.Market = recipientWaID, market
	p, credit, err := q.l.price(&q.state, q.acct, q.card, req, q.res.Month, q.kind, false)
	if err != nil {
		return 0, fmt.Errorf("ledger: campaign quote %s: recipient %s: %w", q.acct.ID, recipientWaID, err)
	}
	q.state.held(p, credit, q.kind)
	q.res.Recipients++
	money := holdMoney(p, credit)
	switch {
	case p.Free:
		q.res.Free++
		q.res.FreeReasons[p.FreeReason]++
	case credit:
		q.res.Credits[q.kind]++
	case money > 0:
		q.res.Total += money
		q.res.Positions.Count++
		k := [2]int64{int64(p.Band), money}
		b := q.bands[k]
		if b == nil {
			b = &BandQuote{Band: p.Band, UnitPrice: money}
			q.bands[k] = b
		}
		b.Count++
		b.Amount += money
	}
	return money, nil
}

// Result returns the quote of the recipients added so far. Add may continue after it.
func (q *CampaignQuoter) Result() CampaignQuote {
	res := q.res
	res.FreeReasons = make(map[string]int64, len(q.res.FreeReasons))
	for k, v := range q.res.FreeReasons {
		res.FreeReasons[k] = v
	}
	res.Credits = make(map[string]int64, len(q.res.Credits))
	for k, v := range q.res.Credits {
		res.Credits[k] = v
	}
	res.Bands = make([]BandQuote, 0, len(q.bands))
	for _, b := range q.bands {
		res.Bands = append(res.Bands, *b)
	}
	sort.Slice(res.Bands, func(i, j int) bool {
		if res.Bands[i].Band != res.Bands[j].Band {
			return res.Bands[i].Band < res.Bands[j].Band
		}
		return res.Bands[i].UnitPrice < res.Bands[j].UnitPrice
	})
	res.Positions.From = res.MonthVolumeBefore
	if res.Positions.Count == 0 {
		res.Positions = ReservePositions{}
	}
	res.BalanceAfter = res.Available + res.Reserved - res.Total
	res.Shortfall = max(0, -res.BalanceAfter)
	return res
}
