// Package metrics owns Kirim's Prometheus metrics: one registry, a collector that
// reads the running services when scraped (queues, tiers, webhook inbox, ledger,
// storage), counters fed from the send path's hooks, and the /metrics handler. The
// domain packages do not know it: app hands their accessors and hooks to it. Every
// label takes values from a bounded set: number aliases and account ids from the
// configuration, states, route patterns, known error codes.
package metrics

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kirim/engine"
	"kirim/events"
	"kirim/httpguard"
	"kirim/ledger"
	"kirim/provider"
	"kirim/storage"
	"kirim/webhook"
)

// Sources are the running services the collector reads at each scrape; any may be nil.
type Sources struct {
	Engine  *engine.Engine
	Webhook *webhook.Receiver
	Ledger  *ledger.Ledger
	DB      *storage.DB
	Events  *events.Outbox
}

// queueDepthCap bounds the keys one scrape counts per number's queue.
const queueDepthCap = 1_000_000

// Metrics is the registry and the instruments the send path feeds.
type Metrics struct {
	reg       *prometheus.Registry
	sources   atomic.Pointer[Sources]
	messages  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	requests  *prometheus.HistogramVec
	providerD *prometheus.HistogramVec
	delivery  *prometheus.HistogramVec
	written   *prometheus.CounterVec
	observers sync.Map // requestKey -> prometheus.Observer
}

// New builds the registry: Go runtime and process collectors, the scrape-time collector
// (reading the Sources given to SetSources), and the counters and histograms fed by the
// hooks below.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.messages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kirim_messages_total",
		Help: "Message state changes, by number and the state a commit left the message in (sends by status); a message that passes several states in one commit counts once, in the last."}, []string{"number", "state"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kirim_send_errors_total",
		Help: "Messages failed, by number and provider error code (other: a code outside the known set)."}, []string{"number", "code"})
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kirim_http_request_duration_seconds",
		Help: "API and webhook requests, by route pattern, method and status code.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}},
		[]string{"route", "method", "code"})
	m.providerD = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kirim_provider_request_duration_seconds",
		Help:    "Calls to the provider's Cloud API (sends, template and number reads), by method and status code; its count is the dispatch rate.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"method", "code"})
	m.delivery = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kirim_callback_delivery_duration_seconds",
		Help:    "Attempts to deliver an event to a customer endpoint, by endpoint and outcome (ok, retry, failed); a retry or failed count is a retried or given-up delivery.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"endpoint", "result"})
	m.written = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kirim_events_total",
		Help: "Events written for customer endpoints, by type (written in the transaction of the change they report; one whose change then failed to commit is counted too)."}, []string{"type"})
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.messages, m.errors, m.requests, m.providerD, m.delivery, m.written, &scrape{m: m})
	return m
}

// ObserveDelivery records one attempt to deliver an event to an endpoint.
func (m *Metrics) ObserveDelivery(endpoint, result string, d time.Duration) {
	m.delivery.WithLabelValues(endpoint, result).Observe(d.Seconds())
}

// ObserveEvent counts an event written for the customers' endpoints.
func (m *Metrics) ObserveEvent(typ string) { m.written.WithLabelValues(typ).Inc() }

// SetSources gives the scrape-time collector the running services.
func (m *Metrics) SetSources(src Sources) { m.sources.Store(&src) }

// Registry is the registry, for tests and for more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveMessages counts the state each message entered: wire it to the engine's
// OnChange.
func (m *Metrics) ObserveMessages(ms []*engine.Message) {
	for _, msg := range ms {
		m.messages.WithLabelValues(msg.Number, string(msg.State)).Inc()
		if msg.State == engine.Failed && msg.Error != nil {
			m.errors.WithLabelValues(msg.Number, errorCode(msg.Error.Code)).Inc()
		}
	}
}

// ObserveRequest records one HTTP request: wire it to api.Options.Observe. The
// histogram of each route, method and status is looked up once and kept.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	k := requestKey{route, method, status}
	o, ok := m.observers.Load(k)
	if !ok {
		o, _ = m.observers.LoadOrStore(k, m.requests.WithLabelValues(route, method, strconv.Itoa(status)))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

type requestKey struct {
	route, method string
	status        int
}

// InstrumentProvider wraps the provider client's transport to time its calls.
func (m *Metrics) InstrumentProvider(rt http.RoundTripper) http.RoundTripper {
	return promhttp.InstrumentRoundTripperDuration(m.providerD, rt)
}

// knownCodes are the error codes that get their own label value: the provider's
// documented ones and Kirim's own (-1: unconfirmed after a crash).
var knownCodes = map[int]bool{-1: true, 0: true,
	provider.CodeThroughput: true, provider.CodePairRate: true, provider.CodeSpamRate: true, provider.CodeMarketingUserLimit: true,
	provider.CodeUserStoppedMarketing: true, provider.CodeReEngagement: true, provider.CodeUndeliverable: true,
	provider.CodeUnsupportedType: true, provider.CodeGeneric: true, provider.CodeServiceUnavailable: true,
	provider.CodeParamCount: true, provider.CodeTemplateMissing: true, provider.CodeTemplateParamFormat: true,
	provider.CodeTemplatePaused: true, provider.CodeTemplateDisabled: true, provider.CodeInvalidParameter: true,
	provider.CodeMaintenance: true, provider.CodeAPIRate: true, provider.CodeWABARate: true, provider.CodeAuth: true,
}

func errorCode(c int) string {
	if knownCodes[c] {
		return strconv.Itoa(c)
	}
	return "other"
}

// Handler serves the registry in Prometheus's text format. With a token, a scrape must
// send "Authorization: Bearer <token>"; others are answered 401 in the error envelope.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if scheme, rest, ok := strings.Cut(got, " "); ok && strings.EqualFold(scheme, "Bearer") {
			got = "Bearer " + rest
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kirim metrics"`)
			httpguard.WriteError(w, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer <server.metrics_token>")
			return
		}
		h.ServeHTTP(w, r)
	})
}
