package api

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"kirim/ledger"
	"kirim/storage"
)

// LedgerStore is where the ledger's records live: the money endpoints read through a
// snapshot and write through a durable commit, and do both only by calling the ledger.
type LedgerStore interface {
	View(fn func(storage.Reader) error) error
	Commit(ctx context.Context, fn func(storage.Txn) error) error
}

// LedgerOptions wire the money endpoints. Without them those endpoints answer 404.
type LedgerOptions struct {
	Ledger *ledger.Ledger
	Store  LedgerStore
}

// Limits of the money endpoints.
const (
	DefaultTopUpLimit = 100
	MaxTopUpLimit     = 1000
)

var reReference = regexp.MustCompile(`^[A-Za-z0-9._:@+-]{1,128}$`)

func (s *Server) moneyRoutes() []route {
	return []route{
		{"GET", "/v1/balance", scopeReadMoney, s.getBalance},
		{"GET", "/v1/statement", scopeReadMoney, s.getStatement},
		{"GET", "/v1/rates", scopeReadMoney, s.getRates},
		{"GET", "/v1/topups", ScopeMoney, s.listTopUps},
		{"POST", "/v1/topups", ScopeMoney, s.createTopUp},
		// Money comes in only by an operator's hand: an account's own admin asks for a
		// top-up, and cannot confirm it.
		{"POST", "/v1/topups/:id/confirm", ScopeOperator, s.confirmTopUp},
		{"POST", "/v1/topups/:id/reject", ScopeOperator, s.rejectTopUp},
		{"POST", "/v1/adjustments", ScopeOperator, s.createAdjustment},
		{"GET", "/v1/admin/ledger/verify", ScopeOperator, s.verifyLedger},
	}
}

// books returns the ledger and its store, or the answer for a Kirim without one.
func (s *Server) books() (*ledger.Ledger, LedgerStore, error) {
	o := s.opts.Ledger
	if o == nil || o.Ledger == nil || o.Store == nil {
		return nil, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "the ledger is not configured"}
	}
	return o.Ledger, o.Store, nil
}

// moneyError maps a ledger error to the envelope; field names the request field the
// ledger refused, when the refusal is about the request.
func moneyError(err error, field, what string) error {
	switch ledger.ErrorCode(err) {
	case "insufficient_balance":
		return &Error{Status: http.StatusPaymentRequired, Code: "insufficient_balance", Field: field, Message: "the available balance cannot cover this"}
	case "not_found":
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such " + what}
	case "conflict":
		return &Error{Status: http.StatusConflict, Code: "conflict", Field: field, Message: conflictMessage(err)}
	case "invalid":
		return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: field, Message: field + ": " + ledgerReason(err)}
	}
	return err
}

// ledgerReason is the ledger's own explanation without its "ledger: op id:" context.
func ledgerReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		if j := strings.LastIndex(msg[:i], ": "); j >= 0 {
			return msg[j+2 : i]
		}
		return msg[:i]
	}
	return msg
}

func conflictMessage(err error) string {
	r := ledgerReason(err)
	if r == "" {
		return "conflicts with the current state"
	}
	return r
}

// balanceView is GET /v1/balance.
type balanceView struct {
	Account     string           `json:"account"`
	Currency    string           `json:"currency"`
	Available   Money            `json:"available"`
	Held        Money            `json:"held"`
	Balance     Money            `json:"balance"`
	FreeCredits map[string]int64 `json:"free_credits"`
	HeldCredits map[string]int64 `json:"held_credits"`
	LowBalance  Money            `json:"low_balance"`
	Low         bool             `json:"low"`
}

