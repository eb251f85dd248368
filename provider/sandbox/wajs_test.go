package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kirim/clock"
)

// wajsDir holds the Node client built on whatsapp-api-js; `npm install --prefix` it
// (.ci/run does) for TestThirdPartyClientWhatsAppAPIJS to run.
const wajsDir = "testdata/wajs"

// wajsReport is what the Node client's status handler saw.
type wajsReport struct {
	Statuses  map[string]int `json:"statuses"`
	Codes     []int          `json:"codes"`
	Callbacks int            `json:"callbacks"`
}

// TestThirdPartyClientWhatsAppAPIJS runs the third-party library whatsapp-api-js
// against the sandbox: it uploads media with messaging_product in the query string,
// sends templates, and receives the signed webhooks in its own node:http handler,
// which reads only the first status of each POST. With one status per POST (the
// default) it sees sent, delivered, read and failed separately; with batching it
// loses all but the first status of each POST, which is why batching is not the
// default.
func TestThirdPartyClientWhatsAppAPIJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the whatsapp-api-js check needs it")
	}
	if _, err := os.Stat(filepath.Join(wajsDir, "node_modules", "whatsapp-api-js", "package.json")); err != nil {
		t.Skipf("whatsapp-api-js is not installed: run `npm install --no-package-lock --prefix provider/sandbox/%s`", wajsDir)
	}
	const sends = 8
	// 2 of 8 fail (0.25), 3 of the other 6 are read (0.5).
	full := map[string]int{"sent": sends, "delivered": 6, "read": 3, "failed": 2}
	for _, c := range []struct {
		name  string
		batch int
	}{{"one status per POST (default)", 0}, {"batched", 50}} {
		t.Run(c.name, func(t *testing.T) {
			rep := runWajs(t, node, sends, Options{WebhookBatch: c.batch, PairGap: -1, ReadRate: 0.5,
				Chaos: Chaos{AsyncFailures: map[int]float64{131026: 0.25}}})
			total := 0
			for _, n := range rep.Statuses {
				total += n
			}
			if c.batch == 0 {
				for st, n := range full {
					if rep.Statuses[st] != n {
						t.Errorf("the client saw %d %s, want %d (saw %v)", rep.Statuses[st], st, n, rep.Statuses)
					}
				}
				if len(rep.Codes) != 2 || rep.Codes[0] != 131026 || rep.Callbacks != 19 {
					t.Errorf("failure codes %v, callbacks %d; want [131026 131026] and 19", rep.Codes, rep.Callbacks)
				}
				return
			}
			if total >= 19 {
				t.Errorf("batched: the client saw %v (%d statuses); want some of the 19 lost", rep.Statuses, total)
			}
		})
	}
}

// runWajs starts the Node client, a sandbox posting webhooks to it, has the client
// upload and send, waits for every webhook to be answered and returns the report.
func runWajs(t *testing.T, node string, sends int, opts Options) wajsReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs")
	cmd.Dir = wajsDir
	cmd.Env = append(os.Environ(), "APP_SECRET="+testSecret, "TOKEN="+testToken, "PHONE_ID="+DefaultPhoneNumberID)
	cmd.Stderr = &testWriter{t}
	stdin, err := cmd.StdinPipe()
	mustOK(t, err)
	stdout, err := cmd.StdoutPipe()
	mustOK(t, err)
	mustOK(t, cmd.Start())
	defer func() { _ = cmd.Wait() }()
	defer stdin.Close()
	lines := bufio.NewScanner(stdout)
	read := func(v any) {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("the Node client stopped: %v", lines.Err())
		}
		if err := json.Unmarshal(lines.Bytes(), v); err != nil {
			t.Fatalf("the Node client said %q: %v", lines.Text(), err)
		}
	}
	var up struct {
		Listening int `json:"listening"`
	}
	read(&up)

	opts.Clock = clock.NewFake(t0)
	opts.AppSecret, opts.Token = testSecret, testToken
	opts.WebhookURL = "http://127.0.0.1:" + strconv.Itoa(up.Listening) + "/"
	sb := New(opts)
	sb.Start()
	defer sb.Close()
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()

	_, _ = io.WriteString(stdin, `{"base":"`+srv.URL+`","sends":`+strconv.Itoa(sends)+"}\n")
	var sent struct {
		MediaID string   `json:"media_id"`
		Wamids  []string `json:"wamids"`
	}
	read(&sent)
	if _, ok := sb.st.Load().media.get(sent.MediaID); !ok || len(sent.Wamids) != sends || !strings.HasPrefix(sent.Wamids[0], "wamid.") {
		t.Fatalf("upload and sends through whatsapp-api-js: %+v", sent)
	}
	waitUntil(t, func() bool {
		st := sb.Stats().Webhooks
		return st.Pending == 0 && st.Scheduled == 0 && st.StatusesPosted == 19
	})
	_, _ = io.WriteString(stdin, "{\"report\":true}\n")
	var rep wajsReport
	read(&rep)
	if bad := sb.Stats().Webhooks; bad.FailedAttempts != 0 {
		t.Fatalf("the client refused %d webhook POSTs (signature or payload)", bad.FailedAttempts)
	}
	return rep
}

// testWriter logs a child process's stderr through the test.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("node: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
