// Package sandboxtest serves a sandbox to other packages' tests over a real loopback
// HTTP server, with a Cloud API client pointed at it.
package sandboxtest

import (
	"net/http/httptest"
	"testing"

	"kirim/provider"
	"kirim/provider/sandbox"
)

// Serve serves sb on an httptest server until the test ends (then closes both) and
// returns a client for the sandbox's default number and WABA.
func Serve(tb testing.TB, sb *sandbox.Sandbox) *provider.Client {
	tb.Helper()
	srv := httptest.NewServer(sb.Handler())
	tb.Cleanup(func() {
		srv.Close()
		sb.Close()
	})
	return provider.New(provider.Config{BaseURL: srv.URL, PhoneNumberID: sandbox.DefaultPhoneNumberID, WABAID: sandbox.DefaultWABAID})
}
