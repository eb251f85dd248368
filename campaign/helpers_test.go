package campaign

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kirim/campaign/lists"
	"kirim/clock"
	"kirim/engine"
	"kirim/ledger"
	"kirim/provider"
	"kirim/provider/sandbox"
	"kirim/provider/sandbox/sandboxtest"
	"kirim/storage"
	"kirim/template"
)

var t0 = time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)

const (
	testAccount = "acme"
	waitTimeout = 30 * time.Second
	idr         = 1_000_000
	price       = 514 * idr
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// catalog is a fixed set of templates.
type catalog struct {
	mu sync.Mutex
	m  map[string]*template.Template
}

func (c *catalog) Lookup(_, name, language string) (*template.Template, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[name+"/"+language]
	if !ok {
		return nil, false
	}
	cp := *t
	return &cp, true
}

func (c *catalog) setStatus(name, language string, st template.Status) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[name+"/"+language].Status = st
}

// env is a campaign service feeding a real engine that sends through the real client
// to the sandbox over HTTP, with lists and the ledger, all on one fake clock.
type env struct {
	t     testing.TB
	clk   *clock.Fake
	db    *storage.DB
	sb    *sandbox.Sandbox
	eng   *engine.Engine
	lists *lists.Store
	led   *ledger.Ledger
	cat   *catalog
	svc   atomic.Pointer[Service]
	ctx   context.Context

	svcOpts Options
}

