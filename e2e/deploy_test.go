package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnits checks deploy/'s units with systemd's own verifier, the binary they
// start being the one built here (verify checks that ExecStart's program exists).
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	bin := kirimBinary(t)
	dir := t.TempDir()
	units := []string{"kirim.service", "kirim-backup.service", "kirim-backup.timer"}
	var paths []string
	for _, u := range units {
		b, err := os.ReadFile(filepath.Join("..", "deploy", u))
		if err != nil {
			t.Fatal(err)
		}
		if u != "kirim-backup.timer" && !strings.Contains(string(b), "/usr/local/bin/kirim ") {
			t.Fatalf("%s does not start /usr/local/bin/kirim", u)
		}
		p := filepath.Join(dir, u)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/kirim", bin)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, paths...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
