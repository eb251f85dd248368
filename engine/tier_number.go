package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"kirim/provider"
	"kirim/storage"
)

func numberStateKey(pnid string) []byte {
	return storage.Key(storage.PrefixNumber, []byte("p/"), []byte(pnid))
}

// NumberUpdate changes what Kirim knows of a number; empty or nil fields stay.
type NumberUpdate struct {
	Status  string
	Quality string
	// Limit sets the number's scope limit (the portfolio's under 2025 rules).
	Limit *int
	// Restriction is RESTRICTED_BIZ_INITIATED_MESSAGING (until RestrictedUntil), or
	// "NONE" to lift it.
	Restriction     string
	RestrictedUntil time.Time
	// Throughput is the throughput level: HIGH (1,000 msg/s) or STANDARD.
	Throughput string
}

// UpdateNumber applies u to the number alias and stores it. A limit change restarts
// the upgrade evaluation (Since).
func (e *Engine) UpdateNumber(ctx context.Context, alias string, u NumberUpdate) error {
	d, ok := e.dispatchers[alias]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownNumber, alias)
	}
	now := e.clock.Now()
	e.tier.mu.Lock()
	st := e.tier.states[alias]
	before := st
	if u.Status != "" {
		st.Status = strings.ToUpper(u.Status)
	}
	if u.Quality != "" {
		st.Quality = strings.ToUpper(u.Quality)
	}
	switch r := strings.ToUpper(u.Restriction); r {
	case "":
	case "NONE":
		st.Restriction, st.RestrictedT = "", time.Time{}
	default:
		st.Restriction, st.RestrictedT = r, u.RestrictedUntil
	}
	if u.Throughput != "" {
		st.Throughput = strings.ToUpper(u.Throughput)
	}
	st.UpdatedAt = now
	e.tier.states[alias] = st
	e.tier.mu.Unlock()
	sc := e.tier.byAlias[alias]
	var rec *scopeRecord
	limitChanged := false
	if u.Limit != nil {
		sc.mu.Lock()
		if sc.limit != *u.Limit {
			limitChanged = true
			e.log.Info("engine: messaging limit changed", "number", alias, "scope", sc.key, "from", sc.limit, "to", *u.Limit)
			sc.limit, sc.since = *u.Limit, now
		}
		rec = &scopeRecord{Limit: sc.limit, Since: sc.since}
		sc.mu.Unlock()
	}
	sc.mu.Lock()
	limitNow := sc.limit
	sc.mu.Unlock()
	changed := before.Status != st.Status || before.Quality != st.Quality || before.Restriction != st.Restriction ||
		!before.RestrictedT.Equal(st.RestrictedT) || before.Throughput != st.Throughput || limitChanged
	err := e.db.Commit(ctx, func(tx storage.Txn) error {
		b, _ := json.Marshal(st)
		if err := tx.Set(numberStateKey(d.num.PhoneNumberID), b); err != nil {
			return err
		}
		if rec != nil {
			b, _ := json.Marshal(rec)
			if err := tx.Set(scopeStateKey(sc.key), b); err != nil {
				return err
			}
		}
		if changed && e.opts.OnNumber != nil {
			return e.opts.OnNumber(tx, d.num, st, limitNow)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: update number %s: %w", alias, err)
	}
	if !changed {
		return nil
	}
	d.setMPS(d.mpsFor(st))
	if before.Restriction != st.Restriction || !before.RestrictedT.Equal(st.RestrictedT) {
		e.armRestrictionEnd(alias, st)
	}
	if before.Status != st.Status || before.Quality != st.Quality {
		e.log.Info("engine: number standing changed", "number", alias, "status", st.Status, "quality", st.Quality)
	}
	// The change may release waiting messages, of this number or, for a limit, of every
	// number sharing it: they are looked at again now, not at their old ETA.
	var affected []string
	for _, a := range e.order {
		if a == alias || (limitChanged && e.tier.byAlias[a] == sc) {
			affected = append(affected, a)
		}
	}
	e.numberChanged(affected...)
	return nil
}

// numberChanged re-plans the waiting messages of the numbers whose standing or limit
// changed and tells the campaigns (AfterNumber), after the change is stored.
func (e *Engine) numberChanged(aliases ...string) {
	now := e.clock.Now()
	for _, a := range aliases {
		u := e.tier.byAlias[a].usage(now)
		room := -1
		if u.Limit != Unlimited {
			room = max(u.Limit-u.Used24h, 0)
		}
		e.dispatchers[a].requestReplan(replanReq{reasons: e.liftedHolds(a, now), tier: room})
	}
	if e.opts.AfterNumber != nil {
		for _, a := range aliases {
			e.opts.AfterNumber(a)
		}
	}
}

// NumberStatus is a number's standing and its scope's usage.
type NumberStatus struct {
	NumberState
	TierUsage
}

// NumberStatusOf reports the number's standing and messaging-limit usage.
func (e *Engine) NumberStatusOf(alias string) (NumberStatus, error) {
	sc, ok := e.tier.byAlias[alias]
	if !ok {
		return NumberStatus{}, fmt.Errorf("%w: %q", ErrUnknownNumber, alias)
	}
	e.tier.mu.Lock()
	st := e.tier.states[alias]
	e.tier.mu.Unlock()
	u := sc.usage(e.clock.Now())
	u.Rules = e.tier.rules
	return NumberStatus{NumberState: st, TierUsage: u}, nil
}

func (e *Engine) stateOf(alias string) NumberState {
	e.tier.mu.Lock()
	defer e.tier.mu.Unlock()
	return e.tier.states[alias]
}

// ApplyNumberChange applies a number or account webhook value (phone_number_quality_update,
// business_capability_update, account_update) from the WABA wabaID. It reports whether
// the value was one of those.
func (e *Engine) ApplyNumberChange(ctx context.Context, wabaID string, value any) (bool, error) {
	switch v := value.(type) {
	case *provider.PhoneNumberQualityUpdate:
		alias := e.aliasFor(wabaID, v.DisplayPhoneNumber)
		if alias == "" {
			return true, nil
		}
		var u NumberUpdate
		switch strings.ToUpper(v.Event) {
		case "FLAGGED":
			u.Status = StatusFlagged
		case "UNFLAGGED":
			u.Status = StatusConnected
		case "THROUGHPUT_UPGRADE":
			u.Throughput = ThroughputHigh
		}
		limitName := v.CurrentLimit
		if limitName == "" || e.tier.rules == Rules2025 {
			if s := string(v.MaxDailyConversationsPerBusiness); s != "" {
				limitName = s
			}
		}
		if n, ok := provider.ParseTierLimit(limitName); ok && n != 0 {
			l := int(n)
			u.Limit = &l
		}
		return true, e.UpdateNumber(ctx, alias, u)
	case *provider.BusinessCapabilityUpdate:
		n := int(v.MaxDailyConversationsPerBusiness)
		if n == 0 || e.tier.rules != Rules2025 {
			return true, nil
		}
		for _, a := range e.aliasesOf(wabaID) {
			if err := e.UpdateNumber(ctx, a, NumberUpdate{Limit: &n}); err != nil {
				return true, err
			}
		}
		return true, nil
	case *provider.AccountUpdate:
		if strings.ToUpper(v.Event) != "ACCOUNT_RESTRICTION" {
			return true, nil
		}
		u := NumberUpdate{Restriction: "NONE"}
		for _, r := range v.RestrictionInfo {
			if strings.ToUpper(r.RestrictionType) == "RESTRICTED_BIZ_INITIATED_MESSAGING" {
				u.Restriction = "RESTRICTED_BIZ_INITIATED_MESSAGING"
				if r.Expiration > 0 {
					u.RestrictedUntil = time.Unix(int64(r.Expiration), 0).UTC()
				}
			}
		}
		aliases := e.aliasesOf(wabaID)
		if a := e.aliasFor(wabaID, v.PhoneNumber); v.PhoneNumber != "" && a != "" {
			aliases = []string{a}
		}
		for _, a := range aliases {
			if err := e.UpdateNumber(ctx, a, u); err != nil {
				return true, err
			}
		}
		return true, nil
	}
	return false, nil
}

// ApplyPhoneInfo applies a poll of the number's fields (GET /{phone-number-id}).
func (e *Engine) ApplyPhoneInfo(ctx context.Context, alias string, info *provider.PhoneNumberInfo) error {
	u := NumberUpdate{Status: info.Status, Quality: info.QualityRating}
	if info.Throughput != nil {
		u.Throughput = info.Throughput.Level
	}
	if n, ok := provider.ParseTierLimit(info.MessagingLimit); ok && n != 0 {
		l := int(n)
		u.Limit = &l
	}
	return e.UpdateNumber(ctx, alias, u)
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// aliasFor finds the number a webhook names by its display phone number, else the
// WABA's first number.
func (e *Engine) aliasFor(wabaID, display string) string {
	if d := digits(display); d != "" {
		for _, a := range e.order {
			if digits(e.dispatchers[a].num.Phone) == d {
				return a
			}
		}
	}
	if as := e.aliasesOf(wabaID); len(as) > 0 {
		return as[0]
	}
	return ""
}

func (e *Engine) aliasesOf(wabaID string) []string {
	var out []string
	for _, a := range e.order {
		if n := e.dispatchers[a].num; n.WABAID == wabaID || wabaID == "" {
			out = append(out, a)
		}
	}
	return out
}
