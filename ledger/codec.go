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

// holdRecordPricing is the hold record version that ends with the reserve id (possibly
// empty), the rules that priced the hold, its volume counter and its template. Holds
// with none of the three keep version 1 or 2.
const holdRecordPricing = 3

func holdVersion(h *Hold) byte {
	switch {
	case h.Rules != "" || h.Volume != "" || h.Template != "":
		return holdRecordPricing
	case h.ReserveID != "":
		return holdRecordReserve
	}
	return recordVersion
}

func encodeHold(h *Hold) []byte {
	e := encoder{b: make([]byte, 0, 256)}
	ver := holdVersion(h)
	e.byte(ver)
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
	switch ver {
	case holdRecordReserve:
		e.str(h.ReserveID)
	case holdRecordPricing:
		for _, s := range []string{h.ReserveID, h.Rules, h.Volume, h.Template} {
			e.str(s)
		}
	}
	return e.b
}

func decodeHold(v []byte) (Hold, error) {
	var h Hold
	d := decoder{storage.Decoder{B: v}}
	ver := d.Byte()
	if ver != recordVersion && ver != holdRecordReserve && ver != holdRecordPricing && d.Err == nil {
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
	switch ver {
	case holdRecordReserve:
		// Version 2 always names a reserve, so every record has one encoding.
		if h.ReserveID = d.Str(); h.ReserveID == "" && d.Err == nil {
			return h, fmt.Errorf("hold record: version 2 without a reserve id: %w", errCorrupt)
		}
	case holdRecordPricing:
		for _, p := range []*string{&h.ReserveID, &h.Rules, &h.Volume, &h.Template} {
			*p = d.Str()
		}
		if h.Rules == "" && h.Volume == "" && h.Template == "" && d.Err == nil {
			return h, fmt.Errorf("hold record: version 3 without rules, volume or template: %w", errCorrupt)
		}
	}
	return h, d.finish("hold record")
}

// reserveRecordPositions is the reserve record version that ends with the volume
// positions it claimed; reserves that claimed none keep version 1.
const reserveRecordPositions = 2

func encodeReserve(rv *Reserve) []byte {
	e := encoder{b: make([]byte, 0, 128)}
	ver := byte(recordVersion)
	if rv.Positions.Count > 0 {
		ver = reserveRecordPositions
	}
	e.byte(ver)
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
	if ver == reserveRecordPositions {
		p := rv.Positions
		e.str(p.Volume)
		e.str(p.Month)
		e.i64(p.From)
		e.i64(p.Count)
		e.i64(rv.PositionsUsed)
	}
	return e.b
}

func decodeReserve(v []byte) (Reserve, error) {
	var rv Reserve
	d := decoder{storage.Decoder{B: v}}
	ver := d.Byte()
	if ver != recordVersion && ver != reserveRecordPositions && d.Err == nil {
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
	if ver == reserveRecordPositions {
		p := &rv.Positions
		p.Volume = d.Str()
		p.Month = d.Str()
		p.From = d.i64()
		p.Count = d.i64()
		rv.PositionsUsed = d.i64()
		if p.Count <= 0 && d.Err == nil {
			return rv, fmt.Errorf("reserve record: version 2 without positions: %w", errCorrupt)
		}
	}
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
