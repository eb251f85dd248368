package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"kirim/storage"
)

// Entry kinds.
const (
	KindTopUp        = "topup"
	KindHold         = "hold"
	KindCapture      = "capture"
	KindRelease      = "release"
	KindCreditGrant  = "credit_grant"
	KindCreditExpiry = "credit_expiry"
	KindAdjustment   = "adjustment"
)

// Entry is one immutable ledger transaction: postings that sum to zero per asset, with
// the facts that explain them.
type Entry struct {
	Seq        uint64 // gapless, from 1
	Kind       string
	At         time.Time
	Account    string // the Kirim account it concerns
	HoldID     string
	MessageID  string
	CampaignID string
	Reference  string // top-up reference
	Reason     string // adjustment or release reason
	Category   string
	CreditKind string // set when the entry moves credit units
	Amount     int64  // the nominal amount: micros, or units for credit entries
	Legs       []Leg
	Hash       [32]byte // SHA-256 over the previous entry's hash and this entry's encoding
}

// Leg is one side of a posting: a signed change to one account's balance in one asset.
type Leg struct {
	Account string
	Asset   string
	Amount  int64
}

// transfer is the two legs that move amount of asset from one account to another.
func transfer(from, to, asset string, amount int64) []Leg {
	return []Leg{{Account: from, Asset: asset, Amount: -amount}, {Account: to, Asset: asset, Amount: amount}}
}

const (
	entryVersion = 1
	hashSize     = sha256.Size
	// maxEntryLegs bounds a decoded entry; the largest real one (a rollover grant of
	// every credit kind) is far below it.
	maxEntryLegs = 1024
)

var errCorrupt = errors.New("corrupt entry")

// encodeEntry writes the canonical encoding that the hash covers: fixed field order,
// big-endian integers, length-prefixed strings. Changing it breaks every existing chain,
// so it carries a version byte.
func encodeEntry(e *Entry) []byte {
	n := 1 + 8 + 8 + 8 + 2
	for _, s := range e.strings() {
		n += binary.MaxVarintLen32 + len(s)
	}
	for _, lg := range e.Legs {
		n += 2*binary.MaxVarintLen32 + len(lg.Account) + len(lg.Asset) + 8
	}
	b := make([]byte, 0, n+hashSize)
	b = append(b, entryVersion)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixNano()))
	for _, s := range e.strings() {
		b = appendString(b, s)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(e.Amount))
	b = binary.AppendUvarint(b, uint64(len(e.Legs)))
	for _, lg := range e.Legs {
		b = appendString(b, lg.Account)
		b = appendString(b, lg.Asset)
		b = binary.BigEndian.AppendUint64(b, uint64(lg.Amount))
	}
	return b
}

func (e *Entry) strings() [9]string {
	return [9]string{e.Kind, e.Account, e.HoldID, e.MessageID, e.CampaignID, e.Reference, e.Reason, e.Category, e.CreditKind}
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// rawEntry is a decoded entry whose byte fields point into the stored value: Verify
// replays millions of entries and must not allocate for each.
type rawEntry struct {
	seq    uint64
	at     int64
	fields [9][]byte // kind, account, hold, message, campaign, reference, reason, category, credit kind
	amount int64
	legs   []rawLeg
	body   []byte // the encoding the hash covers
	hash   [32]byte
}

type rawLeg struct {
	account, asset []byte
	amount         int64
}

// decodeRaw parses a stored value (encoding followed by the hash) into re, reusing its
// leg slice. The result is valid while v is.
func decodeRaw(v []byte, re *rawEntry) error {
	if len(v) < 1+hashSize {
		return fmt.Errorf("%w: %d bytes", errCorrupt, len(v))
	}
	re.body = v[:len(v)-hashSize]
	copy(re.hash[:], v[len(v)-hashSize:])
	d := decoder{storage.Decoder{B: re.body}}
	if ver := d.Byte(); ver != entryVersion {
		return fmt.Errorf("%w: version %d", errCorrupt, ver)
	}
	re.seq = d.U64()
	re.at = int64(d.U64())
	for i := range re.fields {
		re.fields[i] = d.Bytes()
	}
	re.amount = int64(d.U64())
	n := d.Uvarint()
	if n > maxEntryLegs {
		return fmt.Errorf("%w: %d legs", errCorrupt, n)
	}
	re.legs = re.legs[:0]
	for i := uint64(0); i < n && d.Err == nil; i++ {
		re.legs = append(re.legs, rawLeg{account: d.Bytes(), asset: d.Bytes(), amount: int64(d.U64())})
	}
	if d.Err == nil && len(d.B) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.B))
	}
	if d.Err != nil {
		return fmt.Errorf("%w: %w", errCorrupt, d.Err)
	}
	return nil
}

