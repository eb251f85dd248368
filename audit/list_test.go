package audit

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// seed appends one record a minute from start, so record n is at start+(n-1) minutes.
func (f *fixture) seed(recs ...Record) {
	f.t.Helper()
	for i, r := range recs {
		if i > 0 {
			f.clk.Advance(time.Minute)
		}
		f.append(r)
	}
}

func rec(account, act string) Record {
	r := action(act)
	r.Account = account
	return r
}

func seqsOf(recs []Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

func minute(n int) time.Time { return start.Add(time.Duration(n) * time.Minute) }

func TestListFilters(t *testing.T) {
	f := newFixture(t)
	f.seed(
		rec("acme", "topup.confirm"),   // 1 at minute 0
		rec("acme", "topup.reject"),    // 2
		rec("", "number.register"),     // 3
		rec("globex", "topup.confirm"), // 4
		rec("globex", "key.create"),    // 5
		rec("acme", "topups.export"),   // 6 at minute 5
	)
	cases := []struct {
		name string
		f    Filter
		want []uint64
	}{
		{"everything", Filter{}, []uint64{1, 2, 3, 4, 5, 6}},
		{"account", Filter{Account: "acme"}, []uint64{1, 2, 6}},
		{"unknown account", Filter{Account: "initech"}, nil},
		{"exact action", Filter{Action: "topup.confirm"}, []uint64{1, 4}},
		{"action prefix", Filter{Action: "topup.*"}, []uint64{1, 2, 4}},
		{"prefix without dot", Filter{Action: "topup*"}, []uint64{1, 2, 4, 6}},
		{"any action", Filter{Action: "*"}, []uint64{1, 2, 3, 4, 5, 6}},
		{"account and action", Filter{Account: "globex", Action: "topup.*"}, []uint64{4}},
		{"from", Filter{From: minute(3)}, []uint64{4, 5, 6}},
		{"from between records", Filter{From: minute(2).Add(time.Second)}, []uint64{4, 5, 6}},
		{"to is exclusive", Filter{To: minute(2)}, []uint64{1, 2}},
		{"from and to", Filter{From: minute(1), To: minute(4)}, []uint64{2, 3, 4}},
		{"from, to and account", Filter{Account: "acme", From: minute(1), To: minute(6)}, []uint64{2, 6}},
		{"from after the last", Filter{From: minute(6)}, nil},
		{"to before the first", Filter{To: minute(0)}, nil},
		{"to before from", Filter{From: minute(3), To: minute(2)}, nil},
		{"cursor", Filter{Cursor: "4"}, []uint64{4, 5, 6}},
		{"cursor and from", Filter{Cursor: "2", From: minute(3)}, []uint64{4, 5, 6}},
		{"cursor past from", Filter{Cursor: "5", From: minute(1)}, []uint64{5, 6}},
		{"cursor past the end", Filter{Cursor: "7"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, next, err := f.log.List(c.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqsOf(got), c.want) || next != "" {
				t.Fatalf("List = %v, %q; want %v, \"\"", seqsOf(got), next, c.want)
			}
		})
	}
}

func TestListEmptyLog(t *testing.T) {
	f := newFixture(t)
	got, next, err := f.log.List(Filter{Account: "acme", From: start})
	if err != nil || len(got) != 0 || next != "" {
		t.Fatalf("List of an empty log = %v, %q, %v", got, next, err)
	}
}

func TestListPages(t *testing.T) {
	f := newFixture(t)
	var recs []Record
	for i := range 25 {
		acct := "acme"
		if i%2 == 1 {
			acct = "globex"
		}
		recs = append(recs, rec(acct, "message.send"))
	}
	f.seed(recs...)

	cases := []struct {
		name  string
		f     Filter
		pages [][]uint64
	}{
		{"by ten", Filter{Limit: 10}, [][]uint64{span(1, 10), span(11, 20), span(21, 25)}},
		{"ending on the last record", Filter{Limit: 5, Cursor: "16"}, [][]uint64{span(16, 20), span(21, 25)}},
		{"filtered", Filter{Account: "globex", Limit: 5}, [][]uint64{{2, 4, 6, 8, 10}, {12, 14, 16, 18, 20}, {22, 24}}},
		{"default limit", Filter{}, [][]uint64{span(1, 25)}},
		{"limit above the most", Filter{Limit: MaxLimit + 1}, [][]uint64{span(1, 25)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flt := c.f
			for i, want := range c.pages {
				got, next, err := f.log.List(flt)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(seqsOf(got), want) {
					t.Fatalf("page %d = %v, want %v", i, seqsOf(got), want)
				}
				last := i == len(c.pages)-1
				if (next == "") != last {
					t.Fatalf("page %d: next %q, last page %v", i, next, last)
				}
				flt.Cursor = next
			}
		})
	}
}

func TestListStopsAfterScanBound(t *testing.T) {
	f := newFixture(t)
	f.log.maxScan = 4
	var recs []Record
	for i := range 10 {
		act := "message.send"
		if i == 8 {
			act = "key.revoke"
		}
		recs = append(recs, rec("acme", act))
	}
	f.seed(recs...)

	// The only match is record 9: every call reads at most four records, returns what
	// it found and where to go on.
	var pages [][]uint64
	var cursors []string
	flt := Filter{Action: "key.*"}
	for {
		got, next, err := f.log.List(flt)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, seqsOf(got))
		cursors = append(cursors, next)
		if next == "" {
			break
		}
		flt.Cursor = next
	}
	wantPages := [][]uint64{{}, {}, {9}}
	if !slices.EqualFunc(pages, wantPages, slices.Equal) || !slices.Equal(cursors, []string{"5", "9", ""}) {
		t.Fatalf("pages %v cursors %q, want %v and [5 9 \"\"]", pages, cursors, wantPages)
	}
}

func TestListRefusesBadFilters(t *testing.T) {
	f := newFixture(t)
	f.seed(rec("acme", "a"))
	cases := []struct {
		name  string
		f     Filter
		field string
	}{
		{"negative limit", Filter{Limit: -1}, "limit"},
		{"cursor not a number", Filter{Cursor: "abc"}, "cursor"},
		{"cursor zero", Filter{Cursor: "0"}, "cursor"},
		{"wildcard inside", Filter{Action: "topup.*.x"}, "action"},
		{"upper case action", Filter{Action: "Topup"}, "action"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := f.log.List(c.f)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "audit: list: "+c.field+": ") {
				t.Fatalf("List = %v, want ErrInvalid naming %s", err, c.field)
			}
		})
	}
}

// span returns the numbers from a to b.
func span(a, b uint64) []uint64 {
	var out []uint64
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}
