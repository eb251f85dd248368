package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"kirim/config"
	"kirim/ledger"
	"kirim/storage"
)

// verifyMemTableMB keeps an offline verify small: it only reads.
const verifyMemTableMB = 8

// cmdLedger runs the offline ledger tools. Badger locks its directory, so they run with
// Kirim stopped; a running server verifies through GET /v1/admin/ledger/verify.
func cmdLedger(args []string, stdout, stderr io.Writer) error {
	_, rest, err := subcommand("ledger", "kirim ledger verify --data DIR | --config FILE (with Kirim stopped)", args, "verify")
	if err != nil {
		return err
	}
	fs := newFlags("ledger verify", "kirim ledger verify --data DIR | --config FILE",
		"Replays the ledger's hash chain and balances from the data directory, with Kirim stopped (a running server answers GET /v1/admin/ledger/verify).")
	data := fs.String("data", "", "data directory (default: server.data_dir of --config)")
	cfgPath := fs.String("config", "", "configuration file to take the data directory from")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	dir := *data
	if dir == "" && *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		dir = cfg.Server.DataDir
	}
	if dir == "" {
		return usagef(fs, "ledger verify: give --data DIR or --config FILE")
	}
	// Opening a missing directory would create an empty store and report it clean.
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("ledger verify: %s is not a data directory", dir)
	}
	db, err := storage.Open(storage.Options{Dir: dir, MemTableSize: verifyMemTableMB << 20, NumMemtables: 2, GCInterval: -1,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return fmt.Errorf("ledger verify: %w (stop Kirim first: the data directory is locked while it runs; "+
			"or ask the running server: GET /v1/admin/ledger/verify)", err)
	}
	defer db.Close()
	// Verify replays the chain alone; it needs no accounts or rate cards.
	l, err := ledger.New(ledger.Config{})
	if err != nil {
		return err
	}
	var rep ledger.VerifyReport
	if err := db.View(func(r storage.Reader) error {
		var err error
		rep, err = l.Verify(r)
		return err
	}); err != nil {
		return fmt.Errorf("ledger verify: %w", err)
	}
	fmt.Fprintf(stdout, "entries checked  %d\nhead             %s\nbalances         %d\nopen holds       %d\n",
		rep.Entries, rep.Head, rep.Balances, rep.OpenHolds)
	for _, p := range rep.Problems {
		fmt.Fprintln(stdout, "problem         ", p.String())
	}
	if !rep.OK() {
		if rep.ProblemCount > len(rep.Problems) {
			fmt.Fprintf(stdout, "... and %d more\n", rep.ProblemCount-len(rep.Problems))
		}
		return fmt.Errorf("ledger verify: %d differences", rep.ProblemCount)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
