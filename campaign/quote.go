package campaign

import (
	"fmt"
	"time"

	"kirim/engine"
	"kirim/ledger"
	"kirim/phone"
	"kirim/storage"
)

// Quote is what a run would cost and how long it would take, before it starts.
type Quote struct {
	Recipients int64            `json:"recipients"`
	Skipped    map[string]int64 `json:"skipped"`
	// Money, in micro-units of Currency.
	Cost         int64              `json:"cost"`
	Currency     string             `json:"currency"`
	Bands        []ledger.BandQuote `json:"bands,omitempty"`
	Free         int64              `json:"free"`
	Credits      map[string]int64   `json:"credits,omitempty"`
	Available    int64              `json:"available"`
	BalanceAfter int64              `json:"balance_after"`
	// Positions are the volume band positions the cost was priced at; the launch's
	// reserve claims them so the run costs what it was quoted.
	Positions ledger.ReservePositions `json:"-"`
	// ETA is when the last recipient would be sent, under the number's throughput
	// and its messaging limit (a larger audience spills into later rolling windows);
	// TierDays counts the days it spans.
	ETA            time.Time       `json:"eta"`
	TierDays       int             `json:"tier_days"`
	MessagingLimit int             `json:"messaging_limit"`
	UsedNow        int             `json:"used_24h"`
	ThroughputMPS  int             `json:"throughput_mps"`
	Forecast       engine.Forecast `json:"forecast"`
	At             time.Time       `json:"at"`
}

// Quote prices the campaign's audience as it stands now.
func (s *Service) Quote(account, id string) (*Quote, error) {
	c, err := s.Get(account, id)
	if err != nil {
		return nil, err
	}
	return s.quote(c)
}

func (s *Service) quote(c *Campaign) (*Quote, error) {
	now := s.clock.Now()
	q := &Quote{At: now}
	var quoter *ledger.CampaignQuoter
	var skipped map[string]int64
	// The quoter reads the ledger (legacy rules: each recipient's open conversation)
	// until the last recipient, so the whole pass is inside one view.
	err := s.db.View(func(r storage.Reader) error {
		if s.opts.Ledger != nil {
			var err error
			quoter, err = s.opts.Ledger.NewCampaignQuoter(r, ledger.CampaignQuoteRequest{
				Account: c.Account, Category: c.Category, ContentType: "template", At: now})
			if err != nil {
				return err
			}
		}
		var err error
		skipped, err = s.audience(c, func(rc recipient) error {
			q.Recipients++
			if quoter != nil {
				if _, err := quoter.Add(phone.WaID(rc.phone), ledger.MarketOf(rc.phone)); err != nil {
					return err
				}
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("campaign: quote %s: %w", c.ID, err)
	}
	q.Skipped = skipped
	for _, k := range []string{SkipOptedOut, SkipDuplicate, SkipInvalid, SkipFrequencyCapped, SkipMarketingUserLimit} {
		if _, ok := q.Skipped[k]; !ok {
			q.Skipped[k] = 0
		}
	}
	if quoter != nil {
		res := quoter.Result()
		q.Cost, q.Currency, q.Bands, q.Free, q.Credits = res.Total, res.Currency, res.Bands, res.Free, res.Credits
		q.Available = res.Available
		q.BalanceAfter = res.BalanceAfter
		q.Positions = res.Positions
	}
	num, _ := s.eng.Number(c.From)
	q.ThroughputMPS = num.MPS
	q.ETA = now
	if num.MPS > 0 {
		q.ETA = now.Add(time.Duration(q.Recipients) * time.Second / time.Duration(num.MPS))
	}
	if ns, err := s.eng.NumberStatusOf(c.From); err == nil {
		q.MessagingLimit, q.UsedNow = ns.Limit, ns.Used24h
	}
	tierETA, err := s.eng.RecipientsETA(c.From, int(q.Recipients))
	if err != nil {
		return nil, err
	}
	if tierETA.After(q.ETA) {
		q.ETA = tierETA
	}
	q.TierDays = 1 + int(q.ETA.Sub(now)/(24*time.Hour))
	if q.Recipients == 0 {
		q.TierDays = 0
	}
	if f, err := s.eng.ForecastTier(c.From); err == nil {
		q.Forecast = f
	}
	return q, nil
}
