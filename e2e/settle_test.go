package e2e

import (
	"fmt"
	"kirim/internal/kirimtest"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// settlePlan is the shape of TestCampaignSettlesAfterKills: the short form runs in CI,
// KIRIM_E2E_SETTLE_FULL=1 the acceptance (ten kills, 3,000 recipients at 200 msg/s,
// Kirim's default unknown_timeout). KIRIM_E2E_SETTLE_MPS, _N and _KILLS override.
type settlePlan struct {
	kills, n, mps int
	// unknownTimeout is written to the config; "" keeps Kirim's default.
	unknownTimeout string
	// within bounds the time from the last restart to the run's completion.
	within time.Duration
	seed   uint64
}

func settlePlanFor(t *testing.T) settlePlan {
	p := settlePlan{kills: 3, n: 600, mps: 200, unknownTimeout: "3s", within: 30 * time.Second, seed: 20260301}
	if os.Getenv("KIRIM_E2E_SETTLE_FULL") != "" {
		p = settlePlan{kills: 10, n: 3000, mps: 200, within: 2 * time.Minute, seed: 20260301}
	}
	for name, dst := range map[string]*int{"KIRIM_E2E_SETTLE_MPS": &p.mps, "KIRIM_E2E_SETTLE_N": &p.n, "KIRIM_E2E_SETTLE_KILLS": &p.kills} {
		if v := os.Getenv(name); v != "" {
			k, err := strconv.Atoi(v)
			if err != nil || k < 1 {
				t.Fatalf("%s=%q: want a positive number", name, v)
			}
			*dst = k
		}
	}
	if v := os.Getenv("KIRIM_E2E_SETTLE_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("KIRIM_E2E_SETTLE_SEED=%q: %v", v, err)
		}
		p.seed = s
	}
	return p
}

// maxUnsentPerCrash is the documented bound (README, "What Kirim guarantees"): a crash
// leaves unknown only the provider calls under way, and of those only the ones started
// within about 5 ms of the kill (between the in-flight mark and the provider) can have
// been lost: at most 2 per crash up to 400 msg/s, mps/200 above.
func maxUnsentPerCrash(mps int) int { return max(2, mps/200) }

var unknownLogRE = regexp.MustCompile(`now unknown until their webhooks arrive" count=(\d+)`)
var requeuedLogRE = regexp.MustCompile(`queued again" count=(\d+)`)