func (s *Server) getBalance(_ *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	l, st, err := s.books()
	if err != nil {
		return 0, nil, err
	}
	var b ledger.Balance
	if err := st.View(func(r storage.Reader) error {
		var err error
		b, err = l.Balance(r, c.account.ID)
		return err
	}); err != nil {
		return 0, nil, moneyError(err, "", "account")
	}
	return http.StatusOK, balanceView{
		Account: b.Account, Currency: b.Currency,
		Available: c.money(b.Available, b.Currency), Held: c.money(b.Held, b.Currency), Balance: c.money(b.Balance, b.Currency),
		FreeCredits: b.Credits, HeldCredits: b.HeldCredits, LowBalance: c.money(b.LowBalance, b.Currency), Low: b.Low,
	}, nil
}

// topUpView is one top-up.
type topUpView struct {
	ID         string `json:"id"`
	Reference  string `json:"reference"`
	Amount     Money  `json:"amount"`
	Status     string `json:"status"`
	Note       string `json:"note,omitempty"`
	CreatedAt  string `json:"created_at"`
	ResolvedAt any    `json:"resolved_at"`
	ResolvedBy string `json:"resolved_by,omitempty"`
	Reason     string `json:"reason,omitempty"`
	EntrySeq   uint64 `json:"entry_seq,omitempty"`
}

func topUpOf(t ledger.TopUp, currency, locale string) topUpView {
	return topUpView{ID: t.ID, Reference: t.Reference, Amount: NewMoneyIn(t.Amount, currency, locale), Status: t.Status, Note: t.Note,
		CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339Nano), ResolvedAt: timeOrNil(t.ResolvedAt), ResolvedBy: t.ResolvedBy,
		Reason: t.Reason, EntrySeq: t.Seq}
}

type topUpRequest struct {
	AmountMicros *int64 `json:"amount_micros"`
	Reference    string `json:"reference"`
	Note         string `json:"note"`
}

// createTopUp records a pending top-up. The reference (a bank transfer's, an invoice
// number) is its idempotency key: the same reference and amount answer the existing
// top-up with 200, another amount 409.
func (s *Server) createTopUp(_ *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	l, st, err := s.books()
	if err != nil {
		return 0, nil, err
	}
	var req topUpRequest
	if aerr := decodeStrict(c.body, &req); aerr != nil {
		return 0, nil, aerr
	}
	switch {
	case req.AmountMicros == nil:
		return 0, nil, invalid("amount_micros", "is required (micro-units: IDR 1 is 1000000)")
	case *req.AmountMicros <= 0 || *req.AmountMicros > ledger.MaxAmount:
		return 0, nil, invalid("amount_micros", "must be between 1 and %d", int64(ledger.MaxAmount))
	case req.Reference == "":
		return 0, nil, invalid("reference", "is required: the transfer's reference makes the top-up safe to retry")
	case !reReference.MatchString(req.Reference):
		return 0, nil, invalid("reference", "must be 1-128 of A-Z, a-z, 0-9 and ._:@+-")
	case len(req.Note) > ledger.MaxReasonLength:
		return 0, nil, invalid("note", "at most %d bytes", ledger.MaxReasonLength)
	}
	var (
		t        ledger.TopUp
		existing bool
	)
	err = st.Commit(context.Background(), func(tx storage.Txn) error {
		var err error
		t, existing, err = l.CreateTopUpNoted(tx, c.account.ID, req.Reference, *req.AmountMicros, req.Note)
		return err
	})
	if err != nil {
		return 0, nil, moneyError(err, "reference", "account")
	}
	status := http.StatusCreated
	if existing {
		status = http.StatusOK
	}
	return status, topUpOf(t, c.account.Currency, c.account.Locale), nil
}

func (s *Server) confirmTopUp(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	l, st, err := s.books()
	if err != nil {
		return 0, nil, err
	}
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	var res ledger.TopUpResult
	err = st.Commit(context.Background(), func(tx storage.Txn) error {
		var err error
		res, err = l.ConfirmTopUp(tx, c.account.ID, p.ByName("id"), c.key.Name)
		return err
	})
	if err != nil {
		return 0, nil, moneyError(err, "", "top-up")
	}
	logEvents(s.log, res.Events)
	return http.StatusOK, topUpOf(res.TopUp, c.account.Currency, c.account.Locale), nil
}

