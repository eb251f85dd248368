package engine

import (
	"fmt"
	"time"

	"kirim/storage"
)

// Forecast is the messaging-limit outlook of a number's scope.
type Forecast struct {
	TierUsage
	// NextLimit is the limit after the next upgrade (same as Limit at the top).
	NextLimit int `json:"next_limit"`
	// NextTierAt is when the next upgrade is expected if sending continues at the
	// recent pace; zero when it is not expected within forecastHorizon or the limit
	// is already unlimited.
	NextTierAt time.Time `json:"next_tier_at,omitzero"`
	// DailyPace is the new business-initiated recipients per day the forecast assumes.
	DailyPace int `json:"daily_pace"`
}

// ForecastTier estimates when the number's scope reaches its next limit, under the
// upgrade rule Kirim models for both rule sets: once a limit has been held for
// UpgradeEvaluation and at least half of it was used over the trailing
// UpgradeEvaluation (and the number is in good standing), the provider raises it
// after UpgradeDelay2025 or UpgradeDelayLegacy. The future pace is the average of the
// days observed since the limit took effect (at most the last 7), capped at the limit.
func (e *Engine) ForecastTier(alias string) (Forecast, error) {
	ns, err := e.NumberStatusOf(alias)
	if err != nil {
		return Forecast{}, err
	}
	f := Forecast{TierUsage: ns.TierUsage, NextLimit: NextLimit(e.tier.rules, ns.Limit)}
	if ns.Limit == Unlimited {
		return f, nil
	}
	now := e.clock.Now()
	times := e.tier.byAlias[alias].slotTimes()
	observedFrom := now.Add(-UpgradeEvaluation)
	if ns.Since.After(observedFrom) {
		observedFrom = ns.Since
	}
	recent := 0
	for _, at := range times {
		if at > observedFrom.UnixNano() {
			recent++
		}
	}
	days := now.Sub(observedFrom).Hours() / 24
	if days < 1 {
		days = 1
	}
	pace := int(float64(recent) / days)
	if pace > ns.Limit {
		pace = ns.Limit
	}
	f.DailyPace = pace
	if ns.Quality == "RED" || (e.tier.rules == RulesLegacy && ns.Status != "" && ns.Status != "CONNECTED") {
		return f, nil
	}
	delay := UpgradeDelay2025
	if e.tier.rules == RulesLegacy {
		delay = UpgradeDelayLegacy
	}
	need := (ns.Limit + 1) / 2
	// Evaluation instants are Since + UpgradeEvaluation + k*UpgradeStep.
	t := ns.Since.Add(UpgradeEvaluation)
	if t.Before(now) {
		steps := now.Sub(t) / UpgradeStep
		t = t.Add(steps * UpgradeStep)
		if t.Before(now) {
			t = t.Add(UpgradeStep)
		}
	}
	perStep := float64(pace) * float64(UpgradeStep) / float64(24*time.Hour)
	for ; t.Sub(now) <= forecastHorizon; t = t.Add(UpgradeStep) {
		from := t.Add(-UpgradeEvaluation).UnixNano()
		known := 0
		for _, at := range times {
			if at > from {
				known++
			}
		}
		// Future sends fall in (max(now, from), t].
		start := now
		if time.Unix(0, from).After(start) {
			start = time.Unix(0, from)
		}
		future := 0.0
		if t.After(start) {
			future = perStep * float64(t.Sub(start)/UpgradeStep)
		}
		if known+int(future) >= need {
			f.NextTierAt = t.Add(delay)
			return f, nil
		}
		if pace == 0 && t.After(now.Add(UpgradeEvaluation)) {
			break
		}
	}
	return f, nil
}

// RecipientsETA estimates when n new business-initiated recipients would all have been
// sent from the number under its current limit: the free slots go at once, then each
// slot that frees takes one, and each of those frees again a window later.
func (e *Engine) RecipientsETA(alias string, n int) (time.Time, error) {
	sc, ok := e.tier.byAlias[alias]
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %q", ErrUnknownNumber, alias)
	}
	now := e.clock.Now()
	u := sc.usage(now)
	if n <= 0 || u.Limit == Unlimited {
		return now, nil
	}
	free := max(u.Limit-u.Used24h, 0)
	if n <= free {
		return now, nil
	}
	// The window as it will be once the free slots are taken now, oldest first.
	sc.mu.Lock()
	window := make([]int64, 0, len(sc.slots)-sc.head+free)
	for _, sl := range sc.slots[sc.head:] {
		window = append(window, sl.at)
	}
	sc.mu.Unlock()
	for range free {
		window = append(window, now.UnixNano())
	}
	if len(window) == 0 {
		return time.Time{}, nil // a zero limit: never
	}
	// The k-th recipient beyond the free ones takes the slot of window[(k-1) mod L]
	// in its ((k-1) div L + 1)-th renewal.
	k := n - free
	cycle := (k - 1) / len(window)
	at := time.Unix(0, window[(k-1)%len(window)]).Add(time.Duration(cycle+1) * LimitWindow)
	return at.UTC(), nil
}

// QueueDepth counts the number's queued and waiting messages, up to limit (capped
// reports that the count stopped there).
func (e *Engine) QueueDepth(alias string, limit int) (n int, capped bool, err error) {
	if !e.HasNumber(alias) {
		return 0, false, fmt.Errorf("%w: %q", ErrUnknownNumber, alias)
	}
	err = e.db.View(func(r storage.Reader) error {
		return r.Iterate(queuePrefix(alias), storage.IterOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
			n++
			if n >= limit {
				capped = true
				return false, nil
			}
			return true, nil
		})
	})
	return n, capped, err
}
