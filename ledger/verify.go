package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"kirim/storage"
)

// Problem kinds a VerifyReport lists.
const (
	ProblemCorrupt         = "corrupt"          // an entry does not decode
	ProblemGap             = "gap"              // entry numbers are not 1, 2, 3...
	ProblemHash            = "hash_mismatch"    // an entry's hash does not chain
	ProblemUnbalanced      = "unbalanced"       // an entry's legs do not sum to zero per asset
	ProblemNegative        = "negative"         // a Kirim account went below zero
	ProblemHold            = "hold"             // a hold resolved twice, or resolved for another amount
	ProblemHead            = "head_mismatch"    // the stored chain head is not the last entry
	ProblemBalanceMismatch = "balance_mismatch" // a cached balance differs from the replay
	ProblemOpenHold        = "open_hold"        // open holds differ from the hold records
	ProblemReserve         = "reserve"          // a campaign reserve differs from the chain
)

// Problem is one difference Verify found.
type Problem struct {
	Seq    uint64 // the entry concerned, 0 when none
	Kind   string
	Detail string
}

func (p Problem) String() string {
	if p.Seq == 0 {
		return p.Kind + ": " + p.Detail
	}
	return fmt.Sprintf("#%d %s: %s", p.Seq, p.Kind, p.Detail)
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Entries   uint64
	Head      string // hex hash of the last entry
	Balances  int    // posting balances replayed
	OpenHolds int
	// OpenReserves counts campaign reserves still open.
	OpenReserves int
	// Problems lists the first MaxVerifyProblems differences; ProblemCount counts all.
	Problems     []Problem
	ProblemCount int
}

// OK reports whether the ledger verified clean.
func (r VerifyReport) OK() bool { return r.ProblemCount == 0 }

