package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
)

// TestHelpExitsZero: -h and --help print the command's usage on stdout and exit 0,
// and do nothing else: no key made, no string hashed, no server called, no file written.
func TestHelpExitsZero(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "backup.kbk")
	cases := [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"serve", "--help"}, {"serve", "-h"},
		{"sandbox", "--help"},
		{"backup", out, "--help"}, {"backup", "-h", out},
		{"restore", "--help"},
		{"bench", "--help"},
		{"key", "--help"}, {"key", "new", "--help"}, {"key", "new", "-h"}, {"key", "hash", "--help"},
		{"catch", "--help"},
		{"ledger", "--help"}, {"ledger", "verify", "--help"},
		{"templates", "--help"}, {"templates", "sync", "--help"},
		{"import", "--help"}, {"import", "x.csv", "--list", "L", "--help"},
		{"campaign", "--help"}, {"campaign", "watch", "--help"}, {"campaign", "watch", "cmp_1", "-h"},
		{"version", "--help"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(context.Background(), args, &stdout, &stderr); code != ExitOK {
				t.Fatalf("exit %d, want 0; stderr %q", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), "Usage:") {
				t.Fatalf("stdout lacks the usage:\n%s", stdout.String())
			}
			if stderr.Len() != 0 {
				t.Fatalf("stderr %q, want nothing", stderr.String())
			}
			// Nothing acted: no key printed, no hash of "--help", no backup written.
			if keyLine.MatchString(stdout.String()) || strings.Contains(stdout.String(), keyHash("--help")) {
				t.Fatalf("the command acted:\n%s", stdout.String())
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("backup file written: %v", err)
			}
		})
	}
}

// keyLine is a line `kirim key new` prints.
var keyLine = regexp.MustCompile(`(?m)^key(_sha256)? +[0-9a-z_]{20,}$`)

// TestUsageErrorsExitTwo: a command line that cannot run exits 2 with the error on
// stderr and nothing on stdout.
func TestUsageErrorsExitTwo(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "no command"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"serve", "extra"}, `unexpected argument "extra"`},
		{[]string{"key"}, "key: missing subcommand"},
		{[]string{"key", "rotate"}, `key: unknown subcommand "rotate"`},
		{[]string{"key", "hash"}, "key hash: want the key"},
		{[]string{"key", "new", "extra"}, "key new: takes no arguments"},
		{[]string{"backup"}, "backup: want the output FILE"},
		{[]string{"restore", "f.kbk"}, "restore: want FILE and --data DIR"},
		{[]string{"import", "f.csv"}, "import: want FILE and --list NAME"},
		{[]string{"campaign", "watch"}, "campaign watch: give the campaign id"},
		{[]string{"ledger", "verify"}, "ledger verify: give --data DIR or --config FILE"},
		{[]string{"bench", "--clients", "many"}, `invalid value "many" for flag -clients`},
		{[]string{"bench", "--sustain", "0s"}, "must be positive"},
		{[]string{"bench", "--campaign", "-1"}, "not negative"},
		{[]string{"bench", "--only", "accepts"}, `--only "accepts": want callbacks`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(context.Background(), c.args, &stdout, &stderr); code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, ExitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("stderr %q lacks %q", stderr.String(), c.want)
			}
			if stdout.Len() != 0 {
				t.Fatalf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestRuntimeErrorExitsOne: a command that ran and failed exits 1.
func TestRuntimeErrorExitsOne(t *testing.T) {
	var stdout, stderr bytes.Buffer
	missing := filepath.Join(t.TempDir(), "missing.kbk")
	if code := Main(context.Background(), []string{"restore", missing, "--data", t.TempDir()}, &stdout, &stderr); code != ExitError {
		t.Fatalf("exit %d, want 1; stderr %q", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "missing.kbk") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

func TestKeyCommands(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"key", "new"}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("key new: %d %s", code, stderr.String())
	}
	f := strings.Fields(stdout.String())
	if len(f) != 4 || f[0] != "key" || !strings.HasPrefix(f[1], "kirim_") || f[2] != "key_sha256" || f[3] != keyHash(f[1]) {
		t.Fatalf("key new printed %q", stdout.String())
	}
	stdout.Reset()
	if code := Main(context.Background(), []string{"key", "hash", f[1]}, &stdout, &stderr); code != ExitOK || strings.TrimSpace(stdout.String()) != f[3] {
		t.Fatalf("key hash: %d %q", code, stdout.String())
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}, {"-v"}} {
		var stdout, stderr bytes.Buffer
		if code := Main(context.Background(), args, &stdout, &stderr); code != ExitOK || !strings.HasPrefix(stdout.String(), "kirim ") {
			t.Fatalf("%v: %d %q %q", args, code, stdout.String(), stderr.String())
		}
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "8b3873f2a1"}, {Key: "vcs.time", Value: "2026-12-04T01:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionOf(bi), "kirim v1.2.0 rev 8b3873f2a1 2026-12-04T01:00:00Z, modified, go1.26.8"; got != want {
		t.Fatalf("versionOf = %q, want %q", got, want)
	}
	if got := versionOf(&debug.BuildInfo{GoVersion: "go1.26.8"}); !strings.HasPrefix(got, "kirim (devel) (no revision recorded") {
		t.Fatalf("versionOf without VCS = %q", got)
	}
}
