package storage

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// Batch writes many keys quickly, outside group commit, for imports and fan-out. Badger
// commits it in as many transactions as it needs, in the background, so a Batch is not
// atomic and gives no read-your-writes.
//
// Use it only for keys that no concurrent Commit writes (fresh import rows, the
// recipients of a new campaign): a Batch and a Commit writing the same key race, and
// either may win. Flush or Cancel every Batch; Close waits for open ones.
type Batch struct {
	d    *DB
	wb   *badger.WriteBatch
	err  error
	once sync.Once
}

// NewBatch starts a Batch. On a closed DB every method of the Batch returns ErrClosed.
func (d *DB) NewBatch() *Batch {
	if err := d.enter(); err != nil {
		return &Batch{err: err}
	}
	return &Batch{d: d, wb: d.bdb.NewWriteBatch()}
}

// Set queues key = value. key and value are copied.
func (b *Batch) Set(key, value []byte) error {
	if b.err != nil {
		return b.err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if err := b.d.checkValue(value); err != nil {
		return err
	}
	if err := b.wb.Set(bytes.Clone(key), append([]byte{}, value...)); err != nil {
		return fmt.Errorf("storage: batch set: %w", err)
	}
	b.d.written.add(key, len(key)+len(value))
	return nil
}

// Delete queues the removal of key.
func (b *Batch) Delete(key []byte) error {
	if b.err != nil {
		return b.err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if err := b.wb.Delete(bytes.Clone(key)); err != nil {
		return fmt.Errorf("storage: batch delete: %w", err)
	}
	b.d.written.add(key, len(key))
	return nil
}

// Flush writes what is queued, syncs it to disk, and ends the Batch.
func (b *Batch) Flush() error {
	if b.err != nil {
		return b.err
	}
	err := errBatchDone
	b.once.Do(func() {
		defer b.d.exit()
		if err = b.wb.Flush(); err != nil {
			err = fmt.Errorf("storage: batch flush: %w", err)
			return
		}
		if err = b.d.sync(); err != nil {
			err = fmt.Errorf("storage: batch sync: %w", err)
		}
	})
	b.err = errBatchDone
	return err
}

// Cancel ends the Batch without flushing. Writes Badger already committed in the
// background stay (unsynced); the rest are dropped. Safe after Flush.
func (b *Batch) Cancel() {
	if b.wb == nil {
		return
	}
	b.once.Do(func() {
		b.wb.Cancel()
		b.d.exit()
	})
	b.err = errBatchDone
}

var errBatchDone = errors.New("storage: batch already flushed or cancelled")

// checkKey applies the key rules of Txn.Set to a Batch.
func checkKey(key []byte) error {
	switch {
	case len(key) == 0:
		return errors.New("storage: empty key")
	case len(key) > MaxKeySize:
		return fmt.Errorf("storage: key of %d bytes exceeds %d", len(key), MaxKeySize)
	case bytes.HasPrefix(key, []byte(badgerInternalPrefix)):
		return fmt.Errorf("storage: key %q uses a reserved prefix", key)
	}
	return nil
}

// checkValue refuses a value Badger would refuse later with an error that quotes it.
func (d *DB) checkValue(value []byte) error {
	if int64(len(value)) > d.opts.ValueLogFileSize {
		return fmt.Errorf("storage: value of %d bytes exceeds the value-log file size %d", len(value), d.opts.ValueLogFileSize)
	}
	return nil
}
