package storage

import (
	"bytes"
	"errors"
	"syscall"
	"unsafe"
)

// inotifyWatch reads IN_CREATE events of the data directory without blocking.
type inotifyWatch struct {
	fd  int
	buf []byte
}

// watchCreations watches dir with inotify, or falls back to listing it when the kernel
// refuses (no inotify instances left).
func watchCreations(dir string) creationWatch {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return listing{}
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
		syscall.Close(fd)
		return listing{}
	}
	return &inotifyWatch{fd: fd, buf: make([]byte, 16<<10)}
}

func (w *inotifyWatch) created() ([]string, bool, error) {
	var names []string
	for {
		n, err := syscall.Read(w.fd, w.buf)
		if errors.Is(err, syscall.EAGAIN) {
			return names, true, nil
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&w.buf[off]))
			if ev.Mask&syscall.IN_Q_OVERFLOW != 0 {
				// Events were dropped: drain the rest and let the caller list.
				for {
					if _, err := syscall.Read(w.fd, w.buf); err != nil {
						break
					}
				}
				return nil, false, nil
			}
			start := off + syscall.SizeofInotifyEvent
			end := start + int(ev.Len)
			if end > n {
				return nil, false, nil
			}
			if name := bytes.TrimRight(w.buf[start:end], "\x00"); len(name) > 0 {
				names = append(names, string(name))
			}
			off = end
		}
	}
}

func (w *inotifyWatch) close() error { return syscall.Close(w.fd) }
