package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"kirim/provider"
	"kirim/provider/sandbox"
)

// TestTierUpgradeOnSandbox is the upgrade acceptance run under both rule sets: a week
// of sending at the limit makes the sandbox raise it; Kirim learns the new limit from
// the webhook the sandbox posts, at the time its forecast had named.
func TestTierUpgradeOnSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("sends a week of traffic")
	}
	for _, tt := range []struct {
		rules      string
		next       int
		delay      time.Duration
		sbRules    string
		legacyOpts bool
	}{
		{rules: Rules2025, next: 2000, delay: UpgradeDelay2025, sbRules: sandbox.Rules2025},
		{rules: RulesLegacy, next: 1000, delay: UpgradeDelayLegacy, sbRules: sandbox.RulesLegacy, legacyOpts: true},
	} {
		t.Run(tt.rules, func(t *testing.T) {
			const limit = 250
			limits := make(chan int, 16)
			var eng *Engine
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				n, err := provider.ParseNotification(body)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				for _, en := range n.Entry {
					for _, c := range en.Changes {
						v, err := provider.DecodeChange(c)
						if err != nil {
							continue
						}
						if ok, err := eng.ApplyNumberChange(context.Background(), en.ID, v); ok && err == nil {
							st, _ := eng.NumberStatusOf("main")
							limits <- st.Limit
						}
					}
				}
			}))
			t.Cleanup(hook.Close)
			sbOpts := sandbox.Options{Rules: tt.sbRules, PortfolioLimit: limit, WebhookURL: hook.URL}
			if tt.legacyOpts {
				sbOpts.Numbers = []sandbox.Number{{PhoneNumberID: sandbox.DefaultPhoneNumberID, WABAID: sandbox.DefaultWABAID,
					DisplayPhoneNumber: sandbox.DefaultDisplayPhoneNumber, MessagingLimit: limit}}
			}
			e := newSandboxEnv(t, sbOpts, func(o *Options) {
				o.Rules, o.PortfolioLimit = tt.rules, limit
				o.Numbers[0].MessagingLimit = limit
				o.Numbers[0].Phone = "+" + sandbox.DefaultDisplayPhoneNumber
			})
			eng = e.eng
			e.start()
			e.sb.SimulateTiers()

			var forecast Forecast
			for day := range 7 {
				var ids []string
				for i := range limit {
					ids = append(ids, e.submit(fmt.Sprintf("+62813%02d%06d", day, i), nil).ID)
				}
				e.rec.waitLatest(t, fmt.Sprintf("day %d sent", day), func(ms map[string]Message) bool { return countState(ms, ids, Sent) == limit })
				if day == 1 {
					var err error
					if forecast, err = e.eng.ForecastTier("main"); err != nil {
						t.Fatal(err)
					}
					want := t0.Add(UpgradeEvaluation + tt.delay)
					if !forecast.NextTierAt.Equal(want) || forecast.NextLimit != tt.next {
						t.Fatalf("forecast on day 1: %+v, want %d at %v", forecast, tt.next, want)
					}
				}
				e.tick(24 * time.Hour)
			}
			if st := e.sb.Stats(); st.LimitErrors != 0 {
				t.Fatalf("sandbox limit errors %d", st.LimitErrors)
			}
			// Now t0+7d: hour by hour until the forecast time; the new limit arrives then.
			for e.clk.Now().Before(forecast.NextTierAt) {
				select {
				case l := <-limits:
					if l != limit {
						t.Fatalf("limit %d arrived at %v, before the forecast %v", l, e.clk.Now(), forecast.NextTierAt)
					}
				default:
				}
				e.tick(time.Hour)
			}
			deadline := time.After(waitTimeout)
			for {
				select {
				case l := <-limits:
					if l == tt.next {
						st, _ := e.eng.NumberStatusOf("main")
						if !st.Since.Equal(forecast.NextTierAt) {
							t.Errorf("new limit since %v, want the forecast %v", st.Since, forecast.NextTierAt)
						}
						return
					}
				case <-deadline:
					st, _ := e.eng.NumberStatusOf("main")
					t.Fatalf("no upgrade webhook by %v; limit %d", e.clk.Now(), st.Limit)
				}
			}
		})
	}
}