func (s *Server) rejectTopUp(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	l, st, err := s.books()
	if err != nil {
		return 0, nil, err
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if aerr := decodeOptional(c.body, &req); aerr != nil {
		return 0, nil, aerr
	}
	if len(req.Reason) > ledger.MaxReasonLength {
		return 0, nil, invalid("reason", "at most %d bytes", ledger.MaxReasonLength)
	}
	var t ledger.TopUp
	err = st.Commit(context.Background(), func(tx storage.Txn) error {
		var err error
		t, err = l.RejectTopUp(tx, c.account.ID, p.ByName("id"), c.key.Name, req.Reason)
		return err
	})
	if err != nil {
		return 0, nil, moneyError(err, "reason", "top-up")
	}
	return http.StatusOK, topUpOf(t, c.account.Currency, c.account.Locale), nil
}

// listTopUps is the top-up history, newest first, paginated by the id of the last one.
func (s *Server) listTopUps(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	l, st, err := s.books()
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	limit, aerr := queryLimit(r, DefaultTopUpLimit, MaxTopUpLimit)
	if aerr != nil {
		return 0, nil, aerr
	}
	cursor, aerr := queryCursor(r, topUpCursor)
	if aerr != nil {
		return 0, nil, aerr
	}
	status := q.Get("status")
	switch status {
	case "", ledger.TopUpPending, ledger.TopUpConfirmed, ledger.TopUpRejected:
	default:
		return 0, nil, invalid("status", "%q is not pending, confirmed or rejected", status)
	}
	var all []ledger.TopUp
	if err := st.View(func(r storage.Reader) error {
		var err error
		all, err = l.TopUps(r, c.account.ID)
		return err
	}); err != nil {
		return 0, nil, moneyError(err, "", "account")
	}
	start := 0
	if cursor != "" {
		start = -1
		for i, t := range all {
			if t.ID == cursor {
				start = i + 1
				break
			}
		}
		if start < 0 { // top-ups are never deleted: an id not among them was not handed out
			return 0, nil, errInvalidCursor()
		}
	}
	out := []topUpView{}
	next := ""
	for _, t := range all[start:] {
		if status != "" && t.Status != status {
			continue
		}
		if len(out) == limit {
			next = out[len(out)-1].ID
			break
		}
		out = append(out, topUpOf(t, c.account.Currency, c.account.Locale))
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}

type adjustmentRequest struct {
	AmountMicros *int64 `json:"amount_micros"`
	Reason       string `json:"reason"`
}

// createAdjustment corrects the available balance with a new entry and a reason; past
// entries are never edited. Idempotency-Key makes a retry answer the first entry.
func (s *Server) createAdjustment(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	l, st, err := s.books()
	if err != nil {
		return 0, nil, err
	}
	idemKey := r.Header.Get("Idempotency-Key")
	if len(idemKey) > MaxIdempotencyKeyLen {
		return 0, nil, &Error{Status: http.StatusBadRequest, Code: "invalid_header", Field: "Idempotency-Key", Message: fmt.Sprintf("Idempotency-Key: at most %d characters", MaxIdempotencyKeyLen)}
	}
	var req adjustmentRequest
	if aerr := decodeStrict(c.body, &req); aerr != nil {
		return 0, nil, aerr
	}
	switch {
	case req.AmountMicros == nil || *req.AmountMicros == 0:
		return 0, nil, invalid("amount_micros", "is required and not zero: positive credits the balance, negative debits it")
	case *req.AmountMicros > ledger.MaxAmount || *req.AmountMicros < -ledger.MaxAmount:
		return 0, nil, invalid("amount_micros", "must be within ±%d", int64(ledger.MaxAmount))
	case strings.TrimSpace(req.Reason) == "":
		return 0, nil, invalid("reason", "is required: an adjustment says why")
	case len(req.Reason) > ledger.MaxReasonLength:
		return 0, nil, invalid("reason", "at most %d bytes", ledger.MaxReasonLength)
	}
	hash := sha256.Sum256(c.body)
	var res ledger.AdjustResult
	err = st.Commit(context.Background(), func(tx storage.Txn) error {
		var err error
		res, _, err = l.AdjustOnce(tx, c.account.ID, idemKey, hash[:], *req.AmountMicros, req.Reason)
		return err
	})
	if err != nil {
		if ledger.ErrorCode(err) == "conflict" {
			return 0, nil, &Error{Status: http.StatusConflict, Code: "idempotency_conflict", Field: "Idempotency-Key",
				Message: "Idempotency-Key: already used with a different request"}
		}
		return 0, nil, moneyError(err, "amount_micros", "account")
	}
	logEvents(s.log, res.Events)
	e := res.Entry
	return http.StatusCreated, map[string]any{
		"seq": e.Seq, "kind": e.Kind, "at": e.At.UTC().Format(time.RFC3339Nano),
		"amount": c.money(e.Amount, c.account.Currency), "reason": e.Reason,
	}, nil
}

// statementRow is one entry of GET /v1/statement.
type statementRow struct {
	Seq             uint64 `json:"seq"`
	At              string `json:"at"`
	Kind            string `json:"kind"`
	Amount          *Money `json:"amount,omitempty"`      // money entries
	Credits         int64  `json:"credits,omitempty"`     // credit entries: units of CreditKind
	CreditKind      string `json:"credit_kind,omitempty"` // set on credit entries
	AvailableChange Money  `json:"available_change"`
	AvailableAfter  Money  `json:"available_after"`
	HeldAfter       Money  `json:"held_after"`
	BalanceAfter    Money  `json:"balance_after"`
	HoldID          string `json:"hold_id,omitempty"`
	MessageID       string `json:"message_id,omitempty"`
	CampaignID      string `json:"campaign_id,omitempty"`
	Recipient       string `json:"recipient,omitempty"`
	Template        string `json:"template,omitempty"`
	Category        string `json:"category,omitempty"`
	Reference       string `json:"reference,omitempty"`
	Reason          string `json:"reason,omitempty"`
}

// rowOf is one statement row as the caller sees it: its time in the account's
// timezone (loc), its money in the account's locale.
func rowOf(r ledger.StatementRow, cur string, loc *time.Location, c *caller) statementRow {
	out := statementRow{Seq: r.Seq, At: r.At.In(loc).Format(time.RFC3339Nano), Kind: r.Kind, CreditKind: r.CreditKind,
		AvailableChange: c.money(r.AvailableChange, cur), AvailableAfter: c.money(r.AvailableAfter, cur),
		HeldAfter: c.money(r.HeldAfter, cur), BalanceAfter: c.money(r.BalanceAfter, cur),
		HoldID: r.HoldID, MessageID: r.MessageID, CampaignID: r.CampaignID, Recipient: r.Recipient, Template: r.Template,
		Category: r.Category, Reference: r.Reference, Reason: r.Reason}
	if r.CreditKind != "" {
		out.Credits = r.Amount
	} else {
		m := c.money(r.Amount, cur)
		out.Amount = &m
	}
	return out
}

// getStatement lists entries with at in [from, to) oldest first with running balances:
// JSON pages by limit and cursor, or with Accept: text/csv the whole range (from the
// cursor on) streamed page by page.
func (s *Server) getStatement(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	l, st, err := s.books()
	if err != nil {
		return 0, nil, err
	}
	acct, err := l.Account(c.account.ID)
	if err != nil {
		return 0, nil, moneyError(err, "", "account")
	}
	q := r.URL.Query()
	from, aerr := parseWhen("from", q.Get("from"), acct.Timezone)
	if aerr != nil {
		return 0, nil, aerr
	}
	to, aerr := parseWhen("to", q.Get("to"), acct.Timezone)
	if aerr != nil {
		return 0, nil, aerr
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return 0, nil, invalid("to", "must be after from")
	}
	csv := wantsCSV(r)
	limit := ledger.DefaultStatementLimit
	if csv {
		limit = ledger.MaxStatementLimit
	}
	limit, aerr = queryLimit(r, limit, ledger.MaxStatementLimit)
	if aerr != nil {
		return 0, nil, aerr
	}
	cursor, aerr := queryCursor(r, statementCursor)
	if aerr != nil {
		return 0, nil, aerr
	}
	page := func(cursor string) (ledger.StatementPage, error) {
		var p ledger.StatementPage
		err := st.View(func(rd storage.Reader) error {
			var err error
			p, err = l.Statement(rd, c.account.ID, from, to, cursor, limit)
			return err
		})
		return p, err
	}
	first, err := page(cursor)
	if err != nil {
		return 0, nil, moneyError(err, "cursor", "account")
	}
	if csv {
		return http.StatusOK, streamResponse{
			contentType: "text/csv; charset=utf-8",
			filename:    "statement-" + c.account.ID + ".csv",
			write: func(w io.Writer) error {
				// Each page is its own snapshot; entries are append-only and keyed by time
				// and number, so consecutive pages neither skip nor repeat a row.
				p, header := first, true
				for {
					if err := ledger.WriteStatementCSV(w, p, header); err != nil {
						return err
					}
					if p.Next == "" {
						return nil
					}
					header = false
					if p, err = page(p.Next); err != nil {
						return err
					}
				}
			},
		}, nil
	}
	rows := make([]statementRow, 0, len(first.Rows))
	loc := first.Timezone
	if loc == nil {
		loc = time.UTC
	}
	for _, row := range first.Rows {
		rows = append(rows, rowOf(row, first.Currency, loc, c))
	}
	return http.StatusOK, map[string]any{"account": first.Account, "currency": first.Currency, "data": rows, "next_cursor": first.Next}, nil
}

// parseWhen reads an RFC 3339 time or a date (midnight in the account's timezone).
func parseWhen(field, v string, loc *time.Location) (time.Time, *Error) {
	if v == "" {
		return time.Time{}, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, invalid(field, "%q is not a date (2026-03-01) or an RFC 3339 time", v)
	}
	return t, nil
}

func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/csv") {
			return true
		}
	}
	return false
}

