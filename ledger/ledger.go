// Package ledger owns Kirim's money: the append-only, hash-chained prepaid balance
// ledger of every Kirim account, two-phase holds on messages (reserve, capture,
// release), campaign reserves (one earmark per campaign run that its messages' holds
// draw from) and exact campaign quotes, top-ups, adjustments, rate cards with monthly
// volume bands, monthly package credits and statements.
//
// Every movement is an entry of postings (legs) between named accounts that sum to zero
// per asset. Each posting account belongs to exactly one Kirim account: its
// counterparties "world:<id>" (money and credits entering or leaving the system),
// "provider:<id>" (what was spent on the provider) and "writeoff:<id>" (repricing the
// account could not cover), and its own "account:<id>:available", "account:<id>:held",
// "account:<id>:reserve" (money earmarked for running campaigns) and
// "account:<id>:credits:<kind>". Counterparties are per account, not shared, so one
// account's history cannot use up the int64 range of a counter another account posts
// to. Entries written before that used the instance-wide "world", "provider" and
// "writeoff" (World, Provider, Writeoff): they stay in the chain, verify as they are
// and still count in Captured, but no new entry posts to them. Money legs use the
// account's currency as their asset, credit legs the asset "credit:<kind>" counted in
// units. Entries are numbered without gaps in the transaction that writes them and each
// is hash-chained to the one before; balances are cached and Verify proves the cache
// equals a replay of the chain.
//
// Mutating methods take a storage.Txn and do all their reads and writes through it, so
// a caller can write a message and its hold in one commit. The ledger keeps no mutable
// state of its own and never calls the network.
package ledger

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"kirim/storage"
)

// Errors callers branch on; every error returned wraps one of them with context.
var (
	ErrInsufficientBalance = errors.New("insufficient balance")
	ErrNotFound            = errors.New("not found")
	ErrConflict            = errors.New("conflict")
	ErrInvalid             = errors.New("invalid")
	// ErrNoPrice refuses a message the card in force has no price for: charging it
	// nothing would be wrong, so it is not sent.
	ErrNoPrice = errors.New("no price")
)

// errNoPrice is ErrNoPrice that is also ErrInvalid, for callers that treat any
// unpriceable request alike (a capture charges what was held).
var errNoPrice = fmt.Errorf("%w: %w", ErrNoPrice, ErrInvalid)

// ErrorCode maps an error from this package to the code the API error table uses, or ""
// for an internal error.
func ErrorCode(err error) string {
	switch {
	case errors.Is(err, ErrInsufficientBalance):
		return "insufficient_balance"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrNoPrice):
		return "price_missing"
	case errors.Is(err, ErrInvalid):
		return "invalid"
	}
	return ""
}

// Pricing rules: which messages are free and how often a charge applies.
const (
	// Rules2025 is per-message pricing (from 1 Jul 2025): every delivered template is
	// charged; service messages, utility templates inside an open customer-service window
	// and everything in a free-entry-point window are free.
	Rules2025 = "2025"
	// RulesLegacy is conversation-based pricing: one charge per 24 h conversation per
	// category per recipient; free-entry-point conversations are free.
	RulesLegacy = "legacy"
	// RulesPerMessage charges every message at its price with no free rules (the
	// non-API "SME" channel model, where session messages are priced by content type).
	// What the provider reports as free is charged all the same: the card, not the
	// provider, decides.
	RulesPerMessage = "per_message"
	// RulesMUV charges per unique user per month (Qontak's Monthly Unique Visitors):
	// a recipient's first message in a calendar month of the account's timezone is
	// charged at its price, later ones that month are free. Like RulesPerMessage it
	// ignores what the provider reports as free.
	RulesMUV = "muv"
)

// Volume scopes: which messages one monthly volume counter counts.
const (
	// VolumeCategory counts each category on its own (Meta's volume tiers).
	VolumeCategory = "category"
	// VolumeTotal counts every charged message of the month together, whatever its
	// category (TapTalk's table).
	VolumeTotal = "total"
)

// Message categories Kirim prices. The provider may report others; they are priced if a
// card lists them.
const (
	CategoryMarketing                   = "marketing"
	CategoryUtility                     = "utility"
	CategoryAuthentication              = "authentication"
	CategoryAuthenticationInternational = "authentication_international"
	CategoryService                     = "service"
)

// Provider pricing types from status webhooks (pricing.type).
const (
	PricingRegular             = "regular"
	PricingFreeCustomerService = "free_customer_service"
	PricingFreeEntryPoint      = "free_entry_point"
)

