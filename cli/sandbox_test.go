package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"kirim/provider"
	"kirim/provider/sandbox"
)

// runSandbox starts `kirim sandbox` with args on a free port and returns a client for
// its default number and a stop function that waits for it to exit.
func runSandbox(t *testing.T, args ...string) (*provider.Client, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- Main(ctx, append([]string{"sandbox", "--listen", "127.0.0.1:0"}, args...), pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	_, rest, ok := strings.Cut(line, "Cloud API on ")
	if err != nil || !ok {
		cancel()
		t.Fatalf("kirim sandbox printed %q (%v); stderr %s", line, err, stderr.String())
	}
	base, _, _ := strings.Cut(rest, " ")
	stop := func() {
		cancel()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("kirim sandbox exited %d: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("kirim sandbox did not stop")
		}
	}
	t.Cleanup(cancel)
	return provider.New(provider.Config{BaseURL: base, PhoneNumberID: sandbox.DefaultPhoneNumberID, WABAID: sandbox.DefaultWABAID}), stop
}

func templateStatus(t *testing.T, c *provider.Client, name string) string {
	t.Helper()
	defs, err := c.ListTemplates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Name == name {
			return d.Status
		}
	}
	return "NOT_FOUND"
}

// TestSandboxDataSurvivesRestart: `kirim sandbox --data DIR` keeps an approved
// template across a restart; without --data a restart forgets it.
func TestSandboxDataSurvivesRestart(t *testing.T) {
	def := &provider.TemplateDefinition{Name: "order_ready", Language: "en_US", Category: "UTILITY",
		Components: []provider.TemplateComponentDef{{Type: "BODY", Text: "Your order {{1}} is ready for pickup.",
			Example: &provider.TemplateExample{BodyText: [][]string{{"INV-1"}}}}}}
	for _, c := range []struct {
		name  string
		args  []string
		after string
	}{
		{"with --data", []string{"--data", t.TempDir()}, "APPROVED"},
		{"in memory", nil, "NOT_FOUND"},
	} {
		t.Run(c.name, func(t *testing.T) {
			client, stop := runSandbox(t, c.args...)
			if _, err := client.CreateTemplate(context.Background(), def); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for templateStatus(t, client, def.Name) != "APPROVED" {
				if time.Now().After(deadline) {
					t.Fatal("the template was not approved")
				}
				time.Sleep(5 * time.Millisecond)
			}
			stop()
			client, stop = runSandbox(t, c.args...)
			defer stop()
			if got := templateStatus(t, client, def.Name); got != c.after {
				t.Fatalf("after the restart: %s, want %s", got, c.after)
			}
		})
	}
}

// TestSandboxHelpListsKnobs: the status timing, failure mix, batching, pair-rate,
// marketing-limit and data flags are in `kirim sandbox --help`.
func TestSandboxHelpListsKnobs(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"sandbox", "--help"}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, f := range []string{"-data", "-sent-delay", "-delivered-delay", "-read-delay", "-fail", "-send-errors",
		"-webhook-batch", "-pair-gap", "-pair-burst", "-marketing-user-limit", "-marketing-window"} {
		if !strings.Contains(stdout.String(), f+" ") {
			t.Errorf("--help lacks %s:\n%s", f, stdout.String())
		}
	}
}
