package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"kirim/provider"
	"kirim/storage"
)

// Messaging-limit rules, as config names them.
const (
	Rules2025   = "2025"   // one limit per business portfolio, shared by every number
	RulesLegacy = "legacy" // one limit per number
)

// Tier accounting constants.
const (
	// LimitWindow is the rolling window of the messaging limit.
	LimitWindow = 24 * time.Hour
	// Unlimited is the limit value of TIER_UNLIMITED.
	Unlimited = -1
	// UpgradeEvaluation is how long a limit must have been held before an upgrade is
	// considered, and the trailing window whose usage decides it.
	UpgradeEvaluation = 7 * 24 * time.Hour
	// UpgradeStep is the granularity at which the upgrade rule is evaluated.
	UpgradeStep = time.Hour
	// UpgradeDelay2025 and UpgradeDelayLegacy are how long after meeting the criteria
	// the provider raises the limit.
	UpgradeDelay2025   = 6 * time.Hour
	UpgradeDelayLegacy = 24 * time.Hour
	// usageKeep is how long slot records are kept: the 7-day usage the forecast reads,
	// plus a day of margin.
	usageKeep = UpgradeEvaluation + 24*time.Hour
	// pauseRecheck is how often a message paused by the number's standing (flagged,
	// restricted, red quality) is looked at again.
	pauseRecheck = 5 * time.Minute
	// forecastHorizon bounds how far ahead the upgrade forecast looks.
	forecastHorizon = 90 * 24 * time.Hour
)

// Waiting reasons the tier gate gives.
const (
	ReasonTierLimit         = "tier_limit"
	ReasonPairRate          = "pair_rate"
	ReasonAccountRestricted = "account_restricted"
	ReasonNumberFlagged     = "number_flagged"
	ReasonNumberRestricted  = "number_restricted"
	ReasonQualityRed        = "quality_red"
	// ReasonTemplatePaused: the template was paused by Meta for low quality; sending
	// into a pause only fails (132015), so the message waits for REINSTATED.
	ReasonTemplatePaused     = "template_paused"
	ReasonMarketingUserLimit = "marketing_user_limit"
)

// Ladders of messaging limits, lowest first.
var (
	ladder2025   = []int{250, 2000, 10000, 100000, Unlimited}
	ladderLegacy = []int{250, 1000, 10000, 100000, Unlimited}
)

// NextLimit is the limit above limit under rules (limit itself when it is the top).
func NextLimit(rules string, limit int) int {
	l := ladder2025
	if rules == RulesLegacy {
		l = ladderLegacy
	}
	if limit == Unlimited {
		return Unlimited
	}
	for _, v := range l {
		if v == Unlimited || v > limit {
			return v
		}
	}
	return Unlimited
}

