package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"kirim/config"
	"kirim/console"
	"kirim/tenant"
)

// The demo sign-ins of the example configuration. They are made only where the
// sandbox is the provider, and the console refuses them anywhere else (a data
// directory moved to a real provider keeps them, unusable).
const (
	DemoOperatorLogin    = "operator"
	DemoOperatorPassword = "kirim-demo-operator"
	DemoAdminLogin       = "demo-admin"
	DemoAdminPassword    = "kirim-demo-admin"
)

// startConsole builds the web console in front of handler: / and /console/ are its,
// the rest the API's.
func (m *Main) startConsole(ctx context.Context, handler http.Handler) (http.Handler, error) {
	sandboxed := m.Config.Provider.Kind == config.ProviderSandbox
	c, err := console.New(console.Options{API: m.API, Users: m.Tenants, Audit: m.Audit, Clock: m.Clock,
		Logger: m.Logger.With("component", "console"), DemoUsers: sandboxed, SecureCookies: m.Config.Server.SecureCookies})
	if err != nil {
		return nil, err
	}
	m.Console = c
	if sandboxed {
		if err := m.demoUsers(ctx); err != nil {
			return nil, err
		}
	}
	return c.Mount(handler), nil
}

// demoUsers makes the example's operator and an admin of its first account, once.
func (m *Main) demoUsers(ctx context.Context) error {
	users := []tenant.NewUser{{Login: DemoOperatorLogin, Role: tenant.RoleOperator, Password: DemoOperatorPassword, CreatedBy: console.DemoCreator}}
	if len(m.Config.Accounts) > 0 {
		users = append(users, tenant.NewUser{Login: DemoAdminLogin, Account: m.Config.Accounts[0].ID, Role: tenant.RoleAdmin,
			Password: DemoAdminPassword, CreatedBy: console.DemoCreator})
	}
	for _, u := range users {
		if _, err := m.Tenants.CreateUser(ctx, u); err != nil && !errors.Is(err, tenant.ErrExists) {
			return fmt.Errorf("console: demo user %s: %w", u.Login, err)
		}
	}
	return nil
}
