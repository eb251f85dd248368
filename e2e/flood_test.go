package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kirim/internal/kirimtest"
	"kirim/memory"
	"kirim/provider"
)

// TestSlowBodyFlood opens 500 connections that each announce a 1 MB webhook body and
// send all of it but the last byte, half without a signature and half with a
// well-formed wrong one. Kirim must refuse the unsigned ones before reading, read at most
// webhook.max_concurrent_bodies of the others at once (503 with Retry-After for the
// rest), keep its RSS under 200 MB, answer /healthz throughout, and accept a signed
// webhook as soon as the flood stops.
func TestSlowBodyFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	p, api := serveOnFreePorts(t, filepath.Join("..", "config.example.toml"))
	health := &http.Client{Timeout: 5 * time.Second}
	healthy := func() (time.Duration, bool) {
		t0 := time.Now()
		resp, err := health.Get("http://" + api + "/healthz")
		if err != nil {
			return 0, false
		}
		resp.Body.Close()
		return time.Since(t0), resp.StatusCode == http.StatusOK
	}
	kirimtest.WaitFor(t, "kirim", 30*time.Second, func() bool { _, ok := healthy(); return ok })
	baseRSS, _ := memory.RSSMB(p.cmd.Process.Pid)

	const conns, size = 500, 1 << 20
	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		statuses sync.Map // status line -> count
		opened   atomic.Int64
	)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", api, 5*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			opened.Add(1)
			sig := ""
			if i%2 == 1 {
				sig = "X-Hub-Signature-256: sha256=" + strings.Repeat("ab", 32) + "\r\n"
			}
			fmt.Fprintf(c, "POST /webhook HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n", api, sig, size)
			go func() {
				buf := make([]byte, 256)
				n, _ := c.Read(buf)
				if line, _, ok := bytes.Cut(buf[:n], []byte("\r\n")); ok {
					v, _ := statuses.LoadOrStore(string(line), new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
				}
			}()
			// All but the last byte at once, then nothing: the slowest a body can be.
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for sent := 0; sent < size-1; sent += len(chunk) {
				if _, err := c.Write(chunk[:min(len(chunk), size-1-sent)]); err != nil {
					return // refused and closed: the rest is never read
				}
			}
			<-stop
		}()
	}
	peak := baseRSS
	var worstHealth time.Duration
	sample := time.NewTicker(250 * time.Millisecond)
	defer sample.Stop()
	for range 20 {
		<-sample.C
		if rss, _ := memory.RSSMB(p.cmd.Process.Pid); rss > peak {
			peak = rss
		}
		d, ok := healthy()
		if !ok {
			t.Fatalf("/healthz did not answer during the flood")
		}
		worstHealth = max(worstHealth, d)
	}
	close(stop)
	wg.Wait()
	counts := map[string]int64{}
	statuses.Range(func(k, v any) bool { counts[k.(string)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("%d connections; answers %v; RSS %d MB before, peak %d MB during; slowest /healthz %v",
		opened.Load(), counts, baseRSS, peak, worstHealth.Round(time.Millisecond))
	if peak >= 200 {
		t.Errorf("peak RSS %d MB, want under 200", peak)
	}
	if counts["HTTP/1.1 401 Unauthorized"] < conns/2-10 {
		t.Errorf("unsigned bodies were not all refused at once: %v", counts)
	}
	if counts["HTTP/1.1 503 Service Unavailable"] == 0 {
		t.Errorf("no body was refused by the gate: %v", counts)
	}
	// Right after the flood a signed webhook is stored.
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"200000000000001","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000001"},"statuses":[{"id":"wamid.flood","status":"sent","timestamp":"1","recipient_id":"6281234567890"}]}}]}]}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/webhook", bytes.NewReader(body))
	req.Header.Set(provider.SignatureHeader, provider.Sign("sandbox-app-secret", body))
	resp, err := health.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signed webhook after the flood: %d", resp.StatusCode)
	}
}
