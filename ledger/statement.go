package ledger

import (
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"kirim/storage"
)

// StatementRow is one entry as the account sees it.
type StatementRow struct {
	Seq        uint64
	At         time.Time
	Kind       string // topup, hold, capture, release, credit_grant, credit_expiry, adjustment
	Amount     int64  // the entry's amount: micros, or credit units when CreditKind is set
	CreditKind string
	// AvailableChange is what the entry did to available money; AvailableAfter, HeldAfter
	// (message holds and campaign reserves) and BalanceAfter (available + held) are the
	// running balances after it. Entries of a campaign reserve carry its CampaignID and
	// name the reserve in Reference.
	AvailableChange int64
	AvailableAfter  int64
	HeldAfter       int64
	BalanceAfter    int64
	HoldID          string
	MessageID       string
	CampaignID      string
	Category        string
	Reference       string
	Reason          string
	// Recipient (wa_id) and Template ("name/language") come from the message's hold;
	// empty for entries of no message.
	Recipient string
	Template  string
}

// StatementPage is one page of a statement; Next is the cursor of the following page,
// empty on the last.
type StatementPage struct {
	Account  string
	Currency string
	// Timezone is the account's: statements show times and days in it.
	Timezone *time.Location
	Rows     []StatementRow
	Next     string
}

// Statement lists an account's entries with at in [from, to), oldest first, limit rows
// per page (default DefaultStatementLimit, at most MaxStatementLimit), resuming after
// cursor. A zero from or to leaves that side open.
func (l *Ledger) Statement(r storage.Reader, account string, from, to time.Time, cursor string, limit int) (StatementPage, error) {
	acct, err := l.account(account)
	if err != nil {
		return StatementPage{}, fmt.Errorf("ledger: statement: %w", err)
	}
	if limit <= 0 {
		limit = DefaultStatementLimit
	}
	if limit > MaxStatementLimit {
		return StatementPage{}, fmt.Errorf("ledger: statement %s: limit %d exceeds %d: %w", account, limit, MaxStatementLimit, ErrInvalid)
	}
	prefix := indexPrefix(acct.ID)
	start := prefix
	if !from.IsZero() {
		start = indexKey(acct.ID, from.UnixNano(), 0)
	}
	if cursor != "" {
		raw, err := hex.DecodeString(cursor)
		if err != nil || len(raw) != 16 {
			return StatementPage{}, fmt.Errorf("ledger: statement %s: cursor %q: %w", account, cursor, ErrInvalid)
		}
		// Resume just after the last key returned.
		c := append(append([]byte(nil), prefix...), raw...)
		c = append(c, 0)
		if string(c) > string(start) {
			start = c
		}
	}
	var end []byte
	if !to.IsZero() {
		end = indexKey(acct.ID, to.UnixNano(), 0)
	}
	page := StatementPage{Account: acct.ID, Currency: acct.Currency, Timezone: acct.Timezone}
	var last []byte
	more := false
	err = r.Iterate(prefix, storage.IterOptions{Start: start}, func(k, v []byte) (bool, error) {
		if end != nil && string(k) >= string(end) {
			return false, nil
		}
		if len(page.Rows) == limit {
			more = true
			return false, nil
		}
		if len(v) != 32 || len(k) != len(prefix)+16 {
			return false, fmt.Errorf("statement index %x: %w", k, errCorrupt)
		}
		seq := binary.BigEndian.Uint64(v)
		e, err := readEntry(r, seq)
		if err != nil {
			return false, err
		}
		row := StatementRow{
			Seq: seq, At: e.At, Kind: e.Kind, Amount: e.Amount, CreditKind: e.CreditKind,
			AvailableChange: int64(binary.BigEndian.Uint64(v[8:])),
			AvailableAfter:  int64(binary.BigEndian.Uint64(v[16:])),
			HeldAfter:       int64(binary.BigEndian.Uint64(v[24:])),
			HoldID:          e.HoldID, MessageID: e.MessageID, CampaignID: e.CampaignID,
			Category: e.Category, Reference: e.Reference, Reason: e.Reason,
		}
		row.BalanceAfter = row.AvailableAfter + row.HeldAfter
		if e.HoldID != "" {
			// A statement is read rarely; a message's hold is where its recipient and
			// template are kept, so the chain's entries need not repeat them.
			if h, err := readHold(r, e.HoldID); err == nil {
				row.Recipient, row.Template = h.Recipient, h.Template
			} else if !errors.Is(err, ErrNotFound) {
				return false, err
			}
		}
		page.Rows = append(page.Rows, row)
		last = append(last[:0], k[len(prefix):]...)
		return true, nil
	})
	if err != nil {
		return StatementPage{}, fmt.Errorf("ledger: statement %s: %w", account, err)
	}
	if more {
		page.Next = hex.EncodeToString(last)
	}
	return page, nil
}

