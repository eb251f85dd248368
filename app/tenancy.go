package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"kirim/api"
	"kirim/config"
	"kirim/ledger"
	"kirim/tenant"
)

// DemoOperatorKey is the example config's operator key; like DemoKey it is refused
// unless the provider is the sandbox.
const DemoOperatorKey = "kirim_demo_operator_change_me"

// keyFlushEvery is how often the last use of the API's keys is written.
const keyFlushEvery = time.Minute

// apiKeys lists the accounts (the configuration's, then those made through the API)
// and the configured keys, operators' included, as the API checks them.
func (m *Main) apiKeys(cfg *config.Config) ([]api.Account, []api.Key, error) {
	var accounts []api.Account
	var keys []api.Key
	inConfig := map[string]bool{}
	for _, a := range cfg.Accounts {
		inConfig[a.ID] = true
		accounts = append(accounts, api.Account{ID: a.ID, Name: a.Name, Currency: a.Currency, Timezone: a.Timezone,
			DefaultRegion: a.DefaultRegion, Locale: a.Locale, Source: "config"})
		for _, k := range a.Keys {
			sum, err := keyHash(k.Key, k.KeySHA256)
			if err != nil {
				return nil, nil, fmt.Errorf("config: accounts %q: keys %q: %w", a.ID, k.Name, err)
			}
			keys = append(keys, api.Key{Name: k.Name, Account: a.ID, Scopes: k.Scopes, SHA256: sum})
		}
	}
	for _, a := range m.storedAccounts() {
		if !inConfig[a.ID] {
			accounts = append(accounts, api.Account{ID: a.ID, Name: a.Name, Currency: a.Currency, Timezone: a.Timezone,
				DefaultRegion: a.DefaultRegion, Locale: a.Locale, Source: "api"})
		}
	}
	for _, o := range cfg.Operators {
		sum, err := keyHash(o.Key, o.KeySHA256)
		if err != nil {
			return nil, nil, fmt.Errorf("config: operators %q: %w", o.Name, err)
		}
		keys = append(keys, api.Key{Name: o.Name, Operator: true, SHA256: sum})
	}
	return accounts, keys, nil
}

func keyHash(plain, hexSum string) ([32]byte, error) {
	if plain != "" {
		return api.HashKey(plain), nil
	}
	return api.ParseKeyHash(hexSum)
}

func (m *Main) storedAccounts() []tenant.Account {
	if m.Tenants == nil {
		return nil
	}
	return m.Tenants.Accounts()
}

// ledgerAccounts adds the accounts made through the API to the ledger's: they live
// in storage, not in the file, and a reload keeps them.
func (m *Main) ledgerAccounts(cfg *config.Config, lc *ledger.Config) {
	inConfig := map[string]bool{}
	for _, a := range cfg.Accounts {
		inConfig[a.ID] = true
	}
	for _, a := range m.storedAccounts() {
		if inConfig[a.ID] {
			continue
		}
		loc, err := time.LoadLocation(a.Timezone)
		if err != nil {
			loc = time.UTC
		}
		lc.Accounts = append(lc.Accounts, ledger.Account{ID: a.ID, Currency: a.Currency, Timezone: loc, LowBalance: a.LowBalance})
	}
}

// createAccount makes an account through the API durable, then live in the ledger and
// the API at once, as a reload would.
func (m *Main) createAccount(ctx context.Context, na api.NewAccount, by string) (api.Account, error) {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	cfg := m.Config
	_, err := m.Tenants.CreateAccount(ctx, tenant.Account{ID: na.ID, Name: na.Name, Currency: na.Currency,
		Timezone: na.Timezone, DefaultRegion: na.DefaultRegion, Locale: na.Locale, LowBalance: na.LowBalance, CreatedBy: by},
		func(id string) bool {
			for _, a := range cfg.Accounts {
				if a.ID == id {
					return true
				}
			}
			return false
		})
	if err != nil {
		return api.Account{}, err
	}
	if err := m.Ledger.Reload(m.ledgerConfig(cfg)); err != nil {
		return api.Account{}, fmt.Errorf("app: create account %s: %w", na.ID, err)
	}
	accounts, keys, err := m.apiKeys(cfg)
	if err != nil {
		return api.Account{}, err
	}
	if err := m.API.SetKeys(accounts, keys); err != nil {
		return api.Account{}, err
	}
	return api.Account{ID: na.ID, Name: na.Name, Currency: na.Currency, Timezone: na.Timezone,
		DefaultRegion: na.DefaultRegion, Locale: na.Locale, Source: "api"}, nil
}

// flushKeyUse writes the keys' last use every keyFlushEvery until ctx ends, and once
// more then.
func (m *Main) flushKeyUse(ctx context.Context) {
	t := time.NewTicker(keyFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := m.Tenants.Flush(context.Background()); err != nil {
				m.Logger.Error("kirim: key last use", "err", err)
			}
			return
		case <-t.C:
			if err := m.Tenants.Flush(ctx); err != nil {
				m.Logger.Error("kirim: key last use", "err", err)
			}
		}
	}
}

// checkDemoKeys refuses the example's demo keys unless the provider is the sandbox.
func checkDemoKeys(cfg *config.Config) error {
	if cfg.Provider.Kind == config.ProviderSandbox {
		return nil
	}
	isDemo := func(plain, sum, demo string) bool {
		return plain == demo || sum == hex.EncodeToString(hashOf(demo))
	}
	for _, a := range cfg.Accounts {
		for _, k := range a.Keys {
			if isDemo(k.Key, k.KeySHA256, DemoKey) || isDemo(k.Key, k.KeySHA256, DemoOperatorKey) {
				return fmt.Errorf("config: accounts %q: the demo API key is only allowed with provider.kind = \"sandbox\"; make a key with `kirim key new`", a.ID)
			}
		}
	}
	for _, o := range cfg.Operators {
		if isDemo(o.Key, o.KeySHA256, DemoOperatorKey) || isDemo(o.Key, o.KeySHA256, DemoKey) {
			return fmt.Errorf("config: operators %q: the demo operator key is only allowed with provider.kind = \"sandbox\"; make a key with `kirim key new`", o.Name)
		}
	}
	return nil
}
