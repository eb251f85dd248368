package storage

import (
	"bytes"
	"sync"
)

// cachedPrefixes are the record types commit fns read back soon after writing them: a
// message record through its claim, send, finish and statuses, the wamid index, the
// ledger's balances, chain head, volume counters and holds. Badger answers a read by
// looking in every memtable and every level, even after finding a version, and a record
// rewritten at each state has a version in several of them: in dispatch those reads
// were an eighth of the CPU.
var cachedPrefixes = []string{PrefixMessage, PrefixWAMID, PrefixLedgerBalance, PrefixLedgerMeta, PrefixLedgerVolume, PrefixLedgerHold}

// hotCacheEntries bounds the cache: about 4 MB of records of a few hundred bytes, the
// last few seconds of a busy number's messages.
const hotCacheEntries = 16384

func cached(key []byte) bool {
	for _, p := range cachedPrefixes {
		if bytes.HasPrefix(key, []byte(p)) {
			return true
		}
	}
	return false
}

// hotCache holds the latest value the committer wrote for keys of cachedPrefixes, so
// commit fns read them without walking the LSM tree. Only the committer writes through
// Commit, so what it last applied is what the next commit fn would read; values are
// put when a fn's writes join the group's transaction and dropped if that transaction
// fails. Only commit fns read it (Views keep Badger's snapshots). Evicts the oldest
// insertion once full.
type hotCache struct {
	mu   sync.Mutex
	m    map[string][]byte
	ring []string // insertion order; "" marks a free or dropped slot
	next int
}

func newHotCache(n int) *hotCache {
	return &hotCache{m: make(map[string][]byte, n), ring: make([]string, n)}
}

// get returns the cached value (shared: callers must not change it).
func (c *hotCache) get(key []byte) ([]byte, bool) {
	c.mu.Lock()
	v, ok := c.m[string(key)]
	c.mu.Unlock()
	return v, ok
}

// put caches value, which must not change afterwards.
func (c *hotCache) put(key, value []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[string(key)]; ok {
		c.m[string(key)] = value
		return
	}
	if old := c.ring[c.next]; old != "" {
		delete(c.m, old)
	}
	k := string(key)
	c.ring[c.next] = k
	c.next = (c.next + 1) % len(c.ring)
	c.m[k] = value
}

func (c *hotCache) drop(key []byte) {
	c.mu.Lock()
	delete(c.m, string(key))
	c.mu.Unlock()
}

func (c *hotCache) clear() {
	c.mu.Lock()
	clear(c.m)
	clear(c.ring)
	c.mu.Unlock()
}

// size is the number of cached keys, for tests.
func (c *hotCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
