package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"kirim/engine"
	"kirim/phone"
	"kirim/storage"
)

// Biller puts the engine's messages through the ledger: a hold when a message is
// accepted, a capture when the provider reports it billable, a release when it failed,
// was free or was cancelled. It implements engine.Biller; every call runs inside the
// engine's transaction, so a message and its hold are written together.
type Biller struct {
	l       *Ledger
	log     *slog.Logger
	reserve func(m *engine.Message) string
}

var _ engine.Biller = (*Biller)(nil)

// NewBiller returns the ledger's engine.Biller.
func NewBiller(l *Ledger) *Biller { return &Biller{l: l, log: l.log} }

// WithReserve returns a copy of b that funds each message's hold from the campaign
// reserve f names (HoldRequest.ReserveID); nil f, or "" from it, means none. The
// campaign package owns the mapping from a message to its run's reserve.
func (b *Biller) WithReserve(f func(m *engine.Message) string) *Biller {
	c := *b
	c.reserve = f
	return &c
}

// BillingError is a ledger refusal seen through the engine; Code is the API error code
// (ErrorCode), so the API can answer 402 insufficient_balance without knowing the ledger.
type BillingError struct{ err error }

func (e *BillingError) Error() string { return e.err.Error() }
func (e *BillingError) Unwrap() error { return e.err }

// Code is ErrorCode of the wrapped error.
func (e *BillingError) Code() string { return ErrorCode(e.err) }

// Hold prices m and reserves its price: the hold's id is the message id. The engine
// does not know the customer-service window yet, so only service (session) messages,
// which need an open window to be sent at all, are priced as inside it; a utility
// template is held at its price and released when the provider reports it free.
func (b *Biller) Hold(tx storage.Txn, m *engine.Message) error {
	acct, err := b.l.account(m.AccountID)
	if err != nil {
		return &BillingError{fmt.Errorf("ledger: hold %s: %w", m.ID, err)}
	}
	var reserve string
	if b.reserve != nil {
		reserve = b.reserve(m)
	}
	res, err := b.l.Hold(tx, HoldRequest{
		ID:          m.ID,
		Account:     m.AccountID,
		MessageID:   m.ID,
		CampaignID:  m.CampaignID,
		Recipient:   phone.WaID(m.To),
		Market:      marketOf(m.To),
		Category:    m.Category,
		ContentType: m.Type,
		Template:    templateName(m.Template),
		InWindow:    billerInWindow(m.Category),
		At:          m.CreatedAt,
		ReserveID:   reserve,
		// The engine names every message afresh (a retry is a new message).
		Fresh: true,
	})
	if err != nil {
		return &BillingError{err}
	}
	m.Price, m.Currency, m.HoldID = res.Hold.Amount, acct.Currency, res.Hold.ID
	return nil
}

// Capture charges m's hold at the category the provider reported and returns the
// amount charged. A category the card does not price (the provider has more than Kirim
// knows) is charged as the hold's own, with a warning, rather than failing the status.
func (b *Biller) Capture(tx storage.Txn, m *engine.Message, category string) (int64, error) {
	if m.HoldID == "" {
		return 0, nil
	}
	category = reportedCategory(category)
	res, err := b.l.Capture(tx, m.HoldID, category)
	if err != nil && category != "" && errors.Is(err, ErrInvalid) {
		b.log.Warn("ledger: provider category not priced; charged as held", "message", m.ID, "category", category, "err", err)
		res, err = b.l.Capture(tx, m.HoldID, "")
	}
	if err != nil && errors.Is(err, ErrInvalid) {
		// Not even the held category has a price (a hold priced free that the provider
		// charged, with no card entry for it). Failing would block every status of the
		// webhook; the hold is released instead and the operator absorbs the charge.
		b.log.Error("ledger: provider charged a message the rate card cannot price; released unpaid",
			"message", m.ID, "category", category, "err", err)
		if _, rerr := b.l.Release(tx, m.HoldID, "unpriced"); rerr != nil {
			return 0, &BillingError{rerr}
		}
		return 0, nil
	}
	if errors.Is(err, ErrNotFound) {
		// Only this biller sets HoldID, so a missing hold is damage, not a reason to
		// block every status in the same webhook; Verify reports the chain's state.
		b.log.Error("ledger: capture of a message whose hold is missing", "message", m.ID, "hold", m.HoldID)
		return 0, nil
	}
	if err != nil {
		return 0, &BillingError{err}
	}
	if res.AlreadyResolved {
		return res.Hold.Captured, nil
	}
	return res.Captured, nil
}

