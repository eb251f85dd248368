package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kirim/internal/kirimtest"
)

// TestReloadOnSIGHUP: kill -HUP with a changed key in the file makes the new key work
// and the old one fail, and the process lives; with a broken file it lives too,
// nothing changes, and the log says why.
func TestReloadOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	const oldKey, newKey = "kirim_demo_key_change_me", "kirim_reloaded_key_0123456789"
	cfgPath := filepath.Join(dir, "kirim.toml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(string(example))
	p, api := serveOnFreePorts(t, cfgPath)
	status := func(key string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+api+"/v1/balance", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	kirimtest.WaitFor(t, "kirim", 30*time.Second, func() bool { return status(oldKey) == http.StatusOK })
	hup := func() {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}

	write(strings.Replace(string(example), oldKey, newKey, 1))
	hup()
	kirimtest.WaitFor(t, "the new key", 10*time.Second, func() bool { return status(newKey) == http.StatusOK })
	if got := status(oldKey); got != http.StatusUnauthorized {
		t.Fatalf("old key after reload: %d, want 401", got)
	}
	kirimtest.WaitFor(t, "the reload's log line", 10*time.Second, func() bool { return p.logged("reloaded the configuration") })

	write(strings.Replace(string(example), oldKey, "kirim_third_key_0123456789", 1) + "\n[server\nbroken")
	hup()
	kirimtest.WaitFor(t, "the refusal's log line", 10*time.Second, func() bool { return p.logged("reload refused") })
	if got := status(newKey); got != http.StatusOK {
		t.Fatalf("after a broken reload the key in force answers %d", got)
	}
	if got := status("kirim_third_key_0123456789"); got != http.StatusUnauthorized {
		t.Fatalf("a key of the broken file answers %d", got)
	}
	if p.cmd.ProcessState != nil {
		t.Fatalf("the process ended: %v", p.cmd.ProcessState)
	}
	// SIGTERM still drains and exits 0.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
