package cli

import (
	"bytes"
	"context"
	"kirim/app"
	"kirim/app/apptest"
	"kirim/internal/kirimtest"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTemplatesSyncCommand: `kirim templates sync` asks the running server to pull the
// provider's list, so a template made elsewhere becomes known.
func TestTemplatesSyncCommand(t *testing.T) {
	m, a := apptest.Example(t)
	ctx := context.Background()
	d := []byte(`{"name": "dibuat_di_luar", "language": "id", "category": "MARKETING", "components": [
		{"type": "BODY", "text": "Katalog bulan ini sudah tersedia di aplikasi kami."}]}`)
	req, _ := http.NewRequest("POST", "http://"+m.SandAddr+"/"+m.Config.Provider.APIVersion+"/"+m.Config.Numbers[0].WABAID+"/message_templates", bytes.NewReader(d))
	req.Header.Set("Content-Type", "application/json")
	if tok := m.Config.Provider.Token; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("made elsewhere: %s", resp.Status)
	}
	// The review webhook makes the store learn it (a template it did not know triggers a
	// sync); the command must work regardless, so wait for that first to keep the
	// counts exact.
	kirimtest.WaitFor(t, "the review webhook", 30*time.Second, func() bool { return a.TemplateStatus("dibuat_di_luar") == "APPROVED" })

	var out, errOut bytes.Buffer
	if err := Run(ctx, []string{"templates", "sync", "--server", "http://" + m.APIAddr, "--key", app.DemoKey}, &out, &errOut); err != nil {
		t.Fatalf("templates sync: %v (%s)", err, errOut.String())
	}
	if want := "templates sync: WABA " + m.Config.Numbers[0].WABAID + ": 0 added, 0 updated, 0 removed, 2 unchanged, 0 skipped\n"; out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
	// A wrong key is reported with the server's answer.
	if err := Run(ctx, []string{"templates", "sync", "--server", "http://" + m.APIAddr, "--key", "nope"}, &out, &errOut); err == nil ||
		!strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong key: %v", err)
	}
}
