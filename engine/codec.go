package engine

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kirim/provider"
	"kirim/storage"
)

// Messages are stored in a compact binary form: a message record is read and written
// several times in its life (claim, send outcome, each status), and reflection-based
// JSON was most of that cost. Records written as JSON by earlier versions still decode.
//
// Layout (version 1): the version byte, then every field in the order of encodeMessage:
// strings as uvarint length and bytes, integers as varints, times as varint unix
// nanoseconds (0 for the zero time), optional structs behind a presence byte.

const codecVersion = 1

var errCodec = errors.New("engine: corrupt message record")

func encodeMessage(m *Message) []byte {
	b := make([]byte, 0, 256)
	b = append(b, codecVersion)
	for _, s := range []string{m.ID, m.AccountID, m.Number, m.To, m.WaID, m.Type} {
		b = putStr(b, s)
	}
	if m.Template != nil {
		b = append(b, 1)
		b = putStr(b, m.Template.Name)
		b = putStr(b, m.Template.Language)
	} else {
		b = append(b, 0)
	}
	for _, s := range []string{m.Category, m.CallbackData, m.CampaignID, m.IdempotencyKey} {
		b = putStr(b, s)
	}
	b = binary.AppendVarint(b, m.Price)
	b = putStr(b, m.Currency)
	b = putStr(b, m.HoldID)
	b = binary.AppendVarint(b, m.Charged)
	b = putBool(b, m.Settled)
	b = putStr(b, string(m.State))
	b = binary.AppendUvarint(b, uint64(len(m.History)))
	for _, h := range m.History {
		b = putStr(b, string(h.State))
		b = putTime(b, h.At)
	}
	b = binary.AppendVarint(b, int64(m.Attempts))
	b = binary.AppendVarint(b, int64(m.Throttled))
	b = putTime(b, m.NextAttemptAt)
	b = putTime(b, m.LeaseUntil)
	b = putStr(b, m.WAMID)
	if e := m.Error; e != nil {
		b = append(b, 1)
		b = binary.AppendVarint(b, int64(e.Code))
		b = putStr(b, e.Title)
		b = putStr(b, e.Detail)
		b = putStr(b, e.Class)
	} else {
		b = append(b, 0)
	}
	b = putStr(b, m.WaitingReason)
	b = putTime(b, m.ETA)
	if p := m.Pricing; p != nil {
		b = append(b, 1)
		switch {
		case p.Billable == nil:
			b = append(b, 0)
		case *p.Billable:
			b = append(b, 2)
		default:
			b = append(b, 1)
		}
		b = putStr(b, p.PricingModel)
		b = putStr(b, p.Type)
		b = putStr(b, p.Category)
	} else {
		b = append(b, 0)
	}
	b = putTime(b, m.CreatedAt)
	b = putTime(b, m.UpdatedAt)
	// Fields added after version 1 follow, each optional at the end, so older records
	// (which stop here) still decode.
	if m.CampaignRun != 0 {
		b = binary.AppendUvarint(b, m.CampaignRun)
	}
	return b
}

func decodeMessage(b []byte, m *Message) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, m)
	}
	d := decoder{storage.Decoder{B: b}}
	if v := d.Byte(); v != codecVersion {
		return fmt.Errorf("%w: version %d", errCodec, v)
	}
	for _, p := range []*string{&m.ID, &m.AccountID, &m.Number, &m.To, &m.WaID, &m.Type} {
		*p = d.Str()
	}
	if d.Byte() == 1 {
		m.Template = &TemplateRef{Name: d.Str(), Language: d.Str()}
	}
	for _, p := range []*string{&m.Category, &m.CallbackData, &m.CampaignID, &m.IdempotencyKey} {
		*p = d.Str()
	}
	m.Price = d.Varint()
	m.Currency = d.Str()
	m.HoldID = d.Str()
	m.Charged = d.Varint()
	m.Settled = d.Byte() == 1
	m.State = State(d.Str())
	n := d.Uvarint()
	if n > uint64(len(d.B)) { // every entry takes at least two bytes
		return errCodec
	}
	if n > 0 {
		m.History = make([]StateChange, n)
		for i := range m.History {
			m.History[i] = StateChange{State: State(d.Str()), At: d.time()}
		}
	}
	m.Attempts = int(d.Varint())
	m.Throttled = int(d.Varint())
	m.NextAttemptAt = d.time()
	m.LeaseUntil = d.time()
	m.WAMID = d.Str()
	if d.Byte() == 1 {
		m.Error = &MessageError{Code: int(d.Varint()), Title: d.Str(), Detail: d.Str(), Class: d.Str()}
	}
	m.WaitingReason = d.Str()
	m.ETA = d.time()
	if d.Byte() == 1 {
		p := &provider.Pricing{}
		switch d.Byte() {
		case 1:
			f := false
			p.Billable = &f
		case 2:
			t := true
			p.Billable = &t
		}
		p.PricingModel, p.Type, p.Category = d.Str(), d.Str(), d.Str()
		m.Pricing = p
	}
	m.CreatedAt = d.time()
	m.UpdatedAt = d.time()
	if len(d.B) > 0 {
		m.CampaignRun = d.Uvarint()
	}
	if d.Err != nil || len(d.B) != 0 {
		return errCodec
	}
	return nil
}

func putStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func putBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func putTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// decoder is storage's record decoder with the engine's time form: varint unix
// nanoseconds, 0 for the zero time.
type decoder struct{ storage.Decoder }

func (d *decoder) time() time.Time {
	ns := d.Varint()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
