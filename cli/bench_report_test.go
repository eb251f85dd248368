package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchGoal(t *testing.T) {
	for _, tc := range []struct {
		goal *benchGoal
		v    float64
		want bool
		text string
	}{
		{atLeast(20000), 20000, true, ">= 20000"},
		{atLeast(20000), 19999.5, false, ">= 20000"},
		{below(15), 14.9, true, "< 15"},
		{below(15), 15, false, "< 15"},
		{atMost(60), 60, true, "<= 60"},
		{atMost(60), 60.1, false, "<= 60"},
		{exactly(0), 0, true, "= 0"},
		{exactly(0), 1, false, "= 0"},
		{atLeast(0.9), 0.9, true, ">= 0.9"},
		{within(80, 0.01), 79.2, true, "80 ±1%"},
		{within(80, 0.01), 80.8, true, "80 ±1%"},
		{within(80, 0.01), 79.19, false, "80 ±1%"},
		{within(80, 0.01), 80.81, false, "80 ±1%"},
		{&benchGoal{Op: "~", Value: 1}, 1, false, "~ 1"},
	} {
		if got := tc.goal.holds(tc.v); got != tc.want {
			t.Errorf("%s holds(%v) = %v, want %v", tc.goal, tc.v, got, tc.want)
		}
		if s := tc.goal.String(); s != tc.text {
			t.Errorf("goal text %q, want %q", s, tc.text)
		}
	}
}

func TestBenchFigureMet(t *testing.T) {
	f64 := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name string
		f    benchFigure
		want bool
	}{
		{"no goal", benchFigure{Value: 1}, false},
		{"value meets", benchFigure{Value: 21000, Goal: atLeast(20000)}, true},
		{"range inside", benchFigure{Value: 79.5, Max: f64(80.4), Goal: within(80, 0.01)}, true},
		{"range bottom outside", benchFigure{Value: 0, Max: f64(80), Goal: within(80, 0.01)}, false},
		{"range top outside", benchFigure{Value: 80, Max: f64(81), Goal: within(80, 0.01)}, false},
		{"incomplete", benchFigure{Value: 90, Goal: below(128), Incomplete: "cut at its cap"}, false},
	} {
		if got := tc.f.met(); got != tc.want {
			t.Errorf("%s: met %v, want %v", tc.name, got, tc.want)
		}
	}
}

// sampleReport is a report as a run would leave it, without running one.
func sampleReport() *benchReport {
	top := 80.3
	r := &benchReport{Settings: benchSettings{CPUs: 2, Clients: 64, Accepts: 100000, Sustain: "1m0s", Window: "10s", Campaign: 100000, DataDir: "/tmp/x"},
		Ceilings: &benchCeilings{LoopbackHTTP: 50000, GroupCommit: 40000}}
	r.section("accepts", "POST /v1/messages")
	r.add(benchFigure{ID: "accepts_per_second", Label: "accepts", Value: 22000, Unit: "/s", Goal: atLeast(goalAccepts),
		Ratios: map[string]float64{"group_commit": 0.55, "loopback_http": 0.44}})
	r.add(benchFigure{ID: "accept_p99_ms", Label: "latency p99", Value: 17.26, Unit: "ms", Digits: 1, Goal: below(goalAcceptP99), Note: "p50 3.0 ms"})
	r.add(benchFigure{ID: "loadgen_cpu_us", Label: "load generator CPU per accept", Value: 31, Unit: "us"})
	r.section("dispatch", "dispatch")
	r.add(benchFigure{ID: "dispatch_sixteen_per_number", Label: "sixteen numbers", Value: 79.6, Max: &top, Unit: "msg/s", Digits: 2,
		Goal: within(goalSixteenRate, goalSixteenSlack)})
	r.add(benchFigure{ID: "rss_campaign_mb", Label: "RSS during the campaign", Value: 100, Unit: "MB", Goal: below(goalRSS),
		Incomplete: "5 of 10 sent when its 1m0s cap passed"})
	return r
}