// Limits and defaults.
const (
	// DefaultHoldTTL is how long an unresolved hold lives when the request names no
	// expiry: the provider's longest message TTL (30 days) plus a day for late webhooks.
	DefaultHoldTTL = 31 * 24 * time.Hour
	// ConversationLength is a legacy (conversation-based) charging window.
	ConversationLength = 24 * time.Hour
	// MaxIDLength bounds account, hold, top-up reference and similar identifiers.
	MaxIDLength = 128
	// MaxReasonLength bounds the free text of adjustments and releases.
	MaxReasonLength = 512
	// MaxStatementLimit caps one statement page; DefaultStatementLimit is used for 0.
	MaxStatementLimit     = 1000
	DefaultStatementLimit = 100
	// MaxVerifyProblems caps how many differences a VerifyReport lists (all are counted).
	MaxVerifyProblems = 100
	// EventBalanceLow is the event type raised once each time available balance falls
	// below the account's threshold; the others report a top-up's resolution.
	EventBalanceLow     = "balance.low"
	EventTopUpConfirmed = "topup.confirmed"
	EventTopUpRejected  = "topup.rejected"
)

// Account is a configured Kirim account (a business the appliance sends for).
type Account struct {
	ID       string
	Currency string // ISO 4217, e.g. "IDR"; money is in micro-units of it
	// Timezone decides month boundaries for credits and volume bands; nil means UTC.
	Timezone *time.Location
	// LowBalance is the available balance (micros) under which a balance.low event is
	// raised; 0 disables it.
	LowBalance int64
	Package    Package
}

// Package is the monthly allowance of an account.
type Package struct {
	// Credits maps a credit kind (a message category such as "service" or "marketing")
	// to the units granted at the start of each month. Unused units expire at month end.
	Credits map[string]int64
}

// Config configures a Ledger.
type Config struct {
	Accounts  []Account
	RateCards []RateCard
	// Rules is the pricing rules of cards that name none; default Rules2025.
	Rules string
	// Now is the time source; default time.Now. Tests inject a fake clock.
	Now func() time.Time
	// HoldTTL is the default life of a hold; default DefaultHoldTTL.
	HoldTTL time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// OnEvent is told, inside the transaction that caused it, of each event for the
	// account's callbacks (a low balance, a top-up confirmed or rejected), so the event
	// commits with the change. An error aborts the transaction. Nil: none.
	OnEvent func(tx storage.Txn, ev Event) error
}

// Ledger is the prepaid balance ledger. It is safe for concurrent use; all state lives
// in storage and every call works inside the caller's transaction.
type Ledger struct {
	// book holds the accounts and rate cards; Reload swaps it whole, so a call sees
	// one configuration or the other, never a mix.
	book    atomic.Pointer[book]
	rules   string
	now     func() time.Time
	holdTTL time.Duration
	log     *slog.Logger
	onEvent func(tx storage.Txn, ev Event) error

	// noReserve holds the ids of accounts whose reserve balance key was absent when
	// last read, and untouched by any posting since (see reservedOf).
	noReserve sync.Map
}

