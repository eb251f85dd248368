package engine

import (
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"kirim/storage"
)

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
