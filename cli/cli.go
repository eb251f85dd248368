// Package cli owns Kirim's command line: the commands (serve, sandbox, bench, backup,
// restore, key, catch, ledger, templates, import, campaign, version), their flags, help
// and exit codes, and progress output. The business logic lives in the packages the
// commands call; the wiring of a running Kirim lives in app.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// Exit codes, documented in the README.
const (
	ExitOK    = 0 // the command did what it was asked
	ExitError = 1 // it ran and failed: a server's refusal, an I/O error, a failed check
	ExitUsage = 2 // it did not run: unknown command, bad flag or missing argument
)

const usage = `kirim: self-hosted WhatsApp Business proactive messaging

Usage:
  kirim serve   [--config FILE] [--listen ADDR] [--data DIR] [--log-format text|json]
                                                             run Kirim
  kirim sandbox [--listen ADDR] [flags]                      run the Cloud API simulator alone
  kirim backup  FILE [--server URL] [--key KEY]              online backup through the running server
  kirim restore FILE --data DIR                              restore a backup into an empty directory
  kirim bench   [flags]                                      measure this machine
  kirim key new | hash KEY                                   make an API key, or hash one for key_sha256
  kirim catch   [--listen ADDR] [--app-secret S]             print the webhooks it receives, with signature checks
  kirim ledger  verify --data DIR                            replay and check the ledger (with Kirim stopped)
  kirim templates sync [--config FILE] [--server URL]        pull the provider's templates into the running server
  kirim import  FILE --list NAME [--config FILE] [--server URL] [--key KEY]
                                                             upload a CSV or XLSX contact list to the running server
  kirim campaign watch ID [--config FILE] [--server URL]    follow a campaign until it settles
  kirim user    add LOGIN --role ROLE [--account ID] | list    make or list the web console's users
  kirim version                                              the version and the source revision

Every command takes -h or --help. Exit status: 0 done, 1 failed, 2 usage error.
`

// command is one of kirim's commands.
type command struct {
	name string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", cmdServe},
		{"sandbox", cmdSandbox},
		{"backup", func(ctx context.Context, args []string, stdout, _ io.Writer) error {
			return cmdBackup(ctx, args, stdout)
		}},
		{"restore", func(_ context.Context, args []string, stdout, _ io.Writer) error { return cmdRestore(args, stdout) }},
		{"bench", cmdBench},
		{"key", func(_ context.Context, args []string, stdout, _ io.Writer) error { return cmdKey(args, stdout) }},
		{"ledger", func(_ context.Context, args []string, stdout, stderr io.Writer) error {
			return cmdLedger(args, stdout, stderr)
		}},
		{"catch", cmdCatch},
		{"templates", func(ctx context.Context, args []string, stdout, _ io.Writer) error {
			return cmdTemplates(ctx, args, stdout)
		}},
		{"import", cmdImport},
		{"campaign", cmdCampaign},
		{"user", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return cmdUser(ctx, args, os.Stdin, stdout, stderr)
		}},
		{"version", func(_ context.Context, args []string, stdout, _ io.Writer) error {
			if err := parseFlags(newFlags("version", "kirim version", "Prints the module version and the source revision it was built from."), args); err != nil {
				return err
			}
			fmt.Fprintln(stdout, Version())
			return nil
		}},
	}
}

// Main runs the command in args (without the program name) and returns the process's
// exit status. Help goes to stdout with status 0; errors go to stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := Run(ctx, args, stdout, stderr)
	var help *helpRequest
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &help):
		help.print(stdout)
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "kirim:", ue.err)
		if ue.fs != nil {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", ue.fs.Name())
		} else {
			fmt.Fprint(stderr, usage)
		}
		return ExitUsage
	}
	fmt.Fprintln(stderr, "kirim:", err)
	return ExitError
}

// Run runs the command in args; a request for help comes back as an error Main prints.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{err: errors.New("no command")}
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		return &helpRequest{text: usage}
	case "--version", "-version", "-v":
		fmt.Fprintln(stdout, Version())
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	return &usageError{err: fmt.Errorf("unknown command %q", args[0])}
}

// Version is the module version and VCS revision the binary was built from, as the Go
// toolchain recorded them ("kirim (devel) rev 8b3873f2 2026-12-04T01:00:00Z, modified").
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "kirim (unknown build)"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	out := "kirim " + v
	if rev := settings["vcs.revision"]; rev != "" {
		out += " rev " + rev
		if t := settings["vcs.time"]; t != "" {
			out += " " + t
		}
		if settings["vcs.modified"] == "true" {
			out += ", modified"
		}
	} else {
		out += " (no revision recorded: built outside a git checkout, or with -buildvcs=false)"
	}
	return out + ", " + bi.GoVersion
}

// flagSet is a command's flags with the text its --help prints above them.
type flagSet struct {
	*flag.FlagSet
	help string
}

// newFlags returns a flag set for a command: its usage line and description are printed
// by --help. Parse errors are returned, never printed by the flag package.
func newFlags(name, synopsis, about string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	help := "Usage: " + synopsis + "\n"
	if about != "" {
		help += "\n" + strings.TrimSpace(about) + "\n"
	}
	return &flagSet{FlagSet: fs, help: help}
}

// parseFlags parses args into fs, with flags allowed after positional arguments
// (`backup FILE --key K`). -h and --help anywhere ask for help: nothing runs.
func parseFlags(fs *flagSet, args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			return &helpRequest{fs: fs}
		}
	}
	if err := fs.Parse(reorder(args)); err != nil {
		return &usageError{fs: fs, err: err}
	}
	return nil
}

// helpRequest is returned when the user asked for help; Main prints it and exits 0.
type helpRequest struct {
	fs   *flagSet
	text string
}

func (h *helpRequest) Error() string { return "help requested" }

func (h *helpRequest) print(w io.Writer) {
	if h.fs == nil {
		fmt.Fprint(w, h.text)
		return
	}
	fmt.Fprint(w, h.fs.help)
	n := 0
	h.fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		h.fs.SetOutput(w)
		h.fs.PrintDefaults()
		h.fs.SetOutput(io.Discard)
	}
}

// usageError is a command line the command cannot run: Main exits 2.
type usageError struct {
	fs  *flagSet
	err error
}

func (u *usageError) Error() string { return u.err.Error() }
func (u *usageError) Unwrap() error { return u.err }

// usagef is a usage error of the command fs parses.
func usagef(fs *flagSet, format string, args ...any) error {
	return &usageError{fs: fs, err: fmt.Errorf(format, args...)}
}

// subcommand checks that args start with one of the words a command group takes
// (`key new`, `ledger verify`); help for the group is a help request.
func subcommand(group, synopsis string, args []string, words ...string) (string, []string, error) {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
		return "", nil, &helpRequest{text: "Usage: " + synopsis + "\n"}
	}
	if len(args) > 0 {
		for _, w := range words {
			if args[0] == w {
				return w, args[1:], nil
			}
		}
		return "", nil, &usageError{err: fmt.Errorf("%s: unknown subcommand %q (usage: %s)", group, args[0], synopsis)}
	}
	return "", nil, &usageError{err: fmt.Errorf("%s: missing subcommand (usage: %s)", group, synopsis)}
}
