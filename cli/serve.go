package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"

	"kirim/app"
	"kirim/config"
	"kirim/logging"
	"kirim/memory"
)

// cmdServe runs Kirim until SIGINT or SIGTERM, then drains and stops.
func cmdServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("serve", "kirim serve [--config FILE] [--listen ADDR] [--data DIR] [--log-format text|json]",
		"Runs Kirim: the API, the send engine, the webhook receiver and, with provider.kind = \"sandbox\", the embedded Cloud API simulator.")
	cfgPath := fs.String("config", "config.example.toml", "configuration file")
	listen := fs.String("listen", "", "API address (overrides server.listen)")
	data := fs.String("data", "", "data directory (overrides server.data_dir)")
	logFormat := fs.String("log-format", "", "text or json (overrides server.log_format)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef(fs, "serve: unexpected argument %q", fs.Arg(0))
	}
	load := func() (*config.Config, error) {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return nil, err
		}
		if *listen != "" {
			cfg.Server.Listen = *listen
		}
		if *data != "" {
			cfg.Server.DataDir = *data
		}
		if *logFormat != "" {
			cfg.Server.LogFormat = *logFormat
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	m := app.NewMain(cfg)
	if m.Logger, m.LogLevel, err = logging.New(stderr, cfg.Server.LogFormat, cfg.Server.LogLevel); err != nil {
		return usagef(fs, "serve: %v", err)
	}
	// KIRIM_CPUPROFILE=FILE profiles the whole run, for tuning with `go tool pprof`.
	if path := os.Getenv("KIRIM_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	// KIRIM_PPROF=ADDR serves net/http/pprof there, for looking at a running server's
	// heap and goroutines (never on the API's address).
	if addr := os.Getenv("KIRIM_PPROF"); addr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
		go func() { m.Logger.Info("kirim: pprof", "err", http.ListenAndServe(addr, mux)) }()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads; registered before Run so an early one is not the default action,
	// which ends the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if err := m.Run(ctx); err != nil {
		_ = m.Close()
		return err
	}
	// Process-wide, so here and not in Run: tests run many Mains in one process.
	memory.SetLimit(cfg.Server.MemoryLimitMB)
	go (&memory.Trimmer{Logger: m.Logger}).Run(ctx)
	if dir, err := filepath.Abs(cfg.Server.DataDir); err == nil {
		go (&memory.Pager{Dir: dir, BudgetMB: cfg.Server.MemoryLimitMB, Logger: m.Logger}).Run(ctx)
	}
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-hup:
			reload(m, load)
		}
	}
	m.Logger.Info("kirim: shutting down")
	if err := m.Close(); err != nil {
		return fmt.Errorf("serve: close: %w", err)
	}
	return nil
}

// reload reads the configuration again and applies what can change without a
// restart; a file that does not load changes nothing. Either way the log says so.
func reload(m *app.Main, load func() (*config.Config, error)) {
	cfg, err := load()
	if err == nil {
		var r app.Reloaded
		if r, err = m.Reload(cfg); err == nil {
			m.Logger.Info("kirim: reloaded the configuration", "accounts", r.Accounts, "keys", r.Keys,
				"rate_cards", r.RateCards, "callbacks_changed", r.Callbacks, "log_level", r.LogLevel)
			if len(r.NeedRestart) > 0 {
				m.Logger.Warn("kirim: reload: these settings changed and take effect at the next restart", "settings", r.NeedRestart)
			}
			return
		}
	}
	m.Logger.Error("kirim: reload refused; nothing changed", "err", err)
}
