package storage

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"testing/iotest"
)

func frame(body string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, uint64(len(body))), body...)
}

func TestFrameReader(t *testing.T) {
	huge := binary.LittleEndian.AppendUint64(nil, maxBackupFrame+1)
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"empty", nil, true},
		{"two frames", append(frame("hello"), frame("world!")...), true},
		{"empty frame", frame(""), true},
		{"truncated header", []byte{1, 0, 0}, false},
		{"truncated body", frame("hello")[:10], false},
		{"huge frame", append(huge, 'x'), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// OneByteReader makes every header and body boundary a separate Read.
			got, err := io.ReadAll(&frameReader{r: iotest.OneByteReader(bytes.NewReader(tt.in))})
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && !bytes.Equal(got, tt.in) {
				t.Errorf("passed %q, want %q", got, tt.in)
			}
		})
	}
}

func FuzzFrameReader(f *testing.F) {
	f.Add(append(frame("a"), frame("bc")...))
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1})
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 'a'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := io.ReadAll(&frameReader{r: bytes.NewReader(in)})
		if !bytes.HasPrefix(in, got) {
			t.Fatalf("output %x is not a prefix of input %x", got, in)
		}
		if err == nil && !bytes.Equal(got, in) {
			t.Fatalf("no error but only %d of %d bytes passed", len(got), len(in))
		}
		// A clean read means every frame was within bounds and complete.
		for rest := got; err == nil && len(rest) > 0; {
			size := binary.LittleEndian.Uint64(rest)
			if size > maxBackupFrame || uint64(len(rest)-8) < size {
				t.Fatalf("accepted bad frame of %d bytes", size)
			}
			rest = rest[8+size:]
		}
	})
}
