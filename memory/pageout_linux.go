package memory

import (
	"errors"
	"syscall"
)

// madvPageout is MADV_PAGEOUT (Linux 5.4): reclaim the range's pages, writing dirty
// file pages back first; never discards data.
const madvPageout = 21

func pageOut(addr, length uintptr) error {
	_, _, e := syscall.Syscall(syscall.SYS_MADVISE, addr, length, madvPageout)
	switch {
	case e == 0:
		return nil
	case e == syscall.ENOMEM:
		// Part of the range was unmapped since it was read (Badger closed a table): the
		// rest was still handled.
		return nil
	case e == syscall.EINVAL:
		return errors.Join(errPageOutUnsupported, e)
	}
	return e
}
