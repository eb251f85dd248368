package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"kirim/app"
	"kirim/app/apptest"
	"kirim/config"
)

// TestDemoKeysOnlyWithTheSandbox starts the example configuration against a cloud
// provider with each demo key still in it, plainly or as its hash: Kirim refuses to
// start, naming the key.
func TestDemoKeysOnlyWithTheSandbox(t *testing.T) {
	src, err := os.ReadFile(apptest.ExamplePath())
	if err != nil {
		t.Fatal(err)
	}
	hash := func(k string) string { h := sha256.Sum256([]byte(k)); return hex.EncodeToString(h[:]) }
	cloud := []string{"KIRIM_PROVIDER_KIND=cloud", "KIRIM_PROVIDER_TOKEN=t", "KIRIM_ACCOUNTS_DEMO_OPENING_BALANCE=0",
		"KIRIM_SERVER_DATA_DIR=" + t.TempDir(), "KIRIM_SERVER_LISTEN=127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"demo account key", []string{"KIRIM_OPERATORS_DEMO_OPERATOR_KEY=", "KIRIM_OPERATORS_DEMO_OPERATOR_KEY_SHA256=" + hash("ops_key_0123456789abcdef")}, "demo API key"},
		{"demo operator key as its hash", []string{"KIRIM_ACCOUNTS_DEMO_KEYS_DEMO_KEY=", "KIRIM_ACCOUNTS_DEMO_KEYS_DEMO_KEY_SHA256=" + hash("acct_key_0123456789abcdef"),
			"KIRIM_OPERATORS_DEMO_OPERATOR_KEY=", "KIRIM_OPERATORS_DEMO_OPERATOR_KEY_SHA256=" + hash(app.DemoOperatorKey)}, "demo operator key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("config.example.toml", src, append(append([]string{}, cloud...), tc.env...))
			if err != nil {
				t.Fatal(err)
			}
			m := app.NewMain(cfg)
			err = m.Run(context.Background())
			_ = m.Close()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, want an error naming the %s", err, tc.want)
			}
		})
	}
	// A plain operator key is refused outside the sandbox even when it is not the demo's.
	_, err = config.Parse("config.example.toml", src, append(append([]string{}, cloud...), "KIRIM_OPERATORS_DEMO_OPERATOR_KEY=ops_key_0123456789abcdef"))
	if err == nil || !strings.Contains(err.Error(), "operators[0].key") {
		t.Fatalf("a plain operator key with the cloud provider: %v", err)
	}
}
