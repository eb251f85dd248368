package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kirim/app"
	"kirim/app/apptest"
)

// TestCampaignWatch runs `kirim campaign watch` on a real campaign of the example
// configuration: it ends only when every recipient has its last status and the spend
// is final, and its plain lines (stderr is not a terminal) never show a count going
// down.
func TestCampaignWatch(t *testing.T) {
	m, a := apptest.Example(t)
	ctx := context.Background()
	const n = 40
	var csv strings.Builder
	csv.WriteString("phone,name\n")
	for i := range n {
		fmt.Fprintf(&csv, "+62812990%05d,Pelanggan %d\n", i, i)
	}
	file := filepath.Join(t.TempDir(), "pelanggan.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	server := "http://" + m.APIAddr
	var out, errOut bytes.Buffer
	if err := Run(ctx, []string{"import", file, "--list", "Watch", "--server", server, "--key", app.DemoKey}, &out, &errOut); err != nil {
		t.Fatalf("import: %v %s", err, errOut.String())
	}
	var lists struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	a.Must(http.StatusOK, "GET", "/v1/lists", nil, &lists)
	var created struct {
		ID string `json:"id"`
	}
	a.Must(http.StatusCreated, "POST", "/v1/campaigns", map[string]any{"name": "Watch", "list_ids": []string{lists.Data[0].ID},
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &created)
	a.Must(http.StatusOK, "POST", "/v1/campaigns/"+created.ID+"/launch", nil, nil)

	out.Reset()
	errOut.Reset()
	if err := Run(ctx, []string{"campaign", "watch", created.ID, "--every", "20ms", "--server", server, "--key", app.DemoKey}, &out, &errOut); err != nil {
		t.Fatalf("watch: %v %s", err, errOut.String())
	}
	final := out.String()
	if !strings.Contains(final, fmt.Sprintf("100%% %d/%d", n, n)) || !strings.Contains(final, "completed") || strings.Contains(final, "awaiting") {
		t.Fatalf("final line %q: want every recipient settled", final)
	}
	// The campaign's own answer agrees: nothing left in flight, spend final.
	var v watchedCampaign
	a.Must(http.StatusOK, "GET", "/v1/campaigns/"+created.ID, nil, &v)
	if v.unsettled() != 0 || !strings.Contains(final, "spend "+v.Progress.Spend.Display+" of") {
		t.Fatalf("after watch: %+v, line %q", v.Progress, final)
	}
	checkNonDecreasing(t, errOut.String()+final)
}

var countRE = regexp.MustCompile(`(sent|delivered|read|failed) (\d+)`)

// checkNonDecreasing fails if a count in the watch's lines ever goes down.
func checkNonDecreasing(t *testing.T, lines string) {
	t.Helper()
	last := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		for _, m := range countRE.FindAllStringSubmatch(line, -1) {
			v, _ := strconv.Atoi(m[2])
			if v < last[m[1]] {
				t.Fatalf("%s went down from %d to %d:\n%s", m[1], last[m[1]], v, lines)
			}
			last[m[1]] = v
		}
	}
}

func TestProgressLineFitsWidth(t *testing.T) {
	v := &watchedCampaign{ID: "cmp_01", Name: "Promo Desember", State: "running"}
	v.Progress = &watchedProgress{Resolved: true, Recipients: 100000, Counts: map[string]int64{"queued": 50000, "sent": 10000, "delivered": 30000, "read": 9000, "failed": 1000},
		Rate: 80, ETA: "2026-12-04T03:00:00Z"}
	v.Progress.Quoted.Display, v.Progress.Spend.Display = "IDR 51,400,000", "IDR 20,560,000"
	c := countsOf(v)
	if c != (watchCounts{settled: 40000, sent: 49000, delivered: 39000, read: 9000, failed: 1000}) {
		t.Fatalf("counts %+v", c)
	}
	for _, width := range []int{20, 39, 79, 159, 0} {
		line := progressLine(v, c, width)
		if width > 0 && len(line) > width {
			t.Errorf("width %d: %d columns: %q", width, len(line), line)
		}
		if width >= 79 && (!strings.Contains(line, "40%") || !strings.Contains(line, "delivered 39000")) {
			t.Errorf("width %d lost the main figures: %q", width, line)
		}
		if width == 0 && !strings.HasPrefix(line, "[############") {
			t.Errorf("unlimited line without its bar: %q", line)
		}
	}
	// Messages unknown after a crash say why the run waits, and until when.
	v.Progress.Unknown, v.Progress.UnknownSettleAt = 3, "2026-12-04T03:00:00Z"
	at, _ := time.Parse(time.RFC3339, v.Progress.UnknownSettleAt)
	if line := progressLine(v, c, 79); !strings.Contains(line, "3 unknown after a crash, settled by "+at.Local().Format("15:04:05")) {
		t.Errorf("unknown messages not shown: %q", line)
	}
	// A message moving from sent to failed never lowers what was shown.
	later := c
	later.sent--
	if got := c.max(later); got.sent != c.sent {
		t.Fatalf("max lowered sent: %+v", got)
	}
}
