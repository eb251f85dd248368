package sandbox

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Chaos injects faults. Every fraction is applied by a deterministic counter per rule:
// the k-th eligible event is hit iff floor(k*rate) > floor((k-1)*rate), so 1,000 sends
// at 0.05 give exactly 50 hits.
type Chaos struct {
	// Latency is added to each send answer, drawn uniformly in [Min, Max] with the
	// seeded source. Applied only with the real clock: a fake clock never sleeps.
	Latency Latency
	// SendErrors maps an error code to the fraction of sends answered with it. Rules
	// are tried in ascending code order; a send hit by one rule is not counted by the
	// later ones.
	SendErrors map[int]float64
	// AsyncFailures maps an error code to the fraction of accepted sends that get a
	// sent status and then a failed status with that code (same counting as SendErrors).
	AsyncFailures map[int]float64
	// WebhookDuplicate is the fraction of webhook POSTs sent twice.
	WebhookDuplicate float64
	// WebhookReorder is the fraction of status groups (two or more statuses of one
	// number due at the same moment) posted in reverse order: reversed POSTs with one
	// status per POST, reversed within the POST when batched.
	WebhookReorder float64
	// WebhookDelay holds every webhook POST back by this long on the clock.
	WebhookDelay time.Duration
	// WebhookFail is the fraction of POST attempts treated as failed (not sent) and
	// retried with backoff.
	WebhookFail float64
}

// Latency is a range of added answer delay.
type Latency struct {
	Min time.Duration
	Max time.Duration
}

// chaosState is a Chaos with its counters.
type chaosState struct {
	cfg       Chaos
	sendErrs  []codeRatio
	asyncErrs []codeRatio
	duplicate ratio
	reorder   ratio
	fail      ratio
}

type codeRatio struct {
	code int
	r    *ratio
}

func codeRatios(m map[int]float64) []codeRatio {
	out := make([]codeRatio, 0, len(m))
	for code, rate := range m {
		r := &ratio{}
		r.set(rate)
		if r.parts > 0 {
			out = append(out, codeRatio{code: code, r: r})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].code < out[j].code })
	return out
}

// pick returns the code of the first rule that hits this event, or 0.
func pick(rules []codeRatio) int {
	for _, cr := range rules {
		if cr.r.hit() {
			return cr.code
		}
	}
	return 0
}

// SetChaos replaces the chaos knobs and restarts their counters.
func (s *Sandbox) SetChaos(c Chaos) {
	cs := &chaosState{cfg: c, sendErrs: codeRatios(c.SendErrors), asyncErrs: codeRatios(c.AsyncFailures)}
	cs.duplicate.set(c.WebhookDuplicate)
	cs.reorder.set(c.WebhookReorder)
	cs.fail.set(c.WebhookFail)
	s.chaos.Store(cs)
}

// Chaos returns the chaos knobs in force.
func (s *Sandbox) Chaos() Chaos { return s.chaos.Load().cfg }

// latency draws the added answer delay, zero under a fake clock.
func (s *Sandbox) latency(c *chaosState) time.Duration {
	l := c.cfg.Latency
	if !s.realClk || l.Max <= 0 {
		return 0
	}
	lo := max(l.Min, 0)
	if l.Max <= lo {
		return lo
	}
	return lo + time.Duration(s.rng.int64n(int64(l.Max-lo)+1))
}

// chaosJSON is the wire form of Chaos for GET/PUT /_sandbox/chaos: durations as Go
// duration strings ("250ms"), codes as object keys.
type chaosJSON struct {
	LatencyMin       string          `json:"latency_min,omitempty"`
	LatencyMax       string          `json:"latency_max,omitempty"`
	SendErrors       map[int]float64 `json:"send_errors,omitempty"`
	AsyncFailures    map[int]float64 `json:"async_failures,omitempty"`
	WebhookDuplicate float64         `json:"webhook_duplicate,omitempty"`
	WebhookReorder   float64         `json:"webhook_reorder,omitempty"`
	WebhookDelay     string          `json:"webhook_delay,omitempty"`
	WebhookFail      float64         `json:"webhook_fail,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// MarshalJSON renders durations as strings.
func (c Chaos) MarshalJSON() ([]byte, error) {
	return json.Marshal(chaosJSON{
		LatencyMin: durString(c.Latency.Min), LatencyMax: durString(c.Latency.Max),
		SendErrors: c.SendErrors, AsyncFailures: c.AsyncFailures,
		WebhookDuplicate: c.WebhookDuplicate, WebhookReorder: c.WebhookReorder,
		WebhookDelay: durString(c.WebhookDelay), WebhookFail: c.WebhookFail,
	})
}

// UnmarshalJSON reads the form MarshalJSON writes and checks every fraction.
func (c *Chaos) UnmarshalJSON(b []byte) error {
	var j chaosJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	var out Chaos
	var err error
	parse := func(name, s string) time.Duration {
		if s == "" || err != nil {
			return 0
		}
		d, e := time.ParseDuration(s)
		if e != nil || d < 0 {
			err = fmt.Errorf("%s: %q is not a duration", name, s)
		}
		return d
	}
	out.Latency.Min = parse("latency_min", j.LatencyMin)
	out.Latency.Max = parse("latency_max", j.LatencyMax)
	out.WebhookDelay = parse("webhook_delay", j.WebhookDelay)
	if err != nil {
		return err
	}
	check := func(name string, f float64) {
		if err == nil && (f < 0 || f > 1 || f != f) {
			err = fmt.Errorf("%s: %v is not a fraction between 0 and 1", name, f)
		}
	}
	for code, f := range j.SendErrors {
		check(fmt.Sprintf("send_errors.%d", code), f)
	}
	for code, f := range j.AsyncFailures {
		check(fmt.Sprintf("async_failures.%d", code), f)
	}
	check("webhook_duplicate", j.WebhookDuplicate)
	check("webhook_reorder", j.WebhookReorder)
	check("webhook_fail", j.WebhookFail)
	if err != nil {
		return err
	}
	out.SendErrors, out.AsyncFailures = j.SendErrors, j.AsyncFailures
	out.WebhookDuplicate, out.WebhookReorder, out.WebhookFail = j.WebhookDuplicate, j.WebhookReorder, j.WebhookFail
	*c = out
	return nil
}
