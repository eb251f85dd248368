// Command kirim is a self-hosted WhatsApp Business proactive-messaging appliance: a send
// API, templates, a tier-aware send engine, a prepaid ledger, a provider webhook
// receiver, and a built-in Cloud API simulator (the sandbox). This file is the CLI and
// the wiring; the packages hold the logic.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"kirim/api"
	"kirim/audit"
	"kirim/campaign"
	"kirim/campaign/lists"
	"kirim/clock"
	"kirim/config"
	"kirim/console"
	"kirim/engine"
	"kirim/events"
	"kirim/httpguard"
	"kirim/ledger"
	"kirim/metrics"
	"kirim/provider"
	"kirim/provider/sandbox"
	"kirim/storage"
	"kirim/template"
	"kirim/tenant"
	"kirim/webhook"
)

// DemoKey is the example config's API key; Run refuses it unless the provider is the
// sandbox.
const DemoKey = "kirim_demo_key_change_me"

// Main is one running Kirim: Run starts it, Close stops it. End-to-end tests reuse it.
type Main struct {
	Config *config.Config
	Logger *slog.Logger
	// LogLevel, when set, is the level of Logger's handler: Reload changes it.
	LogLevel *slog.LevelVar
	Clock    clock.Clock

	DB      *storage.DB
	Sandbox *sandbox.Sandbox
	Engine  *engine.Engine
	Webhook *webhook.Receiver
	API     *api.Server
	Console *console.Console
	Catalog *template.Store
	Ledger  *ledger.Ledger
	Metrics *metrics.Metrics
	// WrapHandler, when set, wraps the API's handler (tests check every answer against
	// the OpenAPI document this way).
	WrapHandler func(http.Handler) http.Handler
	Clients     map[string]*provider.Client // by number alias
	APIAddr     string                      // the address the API listens on, once running
	SandAddr    string

	servers   []*http.Server
	readiness struct {
		mu  sync.Mutex
		at  time.Time
		err error
	}
	cancel   context.CancelFunc
	bg       sync.WaitGroup
	closed   bool
	reloadMu sync.Mutex

	// Tenants keeps the accounts and keys made through the API; Audit the audit log.
	Tenants *tenant.Store
	Audit   *audit.Log
	// Events is the outbox of events for the customers' endpoints (events.go).
	Events *events.Outbox

	ledgerJob *ledgerJob        // wire_ledger.go
	pollNow   chan struct{}     // tier.go: a number webhook asks for an early poll
	Lists     *lists.Store      // wire_lists.go
	Campaigns *campaign.Service // wire_campaigns.go
}

// NewMain returns a Main for cfg with default logger and clock.
func NewMain(cfg *config.Config) *Main {
	return &Main{Config: cfg, Logger: slog.Default(), Clock: clock.Real{}, Clients: map[string]*provider.Client{}}
}

