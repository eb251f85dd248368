package events

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"kirim/storage"
)

// Endpoint is a customer URL that receives events.
type Endpoint struct {
	ID             string // "cbe_..." made through the API, "config:<n>" from the configuration
	Account        string // "" = operator endpoint: receives every account's events
	URL            string
	Events         []string // "*", a family such as "message.*", or an exact type
	Description    string
	Disabled       bool
	DisabledReason string
	CreatedAt      time.Time
	Source         string // "config" or "api"
}

// EndpointSpec is what the API creates an endpoint from.
type EndpointSpec struct {
	URL         string
	Events      []string
	Description string
}

// EndpointPatch changes the fields that are set.
type EndpointPatch struct {
	URL         *string
	Events      *[]string
	Description *string
	Disabled    *bool // false re-enables and clears DisabledReason
}

// Sources of endpoints.
const (
	SourceConfig = "config"
	SourceAPI    = "api"
)

// secretRotationGrace is how long a replaced secret keeps signing beside the new one,
// so receivers can switch keys without dropping a delivery.
const secretRotationGrace = 24 * time.Hour

const maxDescription = 256

// endpointRec is an endpoint as stored. For a configuration endpoint only the state
// (disabled or not) is stored, with the URL it applied to.
type endpointRec struct {
	Endpoint
	Secret     string    `json:"secret,omitempty"`
	PrevSecret string    `json:"prev_secret,omitempty"`
	PrevUntil  time.Time `json:"prev_until,omitzero"`
}

// live is an endpoint as the loops see it; replaced whole on every change.
type live struct {
	endpointRec
	keys [][]byte // current signing key, then the previous one while it is valid
}

// endpoint is the running state of one endpoint.
type endpoint struct {
	id   string
	cur  atomic.Pointer[live]
	wake chan struct{}
	stop context.CancelFunc // of its loop, nil when not running
	done chan struct{}
}

func newEndpoint(rec endpointRec) (*endpoint, error) {
	e := &endpoint{id: rec.ID, wake: make(chan struct{}, 1)}
	if err := e.set(rec); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *endpoint) set(rec endpointRec) error {
	l := &live{endpointRec: rec}
	k, err := secretKey(rec.Secret)
	if err != nil {
		return err
	}
	l.keys = [][]byte{k}
	if rec.PrevSecret != "" {
		pk, err := secretKey(rec.PrevSecret)
		if err != nil {
			return err
		}
		l.keys = append(l.keys, pk)
	}
	e.cur.Store(l)
	return nil
}

func (e *endpoint) wants(typ string) bool {
	for _, f := range e.cur.Load().Events {
		if matchFilter(f, typ) {
			return true
		}
	}
	return false
}

// signingKeys returns the keys to sign with at now: the previous one stops at PrevUntil.
func (l *live) signingKeys(now time.Time) [][]byte {
	if len(l.keys) > 1 && !now.Before(l.PrevUntil) {
		return l.keys[:1]
	}
	return l.keys
}

// nudge wakes the endpoint's loop without blocking.
func (e *endpoint) nudge() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// secretKey returns the HMAC key of a secret: the decoded part of "whsec_<base64>",
// or the bytes of any other string.
func secretKey(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("secret: required: %w", ErrInvalid)
	}
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return []byte(s), nil
	}
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(k) == 0 {
		return nil, fmt.Errorf("secret: whsec_ followed by something other than base64: %w", ErrInvalid)
	}
	return k, nil
}

func newSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// load reads the configured endpoints, their stored state, and the API's endpoints.
func (o *Outbox) load(cfg []ConfigEndpoint) error {
	stored := map[string]endpointRec{}
	err := o.db.View(func(r storage.Reader) error {
		return r.Iterate([]byte(storage.PrefixEventEndpoint), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			var rec endpointRec
			if err := json.Unmarshal(v, &rec); err != nil {
				return false, fmt.Errorf("%w: %v", storage.ErrCorruptRecord, err)
			}
			stored[rec.ID] = rec
			return true, nil
		})
	})
	if err != nil {
		return fmt.Errorf("events: load endpoints: %w", err)
	}
	now := o.clk.Now().UTC()
	for i, c := range cfg {
		rec, err := o.configRec(i, c, now)
		if err != nil {
			return err
		}
		id := rec.ID
		// The stored state holds only while the configuration names the same URL: a
		// new receiver at that index starts enabled.
		if st, ok := stored[id]; ok && st.URL == c.URL {
			rec.Disabled, rec.DisabledReason, rec.CreatedAt = st.Disabled, st.DisabledReason, st.CreatedAt
		}
		e, err := newEndpoint(rec)
		if err != nil {
			return fmt.Errorf("events: callbacks[%d]: %w", i, err)
		}
		o.eps[id] = e
	}
	for id, rec := range stored {
		if rec.Source == SourceConfig {
			continue
		}
		e, err := newEndpoint(rec)
		if err != nil {
			return fmt.Errorf("events: endpoint %s: %w", id, err)
		}
		o.eps[id] = e
	}
	return nil
}

