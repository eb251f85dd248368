package config

import "math"

// The parts of DerivedMemoryLimitMB, in MiB. kirimHeapMB is Kirim's own heap and the
// runtime's overhead beside Badger (a quiet server with the defaults holds about 20).
// builderPool is how many table builders' buffers Badger keeps for reuse: each grows to
// hold a whole flushed memtable, its raw blocks and, with compression, room for the
// compressed copy of each beside them (about 1.9 times the memtable; 0.9 without).
// arenaFactor is a memtable's arena against its size (room for one more transaction).
const (
	kirimHeapMB  = 24
	builderPool  = 8
	arenaFactor  = 1.3
	builderRaw   = 1.0
	builderSqzed = 2.0
)

// DerivedMemoryLimitMB is the default of server.memory_limit_mb for these storage
// settings: the heap Badger may hold live at the peak of sustained writes (memtables,
// the table builders it keeps, the caches) and Kirim's own. The limit keeps the
// garbage a burst leaves from doubling the heap (the runtime otherwise collects when
// the heap reaches twice what was live) without holding it under what is live, where
// it would collect all the time.
func DerivedMemoryLimitMB(s Storage) int {
	builder := builderRaw
	if s.Compression != CompressionNone {
		builder = builderSqzed
	}
	mb := kirimHeapMB +
		float64(s.NumMemtables*s.MemTableMB)*arenaFactor +
		builderPool*builder*float64(s.MemTableMB) +
		float64(s.BlockCacheMB+s.IndexCacheMB)
	return int(math.Ceil(mb))
}
