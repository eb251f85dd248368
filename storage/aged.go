package storage

import (
	"bytes"
	"time"
)

// An age index lists records by when they were made, so those past a retention are
// dropped without a scan of every record. Its key is the index's prefix, the creation
// time (8 bytes, unix nanoseconds, big-endian) and a tail; it stands for the record
// whose key is the record prefix followed by the same tail.

// AgeKey is the age-index key, under agePrefix, of a record made at created whose key
// ends with the parts of tail.
func AgeKey(agePrefix string, created time.Time, tail ...[]byte) []byte {
	return Key(agePrefix, append([][]byte{U64(uint64(created.UnixNano()))}, tail...)...)
}

// Aged returns up to limit age-index keys under agePrefix of records made at or before
// cutoff, oldest first.
func Aged(r Reader, agePrefix string, cutoff time.Time, limit int) ([][]byte, error) {
	until := uint64(cutoff.UnixNano())
	var keys [][]byte
	err := r.Iterate([]byte(agePrefix), IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
		created, _, ok := ParseU64(k[len(agePrefix):])
		if !ok || created > until {
			return false, nil
		}
		keys = append(keys, bytes.Clone(k))
		return len(keys) < limit, nil
	})
	return keys, err
}

// DropAged deletes the age-index keys (from Aged) and the records under recordPrefix
// they stand for.
func DropAged(tx Txn, agePrefix, recordPrefix string, keys [][]byte) error {
	for _, k := range keys {
		if err := tx.Delete(Key(recordPrefix, k[len(agePrefix)+8:])); err != nil {
			return err
		}
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
