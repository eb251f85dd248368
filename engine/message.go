// Package engine owns the send path after acceptance: the durable queue, one dispatcher
// per number with its throughput limiter, retries driven by the provider's error class,
// leases and recovery, and the message state machine fed by status webhooks. It also
// owns what the provider allows each number: the messaging limit, the number's status
// and quality and the holds they put on sends (re-planned at once when they change),
// the pair rate per recipient, and the marketing allowances of each contact (frequency
// caps, the per-user limit, the spam-rate pause). It never parses HTTP; the api and
// webhook packages call it.
package engine

import (
	"encoding/json"
	"time"

	"kirim/provider"
)

// State is where a message is in its life.
type State string

const (
	Queued      State = "queued"      // durable, waiting for its dispatcher
	Waiting     State = "waiting"     // queued but blocked (tier limit, pair rate, balance); see WaitingReason
	Dispatching State = "dispatching" // claimed and in flight to the provider
	Unknown     State = "unknown"     // was in flight when Kirim stopped; waits for the webhook that names it
	Held        State = "held"        // provider held it for quality assessment (template pacing)
	Sent        State = "sent"        // the provider accepted it
	Delivered   State = "delivered"
	Read        State = "read"
	Failed      State = "failed"    // terminal; Error says why
	Cancelled   State = "cancelled" // terminal; never sent
)

// rank orders states so that a state never moves backwards. Failed and cancelled are
// terminal and handled apart.
var rank = map[State]int{
	Queued: 0, Waiting: 0, Dispatching: 1, Unknown: 2, Held: 3, Sent: 4, Delivered: 5, Read: 6,
}

// Terminal reports whether no further change can happen.
func (s State) Terminal() bool { return s == Failed || s == Cancelled || s == Read }

// Settled reports whether the message's outcome is known (it left Kirim's hands or failed).
func (s State) Settled() bool {
	switch s {
	case Sent, Delivered, Read, Failed, Cancelled, Held:
		return true
	}
	return false
}

// canMove reports whether a message in from may move to to.
func canMove(from, to State) bool {
	if from == to || from.Terminal() {
		return false
	}
	switch to {
	case Failed:
		// A failure after delivery is noise; anything earlier can still fail.
		return rank[from] < rank[Delivered]
	case Cancelled:
		return from == Queued || from == Waiting
	}
	return rank[to] > rank[from] || (from == Waiting && to == Queued) || (from == Queued && to == Waiting) ||
		(from == Dispatching && (to == Queued || to == Waiting))
}

// Message is one message Kirim accepted. It is stored as JSON under its id.
type Message struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	// Number is the sender's alias.
	Number string `json:"number"`
	// To is the recipient in E.164; WaID is the provider's id for them (digits).
	To   string `json:"to"`
	WaID string `json:"wa_id,omitempty"`
	// Type is the provider message type (template, text, image, ...).
	Type     string       `json:"type"`
	Template *TemplateRef `json:"template,omitempty"`
	// Category is what the message is priced as: marketing, utility, authentication or service.
	Category string `json:"category"`
	// Payload is the provider request body, ready to send. It is stored under its own
	// key, loaded only when the message is claimed for sending, and deleted once the
	// message is settled.
	Payload      json.RawMessage `json:"-"`
	CallbackData string          `json:"callback_data,omitempty"`
	CampaignID   string          `json:"campaign_id,omitempty"`
	// CampaignRun numbers the run of CampaignID the message belongs to (recurring
	// campaigns run many times).
	CampaignRun    uint64 `json:"campaign_run,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`

	// Money, in micro-units of Currency.
	Price    int64  `json:"price"`
	Currency string `json:"currency,omitempty"`
	HoldID   string `json:"hold_id,omitempty"`
	Charged  int64  `json:"charged"`
	Settled  bool   `json:"settled,omitempty"` // the hold was captured or released

	State         State             `json:"state"`
	History       []StateChange     `json:"history"`
	Attempts      int               `json:"attempts"`
	Throttled     int               `json:"throttled,omitempty"`
	NextAttemptAt time.Time         `json:"next_attempt_at,omitzero"`
	LeaseUntil    time.Time         `json:"lease_until,omitzero"`
	WAMID         string            `json:"wamid,omitempty"`
	Error         *MessageError     `json:"error,omitempty"`
	WaitingReason string            `json:"waiting_reason,omitempty"`
	ETA           time.Time         `json:"eta,omitzero"`
	Pricing       *provider.Pricing `json:"pricing,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// TemplateRef names the template a message uses.
type TemplateRef struct {
	Name     string `json:"name"`
	Language string `json:"language"`
}

// StateChange is one entry of a message's history.
type StateChange struct {
	State State     `json:"status"`
	At    time.Time `json:"at"`
}

// MessageError is why a message failed (or is being retried).
type MessageError struct {
	Code   int    `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
	Class  string `json:"class,omitempty"`
}

// Error codes Kirim itself gives a failed message (provider codes are positive).
const (
	CodeUnknownTimeout = -1 // in flight during a crash and never confirmed
	CodeAttempts       = -2 // transient errors outlasted the retry budget
	CodeNumberGone     = -3 // the sending number is no longer configured
)

// move changes the state and records it; it reports whether anything changed.
func (m *Message) move(to State, at time.Time) bool {
	if !canMove(m.State, to) {
		return false
	}
	m.State = to
	m.History = append(m.History, StateChange{State: to, At: at})
	m.UpdatedAt = at
	if to != Waiting {
		m.WaitingReason = ""
		m.ETA = time.Time{}
	}
	return true
}
