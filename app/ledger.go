package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"kirim/api"
	"kirim/campaign"
	"kirim/clock"
	"kirim/config"
	"kirim/engine"
	"kirim/ledger"
	"kirim/storage"
)

const (
	// ledgerJobEvery is how often credit rollovers and hold expiry run.
	ledgerJobEvery = time.Minute
	// ledgerExpireBatch bounds the holds one commit releases; a backlog takes several.
	ledgerExpireBatch = 256
	// ledgerJobTimeout bounds one run of the job.
	ledgerJobTimeout = 30 * time.Second
	// openingReference is the top-up reference of a sandbox account's opening balance:
	// by reference, the top-up is created and confirmed once whatever the restarts.
	openingReference = "opening-balance"
)

// setupLedger builds the ledger from the configuration into m.Ledger, credits the
// sandbox's opening balances, starts the periodic rollover and expiry job, and returns
// the biller every send passes through: nil (sends are not charged) when no rate card
// is configured.
func (m *Main) setupLedger() (engine.Biller, error) {
	cfg := m.Config
	l, err := ledger.New(m.ledgerConfig(m.Config))
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	m.Ledger = l
	if err := m.openingBalances(m.Config); err != nil {
		return nil, err
	}
	m.ledgerJob = &ledgerJob{m: m, clock: m.Clock}
	m.ledgerJob.schedule()
	if len(cfg.RateCards) == 0 {
		m.Logger.Warn("kirim: no [[rate_cards]] configured: sends are not charged")
		return nil, nil
	}
	return ledger.NewBiller(l).WithReserve(campaign.ReserveID), nil
}

// ledgerAPI is what the money endpoints need.
func (m *Main) ledgerAPI() *api.LedgerOptions {
	return &api.LedgerOptions{Ledger: m.Ledger, Store: m.DB}
}

// ledgerConfig converts the configuration (validated, with line numbers, by config) to
// the ledger's.
func (m *Main) ledgerConfig(cfg *config.Config) ledger.Config {
	lc := ledger.Config{Rules: cfg.Provider.Rules, Now: m.Clock.Now, Logger: m.Logger, OnEvent: m.ledgerEvent}
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		lc.Accounts = append(lc.Accounts, ledger.Account{
			ID: a.ID, Currency: a.Currency, Timezone: a.Location(), LowBalance: a.LowBalance.Micros(),
			Package: ledger.Package{Credits: a.Package.Credits},
		})
	}
	m.ledgerAccounts(cfg, &lc)
	for _, rc := range cfg.RateCards {
		card := ledger.RateCard{Effective: rc.Effective.Time, Currency: rc.Currency, Rules: rc.Rules, VolumeScope: rc.VolumeScope}
		for _, p := range rc.Prices {
			price := ledger.Price{Market: p.Market, Category: p.Category, UpTo: p.UpTo}
			for _, a := range p.Amounts {
				price.Micros = append(price.Micros, a.Micros())
			}
			card.Prices = append(card.Prices, price)
		}
		if len(rc.Session) > 0 {
			card.SessionPrices = map[string]int64{}
			for ct, a := range rc.Session {
				card.SessionPrices[ct] = a.Micros()
			}
		}
		lc.RateCards = append(lc.RateCards, card)
	}
	return lc
}

// openingBalances credits each sandbox account's opening_balance once, as a confirmed
// top-up with a fixed reference (config refuses the key with a real provider).
func (m *Main) openingBalances(cfg *config.Config) error {
	if cfg.Provider.Kind != config.ProviderSandbox {
		return nil
	}
	for _, a := range cfg.Accounts {
		amount := a.OpeningBalance.Micros()
		if amount <= 0 {
			continue
		}
		var res ledger.TopUpResult
		err := m.DB.Commit(context.Background(), func(tx storage.Txn) error {
			t, _, err := m.Ledger.CreateTopUpNoted(tx, a.ID, openingReference, amount, "opening_balance from the configuration (sandbox)")
			if err != nil {
				return err
			}
			if t.Status != ledger.TopUpPending {
				res = ledger.TopUpResult{TopUp: t, AlreadyResolved: true}
				return nil
			}
			res, err = m.Ledger.ConfirmTopUp(tx, a.ID, t.ID, "config")
			return err
		})
		if errors.Is(err, ledger.ErrConflict) {
			// The first start credited another amount; money already credited is not
			// taken back by editing the file (an adjustment does that).
			m.Logger.Warn("kirim: opening_balance changed after it was credited; ignored", "account", a.ID)
			continue
		}
		if err != nil {
			return fmt.Errorf("ledger: opening balance of %s: %w", a.ID, err)
		}
		if !res.AlreadyResolved {
			m.Logger.Info("kirim: opening balance credited", "account", a.ID, "amount_micros", amount)
		}
	}
	return nil
}

// stopLedger stops the periodic job and waits for a run in progress; Close calls it
// before storage closes.
func (m *Main) stopLedger() {
	if m.ledgerJob != nil {
		m.ledgerJob.stop()
	}
}

// ledgerJob runs, every ledgerJobEvery on the injected clock, each account's monthly
// credit rollover (Hold also does it lazily; this makes the grant and expiry entries
// appear on time for quiet accounts) and the release of expired holds.
type ledgerJob struct {
	m     *Main
	clock clock.Clock

	mu      sync.Mutex
	stopped bool
	timer   clock.Timer
	running sync.WaitGroup
}

func (j *ledgerJob) schedule() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.stopped {
		j.timer = j.clock.AfterFunc(ledgerJobEvery, j.tick)
	}
}

func (j *ledgerJob) tick() {
	j.mu.Lock()
	if j.stopped {
		j.mu.Unlock()
		return
	}
	j.running.Add(1)
	j.mu.Unlock()
	defer j.running.Done()
	ctx, cancel := context.WithTimeout(context.Background(), ledgerJobTimeout)
	defer cancel()
	j.run(ctx)
	j.schedule()
}

func (j *ledgerJob) stop() {
	j.mu.Lock()
	j.stopped = true
	if j.timer != nil {
		j.timer.Stop()
	}
	j.mu.Unlock()
	j.running.Wait()
}

// run does one round; failures are logged and retried on the next round.
func (j *ledgerJob) run(ctx context.Context) {
	l, db, log := j.m.Ledger, j.m.DB, j.m.Logger
	now := j.clock.Now()
	for _, id := range l.Accounts() {
		var res ledger.RolloverResult
		err := db.Commit(ctx, func(tx storage.Txn) error {
			var err error
			res, err = l.Rollover(tx, id, now)
			return err
		})
		if err != nil {
			log.Error("kirim: ledger rollover", "account", id, "err", err)
			continue
		}
		if res.Done {
			log.Info("kirim: ledger month started", "account", id, "month", res.Month, "granted", res.Granted, "expired", res.Expired)
		}
	}
	for total := 0; ; {
		var n int
		err := db.Commit(ctx, func(tx storage.Txn) error {
			var err error
			n, err = l.ExpireHolds(tx, now, ledgerExpireBatch)
			return err
		})
		if err != nil {
			log.Error("kirim: ledger hold expiry", "err", err)
			return
		}
		total += n
		if n < ledgerExpireBatch {
			if total > 0 {
				log.Info("kirim: ledger released expired holds", "count", total)
			}
			return
		}
	}
}