// restart stops the service and starts a new one on the same store, as a restart of
// Kirim would, after running between (the clock may move while it is down).
func (e *env) restart(between func()) {
	e.t.Helper()
	e.svc.Load().Close()
	if between != nil {
		between()
	}
	svc, err := New(e.svcOpts)
	if err != nil {
		e.t.Fatal(err)
	}
	svc.SetEngine(e.eng)
	e.svc.Store(svc)
	if err := svc.Start(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

type envOptions struct {
	limit    int // portfolio messaging limit; 0: unlimited
	balance  int64
	mps      int
	inFlight int
	db       *storage.DB
	clk      *clock.Fake
	// failureMin is the fewest settled messages before the failure-rate auto-pause
	// judges; 0 for the default.
	failureMin int
	// wrap, if set, stands between the engine and the sandbox's client.
	wrap func(engine.Sender) engine.Sender
	// marketingPerDay caps a contact's marketing templates a day (0: no cap).
	marketingPerDay int
	// idle leaves the engine stopped: what the campaigns feed it stays queued.
	idle bool
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	clk := o.clk
	if clk == nil {
		clk = clock.NewFake(t0)
	}
	db := o.db
	if db == nil {
		var err error
		db, err = storage.Open(storage.Options{InMemory: true, MemTableSize: 16 << 20, NumMemtables: 2,
			BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
	}
	limit := o.limit
	if limit == 0 {
		limit = -1
	}
	mps := o.mps
	if mps == 0 {
		mps = 100000
	}
	sb := sandbox.New(sandbox.Options{Clock: clk, Logger: quietLogger(), Seed: 1, ThroughputMPS: 100000, PortfolioLimit: limit})
	sb.Start()
	client := sandboxtest.Serve(t, sb)
	// The sandbox knows the same templates, approved.
	for _, d := range []provider.TemplateDefinition{
		{Name: "promo", Language: "id", Category: "MARKETING", Components: []provider.TemplateComponentDef{{Type: "BODY",
			Text: "Halo {{1}}, pakai voucher {{2}} sebelum akhir bulan.", Example: &provider.TemplateExample{BodyText: [][]string{{"Budi", "HEMAT10"}}}}}},
		{Name: "info", Language: "id", Category: "MARKETING", Components: []provider.TemplateComponentDef{{Type: "BODY",
			Text: "Katalog baru sudah tersedia di toko kami."}}},
	} {
		if _, err := client.CreateTemplate(context.Background(), &d); err != nil {
			t.Fatal(err)
		}
		if err := sb.SetTemplateStatus(d.Name, d.Language, "APPROVED"); err != nil {
			t.Fatal(err)
		}
	}

	led, err := ledger.New(ledger.Config{
		Accounts: []ledger.Account{{ID: testAccount, Currency: "IDR"}},
		RateCards: []ledger.RateCard{{Effective: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Currency: "IDR",
			Prices: []ledger.Price{{Market: ledger.MarketDefault, Category: "marketing", UpTo: []int64{250_000}, Micros: []int64{price, 510 * idr}}}}},
		Now: clk.Now, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := lists.Open(db, clk, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ls.Close() })
	cat := &catalog{m: map[string]*template.Template{
		"promo/id": {Name: "promo", Language: "id", Category: template.CategoryMarketing, Status: template.StatusApproved,
			Body: template.Body{Text: "Halo {{1}}, pakai voucher {{2}} sebelum akhir bulan.", Examples: []string{"Budi", "HEMAT10"}}},
		"info/id": {Name: "info", Language: "id", Category: template.CategoryMarketing, Status: template.StatusApproved,
			Body: template.Body{Text: "Katalog baru sudah tersedia di toko kami."}},
	}}
	svcOpts := Options{DB: db, Clock: clk, Logger: quietLogger(), Lists: ls, Templates: cat, Ledger: led, InFlight: o.inFlight,
		FailureMin: o.failureMin}
	svc, err := New(svcOpts)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clk: clk, db: db, sb: sb, lists: ls, led: led, cat: cat, ctx: context.Background(), svcOpts: svcOpts}
	e.svc.Store(svc)
	var sender engine.Sender = client
	if o.wrap != nil {
		sender = o.wrap(client)
	}
	eng, err := engine.New(engine.Options{
		DB: db, Clock: clk, Logger: quietLogger(), Workers: 16, Seed: 7, PortfolioLimit: limit, MarketingPerDay: o.marketingPerDay,
		Numbers: []engine.Number{{Alias: "main", Account: testAccount, PhoneNumberID: sandbox.DefaultPhoneNumberID, WABAID: sandbox.DefaultWABAID,
			Sender: sender, MPS: mps}},
		Biller: ledger.NewBiller(led).WithReserve(ReserveID),
		// Through the env, so a restarted service gets the engine's reports.
		Observe: func(tx storage.Txn, m *engine.Message, prev engine.State) error {
			return e.svc.Load().Observe(tx, m, prev)
		},
		OnChange:    func(ms []*engine.Message) { e.svc.Load().OnChange(ms) },
		AfterNumber: func(alias string) { e.svc.Load().NumberChanged(alias) },
	})
	if err != nil {
		t.Fatal(err)
	}
	svc.SetEngine(eng)
	e.eng = eng
	if o.balance > 0 {
		e.topUp(o.balance)
	}
	if !o.idle {
		if err := eng.Start(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.svc.Load().Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eng.Close(ctx)
	})
	return e
}

var topUps atomic.Int64

func (e *env) topUp(amount int64) {
	e.t.Helper()
	err := e.db.Commit(e.ctx, func(tx storage.Txn) error {
		tu, _, err := e.led.CreateTopUp(tx, testAccount, fmt.Sprintf("ref-%d", topUps.Add(1)), amount)
		if err != nil {
			return err
		}
		_, err = e.led.ConfirmTopUp(tx, testAccount, tu.ID, "admin")
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// importCSV imports rows (header first) into the list named name and returns its id.
func (e *env) importCSV(name string, rows ...string) string {
	e.t.Helper()
	im, err := e.lists.ImportSync(e.ctx, lists.ImportRequest{Account: testAccount, ListName: name, Region: "ID",
		Filename: name + ".csv", Body: strings.NewReader(strings.Join(rows, "\n") + "\n")})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(im.Errors) > 0 {
		e.t.Fatalf("import %s: %+v", name, im.Errors)
	}
	return im.ListID
}

// phones returns n distinct phones as CSV rows "phone,name,voucher".
func phones(from, n int) []string {
	rows := []string{"phone,name,voucher"}
	for i := from; i < from+n; i++ {
		rows = append(rows, fmt.Sprintf("+62812%07d,Pelanggan %d,V%d", i, i, i))
	}
	return rows
}

// filled is req for the test account, with a name and the promo template (its body
// mapped to the name and voucher columns) where req leaves them out.
func filled(req CreateRequest) CreateRequest {
	req.Account = testAccount
	if req.Name == "" {
		req.Name = "Promo Desember"
	}
	if req.Template.Name == "" {
		req.Template = TemplateRef{Name: "promo", Language: "id"}
		if req.Body == nil {
			req.Body = []string{"{{name}}", "{{voucher}}"}
		}
	}
	return req
}

func (e *env) create(req CreateRequest) *Campaign {
	e.t.Helper()
	c, err := e.svc.Load().Create(e.ctx, filled(req))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// progress returns the campaign's current run.
func (e *env) progress(id string) *Progress {
	e.t.Helper()
	p, err := e.svc.Load().Progress(testAccount, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// waitRun waits until pred holds for the campaign's current run, on the real clock
// (the fake one only moves when the test moves it).
func (e *env) waitRun(id, what string, pred func(*Campaign, *Run) bool) *Progress {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		p := e.progress(id)
		if p.Run != nil && pred(p.Campaign, p.Run) {
			return p
		}
		if time.Now().After(deadline) {
			run := "none"
			if p.Run != nil {
				run = fmt.Sprintf("%+v", *p.Run)
			}
			e.t.Fatalf("timed out waiting for %s: campaign %s (%s), run %s", what, p.Campaign.State, p.Campaign.Reason, run)
		}
		e.svc.Load().wakeRunner(id)
		<-tick.C
	}
}

// poll waits up to within for pred, and reports whether it held.
func (e *env) poll(id string, within time.Duration, pred func(*Campaign, *Run) bool) bool {
	e.t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if p := e.progress(id); p.Run != nil && pred(p.Campaign, p.Run) {
			return true
		}
		<-tick.C
	}
	return false
}

// sandboxSends counts the sandbox's accepted sends per recipient.
func (e *env) sandboxSends() map[string]int {
	out := map[string]int{}
	var after uint64
	for {
		page := e.sb.Received(sandbox.ReceivedFilter{Limit: 10000, After: after})
		if len(page) == 0 {
			return out
		}
		for _, r := range page {
			if r.ErrorCode == 0 {
				out[r.To]++
			}
		}
		after = page[len(page)-1].ID
	}
}
