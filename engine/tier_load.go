package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"kirim/storage"
)

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
			e.dispatchers[a].setMPS(e.dispatchers[a].mpsFor(st))
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
