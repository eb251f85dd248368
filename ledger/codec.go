package ledger

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"kirim/storage"
)

// Records the ledger rewrites on every message (holds, credit months) use a small binary
// encoding rather than JSON: they sit on the hot path of every hold and capture.

const recordVersion = 1

type encoder struct{ b []byte }

func (e *encoder) byte(c byte)      { e.b = append(e.b, c) }
func (e *encoder) str(s string)     { e.b = appendString(e.b, s) }
func (e *encoder) u64(v uint64)     { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) i64(v int64)      { e.u64(uint64(v)) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) boolean(v bool) {
	if v {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

// zeroTime stands for time.Time{}, whose UnixNano is undefined.
const zeroTime = math.MinInt64

func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.i64(zeroTime)
		return
	}
	e.i64(t.UnixNano())
}

func (d *decoder) i64() int64 { return int64(d.U64()) }

func (d *decoder) boolean() bool {
	c := d.Byte()
	if c > 1 {
		d.Fail("boolean")
	}
	return c == 1
}

func (d *decoder) time() time.Time {
	v := d.i64()
	if v == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (d *decoder) finish(what string) error {
	if d.Err == nil && len(d.B) != 0 {
		return fmt.Errorf("%s: %d trailing bytes: %w", what, len(d.B), errCorrupt)
	}
	if d.Err != nil {
		return fmt.Errorf("%s: %w: %w", what, errCorrupt, d.Err)
	}
	return nil
}

// Hold status codes as stored: the second byte of a hold record, so Verify can skip
// resolved holds without decoding them.
const (
	holdCodeHeld     = 'h'
	holdCodeCaptured = 'c'
	holdCodeReleased = 'r'
)

func holdCode(status string) byte {
	switch status {
	case HoldCaptured:
		return holdCodeCaptured
	case HoldReleased:
		return holdCodeReleased
	}
	return holdCodeHeld
}

func holdStatus(code byte) (string, bool) {
	switch code {
	case holdCodeHeld:
		return HoldHeld, true
	case holdCodeCaptured:
		return HoldCaptured, true
	case holdCodeReleased:
		return HoldReleased, true
	}
	return "", false
}

// holdRecordReserve is the hold record version that ends with the id of the reserve
// that funded the hold. Holds without one keep version 1, byte for byte.
const holdRecordReserve = 2

func encodeHold(h *Hold) []byte {
	e := encoder{b: make([]byte, 0, 256)}
	if h.ReserveID != "" {
		e.byte(holdRecordReserve)
	} else {
		e.byte(recordVersion)
	}
	e.byte(holdCode(h.Status))
	for _, s := range []string{h.ID, h.Account, h.MessageID, h.CampaignID, h.Recipient, h.Market, h.Category, h.ContentType} {
		e.str(s)
	}
	e.boolean(h.InWindow)
	e.boolean(h.FreeEntryPoint)
	e.i64(h.Amount)
	e.str(h.CreditKind)
	e.str(h.CreditMonth)
	e.boolean(h.Free)
	e.str(h.FreeReason)
	e.uvarint(uint64(h.Band))
	e.str(h.Month)
	e.time(h.At)
	e.time(h.ExpiresAt)
	e.u64(h.HoldSeq)
	e.i64(h.Captured)
	e.str(h.CapturedCategory)
	e.i64(h.Shortfall)
	e.str(h.ReleaseReason)
	e.time(h.ResolvedAt)
	e.u64(h.ResolveSeq)
	if h.ReserveID != "" {
		e.str(h.ReserveID)
	}
	return e.b
}

func decodeHold(v []byte) (Hold, error) {
	var h Hold
	d := decoder{storage.Decoder{B: v}}
	ver := d.Byte()
	if ver != recordVersion && ver != holdRecordReserve && d.Err == nil {
		return h, fmt.Errorf("hold record version %d: %w", ver, errCorrupt)
	}
	status, ok := holdStatus(d.Byte())
	if !ok && d.Err == nil {
		return h, fmt.Errorf("hold record status %q: %w", v[1], errCorrupt)
	}
	h.Status = status
	for _, s := range []*string{&h.ID, &h.Account, &h.MessageID, &h.CampaignID, &h.Recipient, &h.Market, &h.Category, &h.ContentType} {
		*s = d.Str()
	}
	h.InWindow = d.boolean()
	h.FreeEntryPoint = d.boolean()
	h.Amount = d.i64()
	h.CreditKind = d.Str()
	h.CreditMonth = d.Str()
	h.Free = d.boolean()
	h.FreeReason = d.Str()
	h.Band = int(d.Uvarint())
	h.Month = d.Str()
	h.At = d.time()
	h.ExpiresAt = d.time()
	h.HoldSeq = d.U64()
	h.Captured = d.i64()
	h.CapturedCategory = d.Str()
	h.Shortfall = d.i64()
	h.ReleaseReason = d.Str()
	h.ResolvedAt = d.time()
	h.ResolveSeq = d.U64()
	if ver == holdRecordReserve {
		// Version 2 always names a reserve, so every record has one encoding.
		if h.ReserveID = d.Str(); h.ReserveID == "" && d.Err == nil {
			return h, fmt.Errorf("hold record: version 2 without a reserve id: %w", errCorrupt)
		}
	}
	return h, d.finish("hold record")
}

func encodeReserve(rv *Reserve) []byte {
	e := encoder{b: make([]byte, 0, 128)}
	e.byte(recordVersion)
	e.boolean(rv.Status == ReserveClosed)
	e.str(rv.ID)
	e.str(rv.Account)
	e.str(rv.CampaignID)
	for _, v := range []int64{rv.Amount, rv.Remaining, rv.Drawn, rv.Returned, rv.Released} {
		e.i64(v)
	}
	e.str(rv.CloseReason)
	e.time(rv.CreatedAt)
	e.time(rv.ClosedAt)
	e.u64(rv.ReserveSeq)
	e.u64(rv.CloseSeq)
	return e.b
}

func decodeReserve(v []byte) (Reserve, error) {
	var rv Reserve
	d := decoder{storage.Decoder{B: v}}
	if ver := d.Byte(); ver != recordVersion && d.Err == nil {
		return rv, fmt.Errorf("reserve record version %d: %w", ver, errCorrupt)
	}
	rv.Status = ReserveOpen
	if d.boolean() {
		rv.Status = ReserveClosed
	}
	rv.ID = d.Str()
	rv.Account = d.Str()
	rv.CampaignID = d.Str()
	for _, p := range []*int64{&rv.Amount, &rv.Remaining, &rv.Drawn, &rv.Returned, &rv.Released} {
		*p = d.i64()
	}
	rv.CloseReason = d.Str()
	rv.CreatedAt = d.time()
	rv.ClosedAt = d.time()
	rv.ReserveSeq = d.U64()
	rv.CloseSeq = d.U64()
	return rv, d.finish("reserve record")
}

func encodeCreditState(s creditState) []byte {
	e := encoder{b: make([]byte, 0, 32)}
	e.byte(recordVersion)
	e.str(s.Month)
	e.uvarint(uint64(len(s.Kinds)))
	for _, k := range s.Kinds {
		e.str(k)
	}
	return e.b
}

func decodeCreditState(v []byte) (creditState, error) {
	var s creditState
	d := decoder{storage.Decoder{B: v}}
	if ver := d.Byte(); ver != recordVersion && d.Err == nil {
		return s, fmt.Errorf("credit month record version %d: %w", ver, errCorrupt)
	}
	s.Month = d.Str()
	n := d.Uvarint()
	if n > uint64(len(d.B)) {
		return s, fmt.Errorf("credit month record: %d kinds: %w", n, errCorrupt)
	}
	for i := uint64(0); i < n && d.Err == nil; i++ {
		s.Kinds = append(s.Kinds, d.Str())
	}
	return s, d.finish("credit month record")
}