// streamResponse is an answer written by its own function (CSV exports) instead of
// being encoded as JSON; wrap serves it.
type streamResponse struct {
	contentType string
	filename    string
	length      int64 // Content-Length when > 0
	write       func(w io.Writer) error
}

// serve writes the answer. An error after the first byte can only be logged: the
// status is already sent, and the truncated body lacks the final newline of a row.
func (sr streamResponse) serve(w http.ResponseWriter, status int, log *slog.Logger, path string, writeTimeout time.Duration) {
	w.Header().Set("Content-Type", sr.contentType)
	if sr.filename != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+sr.filename+`"`)
	}
	if sr.length > 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(sr.length, 10))
	}
	w.WriteHeader(status)
	var out io.Writer = w
	if writeTimeout > 0 {
		out = &renewingWriter{w: w, rc: http.NewResponseController(w), d: writeTimeout}
	}
	if err := sr.write(out); err != nil {
		log.Error("api: streaming an answer failed", "path", path, "err", err)
	}
}

// renewingWriter moves the connection's write deadline on before each write, so the
// server's write timeout cuts a client that stopped reading a long stream (a backup,
// an export) without cutting the stream itself.
type renewingWriter struct {
	w  io.Writer
	rc *http.ResponseController
	d  time.Duration
}