// Release returns m's hold with the engine's reason (failed, cancelled, a free pricing
// type, unknown_timeout). A free pricing type ("free_...") is the provider's word that
// it charges nothing; under the rules where the card decides (per_message, muv) the
// message is charged its card price all the same, and m.Charged says so.
func (b *Biller) Release(tx storage.Txn, m *engine.Message, reason string) error {
	if m.HoldID == "" {
		return nil
	}
	if len(reason) > MaxReasonLength {
		reason = reason[:MaxReasonLength]
	}
	var err error
	if strings.HasPrefix(reason, "free_") {
		var res SettleResult
		res, err = b.l.SettleFree(tx, m.HoldID, reason)
		if err == nil && res.Hold.Status == HoldCaptured {
			m.Charged = res.Hold.Captured
		}
	} else {
		_, err = b.l.Release(tx, m.HoldID, reason)
	}
	if errors.Is(err, ErrNotFound) {
		b.log.Error("ledger: release of a message whose hold is missing", "message", m.ID, "hold", m.HoldID)
		return nil
	}
	if err != nil {
		return &BillingError{err}
	}
	return nil
}

// templateName names a template on statements: "name/language".
func templateName(t *engine.TemplateRef) string {
	if t == nil || t.Name == "" {
		return ""
	}
	if t.Language == "" {
		return t.Name
	}
	return t.Name + "/" + t.Language
}

// billerInWindow is whether the Biller prices a message of category as inside the
// customer-service window; CampaignQuoter uses it too so a quote prices as the hold will.
func billerInWindow(category string) bool { return category == CategoryService }

// MarketOf returns the market (calling code) the Biller prices a recipient in, so a
// campaign quote can pass CampaignQuoter.Add exactly what the hold will use.
func MarketOf(e164 string) string { return marketOf(e164) }

// marketOf returns the calling code of an E.164 number. Calling codes are prefix-free,
// so the first 1-3 digit prefix that is an assigned code is the code; this runs inside
// the engine's commit, where a full parse (about 20 us) would slow every accept.
func marketOf(e164 string) string {
	if len(e164) > 1 && e164[0] == '+' {
		for n := 1; n <= 3 && n < len(e164)-1; n++ {
			cc, err := strconv.Atoi(e164[1 : 1+n])
			if err != nil {
				break
			}
			if phonenumbers.GetRegionCodeForCountryCode(cc) != phonenumbers.UNKNOWN_REGION {
				return e164[1 : 1+n]
			}
		}
	}
	return phone.CallingCode(e164)
}

// reportedCategory lowercases the provider's pricing category; one that is not a
// plain name is ignored ("" captures at the hold's category).
func reportedCategory(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	if validName("category", c) != nil {
		return ""
	}
	return c
}

// RateCardAt returns the card in force at t for the account's currency, with its
// rules filled in, and the account it was looked up for.
func (l *Ledger) RateCardAt(account string, t time.Time) (RateCard, Account, error) {
	acct, err := l.account(account)
	if err != nil {
		return RateCard{}, Account{}, fmt.Errorf("ledger: rate card: %w", err)
	}
	c, ok := l.card(acct.Currency, t)
	if !ok {
		return RateCard{}, *acct, fmt.Errorf("ledger: rate card: no %s card in force at %s: %w", acct.Currency, t.Format(time.RFC3339), ErrNotFound)
	}
	out := *c
	if out.Rules == "" {
		out.Rules = l.rules
	}
	return out, *acct, nil
}