// decodeEntry parses a stored value into an Entry. It returns the encoded part too, so
// callers can rehash exactly what was stored.
func decodeEntry(v []byte) (Entry, []byte, error) {
	var re rawEntry
	if err := decodeRaw(v, &re); err != nil {
		return Entry{}, nil, err
	}
	e := Entry{Seq: re.seq, At: time.Unix(0, re.at).UTC(), Amount: re.amount, Hash: re.hash}
	for i, f := range []*string{&e.Kind, &e.Account, &e.HoldID, &e.MessageID, &e.CampaignID, &e.Reference, &e.Reason, &e.Category, &e.CreditKind} {
		*f = string(re.fields[i])
	}
	if len(re.legs) > 0 {
		e.Legs = make([]Leg, len(re.legs))
		for i, lg := range re.legs {
			e.Legs[i] = Leg{Account: string(lg.account), Asset: string(lg.asset), Amount: lg.amount}
		}
	}
	return e, re.body, nil
}

// decoder is storage's record decoder plus the ledger's own field forms (fixed-width
// times, strict booleans), which are part of the hashed encoding.
type decoder struct{ storage.Decoder }

func chainHash(prev [32]byte, body []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// head is the chain's last entry number and hash, kept under one key so appending is a
// read of one value, not a scan.
type head struct {
	Seq  uint64
	Hash [32]byte
}

func readHead(r storage.Reader) (head, error) {
	var h head
	v, err := r.Get(headKey())
	if errors.Is(err, storage.ErrNotFound) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("read chain head: %w", err)
	}
	if len(v) != 8+hashSize {
		return h, fmt.Errorf("read chain head: %d bytes: %w", len(v), errCorrupt)
	}
	h.Seq = binary.BigEndian.Uint64(v)
	copy(h.Hash[:], v[8:])
	return h, nil
}

func writeHead(tx storage.Txn, h head) error {
	v := make([]byte, 0, 8+hashSize)
	v = binary.BigEndian.AppendUint64(v, h.Seq)
	v = append(v, h.Hash[:]...)
	return tx.Set(headKey(), v)
}

func readInt(r storage.Reader, k []byte) (int64, error) {
	v, _, err := lookupInt(r, k)
	return v, err
}

// lookupInt reads an integer and says whether the key was there at all.
func lookupInt(r storage.Reader, k []byte) (v int64, found bool, err error) {
	b, err := r.Get(k)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if len(b) != 8 {
		return 0, false, fmt.Errorf("value of %q has %d bytes: %w", k, len(b), errCorrupt)
	}
	return int64(binary.BigEndian.Uint64(b)), true, nil
}

func putInt(tx storage.Txn, k []byte, v int64) error {
	return tx.Set(k, binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(v)))
}

// balanceOf reads a cached balance.
func balanceOf(r storage.Reader, asset, account string) (int64, error) {
	v, err := readInt(r, balanceKey(asset, account))
	if err != nil {
		return 0, fmt.Errorf("read balance %s %s: %w", asset, account, err)
	}
	return v, nil
}

