package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"kirim/api"
	"kirim/config"
	"kirim/template"
)

// templatesSyncTimeout bounds the whole sync request; the server pulls every WABA's
// list from the provider before it answers.
const templatesSyncTimeout = 3 * time.Minute

// serverTarget resolves the running server's address and the API key a command uses:
// the flags, else the config file's listen address and the key keyOf picks from it,
// else the default address. cmd names the command in the error.
func serverTarget(cfgPath, server, key, cmd string, keyOf func(*config.Config) string) (base, apiKey string, err error) {
	base, apiKey = server, key
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return "", "", err
		}
		if base == "" {
			base = "http://" + dialAddr(cfg.Server.Listen)
		}
		if apiKey == "" {
			apiKey = keyOf(cfg)
		}
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	if apiKey == "" {
		return "", "", fmt.Errorf("%s: give an API key with --key or KIRIM_API_KEY", cmd)
	}
	return base, apiKey, nil
}

// cmdTemplates runs template commands through the running server: serve holds the
// Badger directory, so only it can write the store.
func cmdTemplates(ctx context.Context, args []string, stdout io.Writer) error {
	_, rest, err := subcommand("templates", "kirim templates sync [--config FILE] [--server URL] [--key KEY] [--from ALIAS]", args, "sync")
	if err != nil {
		return err
	}
	fs := newFlags("templates sync", "kirim templates sync [--config FILE] [--server URL] [--key KEY] [--from ALIAS]",
		"Asks the running server to pull the provider's template list into its store.")
	cfgPath := fs.String("config", "", "configuration file; gives the server address and, failing --key, an admin key")
	server := fs.String("server", "", "the running Kirim's API address (default from --config, else http://127.0.0.1:8080)")
	key := fs.String("key", os.Getenv("KIRIM_API_KEY"), "an admin API key (default $KIRIM_API_KEY)")
	from := fs.String("from", "", "sync only this number's WABA (alias); default every WABA")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	base, apiKey, err := serverTarget(*cfgPath, *server, *key, "templates sync", configAdminKey)
	if err != nil {
		return err
	}
	body := []byte("{}")
	if *from != "" {
		body, _ = json.Marshal(map[string]string{"from": *from})
	}
	ctx, cancel := context.WithTimeout(ctx, templatesSyncTimeout)
	defer cancel()
	var out struct {
		Data []template.SyncResult `json:"data"`
	}
	if err := callServer(ctx, http.DefaultClient, http.MethodPost, base+"/v1/templates/sync", apiKey, "application/json", bytes.NewReader(body), http.StatusOK, &out); err != nil {
		return fmt.Errorf("templates sync: %w", err)
	}
	for _, r := range out.Data {
		fmt.Fprintf(stdout, "templates sync: WABA %s: %d added, %d updated, %d removed, %d unchanged, %d skipped\n",
			r.WABAID, r.Added, r.Updated, r.Removed, r.Unchanged, r.Skipped)
	}
	return nil
}

// dialAddr turns a listen address into one to dial: an unspecified host is this machine.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// configAdminKey returns the first admin key written in clear in the configuration (the
// example's demo key); real keys are configured by hash and must be given.
func configAdminKey(cfg *config.Config) string {
	for _, a := range cfg.Accounts {
		for _, k := range a.Keys {
			if k.Key != "" && slices.Contains(k.Scopes, api.ScopeAdmin) {
				return k.Key
			}
		}
	}
	return ""
}