func (r *renewingWriter) Write(p []byte) (int, error) {
	// A writer that cannot take deadlines (a test recorder) just writes.
	_ = r.rc.SetWriteDeadline(time.Now().Add(r.d))
	return r.w.Write(p)
}

// rateBand is one volume band of a price.
type rateBand struct {
	From  int64  `json:"from"`            // first message of the month in the band
	UpTo  *int64 `json:"up_to,omitempty"` // last one; absent for the open-ended band
	Price Money  `json:"price"`
}

type ratePrice struct {
	Market   string     `json:"market"`
	Category string     `json:"category"`
	Bands    []rateBand `json:"bands"`
}

type rateVolume struct {
	Month    string `json:"month"`
	Captured int64  `json:"captured"`
	Held     int64  `json:"held"`
}

// getRates is the rate card in force now for the account's currency, with this month's
// volume of each priced category, or of all together under a total-volume card (which
// band the next message falls in).
func (s *Server) getRates(_ *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	l, st, err := s.books()
	if err != nil {
		return 0, nil, err
	}
	now := l.Now()
	card, acct, err := l.RateCardAt(c.account.ID, now)
	if err != nil {
		return 0, nil, moneyError(err, "", "rate card in force")
	}
	cur := card.Currency
	prices := make([]ratePrice, 0, len(card.Prices))
	categories := map[string]bool{}
	for _, p := range card.Prices {
		rp := ratePrice{Market: p.Market, Category: p.Category}
		from := int64(1)
		for i, m := range p.Micros {
			b := rateBand{From: from, Price: c.money(m, cur)}
			if i < len(p.UpTo) {
				up := p.UpTo[i]
				b.UpTo = &up
				from = up + 1
			}
			rp.Bands = append(rp.Bands, b)
		}
		prices = append(prices, rp)
		categories[p.Category] = true
	}
	session := map[string]Money{}
	for ct, m := range card.SessionPrices {
		session[ct] = c.money(m, cur)
	}
	loc := acct.Timezone
	if loc == nil {
		loc = time.UTC
	}
	month := now.In(loc).Format("2006-01")
	cats := make([]string, 0, len(categories))
	for k := range categories {
		cats = append(cats, k)
	}
	sort.Strings(cats)
	scope := card.VolumeScope
	if scope == "" {
		scope = ledger.VolumeCategory
	}
	if scope == ledger.VolumeTotal {
		// One counter for every category: that is what the bands count.
		cats = []string{ledger.VolumeTotal}
	}
	volume := map[string]rateVolume{}
	if err := st.View(func(r storage.Reader) error {
		for _, cat := range cats {
			v, err := l.MonthVolume(r, c.account.ID, cat, month)
			if err != nil {
				return err
			}
			volume[cat] = rateVolume{Month: month, Captured: v.Captured, Held: v.Held}
		}
		return nil
	}); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{
		"currency": cur, "effective": card.Effective.UTC().Format(time.RFC3339), "rules": card.Rules, "volume_scope": scope,
		"prices": prices, "session": session, "volume": volume,
	}, nil
}