// Run opens storage, starts the sandbox (when it is the provider), the engine, the
// webhook applier and the HTTP server, and returns once everything listens.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	if err := checkDemoKeys(cfg); err != nil {
		return err
	}
	apiLn, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Server.Listen, err)
	}
	m.APIAddr = apiLn.Addr().String()

	db, err := storage.Open(storage.Options{
		Dir:            cfg.Server.DataDir,
		MemTableSize:   int64(cfg.Storage.MemTableMB) << 20,
		TableSize:      int64(cfg.Storage.TableMB * (1 << 20)),
		NumMemtables:   cfg.Storage.NumMemtables,
		Compression:    storage.Compression(cfg.Storage.Compression), // the same names
		BlockCacheSize: int64(cfg.Storage.BlockCacheMB) << 20,
		IndexCacheSize: int64(cfg.Storage.IndexCacheMB) << 20,
		GCInterval:     cfg.Storage.GCInterval.Duration,
		Logger:         m.Logger,
	})
	if err != nil {
		apiLn.Close()
		return err
	}
	m.DB = db

	baseURL := cfg.Provider.BaseURL
	if cfg.Provider.Kind == config.ProviderSandbox {
		addr, err := m.startSandbox()
		if err != nil {
			apiLn.Close()
			return err
		}
		baseURL = "http://" + addr
	}
	m.Metrics = metrics.New()
	httpClient := &http.Client{Transport: m.Metrics.InstrumentProvider(provider.NewTransport()), Timeout: cfg.Provider.Timeout.Duration}
	var numbers []engine.Number
	for _, n := range cfg.Numbers {
		c := provider.New(provider.Config{
			BaseURL: first(n.BaseURL, baseURL), Version: first(n.APIVersion, cfg.Provider.APIVersion),
			Token: first(n.Token, cfg.Provider.Token), PhoneNumberID: n.PhoneNumberID, WABAID: n.WABAID, HTTP: httpClient,
		})
		m.Clients[n.Alias] = c
		numbers = append(numbers, engine.Number{Alias: n.Alias, Account: n.Account, PhoneNumberID: n.PhoneNumberID, WABAID: n.WABAID, Sender: c, MPS: n.ThroughputMPS})
	}
	// The default number goes first: the engine takes it as the default.
	for i := range numbers {
		if cfg.Numbers[i].Default {
			numbers[0], numbers[i] = numbers[i], numbers[0]
			break
		}
	}
	// Accounts made through the API join the configuration's before the ledger opens.
	if m.Tenants, err = tenant.Open(db, m.Clock); err != nil {
		apiLn.Close()
		return err
	}
	m.Audit = audit.New(db, m.Clock)
	// The outbox before the services that write events in their own transactions.
	if err := m.setupEvents(); err != nil {
		apiLn.Close()
		return err
	}
	biller, err := m.setupLedger()
	if err != nil {
		apiLn.Close()
		return err
	}
	// Templates first: the engine asks their status when it claims a template send.
	catalog := m.setupTemplates(ctx)
	// Campaigns before the engine: the engine reports their messages' changes to them.
	if err := m.setupLists(); err != nil {
		apiLn.Close()
		return err
	}
	if err := m.setupCampaigns(catalog); err != nil {
		apiLn.Close()
		return err
	}
	m.Engine, err = engine.New(m.withTier(engine.Options{
		DB: db, Clock: m.Clock, Numbers: numbers, Logger: m.Logger, Biller: biller,
		TemplateStatus: func(waba, name, language string) string {
			if t, ok := catalog.Lookup(waba, name, language); ok {
				return string(t.Status)
			}
			return ""
		},
		MaxAttempts: cfg.Engine.MaxAttempts, LeaseTimeout: cfg.Engine.LeaseTimeout.Duration,
		UnknownTimeout: cfg.Engine.UnknownTimeout.Duration, IdempotencyTTL: cfg.Engine.IdempotencyTTL.Duration, ResendUnknown: cfg.Engine.UnknownPolicy == "resend",
		Workers: cfg.Engine.Workers, SendTimeout: cfg.Provider.Timeout.Duration,
		OnState: m.messageEvents, OnNumber: m.numberEvent, OnInbound: m.inboundEvent,
		Observe: m.Campaigns.Observe, OnChange: func(ms []*engine.Message) {
			m.Campaigns.OnChange(ms)
			m.Metrics.ObserveMessages(ms)
		},
	}))
	if err != nil {
		apiLn.Close()
		return err
	}
	if err := m.Engine.Start(ctx); err != nil {
		apiLn.Close()
		return err
	}
	m.Campaigns.SetEngine(m.Engine)
	if err := m.Campaigns.Start(ctx); err != nil {
		apiLn.Close()
		return err
	}

	bgCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.Webhook = webhook.New(webhook.Options{
		DB: db, Clock: m.Clock, Logger: m.Logger, AppSecret: cfg.Webhook.AppSecret, VerifyToken: cfg.Webhook.VerifyToken,
		MaxBody: cfg.Webhook.MaxBodyBytes, MaxConcurrentBodies: cfg.Webhook.MaxConcurrentBodies, ReadTimeout: cfg.Server.ReadTimeout.Duration,
		Apply: webhook.Applier{
			Statuses: func(ctx context.Context, u []engine.StatusUpdate) error {
				_, err := m.Engine.ApplyStatuses(ctx, u)
				return err
			},
			Inbound: func(ctx context.Context, in []engine.Inbound) error {
				_, err := m.Engine.RecordInbound(ctx, in)
				return err
			},
			Other:       m.applyOther,
			Preferences: m.Engine.ApplyPreferences,
		},
	})
	m.Webhook.Start(bgCtx)
	m.Events.Start(bgCtx)
	m.startTier(bgCtx)

	accounts, keys, err := m.apiKeys(cfg)
	if err != nil {
		apiLn.Close()
		return err
	}
	m.bg.Add(1)
	go func() { defer m.bg.Done(); m.flushKeyUse(bgCtx) }()
	m.API, err = api.New(api.Options{
		Engine: m.Engine, Webhook: m.Webhook, Templates: catalog, Accounts: accounts, Keys: keys,
		Clock: m.Clock, Logger: m.Logger, MaxBody: cfg.Server.MaxBodyBytes, Ledger: m.ledgerAPI(),
		BodyGate:    httpguard.New(cfg.Server.MaxConcurrentBodies, cfg.Server.ReadTimeout.Duration),
		ReadTimeout: cfg.Server.ReadTimeout.Duration, WriteTimeout: cfg.Server.WriteTimeout.Duration,
		Ready: m.ready, TemplateStore: m.Catalog, TemplateProviders: m.templateProviders(),
		Media: m.mediaSources(),
		Lists: m.Lists, Campaigns: m.Campaigns, Metrics: m.Metrics.Handler(cfg.Server.MetricsToken),
		Tenants: m.Tenants, Audit: m.Audit, CreateAccount: m.createAccount, Instance: m.DB, Events: m.Events,
		Observe: m.Metrics.ObserveRequest, NoAccessLog: !cfg.Server.AccessLog,
	})
	if err != nil {
		apiLn.Close()
		return err
	}
	// A request must arrive within ReadTimeout (headers within ReadHeaderTimeout); an
	// upload extends its own deadline as bytes arrive. No write timeout: a backup or an
	// export streams for as long as it takes.
	handler := m.API.Handler()
	if m.WrapHandler != nil {
		handler = m.WrapHandler(handler)
	}
	if handler, err = m.startConsole(ctx, handler); err != nil {
		apiLn.Close()
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout.Duration,
		ReadTimeout: cfg.Server.ReadTimeout.Duration, WriteTimeout: cfg.Server.WriteTimeout.Duration,
		IdleTimeout: cfg.Server.IdleTimeout.Duration, MaxHeaderBytes: maxHeaderBytes}
	m.Metrics.SetSources(metrics.Sources{Engine: m.Engine, Webhook: m.Webhook, Ledger: m.Ledger, DB: m.DB, Events: m.Events})
	m.serve(srv, apiLn)
	m.Logger.Info("kirim: serving", "api", "http://"+m.APIAddr, "console", "http://"+m.APIAddr+console.Prefix,
		"provider", cfg.Provider.Kind, "data", cfg.Server.DataDir)
	if cfg.Provider.Kind == config.ProviderSandbox {
		// The demo sign-ins are printed only for the sandbox, where they work.
		m.Logger.Info("kirim: console demo sign-in (sandbox only)", "operator", DemoOperatorLogin+" / "+DemoOperatorPassword,
			"account_admin", DemoAdminLogin+" / "+DemoAdminPassword)
	}
	return nil
}

