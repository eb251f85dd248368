package ledger

import (
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// RateCard is a dated price list. The card in force for a message is the latest one
// whose Effective is not after the message's time and whose Currency is the account's.
type RateCard struct {
	Effective time.Time
	Currency  string
	// Rules is Rules2025, RulesLegacy, RulesPerMessage or RulesMUV; empty means
	// Config.Rules.
	Rules string
	// VolumeScope is VolumeCategory (empty means it) or VolumeTotal: whether a volume
	// band position counts the month's charged messages of the message's category or
	// of every category.
	VolumeScope string
	Prices      []Price
	// SessionPrices prices service (session) messages by content type ("text", "image",
	// "video", "document"...) in micros, whenever the rules charge them. A content type
	// not listed falls back to the "service" entry of Prices.
	SessionPrices map[string]int64
}

// MarketDefault is the market of a price that applies to every calling code without
// one of its own.
const MarketDefault = "*"

// Price is the per-message price of one category in one market, by monthly volume band.
// Bands are given by ascending inclusive upper bounds: with UpTo {250000, 1000000}
// messages 1..250,000 of a month cost Micros[0], 250,001..1,000,000 Micros[1] and every
// later one Micros[2]. Prices need not fall as volume grows.
type Price struct {
	Market   string // calling code such as "62", or MarketDefault
	Category string
	UpTo     []int64
	Micros   []int64 // len(UpTo)+1 prices in micros
}

// Validate checks the card's fields.
func (c RateCard) Validate() error {
	if c.Effective.IsZero() {
		return fmt.Errorf("rate card: effective date is required: %w", ErrInvalid)
	}
	if len(c.Currency) != 3 {
		return fmt.Errorf("rate card %s: currency %q must be a 3-letter code: %w", c.Effective.Format(time.DateOnly), c.Currency, ErrInvalid)
	}
	if c.Rules != "" && !validRules(c.Rules) {
		return fmt.Errorf("rate card %s: rules %q: %w", c.Effective.Format(time.DateOnly), c.Rules, ErrInvalid)
	}
	if c.VolumeScope != "" && c.VolumeScope != VolumeCategory && c.VolumeScope != VolumeTotal {
		return fmt.Errorf("rate card %s: volume scope %q is not %q or %q: %w", c.Effective.Format(time.DateOnly), c.VolumeScope, VolumeCategory, VolumeTotal, ErrInvalid)
	}
	seen := make(map[[2]string]bool, len(c.Prices))
	for i, p := range c.Prices {
		if err := p.validate(); err != nil {
			return fmt.Errorf("rate card %s: prices[%d]: %w", c.Effective.Format(time.DateOnly), i, err)
		}
		k := [2]string{p.Market, p.Category}
		if seen[k] {
			return fmt.Errorf("rate card %s: prices[%d]: duplicate market %q category %q: %w", c.Effective.Format(time.DateOnly), i, p.Market, p.Category, ErrInvalid)
		}
		seen[k] = true
	}
	for ct, v := range c.SessionPrices {
		if err := validName("session content type", ct); err != nil {
			return fmt.Errorf("rate card %s: %w", c.Effective.Format(time.DateOnly), err)
		}
		if v < 0 {
			return fmt.Errorf("rate card %s: session price of %q is negative: %w", c.Effective.Format(time.DateOnly), ct, ErrInvalid)
		}
	}
	return nil
}

func (p Price) validate() error {
	if p.Market != MarketDefault {
		if p.Market == "" || len(p.Market) > 4 {
			return fmt.Errorf("market %q must be a calling code or %q: %w", p.Market, MarketDefault, ErrInvalid)
		}
		for i := 0; i < len(p.Market); i++ {
			if p.Market[i] < '0' || p.Market[i] > '9' {
				return fmt.Errorf("market %q must be a calling code or %q: %w", p.Market, MarketDefault, ErrInvalid)
			}
		}
	}
	if err := validName("category", p.Category); err != nil {
		return err
	}
	if len(p.Micros) != len(p.UpTo)+1 {
		return fmt.Errorf("%s/%s: %d band bounds need %d prices, got %d: %w", p.Market, p.Category, len(p.UpTo), len(p.UpTo)+1, len(p.Micros), ErrInvalid)
	}
	for i, b := range p.UpTo {
		if b <= 0 || (i > 0 && b <= p.UpTo[i-1]) {
			return fmt.Errorf("%s/%s: band bounds must be positive and ascending (up_to[%d] = %d): %w", p.Market, p.Category, i, b, ErrInvalid)
		}
	}
	for i, m := range p.Micros {
		if m < 0 {
			return fmt.Errorf("%s/%s: price[%d] is negative: %w", p.Market, p.Category, i, ErrInvalid)
		}
	}
	return nil
}

// band returns the band index and price of the n-th message (1-based) of a month.
func (p Price) band(n int64) (int, int64) {
	for i, b := range p.UpTo {
		if n <= b {
			return i, p.Micros[i]
		}
	}
	return len(p.UpTo), p.Micros[len(p.UpTo)]
}

func (c *RateCard) price(market, category string) (Price, bool) {
	var def *Price
	for i := range c.Prices {
		p := &c.Prices[i]
		if p.Category != category {
			continue
		}
		if p.Market == market {
			return *p, true
		}
		if p.Market == MarketDefault {
			def = p
		}
	}
	if def != nil {
		return *def, true
	}
	return Price{}, false
}

// volumeAll is the category part of the volume counter of a VolumeTotal card.
const volumeAll = "*"

// volumeOf is the volume counter a message of category counts in under c.
func (c *RateCard) volumeOf(category string) string {
	if c.VolumeScope == VolumeTotal {
		return volumeAll
	}
	return category
}

// card returns the card in force at t for currency.
func (l *Ledger) card(currency string, t time.Time) (*RateCard, bool) {
	cards := l.book.Load().cards
	for i := len(cards) - 1; i >= 0; i-- {
		c := &cards[i]
		if c.Currency == currency && !c.Effective.After(t) {
			return c, true
		}
	}
	return nil, false
}

// QuoteRequest describes one message to price.
type QuoteRequest struct {
	Account        string
	Market         string // recipient's calling code, e.g. "62"
	Category       string // marketing, utility, authentication, authentication_international, service
	ContentType    string // for session messages: text, image, video, document...
	InWindow       bool   // a customer-service window with the recipient is open
	FreeEntryPoint bool   // a free-entry-point window with the recipient is open
	Recipient      string // wa_id; legacy rules charge once per conversation with it
	At             time.Time
}

// Quote is the price of one message.
type Quote struct {
	Amount     int64 // micros
	Currency   string
	Category   string
	Free       bool
	FreeReason string // service, utility_in_window, free_entry_point, conversation_open
	Rules      string
	Effective  time.Time // the card's effective date
	Month      string    // volume month in the account's timezone, "2006-01"
	Volume     string    // the volume counter: the category, or "*" for a VolumeTotal card
	Position   int64     // the message's number within the month's volume counter
	Band       int       // 0-based volume band
}

// Free reasons.
const (
	FreeService          = "service"
	FreeUtilityInWindow  = "utility_in_window"
	FreeEntryPoint       = "free_entry_point"
	FreeConversationOpen = "conversation_open"
	// FreeUserCounted: under RulesMUV the recipient was charged already this month.
	FreeUserCounted = "user_counted"
)

// Quote prices one message without changing anything. The volume position counts the
// month's captured and currently held messages of the category, so a burst of holds is
// priced as if each earlier one will be delivered.
func (l *Ledger) Quote(r storage.Reader, req QuoteRequest) (Quote, error) {
	acct, err := l.account(req.Account)
	if err != nil {
		return Quote{}, fmt.Errorf("ledger: quote: %w", err)
	}
	if req.At.IsZero() {
		req.At = l.now()
	}
	q, err := l.quote(r, acct, req, false)
	if err != nil {
		return Quote{}, fmt.Errorf("ledger: quote %s: %w", req.Account, err)
	}
	return q, nil
}

// quote prices req from storage. billable skips the free rules: the provider has
// reported the message as charged.
func (l *Ledger) quote(r storage.Reader, acct *Account, req QuoteRequest, billable bool) (Quote, error) {
	card, err := l.pricingCard(acct, req)
	if err != nil {
		return Quote{}, err
	}
	q, _, err := l.price(storeState{r: r, acct: acct}, acct, card, req, monthOf(req.At, acct.Timezone), "", billable)
	return q, err
}

// pricingCard validates the fields of req that are the same for every recipient of a
// campaign and returns the card in force at req.At.
func (l *Ledger) pricingCard(acct *Account, req QuoteRequest) (*RateCard, error) {
	if err := validName("category", req.Category); err != nil {
		return nil, err
	}
	if req.ContentType != "" {
		if err := validName("content_type", req.ContentType); err != nil {
			return nil, err
		}
	}
	card, ok := l.card(acct.Currency, req.At)
	if !ok {
		return nil, fmt.Errorf("no %s rate card in force at %s: %w", acct.Currency, req.At.Format(time.RFC3339), ErrInvalid)
	}
	return card, nil
}

// pricingState is what a price depends on besides the rate card. Hold, Quote and
// Capture read it from storage; a CampaignQuoter layers the holds it has priced so far
// on top, which is how a quote of many messages equals holding them one by one.
type pricingState interface {
	// volume is the month's count of charged messages in a volume counter (a category,
	// or volumeAll): captured plus held.
	volume(counter, month string) (int64, error)
	// conversationUntil is when the legacy conversation with recipient in category
	// ends, in Unix nanoseconds; 0 when there is none.
	conversationUntil(recipient, category string) (int64, error)
	// userCounted is whether recipient was charged already in month under RulesMUV.
	userCounted(recipient, month string) (bool, error)
	// credits is the unused package units of kind.
	credits(kind string) (int64, error)
}

// storeState reads pricing state from storage. rolloverDue says the month has turned
// without a rollover yet, so the package's new grant is what is left.
type storeState struct {
	r           storage.Reader
	acct        *Account
	rolloverDue bool
}

func (s storeState) volume(counter, month string) (int64, error) {
	vol, err := readVolume(s.r, s.acct.ID, counter, month)
	return vol.Captured + vol.Held, err
}

func (s storeState) userCounted(recipient, month string) (bool, error) {
	_, err := s.r.Get(muvKey(s.acct.ID, month, recipient))
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read unique user: %w", err)
	}
	return true, nil
}

