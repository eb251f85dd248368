package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"kirim/logging"
	"kirim/provider/sandbox"
)

// cmdSandbox runs the Cloud API simulator alone, e.g. for a system under test that
// speaks the Cloud API itself.
func cmdSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sandbox", "kirim sandbox [--listen ADDR] [flags]", "Runs the Cloud API simulator alone (see docs/sandbox.md).")
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	var opts sandbox.Options
	opts.RegisterFlags(fs.FlagSet)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if opts.Logger, _, err = logging.New(stderr, "text", *level); err != nil {
		return usagef(fs, "sandbox: %v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	sb, err := sandbox.Open(opts)
	if err != nil {
		ln.Close()
		return err
	}
	sb.Start()
	defer sb.Close()
	fmt.Fprintf(stdout, "kirim sandbox: Cloud API on http://%s (inspection: /_sandbox/stats)\n", ln.Addr())
	return serveUntilSignal(ctx, sb.Handler(), ln)
}

// serveUntilSignal serves h on ln until ctx ends or the process gets SIGINT or SIGTERM,
// then shuts the server down, letting requests in progress finish for a few seconds.
func serveUntilSignal(ctx context.Context, h http.Handler, ln net.Listener) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