// configRec is entry i of the configuration's endpoints, checked.
func (o *Outbox) configRec(i int, c ConfigEndpoint, now time.Time) (endpointRec, error) {
	if err := o.checkURL(c.URL); err != nil {
		return endpointRec{}, fmt.Errorf("events: callbacks[%d]: %w", i, err)
	}
	if err := checkFilters(c.Events); err != nil {
		return endpointRec{}, fmt.Errorf("events: callbacks[%d]: %w", i, err)
	}
	if _, err := secretKey(c.Secret); err != nil {
		return endpointRec{}, fmt.Errorf("events: callbacks[%d]: %w", i, err)
	}
	return endpointRec{Endpoint: Endpoint{
		ID: "config:" + strconv.Itoa(i), Account: c.Account, URL: c.URL, Events: slices.Clone(c.Events),
		CreatedAt: now, Source: SourceConfig,
	}, Secret: c.Secret}, nil
}

// CreateEndpoint makes an endpoint for account ("" = operator) and returns it with its
// secret, which is not shown again.
func (o *Outbox) CreateEndpoint(ctx context.Context, account string, spec EndpointSpec) (Endpoint, string, error) {
	if err := o.checkURL(spec.URL); err != nil {
		return Endpoint{}, "", err
	}
	if err := checkFilters(spec.Events); err != nil {
		return Endpoint{}, "", err
	}
	if len(spec.Description) > maxDescription {
		return Endpoint{}, "", fmt.Errorf("description: %d bytes, at most %d: %w", len(spec.Description), maxDescription, ErrInvalid)
	}
	now := o.clk.Now().UTC()
	rec := endpointRec{Endpoint: Endpoint{
		ID: storage.NewID("cbe", now), Account: account, URL: spec.URL, Events: slices.Clone(spec.Events),
		Description: spec.Description, CreatedAt: now, Source: SourceAPI,
	}, Secret: newSecret()}
	e, err := newEndpoint(rec)
	if err != nil {
		return Endpoint{}, "", err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.saveEndpoint(ctx, rec); err != nil {
		return Endpoint{}, "", err
	}
	o.eps[rec.ID] = e
	o.publish()
	o.startLoop(e)
	return cloneEndpoint(rec.Endpoint), rec.Secret, nil
}

func (o *Outbox) saveEndpoint(ctx context.Context, rec endpointRec) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("events: endpoint %s: %w", rec.ID, err)
	}
	if err := o.db.Commit(ctx, func(tx storage.Txn) error { return tx.Set(endpointKey(rec.ID), v) }); err != nil {
		return fmt.Errorf("events: save endpoint %s: %w", rec.ID, err)
	}
	return nil
}

func cloneEndpoint(ep Endpoint) Endpoint {
	ep.Events = slices.Clone(ep.Events)
	return ep
}

