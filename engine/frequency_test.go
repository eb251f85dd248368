package engine

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"kirim/provider"
)

// capEnv is an engine with frequency caps, sending through send, at a throughput
// whose burst holds every send of a test.
func capEnv(t *testing.T, perDay, perWeek int, send func(context.Context, int, []byte) (*provider.SendResponse, error)) *env {
	return newEnv(t, nil, nil, send, func(o *Options) {
		o.MarketingPerDay, o.MarketingPerWeek, o.Numbers[0].MPS, o.PortfolioLimit = perDay, perWeek, 100000, Unlimited
		o.Numbers = append(o.Numbers, Number{Alias: "other", Account: "acct_other", PhoneNumberID: "100000000000002",
			WABAID: "200000000000002", Sender: o.Numbers[0].Sender, MPS: 100000})
	}).start()
}

// outcome waits for m's first settled or waiting state.
func (e *env) outcome(id string) Message {
	e.t.Helper()
	return e.rec.waitFor(e.t, id+" outcome", func(m Message) bool {
		return m.ID == id && (m.State == Sent || m.State == Failed || m.State == Waiting)
	})
}

// TestFrequencyCap: a contact gets at most marketing_per_day marketing templates in any
// rolling 24 h and marketing_per_week in any 7 days; the one over is not sent (failed
// frequency_capped, its hold released); utility templates and another account's
// contact with the same phone are not counted.
func TestFrequencyCap(t *testing.T) {
	const to = "+6281234567890"
	e := capEnv(t, 2, 3, alwaysAccept)
	steps := []struct {
		at       time.Duration
		category string
		account  bool // from the other account's number
		capped   bool
	}{
		{at: 0, category: "marketing"},
		{at: 0, category: "marketing"},
		{at: 0, category: "marketing", capped: true},
		{at: 0, category: "utility"},
		{at: 0, category: "marketing", account: true},
		{at: 23 * time.Hour, category: "marketing", capped: true},
		{at: 24*time.Hour + time.Second, category: "marketing"},
		{at: 48 * time.Hour, category: "marketing", capped: true}, // three this week
		{at: 7*24*time.Hour + time.Second, category: "marketing"},
	}
	for i, s := range steps {
		if now := e.clk.Now(); now.Before(t0.Add(s.at)) {
			e.tick(t0.Add(s.at).Sub(now))
		}
		m := e.submit(to, func(r *SubmitRequest) {
			r.Message.Category = s.category
			if s.account {
				r.Message.Number, r.Message.AccountID = "other", "acct_other"
			}
		})
		got := e.outcome(m.ID)
		if s.capped {
			if got.State != Failed || got.Error == nil || got.Error.Code != CodeFrequencyCapped || got.Error.Class != ClassFrequencyCapped {
				t.Fatalf("step %d: %s %+v, want failed frequency_capped", i, got.State, got.Error)
			}
			if r := e.biller.released(m.ID); !slices.Equal(r, []string{ClassFrequencyCapped}) {
				t.Fatalf("step %d: releases %v", i, r)
			}
			if b, err := e.eng.MarketingBlock(testAccount, "100000000000001", to[1:]); err != nil || b != ClassFrequencyCapped {
				t.Fatalf("step %d: MarketingBlock %q %v", i, b, err)
			}
			continue
		}
		if got.State != Sent {
			t.Fatalf("step %d (%s at %v): %s %+v, want sent", i, s.category, s.at, got.State, got.Error)
		}
	}
	if n := e.sender.calls(); n != 6 {
		t.Errorf("%d provider calls, want 6", n)
	}
}

// TestFrequencyCountsSentOnly: a send the provider refused does not use the contact's
// allowance, and a message gated again after a pair-rate back-off counts once.
func TestFrequencyCountsSentOnly(t *testing.T) {
	const to = "+6281234567890"
	e := capEnv(t, 1, 0, func(_ context.Context, n int, body []byte) (*provider.SendResponse, error) {
		switch n {
		case 1:
			return nil, providerErr(provider.CodeUndeliverable, "Message undeliverable")
		case 2:
			return nil, providerErr(provider.CodePairRate, "Pair rate limit hit")
		}
		return accepted(body)
	})
	refused := e.submit(to, nil)
	if got := e.outcome(refused.ID); got.State != Failed || got.Error.Code != provider.CodeUndeliverable {
		t.Fatalf("first: %s %+v", got.State, got.Error)
	}
	again := e.submit(to, nil)
	if w := e.rec.waitState(t, again.ID, Waiting, 1); w.WaitingReason != ReasonPairRate {
		t.Fatalf("second waits for %q, want pair_rate", w.WaitingReason)
	}
	e.tick(4 * time.Second)
	e.rec.waitState(t, again.ID, Sent, 1)
	if b, _ := e.eng.MarketingBlock(testAccount, "100000000000001", to[1:]); b != ClassFrequencyCapped {
		t.Fatalf("after one sent of one a day: block %q", b)
	}
}

// TestMarketingUserLimit: 131049, answered to the send or in a failed status, fails
// the message (not retried) and skips the recipient's marketing for a day, without a
// provider call; utility still goes, and so does marketing a day later.
func TestMarketingUserLimit(t *testing.T) {
	for _, tt := range []struct {
		name  string
		limit func(t *testing.T, e *env, m *Message)
	}{
		{"answered to the send", nil},
		{"in a failed status", func(t *testing.T, e *env, m *Message) {
			e.rec.waitState(t, m.ID, Sent, 1)
			var errs []provider.WebhookError
			if err := json.Unmarshal([]byte(`[{"code":131049,"title":"This message was not delivered to maintain healthy ecosystem engagement.",`+
				`"error_data":{"details":"In order to maintain a healthy ecosystem engagement, the message failed to be delivered."}}]`), &errs); err != nil {
				t.Fatal(err)
			}
			if _, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{{CallbackData: m.ID, Status: "failed", At: e.clk.Now(), Errors: errs}}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const to = "+6281234567890"
			e := capEnv(t, 0, 0, func(_ context.Context, n int, body []byte) (*provider.SendResponse, error) {
				if n == 1 && tt.limit == nil {
					return nil, fixtureError(t, "ecosystem_131049.json")
				}
				return accepted(body)
			})
			first := e.submit(to, nil)
			if tt.limit != nil {
				tt.limit(t, e, first)
			}
			f := e.rec.waitState(t, first.ID, Failed, 1)
			if f.Error == nil || f.Error.Code != provider.CodeMarketingUserLimit || f.Error.Class != "retry_after_24h" {
				t.Fatalf("first: %+v", f.Error)
			}
			calls := e.sender.calls()
			held := e.submit(to, nil)
			if got := e.outcome(held.ID); got.State != Failed || got.Error.Code != CodeMarketingUserHold || got.Error.Class != ClassMarketingUserLimit {
				t.Fatalf("marketing within the day: %s %+v", got.State, got.Error)
			}
			if b, _ := e.eng.MarketingBlock(testAccount, "100000000000001", to[1:]); b != ClassMarketingUserLimit {
				t.Fatalf("block %q", b)
			}
			util := e.submit(to, func(r *SubmitRequest) { r.Message.Category = "utility" })
			e.rec.waitState(t, util.ID, Sent, 1)
			if n := e.sender.calls(); n != calls+1 {
				t.Fatalf("%d provider calls, want %d: only the utility one", n, calls+1)
			}
			e.tick(MarketingUserHold)
			later := e.submit(to, nil)
			e.rec.waitState(t, later.ID, Sent, 1)
		})
	}
}
