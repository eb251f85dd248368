package cli

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestSpread(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		weights []int
		counts  []int
		longest int // the longest run of one number
	}{
		{"even", 8, []int{1, 1}, []int{4, 4}, 1},
		{"three to one", 8, []int{3, 1}, []int{6, 2}, 3},
		{"exact over the weights' sum", 10, []int{5, 3, 2}, []int{5, 3, 2}, 2},
		{"proportional beyond it", 20, []int{5, 3, 2}, []int{10, 6, 4}, 2},
		{"zero weight gets none", 6, []int{2, 0, 1}, []int{4, 0, 2}, 2},
		{"all zero: round robin", 6, []int{0, 0, 0}, []int{2, 2, 2}, 1},
	} {
		got := spread(tc.n, tc.weights)
		counts := make([]int, len(tc.weights))
		longest, run := 0, 0
		for i, k := range got {
			counts[k]++
			if i > 0 && got[i-1] == k {
				run++
			} else {
				run = 1
			}
			longest = max(longest, run)
		}
		for i := range counts {
			if counts[i] != tc.counts[i] {
				t.Errorf("%s: counts %v, want %v", tc.name, counts, tc.counts)
				break
			}
		}
		if longest > tc.longest {
			t.Errorf("%s: %v has a run of %d, want at most %d", tc.name, got, longest, tc.longest)
		}
	}
}

func TestBacklogNeeds(t *testing.T) {
	b := &bench{sustain: 60 * time.Second, window: 10 * time.Second}
	need := backlogNeeds(b.plans())
	if len(need) != len(benchNumbers) {
		t.Fatalf("%d needs for %d numbers", len(need), len(benchNumbers))
	}
	// Each phase drains over its time, the warm-up and the start (3 s), 5 % more.
	sixteen, held60, held10 := 1092, 67, 14 // ceil(80*13*1.05), ceil(1*63*1.05), ceil(1*13*1.05)
	for i, want := range map[int]int{
		0:  sixteen + 66150 + 13650, // at 1,000 msg/s for 63 s and for 13 s
		1:  sixteen + held60 + 13650,
		3:  sixteen + held60 + 13650,
		4:  sixteen + held60 + held10,
		15: sixteen + held60 + held10,
	} {
		if need[i] != want {
			t.Errorf("%s needs %d, want %d", benchNumbers[i], need[i], want)
		}
	}
	// Every measured number of every phase has what the phase checks before it runs.
	left := append([]int(nil), need...)
	for _, p := range b.plans() {
		for _, i := range p.measured {
			if want := int(float64(p.mps[i]) * (p.d + dispatchWarm + time.Second).Seconds()); left[i] < want {
				t.Errorf("%s: %s has %d left, the phase needs %d", p.name, benchNumbers[i], left[i], want)
			}
		}
		for i, r := range p.mps {
			left[i] -= int(float64(r) * (p.d + dispatchWarm + startSlack).Seconds())
		}
	}
}

func TestDeficits(t *testing.T) {
	lack, total := deficits([]int{100, 50, 10}, []int{40, 60, 10})
	if total != 60 || lack[0] != 60 || lack[1] != 0 || lack[2] != 0 {
		t.Fatalf("lack %v total %d", lack, total)
	}
}

func TestParseQueueDepths(t *testing.T) {
	var full strings.Builder
	full.WriteString("# HELP kirim_queue_messages Messages queued.\n# TYPE kirim_queue_messages gauge\n")
	for i, a := range benchNumbers {
		full.WriteString(`kirim_queue_messages{number="` + a + `"} ` + []string{"0", "12", "1e+06"}[i%3] + "\n")
	}
	full.WriteString("kirim_tier_used_recipients{number=\"n1\"} 5\n")
	for _, tc := range []struct {
		name, text, err string
	}{
		{"every number", full.String(), ""},
		{"one missing", strings.Replace(full.String(), `{number="n7"}`, `{number="x"}`, 1), "no kirim_queue_messages for n7"},
		{"not a number", strings.Replace(full.String(), `{number="n2"} 12`, `{number="n2"} many`, 1), "queue depth of n2"},
	} {
		got, err := parseQueueDepths(strings.NewReader(tc.text))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got[0] != 0 || got[1] != 12 || got[2] != 1000000 || len(got) != len(benchNumbers) {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}

// TestRSSWatch reads this process: a reading at the start, at each stage's end and at
// the end (the ticker, an hour away, never fires).
func TestRSSWatch(t *testing.T) {
	w := watchRSS(os.Getpid(), time.Hour, "burst")
	w.next("settle")
	peaks := w.end()
	if p := peaks["burst"]; p.total <= 0 || p.anon <= 0 || p.anon > p.total {
		t.Fatalf("burst %+v", p)
	}
	if peaks["settle"].total <= 0 || len(peaks) != 2 {
		t.Fatalf("peaks %+v", peaks)
	}
	if again := w.end(); again["settle"] != peaks["settle"] {
		t.Fatalf("a second end gave %+v, then %+v", peaks, again)
	}
	// A process that is gone leaves no reading.
	gone := watchRSS(1<<30, time.Hour, "burst")
	if p := gone.end(); len(p) != 0 {
		t.Fatalf("a missing process read %+v", p)
	}
}

func TestMemberCSV(t *testing.T) {
	var sb strings.Builder
	if err := memberCSV(&sb, 3); err != nil {
		t.Fatal(err)
	}
	want := "phone,name\r\n+6281300000000,Pelanggan 0\r\n+6281300000001,Pelanggan 1\r\n+6281300000002,Pelanggan 2\r\n"
	if sb.String() != want {
		t.Fatalf("csv %q, want %q", sb.String(), want)
	}
}
