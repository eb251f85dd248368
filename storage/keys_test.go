package storage

import (
	"bytes"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPrefixesDisjoint(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Prefixes {
		if !strings.HasSuffix(p, "/") {
			t.Errorf("prefix %q does not end with /", p)
		}
		if seen[p] {
			t.Errorf("prefix %q declared twice", p)
		}
		seen[p] = true
	}
	for _, a := range Prefixes {
		for _, b := range Prefixes {
			if a != b && strings.HasPrefix(b, a) {
				t.Errorf("prefix %q is a prefix of %q: a scan of one would read the other", a, b)
			}
		}
	}
	if !bytes.HasPrefix(KeySchemaVersion, []byte(PrefixMeta)) {
		t.Errorf("KeySchemaVersion %q outside %q", KeySchemaVersion, PrefixMeta)
	}
}

func TestKeyParts(t *testing.T) {
	k := Key(PrefixQueue, Str("628123"), U64(42), Str("msg_1"))
	want := append([]byte("mq/628123\x00"), 0, 0, 0, 0, 0, 0, 0, 42)
	want = append(want, "msg_1\x00"...)
	if !bytes.Equal(k, want) {
		t.Fatalf("Key = %q, want %q", k, want)
	}
	rest := k[len(PrefixQueue):]
	num, rest, ok := ParseStr(rest)
	if !ok || num != "628123" {
		t.Fatalf("ParseStr = %q %v", num, ok)
	}
	due, rest, ok := ParseU64(rest)
	if !ok || due != 42 {
		t.Fatalf("ParseU64 = %d %v", due, ok)
	}
	id, rest, ok := ParseStr(rest)
	if !ok || id != "msg_1" || len(rest) != 0 {
		t.Fatalf("ParseStr = %q %v rest %q", id, ok, rest)
	}
	if _, _, ok := ParseU64([]byte{1, 2}); ok {
		t.Error("ParseU64 accepted 2 bytes")
	}
	if _, _, ok := ParseStr([]byte("no separator")); ok {
		t.Error("ParseStr accepted a part without separator")
	}
}

func TestKeyOrder(t *testing.T) {
	tests := []struct {
		name string
		a, b []byte // a must sort before b
	}{
		{"u64 numeric", U64(255), U64(256)},
		{"u64 zero", U64(0), U64(1)},
		{"str shorter first", Str("ab"), Str("abc")},
		{"str then part", Key("", Str("ab"), U64(9)), Key("", Str("abc"), U64(0))},
		{"str byte order", Str("a"), Str("b")},
		{"str with nul after plain", Str("a"), Str("a\x00")},
		{"str nul before 0x01", Str("a\x00"), Str("a\x01")},
		{"str 0x01 before 0x02", Str("a\x01"), Str("a\x02")},
		{"str nul before anything", Str("a\x00z"), Str("a\x01")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if bytes.Compare(tt.a, tt.b) >= 0 {
				t.Errorf("%q does not sort before %q", tt.a, tt.b)
			}
		})
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct {
		in, want []byte
	}{
		{[]byte("m/"), []byte("m0")},
		{[]byte{'a', 0xFF}, []byte{'b'}},
		{[]byte{0xFF, 0xFF}, nil},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := PrefixEnd(tt.in); !bytes.Equal(got, tt.want) {
			t.Errorf("PrefixEnd(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	in := []byte("x/")
	PrefixEnd(in)
	if string(in) != "x/" {
		t.Errorf("PrefixEnd modified its argument: %q", in)
	}
}

func FuzzStr(f *testing.F) {
	for _, s := range []string{"", "a", "628123456789", "a\x00b", "\x01", "\x00\x00\x01", "idem-key-\xff"} {
		f.Add(s, "b")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ea := Str(a)
		got, rest, ok := ParseStr(append(ea, 'z'))
		if !ok || got != a || string(rest) != "z" {
			t.Fatalf("round trip %q: got %q %v rest %q", a, got, ok, rest)
		}
		eb := Str(b)
		if c, want := bytes.Compare(ea, eb), strings.Compare(a, b); c != want {
			t.Fatalf("order of %q, %q: encoded %d, strings %d", a, b, c, want)
		}
		// Any input must parse without panicking.
		_, _, _ = ParseStr([]byte(a))
	})
}

func TestNewIDFormat(t *testing.T) {
	id := NewID("msg", time.UnixMilli(1_700_000_000_000))
	if !strings.HasPrefix(id, "msg_") || len(id) != len("msg_")+idLen {
		t.Fatalf("id %q: want msg_ and %d characters", id, idLen)
	}
	for _, c := range id[4:] {
		if !strings.ContainsRune(crockford, c) {
			t.Fatalf("id %q has %q outside Crockford base32", id, c)
		}
	}
	// 1_700_000_000_000 ms is 0x18BCFE56800: the first 10 characters encode the time.
	if got := id[4:14]; got != "01HF7YAT00" {
		t.Errorf("time part = %s, want 01HF7YAT00", got)
	}
	if id := NewID("", time.UnixMilli(0)); len(id) != idLen {
		t.Errorf("id without prefix %q", id)
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := 0; i < 2000; i++ {
		// Several ids per millisecond exercise the in-millisecond increment.
		ids = append(ids, NewID("e", base.Add(time.Duration(i/7)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids made in time order do not sort in time order")
	}
	later := NewID("e", base.Add(time.Hour))
	earlier := NewID("e", base.Add(-time.Hour))
	if !(earlier < ids[0] && ids[len(ids)-1] < later) {
		t.Errorf("ids do not sort by their time: %s %s %s", earlier, ids[0], later)
	}
}

func TestNewIDConcurrentUnique(t *testing.T) {
	const workers, each = 16, 2000
	now := time.Now()
	out := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				// The same instant for everyone: all uniqueness comes from the increment.
				out[w] = append(out[w], NewID("h", now))
			}
		}()
	}
	wg.Wait()
	seen := make(map[string]bool, workers*each)
	for _, ids := range out {
		if !sort.StringsAreSorted(ids) {
			t.Error("one goroutine's ids are not increasing")
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
		}
	}
}
