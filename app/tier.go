package app

import (
	"context"
	"fmt"
	"time"

	"kirim/engine"
)

// tierPollTimeout bounds one read of a number's fields from the provider.
const tierPollTimeout = 15 * time.Second

// withTier adds the tier settings of the configuration to the engine's options: the
// rules, the limits, the pair rate and the opt keywords, and the campaigns' hook on
// number changes.
func (m *Main) withTier(o engine.Options) engine.Options {
	cfg := m.Config
	o.Rules, o.PortfolioLimit = cfg.Provider.Rules, cfg.Provider.PortfolioLimit
	o.OptOutKeywords, o.OptInKeywords, o.OptFiller = cfg.Engine.OptOutKeywords, cfg.Engine.OptInKeywords, cfg.Engine.OptFiller
	o.MarketingPerDay, o.MarketingPerWeek = cfg.Engine.MarketingPerDay, cfg.Engine.MarketingPerWeek
	// "0s": until an operator resumes; the engine reads zero as its default.
	o.SpamPause = cfg.Engine.SpamPause.Duration
	if o.SpamPause == 0 {
		o.SpamPause = -1
	}
	// A change of a number's standing or limit wakes, pauses or resumes its campaigns.
	o.AfterNumber = m.Campaigns.NumberChanged
	m.pollNow = make(chan struct{}, 1)
	byAlias := map[string]int{}
	for i, n := range cfg.Numbers {
		byAlias[n.Alias] = i
	}
	for i := range o.Numbers {
		n := cfg.Numbers[byAlias[o.Numbers[i].Alias]]
		o.Numbers[i].Phone, o.Numbers[i].MessagingLimit = n.Phone, n.MessagingLimit
		// "0s" turns the pair rate off; the engine reads zero as its default.
		o.Numbers[i].PairGap, o.Numbers[i].PairBurst = n.PairGap.Duration, n.PairBurst
		if n.PairGap.Duration == 0 {
			o.Numbers[i].PairGap = -1
		}
	}
	return o
}

// applyTier routes number and account webhooks to the engine; it reports whether value
// was one of them.
func (m *Main) applyTier(ctx context.Context, entryID string, value any) (bool, error) {
	ok, err := m.Engine.ApplyNumberChange(ctx, entryID, value)
	if err != nil {
		return true, fmt.Errorf("kirim: apply number update: %w", err)
	}
	if ok {
		// Meta's number webhooks carry the limit and the throughput, not the status or
		// the quality rating, which often change with them: read those now rather than
		// at the next poll.
		select {
		case m.pollNow <- struct{}{}:
		default:
		}
	}
	return ok, nil
}

// startTier polls each number's status, quality and limit on the engine's clock until
// ctx ends, so a missed webhook is corrected within one poll, and at once after a
// number webhook (applyTier).
func (m *Main) startTier(ctx context.Context) {
	every := m.Config.Engine.TierPoll.Duration
	if every <= 0 {
		return
	}
	go func() {
		for {
			m.pollNumbers(ctx)
			done := make(chan struct{})
			t := m.Clock.AfterFunc(every, func() { close(done) })
			select {
			case <-done:
			case <-m.pollNow:
				t.Stop()
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
	}()
}

func (m *Main) pollNumbers(ctx context.Context) {
	for _, n := range m.Config.Numbers {
		c := m.Clients[n.Alias]
		if c == nil {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, tierPollTimeout)
		info, err := c.GetPhoneNumber(cctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				m.Logger.Warn("kirim: cannot read the number's status and limit; the last known ones stay", "number", n.Alias, "err", err)
			}
			continue
		}
		if err := m.Engine.ApplyPhoneInfo(ctx, n.Alias, info); err != nil {
			m.Logger.Error("kirim: number status", "number", n.Alias, "err", err)
		}
	}
}
