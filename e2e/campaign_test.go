package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"kirim/cli"
	"kirim/internal/kirimtest"
	"kirim/memory"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// campaignRecipients is the audience of TestCampaignCrash: 8,000 by default, so the
// suite stays quick; KIRIM_E2E_CAMPAIGN_N=100000 runs the full-size acceptance.
func campaignRecipients(t *testing.T) int {
	if v := os.Getenv("KIRIM_E2E_CAMPAIGN_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			t.Fatalf("KIRIM_E2E_CAMPAIGN_N=%q: want a number of at least 100", v)
		}
		return n
	}
	return 8_000
}

// call makes an authenticated request to Kirim's API with a JSON body.
func (c *cluster) call(method, path string, body any, out any) (int, string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+c.api+path, rd)
	key := e2eKey
	if c.key != "" {
		key = c.key
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	c.checkAnswer(req, resp, b)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, string(b)
}

func (c *cluster) must(want int, method, path string, body, out any) {
	c.t.Helper()
	if status, b := c.call(method, path, body, out); status != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, status, want, b)
	}
}

// fundAndWait tops acme up by micros (the operator confirms) and waits until the
// sample template is in the catalog, so a campaign can start.
func (c *cluster) fundAndWait(micros int64, reference string) {
	c.t.Helper()
	var tu struct {
		ID string `json:"id"`
	}
	c.must(201, "POST", "/v1/topups", map[string]any{"amount_micros": micros, "reference": reference}, &tu)
	c.operator().must(200, "POST", "/v1/topups/"+tu.ID+"/confirm?account=acme", nil, nil)
	kirimtest.WaitFor(c.t, "hello_world in the catalog", 30*time.Second, func() bool {
		return c.get("http://"+c.api+"/v1/templates/hello_world?language=en_US", nil) == 200
	})
}