// New validates cfg and returns a Ledger.
func New(cfg Config) (*Ledger, error) {
	l := &Ledger{
		rules:   cfg.Rules,
		now:     cfg.Now,
		holdTTL: cfg.HoldTTL,
		log:     cfg.Logger,
		onEvent: cfg.OnEvent,
	}
	if l.rules == "" {
		l.rules = Rules2025
	}
	if !validRules(l.rules) {
		return nil, fmt.Errorf("ledger: config rules %q: %w", l.rules, ErrInvalid)
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.holdTTL <= 0 {
		l.holdTTL = DefaultHoldTTL
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	b, err := newBook(cfg)
	if err != nil {
		return nil, err
	}
	l.book.Store(b)
	return l, nil
}

// book is the configured part of a ledger: its accounts and rate cards.
type book struct {
	accounts map[string]*Account
	cards    []RateCard // sorted by Effective ascending
}

func newBook(cfg Config) (*book, error) {
	k := &book{accounts: make(map[string]*Account, len(cfg.Accounts))}
	for i := range cfg.Accounts {
		a := cfg.Accounts[i]
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("ledger: config accounts[%d]: %w", i, err)
		}
		if _, dup := k.accounts[a.ID]; dup {
			return nil, fmt.Errorf("ledger: config accounts[%d]: duplicate id %q: %w", i, a.ID, ErrInvalid)
		}
		if a.Timezone == nil {
			a.Timezone = time.UTC
		}
		credits := make(map[string]int64, len(a.Package.Credits))
		for k, v := range a.Package.Credits {
			credits[k] = v
		}
		a.Package.Credits = credits
		k.accounts[a.ID] = &a
	}
	k.cards = append([]RateCard(nil), cfg.RateCards...)
	for i := range k.cards {
		if err := k.cards[i].Validate(); err != nil {
			return nil, fmt.Errorf("ledger: config rate_cards[%d]: %w", i, err)
		}
	}
	sort.SliceStable(k.cards, func(i, j int) bool { return k.cards[i].Effective.Before(k.cards[j].Effective) })
	return k, nil
}

// Reload replaces the accounts and rate cards with cfg's (its other fields are
// ignored), as a SIGHUP does. Nothing changes if cfg is invalid, or if it changes the
// currency of an account: its entries are in the old one.
func (l *Ledger) Reload(cfg Config) error {
	b, err := newBook(cfg)
	if err != nil {
		return err
	}
	for id, a := range b.accounts {
		if old, ok := l.book.Load().accounts[id]; ok && old.Currency != a.Currency {
			return fmt.Errorf("ledger: reload: account %q: currency %s cannot become %s: %w", id, old.Currency, a.Currency, ErrInvalid)
		}
	}
	l.book.Store(b)
	return nil
}

// Validate checks the account's fields.
func (a Account) Validate() error {
	if err := validID("id", a.ID); err != nil {
		return err
	}
	if len(a.Currency) != 3 {
		return fmt.Errorf("account %q: currency %q must be a 3-letter code: %w", a.ID, a.Currency, ErrInvalid)
	}
	if a.LowBalance < 0 {
		return fmt.Errorf("account %q: low_balance %d is negative: %w", a.ID, a.LowBalance, ErrInvalid)
	}
	for k, v := range a.Package.Credits {
		if err := validName("package credit kind", k); err != nil {
			return fmt.Errorf("account %q: %w", a.ID, err)
		}
		if v < 0 {
			return fmt.Errorf("account %q: package credits[%q] = %d is negative: %w", a.ID, k, v, ErrInvalid)
		}
	}
	return nil
}

// Accounts returns the configured account ids, sorted.
func (l *Ledger) Accounts() []string {
	accounts := l.book.Load().accounts
	ids := make([]string, 0, len(accounts))
	for id := range accounts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (l *Ledger) account(id string) (*Account, error) {
	a, ok := l.book.Load().accounts[id]
	if !ok {
		return nil, fmt.Errorf("account %q: %w", id, ErrNotFound)
	}
	return a, nil
}

// The instance-wide counterparties of entries written before counterparties were per
// Kirim account. No new entry posts to them; entries that did stay valid, and their
// balances are read (Captured) and verified like any other.
const (
	World    = "world"
	Provider = "provider"
	Writeoff = "writeoff"
)

// The counterparties of one Kirim account: where its money and credits come from and
// go to (world), what it spent on the provider (provider) and the repricing it could
// not cover (writeoff). Per account, so each counter moves with one account's entries.
func worldAccount(id string) string    { return World + ":" + id }
func providerAccount(id string) string { return Provider + ":" + id }
func writeoffAccount(id string) string { return Writeoff + ":" + id }

func availableAccount(id string) string { return "account:" + id + ":available" }
func heldAccount(id string) string      { return "account:" + id + ":held" }
func reserveAccount(id string) string   { return "account:" + id + reserveEnd }

// reserveEnd ends the posting account of every campaign reserve.
const reserveEnd = ":reserve"

func creditAccount(id, kind string) string {
	return "account:" + id + ":credits:" + kind
}
func creditAsset(kind string) string { return "credit:" + kind }

// isCustomerAccount reports whether a posting account belongs to a Kirim account and
// so may never go below zero.
func isCustomerAccount(name string) bool {
	return len(name) > len("account:") && name[:len("account:")] == "account:"
}

// validID accepts identifiers that are safe inside keys: letters, digits and ._:-@+
func validID(field, s string) error {
	if s == "" {
		return fmt.Errorf("%s is required: %w", field, ErrInvalid)
	}
	if len(s) > MaxIDLength {
		return fmt.Errorf("%s is longer than %d bytes: %w", field, MaxIDLength, ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == '-' || c == ':' || c == '@' || c == '+':
		default:
			return fmt.Errorf("%s %q has a character outside [A-Za-z0-9._:@+-]: %w", field, s, ErrInvalid)
		}
	}
	return nil
}

// validName accepts lowercase names such as categories and credit kinds.
func validName(field, s string) error {
	if s == "" {
		return fmt.Errorf("%s is required: %w", field, ErrInvalid)
	}
	if len(s) > MaxIDLength {
		return fmt.Errorf("%s is longer than %d bytes: %w", field, MaxIDLength, ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("%s %q must be lowercase letters, digits and _: %w", field, s, ErrInvalid)
		}
	}
	return nil
}

func validRules(r string) bool {
	return r == Rules2025 || r == RulesLegacy || r == RulesPerMessage || r == RulesMUV
}

// cardPrices reports whether rules charge a message at the card's price whatever the
// provider reports (free types, another category).
func cardPrices(rules string) bool { return rules == RulesPerMessage || rules == RulesMUV }

// monthOf is the calendar month of t in loc, as "2006-01".
func monthOf(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01") }