// StatementCSVHeader is the header row WriteStatementCSV writes: the columns of a
// statement export, documented in the README.
var StatementCSVHeader = []string{
	"seq", "at", "date", "kind", "amount", "currency", "credit_kind", "available_change", "available_after",
	"held_after", "balance_after", "recipient", "template", "category", "campaign_id", "message_id", "hold_id",
	"reference", "reason",
}

// WriteStatementCSV writes the page's rows as CSV with a header when header is true
// (pass false for the second and later pages of one file). Times are RFC 3339 in the
// account's timezone, with the day they fall on in it. Money columns are plain
// decimal amounts of the currency ("514", "510.5", "-75"), exact because they are
// printed from micros, never floats; a credit entry's amount is in units of its
// credit_kind and has no currency.
func WriteStatementCSV(w io.Writer, page StatementPage, header bool) error {
	cw := csv.NewWriter(w)
	if header {
		if err := cw.Write(StatementCSVHeader); err != nil {
			return fmt.Errorf("ledger: statement csv: %w", err)
		}
	}
	loc := page.Timezone
	if loc == nil {
		loc = time.UTC
	}
	for _, r := range page.Rows {
		amount, currency := FormatMicros(r.Amount), page.Currency
		if r.CreditKind != "" {
			amount, currency = strconv.FormatInt(r.Amount, 10), ""
		}
		at := r.At.In(loc)
		rec := []string{
			strconv.FormatUint(r.Seq, 10), at.Format(time.RFC3339Nano), at.Format(time.DateOnly), r.Kind, amount, currency, r.CreditKind,
			FormatMicros(r.AvailableChange), FormatMicros(r.AvailableAfter), FormatMicros(r.HeldAfter), FormatMicros(r.BalanceAfter),
			r.Recipient, csvSafe(r.Template), r.Category, r.CampaignID, r.MessageID, r.HoldID,
			csvSafe(r.Reference), csvSafe(r.Reason),
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("ledger: statement csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("ledger: statement csv: %w", err)
	}
	return nil
}

// csvSafe defuses free text that a spreadsheet would run as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}

// MicrosPerUnit is the number of micro-units in one unit of a currency.
const MicrosPerUnit = 1_000_000

// FormatMicros prints micros as a plain decimal amount for files and machines: no
// grouping, a decimal point, no trailing zeros (514000000 -> "514", 510500000 ->
// "510.5", 41100 -> "0.0411").
func FormatMicros(m int64) string {
	sign := ""
	u := uint64(m)
	if m < 0 {
		sign, u = "-", uint64(-m) // -MinInt64 wraps to itself, which as uint64 is right
	}
	whole, frac := u/MicrosPerUnit, u%MicrosPerUnit
	if frac == 0 {
		return sign + strconv.FormatUint(whole, 10)
	}
	return fmt.Sprintf("%s%d.%s", sign, whole, strings.TrimRight(fmt.Sprintf("%06d", frac), "0"))
}
