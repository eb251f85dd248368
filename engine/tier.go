package engine

import (
	"strings"
	"time"

	"kirim/storage"
)

// Messaging-limit rules, as config names them.
const (
	Rules2025   = "2025"   // one limit per business portfolio, shared by every number
	RulesLegacy = "legacy" // one limit per number
)

// Tier accounting constants.
const (
	// LimitWindow is the rolling window of the messaging limit.
	LimitWindow = 24 * time.Hour
	// Unlimited is the limit value of TIER_UNLIMITED.
	Unlimited = -1
	// UpgradeEvaluation is how long a limit must have been held before an upgrade is
	// considered, and the trailing window whose usage decides it.
	UpgradeEvaluation = 7 * 24 * time.Hour
	// UpgradeStep is the granularity at which the upgrade rule is evaluated.
	UpgradeStep = time.Hour
	// UpgradeDelay2025 and UpgradeDelayLegacy are how long after meeting the criteria
	// the provider raises the limit.
	UpgradeDelay2025   = 6 * time.Hour
	UpgradeDelayLegacy = 24 * time.Hour
	// usageKeep is how long slot records are kept: the 7-day usage the forecast reads,
	// plus a day of margin.
	usageKeep = UpgradeEvaluation + 24*time.Hour
	// pauseRecheck is how often a message waiting for its paused template is looked
	// at again: a template's status changes without the engine being told.
	pauseRecheck = 5 * time.Minute
	// forecastHorizon bounds how far ahead the upgrade forecast looks.
	forecastHorizon = 90 * 24 * time.Hour
)

// Waiting reasons the tier gate gives.
const (
	ReasonTierLimit         = "tier_limit"
	ReasonPairRate          = "pair_rate"
	ReasonAccountRestricted = "account_restricted"
	ReasonNumberFlagged     = "number_flagged"
	ReasonNumberRestricted  = "number_restricted"
	ReasonQualityRed        = "quality_red"
	ReasonNumberOffline     = "number_offline"
	ReasonNumberPending     = "number_pending"
	// ReasonTemplatePaused: the template was paused by Meta for low quality; sending
	// into a pause only fails (132015), so the message waits for REINSTATED.
	ReasonTemplatePaused = "template_paused"
)

// Ladders of messaging limits, lowest first.
var (
	ladder2025   = []int{250, 2000, 10000, 100000, Unlimited}
	ladderLegacy = []int{250, 1000, 10000, 100000, Unlimited}
)

// NextLimit is the limit above limit under rules (limit itself when it is the top).
func NextLimit(rules string, limit int) int {
	l := ladder2025
	if rules == RulesLegacy {
		l = ladderLegacy
	}
	if limit == Unlimited {
		return Unlimited
	}
	for _, v := range l {
		if v == Unlimited || v > limit {
			return v
		}
	}
	return Unlimited
}

// NumberState is the provider's view of a number: its standing and, under legacy
// rules, its own limit. It is stored, and updated from webhooks and polls.
type NumberState struct {
	Status      string    `json:"status"`  // CONNECTED, FLAGGED, RESTRICTED, PENDING, ...
	Quality     string    `json:"quality"` // GREEN, YELLOW, RED, UNKNOWN
	Restriction string    `json:"restriction,omitempty"`
	RestrictedT time.Time `json:"restricted_until,omitzero"`
	// Throughput is the provider's throughput level: STANDARD, or HIGH after an upgrade.
	Throughput string `json:"throughput,omitempty"`
	// MarketingPause is why the number's marketing templates are paused (spam_rate_limit
	// after a 131048), since MarketingPausedAt until MarketingPauseUntil (zero: until an
	// operator resumes it); empty: not paused.
	MarketingPause      string    `json:"marketing_pause,omitempty"`
	MarketingPausedAt   time.Time `json:"marketing_paused_at,omitzero"`
	MarketingPauseUntil time.Time `json:"marketing_pause_until,omitzero"`
	// MarketingResumedAt is when the last pause ended: a 131048 answering a send made
	// before it belongs to that pause and starts no other.
	MarketingResumedAt time.Time `json:"marketing_resumed_at,omitzero"`
	UpdatedAt          time.Time `json:"updated_at,omitzero"`
}

// gateVerdict is what the tier gate decided for one message at claim time.
type gateVerdict struct {
	reason string    // empty: send now
	due    time.Time // when to look at it again
	eta    time.Time // shown to the user; zero when unknown
	fail   *MessageError
	slot   bool // took a messaging-limit slot (given back if the claim fails)
	count  bool // a marketing template to count against the contact's caps if it goes
	wa     string
}

