package audit

import (
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// Verify replays the chain from the first record and returns how many records it found
// sound. It stops at the first record that is missing, out of sequence, undecodable,
// earlier than the one before, or whose stored or computed hashes do not chain, and
// returns an error wrapping ErrBroken that names that record's seq; n is then the
// count of sound records before it. It also checks that the chain head names the last
// record. An error not wrapping ErrBroken means the store could not be read.
//
// It reads one snapshot, so appends may go on meanwhile; they are not checked.
func (l *Log) Verify() (n uint64, err error) {
	broken := func(seq uint64, format string, args ...any) error {
		return fmt.Errorf("audit: verify: record %d: %s: %w", seq, fmt.Sprintf(format, args...), ErrBroken)
	}
	err = l.db.View(func(r storage.Reader) error {
		n = 0
		var (
			prev   [32]byte
			lastAt int64
		)
		err := r.Iterate(recordPrefix, storage.IterOptions{}, func(k, v []byte) (bool, error) {
			seq := n + 1
			if ks := keySeq(k); ks != seq {
				return false, broken(seq, "missing (the next stored record is %d)", ks)
			}
			rec, body, err := decodeValue(v)
			if err != nil {
				return false, broken(seq, "%v", err)
			}
			if rec.Seq != seq {
				return false, broken(seq, "says it is record %d", rec.Seq)
			}
			at := rec.At.UnixNano()
			if at < lastAt {
				return false, broken(seq, "at %s, before the record preceding it", rec.At.Format(time.RFC3339Nano))
			}
			if rec.Prev != prev {
				return false, broken(seq, "previous hash %x, the record before has %x", rec.Prev[:8], prev[:8])
			}
			if want := chainHash(prev, body); want != rec.Hash {
				return false, broken(seq, "hash %x, contents hash to %x", rec.Hash[:8], want[:8])
			}
			n, prev, lastAt = seq, rec.Hash, at
			return true, nil
		})
		if err != nil {
			if errors.Is(err, ErrBroken) {
				return err
			}
			return fmt.Errorf("audit: verify: %w", err)
		}
		h, err := readHead(r)
		if err != nil {
			return fmt.Errorf("audit: verify: %w", err)
		}
		switch {
		case h.seq > n:
			// The newest records were removed: name the first of them.
			return broken(n+1, "missing (the chain head says the last record is %d)", h.seq)
		case h.seq < n:
			// Records were added without moving the head: name the first of them, which
			// is not part of the chain as it was acknowledged.
			first := h.seq + 1
			n = h.seq
			return broken(first, "beyond the chain head, which says the last record is %d", h.seq)
		}
		if h.hash != prev || h.at != lastAt {
			return broken(n, "chain head does not match the last record")
		}
		return nil
	})
	return n, err
}
