package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Events tunes the delivery of events to callback endpoints.
type Events struct {
	// Retry is the wait before each retry of a failed delivery (each with ±20 %
	// jitter); after the last the delivery is failed and kept for replay. Default 5s,
	// 30s, 2m, 10m, 30m, 1h, 2h, 4h, 8h, 8h: about 24 h in all.
	Retry []Duration `toml:"retry"`
	// DisableAfter disables an endpoint whose every delivery failed for this long.
	// Default 120h.
	DisableAfter Duration `toml:"disable_after"`
	// Concurrency is the deliveries in flight per endpoint. Default 16.
	Concurrency int `toml:"concurrency"`
	// AllowPrivate lets endpoints be on loopback and private addresses (on-prem
	// receivers). Default true. Link-local and cloud metadata addresses are always refused.
	AllowPrivate bool `toml:"allow_private"`
	// Timeout bounds one delivery. Default 10s.
	Timeout Duration `toml:"timeout"`
}

// DefaultRetry is the default retry schedule of event deliveries.
var DefaultRetry = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour}

// MinCallbackSecret is the shortest plain (not whsec_) callback secret.
const MinCallbackSecret = 24

func (c *Config) eventDefaults(has func(path ...string) bool) {
	e := &c.Events
	if !has("events", "retry") {
		e.Retry = nil
		for _, d := range DefaultRetry {
			e.Retry = append(e.Retry, Duration{d})
		}
	}
	def(has("events", "disable_after"), &e.DisableAfter, Duration{120 * time.Hour})
	def(has("events", "concurrency"), &e.Concurrency, 16)
	def(has("events", "allow_private"), &e.AllowPrivate, true)
	def(has("events", "timeout"), &e.Timeout, Duration{10 * time.Second})
}

// MatchEventFilter reports whether filter ("*", "message.*" or an exact type) is one a
// callback may subscribe to.
func MatchEventFilter(filter string) bool {
	if filter == "*" {
		return true
	}
	for _, t := range CallbackEvents {
		if t == filter {
			return true
		}
		if fam, ok := strings.CutSuffix(filter, ".*"); ok && strings.HasPrefix(t, fam+".") {
			return true
		}
	}
	return false
}

func (c *Config) validateCallbacks(v *validator) {
	accounts := map[string]bool{}
	for _, a := range c.Accounts {
		accounts[a.ID] = true
	}
	for i, cb := range c.Callbacks {
		at := func(k string) []string { return []string{"callbacks", strconv.Itoa(i), k} }
		if u, err := url.Parse(cb.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			v.add(fmt.Sprintf("%q is not an http(s) URL without credentials", cb.URL), at("url")...)
		}
		switch {
		case cb.Secret == "":
			v.add("is required to sign deliveries (kirim key new makes a random one)", at("secret")...)
		case !strings.HasPrefix(cb.Secret, "whsec_") && len(cb.Secret) < MinCallbackSecret:
			v.add(fmt.Sprintf("must be whsec_<base64> or at least %d characters", MinCallbackSecret), at("secret")...)
		}
		if len(cb.Events) == 0 {
			v.add(`at least one event type, "message.*" or "*"`, at("events")...)
		}
		for _, ev := range cb.Events {
			if !MatchEventFilter(ev) {
				v.add(fmt.Sprintf("%q is not one of %s, a family like message.* or *", ev, strings.Join(CallbackEvents, ", ")), at("events")...)
			}
		}
		if cb.Account != "" && !accounts[cb.Account] {
			v.add(fmt.Sprintf("%q is not a configured account", cb.Account), at("account")...)
		}
	}
	e := c.Events
	for i, d := range e.Retry {
		if d.Duration <= 0 {
			v.add("every wait must be positive", "events", "retry", strconv.Itoa(i))
		}
	}
	if len(e.Retry) == 0 {
		v.add("at least one retry", "events", "retry")
	}
	positive(v, e.DisableAfter, "events", "disable_after")
	positive(v, e.Timeout, "events", "timeout")
	if e.Concurrency < 1 || e.Concurrency > 256 {
		v.add("must be between 1 and 256", "events", "concurrency")
	}
}