func (m *Main) serve(srv *http.Server, ln net.Listener) {
	m.servers = append(m.servers, srv)
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("kirim: http server", "addr", ln.Addr().String(), "err", err)
		}
	}()
}

// startSandbox runs the embedded Cloud API simulator on its own loopback port, posting
// its webhooks to this Kirim's /webhook.
func (m *Main) startSandbox() (string, error) {
	cfg := m.Config
	ln, err := net.Listen("tcp", cfg.Sandbox.Listen)
	if err != nil {
		return "", fmt.Errorf("sandbox: listen %s: %w", cfg.Sandbox.Listen, err)
	}
	var nums []sandbox.Number
	for _, n := range cfg.Numbers {
		nums = append(nums, sandbox.Number{PhoneNumberID: n.PhoneNumberID, WABAID: n.WABAID,
			DisplayPhoneNumber: phoneDigits(n.Phone), Throughput: n.ThroughputMPS, MessagingLimit: n.MessagingLimit})
	}
	opts := sandbox.Options{
		Clock: m.Clock, AppSecret: cfg.Webhook.AppSecret, WebhookURL: "http://" + m.APIAddr + "/webhook",
		Token: cfg.Provider.Token, Rules: cfg.Provider.Rules, Numbers: nums, PortfolioLimit: cfg.Provider.PortfolioLimit,
		// Meta's pair rate, whatever the numbers are configured to keep to.
		PairGap: engine.DefaultPairGap, PairBurst: engine.DefaultPairBurst,
		ReviewDelay: cfg.Sandbox.ReviewDelay.Duration, SentDelay: 0, DeliveredDelay: cfg.Sandbox.StatusDelay.Duration,
		ReadDelay: cfg.Sandbox.StatusDelay.Duration, ReadRate: cfg.Sandbox.ReadRate, PacingRate: cfg.Sandbox.PacingRate,
		WebhookBatch: cfg.Sandbox.WebhookBatch,
		Logger:       m.Logger.With("component", "sandbox"), DataDir: filepath.Join(cfg.Server.DataDir, "sandbox"),
	}
	if cfg.Sandbox.FailRate > 0 {
		opts.Chaos.AsyncFailures = map[int]float64{provider.CodeUndeliverable: cfg.Sandbox.FailRate}
	}
	if m.Sandbox, err = sandbox.Open(opts); err != nil {
		ln.Close()
		return "", err
	}
	m.Sandbox.Start()
	m.SandAddr = ln.Addr().String()
	m.serve(&http.Server{Handler: m.Sandbox.Handler(), ReadHeaderTimeout: 10 * time.Second}, ln)
	m.Logger.Info("kirim: sandbox provider", "addr", "http://"+m.SandAddr, "inspect", "http://"+m.SandAddr+"/_sandbox/stats")
	return m.SandAddr, nil
}

