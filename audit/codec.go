package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// Key layout under storage.PrefixAudit:
//
//	r/<seq>  a record: its canonical encoding, the previous hash, its own hash
//	head     the chain head: last seq, its time, its hash
//
// Records are keyed by seq alone, so appending touches two keys and a replay is one
// scan in chain order.
var (
	recordPrefix = []byte(storage.PrefixAudit + "r/")
	headKeyBytes = []byte(storage.PrefixAudit + "head")
)

func recordKey(seq uint64) []byte { return storage.Key(string(recordPrefix), storage.U64(seq)) }

// keySeq returns the seq a record key names, 0 for a key that names none.
func keySeq(k []byte) uint64 {
	if len(k) != len(recordPrefix)+8 {
		return 0
	}
	seq, _, _ := storage.ParseU64(k[len(recordPrefix):])
	return seq
}

// recordVersion leads the encoding the hash covers; changing the encoding breaks every
// existing chain, so a new one gets a new version and the old one stays readable.
const recordVersion = 1

const hashSize = sha256.Size

// errCorrupt is wrapped by failures to decode what is stored.
var errCorrupt = errors.New("corrupt audit record")

// encodeBody writes the canonical encoding of r that its hash covers: fixed field
// order, big-endian fixed-width numbers, length-prefixed strings. Every field a reader
// sees is in it, so none can change without the hash changing.
func encodeBody(r *Record) []byte {
	strs := r.strings()
	n := 1 + 8 + 8 + 1 + binary.MaxVarintLen16
	for _, s := range strs {
		n += binary.MaxVarintLen16 + len(s)
	}
	b := make([]byte, 0, n+2*hashSize)
	b = append(b, recordVersion)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(r.At.UnixNano()))
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	if r.Operator {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(r.Status))
}

func (r *Record) strings() [7]string {
	return [7]string{r.Key, r.KeyID, r.Account, r.Action, r.Target, r.RequestID, r.Result}
}

// storedValue is what a record key holds. The previous hash is stored although the
// chain implies it, so a page of records shows it without reading the record before.
func storedValue(body []byte, prev, hash [32]byte) []byte {
	v := make([]byte, 0, len(body)+2*hashSize)
	v = append(v, body...)
	v = append(v, prev[:]...)
	return append(v, hash[:]...)
}

// splitValue separates a stored value into the body the hash covers and the two hashes.
func splitValue(v []byte) (body []byte, prev, hash [32]byte, err error) {
	if len(v) < 1+2*hashSize {
		return nil, prev, hash, fmt.Errorf("%d bytes: %w", len(v), errCorrupt)
	}
	body = v[:len(v)-2*hashSize]
	copy(prev[:], v[len(body):])
	copy(hash[:], v[len(body)+hashSize:])
	return body, prev, hash, nil
}

// decodeHeader reads the version, seq and time that open every body; List's search by
// time reads only these.
func decodeHeader(d *storage.Decoder) (seq uint64, at int64, err error) {
	if ver := d.Byte(); ver != recordVersion && d.Err == nil {
		return 0, 0, fmt.Errorf("version %d: %w", ver, errCorrupt)
	}
	seq = d.U64()
	at = int64(d.U64())
	if d.Err != nil {
		return 0, 0, fmt.Errorf("%w: %w", errCorrupt, d.Err)
	}
	return seq, at, nil
}

// decodeValue parses a stored value into a Record, and returns the body so a caller can
// rehash exactly what was stored.
func decodeValue(v []byte) (Record, []byte, error) {
	var r Record
	body, prev, hash, err := splitValue(v)
	if err != nil {
		return r, nil, err
	}
	d := storage.Decoder{B: body}
	seq, at, err := decodeHeader(&d)
	if err != nil {
		return r, nil, err
	}
	r.Seq, r.At, r.Prev, r.Hash = seq, time.Unix(0, at).UTC(), prev, hash
	for _, f := range []*string{&r.Key, &r.KeyID, &r.Account, &r.Action, &r.Target, &r.RequestID, &r.Result} {
		*f = d.Str()
	}
	switch op := d.Byte(); {
	case d.Err != nil:
	case op > 1:
		d.Fail("boolean")
	default:
		r.Operator = op == 1
	}
	status := d.Uvarint()
	if d.Err == nil && status > MaxStatus {
		return r, nil, fmt.Errorf("status %d: %w", status, errCorrupt)
	}
	r.Status = int(status)
	if d.Err != nil {
		return r, nil, fmt.Errorf("%w: %w", errCorrupt, d.Err)
	}
	if len(d.B) != 0 {
		return r, nil, fmt.Errorf("%d trailing bytes: %w", len(d.B), errCorrupt)
	}
	return r, body, nil
}

func chainHash(prev [32]byte, body []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// head is the last record's number, time and hash under one key, so an append reads
// one value instead of seeking to the end of the records, and the next record's time
// can be kept from going back.
type head struct {
	seq  uint64
	at   int64 // unix nanoseconds
	hash [32]byte
}

const headSize = 8 + 8 + hashSize

func readHead(r storage.Reader) (head, error) {
	var h head
	v, err := r.Get(headKeyBytes)
	if errors.Is(err, storage.ErrNotFound) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("read chain head: %w", err)
	}
	if len(v) != headSize {
		return h, fmt.Errorf("read chain head: %d bytes: %w", len(v), errCorrupt)
	}
	h.seq = binary.BigEndian.Uint64(v)
	h.at = int64(binary.BigEndian.Uint64(v[8:]))
	copy(h.hash[:], v[16:])
	return h, nil
}

func writeHead(tx storage.Txn, h head) error {
	v := make([]byte, 0, headSize)
	v = binary.BigEndian.AppendUint64(v, h.seq)
	v = binary.BigEndian.AppendUint64(v, uint64(h.at))
	v = append(v, h.hash[:]...)
	return tx.Set(headKeyBytes, v)
}
