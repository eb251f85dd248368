package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// restoreMaxPendingWrites bounds the write batches Badger keeps in flight while loading a
// backup, which bounds the memory a restore takes.
const restoreMaxPendingWrites = 64

// Backup writes a full, consistent backup of the store to w while it stays online:
// Badger's stream backup of the latest version of every live key, taken at one snapshot.
func (d *DB) Backup(w io.Writer) error {
	if err := d.enter(); err != nil {
		return err
	}
	defer d.exit()
	if _, err := d.bdb.Backup(w, 0); err != nil {
		return fmt.Errorf("storage: backup: %w", err)
	}
	return nil
}

// Restore creates the store at dir from a backup written by Backup. dir must be empty or
// absent. The backup is loaded into a sibling directory that is renamed to dir only once
// complete and synced, so a failed or interrupted restore leaves no half-loaded store
// behind under dir.
func Restore(dir string, r io.Reader) error {
	if err := checkEmptyDir(dir); err != nil {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".restore-")
	if err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(tmp)
		}
	}()

	d, err := Open(Options{Dir: tmp, GCInterval: -1})
	if err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	if err := d.bdb.Load(r, restoreMaxPendingWrites); err != nil {
		_ = d.Close()
		return fmt.Errorf("storage: restore: load: %w", err)
	}
	if err := d.bdb.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("storage: restore: sync: %w", err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}

	// Rename will not replace a directory, even an empty one.
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("storage: restore: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("storage: restore: %w", err)
	}
	done = true
	return syncDir(parent)
}

func checkEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("storage: restore: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("storage: restore: %s is not empty", dir)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: sync dir %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storage: sync dir %s: %w", dir, err)
	}
	return nil
}
