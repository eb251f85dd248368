package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"kirim/api"
	"kirim/internal/kirimtest"
	"kirim/internal/openapicheck"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binary as a user would: `kirim sandbox` as the provider in
// its own process (so it outlives Kirim's crashes and counts what it received), and
// `kirim serve` killed with SIGKILL and started again on the same data directory.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// kirimBinary builds the binary once per run; KIRIM_E2E_BINARY names another one
// instead (an older build, to compare).
func kirimBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("KIRIM_E2E_BINARY"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kirim-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "kirim")
		out, err := exec.Command("go", "build", "-o", binPath, "kirim").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type proc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	mu   *sync.Mutex
}

func start(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		pw.Close()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s logs (last 3000 bytes):\n%s", filepath.Base(args[0]), tail(p.logs.String(), 3000))
			p.mu.Unlock()
		}
	})
	return p
}

// serveOnFreePorts runs `kirim serve --config cfg` with the API and the embedded
// sandbox on free ports and a temporary data directory; it returns the process and the
// API's address.
func serveOnFreePorts(t *testing.T, cfg string) (*proc, string) {
	t.Helper()
	api := freeAddr(t)
	p := start(t, kirimBinary(t), []string{"KIRIM_SERVER_LISTEN=" + api, "KIRIM_SERVER_DATA_DIR=" + filepath.Join(t.TempDir(), "data"),
		"KIRIM_SANDBOX_LISTEN=" + freeAddr(t)}, "serve", "--config", cfg)
	return p, api
}

// logged reports whether the process has logged s.
func (p *proc) logged(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Contains(p.logs.String(), s)
}

func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = p.cmd.Process.Wait()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

const e2eKey = "e2e_test_key_0123456789"

// e2eOperatorKey is the instance operator's key: it confirms top-ups and reads storage.
const e2eOperatorKey = "e2e_operator_key_0123456789"

type cluster struct {
	t       *testing.T
	bin     string
	dir     string
	cfg     string
	api, sb string
	sandbox *proc
	kirim   *proc
	env     []string // KIRIM_* settings of the kirim process
	openapi *openapicheck.Checker
	http    *http.Client
	// key is the API key of call and must; empty: e2eKey.
	key string
}

// operator is c calling as the instance's operator.
func (c *cluster) operator() *cluster {
	op := *c
	op.key = e2eOperatorKey
	return &op
}

// newCluster starts a standalone sandbox and writes a Kirim config that uses it as a
// Cloud API provider.
func newCluster(t *testing.T, readRate string) *cluster { return newClusterWith(t, readRate, "") }

