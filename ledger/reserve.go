package ledger

import (
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// Reserve statuses. A reserve is open from launch until its campaign run ends, then
// closed once: what is left goes back to available.
const (
	ReserveOpen   = "open"
	ReserveClosed = "closed"
)

// reserveReason is the reason on the entry that opens a reserve, so a statement tells
// it apart from a message hold.
const reserveReason = "campaign reserve"

// ReserveRequest earmarks money for one campaign run.
type ReserveRequest struct {
	ID         string // the reserve's id; Reserve is idempotent on it
	Account    string
	CampaignID string
	Amount     int64     // micros; 0 opens an empty reserve (every hold falls back to available)
	At         time.Time // when the run was launched; default now
	// Positions are the volume band positions the run's quote priced its money holds
	// at (CampaignQuote.Positions). The reserve claims them: they count in the month's
	// volume at once, so sends made while the run feeds are priced after them, and the
	// run's holds take them in order, each at the price the quote gave it. Zero claims
	// none (every hold takes the next position of the month as it comes).
	Positions ReservePositions
}

// ReservePositions are volume band positions of one month's volume counter: the run's
// Count money holds are priced as messages From+1 .. From+Count of the month.
type ReservePositions struct {
	Volume string `json:"volume,omitempty"` // the counter: a category, or "*" under a total-volume card
	Month  string `json:"month,omitempty"`  // "2006-01" in the account's timezone
	From   int64  `json:"from,omitempty"`   // the month's volume before the run
	Count  int64  `json:"count,omitempty"`
}

func (p ReservePositions) validate() error {
	if p.Count == 0 && p.From == 0 && p.Volume == "" && p.Month == "" {
		return nil
	}
	if p.Count <= 0 || p.From < 0 || p.From > MaxAmount || p.Count > MaxAmount {
		return fmt.Errorf("positions from %d count %d must be a positive count from a non-negative volume: %w", p.From, p.Count, ErrInvalid)
	}
	if p.Volume != volumeAll {
		if err := validName("positions volume", p.Volume); err != nil {
			return err
		}
	}
	if t, err := time.Parse("2006-01", p.Month); err != nil || t.Format("2006-01") != p.Month {
		return fmt.Errorf("positions month %q is not like 2026-03: %w", p.Month, ErrInvalid)
	}
	return nil
}

// Reserve is one campaign run's earmarked money. It moved Amount from available into
// the account's reserve; message holds draw their price from it while it is open and
// released message holds give their money back to it. At any time
// Amount = Remaining + Drawn - Returned + Released.
type Reserve struct {
	ID         string `json:"id"`
	Account    string `json:"account"`
	CampaignID string `json:"campaign_id"`
	Amount     int64  `json:"amount"`    // reserved at launch
	Remaining  int64  `json:"remaining"` // still in the reserve
	Drawn      int64  `json:"drawn"`     // moved into message holds (and repricing)
	Returned   int64  `json:"returned"`  // given back by released or cheaper message holds
	Released   int64  `json:"released"`  // given back to available at close
	Status     string `json:"status"`
	// CloseReason is the caller's reason for closing (completed, cancelled...).
	CloseReason string    `json:"close_reason,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
	ReserveSeq  uint64    `json:"reserve_seq,omitempty"` // the entry that reserved
	CloseSeq    uint64    `json:"close_seq,omitempty"`   // the entry that gave the rest back
	// Positions are the volume positions claimed at launch; PositionsUsed of them have
	// gone to the run's money holds. Closing gives the rest back to the month's volume.
	Positions     ReservePositions `json:"positions,omitzero"`
	PositionsUsed int64            `json:"positions_used,omitempty"`

	// Existing is set by Reserve and CloseReserve when nothing was written: the id was
	// already reserved, or already closed. It is not stored.
	Existing bool `json:"-"`
	// Events are the balance events the call raised (not stored).
	Events []Event `json:"-"`
}

// Reserve moves req.Amount from available into the account's reserve for one campaign
// run: the campaign's single hold. When available cannot cover it, it fails with
// ErrInsufficientBalance and writes nothing, so an unpayable campaign does not launch.
// Reserve is idempotent on req.ID: the same request returns the stored reserve with
// Existing set, whatever its status; the same id with another account, campaign or
// amount is ErrConflict.
func (l *Ledger) Reserve(tx storage.Txn, req ReserveRequest) (Reserve, error) {
	acct, err := l.account(req.Account)
	if err != nil {
		return Reserve{}, fmt.Errorf("ledger: reserve %s: %w", req.ID, err)
	}
	if err := validID("reserve id", req.ID); err != nil {
		return Reserve{}, fmt.Errorf("ledger: reserve: %w", err)
	}
	if err := validID("campaign_id", req.CampaignID); err != nil {
		return Reserve{}, fmt.Errorf("ledger: reserve %s: %w", req.ID, err)
	}
	if req.Amount < 0 || req.Amount > MaxAmount {
		return Reserve{}, fmt.Errorf("ledger: reserve %s: amount %d must be in 0..%d: %w", req.ID, req.Amount, int64(MaxAmount), ErrInvalid)
	}
	if err := req.Positions.validate(); err != nil {
		return Reserve{}, fmt.Errorf("ledger: reserve %s: %w", req.ID, err)
	}
	old, err := readReserve(tx, req.ID)
	switch {
	case err == nil:
		if old.Account != req.Account || old.CampaignID != req.CampaignID || old.Amount != req.Amount || old.Positions != req.Positions {
			return Reserve{}, fmt.Errorf("ledger: reserve %s exists for account %s campaign %s amount %d: %w",
				req.ID, old.Account, old.CampaignID, old.Amount, ErrConflict)
		}
		old.Existing = true
		return old, nil
	case !errors.Is(err, ErrNotFound):
		return Reserve{}, fmt.Errorf("ledger: reserve %s: %w", req.ID, err)
	}
	now := l.now()
	if req.At.IsZero() {
		req.At = now
	}
	rv := Reserve{
		ID: req.ID, Account: acct.ID, CampaignID: req.CampaignID, Amount: req.Amount, Remaining: req.Amount,
		Status: ReserveOpen, CreatedAt: req.At, Positions: req.Positions,
	}
	if req.Amount > 0 {
		avail, err := balanceOf(tx, acct.Currency, availableAccount(acct.ID))
		if err != nil {
			return Reserve{}, fmt.Errorf("ledger: reserve %s: %w", req.ID, err)
		}
		if avail < req.Amount {
			return Reserve{}, fmt.Errorf("ledger: reserve %s: %d exceeds available %d %s: %w", req.ID, req.Amount, avail, acct.Currency, ErrInsufficientBalance)
		}
		e := Entry{
			Kind: KindHold, At: now, Account: acct.ID, CampaignID: rv.CampaignID, Reference: rv.ID,
			Reason: reserveReason, Amount: rv.Amount,
			Legs: transfer(availableAccount(acct.ID), reserveAccount(acct.ID), acct.Currency, rv.Amount),
		}
		if err := l.post(tx, acct, &e); err != nil {
			return Reserve{}, fmt.Errorf("ledger: reserve %s: %w", req.ID, err)
		}
		rv.ReserveSeq = e.Seq
	}
	if p := rv.Positions; p.Count > 0 {
		if err := addVolume(tx, acct.ID, p.Volume, p.Month, 0, p.Count); err != nil {
			return Reserve{}, fmt.Errorf("ledger: reserve %s: claim volume positions: %w", req.ID, err)
		}
	}
	if err := writeReserve(tx, &rv); err != nil {
		return Reserve{}, fmt.Errorf("ledger: reserve %s: %w", req.ID, err)
	}
	if req.Amount > 0 {
		if rv.Events, err = l.checkLow(tx, acct, now); err != nil {
			return Reserve{}, fmt.Errorf("ledger: reserve %s: %w", req.ID, err)
		}
	}
	return rv, nil
}

// CloseReserve ends a campaign run's reserve: what remains goes back to available with
// a release entry. Message holds still open keep their money; when they are released
// it goes to available, not to the closed reserve. Closing a closed reserve returns it
// with Existing set and writes nothing.
func (l *Ledger) CloseReserve(tx storage.Txn, id, reason string) (Reserve, error) {
	if err := validID("reserve id", id); err != nil {
		return Reserve{}, fmt.Errorf("ledger: close reserve: %w", err)
	}
	if len(reason) > MaxReasonLength {
		return Reserve{}, fmt.Errorf("ledger: close reserve %s: reason is longer than %d bytes: %w", id, MaxReasonLength, ErrInvalid)
	}
	rv, err := readReserve(tx, id)
	if err != nil {
		return Reserve{}, fmt.Errorf("ledger: close reserve %s: %w", id, err)
	}
	if rv.Status == ReserveClosed {
		rv.Existing = true
		return rv, nil
	}
	acct, err := l.account(rv.Account)
	if err != nil {
		return Reserve{}, fmt.Errorf("ledger: close reserve %s: %w", id, err)
	}
	now := l.now()
	if rv.Remaining > 0 {
		e := Entry{
			Kind: KindRelease, At: now, Account: acct.ID, CampaignID: rv.CampaignID, Reference: rv.ID,
			Reason: reason, Amount: rv.Remaining,
			Legs: transfer(reserveAccount(acct.ID), availableAccount(acct.ID), acct.Currency, rv.Remaining),
		}
		if err := l.post(tx, acct, &e); err != nil {
			return Reserve{}, fmt.Errorf("ledger: close reserve %s: %w", id, err)
		}
		rv.CloseSeq = e.Seq
		rv.Released, rv.Remaining = rv.Remaining, 0
	}
	if p := rv.Positions; p.Count > rv.PositionsUsed {
		// The positions no hold took go back, so later sends are not priced past them.
		if err := addVolume(tx, acct.ID, p.Volume, p.Month, 0, -(p.Count - rv.PositionsUsed)); err != nil {
			return Reserve{}, fmt.Errorf("ledger: close reserve %s: %w", id, err)
		}
	}
	rv.Status, rv.CloseReason, rv.ClosedAt = ReserveClosed, reason, now
	if err := writeReserve(tx, &rv); err != nil {
		return Reserve{}, fmt.Errorf("ledger: close reserve %s: %w", id, err)
	}
	if rv.Released > 0 {
		// Available only rises here, so this raises nothing; it clears a low flag so
		// the next fall is reported.
		if _, err := l.checkLow(tx, acct, now); err != nil {
			return Reserve{}, fmt.Errorf("ledger: close reserve %s: %w", id, err)
		}
	}
	return rv, nil
}

// GetReserve returns a stored reserve.
func (l *Ledger) GetReserve(r storage.Reader, id string) (Reserve, error) {
	rv, err := readReserve(r, id)
	if err != nil {
		return Reserve{}, fmt.Errorf("ledger: reserve %s: %w", id, err)
	}
	return rv, nil
}

// Reserves lists an account's reserves in id order, only the open ones when openOnly is
// set: a campaign package recovering after a crash finds the runs it must close.
func (l *Ledger) Reserves(r storage.Reader, account string, openOnly bool) ([]Reserve, error) {
	if _, err := l.account(account); err != nil {
		return nil, fmt.Errorf("ledger: reserves: %w", err)
	}
	var out []Reserve
	err := r.Iterate(reservePrefix(), storage.IterOptions{}, func(_, v []byte) (bool, error) {
		rv, err := decodeReserve(v)
		if err != nil {
			return false, err
		}
		if rv.Account == account && (!openOnly || rv.Status == ReserveOpen) {
			out = append(out, rv)
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: reserves %s: %w", account, err)
	}
	return out, nil
}

// openReserve returns the reserve a message hold may draw on: the one named, when it
// exists, is open and belongs to the account. Anything else returns nil and the hold
// is priced and funded as without one.
func openReserve(tx storage.Txn, id, account string) (*Reserve, error) {
	if id == "" {
		return nil, nil
	}
	rv, err := readReserve(tx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rv.Status != ReserveOpen || rv.Account != account {
		return nil, nil
	}
	return &rv, nil
}

// hasPositions reports whether rv has claimed volume positions left for its holds.
func (rv *Reserve) hasPositions() bool {
	return rv != nil && rv.PositionsUsed < rv.Positions.Count
}

// openReserveOf returns the open reserve that funded h, or nil when none did or it has
// closed since.
func openReserveOf(tx storage.Txn, h *Hold) (*Reserve, error) {
	if h.ReserveID == "" {
		return nil, nil
	}
	rv, err := readReserve(tx, h.ReserveID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reserve %s: %w", h.ReserveID, err)
	}
	if rv.Status != ReserveOpen {
		return nil, nil
	}
	return &rv, nil
}

func readReserve(r storage.Reader, id string) (Reserve, error) {
	v, err := r.Get(reserveKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return Reserve{}, ErrNotFound
	}
	if err != nil {
		return Reserve{}, err
	}
	return decodeReserve(v)
}

func writeReserve(tx storage.Txn, rv *Reserve) error {
	if err := tx.Set(reserveKey(rv.ID), encodeReserve(rv)); err != nil {
		return fmt.Errorf("write reserve: %w", err)
	}
	return nil
}
