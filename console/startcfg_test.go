package console_test

import (
	"os"
	"strings"
	"testing"

	"kirim/app"
	"kirim/app/apptest"
	"kirim/config"
)

// startEdited runs the example configuration as start does, with its text edited
// first: each pair of edits replaces a line of the example with another, and extra
// is appended (more [[numbers]] or [[accounts]]).
func startEdited(t *testing.T, extra string, edits ...string) *kirim {
	t.Helper()
	raw, err := os.ReadFile(apptest.ExamplePath())
	if err != nil {
		t.Fatal(err)
	}
	src := string(raw)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(src, edits[i]) {
			t.Fatalf("the example configuration has no %q", edits[i])
		}
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	cfg, err := config.Parse("console-test.toml", []byte(src+extra), []string{
		"KIRIM_SERVER_LISTEN=127.0.0.1:0",
		"KIRIM_SERVER_DATA_DIR=" + t.TempDir(),
		"KIRIM_SANDBOX_LISTEN=127.0.0.1:0",
		"KIRIM_SANDBOX_REVIEW_DELAY=20ms",
		"KIRIM_SANDBOX_STATUS_DELAY=10ms",
	})
	if err != nil {
		t.Fatal(err)
	}
	m, a := apptest.Start(t, cfg, app.DemoKey)
	return &kirim{m: m, admin: a, op: a.As(demoOperatorKey, ""), base: "http://" + m.APIAddr}
}