// gate decides whether m may be claimed now (gateFor), and counts a marketing
// template it lets go against its contact's frequency caps.
func (d *dispatcher) gate(tx storage.Txn, m *Message, now time.Time) (gateVerdict, error) {
	v, err := d.gateFor(tx, m, now)
	if err == nil && v.count && v.reason == "" && v.fail == nil {
		err = d.e.countMarketing(tx, m, now)
	}
	return v, err
}

// gateFor decides whether m may be claimed now. It reads the number's standing, the
// contact (window, opt-out, per-user marketing hold) and takes a messaging-limit slot
// for a business-initiated template; O(1) per message. The order matters: a number
// that cannot send holds everything, then the recipient's pair budget, then what
// concerns templates only.
func (d *dispatcher) gateFor(tx storage.Txn, m *Message, now time.Time) (gateVerdict, error) {
	wa := waOf(m)
	v := gateVerdict{wa: wa}
	st := d.e.stateOf(d.num.Alias)
	if r := statusHold(st.Status); r != "" {
		v.reason, v.due = r, now.Add(holdRecheck)
		return v, nil
	}
	if next := d.pairNext(wa); next.After(now) {
		v.reason, v.due, v.eta = ReasonPairRate, next, next
		return v, nil
	}
	if m.Type != "template" {
		return v, nil
	}
	ct, err := loadContact(tx, d.num.PhoneNumberID, wa)
	if err != nil {
		return v, err
	}
	if m.Template != nil && d.e.opts.TemplateStatus != nil {
		switch d.e.opts.TemplateStatus(d.num.WABAID, m.Template.Name, m.Template.Language) {
		case "PAUSED":
			v.reason, v.due = ReasonTemplatePaused, now.Add(pauseRecheck)
			return v, nil
		case "DISABLED", "DELETED", "PENDING_DELETION":
			v.fail = &MessageError{Code: CodeTemplateUnusable, Title: "the template can no longer be sent", Class: "template_unusable"}
			return v, nil
		}
	}
	status := strings.ToUpper(st.Status)
	if m.Category == "marketing" {
		if ct.OptedOut {
			v.fail = &MessageError{Code: CodeOptedOut, Title: "recipient opted out of marketing", Class: "opted_out"}
			return v, nil
		}
		fail, count, err := d.e.frequencyGate(tx, m, ct, now)
		if err != nil || fail != nil {
			v.fail = fail
			return v, err
		}
		v.count = count
		if st.marketingPaused(now) {
			v.reason, v.due, v.eta = ReasonSpamRateLimit, now.Add(holdRecheck), st.MarketingPauseUntil
			if !st.MarketingPauseUntil.IsZero() {
				v.due = st.MarketingPauseUntil
			}
			return v, nil
		}
		if status == StatusFlagged {
			v.reason, v.due = ReasonNumberFlagged, now.Add(holdRecheck)
			return v, nil
		}
		if st.Quality == "RED" {
			v.reason, v.due = ReasonQualityRed, now.Add(holdRecheck)
			return v, nil
		}
	}
	if ct.WindowOpen(now) {
		return v, nil // customer-initiated: free of the limit and of restrictions
	}
	if status == StatusRestricted {
		v.reason, v.due = ReasonNumberRestricted, now.Add(holdRecheck)
		return v, nil
	}
	if st.bizRestricted(now) {
		v.reason, v.due, v.eta = ReasonAccountRestricted, now.Add(holdRecheck), st.RestrictedT
		if !st.RestrictedT.IsZero() && st.RestrictedT.Before(v.due) {
			v.due = st.RestrictedT
		}
		return v, nil
	}
	ok, taken, eta := d.e.tier.byAlias[d.num.Alias].admit(wa, now)
	if !ok {
		v.reason, v.due, v.eta = ReasonTierLimit, eta, eta
		return v, nil
	}
	v.slot = taken
	if taken {
		sc := d.e.tier.byAlias[d.num.Alias]
		if err := tx.Set(slotKey(sc.key, now.UnixNano(), wa), nil); err != nil {
			return v, err
		}
	}
	return v, nil
}

// park moves m to waiting for reason and queues it again at due.
func (d *dispatcher) park(tx storage.Txn, m *Message, v gateVerdict, now time.Time) error {
	prev := m.State
	if m.State == Waiting {
		m.UpdatedAt = now
	} else {
		m.move(Waiting, now)
	}
	m.WaitingReason, m.ETA, m.NextAttemptAt = v.reason, v.eta, v.due
	// The reason rides on the queue entry, so a re-plan finds the messages a change
	// may release without reading every waiting message (replan.go).
	if err := tx.Set(queueKey(d.num.Alias, v.due, m.ID), []byte(v.reason)); err != nil {
		return err
	}
	return d.e.update(tx, m, prev)
}
