package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// restoreMaxPendingWrites bounds the write batches Badger keeps in flight while loading a
// backup, which bounds the memory a restore takes.
const restoreMaxPendingWrites = 64

// maxBackupFrame bounds one frame of a backup file. Badger's stream backup writes frames
// of at most about 100 MiB; the bound keeps a damaged or foreign file from making Load
// allocate whatever its length field says.
const maxBackupFrame = 256 << 20

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
	if err := load(d, r); err != nil {
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

func load(d *DB, r io.Reader) (err error) {
	defer func() {
		// A file that frames correctly can still hold entries Badger chokes on.
		if p := recover(); p != nil {
			err = fmt.Errorf("invalid backup: %v", p)
		}
	}()
	return d.bdb.Load(&frameReader{r: r}, restoreMaxPendingWrites)
}

// frameReader passes a backup file through unchanged while checking its framing (each
// frame is an 8-byte little-endian length, then that many bytes), so Load never sees a
// length beyond maxBackupFrame.
type frameReader struct {
	r      io.Reader
	header [8]byte
	hdrOut int    // bytes of header still to hand out, from the end of header
	body   uint64 // bytes of the current frame's body still to pass through
}

func (f *frameReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.hdrOut == 0 && f.body == 0 {
		n, err := io.ReadFull(f.r, f.header[:])
		switch {
		case n == 0 && errors.Is(err, io.EOF):
			return 0, io.EOF
		case err != nil:
			return 0, fmt.Errorf("invalid backup: truncated frame header: %w", io.ErrUnexpectedEOF)
		}
		size := binary.LittleEndian.Uint64(f.header[:])
		if size > maxBackupFrame {
			return 0, fmt.Errorf("invalid backup: frame of %d bytes exceeds %d", size, maxBackupFrame)
		}
		f.hdrOut, f.body = len(f.header), size
	}
	if f.hdrOut > 0 {
		n := copy(p, f.header[len(f.header)-f.hdrOut:])
		f.hdrOut -= n
		return n, nil
	}
	if uint64(len(p)) > f.body {
		p = p[:f.body]
	}
	n, err := f.r.Read(p)
	f.body -= uint64(n)
	if errors.Is(err, io.EOF) && f.body > 0 {
		err = fmt.Errorf("invalid backup: truncated frame: %w", io.ErrUnexpectedEOF)
	}
	if errors.Is(err, io.EOF) {
		// The frame is complete; the next Read reports the end of the file, if it is.
		err = nil
	}
	return n, err
}
