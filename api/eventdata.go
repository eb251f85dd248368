package api

import (
	"encoding/json"
	"time"

	"kirim/campaign"
	"kirim/campaign/lists"
	"kirim/engine"
	"kirim/ledger"
)

// The data of the events Kirim posts to customer endpoints: each resource as the API
// shows it, with the account it belongs to, so a receiver needs no second request.

// withAccount is v's JSON object with "account_id" first.
func withAccount(v any, account string) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil || len(raw) < 2 || raw[0] != '{' {
		return nil
	}
	out := make([]byte, 0, len(raw)+len(account)+16)
	out = append(out, `{"account_id":`...)
	out = append(out, mustJSON(account)...)
	if len(raw) > 2 {
		out = append(out, ',')
	}
	return append(out, raw[1:]...)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// MessageEventData is a message as GET /v1/messages/{id} shows it (its callback_data
// included), with its account_id.
func MessageEventData(m *engine.Message) json.RawMessage { return withAccount(viewOf(m), m.AccountID) }

// TopUpEventData is a top-up as GET /v1/topups shows it, with its account_id.
func TopUpEventData(t ledger.TopUp, account, currency string) json.RawMessage {
	return withAccount(topUpOf(t, currency, ""), account)
}

// BalanceLowEventData reports the available balance that fell below the threshold.
func BalanceLowEventData(ev ledger.Event) json.RawMessage {
	return withAccount(map[string]any{"available": NewMoney(ev.Available, ev.Currency),
		"threshold": NewMoney(ev.Threshold, ev.Currency), "at": ev.At.UTC().Format(time.RFC3339Nano)}, ev.Account)
}

// ImportEventData is a finished import as GET /v1/imports/{id} shows it.
func ImportEventData(im *lists.Import) json.RawMessage {
	return withAccount(importViewOf(im), im.Account)
}

// CampaignEventData reports a campaign's change of state; totals (counts by message
// status and the spend) come with a finished run.
func CampaignEventData(c *campaign.Campaign, prev string, counts map[string]int64, spend Money) json.RawMessage {
	v := map[string]any{"id": c.ID, "name": c.Name, "state": c.State, "previous_state": prev, "reason": c.Reason,
		"run": c.Run, "template": c.Template, "from": c.From, "list_ids": c.ListIDs, "updated_at": c.UpdatedAt}
	if counts != nil {
		v["totals"] = map[string]any{"counts": counts, "spend": spend}
	}
	return withAccount(v, c.Account)
}

// InboundEventData is a customer's message as GET /v1/contacts/{phone}/messages shows
// it, with its full content.
func InboundEventData(rec *engine.InboundRecord) json.RawMessage {
	v, err := inboundViewOf(rec)
	if err != nil {
		return nil
	}
	return withAccount(v, rec.Account)
}
