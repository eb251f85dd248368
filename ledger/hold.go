package ledger

import (
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// Hold statuses. A hold resolves exactly once: held -> captured or held -> released.
const (
	HoldHeld     = "held"
	HoldCaptured = "captured"
	HoldReleased = "released"
)

// Release reasons the ledger itself uses; callers may give others.
const (
	ReleaseExpired = "expired"
	ReleaseFailed  = "failed"
)

// HoldRequest reserves the price of one message.
type HoldRequest struct {
	ID             string // the hold's id, usually the message id; Hold is idempotent on it
	Account        string
	MessageID      string
	CampaignID     string
	Recipient      string // wa_id
	Market         string // recipient's calling code
	Category       string
	ContentType    string
	Template       string // the template's name, for statements; empty for session messages
	InWindow       bool
	FreeEntryPoint bool
	// CreditKind is the package credit that may cover the message; default Category.
	CreditKind string
	At         time.Time // the message's time, for pricing; default now
	ExpiresAt  time.Time // when an unresolved hold is released; default At + HoldTTL
	// ReserveID names the campaign reserve that should fund a money hold. When it is
	// open, belongs to the account and has the price left, the price moves from the
	// reserve into held; otherwise the hold is funded from available as without it.
	// Free and credit-backed holds take nothing from it.
	ReserveID string
	// Fresh says ID was made for this request (a new message's random id), so no hold
	// can have it yet. Hold then skips the lookup that makes it idempotent: on the send
	// path that lookup misses every time, and a miss walks every level of the store.
	Fresh bool
}

// Hold is the stored state of one reservation.
type Hold struct {
	ID             string `json:"id"`
	Account        string `json:"account"`
	MessageID      string `json:"message_id,omitempty"`
	CampaignID     string `json:"campaign_id,omitempty"`
	Recipient      string `json:"recipient,omitempty"`
	Market         string `json:"market,omitempty"`
	Category       string `json:"category"`
	ContentType    string `json:"content_type,omitempty"`
	Template       string `json:"template,omitempty"`
	InWindow       bool   `json:"in_window,omitempty"`
	FreeEntryPoint bool   `json:"free_entry_point,omitempty"`
	Amount         int64  `json:"amount"`                // micros held; 0 when free or credit-backed
	CreditKind     string `json:"credit_kind,omitempty"` // set when one credit unit backs the hold
	CreditMonth    string `json:"credit_month,omitempty"`
	Free           bool   `json:"free,omitempty"`
	FreeReason     string `json:"free_reason,omitempty"`
	ReserveID      string `json:"reserve_id,omitempty"` // the campaign reserve that funded Amount; empty when available did
	Band           int    `json:"band"`
	Month          string `json:"month"` // volume month the hold counts in: the month of At
	// Rules are the pricing rules of the card that priced the hold; empty in holds
	// written before they were kept (holdRules looks them up).
	Rules string `json:"rules,omitempty"`
	// Volume is the volume counter the hold counts in: its category, or "*" under a
	// VolumeTotal card; empty means Category.
	Volume    string    `json:"volume,omitempty"`
	At        time.Time `json:"at"` // the message's time
	ExpiresAt time.Time `json:"expires_at"`
	Status    string    `json:"status"`
	HoldSeq   uint64    `json:"hold_seq,omitempty"`
	// Set when resolved.
	Captured         int64     `json:"captured,omitempty"`
	CapturedCategory string    `json:"captured_category,omitempty"`
	Shortfall        int64     `json:"shortfall,omitempty"`
	ReleaseReason    string    `json:"release_reason,omitempty"`
	ResolvedAt       time.Time `json:"resolved_at,omitzero"`
	ResolveSeq       uint64    `json:"resolve_seq,omitempty"`
}

// HoldResult is what Hold did.
type HoldResult struct {
	Hold     Hold
	Existing bool // the id was already held (or resolved): nothing was written
	Events   []Event
}

// SettleResult is what Capture or Release did.
type SettleResult struct {
	Hold            Hold
	AlreadyResolved bool // the hold was resolved before: nothing was written
	Captured        int64
	Released        int64
	// ToReserve is the part of Released that went back to the open reserve that funded
	// the hold rather than to available.
	ToReserve int64
	Shortfall int64
	Events    []Event
}

// Hold reserves the price of a message: one unit of package credit when one is left,
// otherwise its price in money moved to held from the campaign reserve req.ReserveID
// names (when it can pay) or from available. A hold larger than the available balance
// fails with ErrInsufficientBalance and writes nothing. It runs the month's credit
// rollover first when due. Hold is idempotent on req.ID.
func (l *Ledger) Hold(tx storage.Txn, req HoldRequest) (HoldResult, error) {
	acct, err := l.account(req.Account)
	if err != nil {
		return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
	}
	if err := validID("hold id", req.ID); err != nil {
		return HoldResult{}, fmt.Errorf("ledger: hold: %w", err)
	}
	for _, f := range [][2]string{{"message_id", req.MessageID}, {"campaign_id", req.CampaignID}, {"reserve_id", req.ReserveID}} {
		if f[1] != "" {
			if err := validID(f[0], f[1]); err != nil {
				return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
			}
		}
	}
	if len(req.Template) > MaxReasonLength {
		return HoldResult{}, fmt.Errorf("ledger: hold %s: template is longer than %d bytes: %w", req.ID, MaxReasonLength, ErrInvalid)
	}
	if !req.Fresh {
		existing, err := readHold(tx, req.ID)
		switch {
		case err == nil && existing.Account != req.Account:
			return HoldResult{}, fmt.Errorf("ledger: hold %s exists for another account: %w", req.ID, ErrConflict)
		case err == nil:
			return HoldResult{Hold: existing, Existing: true}, nil
		case !errors.Is(err, ErrNotFound):
			return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
		}
	}
	now := l.now()
	if req.At.IsZero() {
		req.At = now
	}
	if req.ExpiresAt.IsZero() {
		req.ExpiresAt = req.At.Add(l.holdTTL)
	}
	if req.CreditKind == "" {
		req.CreditKind = req.Category
	}
	// Decide how the hold is funded before writing anything, so a refusal leaves the
	// transaction untouched even when a rollover is due. Only kinds in the account's
	// package are looked up (units left from an earlier package wait for the periodic
	// rollover to expire them), and accounts without a package skip the lazy rollover:
	// on the hot path every read that misses walks the LSM levels.
	var rollover rolloverPlan
	if len(acct.Package.Credits) > 0 {
		if rollover, err = l.rolloverDue(tx, acct, now); err != nil {
			return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
		}
	}
	qreq := quoteRequest(req)
	card, err := l.pricingCard(acct, qreq)
	if err != nil {
		return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
	}
	rv, err := openReserve(tx, req.ReserveID, acct.ID)
	if err != nil {
		return HoldResult{}, fmt.Errorf("ledger: hold %s: reserve %s: %w", req.ID, req.ReserveID, err)
	}
	var st pricingState = storeState{r: tx, acct: acct, rolloverDue: rollover.due}
	if rv.hasPositions() {
		st = positionState{pricingState: st, rv: rv}
	}
	q, useCredit, err := l.price(st, acct, card, qreq, monthOf(req.At, acct.Timezone), req.CreditKind, false)
	if err != nil {
		return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
	}
	h := Hold{
		ID: req.ID, Account: acct.ID, MessageID: req.MessageID, CampaignID: req.CampaignID,
		Recipient: req.Recipient, Market: req.Market, Category: req.Category, ContentType: req.ContentType,
		Template: req.Template, InWindow: req.InWindow, FreeEntryPoint: req.FreeEntryPoint,
		Free: q.Free, FreeReason: q.FreeReason, Band: q.Band, Month: q.Month, Rules: q.Rules, Volume: q.Volume,
		At: req.At, ExpiresAt: req.ExpiresAt, Status: HoldHeld,
	}
	money := holdMoney(q, useCredit)
	// A money hold of the run takes the next volume position its reserve claimed at
	// launch (the one its quote priced it at) instead of a new one.
	tookPosition := money > 0 && rv.hasPositions() && rv.Positions.Volume == q.Volume && rv.Positions.Month == q.Month
	var fund *Reserve
	if money > 0 && rv != nil && rv.Remaining >= money {
		fund = rv
	}
	if money > 0 && fund == nil {
		avail, err := balanceOf(tx, acct.Currency, availableAccount(acct.ID))
		if err != nil {
			return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
		}
		if avail < money {
			return HoldResult{}, fmt.Errorf("ledger: hold %s: price %d exceeds available %d %s: %w", req.ID, money, avail, acct.Currency, ErrInsufficientBalance)
		}
	}

	if rollover.due {
		if _, err := l.rollover(tx, acct, now, rollover); err != nil {
			return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
		}
	}
	e := Entry{
		Kind: KindHold, At: now, Account: acct.ID, HoldID: h.ID, MessageID: h.MessageID,
		CampaignID: h.CampaignID, Category: h.Category,
	}
	switch {
	case useCredit:
		h.CreditKind = req.CreditKind
		h.CreditMonth = monthOf(now, acct.Timezone)
		asset := creditAsset(h.CreditKind)
		e.CreditKind, e.Amount = h.CreditKind, 1
		e.Legs = transfer(creditAccount(acct.ID, h.CreditKind), heldAccount(acct.ID), asset, 1)
	case money > 0:
		h.Amount, e.Amount = money, money
		from := availableAccount(acct.ID)
		if fund != nil {
			from = reserveAccount(acct.ID)
			h.ReserveID, e.Reference = fund.ID, fund.ID
			fund.Remaining -= money
			fund.Drawn += money
		}
		e.Legs = transfer(from, heldAccount(acct.ID), acct.Currency, money)
	}
	if len(e.Legs) > 0 {
		if err := l.post(tx, acct, &e); err != nil {
			return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
		}
		h.HoldSeq = e.Seq
	}
	if tookPosition {
		rv.PositionsUsed++
	}
	if fund != nil || tookPosition {
		if err := writeReserve(tx, rv); err != nil {
			return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
		}
	}
	if h.Amount > 0 && !tookPosition {
		// A reserve's positions were counted when it claimed them.
		if err := addVolume(tx, acct.ID, h.counter(), h.Month, 0, 1); err != nil {
			return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
		}
	}
	if !q.Free {
		if err := openPeriod(tx, &h, q.Rules); err != nil {
			return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
		}
	}
	if err := writeHold(tx, &h); err != nil {
		return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
	}
	if err := tx.Set(holdExpiryKey(h.ExpiresAt.UnixNano(), h.ID), nil); err != nil {
		return HoldResult{}, fmt.Errorf("ledger: hold %s: expiry index: %w", req.ID, err)
	}
	res := HoldResult{Hold: h}
	if h.Amount > 0 && fund == nil {
		if res.Events, err = l.checkLow(tx, acct, now); err != nil {
			return HoldResult{}, fmt.Errorf("ledger: hold %s: %w", req.ID, err)
		}
	}
	return res, nil
}

func quoteRequest(req HoldRequest) QuoteRequest {
	return QuoteRequest{
		Account: req.Account, Market: req.Market, Category: req.Category, ContentType: req.ContentType,
		InWindow: req.InWindow, FreeEntryPoint: req.FreeEntryPoint, Recipient: req.Recipient, At: req.At,
	}
}

// Capture settles a hold the provider reported billable. category is the category the
// provider reported ("" means the hold's own). When it equals the hold's, the held
// amount is captured. When the provider re-categorised the message, or charged one the
// hold priced free, the message is priced again as billable in the reported category at
// the message's time:
//   - a lower price captures the new price and returns the rest to available;
//   - a higher price takes the difference from available; if available cannot cover it
//     the account goes to zero, never below, and the uncovered rest is posted from the
//     account's "writeoff:<id>" and reported as Shortfall (the operator absorbs it).
//
// When a campaign reserve funded the hold and is still open, the difference settles
// against the reserve first: a lower price gives the rest back to the reserve, a higher
// one draws from the reserve, then available, then writeoff. The run's money stays
// with the run until its reserve closes; after that, differences settle against
// available as for any message.
//
// A credit-backed hold captures its credit unit whatever the category. A second Capture
// or a Capture after Release is a no-op that reports AlreadyResolved.
func (l *Ledger) Capture(tx storage.Txn, holdID, category string) (SettleResult, error) {
	h, acct, err := l.openHold(tx, holdID)
	if err != nil || h.Status != HoldHeld {
		return SettleResult{Hold: h, AlreadyResolved: err == nil}, wrapSettle("capture", holdID, err)
	}
	if category == "" {
		category = h.Category
	}
	if err := validName("category", category); err != nil {
		return SettleResult{}, wrapSettle("capture", holdID, err)
	}
	rules := l.holdRules(&h, acct)
	if cardPrices(rules) {
		// The card priced the message by what Kirim sent, not by the provider's category.
		category = h.Category
	}
	now := l.now()
	e := Entry{
		Kind: KindCapture, At: now, Account: acct.ID, HoldID: h.ID, MessageID: h.MessageID,
		CampaignID: h.CampaignID, Category: category,
	}
	res := SettleResult{}
	if h.CreditKind != "" {
		asset := creditAsset(h.CreditKind)
		e.CreditKind, e.Amount = h.CreditKind, 1
		e.Legs = transfer(heldAccount(acct.ID), providerAccount(acct.ID), asset, 1)
	} else {
		price := h.Amount
		if category != h.Category || h.Free {
			if price, err = l.reprice(tx, acct, &h, category, rules); err != nil {
				return SettleResult{}, wrapSettle("capture", holdID, err)
			}
		}
		e.Amount = price
		if h.Amount > 0 {
			e.Legs = append(e.Legs, Leg{Account: heldAccount(acct.ID), Asset: acct.Currency, Amount: -h.Amount})
		}
		if price > 0 {
			e.Legs = append(e.Legs, Leg{Account: providerAccount(acct.ID), Asset: acct.Currency, Amount: price})
		}
		var rv *Reserve
		if h.ReserveID != "" && price != h.Amount {
			e.Reference = h.ReserveID
			if rv, err = openReserveOf(tx, &h); err != nil {
				return SettleResult{}, wrapSettle("capture", holdID, err)
			}
		}
		switch {
		case price < h.Amount:
			res.Released = h.Amount - price
			to := availableAccount(acct.ID)
			if rv != nil {
				to, res.ToReserve = reserveAccount(acct.ID), res.Released
				rv.Remaining += res.Released
				rv.Returned += res.Released
			}
			e.Legs = append(e.Legs, Leg{Account: to, Asset: acct.Currency, Amount: res.Released})
		case price > h.Amount:
			extra := price - h.Amount
			if rv != nil {
				if take := min(extra, rv.Remaining); take > 0 {
					e.Legs = append(e.Legs, Leg{Account: reserveAccount(acct.ID), Asset: acct.Currency, Amount: -take})
					rv.Remaining -= take
					rv.Drawn += take
					extra -= take
				}
			}
			avail, err := balanceOf(tx, acct.Currency, availableAccount(acct.ID))
			if err != nil {
				return SettleResult{}, wrapSettle("capture", holdID, err)
			}
			take := min(extra, avail)
			if take > 0 {
				e.Legs = append(e.Legs, Leg{Account: availableAccount(acct.ID), Asset: acct.Currency, Amount: -take})
			}
			if res.Shortfall = extra - take; res.Shortfall > 0 {
				e.Legs = append(e.Legs, Leg{Account: writeoffAccount(acct.ID), Asset: acct.Currency, Amount: -res.Shortfall})
				l.log.Warn("ledger: capture repriced above hold and available",
					"account", acct.ID, "hold", h.ID, "category", category, "shortfall_micros", res.Shortfall)
			}
		}
		if rv != nil {
			if err := writeReserve(tx, rv); err != nil {
				return SettleResult{}, wrapSettle("capture", holdID, err)
			}
		}
		res.Captured = price
		// The message counts in the month it was accepted, whenever its status comes.
		if h.Amount > 0 {
			if err := addVolume(tx, acct.ID, h.counter(), h.Month, 0, -1); err != nil {
				return SettleResult{}, wrapSettle("capture", holdID, err)
			}
		}
		if price > 0 {
			if err := addVolume(tx, acct.ID, h.capturedCounter(category), h.Month, 1, 0); err != nil {
				return SettleResult{}, wrapSettle("capture", holdID, err)
			}
		}
	}
	if len(e.Legs) > 0 {
		if err := l.post(tx, acct, &e); err != nil {
			return SettleResult{}, wrapSettle("capture", holdID, err)
		}
		h.ResolveSeq = e.Seq
	}
	h.Status, h.Captured, h.CapturedCategory, h.Shortfall, h.ResolvedAt = HoldCaptured, res.Captured, category, res.Shortfall, now
	if err := l.closeHold(tx, &h); err != nil {
		return SettleResult{}, wrapSettle("capture", holdID, err)
	}
	res.Hold = h
	if h.CreditKind == "" && res.Captured != h.Amount {
		if res.Events, err = l.checkLow(tx, acct, now); err != nil {
			return SettleResult{}, wrapSettle("capture", holdID, err)
		}
	}
	return res, nil
}

// Release voids a hold: the message failed, was free, or its hold expired. Money returns
// to the campaign reserve that funded the hold while that is open, else to available;
// a credit unit returns to the account's credits if its month is still current, and
// otherwise goes back to the account's world (expired credits are not revived). A
// second Release or a Release after Capture is a no-op that reports AlreadyResolved.
func (l *Ledger) Release(tx storage.Txn, holdID, reason string) (SettleResult, error) {
	h, acct, err := l.openHold(tx, holdID)
	if err != nil || h.Status != HoldHeld {
		return SettleResult{Hold: h, AlreadyResolved: err == nil}, wrapSettle("release", holdID, err)
	}
	if len(reason) > MaxReasonLength {
		return SettleResult{}, wrapSettle("release", holdID, fmt.Errorf("reason is longer than %d bytes: %w", MaxReasonLength, ErrInvalid))
	}
	now := l.now()
	e := Entry{
		Kind: KindRelease, At: now, Account: acct.ID, HoldID: h.ID, MessageID: h.MessageID,
		CampaignID: h.CampaignID, Category: h.Category, Reason: reason,
	}
	res := SettleResult{}
	var rv *Reserve
	if h.CreditKind != "" {
		asset := creditAsset(h.CreditKind)
		to := creditAccount(acct.ID, h.CreditKind)
		month, err := readCreditMonth(tx, acct.ID)
		if err != nil {
			return SettleResult{}, wrapSettle("release", holdID, err)
		}
		if month.Month != h.CreditMonth {
			to = worldAccount(acct.ID)
		}
		e.CreditKind, e.Amount = h.CreditKind, 1
		e.Legs = transfer(heldAccount(acct.ID), to, asset, 1)
	} else if h.Amount > 0 {
		res.Released = h.Amount
		e.Amount = h.Amount
		to := availableAccount(acct.ID)
		if rv, err = openReserveOf(tx, &h); err != nil {
			return SettleResult{}, wrapSettle("release", holdID, err)
		}
		if h.ReserveID != "" {
			e.Reference = h.ReserveID
		}
		if rv != nil {
			to, res.ToReserve = reserveAccount(acct.ID), h.Amount
			rv.Remaining += h.Amount
			rv.Returned += h.Amount
		}
		e.Legs = transfer(heldAccount(acct.ID), to, acct.Currency, h.Amount)
		if err := addVolume(tx, acct.ID, h.counter(), h.Month, 0, -1); err != nil {
			return SettleResult{}, wrapSettle("release", holdID, err)
		}
	}
	if !h.Free {
		// A message that was not delivered opened no conversation and counted no user.
		if err := l.closePeriod(tx, &h, acct); err != nil {
			return SettleResult{}, wrapSettle("release", holdID, err)
		}
	}
	if len(e.Legs) > 0 {
		if err := l.post(tx, acct, &e); err != nil {
			return SettleResult{}, wrapSettle("release", holdID, err)
		}
		h.ResolveSeq = e.Seq
	}
	if rv != nil {
		if err := writeReserve(tx, rv); err != nil {
			return SettleResult{}, wrapSettle("release", holdID, err)
		}
	}
	h.Status, h.ReleaseReason, h.ResolvedAt = HoldReleased, reason, now
	if err := l.closeHold(tx, &h); err != nil {
		return SettleResult{}, wrapSettle("release", holdID, err)
	}
	res.Hold = h
	if res.Released > res.ToReserve {
		if res.Events, err = l.checkLow(tx, acct, now); err != nil {
			return SettleResult{}, wrapSettle("release", holdID, err)
		}
	}
	return res, nil
}

// Settle applies the pricing object of a provider status: pricing type "regular"
// captures in the reported category; a free type releases the hold, except under the
// rules that charge whatever the provider reports (per_message, muv: SettleFree).
func (l *Ledger) Settle(tx storage.Txn, holdID, pricingType, category string) (SettleResult, error) {
	switch pricingType {
	case PricingRegular:
		return l.Capture(tx, holdID, category)
	case PricingFreeCustomerService, PricingFreeEntryPoint:
		return l.SettleFree(tx, holdID, pricingType)
	}
	return SettleResult{}, fmt.Errorf("ledger: settle %s: pricing type %q: %w", holdID, pricingType, ErrInvalid)
}

// SettleFree settles a hold the provider reported free with pricingType (such as
// free_customer_service). Under per_message and muv rules the card, not the provider,
// decides what a message costs: the hold is captured at its price. Under the others it
// is released with pricingType as the reason.
func (l *Ledger) SettleFree(tx storage.Txn, holdID, pricingType string) (SettleResult, error) {
	h, acct, err := l.openHold(tx, holdID)
	if err != nil || h.Status != HoldHeld {
		return SettleResult{Hold: h, AlreadyResolved: err == nil}, wrapSettle("settle", holdID, err)
	}
	if cardPrices(l.holdRules(&h, acct)) {
		return l.Capture(tx, holdID, "")
	}
	return l.Release(tx, holdID, pricingType)
}

// ExpireHolds releases, with reason "expired", up to limit holds whose expiry is not
// after now, oldest first, and returns how many it released. A periodic job calls it,
// each call in its own commit (the scan sees committed expiries only).
func (l *Ledger) ExpireHolds(tx storage.Txn, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	var ids []string
	prefix := holdExpiryPrefix()
	end := string(holdExpiryKey(now.UnixNano(), "")) + "\xff"
	err := tx.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		if string(k) > end {
			return false, nil
		}
		ids = append(ids, string(k[len(prefix)+8:]))
		return len(ids) < limit, nil
	})
	if err != nil {
		return 0, fmt.Errorf("ledger: expire holds: %w", err)
	}
	n := 0
	for _, id := range ids {
		res, err := l.Release(tx, id, ReleaseExpired)
		if err != nil {
			return n, fmt.Errorf("ledger: expire holds: %w", err)
		}
		if !res.AlreadyResolved {
			n++
		}
	}
	return n, nil
}