func TestBenchReportText(t *testing.T) {
	r := sampleReport()
	if r.Targets != 4 || r.Met != 2 {
		t.Fatalf("targets %d met %d, want 4 and 2", r.Targets, r.Met)
	}
	var out bytes.Buffer
	if err := r.writeText(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"kirim bench: 64 clients, 2 CPUs, data in /tmp/x\n",
		"  bare loopback HTTP round trip ",
		"POST /v1/messages\n",
		"      22000 /s        >= 20000       met     0.55 of group commit, 0.44 of loopback HTTP\n",
		"        17.3 ms        < 15           NOT MET p50 3.0 ms\n",
		"          31 us\n",
		" 79.60-80.30 msg/s     80 ±1%         met\n",
		"         100 MB        < 128          NOT MET incomplete: 5 of 10 sent when its 1m0s cap passed\n",
		"targets met: 2 of 4 (NOT MET: latency p99; RSS during the campaign)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the text lacks %q:\n%s", want, text)
		}
	}
	// A figure without a goal has no verdict.
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "load generator") && strings.Contains(line, "met") {
			t.Errorf("a figure without a goal has a verdict: %q", line)
		}
	}
	r.Error = "bench: four numbers: n3 ran dry during the measurement"
	out.Reset()
	if err := r.writeText(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "stopped early: bench: four numbers: n3 ran dry") {
		t.Errorf("the text lacks the error:\n%s", out.String())
	}
}

// TestBenchReportJSON: the JSON holds every figure with its goal and verdict, and says
// what the text says.
func TestBenchReportJSON(t *testing.T) {
	r := sampleReport()
	var out bytes.Buffer
	if err := r.writeJSON(&out); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Settings map[string]any     `json:"settings"`
		Ceilings map[string]float64 `json:"ceilings"`
		Figures  []struct {
			ID    string   `json:"id"`
			Label string   `json:"label"`
			Value float64  `json:"value"`
			Max   *float64 `json:"max"`
			Goal  *struct {
				Op        string  `json:"op"`
				Value     float64 `json:"value"`
				Tolerance float64 `json:"tolerance"`
			} `json:"goal"`
			Met *bool `json:"met"`
		} `json:"figures"`
		Targets int `json:"targets"`
		Met     int `json:"targets_met"`
	}
	if !strings.Contains(out.String(), `"op": ">="`) {
		t.Errorf("goals are escaped:\n%s", out.String())
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if got.Targets != 4 || got.Met != 2 || got.Ceilings["group_commit_writes_per_second"] != 40000 || got.Settings["sustain"] != "1m0s" {
		t.Fatalf("report %+v", got)
	}
	var text bytes.Buffer
	if err := r.writeText(&text); err != nil {
		t.Fatal(err)
	}
	met := 0
	for i, f := range got.Figures {
		want := r.Figures[i]
		if f.ID != want.ID || f.Value != want.Value || (f.Goal == nil) != (want.Goal == nil) || (f.Met == nil) != (want.Goal == nil) {
			t.Errorf("figure %d: %+v, want %+v", i, f, want)
			continue
		}
		if f.Met == nil {
			continue
		}
		verdict := "NOT MET"
		if *f.Met {
			verdict, met = "met", met+1
		}
		// The text's line of the figure gives the same verdict.
		line := want.line()
		said := strings.Contains(line, " "+verdict+" ") || strings.HasSuffix(line, " "+verdict+"\n")
		if !strings.Contains(text.String(), line) || !said {
			t.Errorf("figure %s: the text line %q does not say %s", f.ID, line, verdict)
		}
	}
	if met != got.Met {
		t.Errorf("%d figures met, the report says %d", met, got.Met)
	}
	if f := got.Figures[3]; f.Max == nil || *f.Max != 80.3 || f.Goal.Op != "within" || f.Goal.Tolerance != 0.01 {
		t.Errorf("range figure %+v", f)
	}
}

func TestBytesPerMessage(t *testing.T) {
	per, parts := bytesPerMessage(map[string]int64{"m/": 3000, "mk/": 1000, "x/": 0, "lt/": 4, "lh/": 1996}, 10)
	if per != 600 || len(parts) != 3 || parts["m/"] != 300 {
		t.Fatalf("per %v parts %v", per, parts)
	}
	if s := topParts(parts, 2); s != "m/ 300, lh/ 200" {
		t.Fatalf("top parts %q", s)
	}
	if per, parts := bytesPerMessage(map[string]int64{"m/": 1}, 0); per != 0 || parts != nil {
		t.Fatalf("no messages: %v %v", per, parts)
	}
}
