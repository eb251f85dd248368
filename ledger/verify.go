package ledger

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
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
// replay. Differences go into the report; an error means the store could not be read.
func (l *Ledger) Verify(r storage.Reader) (VerifyReport, error) {
	var rep VerifyReport
	balances := make(map[string]int64, 64) // asset + "/" + account
	open := make(map[string]openHold)
	resolvedUnheld := make(map[string]bool)
	var prev [32]byte
	var seq uint64
	sums := make(map[string]int64, 4)
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
		e, body, err := decodeEntry(v)
		if err != nil {
			rep.add(seq, ProblemCorrupt, "%v", err)
			return true, nil
		}
		if e.Seq != seq {
			rep.add(seq, ProblemGap, "entry stored under #%d says #%d", seq, e.Seq)
		}
		if want := chainHash(prev, body); want != e.Hash {
			rep.add(seq, ProblemHash, "stored %x, computed %x", e.Hash[:8], want[:8])
		}
		prev = e.Hash
		clear(sums)
		var heldOut int64
		var heldAsset string
		for _, lg := range e.Legs {
			sums[lg.Asset] += lg.Amount
			bk := lg.Asset + "/" + lg.Account
			balances[bk] += lg.Amount
			if isCustomerAccount(lg.Account) && balances[bk] < 0 {
				rep.add(seq, ProblemNegative, "%s %s is %d", lg.Account, lg.Asset, balances[bk])
			}
			if strings.HasSuffix(lg.Account, ":held") {
				if lg.Amount < 0 {
					heldOut -= lg.Amount
				}
				heldAsset = lg.Asset
			}
		}
		for asset, s := range sums {
			if s != 0 {
				rep.add(seq, ProblemUnbalanced, "%s legs sum to %d", asset, s)
			}
		}
		if e.HoldID != "" {
			switch e.Kind {
			case KindHold:
				if _, dup := open[e.HoldID]; dup {
					rep.add(seq, ProblemHold, "hold %s reserved twice", e.HoldID)
				}
				for _, lg := range e.Legs {
					if lg.Amount > 0 && strings.HasSuffix(lg.Account, ":held") {
						open[e.HoldID] = openHold{asset: lg.Asset, amount: lg.Amount}
					}
				}
			case KindCapture, KindRelease:
				h, wasOpen := open[e.HoldID]
				switch {
				case wasOpen:
					if heldOut != h.amount || heldAsset != h.asset {
						rep.add(seq, ProblemHold, "hold %s held %d %s, %s took %d %s", e.HoldID, h.amount, h.asset, e.Kind, heldOut, heldAsset)
					}
					delete(open, e.HoldID)
				case heldOut != 0 || resolvedUnheld[e.HoldID]:
					rep.add(seq, ProblemHold, "hold %s resolved twice or never held", e.HoldID)
				default:
					// A hold priced free has no hold entry but may be captured once when
					// the provider charges it after all.
					resolvedUnheld[e.HoldID] = true
				}
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
	if err := verifyHolds(r, open, &rep); err != nil {
		return rep, err
	}
	return rep, nil
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
	names := sortedKeys(replay)
	for _, name := range names {
		if !seen[name] && replay[name] != 0 {
			rep.add(0, ProblemBalanceMismatch, "no cached %s, replay %d", name, replay[name])
		}
	}
	rep.Balances = len(replay)
	return nil
}

func verifyHolds(r storage.Reader, open map[string]openHold, rep *VerifyReport) error {
	prefix := holdPrefix()
	found := make(map[string]bool, len(open))
	err := r.Iterate(prefix, storage.IterOptions{}, func(k, v []byte) (bool, error) {
		// Most holds are resolved; skip decoding those.
		if len(v) > 1 && v[1] != holdCodeHeld {
			id := string(k[len(prefix):])
			if _, ok := open[id]; ok {
				rep.add(0, ProblemOpenHold, "hold %s is resolved but the chain holds it", id)
				found[id] = true
			}
			return true, nil
		}
		h, err := decodeHold(v)
		if err != nil {
			rep.add(0, ProblemOpenHold, "hold %x does not decode: %v", k, err)
			return true, nil
		}
		found[h.ID] = true
		o, ok := open[h.ID]
		asset, amount := "", h.Amount
		if h.CreditKind != "" {
			asset, amount = creditAsset(h.CreditKind), 1
		}
		switch {
		case !ok && amount > 0:
			rep.add(0, ProblemOpenHold, "hold %s is open for %d but the chain has no open hold", h.ID, amount)
		case ok && (o.amount != amount || (asset != "" && o.asset != asset)):
			rep.add(0, ProblemOpenHold, "hold %s is open for %d %s, the chain for %d %s", h.ID, amount, asset, o.amount, o.asset)
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("ledger: verify: read holds: %w", err)
	}
	var missing []string
	for id := range open {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	for _, id := range missing {
		rep.add(0, ProblemOpenHold, "the chain holds %s but there is no hold record", id)
	}
	return nil
}
