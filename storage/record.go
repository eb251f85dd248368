package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorruptRecord is wrapped by every Decoder failure.
var ErrCorruptRecord = errors.New("corrupt record")

// Decoder reads the binary records domain packages store (message records, ledger
// entries and holds): uvarint-length strings, varints and fixed-width integers. The
// first short or malformed read sets Err; every later read then returns zero values, so
// a record is decoded field by field and checked once at the end. Only the shortest
// varint encodings are accepted, so one value has one encoding (ledger entries are
// hashed as stored).
type Decoder struct {
	B   []byte
	Err error
}

// Fail records that what could not be read.
func (d *Decoder) Fail(what string) {
	if d.Err == nil {
		d.Err = fmt.Errorf("%w: short %s", ErrCorruptRecord, what)
	}
	d.B = nil
}

func (d *Decoder) Byte() byte {
	if len(d.B) < 1 {
		d.Fail("byte")
		return 0
	}
	c := d.B[0]
	d.B = d.B[1:]
	return c
}

// U64 reads 8 bytes big-endian.
func (d *Decoder) U64() uint64 {
	if len(d.B) < 8 {
		d.Fail("integer")
		return 0
	}
	v := binary.BigEndian.Uint64(d.B)
	d.B = d.B[8:]
	return v
}

func (d *Decoder) Uvarint() uint64 {
	v, n := binary.Uvarint(d.B)
	if n <= 0 || n != uvarintLen(v) {
		d.Fail("length")
		return 0
	}
	d.B = d.B[n:]
	return v
}

func (d *Decoder) Varint() int64 {
	v, n := binary.Varint(d.B)
	if n <= 0 || n != uvarintLen(uint64(v<<1)^uint64(v>>63)) {
		d.Fail("integer")
		return 0
	}
	d.B = d.B[n:]
	return v
}

// Bytes reads a uvarint length and that many bytes, without copying.
func (d *Decoder) Bytes() []byte {
	n := d.Uvarint()
	if d.Err != nil {
		return nil
	}
	if n > uint64(len(d.B)) {
		d.Fail("string")
		return nil
	}
	s := d.B[:n:n]
	d.B = d.B[n:]
	return s
}

func (d *Decoder) Str() string { return string(d.Bytes()) }

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
