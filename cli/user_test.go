package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"kirim/app"
	"kirim/app/apptest"
)

// TestUserAddAndList makes console users through the running server: an operator with
// the operator key, an account's marketer with the admin key; a short password and a
// missing account are refused, and nothing is made by --help.
func TestUserAddAndList(t *testing.T) {
	m, _ := apptest.Example(t)
	server := "http://" + m.APIAddr
	run := func(stdin string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		err := cmdUser(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
		var help *helpRequest
		var ue *usageError
		switch {
		case err == nil:
			return ExitOK, stdout.String(), stderr.String()
		case errors.As(err, &help):
			help.print(&stdout)
			return ExitOK, stdout.String(), stderr.String()
		case errors.As(err, &ue):
			return ExitUsage, stdout.String(), err.Error()
		}
		return ExitError, stdout.String(), err.Error()
	}
	if code, out, _ := run("", "add", "--help"); code != ExitOK || !strings.Contains(out, "argon2id") {
		t.Fatalf("help: %d %q", code, out)
	}
	if _, out, errs := run("0123456789ab\n", "add", "ops2", "--role", "operator", "--server", server, "--key", app.DemoOperatorKey); !strings.Contains(out, "user ops2 (operator) made") {
		t.Fatalf("operator: %q %q", out, errs)
	}
	if _, out, errs := run("0123456789ab\n", "add", "rina", "--role", "marketer", "--account", "demo", "--server", server, "--key", app.DemoKey); !strings.Contains(out, "user rina (marketer) made") {
		t.Fatalf("marketer: %q %q", out, errs)
	}
	if _, _, errs := run("short\n", "add", "sari", "--role", "agent", "--account", "demo", "--server", server, "--key", app.DemoKey); !strings.Contains(errs, "password: must be at least 10 characters") {
		t.Fatalf("short password: %q", errs)
	}
	if code, _, _ := run("0123456789ab\n", "add", "sari", "--role", "agent", "--server", server, "--key", app.DemoKey); code != ExitUsage {
		t.Fatalf("agent without account: exit %d", code)
	}
	if _, _, errs := run("0123456789ab\n", "add", "ops3", "--role", "operator", "--server", server, "--key", app.DemoKey); !strings.Contains(errs, "only an operator makes operators") {
		t.Fatalf("admin makes an operator: %q", errs)
	}
	_, out, errs := run("", "list", "--server", server, "--key", app.DemoOperatorKey)
	for _, want := range []string{"ops2", "rina", "operator", "demo-admin"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q: %s %s", want, out, errs)
		}
	}
	if strings.Contains(out, "sari") || strings.Contains(out, "ops3") {
		t.Errorf("a refused user is listed: %s", out)
	}
}
