package ledger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"kirim/storage"
)

var errInjected = errors.New("injected failure halfway through the commit")

// propModel is what the test itself remembers, to check the ledger against.
type propModel struct {
	mu       sync.Mutex
	open     map[string]string // hold id -> account, while the test believes it open
	resolved map[string]int    // hold id -> times a Capture/Release reported doing something
	nextID   int
	topUps   [][2]string // account and id of pending top-ups
	reserves []string    // ids of reserves made, open or closed
}

func (m *propModel) pickReserve(rng *rand.Rand) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.reserves) == 0 {
		return ""
	}
	return m.reserves[rng.IntN(len(m.reserves))]
}

func (m *propModel) newID(prefix string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	return fmt.Sprintf("%s%06d", prefix, m.nextID)
}

func (m *propModel) pickOpen(rng *rand.Rand) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.open) == 0 {
		return "", false
	}
	// Map order is random but not seeded; pick by sorted position for reproducibility.
	ids := slices.Sorted(maps.Keys(m.open))
	return ids[rng.IntN(len(ids))], true
}

func (m *propModel) pickAny(rng *rand.Rand) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.resolved) == 0 {
		return "none"
	}
	ids := slices.Sorted(maps.Keys(m.resolved))
	return ids[rng.IntN(len(ids))]
}

func (m *propModel) settled(t testing.TB, id string, res SettleResult) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if res.AlreadyResolved {
		// Within one commit group an earlier fn may have resolved it before the model
		// heard of it; only effective resolutions are counted.
		return
	}
	if _, open := m.open[id]; !open {
		t.Errorf("hold %s resolved although not open", id)
	}
	delete(m.open, id)
	m.resolved[id]++
	if m.resolved[id] > 1 {
		t.Errorf("hold %s resolved %d times", id, m.resolved[id])
	}
}

var propCategories = []string{CategoryMarketing, CategoryMarketing, CategoryUtility, CategoryAuthentication, CategoryService}

func propConfig(tb testing.TB) Config {
	card := seedCard(jan2025)
	// Small bands so random runs cross them.
	card.Prices[0] = Price{Market: MarketDefault, Category: CategoryMarketing, UpTo: []int64{5, 12}, Micros: rupiah(514, 510, 520)}
	legacy := seedCard(time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC))
	legacy.Rules = RulesLegacy
	sme := seedCard(time.Date(2025, 10, 15, 0, 0, 0, 0, time.UTC))
	sme.Rules = RulesPerMessage
	sme.Prices[0] = card.Prices[0]
	muv := seedCard(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC))
	muv.Rules, muv.VolumeScope = RulesMUV, VolumeTotal
	muv.Prices[0] = card.Prices[0]
	return Config{
		Accounts: []Account{
			{ID: "acme", Currency: "IDR", Timezone: jakarta(tb), LowBalance: 5000 * idr,
				Package: Package{Credits: map[string]int64{CategoryMarketing: 3, CategoryService: 2}}},
			{ID: "globex", Currency: "IDR", Timezone: time.UTC},
		},
		RateCards: []RateCard{card, legacy, sme, muv},
		HoldTTL:   36 * time.Hour,
	}
}