// Readiness is checked at most every readyTTL, each provider probe bounded by readyWait.
const (
	readyTTL  = 10 * time.Second
	readyWait = 3 * time.Second
)

// ready checks storage and the default number at the provider, at most every readyTTL.
func (m *Main) ready() error {
	r := &m.readiness
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.at) < readyTTL {
		return r.err
	}
	r.at = time.Now()
	r.err = m.DB.View(func(r storage.Reader) error {
		_, err := r.Get(storage.KeySchemaVersion)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	})
	if r.err != nil {
		r.err = fmt.Errorf("storage: %w", r.err)
		return r.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyWait)
	defer cancel()
	if _, err := m.Clients[m.Engine.DefaultNumber()].GetPhoneNumber(ctx); err != nil {
		r.err = fmt.Errorf("provider: %w", err)
	}
	return r.err
}

// Close stops the HTTP servers (new requests get 503 first), lets in-flight sends
// finish within the shutdown timeout, and closes storage.
func (m *Main) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	timeout := 15 * time.Second
	if m.Config != nil && m.Config.Server.ShutdownTimeout.Duration > 0 {
		timeout = m.Config.Server.ShutdownTimeout.Duration
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if m.API != nil {
		m.API.Drain()
	}
	var errs []error
	for _, s := range m.servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.Campaigns != nil {
		m.Campaigns.Close()
	}
	if m.Lists != nil {
		if err := m.Lists.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if m.Engine != nil {
		if err := m.Engine.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.cancel != nil {
		m.cancel()
		m.Webhook.Wait()
	}
	if m.Events != nil {
		if err := m.Events.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if m.Sandbox != nil {
		m.Sandbox.Close()
	}
	m.bg.Wait()
	m.stopLedger()
	if m.DB != nil {
		// Storage gets what is left of the deadline, but at least storageCloseGrace: its
		// last flush is what makes the next start quick, and the engine may have used up
		// the deadline.
		deadline, _ := ctx.Deadline()
		if least := time.Now().Add(storageCloseGrace); deadline.Before(least) {
			deadline = least
		}
		sctx, scancel := context.WithDeadline(context.Background(), deadline)
		defer scancel()
		if err := m.DB.CloseContext(sctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// maxHeaderBytes caps a request's headers (net/http's default is 1 MiB): Kirim's
// requests carry a key, an idempotency key and a signature.
const maxHeaderBytes = 64 << 10

// storageCloseGrace is the least time a stopping server gives storage to close.
const storageCloseGrace = 5 * time.Second

func hashOf(s string) []byte { h := api.HashKey(s); return h[:] }

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func phoneDigits(e164 string) string {
	out := make([]byte, 0, len(e164))
	for i := 0; i < len(e164); i++ {
		if c := e164[i]; c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}
