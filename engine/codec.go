package engine

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"kirim/provider"
	"kirim/storage"
)

// Messages are stored in a compact binary form: a message record is rewritten at each
// state change (claim, send outcome, each status), so its size is multiplied by the
// versions Badger flushes and compacts; reflection-based JSON was also most of the CPU
// of those rewrites. Records written as JSON or as version 1 by earlier versions still
// decode; every record is written as version 2.
//
// Version 2: the version byte, CreatedAt as varint unix nanoseconds, then every field in
// the order of encodeMessage. Strings are a uvarint length and bytes; integers varints;
// optional structs sit behind a presence byte. The id is not stored: it is the key's.
// What repeats another field is a flag byte: the hold id (the message id) and the wa_id
// (the number without its '+'). States are a byte from stateCodes (0 then the string
// for a state this table does not know). Other times are nanoseconds from CreatedAt,
// zigzag-encoded plus one, so 0 is the zero time. A delivered message's record is about
// 40 % smaller than in version 1.
//
// Version 1 (read only) stored the id, every string in full and times as varint unix
// nanoseconds (0 for the zero time), and ended with an optional campaign run.

const (
	codecV1 = 1
	codecV2 = 2
)

var errCodec = errors.New("engine: corrupt message record")

// stateCodes numbers the states for the record; a code is never reused.
var stateCodes = []State{1: Queued, 2: Waiting, 3: Dispatching, 4: Unknown, 5: Held, 6: Sent, 7: Delivered, 8: Read, 9: Failed, 10: Cancelled}

func putState(b []byte, s State) []byte {
	for c, st := range stateCodes {
		if c > 0 && st == s {
			return append(b, byte(c))
		}
	}
	return putStr(append(b, 0), s)
}

func (d *decoder) state() State {
	c := int(d.Byte())
	if c == 0 {
		return State(d.Str())
	}
	if c >= len(stateCodes) {
		d.Fail("state")
		return ""
	}
	return stateCodes[c]
}

// putRel writes t relative to base: 0 for the zero time, else zigzag(t - base) + 1.
func putRel(b []byte, t, base time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	delta := t.UnixNano() - base.UnixNano()
	return binary.AppendUvarint(b, uint64(delta<<1^delta>>63)+1)
}

func (d *decoder) rel(base time.Time) time.Time {
	u := d.Uvarint()
	if u == 0 {
		return time.Time{}
	}
	u--
	delta := int64(u>>1) ^ -int64(u&1)
	return time.Unix(0, base.UnixNano()+delta).UTC()
}

func encodeMessage(m *Message) []byte {
	b := make([]byte, 0, 192)
	b = append(b, codecV2)
	b = putTime(b, m.CreatedAt)
	base := m.CreatedAt
	for _, s := range []string{m.AccountID, m.Number, m.To} {
		b = putStr(b, s)
	}
	if m.WaID != "" && m.WaID == strings.TrimPrefix(m.To, "+") {
		b = append(b, 1)
	} else {
		b = putStr(append(b, 0), m.WaID)
	}
	b = putStr(b, m.Type)
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
	b = binary.AppendUvarint(b, m.CampaignRun)
	b = binary.AppendVarint(b, m.Price)
	b = putStr(b, m.Currency)
	if m.HoldID != "" && m.HoldID == m.ID {
		b = append(b, 1)
	} else {
		b = putStr(append(b, 0), m.HoldID)
	}
	b = binary.AppendVarint(b, m.Charged)
	b = putBool(b, m.Settled)
	b = putState(b, m.State)
	b = binary.AppendUvarint(b, uint64(len(m.History)))
	for _, h := range m.History {
		b = putState(b, h.State)
		b = putRel(b, h.At, base)
	}
	b = binary.AppendVarint(b, int64(m.Attempts))
	b = binary.AppendVarint(b, int64(m.Throttled))
	b = putRel(b, m.NextAttemptAt, base)
	b = putRel(b, m.LeaseUntil, base)
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
	b = putRel(b, m.ETA, base)
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
	b = putRel(b, m.UpdatedAt, base)
	return b
}

// decodeMessage decodes the record of message id (the id is taken from the key).
func decodeMessage(id string, b []byte, m *Message) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, m)
	}
	if len(b) > 0 && b[0] == codecV1 {
		return decodeV1(b, m)
	}
	d := decoder{storage.Decoder{B: b}}
	if v := d.Byte(); v != codecV2 {
		return fmt.Errorf("%w: version %d", errCodec, v)
	}
	m.ID = id
	m.CreatedAt = d.time()
	base := m.CreatedAt
	for _, p := range []*string{&m.AccountID, &m.Number, &m.To} {
		*p = d.Str()
	}
	if d.Byte() == 1 {
		m.WaID = strings.TrimPrefix(m.To, "+")
	} else {
		m.WaID = d.Str()
	}
	m.Type = d.Str()
	d.refs(m)
	m.CampaignRun = d.Uvarint()
	m.Price = d.Varint()
	m.Currency = d.Str()
	if d.Byte() == 1 {
		m.HoldID = id
	} else {
		m.HoldID = d.Str()
	}
	m.Charged = d.Varint()
	m.Settled = d.Byte() == 1
	m.State = d.state()
	n := d.Uvarint()
	if n > uint64(len(d.B)) { // every entry takes at least two bytes
		return errCodec
	}
	if n > 0 {
		m.History = make([]StateChange, n)
		for i := range m.History {
			m.History[i].State = d.state()
			m.History[i].At = d.rel(base)
		}
	}
	d.progress(m, func() time.Time { return d.rel(base) })
	m.UpdatedAt = d.rel(base)
	if d.Err != nil || len(d.B) != 0 {
		return errCodec
	}
	return nil
}

// decodeV1 reads a version 1 record.
func decodeV1(b []byte, m *Message) error {
	d := decoder{storage.Decoder{B: b[1:]}}
	for _, p := range []*string{&m.ID, &m.AccountID, &m.Number, &m.To, &m.WaID, &m.Type} {
		*p = d.Str()
	}
	d.refs(m)
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
	d.progress(m, d.time)
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

// putStr writes a string or a byte slice with its length.
func putStr[S ~string | ~[]byte](b []byte, s S) []byte {
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

// refs reads the template and the references after it (both versions store them alike).
func (d *decoder) refs(m *Message) {
	if d.Byte() == 1 {
		m.Template = &TemplateRef{Name: d.Str(), Language: d.Str()}
	}
	for _, p := range []*string{&m.Category, &m.CallbackData, &m.CampaignID, &m.IdempotencyKey} {
		*p = d.Str()
	}
}

// progress reads the attempts through the pricing, which both versions store alike but
// for how a time is written: at reads one.
func (d *decoder) progress(m *Message, at func() time.Time) {
	m.Attempts = int(d.Varint())
	m.Throttled = int(d.Varint())
	m.NextAttemptAt = at()
	m.LeaseUntil = at()
	m.WAMID = d.Str()
	m.Error = d.messageError()
	m.WaitingReason = d.Str()
	m.ETA = at()
	m.Pricing = d.pricing()
}

// messageError reads an optional MessageError (both versions store it alike).
func (d *decoder) messageError() *MessageError {
	if d.Byte() != 1 {
		return nil
	}
	return &MessageError{Code: int(d.Varint()), Title: d.Str(), Detail: d.Str(), Class: d.Str()}
}

// pricing reads optional provider pricing (both versions store it alike).
func (d *decoder) pricing() *provider.Pricing {
	if d.Byte() != 1 {
		return nil
	}
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
	return p
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