// Endpoints lists the endpoints account sees ("" = all), configured ones first.
func (o *Outbox) Endpoints(account string) []Endpoint {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []Endpoint{}
	for _, e := range o.eps {
		l := e.cur.Load()
		if account == "" || l.Account == account {
			out = append(out, cloneEndpoint(l.Endpoint))
		}
	}
	slices.SortFunc(out, func(a, b Endpoint) int {
		if a.Source != b.Source {
			return strings.Compare(b.Source, a.Source) // "config" before "api"
		}
		if a.Source == SourceConfig {
			ai, _ := strconv.Atoi(strings.TrimPrefix(a.ID, "config:"))
			bi, _ := strconv.Atoi(strings.TrimPrefix(b.ID, "config:"))
			return ai - bi
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Endpoint returns one endpoint; another account's is ErrNotFound.
func (o *Outbox) Endpoint(account, id string) (Endpoint, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, err := o.find(account, id)
	if err != nil {
		return Endpoint{}, err
	}
	return cloneEndpoint(e.cur.Load().Endpoint), nil
}

// find returns the endpoint id as account may see it; callers hold mu.
func (o *Outbox) find(account, id string) (*endpoint, error) {
	e, ok := o.eps[id]
	if !ok || (account != "" && e.cur.Load().Account != account) {
		return nil, fmt.Errorf("endpoint %s: %w", id, ErrNotFound)
	}
	return e, nil
}

// UpdateEndpoint applies patch. Configuration endpoints can only be disabled and
// enabled; their URL and filters belong to the configuration.
func (o *Outbox) UpdateEndpoint(ctx context.Context, account, id string, patch EndpointPatch) (Endpoint, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, err := o.find(account, id)
	if err != nil {
		return Endpoint{}, err
	}
	rec := e.cur.Load().endpointRec
	rec.Events = slices.Clone(rec.Events)
	if rec.Source == SourceConfig && (patch.URL != nil || patch.Events != nil || patch.Description != nil) {
		return Endpoint{}, fmt.Errorf("endpoint %s: only disabled can change: %w", id, ErrConfigEndpoint)
	}
	if patch.URL != nil {
		if err := o.checkURL(*patch.URL); err != nil {
			return Endpoint{}, err
		}
		rec.URL = *patch.URL
	}
	if patch.Events != nil {
		if err := checkFilters(*patch.Events); err != nil {
			return Endpoint{}, err
		}
		rec.Events = slices.Clone(*patch.Events)
	}
	if patch.Description != nil {
		if len(*patch.Description) > maxDescription {
			return Endpoint{}, fmt.Errorf("description: %d bytes, at most %d: %w", len(*patch.Description), maxDescription, ErrInvalid)
		}
		rec.Description = *patch.Description
	}
	if patch.Disabled != nil {
		rec.Disabled = *patch.Disabled
		if rec.Disabled {
			rec.DisabledReason = "disabled through the API"
		} else {
			rec.DisabledReason = ""
		}
	}
	reenabled := e.cur.Load().Disabled && !rec.Disabled
	if err := o.saveState(ctx, rec, reenabled); err != nil {
		return Endpoint{}, err
	}
	if err := e.set(rec); err != nil {
		return Endpoint{}, err
	}
	o.publish()
	e.nudge()
	return cloneEndpoint(rec.Endpoint), nil
}

// saveState stores an endpoint change; re-enabling also forgets when the endpoint
// started failing, so it gets DisableAfter again before being disabled anew.
func (o *Outbox) saveState(ctx context.Context, rec endpointRec, reenabled bool) error {
	v, err := json.Marshal(storedForm(rec))
	if err != nil {
		return fmt.Errorf("events: endpoint %s: %w", rec.ID, err)
	}
	err = o.db.Commit(ctx, func(tx storage.Txn) error {
		if reenabled {
			if err := updateCounters(tx, rec.ID, func(c *counters) { c.failing = 0 }); err != nil {
				return err
			}
		}
		return tx.Set(endpointKey(rec.ID), v)
	})
	if err != nil {
		return fmt.Errorf("events: save endpoint %s: %w", rec.ID, err)
	}
	return nil
}

// storedForm drops the configured secret: the configuration stays its only home.
func storedForm(rec endpointRec) endpointRec {
	if rec.Source == SourceConfig {
		rec.Secret, rec.PrevSecret, rec.PrevUntil = "", "", time.Time{}
	}
	return rec
}

// DeleteEndpoint removes an endpoint made through the API, with its queue, retries
// and counters. Its failed deliveries stay listable until they age out.
func (o *Outbox) DeleteEndpoint(ctx context.Context, account, id string) error {
	o.mu.Lock()
	e, err := o.find(account, id)
	if err == nil && e.cur.Load().Source == SourceConfig {
		err = fmt.Errorf("endpoint %s: %w", id, ErrConfigEndpoint)
	}
	if err != nil {
		o.mu.Unlock()
		return err
	}
	if err := o.db.Commit(ctx, func(tx storage.Txn) error { return tx.Delete(endpointKey(id)) }); err != nil {
		o.mu.Unlock()
		return fmt.Errorf("events: delete endpoint %s: %w", id, err)
	}
	delete(o.eps, id)
	o.publish()
	stop, done := e.stop, e.done
	o.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	return o.dropQueues(ctx, id)
}

// dropQueues deletes what a deleted endpoint left, a bounded commit at a time.
func (o *Outbox) dropQueues(ctx context.Context, id string) error {
	for _, prefix := range [][]byte{queuePrefix(id), retryPrefix(id)} {
		for {
			var keys [][]byte
			err := o.db.View(func(r storage.Reader) error {
				return r.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
					keys = append(keys, append([]byte(nil), k...))
					return len(keys) < 1000, nil
				})
			})
			if err == nil && len(keys) > 0 {
				err = o.db.Commit(ctx, func(tx storage.Txn) error {
					for _, k := range keys {
						if err := tx.Delete(k); err != nil {
							return err
						}
					}
					return nil
				})
			}
			if err != nil {
				return fmt.Errorf("events: delete endpoint %s: queues: %w", id, err)
			}
			if len(keys) == 0 {
				break
			}
		}
	}
	if err := o.db.Commit(ctx, func(tx storage.Txn) error { return tx.Delete(countersKey(id)) }); err != nil {
		return fmt.Errorf("events: delete endpoint %s: counters: %w", id, err)
	}
	return nil
}

// RotateSecret gives an API endpoint a new secret. The old one keeps signing beside it
// for 24 hours, so a receiver can take the new one in its own time.
func (o *Outbox) RotateSecret(ctx context.Context, account, id string) (Endpoint, string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, err := o.find(account, id)
	if err != nil {
		return Endpoint{}, "", err
	}
	rec := e.cur.Load().endpointRec
	if rec.Source == SourceConfig {
		return Endpoint{}, "", fmt.Errorf("endpoint %s: the secret is in the configuration: %w", id, ErrConfigEndpoint)
	}
	rec.PrevSecret, rec.PrevUntil = rec.Secret, o.clk.Now().UTC().Add(secretRotationGrace)
	rec.Secret = newSecret()
	if err := o.saveState(ctx, rec, false); err != nil {
		return Endpoint{}, "", err
	}
	if err := e.set(rec); err != nil {
		return Endpoint{}, "", err
	}
	return cloneEndpoint(rec.Endpoint), rec.Secret, nil
}

// checkURL accepts http and https URLs with a host and no userinfo, whose host, when
// an IP literal, is an address deliveries may reach.
func (o *Outbox) checkURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("url: required: %w", ErrInvalid)
	}
	if len(raw) > 2048 {
		return fmt.Errorf("url: %d bytes, at most 2048: %w", len(raw), ErrInvalid)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url: not a URL: %w", ErrInvalid)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url: scheme %q, want http or https: %w", u.Scheme, ErrInvalid)
	}
	if u.User != nil {
		return fmt.Errorf("url: credentials in the URL are not allowed (the signature authenticates): %w", ErrInvalid)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("url: host required: %w", ErrInvalid)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := checkAddr(ip, o.allowPrivate); err != nil {
			return fmt.Errorf("url: %w: %w", err, ErrInvalid)
		}
		return nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "metadata.google.internal" || name == "metadata" {
		return fmt.Errorf("url: %s is a cloud metadata service: %w", host, ErrInvalid)
	}
	if !o.allowPrivate && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return fmt.Errorf("url: %s is loopback and private addresses are not allowed: %w", host, ErrInvalid)
	}
	return nil
}