func (r *VerifyReport) add(seq uint64, kind, format string, args ...any) {
	r.ProblemCount++
	if len(r.Problems) < MaxVerifyProblems {
		r.Problems = append(r.Problems, Problem{Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
}

type openHold struct {
	asset  string
	amount int64
}

// Verify replays the whole chain: it checks that entries are numbered without gaps,
// that every hash chains, that every entry balances per asset and no Kirim account ever
// went below zero, that each hold is resolved at most once and for what it held, and
// then that every cached balance, the chain head and the open hold records equal the
// replay, that each account's held money equals the sum of its open holds, and that
// each campaign reserve's remaining money equals what the chain moved through it (so
// each account's reserve balance is the sum of its open reserves' Remaining).
// Differences go into the report; an error means the store could not be read.
func (l *Ledger) Verify(r storage.Reader) (VerifyReport, error) {
	var rep VerifyReport
	bal := newReplayBalances()
	open := make(map[string]openHold)
	resolvedUnheld := make(map[string]bool)
	// Money through reserve accounts, by the reserve id entries name in Reference.
	reserves := make(map[string]*int64)
	var (
		prev [32]byte
		seq  uint64
		re   rawEntry
		sums []assetSum
		hbuf []byte
	)
	prefix := entryPrefix()
	err := r.Iterate(prefix, storage.IterOptions{}, func(k, v []byte) (bool, error) {
		seq++
		if len(k) != len(prefix)+8 {
			rep.add(seq, ProblemCorrupt, "entry key %x", k)
			return true, nil
		}
		if ks := binary.BigEndian.Uint64(k[len(prefix):]); ks != seq {
			rep.add(seq, ProblemGap, "expected entry #%d, found #%d", seq, ks)
			seq = ks
		}
		if err := decodeRaw(v, &re); err != nil {
			rep.add(seq, ProblemCorrupt, "%v", err)
			return true, nil
		}
		if re.seq != seq {
			rep.add(seq, ProblemGap, "entry stored under #%d says #%d", seq, re.seq)
		}
		hbuf = append(append(hbuf[:0], prev[:]...), re.body...)
		if want := sha256.Sum256(hbuf); want != re.hash {
			rep.add(seq, ProblemHash, "stored %x, computed %x", re.hash[:8], want[:8])
		}
		prev = re.hash
		sums = sums[:0]
		var heldOut int64
		var heldAsset []byte
		for _, lg := range re.legs {
			sums = addAssetSum(sums, lg.asset, lg.amount)
			after := bal.add(lg.asset, lg.account, lg.amount)
			if !bytes.HasPrefix(lg.account, customerPrefix) {
				continue // a counterparty: never held or reserve, whatever its id ends with
			}
			if after < 0 {
				rep.add(seq, ProblemNegative, "%s %s is %d", lg.account, lg.asset, after)
			}
			if bytes.HasSuffix(lg.account, heldSuffix) {
				if lg.amount < 0 {
					heldOut -= lg.amount
				}
				heldAsset = lg.asset
			}
			if bytes.HasSuffix(lg.account, reserveSuffix) {
				ref := re.fields[5]
				if len(ref) == 0 {
					rep.add(seq, ProblemReserve, "%s moves %d without naming a reserve", lg.account, lg.amount)
					continue
				}
				p := reserves[string(ref)]
				if p == nil {
					p = new(int64)
					reserves[string(ref)] = p
				}
				*p += lg.amount
			}
		}
		for _, s := range sums {
			if s.sum != 0 {
				rep.add(seq, ProblemUnbalanced, "%s legs sum to %d", s.asset, s.sum)
			}
		}
		holdID := re.fields[2]
		if len(holdID) == 0 {
			return true, nil
		}
		switch kind := string(re.fields[0]); kind {
		case KindHold:
			if _, dup := open[string(holdID)]; dup {
				rep.add(seq, ProblemHold, "hold %s reserved twice", holdID)
			}
			for _, lg := range re.legs {
				if lg.amount > 0 && bytes.HasPrefix(lg.account, customerPrefix) && bytes.HasSuffix(lg.account, heldSuffix) {
					open[string(holdID)] = openHold{asset: string(lg.asset), amount: lg.amount}
				}
			}
		case KindCapture, KindRelease:
			h, wasOpen := open[string(holdID)]
			switch {
			case wasOpen:
				if heldOut != h.amount || string(heldAsset) != h.asset {
					rep.add(seq, ProblemHold, "hold %s held %d %s, %s took %d %s", holdID, h.amount, h.asset, kind, heldOut, heldAsset)
				}
				delete(open, string(holdID))
			case heldOut != 0 || resolvedUnheld[string(holdID)]:
				rep.add(seq, ProblemHold, "hold %s resolved twice or never held", holdID)
			default:
				// A hold priced free has no hold entry but may be captured once when the
				// provider charges it after all.
				resolvedUnheld[string(holdID)] = true
			}
		}
		return true, nil
	})
	if err != nil {
		return rep, fmt.Errorf("ledger: verify: read entries: %w", err)
	}
	rep.Entries = seq
	rep.Head = hex.EncodeToString(prev[:])
	rep.OpenHolds = len(open)
	balances := bal.result()
	for asset, s := range totals(balances) {
		if s != 0 {
			rep.add(0, ProblemUnbalanced, "all %s postings sum to %d", asset, s)
		}
	}

	h, err := readHead(r)
	if err != nil {
		rep.add(0, ProblemHead, "%v", err)
	} else if h.Seq != seq || h.Hash != prev {
		rep.add(0, ProblemHead, "head says #%d %x, chain ends at #%d %x", h.Seq, h.Hash[:8], seq, prev[:8])
	}

	if err := verifyBalances(r, balances, &rep); err != nil {
		return rep, err
	}
	if err := verifyHolds(r, open, balances, &rep); err != nil {
		return rep, err
	}
	if err := verifyReserves(r, reserves, balances, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

var (
	customerPrefix = []byte("account:")
	heldSuffix     = []byte(":held")
	reserveSuffix  = []byte(reserveEnd)
)

type assetSum struct {
	asset []byte
	sum   int64
}

func addAssetSum(sums []assetSum, asset []byte, v int64) []assetSum {
	for i := range sums {
		if bytes.Equal(sums[i].asset, asset) {
			sums[i].sum += v
			return sums
		}
	}
	return append(sums, assetSum{asset: asset, sum: v})
}

// replayBalances accumulates balances keyed "<asset>/<account>" without allocating a
// key for accounts it has seen: there are few accounts and millions of legs.
type replayBalances struct {
	idx  map[string]int
	vals []int64
	key  []byte
}

func newReplayBalances() *replayBalances { return &replayBalances{idx: make(map[string]int, 64)} }

func (b *replayBalances) add(asset, account []byte, v int64) int64 {
	b.key = append(append(append(b.key[:0], asset...), '/'), account...)
	i, ok := b.idx[string(b.key)]
	if !ok {
		i = len(b.vals)
		b.idx[string(b.key)] = i
		b.vals = append(b.vals, 0)
	}
	b.vals[i] += v
	return b.vals[i]
}

func (b *replayBalances) result() map[string]int64 {
	out := make(map[string]int64, len(b.idx))
	for k, i := range b.idx {
		out[k] = b.vals[i]
	}
	return out
}

func totals(balances map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range balances {
		asset, _, _ := strings.Cut(k, "/")
		out[asset] += v
	}
	return out
}

func verifyBalances(r storage.Reader, replay map[string]int64, rep *VerifyReport) error {
	seen := make(map[string]bool, len(replay))
	prefix := balancePrefix()
	err := r.Iterate(prefix, storage.IterOptions{}, func(k, v []byte) (bool, error) {
		name := string(k[len(prefix):])
		seen[name] = true
		if len(v) != 8 {
			rep.add(0, ProblemBalanceMismatch, "cached %s has %d bytes", name, len(v))
			return true, nil
		}
		cached := int64(binary.BigEndian.Uint64(v))
		if want := replay[name]; cached != want {
			rep.add(0, ProblemBalanceMismatch, "cached %s is %d, replay %d", name, cached, want)
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("ledger: verify: read balances: %w", err)
	}
	names := slices.Sorted(maps.Keys(replay))
	for _, name := range names {
		if !seen[name] && replay[name] != 0 {
			rep.add(0, ProblemBalanceMismatch, "no cached %s, replay %d", name, replay[name])
		}
	}
	rep.Balances = len(replay)
	return nil
}

// verifyHolds compares the chain's open holds with the hold records, and each held
// balance with the sum of the open holds in it. The expiry index lists exactly the open
// holds, so resolved ones (nearly all) are never read.
func verifyHolds(r storage.Reader, open map[string]openHold, replay map[string]int64, rep *VerifyReport) error {
	prefix := holdExpiryPrefix()
	var ids []string
	err := r.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		if len(k) <= len(prefix)+8 {
			rep.add(0, ProblemOpenHold, "expiry index key %x", k)
			return true, nil
		}
		ids = append(ids, string(k[len(prefix)+8:]))
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("ledger: verify: read hold expiries: %w", err)
	}
	found := make(map[string]bool, len(ids))
	heldSums := map[string]int64{} // "<asset>/<held account>" -> open hold amounts
	for _, id := range ids {
		found[id] = true
		h, err := readHold(r, id)
		if err != nil {
			rep.add(0, ProblemOpenHold, "hold %s: %v", id, err)
			continue
		}
		o, ok := open[id]
		asset, amount := "", h.Amount
		if h.CreditKind != "" {
			asset, amount = creditAsset(h.CreditKind), 1
		}
		if h.Status == HoldHeld && ok {
			heldSums[o.asset+"/"+heldAccount(h.Account)] += amount
		}
		switch {
		case h.Status != HoldHeld:
			if ok {
				rep.add(0, ProblemOpenHold, "hold %s is %s but the chain holds it", id, h.Status)
			} else {
				rep.add(0, ProblemOpenHold, "hold %s is %s but still indexed for expiry", id, h.Status)
			}
		case !ok && amount > 0:
			rep.add(0, ProblemOpenHold, "hold %s is open for %d but the chain has no open hold", id, amount)
		case ok && (o.amount != amount || (asset != "" && o.asset != asset)):
			rep.add(0, ProblemOpenHold, "hold %s is open for %d %s, the chain for %d %s", id, amount, asset, o.amount, o.asset)
		}
	}
	var missing []string
	for id := range open {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	for _, id := range missing {
		rep.add(0, ProblemOpenHold, "the chain holds %s but no open hold record is indexed", id)
	}
	for _, name := range slices.Sorted(maps.Keys(replay)) {
		_, acct, _ := strings.Cut(name, "/")
		if isCustomerAccount(acct) && strings.HasSuffix(acct, string(heldSuffix)) && replay[name] != heldSums[name] {
			rep.add(0, ProblemOpenHold, "%s is %d, its open holds sum to %d", name, replay[name], heldSums[name])
		}
	}
	return nil
}

// verifyReserves compares every campaign reserve record with the money the chain moved
// through it: an open reserve's Remaining equals that money, a closed one has none
// left, the record's own figures add up, and each account's reserve balance equals the
// sum of its open reserves' Remaining.
func verifyReserves(r storage.Reader, chain map[string]*int64, replay map[string]int64, rep *VerifyReport) error {
	seen := make(map[string]bool, len(chain))
	openSums := map[string]int64{} // reserve posting account -> open reserves' Remaining
	err := r.Iterate(reservePrefix(), storage.IterOptions{}, func(k, v []byte) (bool, error) {
		rv, err := decodeReserve(v)
		if err != nil {
			rep.add(0, ProblemReserve, "record %x: %v", k, err)
			return true, nil
		}
		seen[rv.ID] = true
		var moved int64
		if p := chain[rv.ID]; p != nil {
			moved = *p
		}
		if rv.Amount != rv.Remaining+rv.Drawn-rv.Returned+rv.Released {
			rep.add(0, ProblemReserve, "reserve %s: amount %d is not remaining %d + drawn %d - returned %d + released %d",
				rv.ID, rv.Amount, rv.Remaining, rv.Drawn, rv.Returned, rv.Released)
		}
		switch rv.Status {
		case ReserveOpen:
			rep.OpenReserves++
			openSums[reserveAccount(rv.Account)] += rv.Remaining
			if moved != rv.Remaining {
				rep.add(0, ProblemReserve, "reserve %s has %d remaining, the chain %d", rv.ID, rv.Remaining, moved)
			}
		default:
			if moved != 0 || rv.Remaining != 0 {
				rep.add(0, ProblemReserve, "reserve %s is closed with %d remaining, the chain %d", rv.ID, rv.Remaining, moved)
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("ledger: verify: read reserves: %w", err)
	}
	for _, id := range slices.Sorted(maps.Keys(chain)) {
		if !seen[id] && *chain[id] != 0 {
			rep.add(0, ProblemReserve, "the chain keeps %d in reserve %s, which has no record", *chain[id], id)
		}
	}
	bals := map[string]int64{}
	for name, v := range replay {
		if _, acct, _ := strings.Cut(name, "/"); isCustomerAccount(acct) && strings.HasSuffix(acct, string(reserveSuffix)) {
			bals[acct] += v
		}
	}
	for acct := range openSums {
		if _, ok := bals[acct]; !ok {
			bals[acct] = 0
		}
	}
	for _, acct := range slices.Sorted(maps.Keys(bals)) {
		if bals[acct] != openSums[acct] {
			rep.add(0, ProblemReserve, "%s is %d, its open reserves keep %d", acct, bals[acct], openSums[acct])
		}
	}
	return nil
}