// Account returns a configured account.
func (l *Ledger) Account(id string) (Account, error) {
	a, err := l.account(id)
	if err != nil {
		return Account{}, fmt.Errorf("ledger: %w", err)
	}
	return *a, nil
}

// CreateTopUpNoted is CreateTopUp keeping a note on a new top-up (who paid, an invoice
// number). A repeated reference returns the existing top-up with its own note.
func (l *Ledger) CreateTopUpNoted(tx storage.Txn, account, reference string, amount int64, note string) (TopUp, bool, error) {
	if len(note) > MaxReasonLength {
		return TopUp{}, false, fmt.Errorf("ledger: create top-up %s: note is longer than %d bytes: %w", reference, MaxReasonLength, ErrInvalid)
	}
	t, existing, err := l.CreateTopUp(tx, account, reference, amount)
	if err != nil || existing || note == "" {
		return t, existing, err
	}
	t.Note = note
	if err := writeTopUp(tx, &t); err != nil {
		return TopUp{}, false, fmt.Errorf("ledger: create top-up %s: %w", reference, err)
	}
	return t, false, nil
}

// Now is the ledger's clock.
func (l *Ledger) Now() time.Time { return l.now() }

// AdjustOnce is Adjust made safe to retry: key (an Idempotency-Key) and requestHash
// (a hash of the request) are remembered with the entry, so the same key and hash
// returns the first entry (replayed = true) without posting again, and the same key
// with another hash is ErrConflict. An empty key is a plain Adjust.
func (l *Ledger) AdjustOnce(tx storage.Txn, account, key string, requestHash []byte, amount int64, reason string) (res AdjustResult, replayed bool, err error) {
	if key == "" {
		res, err = l.Adjust(tx, account, amount, reason)
		return res, false, err
	}
	if _, err := l.account(account); err != nil {
		return AdjustResult{}, false, fmt.Errorf("ledger: adjust: %w", err)
	}
	if len(key) > MaxReasonLength {
		return AdjustResult{}, false, fmt.Errorf("ledger: adjust %s: idempotency key longer than %d bytes: %w", account, MaxReasonLength, ErrInvalid)
	}
	k := adjustKey(account, key)
	v, err := tx.Get(k)
	switch {
	case err == nil:
		if len(v) != sha256.Size+8 {
			return AdjustResult{}, false, fmt.Errorf("ledger: adjust %s: idempotency record %x: %w", account, k, errCorrupt)
		}
		if !bytes.Equal(v[:sha256.Size], hashOf(requestHash)) {
			return AdjustResult{}, false, fmt.Errorf("ledger: adjust %s: idempotency key reused with another request: %w", account, ErrConflict)
		}
		e, err := readEntry(tx, binary.BigEndian.Uint64(v[sha256.Size:]))
		if err != nil {
			return AdjustResult{}, false, fmt.Errorf("ledger: adjust %s: %w", account, err)
		}
		return AdjustResult{Entry: e}, true, nil
	case !errors.Is(err, storage.ErrNotFound):
		return AdjustResult{}, false, fmt.Errorf("ledger: adjust %s: %w", account, err)
	}
	res, err = l.Adjust(tx, account, amount, reason)
	if err != nil {
		return AdjustResult{}, false, err
	}
	rec := binary.BigEndian.AppendUint64(hashOf(requestHash), res.Entry.Seq)
	if err := tx.Set(k, rec); err != nil {
		return AdjustResult{}, false, fmt.Errorf("ledger: adjust %s: idempotency record: %w", account, err)
	}
	return res, false, nil
}

// hashOf normalises a caller's request hash to a fixed size.
func hashOf(h []byte) []byte {
	s := sha256.Sum256(h)
	return s[:]
}

// adjustKey keys an adjustment's idempotency record by a hash of the caller's key, so
// any key text is safe inside a storage key.
func adjustKey(account, idemKey string) []byte {
	s := sha256.Sum256([]byte(idemKey))
	return key(prefixMeta, "adj", account, hex.EncodeToString(s[:16]))
}