// upload imports a CSV file into a new list through POST /v1/lists and waits for the
// import to finish; it returns the list id.
func (c *cluster) upload(name, file string) string {
	c.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		_ = mw.WriteField("name", name)
		part, err := mw.CreateFormFile("file", filepath.Base(file))
		if err == nil {
			var f *os.File
			if f, err = os.Open(file); err == nil {
				_, err = io.Copy(part, f)
				f.Close()
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.api+"/v1/lists", pr)
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var started struct {
		ImportID string `json:"import_id"`
		ListID   string `json:"list_id"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &started) != nil {
		c.t.Fatalf("POST /v1/lists: %d %s", resp.StatusCode, b)
	}
	kirimtest.WaitFor(c.t, "the import", 5*time.Minute, func() bool {
		var im struct {
			Status string `json:"status"`
		}
		return c.get("http://"+c.api+"/v1/imports/"+started.ImportID, &im) == 200 && im.Status == "done"
	})
	return started.ListID
}

type e2eProgress struct {
	State    string `json:"state"`
	Reason   string `json:"reason"`
	Progress struct {
		State      string           `json:"state"`
		Recipients int64            `json:"recipients"`
		Counts     map[string]int64 `json:"counts"`
		Quoted     kirimtest.Money  `json:"quoted"`
		Spend      kirimtest.Money  `json:"spend"`
	} `json:"progress"`
}

func (c *cluster) campaign(id string) e2eProgress {
	var p e2eProgress
	if code := c.get("http://"+c.api+"/v1/campaigns/"+id, &p); code != 200 {
		return e2eProgress{State: fmt.Sprintf("unreachable (%d)", code)}
	}
	return p
}

// sent counts the rows the provider has taken (or that failed).
func (p e2eProgress) settled() int64 {
	c := p.Progress.Counts
	return c["sent"] + c["delivered"] + c["read"] + c["failed"] + c["held"]
}

// TestCampaignCrash is the campaign acceptance run on the real binary: recipients
// imported from a CSV, quoted, launched; Kirim is killed with SIGKILL twice
// during the run and the campaign paused and resumed once; in the end the sandbox has
// accepted each recipient exactly once, the spend equals the quote to the micro, and
// Kirim's RSS stayed under 200 MB.
func TestCampaignCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// Each test has its own processes, ports and data directories; a crash test mostly
	// waits on them, so the binary tests overlap.
	t.Parallel()
	n := campaignRecipients(t)
	c := newCluster(t, "0")
	c.addConfig(`
[[rate_cards]]
effective = 2025-01-01
currency = "IDR"
  [[rate_cards.prices]]
  market = "*"
  category = "utility"
  amounts = [300]
`)
	if addr := os.Getenv("KIRIM_E2E_PPROF"); addr != "" {
		c.env = append(c.env, "KIRIM_PPROF="+addr)
	}
	// The README's settings for a 1 GB VPS running large campaigns; with
	// KIRIM_E2E_STORAGE=default, Kirim's defaults with a 150 MiB memory limit instead.
	small := os.Getenv("KIRIM_E2E_STORAGE") != "default"
	if !small {
		c.env = append(c.env, "KIRIM_SERVER_MEMORY_LIMIT_MB=150")
	} else {
		if cli.SmallVPSMemoryLimitMB >= 0 { // else derived from the storage settings
			c.env = append(c.env, "KIRIM_SERVER_MEMORY_LIMIT_MB="+strconv.Itoa(cli.SmallVPSMemoryLimitMB))
		}
		for k, v := range cli.SmallVPSStorage {
			c.env = append(c.env, "KIRIM_STORAGE_"+strings.ToUpper(k)+"="+v)
		}
	}
	// KIRIM_E2E_MEMORY_CGROUP names a cgroup (v1 memory controller) with a limit set by
	// hand, e.g. memory.limit_in_bytes = 200M: each Kirim process joins it, so the kernel
	// holds Kirim's memory, page cache of its mapped files included, to that limit (and
	// kills it if its own memory does not fit).
	cgroup := os.Getenv("KIRIM_E2E_MEMORY_CGROUP")
	startKirim := func() {
		c.startKirim()
		if cgroup != "" {
			pid := strconv.Itoa(c.kirim.cmd.Process.Pid)
			if err := os.WriteFile(filepath.Join(cgroup, "cgroup.procs"), []byte(pid), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	startKirim()
	logRSS := func(when string) {
		total, anon := memory.RSSMB(c.kirim.cmd.Process.Pid)
		t.Logf("RSS %s: %d MB (anonymous %d MB)", when, total, anon)
	}

	csvPath := filepath.Join(c.dir, "pelanggan.csv")
	var sb strings.Builder
	sb.WriteString("\ufeffNo HP;Nama Lengkap;Kota\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "0812%08d;Pelanggan %d;Jakarta\r\n", i, i)
	}
	if err := os.WriteFile(csvPath, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	list := c.upload("pelanggan", csvPath)
	logRSS("after the import")

	c.fundAndWait(int64(n)*1000*1_000_000, "E2E-CAMPAIGN")

	var created struct {
		ID string `json:"id"`
	}
	c.must(201, "POST", "/v1/campaigns", map[string]any{"name": "Crash test", "template": map[string]string{"name": "hello_world", "language": "en_US"},
		"list_ids": []string{list}}, &created)
	var quote struct {
		Recipients int64           `json:"recipients"`
		Cost       kirimtest.Money `json:"cost"`
	}
	c.must(200, "POST", "/v1/campaigns/"+created.ID+"/quote", nil, &quote)
	if quote.Recipients != int64(n) || quote.Cost.AmountMicros != int64(n)*300*1_000_000 {
		t.Fatalf("quote %+v, want %d recipients at IDR 300", quote, n)
	}
	logRSS("after the quote")
	c.must(200, "POST", "/v1/campaigns/"+created.ID+"/launch", nil, nil)
	kirimtest.WaitFor(t, "the rows", time.Minute, func() bool { return c.campaign(created.ID).Progress.Recipients == int64(n) })
	logRSS("with the rows written")

	// saveHeap saves Kirim's heap profile in the temp directory, with KIRIM_E2E_PPROF.
	saveHeap := func(name string) {
		addr := os.Getenv("KIRIM_E2E_PPROF")
		if addr == "" {
			return
		}
		resp, err := c.http.Get("http://" + addr + "/debug/pprof/heap")
		if err != nil {
			t.Logf("heap profile: %v", err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if err := os.WriteFile(filepath.Join(os.TempDir(), name), b, 0o644); err != nil {
			t.Logf("heap profile: %v", err)
		}
	}
	var rssMu sync.Mutex
	maxRSS, maxAnon := 0, 0
	watch := func() func() {
		stop := make(chan struct{})
		done := make(chan struct{})
		pid := c.kirim.cmd.Process.Pid
		go func() {
			defer close(done)
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					total, anon := memory.RSSMB(pid)
					rssMu.Lock()
					peak := anon > maxAnon+8
					maxRSS, maxAnon = max(maxRSS, total), max(maxAnon, anon)
					rssMu.Unlock()
					if peak {
						saveHeap("kirim-heap-peak.pb.gz") // the heap at each new peak, to see what holds it
					}
				}
			}
		}()
		return func() { close(stop); <-done }
	}
	stopWatch := watch()
	reach := func(what string, frac float64) {
		t.Helper()
		kirimtest.WaitFor(t, what, 10*time.Minute, func() bool { return c.campaign(created.ID).settled() >= int64(frac*float64(n)) })
	}
	reach("a quarter sent", 0.25)
	logRSS("at a quarter")
	saveHeap("kirim-heap.pb.gz")
	c.kirim.kill9(t)
	stopWatch()
	startKirim()
	stopWatch = watch()
	logRSS("after the first restart")
	reach("half sent", 0.5)
	logRSS("at half")
	c.must(200, "POST", "/v1/campaigns/"+created.ID+"/pause", nil, nil)
	if p := c.campaign(created.ID); p.State != "paused" {
		t.Fatalf("after pause: %s", p.State)
	}
	c.must(200, "POST", "/v1/campaigns/"+created.ID+"/resume", nil, nil)
	reach("three quarters sent", 0.75)
	logRSS("at three quarters")
	c.kirim.kill9(t)
	stopWatch()
	startKirim()
	stopWatch = watch()
	defer stopWatch()
	logRSS("after the second restart")
	// Messages in flight at a crash settle from their webhooks; those claimed but never
	// handed over fail by the unknown policy and are retried (their class allows it).
	for attempt := 0; ; attempt++ {
		kirimtest.WaitFor(t, "the run to settle", 10*time.Minute, func() bool {
			p := c.campaign(created.ID)
			return p.State == "completed"
		})
		p := c.campaign(created.ID)
		if p.Progress.Counts["failed"] == 0 {
			break
		}
		if attempt == 3 {
			t.Fatalf("still %d failed after retries: %v", p.Progress.Counts["failed"], p.Progress.Counts)
		}
		var rr struct {
			Requeued int64 `json:"requeued"`
		}
		c.must(200, "POST", "/v1/campaigns/"+created.ID+"/retry", nil, &rr)
		t.Logf("retry %d: %d requeued of %v", attempt+1, rr.Requeued, p.Progress.Counts)
	}
	logRSS("with the run complete")
	kirimtest.WaitFor(t, "every capture", 2*time.Minute, func() bool {
		p := c.campaign(created.ID)
		return p.Progress.Spend.AmountMicros == quote.Cost.AmountMicros
	})
	p := c.campaign(created.ID)

	// The sandbox accepted each recipient exactly once.
	perTo := map[string]int{}
	after := 0
	for {
		var page struct {
			Data []struct {
				ID        int    `json:"id"`
				To        string `json:"to"`
				ErrorCode int    `json:"error_code"`
			} `json:"data"`
		}
		if c.get(fmt.Sprintf("http://%s/_sandbox/messages?limit=10000&after=%d", c.sb, after), &page) != 200 {
			t.Fatal("cannot read the sandbox's messages")
		}
		if len(page.Data) == 0 {
			break
		}
		for _, r := range page.Data {
			if r.ErrorCode == 0 {
				perTo[r.To]++
			}
			after = r.ID
		}
	}
	if len(perTo) != n {
		t.Fatalf("the sandbox accepted %d distinct recipients, want %d", len(perTo), n)
	}
	for to, k := range perTo {
		if k != 1 {
			t.Fatalf("%s accepted %d times", to, k)
		}
	}
	if cgroup != "" {
		limit, _ := os.ReadFile(filepath.Join(cgroup, "memory.limit_in_bytes"))
		maxUse, _ := os.ReadFile(filepath.Join(cgroup, "memory.max_usage_in_bytes"))
		fails, _ := os.ReadFile(filepath.Join(cgroup, "memory.failcnt"))
		t.Logf("cgroup %s: limit %s B, max usage %s B, limit hits %s", cgroup,
			bytes.TrimSpace(limit), bytes.TrimSpace(maxUse), bytes.TrimSpace(fails))
	}
	rssMu.Lock()
	peak, peakAnon := maxRSS, maxAnon
	rssMu.Unlock()
	t.Logf("%d recipients: counts %v, spend %s = quote %s, peak RSS %d MB of which anonymous %d MB (the rest is pages of Badger's mapped files)",
		n, p.Progress.Counts, p.Progress.Spend.Display, quote.Cost.Display, peak, peakAnon)
	// The small-memory settings keep the whole RSS, mapped table pages included, under
	// 200 MB; the defaults (larger memtables, Snappy) only its anonymous part: 264 MB in
	// all, 160 MB anonymous, in one run of 100,000.
	if small && peak >= 200 {
		t.Errorf("peak RSS %d MB with the small-memory settings, want under 200", peak)
	}
	if peakAnon >= 200 {
		t.Errorf("peak anonymous RSS %d MB, want under 200", peakAnon)
	}
	var st struct {
		LSMBytes int64            `json:"lsm_bytes"`
		Written  map[string]int64 `json:"written_bytes"`
	}
	if code, body := c.operator().call("GET", "/v1/admin/storage", nil, &st); code != 200 || st.Written["m/"] == 0 || st.Written["cr/"] == 0 {
		t.Fatalf("storage figures: %d %s", code, body)
	}
	t.Logf("storage: %d MB of tables; written since the last start: %v", st.LSMBytes>>20, st.Written)
}

// addConfig appends TOML to the cluster's Kirim configuration.
func (c *cluster) addConfig(toml string) {
	c.t.Helper()
	f, err := os.OpenFile(c.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(toml); err != nil {
		c.t.Fatal(err)
	}
}
