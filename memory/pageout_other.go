//go:build !linux

package memory

func pageOut(addr, length uintptr) error { return errPageOutUnsupported }
