package storage

import (
	"bytes"
	"sync/atomic"
)

// writeCounter counts the bytes of keys and values committed, by key prefix. What a
// record type writes per message decides how much Badger must flush, compact and keep
// mapped, so the counts tell where the storage cost of a workload goes.
type writeCounter struct {
	by    map[string]*atomic.Int64 // one per entry of Prefixes; never changed after init
	other atomic.Int64
}

func newWriteCounter() *writeCounter {
	w := &writeCounter{by: make(map[string]*atomic.Int64, len(Prefixes))}
	for _, p := range Prefixes {
		w.by[p] = new(atomic.Int64)
	}
	return w
}

// add counts n bytes written under key. Every prefix ends at its first '/'.
func (w *writeCounter) add(key []byte, n int) {
	if i := bytes.IndexByte(key, '/'); i >= 0 {
		if c, ok := w.by[string(key[:i+1])]; ok {
			c.Add(int64(n))
			return
		}
	}
	w.other.Add(int64(n))
}

// snapshot returns the non-zero counts; keys outside every prefix count under "other".
func (w *writeCounter) snapshot() map[string]int64 {
	m := make(map[string]int64)
	for p, c := range w.by {
		if n := c.Load(); n > 0 {
			m[p] = n
		}
	}
	if n := w.other.Load(); n > 0 {
		m["other"] = n
	}
	return m
}