func (s storeState) conversationUntil(recipient, category string) (int64, error) {
	until, err := readInt(s.r, conversationKey(s.acct.ID, recipient, category))
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return 0, fmt.Errorf("read conversation: %w", err)
	}
	return until, nil
}

func (s storeState) credits(kind string) (int64, error) {
	if s.rolloverDue {
		return s.acct.Package.Credits[kind], nil
	}
	return balanceOf(s.r, creditAsset(kind), creditAccount(s.acct.ID, kind))
}

// price is the one pricing path of the ledger: it prices req on card against st and,
// when creditKind is set, decides whether a unit of that package credit covers the
// message instead of money (only kinds in the account's package count). billable skips
// the free rules. month is req.At's month in the account's timezone (monthOf), passed
// in because formatting it is a third of the cost of pricing a campaign recipient.
func (l *Ledger) price(st pricingState, acct *Account, card *RateCard, req QuoteRequest, month, creditKind string, billable bool) (Quote, bool, error) {
	if req.Recipient != "" {
		if err := validID("recipient", req.Recipient); err != nil {
			return Quote{}, false, err
		}
	}
	q := Quote{
		Currency:  acct.Currency,
		Category:  req.Category,
		Rules:     card.Rules,
		Effective: card.Effective,
		Month:     month,
		Volume:    card.volumeOf(req.Category),
	}
	if q.Rules == "" {
		q.Rules = l.rules
	}
	if !billable {
		reason, err := freeReason(st, q.Rules, req, q.Month)
		if err != nil {
			return Quote{}, false, err
		}
		if reason != "" {
			q.Free, q.FreeReason = true, reason
			return q, false, nil
		}
	}
	var session bool
	if req.Category == CategoryService && req.ContentType != "" {
		q.Amount, session = card.SessionPrices[req.ContentType]
	}
	if !session {
		p, ok := card.price(req.Market, req.Category)
		if !ok {
			what := fmt.Sprintf("category %q", req.Category)
			if req.Category == CategoryService && req.ContentType != "" {
				what = fmt.Sprintf("session messages of type %q", req.ContentType)
			}
			return Quote{}, false, fmt.Errorf("the rate card of %s has no price for %s to market %q: %w",
				card.Effective.Format(time.DateOnly), what, req.Market, errNoPrice)
		}
		vol, err := st.volume(q.Volume, q.Month)
		if err != nil {
			return Quote{}, false, err
		}
		q.Position = vol + 1
		q.Band, q.Amount = p.band(q.Position)
	}
	if creditKind == "" || q.Amount <= 0 || acct.Package.Credits[creditKind] <= 0 {
		return q, false, nil
	}
	left, err := st.credits(creditKind)
	if err != nil {
		return Quote{}, false, err
	}
	return q, left > 0, nil
}

