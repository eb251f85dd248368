package storage

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestDecoderReadsWhatWasWritten(t *testing.T) {
	var b []byte
	b = append(b, 7)
	b = binary.BigEndian.AppendUint64(b, 1<<40)
	b = binary.AppendUvarint(b, 300)
	b = binary.AppendVarint(b, -12345)
	b = binary.AppendUvarint(b, 5)
	b = append(b, "halo!"...)
	d := Decoder{B: b}
	if d.Byte() != 7 || d.U64() != 1<<40 || d.Uvarint() != 300 || d.Varint() != -12345 || d.Str() != "halo!" {
		t.Fatal("values read back differ")
	}
	if d.Err != nil || len(d.B) != 0 {
		t.Fatalf("err %v, %d bytes left", d.Err, len(d.B))
	}
}

func TestDecoderRefusesShortAndLongForms(t *testing.T) {
	cases := map[string]func(*Decoder){
		"short byte":       func(d *Decoder) { d.Byte() },
		"short integer":    func(d *Decoder) { d.U64() },
		"overlong uvarint": func(d *Decoder) { d.Uvarint() },
		"overlong varint":  func(d *Decoder) { d.Varint() },
		"string past end":  func(d *Decoder) { d.Str() },
		"error is sticky":  func(d *Decoder) { d.U64(); d.Byte() },
	}
	inputs := map[string][]byte{
		"short byte": nil, "short integer": {1, 2, 3}, "overlong uvarint": {0x80, 0x00},
		"overlong varint": {0x81, 0x00}, "string past end": {5, 'a'}, "error is sticky": {1},
	}
	for name, read := range cases {
		d := Decoder{B: inputs[name]}
		read(&d)
		if !errors.Is(d.Err, ErrCorruptRecord) {
			t.Errorf("%s: err %v, want ErrCorruptRecord", name, d.Err)
		}
		if d.Byte() != 0 || d.Str() != "" {
			t.Errorf("%s: reads after a failure must return zero values", name)
		}
	}
}