// NumberState is the provider's view of a number: its standing and, under legacy
// rules, its own limit. It is stored, and updated from webhooks and polls.
type NumberState struct {
	Status      string    `json:"status"`  // CONNECTED, FLAGGED, RESTRICTED, PENDING, ...
	Quality     string    `json:"quality"` // GREEN, YELLOW, RED, UNKNOWN
	Restriction string    `json:"restriction,omitempty"`
	RestrictedT time.Time `json:"restricted_until,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// scopeRecord is the stored part of a limit scope.
type scopeRecord struct {
	Limit int       `json:"limit"`
	Since time.Time `json:"since"`
}

// tierScope counts unique business-initiated recipients for one limit: the portfolio
// (2025 rules) or one number (legacy). Membership is kept in memory for O(1) checks and
// mirrored in storage as one key per slot, written in the claim that takes it.
type tierScope struct {
	key string

	mu    sync.Mutex
	limit int
	since time.Time
	taken map[waNum]int64 // recipient -> slot time (ns), within LimitWindow
	slots []slotRec       // every slot within usageKeep, oldest first
	head  int             // first slot still within LimitWindow
	base  int             // first slot still within usageKeep
	stale [][]byte        // keys of slots past usageKeep, deleted by the next claim
	// odd names the few wa_ids that are not plain numbers, by their hashed waNum, while
	// a slot holds them.
	odd map[waNum]oddName
}

type oddName struct {
	wa    string
	slots int
}

type slotRec struct {
	wa waNum
	at int64
}

// waNum is a wa_id held as a number. A wa_id is a phone number's digits, so a scope
// that counts a million recipients holds 8 bytes for each where a string held 16 and
// its digits again, in the map and in the slot list each. One that is not a plain
// number gets a hash with the top bit set (digits never reach it), its name kept in odd.
type waNum uint64

const oddWA waNum = 1 << 63

func newScope(key string, limit int, since time.Time) *tierScope {
	return &tierScope{key: key, limit: limit, since: since, taken: map[waNum]int64{}}
}

// numOf is wa's waNum.
func numOf(wa string) waNum {
	if n, ok := plainWA(wa); ok {
		return n
	}
	h := fnv.New64a()
	h.Write([]byte(wa))
	return waNum(h.Sum64()) | oddWA
}

// addSlot appends a slot of wa (whose waNum is n) at ns. s.mu held.
func (s *tierScope) addSlot(wa string, n waNum, ns int64) {
	if n&oddWA != 0 {
		if s.odd == nil {
			s.odd = map[waNum]oddName{}
		}
		s.odd[n] = oddName{wa: wa, slots: s.odd[n].slots + 1}
	}
	s.slots = append(s.slots, slotRec{wa: n, at: ns})
}

// forget is called for each slot leaving the list: an odd name goes with its last slot.
// s.mu held.
func (s *tierScope) forget(sl slotRec) {
	if sl.wa&oddWA == 0 {
		return
	}
	if o := s.odd[sl.wa]; o.slots > 1 {
		s.odd[sl.wa] = oddName{wa: o.wa, slots: o.slots - 1}
	} else {
		delete(s.odd, sl.wa)
	}
}

// name is the wa_id of n. s.mu held.
func (s *tierScope) name(n waNum) string {
	if n&oddWA != 0 {
		return s.odd[n].wa
	}
	return strconv.FormatUint(uint64(n), 10)
}

// plainWA parses a wa_id that its decimal form gives back exactly: digits, no leading
// zero, short enough to stay under oddWA.
func plainWA(wa string) (waNum, bool) {
	if len(wa) == 0 || len(wa) > 18 || wa[0] == '0' {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(wa); i++ {
		c := wa[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return waNum(n), true
}

func scopeStateKey(scope string) []byte {
	return storage.Key(storage.PrefixNumber, []byte("s/"), []byte(scope))
}

func numberStateKey(pnid string) []byte {
	return storage.Key(storage.PrefixNumber, []byte("p/"), []byte(pnid))
}

func slotPrefix(scope string) []byte {
	return storage.Key(storage.PrefixNumberRecipient, storage.Str(scope))
}

func slotKey(scope string, at int64, wa string) []byte {
	return storage.Key(storage.PrefixNumberRecipient, storage.Str(scope), storage.U64(uint64(at)), []byte(wa))
}

// expireLocked moves the window start past slots older than LimitWindow and drops
// records older than usageKeep.
func (s *tierScope) expireLocked(now int64) {
	w := int64(LimitWindow)
	for s.head < len(s.slots) && s.slots[s.head].at+w <= now {
		sl := s.slots[s.head]
		if at, ok := s.taken[sl.wa]; ok && at == sl.at {
			delete(s.taken, sl.wa)
		}
		s.head++
	}
	keep := int64(usageKeep)
	for s.base < s.head && s.slots[s.base].at+keep <= now {
		sl := s.slots[s.base]
		s.stale = append(s.stale, slotKey(s.key, sl.at, s.name(sl.wa)))
		s.forget(sl)
		s.base++
	}
	// Compact once the dead prefix is large, so the cost stays amortised O(1).
	if s.base > 1024 && s.base*2 > len(s.slots) {
		s.slots = append(s.slots[:0], s.slots[s.base:]...)
		s.head -= s.base
		s.base = 0
	}
}

// admit decides whether a business-initiated message to wa may go at now. A recipient
// already counted passes without a new slot; a new one takes a slot if the limit allows
// (taken reports it, so a failed commit can give it back). Otherwise eta is when the
// oldest slot frees.
func (s *tierScope) admit(wa string, now time.Time) (ok, taken bool, eta time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := now.UnixNano()
	s.expireLocked(ns)
	n := numOf(wa)
	if _, in := s.taken[n]; in {
		return true, false, time.Time{}
	}
	if s.limit != Unlimited && len(s.taken) >= s.limit {
		return false, false, time.Unix(0, s.slots[s.head].at).Add(LimitWindow)
	}
	s.taken[n] = ns
	s.addSlot(wa, n, ns)
	return true, true, time.Time{}
}

// giveBack undoes a slot taken by admit whose claim did not commit.
func (s *tierScope) giveBack(wa string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := at.UnixNano()
	n := numOf(wa)
	if t, ok := s.taken[n]; ok && t == ns {
		delete(s.taken, n)
	}
	for i := len(s.slots) - 1; i >= s.head; i-- {
		if s.slots[i].wa == n && s.slots[i].at == ns {
			s.forget(s.slots[i])
			s.slots = append(s.slots[:i], s.slots[i+1:]...)
			return
		}
	}
}

func (s *tierScope) takeStale() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stale
	s.stale = nil
	return out
}

// TierUsage is the state of one messaging-limit scope.
type TierUsage struct {
	Rules string    `json:"rules"`
	Scope string    `json:"scope"`
	Limit int       `json:"limit"` // -1 unlimited
	Since time.Time `json:"since"`
	// Used24h is the unique business-initiated recipients in the rolling window.
	Used24h int `json:"used_24h"`
	// FreesAt is when the oldest slot frees (zero when none is taken).
	FreesAt time.Time `json:"frees_at,omitzero"`
	// Used7d is the slots taken over the last 7 days: the usage the upgrade rule reads.
	Used7d int `json:"used_7d"`
}

func (s *tierScope) usage(now time.Time) TierUsage {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := now.UnixNano()
	s.expireLocked(ns)
	u := TierUsage{Scope: s.key, Limit: s.limit, Since: s.since, Used24h: len(s.taken)}
	if s.head < len(s.slots) {
		u.FreesAt = time.Unix(0, s.slots[s.head].at).Add(LimitWindow)
	}
	from := ns - int64(UpgradeEvaluation)
	for _, sl := range s.slots[s.base:] {
		if sl.at > from {
			u.Used7d++
		}
	}
	return u
}

// slotTimes returns the slot times within usageKeep, oldest first.
func (s *tierScope) slotTimes() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, 0, len(s.slots)-s.base)
	for _, sl := range s.slots[s.base:] {
		out = append(out, sl.at)
	}
	return out
}

// tiers holds every scope and number state of an engine.
type tiers struct {
	rules   string
	scopes  map[string]*tierScope // by scope key
	byAlias map[string]*tierScope

	mu     sync.Mutex
	states map[string]NumberState // by alias
}

func (e *Engine) scopeKeyOf(n Number) string {
	if e.tier.rules == RulesLegacy {
		return "pn:" + n.PhoneNumberID
	}
	return "portfolio"
}

// setupTiers builds the scopes from the configuration and loads what storage holds:
// limits learnt from the provider, number states, and the slots still counting.
func (e *Engine) setupTiers() error {
	t := &tiers{rules: e.opts.Rules, scopes: map[string]*tierScope{}, byAlias: map[string]*tierScope{}, states: map[string]NumberState{}}
	e.tier = t
	now := e.clock.Now()
	for _, a := range e.order {
		n := e.dispatchers[a].num
		key := e.scopeKeyOf(n)
		sc, ok := t.scopes[key]
		if !ok {
			limit := e.opts.PortfolioLimit
			if t.rules == RulesLegacy {
				limit = n.MessagingLimit
			}
			sc = newScope(key, limit, now)
			t.scopes[key] = sc
		}
		t.byAlias[a] = sc
		t.states[a] = NumberState{Status: n.Status, Quality: n.Quality}
	}
	return e.db.View(func(r storage.Reader) error {
		for key, sc := range t.scopes {
			b, err := r.Get(scopeStateKey(key))
			if err == nil {
				var rec scopeRecord
				if err := json.Unmarshal(b, &rec); err != nil {
					return fmt.Errorf("engine: tier scope %s: %w", key, err)
				}
				sc.limit, sc.since = rec.Limit, rec.Since
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			if err := loadSlots(r, sc, now); err != nil {
				return err
			}
		}
		for a := range t.states {
			n := e.dispatchers[a].num
			b, err := r.Get(numberStateKey(n.PhoneNumberID))
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			var st NumberState
			if err := json.Unmarshal(b, &st); err != nil {
				return fmt.Errorf("engine: number state %s: %w", a, err)
			}
			t.states[a] = st
		}
		return nil
	})
}

func loadSlots(r storage.Reader, sc *tierScope, now time.Time) error {
	prefix := slotPrefix(sc.key)
	keepFrom := now.Add(-usageKeep).UnixNano()
	winFrom := now.Add(-LimitWindow).UnixNano()
	return r.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		at, wa, ok := storage.ParseU64(k[len(prefix):])
		if !ok {
			return true, nil
		}
		ns := int64(at)
		if ns <= keepFrom {
			sc.stale = append(sc.stale, append([]byte(nil), k...))
			return true, nil
		}
		name := string(wa)
		n := numOf(name)
		sc.addSlot(name, n, ns)
		if ns > winFrom {
			sc.taken[n] = ns
		}
		return true, nil
	})
}

// finishLoad sets each scope's window start after loading.
func (t *tiers) finishLoad(now time.Time) {
	for _, sc := range t.scopes {
		sc.mu.Lock()
		sort.Slice(sc.slots, func(i, j int) bool { return sc.slots[i].at < sc.slots[j].at })
		sc.head, sc.base = 0, 0
		sc.expireLocked(now.UnixNano())
		sc.mu.Unlock()
	}
}

// RebuildTierCounters recounts every scope's slots from the message log: each template
// sent in the last usageKeep takes a slot at the time it was claimed, the first per
// recipient within a rolling window. It counts conservatively (a template sent inside
// an open window is counted too), which can only make Kirim wait earlier than the
// provider would. Use it when the counters were lost.
func (e *Engine) RebuildTierCounters(ctx context.Context) (int, error) {
	now := e.clock.Now()
	from := now.Add(-usageKeep)
	type sent struct {
		scope, wa string
		at        time.Time
	}
	var found []sent
	var old [][]byte
	err := e.db.View(func(r storage.Reader) error {
		for key := range e.tier.scopes {
			if err := r.Iterate(slotPrefix(key), storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
				old = append(old, bytes.Clone(k))
				return true, nil
			}); err != nil {
				return err
			}
		}
		return r.Iterate([]byte(storage.PrefixMessage), storage.IterOptions{}, func(k, v []byte) (bool, error) {
			var m Message
			if err := decodeMessage(string(k[len(storage.PrefixMessage):]), v, &m); err != nil {
				return true, nil
			}
			if m.Type != "template" || m.CreatedAt.Before(from.Add(-LimitWindow)) {
				return true, nil
			}
			var at time.Time
			for _, h := range m.History {
				if h.State == Dispatching {
					at = h.At
				}
			}
			if at.IsZero() || at.Before(from) || m.State == Failed || m.State == Cancelled {
				return true, nil
			}
			d, ok := e.dispatchers[m.Number]
			if !ok {
				return true, nil
			}
			found = append(found, sent{scope: e.scopeKeyOf(d.num), wa: waOf(&m), at: at})
			return true, nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("engine: rebuild tier counters: %w", err)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].at.Before(found[j].at) })
	for _, sc := range e.tier.scopes {
		sc.mu.Lock()
		sc.taken, sc.slots, sc.head, sc.base, sc.stale, sc.odd = map[waNum]int64{}, nil, 0, 0, nil, nil
		sc.mu.Unlock()
	}
	last := map[string]int64{}
	var keys [][]byte
	for _, s := range found {
		sc := e.tier.scopes[s.scope]
		k := s.scope + "\x00" + s.wa
		ns := s.at.UnixNano()
		if prev, ok := last[k]; ok && prev+int64(LimitWindow) > ns {
			continue
		}
		last[k] = ns
		n := numOf(s.wa)
		sc.addSlot(s.wa, n, ns)
		if ns > now.Add(-LimitWindow).UnixNano() {
			sc.taken[n] = ns
		}
		keys = append(keys, slotKey(s.scope, ns, s.wa))
	}
	e.tier.finishLoad(now)
	const chunk = 1000
	for _, batch := range []struct {
		keys [][]byte
		set  bool
	}{{old, false}, {keys, true}} {
		for i := 0; i < len(batch.keys); i += chunk {
			part := batch.keys[i:min(i+chunk, len(batch.keys))]
			if err := e.db.Commit(ctx, func(tx storage.Txn) error {
				for _, k := range part {
					var err error
					if batch.set {
						err = tx.Set(k, nil)
					} else {
						err = tx.Delete(k)
					}
					if err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return 0, fmt.Errorf("engine: rebuild tier counters: %w", err)
			}
		}
	}
	return len(keys), nil
}

func waOf(m *Message) string {
	if m.WaID != "" {
		return m.WaID
	}
	return strings.TrimPrefix(m.To, "+")
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
	st.UpdatedAt = now
	e.tier.states[alias] = st
	e.tier.mu.Unlock()
	sc := e.tier.byAlias[alias]
	var rec *scopeRecord
	if u.Limit != nil {
		sc.mu.Lock()
		if sc.limit != *u.Limit {
			e.log.Info("engine: messaging limit changed", "number", alias, "scope", sc.key, "from", sc.limit, "to", *u.Limit)
			sc.limit, sc.since = *u.Limit, now
		}
		rec = &scopeRecord{Limit: sc.limit, Since: sc.since}
		sc.mu.Unlock()
	}
	err := e.db.Commit(ctx, func(tx storage.Txn) error {
		b, _ := json.Marshal(st)
		if err := tx.Set(numberStateKey(d.num.PhoneNumberID), b); err != nil {
			return err
		}
		if rec != nil {
			b, _ := json.Marshal(rec)
			return tx.Set(scopeStateKey(sc.key), b)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("engine: update number %s: %w", alias, err)
	}
	// Waiting messages may be able to go now.
	for _, a := range e.order {
		if e.tier.byAlias[a] == sc || a == alias {
			e.dispatchers[a].wake(now)
		}
	}
	return nil
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

// gateVerdict is what the tier gate decided for one message at claim time.
type gateVerdict struct {
	reason string    // empty: send now
	due    time.Time // when to look at it again
	eta    time.Time // shown to the user; zero when unknown
	fail   *MessageError
	slot   bool // took a messaging-limit slot (given back if the claim fails)
	wa     string
}

// gate decides whether m may be claimed now. It reads the contact (window, opt-out,
// per-user marketing hold) and the number's standing, then takes a messaging-limit slot
// for a business-initiated template; O(1) per message.
func (d *dispatcher) gate(tx storage.Txn, m *Message, now time.Time) (gateVerdict, error) {
	wa := waOf(m)
	v := gateVerdict{wa: wa}
	if next := d.pairNext(wa); next.After(now) {
		v.reason, v.due, v.eta = ReasonPairRate, next, next
		return v, nil
	}
	if m.Type != "template" {
		return v, nil
	}
	ct, err := loadContact(tx, d.num.PhoneNumberID, wa)
	if err != nil {
		return v, err
	}
	if m.Template != nil && d.e.opts.TemplateStatus != nil {
		switch d.e.opts.TemplateStatus(d.num.WABAID, m.Template.Name, m.Template.Language) {
		case "PAUSED":
			v.reason, v.due = ReasonTemplatePaused, now.Add(pauseRecheck)
			return v, nil
		case "DISABLED", "DELETED", "PENDING_DELETION":
			v.fail = &MessageError{Code: CodeTemplateUnusable, Title: "the template can no longer be sent", Class: "template_unusable"}
			return v, nil
		}
	}
	marketing := m.Category == "marketing"
	if marketing && ct.OptedOut {
		v.fail = &MessageError{Code: CodeOptedOut, Title: "recipient opted out of marketing", Class: "opted_out"}
		return v, nil
	}
	if marketing && ct.MarketingHoldUntil.After(now) {
		v.reason, v.due, v.eta = ReasonMarketingUserLimit, ct.MarketingHoldUntil, ct.MarketingHoldUntil
		return v, nil
	}
	st := d.e.stateOf(d.num.Alias)
	if marketing && d.e.tier.rules == RulesLegacy && (st.Status == "FLAGGED" || st.Status == "RESTRICTED") {
		v.reason, v.due = ReasonNumberFlagged, now.Add(pauseRecheck)
		if st.Status == "RESTRICTED" {
			v.reason = ReasonNumberRestricted
		}
		return v, nil
	}
	if marketing && st.Quality == "RED" {
		v.reason, v.due = ReasonQualityRed, now.Add(pauseRecheck)
		return v, nil
	}
	if ct.WindowOpen(now) {
		return v, nil // customer-initiated: free of the limit
	}
	if st.Restriction == "RESTRICTED_BIZ_INITIATED_MESSAGING" && (st.RestrictedT.IsZero() || st.RestrictedT.After(now)) {
		v.reason, v.due, v.eta = ReasonAccountRestricted, now.Add(pauseRecheck), st.RestrictedT
		if !st.RestrictedT.IsZero() && st.RestrictedT.Before(v.due) {
			v.due = st.RestrictedT
		}
		return v, nil
	}
	ok, taken, eta := d.e.tier.byAlias[d.num.Alias].admit(wa, now)
	if !ok {
		v.reason, v.due, v.eta = ReasonTierLimit, eta, eta
		return v, nil
	}
	v.slot = taken
	if taken {
		sc := d.e.tier.byAlias[d.num.Alias]
		if err := tx.Set(slotKey(sc.key, now.UnixNano(), wa), nil); err != nil {
			return v, err
		}
	}
	return v, nil
}

// park moves m to waiting for reason and queues it again at due.
func (d *dispatcher) park(tx storage.Txn, m *Message, v gateVerdict, now time.Time) error {
	prev := m.State
	if m.State == Waiting {
		m.UpdatedAt = now
	} else {
		m.move(Waiting, now)
	}
	m.WaitingReason, m.ETA, m.NextAttemptAt = v.reason, v.eta, v.due
	if err := tx.Set(queueKey(d.num.Alias, v.due, m.ID), nil); err != nil {
		return err
	}
	return d.e.update(tx, m, prev)
}

// Forecast is the messaging-limit outlook of a number's scope.
type Forecast struct {
	TierUsage
	// NextLimit is the limit after the next upgrade (same as Limit at the top).
	NextLimit int `json:"next_limit"`
	// NextTierAt is when the next upgrade is expected if sending continues at the
	// recent pace; zero when it is not expected within forecastHorizon or the limit
	// is already unlimited.
	NextTierAt time.Time `json:"next_tier_at,omitzero"`
	// DailyPace is the new business-initiated recipients per day the forecast assumes.
	DailyPace int `json:"daily_pace"`
}

// ForecastTier estimates when the number's scope reaches its next limit, under the
// upgrade rule Kirim models for both rule sets: once a limit has been held for
// UpgradeEvaluation and at least half of it was used over the trailing
// UpgradeEvaluation (and the number is in good standing), the provider raises it
// after UpgradeDelay2025 or UpgradeDelayLegacy. The future pace is the average of the
// days observed since the limit took effect (at most the last 7), capped at the limit.
func (e *Engine) ForecastTier(alias string) (Forecast, error) {
	ns, err := e.NumberStatusOf(alias)
	if err != nil {
		return Forecast{}, err
	}
	f := Forecast{TierUsage: ns.TierUsage, NextLimit: NextLimit(e.tier.rules, ns.Limit)}
	if ns.Limit == Unlimited {
		return f, nil
	}
	now := e.clock.Now()
	times := e.tier.byAlias[alias].slotTimes()
	observedFrom := now.Add(-UpgradeEvaluation)
	if ns.Since.After(observedFrom) {
		observedFrom = ns.Since
	}
	recent := 0
	for _, at := range times {
		if at > observedFrom.UnixNano() {
			recent++
		}
	}
	days := now.Sub(observedFrom).Hours() / 24
	if days < 1 {
		days = 1
	}
	pace := int(float64(recent) / days)
	if pace > ns.Limit {
		pace = ns.Limit
	}
	f.DailyPace = pace
	if ns.Quality == "RED" || (e.tier.rules == RulesLegacy && ns.Status != "" && ns.Status != "CONNECTED") {
		return f, nil
	}
	delay := UpgradeDelay2025
	if e.tier.rules == RulesLegacy {
		delay = UpgradeDelayLegacy
	}
	need := (ns.Limit + 1) / 2
	// Evaluation instants are Since + UpgradeEvaluation + k*UpgradeStep.
	t := ns.Since.Add(UpgradeEvaluation)
	if t.Before(now) {
		steps := now.Sub(t) / UpgradeStep
		t = t.Add(steps * UpgradeStep)
		if t.Before(now) {
			t = t.Add(UpgradeStep)
		}
	}
	perStep := float64(pace) * float64(UpgradeStep) / float64(24*time.Hour)
	for ; t.Sub(now) <= forecastHorizon; t = t.Add(UpgradeStep) {
		from := t.Add(-UpgradeEvaluation).UnixNano()
		known := 0
		for _, at := range times {
			if at > from {
				known++
			}
		}
		// Future sends fall in (max(now, from), t].
		start := now
		if time.Unix(0, from).After(start) {
			start = time.Unix(0, from)
		}
		future := 0.0
		if t.After(start) {
			future = perStep * float64(t.Sub(start)/UpgradeStep)
		}
		if known+int(future) >= need {
			f.NextTierAt = t.Add(delay)
			return f, nil
		}
		if pace == 0 && t.After(now.Add(UpgradeEvaluation)) {
			break
		}
	}
	return f, nil
}

// RecipientsETA estimates when n new business-initiated recipients would all have been
// sent from the number under its current limit: the free slots go at once, then each
// slot that frees takes one, and each of those frees again a window later.
func (e *Engine) RecipientsETA(alias string, n int) (time.Time, error) {
	sc, ok := e.tier.byAlias[alias]
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %q", ErrUnknownNumber, alias)
	}
	now := e.clock.Now()
	u := sc.usage(now)
	if n <= 0 || u.Limit == Unlimited {
		return now, nil
	}
	free := max(u.Limit-u.Used24h, 0)
	if n <= free {
		return now, nil
	}
	// The window as it will be once the free slots are taken now, oldest first.
	sc.mu.Lock()
	window := make([]int64, 0, len(sc.slots)-sc.head+free)
	for _, sl := range sc.slots[sc.head:] {
		window = append(window, sl.at)
	}
	sc.mu.Unlock()
	for range free {
		window = append(window, now.UnixNano())
	}
	if len(window) == 0 {
		return time.Time{}, nil // a zero limit: never
	}
	// The k-th recipient beyond the free ones takes the slot of window[(k-1) mod L]
	// in its ((k-1) div L + 1)-th renewal.
	k := n - free
	cycle := (k - 1) / len(window)
	at := time.Unix(0, window[(k-1)%len(window)]).Add(time.Duration(cycle+1) * LimitWindow)
	return at.UTC(), nil
}

// QueueDepth counts the number's queued and waiting messages, up to limit (capped
// reports that the count stopped there).
func (e *Engine) QueueDepth(alias string, limit int) (n int, capped bool, err error) {
	if !e.HasNumber(alias) {
		return 0, false, fmt.Errorf("%w: %q", ErrUnknownNumber, alias)
	}
	err = e.db.View(func(r storage.Reader) error {
		return r.Iterate(queuePrefix(alias), storage.IterOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
			n++
			if n >= limit {
				capped = true
				return false, nil
			}
			return true, nil
		})
	})
	return n, capped, err
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
			u.Status = "FLAGGED"
		case "UNFLAGGED":
			u.Status = "CONNECTED"
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