// propStep performs one random operation in one commit. fail makes the commit fn return
// an error after doing its work, so nothing of it may land.
func propStep(t testing.TB, f *fixture, m *propModel, rng *rand.Rand, fail bool) {
	accounts := []string{"acme", "globex"}
	acct := accounts[rng.IntN(len(accounts))]
	var after []func() // model updates that apply only if the commit lands
	inner := func(tx storage.Txn) error {
		after = after[:0]
		switch op := rng.IntN(110); {
		case op < 10: // top-up, confirmed or left pending or rejected
			ref := m.newID("T")
			tu, _, err := f.l.CreateTopUp(tx, acct, ref, (1+rng.Int64N(20_000))*idr)
			if err != nil {
				return err
			}
			switch rng.IntN(3) {
			case 0:
				if _, err := f.l.ConfirmTopUp(tx, acct, tu.ID, "admin"); err != nil {
					return err
				}
			case 1:
				if _, err := f.l.RejectTopUp(tx, acct, tu.ID, "admin", "bounced"); err != nil {
					return err
				}
			default:
				after = append(after, func() { m.mu.Lock(); m.topUps = append(m.topUps, [2]string{acct, tu.ID}); m.mu.Unlock() })
			}
		case op < 13: // confirm a pending top-up
			m.mu.Lock()
			var pick [2]string
			if len(m.topUps) > 0 {
				pick = m.topUps[rng.IntN(len(m.topUps))]
			}
			m.mu.Unlock()
			if pick[0] == "" {
				return nil
			}
			if _, err := f.l.ConfirmTopUp(tx, pick[0], pick[1], "admin"); err != nil {
				return err
			}
		case op < 50: // hold
			id := m.newID("h")
			req := HoldRequest{
				ID: id, Account: acct, MessageID: id, Market: []string{"62", "1"}[rng.IntN(2)],
				Category: propCategories[rng.IntN(len(propCategories))], InWindow: rng.IntN(3) == 0,
				Recipient: fmt.Sprintf("62811%03d", rng.IntN(5)),
			}
			if req.Category == CategoryService {
				req.ContentType = "text"
			}
			if rng.IntN(2) == 0 {
				// A campaign message: its reserve may be open, closed, short, or another
				// account's; the hold falls back to available whenever it cannot pay.
				req.ReserveID, req.CampaignID = m.pickReserve(rng), "cmp"
			}
			_, err := f.l.Hold(tx, req)
			if errors.Is(err, ErrInsufficientBalance) {
				return nil
			}
			if err != nil {
				return err
			}
			after = append(after, func() { m.mu.Lock(); m.open[id] = acct; m.mu.Unlock() })
		case op < 72: // capture, sometimes re-categorised
			id, ok := m.pickOpen(rng)
			if !ok {
				return nil
			}
			cat := ""
			if rng.IntN(4) == 0 {
				cat = propCategories[rng.IntN(len(propCategories))]
			}
			res, err := f.l.Capture(tx, id, cat)
			if err != nil {
				return err
			}
			after = append(after, func() { m.settled(t, id, res) })
		case op < 82: // release, or settle free
			id, ok := m.pickOpen(rng)
			if !ok {
				return nil
			}
			var res SettleResult
			var err error
			if rng.IntN(2) == 0 {
				res, err = f.l.Release(tx, id, ReleaseFailed)
			} else {
				res, err = f.l.Settle(tx, id, PricingFreeEntryPoint, "")
			}
			if err != nil {
				return err
			}
			after = append(after, func() { m.settled(t, id, res) })
		case op < 88: // a duplicate webhook for a resolved hold
			id := m.pickAny(rng)
			if id == "none" {
				return nil
			}
			res, err := f.l.Capture(tx, id, "")
			if err != nil {
				return err
			}
			if !res.AlreadyResolved {
				after = append(after, func() { m.settled(t, id, res) })
			}
		case op < 92: // expire
			now := f.clock.Now()
			var released []string
			m.mu.Lock()
			open := slices.Sorted(maps.Keys(m.open))
			m.mu.Unlock()
			for _, id := range open {
				h, err := readHold(tx, id)
				if err == nil && h.Status == HoldHeld && !h.ExpiresAt.After(now) {
					released = append(released, id)
				}
			}
			n, err := f.l.ExpireHolds(tx, now, 1000)
			if err != nil {
				return err
			}
			if n != len(released) {
				return fmt.Errorf("expired %d holds, the test expected %d", n, len(released))
			}
			after = append(after, func() {
				for _, id := range released {
					m.settled(t, id, SettleResult{})
				}
			})
		case op < 95: // explicit rollover
			if _, err := f.l.Rollover(tx, acct, f.clock.Now()); err != nil {
				return err
			}
		case op >= 100 && op < 105: // a campaign run reserves money, sometimes more than there is
			id := m.newID("r")
			req := ReserveRequest{ID: id, Account: acct, CampaignID: "cmp", Amount: rng.Int64N(4000) * idr}
			if rng.IntN(2) == 0 {
				// Positions claimed from a quote, possibly of a counter or month the run's
				// holds do not count in.
				a, _ := f.l.account(acct)
				req.Positions = ReservePositions{Volume: []string{CategoryMarketing, volumeAll}[rng.IntN(2)],
					Month: monthOf(f.clock.Now(), a.Timezone), From: rng.Int64N(20), Count: 1 + rng.Int64N(6)}
			}
			_, err := f.l.Reserve(tx, req)
			if errors.Is(err, ErrInsufficientBalance) {
				return nil
			}
			if err != nil {
				return err
			}
			after = append(after, func() { m.mu.Lock(); m.reserves = append(m.reserves, id); m.mu.Unlock() })
		case op >= 105: // a run ends (or ends again)
			if id := m.pickReserve(rng); id != "" {
				if _, err := f.l.CloseReserve(tx, id, "completed"); err != nil {
					return err
				}
			}
		default: // adjustment either way
			amount := (rng.Int64N(4000) - 2000) * idr
			if amount == 0 {
				amount = 1
			}
			_, err := f.l.Adjust(tx, acct, amount, "property test correction")
			if errors.Is(err, ErrInsufficientBalance) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	err := f.db.Commit(context.Background(), func(tx storage.Txn) error {
		if err := inner(tx); err != nil {
			return err
		}
		if fail {
			return errInjected
		}
		return nil
	})
	if fail {
		if !errors.Is(err, errInjected) {
			t.Errorf("injected failure returned %v", err)
		}
		return
	}
	if err != nil {
		t.Errorf("step: %v", err)
		return
	}
	for _, a := range after {
		a()
	}
}

func checkInvariants(t testing.TB, f *fixture, m *propModel) {
	t.Helper()
	rep := f.mustVerify()
	m.mu.Lock()
	open := len(m.open)
	m.mu.Unlock()
	if rep.OpenHolds > open {
		t.Fatalf("chain has %d open holds, the test only %d", rep.OpenHolds, open)
	}
	// The sum of all postings is zero per asset, read from the cached balances.
	sums := map[string]int64{}
	if err := f.db.View(func(r storage.Reader) error {
		prefix := balancePrefix()
		return r.Iterate(prefix, storage.IterOptions{}, func(k, v []byte) (bool, error) {
			name := string(k[len(prefix):])
			bal, err := readInt(r, k)
			if err != nil {
				return false, err
			}
			asset := name[:indexByte(name, '/')]
			sums[asset] += bal
			if isCustomerAccount(name[len(asset)+1:]) && bal < 0 {
				return false, fmt.Errorf("%s is negative: %d", name, bal)
			}
			return true, nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	for asset, s := range sums {
		if s != 0 {
			t.Fatalf("postings in %s sum to %d", asset, s)
		}
	}
	checkVolumes(t, f)
	for _, a := range f.l.Accounts() {
		b := f.balance(a)
		if b.Available < 0 || b.Held < 0 || b.Reserved < 0 || b.Reserved > b.Held || b.Balance != b.Available+b.Held {
			t.Fatalf("balance of %s: %+v", a, b)
		}
		var open []Reserve
		if err := f.db.View(func(r storage.Reader) (err error) { open, err = f.l.Reserves(r, a, true); return err }); err != nil {
			t.Fatal(err)
		}
		var remaining int64
		for _, rv := range open {
			remaining += rv.Remaining
			if rv.Amount != rv.Remaining+rv.Drawn-rv.Returned+rv.Released || rv.Remaining < 0 {
				t.Fatalf("reserve %+v does not add up", rv)
			}
		}
		if remaining != b.Reserved {
			t.Fatalf("%s: open reserves keep %d, balance says %d reserved", a, remaining, b.Reserved)
		}
	}
}

// checkVolumes: each month's held volume counts exactly the open money holds in it and
// the positions open reserves claimed and have not handed to a hold yet.
func checkVolumes(t testing.TB, f *fixture) {
	t.Helper()
	want := map[string]int64{}
	got := map[string]int64{}
	if err := f.db.View(func(r storage.Reader) error {
		err := r.Iterate(holdExpiryPrefix(), storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			h, err := readHold(r, string(k[len(holdExpiryPrefix())+8:]))
			if err == nil && h.Status == HoldHeld && h.Amount > 0 {
				want[string(volumeKey(h.Account, h.counter(), h.Month))]++
			}
			return true, err
		})
		if err != nil {
			return err
		}
		err = r.Iterate(reservePrefix(), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			rv, err := decodeReserve(v)
			if p := rv.Positions; err == nil && rv.Status == ReserveOpen && p.Count > rv.PositionsUsed {
				want[string(volumeKey(rv.Account, p.Volume, p.Month))] += p.Count - rv.PositionsUsed
			}
			return true, err
		})
		if err != nil {
			return err
		}
		return r.Iterate([]byte(prefixVolume), storage.IterOptions{}, func(k, v []byte) (bool, error) {
			if held := int64(binary.BigEndian.Uint64(v[8:])); held != 0 {
				got[string(k)] = held
			}
			return true, nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("held volume %v, open holds and reserve positions %v", got, want)
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

// runProperty drives steps random operations. reopen, when set, is called at random
// points to simulate a crash between steps.
func runProperty(t *testing.T, f *fixture, seed uint64, steps int, reopen func()) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m := &propModel{open: map[string]string{}, resolved: map[string]int{}}
	f.topUp("acme", "seed-acme", 20_000*idr)
	for i := 0; i < steps; i++ {
		switch r := rng.IntN(100); {
		case r < 6: // time passes: minutes to days, crossing months
			f.clock.Advance(time.Duration(1+rng.IntN(4*24*60)) * time.Minute)
		case r < 10:
			before := f.head()
			propStep(t, f, m, rng, true)
			if after := f.head(); after != before {
				t.Fatalf("step %d: a failed commit moved the head %d -> %d", i, before.Seq, after.Seq)
			}
		case r < 12 && reopen != nil:
			reopen()
		case r < 15: // a burst of concurrent commits in one group, one of them failing
			var wg sync.WaitGroup
			n := 2 + rng.IntN(6)
			rngs := make([]*rand.Rand, n)
			for j := range rngs {
				rngs[j] = rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
			}
			failAt := rng.IntN(n)
			for j := 0; j < n; j++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					propStep(t, f, m, rngs[j], j == failAt)
				}()
			}
			wg.Wait()
		default:
			propStep(t, f, m, rng, false)
		}
		if i%250 == 0 {
			checkInvariants(t, f, m)
		}
	}
	checkInvariants(t, f, m)
	kinds := map[string]int{}
	if err := f.db.View(func(r storage.Reader) error {
		return r.Iterate(entryPrefix(), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			e, _, err := decodeEntry(v)
			kinds[e.Kind]++
			if e.Kind == KindRelease && e.Reason == ReleaseExpired {
				kinds["release_expired"]++
			}
			for _, lg := range e.Legs {
				switch {
				case lg.Account != reserveAccount(e.Account):
				case e.HoldID == "": // the reserve itself: made or closed
					kinds[e.Kind+"_reserve"]++
				default: // a message hold drawing from it or giving back
					kinds[e.Kind+"_via_reserve"]++
				}
			}
			if e.Kind == KindCapture && e.Category != "" {
				for _, lg := range e.Legs {
					if lg.Account == writeoffAccount(e.Account) {
						kinds["capture_shortfall"]++
					}
				}
			}
			return true, err
		})
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{KindTopUp, KindHold, KindCapture, KindRelease, KindCreditGrant, KindCreditExpiry, KindAdjustment, "release_expired",
		KindHold + "_reserve", KindRelease + "_reserve", KindHold + "_via_reserve", KindRelease + "_via_reserve"} {
		if kinds[k] == 0 {
			t.Errorf("the run wrote no %s entry", k)
		}
	}
	rules := map[string]int{}
	if err := f.db.View(func(r storage.Reader) error {
		prefix := holdKey("")
		return r.Iterate(prefix, storage.IterOptions{}, func(_, v []byte) (bool, error) {
			h, err := decodeHold(v)
			rules[h.Rules]++
			return true, err
		})
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{Rules2025, RulesLegacy, RulesPerMessage, RulesMUV} {
		if rules[r] == 0 && !testing.Short() {
			t.Errorf("the run priced no hold under %s rules", r)
		}
	}
	t.Logf("entries by kind: %v; holds by rules %v; open holds %d, resolved %d", kinds, rules, len(m.open), len(m.resolved))
	for id, n := range m.resolved {
		if n > 1 {
			t.Fatalf("hold %s resolved %d times", id, n)
		}
	}
}

func TestPropertyInMemory(t *testing.T) {
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	for _, seed := range []uint64{1, 2, 3, 42} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			f := newFixture(t, propConfig(t))
			runProperty(t, f, seed, steps, nil)
			tamper(t, f)
		})
	}
}

func TestPropertyOnDiskWithReopen(t *testing.T) {
	steps := 2000
	if testing.Short() {
		steps = 300
	}
	for _, seed := range []uint64{7, 11} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			dir := t.TempDir()
			f := newFixture(t, propConfig(t))
			f.db = mustOpen(t, dir)
			reopens := 0
			runProperty(t, f, seed, steps, func() {
				if err := f.db.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
				f.db = mustOpen(t, dir)
				reopens++
			})
			if reopens == 0 {
				t.Fatal("the run never reopened the store")
			}
			tamper(t, f)
		})
	}
}

// tamper rewrites one stored entry's amount, keeping its hash, and expects Verify to
// name it; then puts it back and expects a clean report.
func tamper(t *testing.T, f *fixture) {
	t.Helper()
	h := f.head()
	if h.Seq < 3 {
		t.Fatalf("too few entries (%d) to tamper with", h.Seq)
	}
	seq := h.Seq / 2
	var orig []byte
	f.commit(func(tx storage.Txn) error {
		v, err := tx.Get(entryKey(seq))
		if err != nil {
			return err
		}
		orig = v
		e, _, err := decodeEntry(v)
		if err != nil {
			return err
		}
		e.Amount++
		return tx.Set(entryKey(seq), append(encodeEntry(&e), e.Hash[:]...))
	})
	rep := f.verify()
	if rep.OK() || rep.Problems[0].Seq != seq || rep.Problems[0].Kind != ProblemHash {
		t.Fatalf("tampered entry #%d: report %+v", seq, rep.Problems)
	}
	f.commit(func(tx storage.Txn) error { return tx.Set(entryKey(seq), orig) })
	f.mustVerify()
}