// holdMoney is the money a hold of q takes: nothing when it is free or a credit unit
// covers it. Only holds that take money count in the month's volume.
func holdMoney(q Quote, credit bool) int64 {
	if q.Free || credit {
		return 0
	}
	return q.Amount
}

// freeReason is why rules make req free, or "". month is req.At's volume month.
func freeReason(st pricingState, rules string, req QuoteRequest, month string) (string, error) {
	switch rules {
	case Rules2025:
		switch {
		case req.FreeEntryPoint:
			return FreeEntryPoint, nil
		case req.Category == CategoryService:
			return FreeService, nil
		case req.Category == CategoryUtility && req.InWindow:
			return FreeUtilityInWindow, nil
		}
	case RulesLegacy:
		if req.FreeEntryPoint {
			return FreeEntryPoint, nil
		}
		if req.Recipient == "" {
			return "", nil
		}
		until, err := st.conversationUntil(req.Recipient, req.Category)
		if err != nil {
			return "", err
		}
		if req.At.UnixNano() < until {
			return FreeConversationOpen, nil
		}
	case RulesMUV:
		if req.Recipient == "" {
			return "", nil
		}
		counted, err := st.userCounted(req.Recipient, month)
		if err != nil || !counted {
			return "", err
		}
		return FreeUserCounted, nil
	}
	return "", nil
}