// GetHold returns a stored hold.
func (l *Ledger) GetHold(r storage.Reader, id string) (Hold, error) {
	h, err := readHold(r, id)
	if err != nil {
		return Hold{}, fmt.Errorf("ledger: hold %s: %w", id, err)
	}
	return h, nil
}

func (l *Ledger) openHold(tx storage.Txn, id string) (Hold, *Account, error) {
	h, err := readHold(tx, id)
	if err != nil {
		return Hold{}, nil, err
	}
	acct, err := l.account(h.Account)
	if err != nil {
		return Hold{}, nil, err
	}
	return h, acct, nil
}

func (l *Ledger) closeHold(tx storage.Txn, h *Hold) error {
	if err := tx.Delete(holdExpiryKey(h.ExpiresAt.UnixNano(), h.ID)); err != nil {
		return fmt.Errorf("expiry index: %w", err)
	}
	return writeHold(tx, h)
}

func wrapSettle(op, id string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("ledger: %s %s: %w", op, id, err)
}

func readHold(r storage.Reader, id string) (Hold, error) {
	v, err := r.Get(holdKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return Hold{}, ErrNotFound
	}
	if err != nil {
		return Hold{}, err
	}
	return decodeHold(v)
}

func writeHold(tx storage.Txn, h *Hold) error {
	if err := tx.Set(holdKey(h.ID), encodeHold(h)); err != nil {
		return fmt.Errorf("write hold: %w", err)
	}
	return nil
}