// post appends e to the chain: it numbers and hashes it, updates the cached balances of
// its legs and the statement index. It checks every invariant before writing anything,
// so a refused entry leaves the transaction untouched. acct is the Kirim account the
// entry concerns (nil for none).
func (l *Ledger) post(tx storage.Txn, acct *Account, e *Entry) error {
	if len(e.Legs) == 0 {
		return fmt.Errorf("post %s: no legs: %w", e.Kind, ErrInvalid)
	}
	sums := make(map[string]int64, 2)
	type bal struct {
		key      []byte
		leg      Leg
		after    int64
		customer bool
	}
	bals := make([]bal, 0, len(e.Legs))
	for _, lg := range e.Legs {
		if lg.Amount == 0 {
			return fmt.Errorf("post %s: zero leg on %s: %w", e.Kind, lg.Account, ErrInvalid)
		}
		sums[lg.Asset] += lg.Amount
		i := 0
		for i < len(bals) && (bals[i].leg.Account != lg.Account || bals[i].leg.Asset != lg.Asset) {
			i++
		}
		if strings.HasSuffix(lg.Account, reserveEnd) && isCustomerAccount(lg.Account) {
			l.noReserve.Clear() // rare: campaign reserves open and close, once per campaign
		}
		if i == len(bals) {
			cur, err := balanceOf(tx, lg.Asset, lg.Account)
			if err != nil {
				return fmt.Errorf("post %s: %w", e.Kind, err)
			}
			bals = append(bals, bal{key: balanceKey(lg.Asset, lg.Account), leg: lg, after: cur, customer: isCustomerAccount(lg.Account)})
		}
		cur := bals[i].after
		if (lg.Amount > 0 && cur > math.MaxInt64-lg.Amount) || (lg.Amount < 0 && cur < math.MinInt64-lg.Amount) {
			return fmt.Errorf("post %s: %s %s would overflow: %w", e.Kind, lg.Account, lg.Asset, ErrInvalid)
		}
		bals[i].after = cur + lg.Amount
	}
	for asset, s := range sums {
		if s != 0 {
			return fmt.Errorf("post %s: legs in %s sum to %d: %w", e.Kind, asset, s, ErrInvalid)
		}
	}
	for _, b := range bals {
		if b.customer && b.after < 0 {
			return fmt.Errorf("post %s: %s would be %d %s: %w", e.Kind, b.leg.Account, b.after, b.leg.Asset, ErrInsufficientBalance)
		}
	}

	h, err := readHead(tx)
	if err != nil {
		return fmt.Errorf("post %s: %w", e.Kind, err)
	}
	e.Seq = h.Seq + 1
	body := encodeEntry(e)
	e.Hash = chainHash(h.Hash, body)
	if err := tx.Set(entryKey(e.Seq), append(body, e.Hash[:]...)); err != nil {
		return fmt.Errorf("post %s #%d: %w", e.Kind, e.Seq, err)
	}
	if err := writeHead(tx, head{Seq: e.Seq, Hash: e.Hash}); err != nil {
		return fmt.Errorf("post %s #%d: %w", e.Kind, e.Seq, err)
	}
	for _, b := range bals {
		if err := putInt(tx, b.key, b.after); err != nil {
			return fmt.Errorf("post %s #%d: %w", e.Kind, e.Seq, err)
		}
	}
	if acct != nil {
		if err := l.index(tx, acct, e); err != nil {
			return fmt.Errorf("post %s #%d: %w", e.Kind, e.Seq, err)
		}
	}
	return nil
}

// index writes the statement row of e: the change to available money and the running
// available and held balances after it, so a statement needs no replay. Held counts
// open campaign reserves too, as Balance does, so moving money between a reserve and
// message holds leaves the running balance unchanged.
func (l *Ledger) index(tx storage.Txn, acct *Account, e *Entry) error {
	var availDelta int64
	for _, lg := range e.Legs {
		if lg.Asset == acct.Currency && lg.Account == availableAccount(acct.ID) {
			availDelta += lg.Amount
		}
	}
	avail, err := balanceOf(tx, acct.Currency, availableAccount(acct.ID))
	if err != nil {
		return err
	}
	held, err := balanceOf(tx, acct.Currency, heldAccount(acct.ID))
	if err != nil {
		return err
	}
	reserved, err := l.reservedOf(tx, acct)
	if err != nil {
		return err
	}
	held += reserved
	v := make([]byte, 0, 32)
	v = binary.BigEndian.AppendUint64(v, e.Seq)
	v = binary.BigEndian.AppendUint64(v, uint64(availDelta))
	v = binary.BigEndian.AppendUint64(v, uint64(avail))
	v = binary.BigEndian.AppendUint64(v, uint64(held))
	return tx.Set(indexKey(acct.ID, e.At.UnixNano(), e.Seq), v)
}

// reservedOf reads the balance of the account's campaign reserves. Most accounts never
// open one, and the read of a key that is not there walks every level of Badger, once
// per send; so an account whose reserve balance was absent is remembered (noReserve)
// until a posting touches its reserve. Only absence is remembered, never a zero: what
// one commit fn reads may be another's pending write, which a failed commit drops, and
// dropping writes cannot make an absent key present.
func (l *Ledger) reservedOf(tx storage.Reader, acct *Account) (int64, error) {
	if _, none := l.noReserve.Load(acct.ID); none {
		return 0, nil
	}
	v, found, err := lookupInt(tx, balanceKey(acct.Currency, reserveAccount(acct.ID)))
	if err != nil {
		return 0, fmt.Errorf("read reserve balance of %s: %w", acct.ID, err)
	}
	if !found {
		l.noReserve.Store(acct.ID, struct{}{})
	}
	return v, nil
}

// readEntry loads one entry by number.
func readEntry(r storage.Reader, seq uint64) (Entry, error) {
	v, err := r.Get(entryKey(seq))
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return Entry{}, fmt.Errorf("entry #%d: %w", seq, ErrNotFound)
		}
		return Entry{}, fmt.Errorf("entry #%d: %w", seq, err)
	}
	e, _, err := decodeEntry(v)
	if err != nil {
		return Entry{}, fmt.Errorf("entry #%d: %w", seq, err)
	}
	return e, nil
}
