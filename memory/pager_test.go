package memory

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

const sampleMaps = `00400000-00c00000 r-xp 00000000 fd:01 1234 /usr/local/bin/kirim
c000000000-c004000000 rw-p 00000000 00:00 0
7f0000000000-7f0000400000 rw-s 00000000 fd:01 2001 /var/lib/kirim/data/000001.sst
7f0000400000-7f0000800000 rw-s 00000000 fd:01 2002 /var/lib/kirim/data/00003.mem
7f0000800000-7f0000801000 rw-s 00000000 fd:01 2003 /var/lib/kirim/data-old/000001.sst
7f0000900000-7f0000a00000 rw-s 00000000 fd:01 2004 /var/lib/kirim/data/000002.sst (deleted)
7f0000a00000-7f0000b00000 rw-s 00000000 fd:01 2005 /var/lib/kirim/data/with space.vlog
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
`

// TestPagerTick: over budget, every file mapped from under the data directory is paged
// out, nothing else (the binary, the heap, a sibling directory sharing its prefix);
// at or under budget nothing is; a kernel that cannot page out stops the Pager.
func TestPagerTick(t *testing.T) {
	under := []mapping{
		{0x7f0000000000, 0x7f0000400000, "/var/lib/kirim/data/000001.sst"},
		{0x7f0000400000, 0x7f0000800000, "/var/lib/kirim/data/00003.mem"},
		{0x7f0000900000, 0x7f0000a00000, "/var/lib/kirim/data/000002.sst (deleted)"},
		{0x7f0000a00000, 0x7f0000b00000, "/var/lib/kirim/data/with space.vlog"},
	}
	tests := []struct {
		name    string
		dir     string
		rss     int
		failing error
		want    []mapping
		asked   uint64
		err     bool
	}{
		{"over budget", "/var/lib/kirim/data", 101, nil, under, 0xa00000, false},
		{"trailing slash", "/var/lib/kirim/data/", 150, nil, under, 0xa00000, false},
		{"at budget", "/var/lib/kirim/data", 100, nil, nil, 0, false},
		{"under budget", "/var/lib/kirim/data", 40, nil, nil, 0, false},
		{"another directory", "/srv/kirim", 150, nil, nil, 0, false},
		{"unsupported", "/var/lib/kirim/data", 150, errPageOutUnsupported, under[:1], 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []mapping
			p := &Pager{Dir: tc.dir, BudgetMB: 100,
				rss:  func() int { return tc.rss },
				maps: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(sampleMaps)), nil },
				pageOut: func(addr, n uintptr) error {
					got = append(got, mapping{start: addr, end: addr + n})
					return tc.failing
				},
			}
			p.defaults()
			asked, err := p.tick()
			if (err != nil) != tc.err || tc.err && !errors.Is(err, errPageOutUnsupported) {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if asked != tc.asked {
				t.Fatalf("asked about %#x bytes, want %#x", asked, tc.asked)
			}
			want := make([]mapping, len(tc.want))
			for i, m := range tc.want {
				want[i] = mapping{start: m.start, end: m.end}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("paged out %x, want %x", got, want)
			}
		})
	}
}

func TestMappedUnderRefusesBadRanges(t *testing.T) {
	for _, line := range []string{
		"7f00-zz rw-s 00000000 fd:01 1 /d/1.sst",
		"7f0000 rw-s 00000000 fd:01 1 /d/1.sst",
		"7f10-7f00 rw-s 00000000 fd:01 1 /d/1.sst",
	} {
		if _, err := mappedUnder(strings.NewReader(line+"\n"), "/d"); err == nil {
			t.Errorf("%q: accepted", line)
		}
	}
}
