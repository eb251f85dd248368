// Package storage owns the on-disk state: Badger opened with options sized for a small
// VPS, the key layout (keys.go lists every prefix), group commit so concurrent
// acknowledged writes share one sync, value-log GC, and backup / restore. It stores
// bytes under keys and knows nothing of what they mean; domain packages encode their
// own records. Nothing outside this package may assume Badger.
package storage

import "errors"

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("storage: not found")

// Reader reads a consistent snapshot.
type Reader interface {
	// Get returns a copy of the value at key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Iterate calls fn for each key with prefix, in key order (reverse order when
	// opts.Reverse), starting at opts.Start when set (inclusive). key and value are valid
	// only during the call. fn returns false to stop.
	Iterate(prefix []byte, opts IterOptions, fn func(key, value []byte) (bool, error)) error
}

// IterOptions tune an iteration.
type IterOptions struct {
	Start    []byte // first key to visit (inclusive); default the prefix (or its end, in reverse)
	Reverse  bool
	KeysOnly bool // value is nil in fn; much cheaper
}

// Txn reads and writes inside a commit. Get sees the writes made earlier in the same
// Txn, and the writes of transactions committed before it. Iterate sees committed writes
// but not the Txn's own: read your own writes with Get (see DB.Commit).
type Txn interface {
	Reader
	Set(key, value []byte) error
	Delete(key []byte) error
}
