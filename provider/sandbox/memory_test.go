package sandbox

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestRecordMemory checks that the send log stays compact: a million records with
// 12-byte callback data must fit in well under 100 MB.
func TestRecordMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a million records")
	}
	const n = 1_000_000
	const budget = 100 << 20
	r := newRecorder()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	at := t0.UnixNano()
	for i := 0; i < n; i++ {
		r.add(record{at: at + int64(i)*int64(time.Millisecond), wa: 6281000000000 + uint64(i), wamid: uint64(i + 1),
			typ: typeIndex("template")}, fmt.Sprintf("cb-%09d", i), "hello_world", "en_US")
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := after.HeapAlloc - before.HeapAlloc
	t.Logf("%d records: %.1f MB heap (%.0f bytes each)", n, float64(used)/(1<<20), float64(used)/n)
	if used > budget {
		t.Fatalf("%d records use %d bytes, over %d", n, used, budget)
	}
	runtime.KeepAlive(r)
}
