// Package apptest runs a whole Kirim in the test's process, on free ports and a
// temporary data directory, for the tests of app and of the commands that talk to it.
package apptest

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"kirim/api"
	"kirim/app"
	"kirim/config"
	"kirim/internal/kirimtest"
	"kirim/internal/openapicheck"
)

// ExamplePath is config.example.toml at the module's root.
func ExamplePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "config.example.toml")
}

// Example runs Kirim with config.example.toml on free ports, a temporary data directory
// and a fast sandbox review; env adds KIRIM_* overrides. The API client holds the demo
// key.
func Example(tb testing.TB, env ...string) (*app.Main, *kirimtest.API) {
	tb.Helper()
	src, err := os.ReadFile(ExamplePath())
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Parse("config.example.toml", src, append([]string{
		"KIRIM_SERVER_LISTEN=127.0.0.1:0",
		"KIRIM_SERVER_DATA_DIR=" + tb.TempDir(),
		"KIRIM_SANDBOX_LISTEN=127.0.0.1:0",
		"KIRIM_SANDBOX_REVIEW_DELAY=20ms",
		"KIRIM_SANDBOX_STATUS_DELAY=10ms",
	}, env...))
	if err != nil {
		tb.Fatal(err)
	}
	return Start(tb, cfg, app.DemoKey)
}

// Start runs a Kirim for cfg until the test ends, and an API client with key.
func Start(tb testing.TB, cfg *config.Config, key string) (*app.Main, *kirimtest.API) {
	tb.Helper()
	m := app.NewMain(cfg)
	m.Logger = slog.New(slog.DiscardHandler)
	m.WrapHandler = openapicheck.New(tb, api.OpenAPI()).Handler
	if err := m.Run(context.Background()); err != nil {
		_ = m.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m, &kirimtest.API{T: tb, Base: "http://" + m.APIAddr, Key: key,
		HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}