// newClusterWith is newCluster with extra TOML appended to Kirim's config.
func newClusterWith(t *testing.T, readRate, extra string) *cluster {
	bin := kirimBinary(t)
	c := &cluster{t: t, bin: bin, dir: t.TempDir(), api: freeAddr(t), sb: freeAddr(t), openapi: openapicheck.New(t, api.OpenAPI()),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	c.cfg = filepath.Join(c.dir, "kirim.toml")
	cfg := fmt.Sprintf(`
[server]
listen = %q
data_dir = %q
shutdown_timeout = "5s"
[provider]
kind = "cloud"
base_url = "http://%s"
token = "e2e-token"
portfolio_limit = -1
[webhook]
app_secret = "e2e-secret"
verify_token = "e2e-verify"
[engine]
unknown_timeout = "20s"
unknown_policy = "fail"
lease_timeout = "30s"
[[numbers]]
alias = "main"
phone_number_id = "100000000000001"
waba_id = "200000000000001"
throughput_mps = 1000
account = "acme"
[[accounts]]
id = "acme"
  [[accounts.keys]]
  key = %q
  scopes = ["admin"]
[[operators]]
name = "ops"
key_sha256 = "%x"
`, c.api, filepath.Join(c.dir, "data"), c.sb, e2eKey, sha256.Sum256([]byte(e2eOperatorKey))) + extra
	if err := os.WriteFile(c.cfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// The crash bounds were measured with statuses batched, as Meta may batch for a
	// receiver that falls behind; one status per POST (the sandbox's default) triples
	// the webhook load these bounds do not account for.
	c.sandbox = start(t, bin, nil, "sandbox", "--listen", c.sb, "--webhook-url", "http://"+c.api+"/webhook",
		"--app-secret", "e2e-secret", "--token", "e2e-token", "--throughput", "1000", "--messaging-limit", "-1",
		"--pair-gap", "-1s", "--read-rate", readRate, "--webhook-batch", "50")
	kirimtest.WaitFor(t, "sandbox", 20*time.Second, func() bool { return c.get("http://"+c.sb+"/_sandbox/stats", nil) == 200 })
	return c
}

func (c *cluster) startKirim() {
	c.kirim = start(c.t, c.bin, c.env, "serve", "--config", c.cfg)
	kirimtest.WaitFor(c.t, "kirim", 30*time.Second, func() bool { return c.get("http://"+c.api+"/healthz", nil) == 200 })
}

func (c *cluster) get(url string, out any) int {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	c.checkAnswer(req, resp, b)
	if out != nil {
		_ = json.Unmarshal(b, out)
	}
	return resp.StatusCode
}

// checkAnswer checks an answer of Kirim's (not the sandbox's) against the OpenAPI
// document.
func (c *cluster) checkAnswer(req *http.Request, resp *http.Response, body []byte) {
	if req.URL.Host != c.api {
		return
	}
	if err := c.openapi.Check(req, resp.StatusCode, resp.Header, body); err != nil {
		c.t.Errorf("openapi: %s %s answered %d, which the document does not describe: %v", req.Method, req.URL.Path, resp.StatusCode, err)
	}
}

// send posts n hello_world templates to distinct recipients with 32 clients and returns
// the ids of the accepted ones.
func (c *cluster) send(n int) []string {
	var (
		mu   sync.Mutex
		ids  []string
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				body := fmt.Sprintf(`{"to":"+62811%07d","template":{"name":"hello_world","language":"en_US"}}`, i)
				req, _ := http.NewRequest(http.MethodPost, "http://"+c.api+"/v1/messages", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+e2eKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.http.Do(req)
				if err != nil {
					continue
				}
				var out struct{ ID string }
				_ = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					ids = append(ids, out.ID)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return ids
}

type sbStats struct {
	Accepted   int `json:"accepted"`
	Duplicates struct {
		Count int `json:"count"`
	} `json:"duplicates"`
	Webhooks struct {
		Posted         int `json:"posted"`
		StatusesPosted int `json:"statuses_posted"`
		Pending        int `json:"pending"`
		Scheduled      int `json:"scheduled"`
	} `json:"webhooks"`
}

func (c *cluster) stats() sbStats {
	var s sbStats
	c.get("http://"+c.sb+"/_sandbox/stats", &s)
	return s
}

// acceptedByCallback reads every send the sandbox accepted and counts them by
// biz_opaque_callback_data (Kirim's message id).
func (c *cluster) acceptedByCallback() map[string]int {
	return c.acceptedBy(func(r sbSend) string { return r.CallbackData })
}

// acceptedByRecipient counts the sandbox's accepted sends per recipient.
func (c *cluster) acceptedByRecipient() map[string]int {
	return c.acceptedBy(func(r sbSend) string { return r.To })
}

// sbSend is one send as the sandbox's inspection API lists it.
type sbSend struct {
	ID           int    `json:"id"`
	To           string `json:"to"`
	CallbackData string `json:"callback_data"`
	ErrorCode    int    `json:"error_code"`
}

// acceptedBy reads every send the sandbox accepted and counts them by key.
func (c *cluster) acceptedBy(key func(sbSend) string) map[string]int {
	out := map[string]int{}
	after := 0
	for {
		var page struct {
			Data []sbSend `json:"data"`
		}
		if c.get(fmt.Sprintf("http://%s/_sandbox/messages?limit=10000&after=%d", c.sb, after), &page) != 200 {
			c.t.Fatal("cannot read the sandbox's messages")
		}
		if len(page.Data) == 0 {
			return out
		}
		for _, r := range page.Data {
			if r.ErrorCode == 0 {
				out[key(r)]++
			}
			after = r.ID
		}
	}
}

type msgView struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Error  *struct {
		Code int `json:"code"`
	} `json:"error"`
}

// statusCounts counts Kirim's messages by status through the search API.
func (c *cluster) countStatus(status string) int {
	n, cursor := 0, ""
	for {
		var page struct {
			Data       []msgView `json:"data"`
			NextCursor string    `json:"next_cursor"`
		}
		if c.get(fmt.Sprintf("http://%s/v1/messages?status=%s&limit=500&cursor=%s", c.api, status, cursor), &page) != 200 {
			return -1
		}
		n += len(page.Data)
		if page.NextCursor == "" {
			return n
		}
		cursor = page.NextCursor
	}
}

func (c *cluster) message(id string) msgView {
	var m msgView
	if code := c.get("http://"+c.api+"/v1/messages/"+id, &m); code != 200 {
		c.t.Fatalf("GET message %s: %d", id, code)
	}
	return m
}

// TestCrashDuringDispatch accepts 5,000 messages, kills Kirim with SIGKILL while it
// dispatches them, starts it again and checks from the sandbox's own records that no
// message was sent twice and that every accepted message settled.
func TestCrashDuringDispatch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	// Each test has its own processes, ports and data directories; a crash test mostly
	// waits on them, so the binary tests overlap.
	t.Parallel()
	c := newCluster(t, "0.5")
	c.startKirim()
	const n = 5000
	ids := c.send(n)
	if len(ids) != n {
		t.Fatalf("accepted %d of %d", len(ids), n)
	}
	kirimtest.WaitFor(t, "dispatch under way", 60*time.Second, func() bool { return c.stats().Accepted >= 1000 })
	c.kirim.kill9(t)
	before := c.stats().Accepted
	if before >= n {
		t.Fatalf("everything was sent before the kill (%d); the test proves nothing", before)
	}
	c.startKirim()
	unsettled := []string{"queued", "waiting", "dispatching", "unknown"}
	kirimtest.WaitFor(t, "every message to settle", 3*time.Minute, func() bool {
		for _, s := range unsettled {
			if c.countStatus(s) != 0 {
				return false
			}
		}
		return true
	})
	st := c.stats()
	if st.Duplicates.Count != 0 {
		t.Fatalf("the sandbox accepted %d duplicates", st.Duplicates.Count)
	}
	sent := c.acceptedByCallback()
	settled := map[string]int{}
	var failedUnsent int
	for _, id := range ids {
		m := c.message(id)
		settled[m.Status]++
		switch m.Status {
		case "sent", "delivered", "read":
			if sent[id] != 1 {
				t.Errorf("%s is %s but the sandbox accepted it %d times", id, m.Status, sent[id])
			}
		case "failed":
			// Only the documented crash policy may fail a message here, and only one
			// the provider never received.
			if m.Error == nil || m.Error.Code != -1 || sent[id] != 0 {
				var raw json.RawMessage
				c.get("http://"+c.api+"/v1/messages/"+id, &raw)
				var sbv json.RawMessage
				c.get("http://"+c.sb+"/_sandbox/callbacks/"+id, &sbv)
				var st json.RawMessage
				c.get("http://"+c.sb+"/_sandbox/stats", &st)
				t.Errorf("%s failed with %+v, sandbox count %d\n%s\n%s\n%s", id, m.Error, sent[id], raw, sbv, st)
			}
			failedUnsent++
		default:
			t.Errorf("%s ended %s", id, m.Status)
		}
	}
	if len(sent) != n-failedUnsent {
		t.Errorf("sandbox accepted %d distinct messages, want %d", len(sent), n-failedUnsent)
	}
	t.Logf("accepted %d; sandbox had %d before the kill; after restart: %v; sandbox duplicates %d",
		n, before, settled, st.Duplicates.Count)
}

// TestCrashAfterWebhookAck kills Kirim right after it acknowledged the sandbox's status
// webhooks and checks that none of them was lost: every message reaches delivered.
func TestCrashAfterWebhookAck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	// Each test has its own processes, ports and data directories; a crash test mostly
	// waits on them, so the binary tests overlap.
	t.Parallel()
	c := newCluster(t, "-1")
	c.startKirim()
	const n = 2000
	ids := c.send(n)
	if len(ids) != n {
		t.Fatalf("accepted %d of %d", len(ids), n)
	}
	// Each message gets sent and delivered: 2n statuses, all answered 200 by Kirim.
	kirimtest.WaitFor(t, "all statuses acknowledged", 60*time.Second, func() bool {
		s := c.stats()
		return s.Webhooks.StatusesPosted >= 2*n && s.Webhooks.Pending == 0 && s.Webhooks.Scheduled == 0
	})
	c.kirim.kill9(t)
	c.startKirim()
	kirimtest.WaitFor(t, "every message delivered", 2*time.Minute, func() bool { return c.countStatus("delivered") == n })
	for _, id := range ids[:50] {
		if m := c.message(id); m.Status != "delivered" {
			t.Fatalf("%s is %s", id, m.Status)
		}
	}
	_ = context.Background
}