// Metadata services of cloud providers outside link-local space.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
}

var errRefusedAddr = errors.New("address refused")

// checkAddr refuses what a delivery must never reach: link-local and metadata
// addresses always, loopback and private ones unless allowPrivate.
func checkAddr(ip netip.Addr, allowPrivate bool) error {
	ip = ip.Unmap().WithZone("")
	switch {
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%s is link-local: %w", ip, errRefusedAddr)
	case slices.Contains(metadataAddrs, ip):
		return fmt.Errorf("%s is a cloud metadata service: %w", ip, errRefusedAddr)
	case ip.IsMulticast():
		return fmt.Errorf("%s is multicast: %w", ip, errRefusedAddr)
	case !allowPrivate && (ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified()):
		return fmt.Errorf("%s is loopback or private and private addresses are not allowed: %w", ip, errRefusedAddr)
	}
	return nil
}

// NewHTTPClient returns the client deliveries use by default: a 10 s timeout, enough
// idle connections per host for concurrency, and a dialer that checks every address
// it connects to, after DNS, so a name that re-resolves (DNS rebinding) still cannot
// reach a refused address.
func NewHTTPClient(allowPrivate bool, concurrency int) *http.Client {
	d := &net.Dialer{
		Timeout:   5 * time.Second,
		KeepAlive: 30 * time.Second,
		Control:   dialControl(allowPrivate),
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // a proxy would dial on our behalf, past the check
	t.DialContext = d.DialContext
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = 2 * concurrency
	return &http.Client{
		Timeout:   DefaultTimeout,
		Transport: t,
		// A redirect could lead anywhere; receivers answer, they do not forward.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func dialControl(allowPrivate bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("dial %s: %w", address, errRefusedAddr)
		}
		return checkAddr(ap.Addr(), allowPrivate)
	}
}
