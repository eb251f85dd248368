package app

import (
	"encoding/json"
	"fmt"
	"time"

	"kirim/api"
	"kirim/campaign"
	"kirim/campaign/lists"
	"kirim/config"
	"kirim/engine"
	"kirim/events"
	"kirim/ledger"
	"kirim/storage"
	"kirim/template"
)

// setupEvents opens the outbox of events for the customers' endpoints. It comes before
// the services that write events in their own transactions; its delivery starts with
// the rest in Run.
func (m *Main) setupEvents() error {
	cfg := m.Config
	eps := configEndpoints(cfg)
	var retry []time.Duration
	for _, d := range cfg.Events.Retry {
		retry = append(retry, d.Duration)
	}
	client := events.NewHTTPClient(cfg.Events.AllowPrivate, cfg.Events.Concurrency)
	client.Timeout = cfg.Events.Timeout.Duration
	out, err := events.New(events.Options{
		DB: m.DB, Clock: m.Clock, Logger: m.Logger, Config: eps, Retry: retry, HTTP: client,
		DisableAfter: cfg.Events.DisableAfter.Duration, Concurrency: cfg.Events.Concurrency,
		AllowPrivate: cfg.Events.AllowPrivate, OnDelivery: m.Metrics.ObserveDelivery,
	})
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	m.Events = out
	return nil
}

// configEndpoints are the [[callbacks]] of cfg, as the outbox takes them.
func configEndpoints(cfg *config.Config) []events.ConfigEndpoint {
	var eps []events.ConfigEndpoint
	for _, cb := range cfg.Callbacks {
		eps = append(eps, events.ConfigEndpoint{URL: cb.URL, Secret: cb.Secret, Events: cb.Events, Account: cb.Account})
	}
	return eps
}

// emit writes ev in tx when an endpoint wants it; data is built only then.
func (m *Main) emit(tx storage.Txn, typ, account string, data func() json.RawMessage) error {
	if m.Events == nil || !m.Events.Wants(account, typ) {
		return nil
	}
	m.Metrics.ObserveEvent(typ)
	return m.Events.Emit(tx, events.Event{Type: typ, Account: account, Data: data()})
}

// milestones are the states a message reports as it passes them, in order.
var milestones = []engine.State{engine.Sent, engine.Delivered, engine.Read}

// milestone is how many of milestones state has passed.
func milestone(s engine.State) int {
	for i := len(milestones) - 1; i >= 0; i-- {
		if s == milestones[i] {
			return i + 1
		}
	}
	return 0
}

// messageEventTypes are the events that report a message's change from prev to state
// (prev "" at acceptance). A status that skipped a step (delivered before sent
// arrived) reports the step too: the message was sent.
func messageEventTypes(prev, state engine.State) []string {
	var types []string
	switch {
	case prev == "":
		types = append(types, "message.queued")
	case state == engine.Failed:
		types = append(types, "message.failed")
	}
	if from, to := milestone(prev), milestone(state); from < to {
		for _, s := range milestones[from:to] {
			types = append(types, "message."+string(s))
		}
	}
	return types
}

// messageEvents writes the events of a message's change of state.
func (m *Main) messageEvents(tx storage.Txn, msg *engine.Message, prev engine.State) error {
	for _, t := range messageEventTypes(prev, msg.State) {
		if err := m.emit(tx, t, msg.AccountID, func() json.RawMessage { return api.MessageEventData(msg) }); err != nil {
			return err
		}
	}
	return nil
}

// inboundEvent reports a customer's message with its content.
func (m *Main) inboundEvent(tx storage.Txn, rec *engine.InboundRecord) error {
	return m.emit(tx, "message.inbound", rec.Account, func() json.RawMessage { return api.InboundEventData(rec) })
}

// numberEvent reports a number's new standing to the account that owns it.
func (m *Main) numberEvent(tx storage.Txn, n engine.Number, st engine.NumberState, limit int) error {
	return m.emit(tx, "number.updated", n.Account, func() json.RawMessage {
		v := map[string]any{"account_id": n.Account, "alias": n.Alias, "phone": n.Phone, "phone_number_id": n.PhoneNumberID,
			"waba_id": n.WABAID, "status": st.Status, "quality": st.Quality, "messaging_limit": limit}
		if limit == engine.Unlimited {
			v["messaging_limit"] = "unlimited"
		}
		if st.Restriction != "" {
			v["restriction"], v["restricted_until"] = st.Restriction, st.RestrictedT
		}
		if st.Throughput != "" {
			v["throughput"] = st.Throughput
		}
		b, _ := json.Marshal(v)
		return b
	})
}

// ledgerEvent reports a low balance or a top-up's resolution.
func (m *Main) ledgerEvent(tx storage.Txn, ev ledger.Event) error {
	return m.emit(tx, ev.Type, ev.Account, func() json.RawMessage {
		if ev.TopUp != nil {
			return api.TopUpEventData(*ev.TopUp, ev.Account, ev.Currency)
		}
		return api.BalanceLowEventData(ev)
	})
}

// templateEventTx reports a template's status and quality to the account of its WABA.
func (m *Main) templateEventTx(tx storage.Txn, e template.Event) error {
	var typ string
	switch e.Type {
	case template.EventStatus, template.EventDeleted:
		typ = "template.status"
	case template.EventQuality:
		typ = "template.quality"
	default:
		return nil
	}
	account := m.wabaAccount(e.WABAID)
	return m.emit(tx, typ, account, func() json.RawMessage {
		v := map[string]any{"account_id": account, "waba_id": e.WABAID, "id": e.ID, "name": e.Name, "language": e.Language,
			"status": e.Status, "previous_status": e.PreviousStatus, "category": e.Category, "at": e.At}
		if e.Reason != "" {
			v["reason"] = e.Reason
		}
		if typ == "template.quality" {
			v["quality"], v["previous_quality"] = e.Quality, e.PrevQuality
		}
		b, _ := json.Marshal(v)
		return b
	})
}

// wabaAccount is the account whose numbers the WABA's are (config validates there is one).
func (m *Main) wabaAccount(waba string) string {
	for _, n := range m.Config.Numbers {
		if n.WABAID == waba {
			return n.Account
		}
	}
	return ""
}

// campaignEvent reports a campaign's change of state, with its run's totals when the
// run ended.
func (m *Main) campaignEvent(tx storage.Txn, c *campaign.Campaign, prev string) error {
	return m.emit(tx, "campaign.state", c.Account, func() json.RawMessage {
		var counts map[string]int64
		var spend api.Money
		if (c.State == campaign.StateCompleted || c.State == campaign.StateCancelled) && c.Run > 0 {
			n, micros, err := campaign.Totals(tx, c.ID, c.Run)
			if err == nil {
				counts, spend = n, api.NewMoney(micros, m.accountCurrency(c.Account))
			}
		}
		return api.CampaignEventData(c, prev, counts, spend)
	})
}

func (m *Main) accountCurrency(id string) string {
	if a, err := m.Ledger.Account(id); err == nil {
		return a.Currency
	}
	for _, a := range m.Config.Accounts {
		if a.ID == id {
			return a.Currency
		}
	}
	return ""
}

// importEvent reports a finished import.
func (m *Main) importEvent(tx storage.Txn, im *lists.Import) error {
	return m.emit(tx, "import.completed", im.Account, func() json.RawMessage { return api.ImportEventData(im) })
}
