package storage

// slab is the committer's scratch memory for one group: the copies of the keys and
// values its commit functions write and read, and their lists of writes. Badger keeps
// references to a transaction's keys and values until the transaction commits, and a
// group's transactions all commit before the next group starts, so the committer resets
// the slab between groups and a group's copies cost no allocation of their own once the
// slab has grown to the size of a busy group. An accept copies about 20 keys and values;
// one allocation each was the largest share of the commit path's garbage.
//
// Only the committer goroutine uses it. Nothing copied into it may leave the group:
// Get answers with its own copy (op.read).
type slab struct {
	chunks [][]byte // chunks[:used] hold this group's copies; the rest are spare
	used   int
	off    int // bytes taken in chunks[used-1]
	ops    [][]op
	nops   int // ops[:nops] are lent to this group's overlays
}

const (
	// slabChunk is the size of one chunk; a pair larger than slabLarge gets its own
	// allocation so a rare big value does not waste most of a chunk.
	slabChunk = 64 << 10
	slabLarge = 8 << 10
	// slabKeep bounds the chunks kept between groups (4 MiB), and slabKeepOps the write
	// lists, so a group that once held a huge batch does not pin its memory for good.
	slabKeep    = 64
	slabKeepOps = 1024
)

// pair copies key and value next to each other, like the package's pair, into the
// slab: the value is never nil, even when empty.
func (s *slab) pair(key, value []byte) (k, v []byte) {
	n := len(key) + len(value)
	if n > slabLarge {
		return pair(key, value)
	}
	if s.used == 0 || s.off+n > len(s.chunks[s.used-1]) {
		if s.used == len(s.chunks) {
			s.chunks = append(s.chunks, make([]byte, slabChunk))
		}
		s.used++
		s.off = 0
	}
	b := s.chunks[s.used-1][s.off : s.off+n : s.off+n]
	s.off += n
	copy(b, key)
	copy(b[len(key):], value)
	return b[:len(key):len(key)], b[len(key):]
}

// opList lends an empty list of writes with room for overlayLinearOps.
func (s *slab) opList() []op {
	if s.nops == len(s.ops) {
		s.ops = append(s.ops, make([]op, 0, overlayLinearOps))
	}
	l := s.ops[s.nops][:0]
	s.nops++
	return l
}

// reset takes back everything lent since the last reset. It clears the lent lists so
// the slab does not keep the last group's large copies alive through them.
func (s *slab) reset() {
	for i := range s.ops[:s.nops] {
		clear(s.ops[i][:cap(s.ops[i])])
	}
	if len(s.ops) > slabKeepOps {
		clear(s.ops[slabKeepOps:])
		s.ops = s.ops[:slabKeepOps]
	}
	s.nops = 0
	if len(s.chunks) > slabKeep {
		clear(s.chunks[slabKeep:])
		s.chunks = s.chunks[:slabKeep]
	}
	s.used, s.off = 0, 0
}
