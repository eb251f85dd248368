package cli

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"kirim/app"
	"kirim/app/apptest"
	"kirim/audit"
	"kirim/storage"
)

// TestBackupIsTheOperatorsAndRestoreIsAudited takes a backup of a running Kirim with
// the account's admin key (refused: a backup holds every account) and with the
// operator's, restores it, and finds the restore in the restored audit log after the
// backup the server recorded.
func TestBackupIsTheOperatorsAndRestoreIsAudited(t *testing.T) {
	m, a := apptest.Example(t)
	a.Must(http.StatusCreated, "POST", "/v1/topups", map[string]any{"amount_micros": 5_000_000, "reference": "R-1"}, nil)
	file := filepath.Join(t.TempDir(), "kirim.kbk")
	server := "http://" + m.APIAddr
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"backup", file, "--server", server, "--key", app.DemoKey}, &stdout, &stderr); code != ExitError ||
		!strings.Contains(stderr.String(), "operator") {
		t.Fatalf("backup with the account's admin key: exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := Main(context.Background(), []string{"backup", file, "--server", server, "--key", app.DemoOperatorKey}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("backup: exit %d: %s", code, stderr.String())
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if code := Main(context.Background(), []string{"restore", file, "--data", dir}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("restore: exit %d: %s", code, stderr.String())
	}
	db, err := storage.Open(storage.Options{Dir: dir, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := audit.New(db, nil)
	recs, _, err := log.List(audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Key+" "+r.Action+" "+r.Result)
	}
	got := strings.Join(actions, "; ")
	if !strings.Contains(got, "demo topup.create ok") || !strings.HasSuffix(got, "backup.restore ok") || !strings.Contains(got, "kirim restore") {
		t.Fatalf("restored audit log: %s", got)
	}
	if n, err := log.Verify(); err != nil || n != uint64(len(recs)) {
		t.Fatalf("verify: %d %v", n, err)
	}
}