// TestCampaignSettlesAfterKills kills Kirim with SIGKILL at seeded random moments of a
// campaign, against a standalone sandbox that outlives every kill, and checks that the
// campaign completes soon after the last restart: no recipient got the message twice,
// every recipient is in the report once and settled, and the few sends lost in the
// crashes (in flight, never received) are within the bound and say why.
func TestCampaignSettlesAfterKills(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	plan := settlePlanFor(t)
	rng := rand.New(rand.NewPCG(plan.seed, plan.seed>>1|1))
	c := newCluster(t, "0")
	c.rewriteConfig(`unknown_timeout = "20s"`+"\n", "")
	c.rewriteConfig(`lease_timeout = "30s"`+"\n", "")
	if plan.unknownTimeout != "" {
		c.rewriteConfig("[engine]\n", "[engine]\nunknown_timeout = "+strconv.Quote(plan.unknownTimeout)+"\n")
	}
	c.rewriteConfig("throughput_mps = 1000\n", fmt.Sprintf("throughput_mps = %d\n", plan.mps))
	c.addConfig(`
[[rate_cards]]
effective = 2025-01-01
currency = "IDR"
  [[rate_cards.prices]]
  market = "*"
  category = "utility"
  amounts = [300]
`)
	var procs []*proc
	var kills []time.Time
	startKirim := func() time.Time {
		c.startKirim()
		procs = append(procs, c.kirim)
		return time.Now()
	}
	startKirim()

	csvPath := filepath.Join(c.dir, "settle.csv")
	var sb strings.Builder
	sb.WriteString("phone,name\n")
	for i := 0; i < plan.n; i++ {
		fmt.Fprintf(&sb, "0813%08d,Pelanggan %d\n", i, i)
	}
	if err := os.WriteFile(csvPath, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	list := c.upload("settle", csvPath)
	c.fundAndWait(int64(plan.n)*1000*1_000_000, "E2E-SETTLE")
	var created struct {
		ID string `json:"id"`
	}
	c.must(201, "POST", "/v1/campaigns", map[string]any{"name": "Settle", "template": map[string]string{"name": "hello_world", "language": "en_US"},
		"list_ids": []string{list}}, &created)
	c.must(200, "POST", "/v1/campaigns/"+created.ID+"/launch", nil, nil)

	// Kill i comes when the sandbox has accepted about (i+1)/(kills+1) of the audience,
	// give or take a seeded draw, so the kills spread over the run at random moments.
	sawUnknown := false
	var lastStart time.Time
	for i := 0; i < plan.kills; i++ {
		slot := plan.n / (plan.kills + 1)
		at := slot*(i+1) - slot/2 + rng.IntN(slot)
		kirimtest.WaitFor(t, fmt.Sprintf("kill %d's moment (%d accepted)", i+1, at), 5*time.Minute, func() bool {
			return c.stats().Accepted >= at
		})
		c.kirim.kill9(t)
		kills = append(kills, time.Now())
		lastStart = startKirim()
		// While the unknown messages settle, the progress says how many and until when.
		var p struct {
			State    string `json:"state"`
			Progress struct {
				Unknown         int64  `json:"unknown"`
				UnknownSettleAt string `json:"unknown_settle_at"`
			} `json:"progress"`
		}
		c.get("http://"+c.api+"/v1/campaigns/"+created.ID, &p)
		if p.Progress.Unknown > 0 {
			sawUnknown = true
			if _, err := time.Parse(time.RFC3339, p.Progress.UnknownSettleAt); err != nil {
				t.Errorf("%d unknown with unknown_settle_at %q", p.Progress.Unknown, p.Progress.UnknownSettleAt)
			}
		}
	}
	if c.stats().Accepted >= plan.n {
		t.Logf("the sandbox had every recipient before the last restart; the last kill came late")
	}
	kirimtest.WaitFor(t, "the campaign to complete", plan.within+time.Minute, func() bool {
		return c.campaign(created.ID).State == "completed"
	})
	tookAfterLast := time.Since(lastStart)
	if tookAfterLast > plan.within {
		t.Errorf("completed %v after the last restart, want within %v", tookAfterLast.Round(time.Second), plan.within)
	}

	// Nothing twice at the provider.
	st := c.stats()
	if st.Duplicates.Count != 0 {
		t.Fatalf("the sandbox accepted %d duplicates", st.Duplicates.Count)
	}
	received := c.acceptedByCallback()
	perTo := c.acceptedByRecipient()
	for to, k := range perTo {
		if k != 1 {
			t.Errorf("%s accepted %d times", to, k)
		}
	}

	// Every recipient once in the report, settled; the ones never sent say why.
	rows := c.recipients(created.ID)
	if len(rows) != plan.n {
		t.Fatalf("the report has %d rows, want %d", len(rows), plan.n)
	}
	seen := map[string]bool{}
	var unsent []recipientRow
	for _, r := range rows {
		if seen[r.Phone] {
			t.Errorf("%s twice in the report", r.Phone)
		}
		seen[r.Phone] = true
		switch r.Status {
		case "sent", "delivered", "read":
			if received[r.MessageID] != 1 {
				t.Errorf("%s is %s but the sandbox accepted its message %d times", r.Phone, r.Status, received[r.MessageID])
			}
		case "failed":
			if r.Error == nil || r.Error.Code != -1 || !strings.Contains(r.Error.Title, "may have received it") {
				t.Errorf("%s failed with %+v, want the unknown policy's code -1 and its reason", r.Phone, r.Error)
			}
			if received[r.MessageID] != 0 {
				t.Errorf("%s failed as unknown though the sandbox accepted it (its status never came)", r.Phone)
			}
			unsent = append(unsent, r)
		default:
			t.Errorf("%s ended %s", r.Phone, r.Status)
		}
	}
	if len(perTo) != plan.n-len(unsent) {
		t.Errorf("the sandbox has %d recipients, want %d", len(perTo), plan.n-len(unsent))
	}
	// Each unsent message became unknown at the restart after the kill that lost it.
	perCrash := make([]int, len(kills))
	for _, r := range unsent {
		var m struct {
			History []struct {
				Status string    `json:"status"`
				At     time.Time `json:"at"`
			} `json:"status_history"`
		}
		c.get("http://"+c.api+"/v1/messages/"+r.MessageID, &m)
		for _, h := range m.History {
			if h.Status != "unknown" {
				continue
			}
			k := 0
			for k+1 < len(kills) && !h.At.Before(kills[k+1]) {
				k++
			}
			perCrash[k]++
		}
	}
	for k, n := range perCrash {
		if n > maxUnsentPerCrash(plan.mps) {
			t.Errorf("crash %d lost %d sends, want at most %d", k+1, n, maxUnsentPerCrash(plan.mps))
		}
	}

	// What each restart found (from its log): in flight (unknown) and claimed (queued again).
	var unknowns, requeued []int
	for _, p := range procs[1:] {
		p.mu.Lock()
		logs := p.logs.String()
		p.mu.Unlock()
		u, q := 0, 0
		if m := unknownLogRE.FindStringSubmatch(logs); m != nil {
			u, _ = strconv.Atoi(m[1])
		}
		if m := requeuedLogRE.FindStringSubmatch(logs); m != nil {
			q, _ = strconv.Atoi(m[1])
		}
		unknowns, requeued = append(unknowns, u), append(requeued, q)
	}

	var verify struct {
		OK           bool `json:"ok"`
		ProblemCount int  `json:"problem_count"`
	}
	c.operator().must(200, "GET", "/v1/admin/ledger/verify?account=acme", nil, &verify)
	if !verify.OK || verify.ProblemCount != 0 {
		t.Errorf("ledger verify: %+v", verify)
	}

	// A retry sends the unsent again, warning that the provider may have had them.
	if len(unsent) > 0 {
		var rr struct {
			Requeued int64  `json:"requeued"`
			Warning  string `json:"warning"`
		}
		c.must(200, "POST", "/v1/campaigns/"+created.ID+"/retry", nil, &rr)
		if rr.Requeued != int64(len(unsent)) || !strings.Contains(rr.Warning, "may have received") {
			t.Errorf("retry: %+v, want %d requeued with a warning", rr, len(unsent))
		}
		kirimtest.WaitFor(t, "the retried run to complete", time.Minute, func() bool {
			p := c.campaign(created.ID)
			return p.State == "completed" && p.Progress.Counts["failed"] == 0
		})
		if perTo := c.acceptedByRecipient(); len(perTo) != plan.n || c.stats().Duplicates.Count != 0 {
			t.Errorf("after the retry the sandbox has %d recipients, %d duplicates; want %d, 0", len(perTo), c.stats().Duplicates.Count, plan.n)
		}
	}
	t.Logf("%d kills, %d recipients at %d msg/s (seed %d): unknown per restart %v, claimed and queued again %v, not sent %d, "+
		"per crash %v (at most %d); completed %v after the last restart; saw unknown in progress: %v",
		plan.kills, plan.n, plan.mps, plan.seed, unknowns, requeued, len(unsent), perCrash, maxUnsentPerCrash(plan.mps),
		tookAfterLast.Round(100*time.Millisecond), sawUnknown)
}

// rewriteConfig replaces old with new in Kirim's configuration; old must be there.
func (c *cluster) rewriteConfig(old, new string) {
	c.t.Helper()
	b, err := os.ReadFile(c.cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		c.t.Fatalf("config has no %q", old)
	}
	if err := os.WriteFile(c.cfg, []byte(strings.Replace(string(b), old, new, 1)), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

type recipientRow struct {
	Phone     string `json:"phone"`
	Status    string `json:"status"`
	MessageID string `json:"message_id"`
	Error     *struct {
		Code  int    `json:"code"`
		Title string `json:"title"`
	} `json:"error"`
}

// recipients reads the campaign's report, every page.
func (c *cluster) recipients(id string) []recipientRow {
	var out []recipientRow
	cursor := ""
	for {
		var page struct {
			Data       []recipientRow `json:"data"`
			NextCursor string         `json:"next_cursor"`
		}
		if code := c.get(fmt.Sprintf("http://%s/v1/campaigns/%s/recipients?limit=500&cursor=%s", c.api, id, cursor), &page); code != 200 {
			c.t.Fatalf("GET recipients: %d", code)
		}
		out = append(out, page.Data...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
}