// verifyLedger replays the whole chain (GET /v1/admin/ledger/verify); ok is false when
// anything differs. It reads one snapshot, so it may take a while on a long ledger.
func (s *Server) verifyLedger(_ *http.Request, _ httprouter.Params, _ *caller) (int, any, error) {
	l, st, err := s.books()
	if err != nil {
		return 0, nil, err
	}
	var rep ledger.VerifyReport
	if err := st.View(func(r storage.Reader) error {
		var err error
		rep, err = l.Verify(r)
		return err
	}); err != nil {
		return 0, nil, err
	}
	problems := make([]map[string]any, 0, len(rep.Problems))
	for _, p := range rep.Problems {
		problems = append(problems, map[string]any{"seq": p.Seq, "kind": p.Kind, "detail": p.Detail})
	}
	if !rep.OK() {
		s.log.Error("api: ledger verify found differences", "problems", rep.ProblemCount)
	}
	return http.StatusOK, map[string]any{
		"ok": rep.OK(), "entries": rep.Entries, "head": rep.Head, "balances": rep.Balances,
		"open_holds": rep.OpenHolds, "problem_count": rep.ProblemCount, "problems": problems,
	}, nil
}

// logEvents records ledger events until callbacks deliver them.
func logEvents(log *slog.Logger, events []ledger.Event) {
	for _, e := range events {
		log.Info("api: ledger event", "type", e.Type, "account", e.Account, "available_micros", e.Available, "threshold_micros", e.Threshold)
	}
}
