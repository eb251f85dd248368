package storage

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// reader implements Reader on a Badger transaction.
type reader struct{ txn *badger.Txn }

func (r reader) Get(key []byte) ([]byte, error) {
	return txnGet(r.txn, key)
}

func (r reader) Iterate(prefix []byte, opts IterOptions, fn func(key, value []byte) (bool, error)) error {
	return txnIterate(r.txn, prefix, opts, fn)
}

func txnGet(txn *badger.Txn, key []byte) ([]byte, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("storage: get: %w", err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("storage: get value: %w", err)
	}
	return v, nil
}

func txnIterate(txn *badger.Txn, prefix []byte, opts IterOptions, fn func(key, value []byte) (bool, error)) error {
	io := badger.DefaultIteratorOptions
	// Values mostly live in the LSM tree (Badger's value threshold is 1 MiB), so
	// prefetching would only copy values a caller may stop before reading.
	io.PrefetchValues = false
	io.Reverse = opts.Reverse
	if !opts.Reverse {
		// Badger's Prefix option also skips tables whose key range misses the prefix.
		// In reverse it would end the scan on the first key past the prefix, which is
		// where the seek lands, so reverse scans check the prefix themselves.
		io.Prefix = prefix
	}
	it := txn.NewIterator(io)
	defer it.Close()

	seek := opts.Start
	if !opts.Reverse {
		if seek == nil || bytes.Compare(seek, prefix) < 0 {
			seek = prefix
		}
	} else {
		end := PrefixEnd(prefix)
		if seek == nil || (end != nil && bytes.Compare(seek, end) >= 0) {
			seek = end
		}
	}
	if seek == nil {
		// Reverse over the whole keyspace (empty or all-0xFF prefix): start at the last key.
		it.Rewind()
	} else {
		it.Seek(seek)
	}
	for ; it.Valid(); it.Next() {
		item := it.Item()
		k := item.Key()
		if !bytes.HasPrefix(k, prefix) {
			if opts.Reverse && bytes.Compare(k, prefix) > 0 {
				// A reverse seek to PrefixEnd lands on that key when it exists.
				continue
			}
			return nil
		}
		var more bool
		var err error
		if opts.KeysOnly {
			more, err = fn(k, nil)
		} else {
			verr := item.Value(func(v []byte) error {
				more, err = fn(k, v)
				return nil
			})
			if verr != nil {
				return fmt.Errorf("storage: iterate value: %w", verr)
			}
		}
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}
