package app

import (
	"kirim/campaign"
	"kirim/ledger"
)

// setupCampaigns builds the campaign service; Run gives it the engine and starts it
// once the engine runs.
func (m *Main) setupCampaigns(templates campaign.Templates) error {
	var l *ledger.Ledger
	if len(m.Config.RateCards) > 0 {
		l = m.Ledger // without a rate card nothing is charged, so nothing is reserved
	}
	cc := m.Config.Campaigns
	svc, err := campaign.New(campaign.Options{
		DB: m.DB, Clock: m.Clock, Logger: m.Logger, Lists: m.Lists, Templates: templates, Ledger: l,
		Batch: cc.Batch, FailurePercent: cc.FailurePausePercent, FailureMin: cc.FailurePauseMin, Grace: cc.MissedRunGrace.Duration,
		OnState: m.campaignEvent,
	})
	if err != nil {
		return err
	}
	m.Campaigns = svc
	return nil
}
