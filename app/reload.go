package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"kirim/config"
)

// Reloaded says what a reload changed.
type Reloaded struct {
	Accounts, Keys, RateCards int
	// Callbacks counts the configured callback endpoints added, changed or removed.
	Callbacks int
	LogLevel  string
	// NeedRestart names, by key, the settings that changed but take effect only at the next
	// start (addresses, storage, numbers...); they were left as they are.
	NeedRestart []string
}

// Reload applies what can change without a restart from cfg, a fresh reading of the
// configuration (SIGHUP): accounts and their keys, rate cards, and the log level. It
// is all or nothing: if any part is refused, nothing changed. Other settings that
// differ are named in NeedRestart and left as they are.
func (m *Main) Reload(cfg *config.Config) (Reloaded, error) {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	if m.API == nil || m.Ledger == nil {
		return Reloaded{}, errors.New("reload: Kirim is not running")
	}
	if err := checkDemoKeys(cfg); err != nil {
		return Reloaded{}, err
	}
	accounts, keys, err := m.apiKeys(cfg)
	if err != nil {
		return Reloaded{}, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Server.LogLevel)); err != nil {
		return Reloaded{}, fmt.Errorf("config: server.log_level: %w", err)
	}
	// The ledger checks the most (currencies may not change): it goes first, and the
	// keys, which cannot fail after apiKeys, second.
	if err := m.Ledger.Reload(m.ledgerConfig(cfg)); err != nil {
		return Reloaded{}, err
	}
	if err := m.API.SetKeys(accounts, keys); err != nil {
		return Reloaded{}, err
	}
	callbacks := 0
	if m.Events != nil {
		n, err := m.Events.ReloadConfig(context.Background(), configEndpoints(cfg))
		if err != nil {
			// The file was validated; what the outbox refuses here (an address it
			// resolves to link-local) leaves the old endpoints in place.
			m.Logger.Error("kirim: reload: callbacks", "err", err)
		}
		callbacks = n
	}
	if m.LogLevel != nil {
		m.LogLevel.Set(level)
	}
	if err := m.openingBalances(cfg); err != nil {
		m.Logger.Error("kirim: reload: opening balances", "err", err)
	}
	return Reloaded{Accounts: len(accounts), Keys: len(keys), RateCards: len(cfg.RateCards), Callbacks: callbacks, LogLevel: level.String(),
		NeedRestart: cfg.NeedRestart(m.Config)}, nil
}
