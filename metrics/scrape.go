package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"kirim/storage"
)

// scrape reads the services at each scrape: no hot path pays for these figures.
type scrape struct{ m *Metrics }

var (
	descQueue = prometheus.NewDesc("kirim_queue_messages",
		"Messages queued or waiting for their number's dispatcher (counted up to 1,000,000).", []string{"number"}, nil)
	descTierUsed = prometheus.NewDesc("kirim_tier_used_recipients",
		"Unique business-initiated recipients in the rolling 24 h of the number's messaging-limit scope.", []string{"number"}, nil)
	descTierLimit = prometheus.NewDesc("kirim_tier_limit_recipients",
		"The number's messaging limit in recipients per rolling 24 h (-1: unlimited).", []string{"number"}, nil)
	descQuality = prometheus.NewDesc("kirim_number_quality",
		"The number's quality rating: 1 for the current one.", []string{"number", "quality"}, nil)
	descStatus = prometheus.NewDesc("kirim_number_status",
		"The number's status at the provider: 1 for the current one.", []string{"number", "status"}, nil)
	descInbox = prometheus.NewDesc("kirim_webhook_inbox_bodies",
		"Provider webhook bodies stored and not yet applied.", nil, nil)
	descLag = prometheus.NewDesc("kirim_webhook_inbox_lag_seconds",
		"How long the oldest webhook body not yet applied has waited.", nil, nil)
	descDead = prometheus.NewDesc("kirim_webhook_dead_letters",
		"Webhook bodies and changes that could not be applied (GET /v1/webhooks/dead).", nil, nil)
	descWebhook = prometheus.NewDesc("kirim_webhook_events_total",
		"Webhook bodies received, duplicated or refused (unsigned, too_large, busy), and changes applied, retried, dead-lettered or skipped as unknown.",
		[]string{"event"}, nil)
	descAvailable = prometheus.NewDesc("kirim_ledger_available_micros",
		"Money an account's new holds may use, in micro-units of its currency.", []string{"account", "currency"}, nil)
	descHeld = prometheus.NewDesc("kirim_ledger_held_micros",
		"Money held for messages and campaigns not yet settled, in micro-units.", []string{"account", "currency"}, nil)
	descBalance = prometheus.NewDesc("kirim_ledger_balance_micros",
		"Prepaid money not yet spent (available plus held), in micro-units.", []string{"account", "currency"}, nil)
	descCaptured = prometheus.NewDesc("kirim_ledger_captured_micros_total",
		"Money captured for the provider over all accounts since the ledger began, in micro-units.", []string{"currency"}, nil)
	descStorage = prometheus.NewDesc("kirim_storage_bytes",
		"Disk used by Badger's files, by kind: lsm (tables), vlog (value log), wal (memtable logs).", []string{"kind"}, nil)
	descCommits    = prometheus.NewDesc("kirim_storage_commits_total", "Commits answered by the group committer.", nil, nil)
	descSyncs      = prometheus.NewDesc("kirim_storage_syncs_total", "Syncs of the group committer (one covers many commits).", nil, nil)
	descDeliveries = prometheus.NewDesc("kirim_callback_deliveries",
		"Event deliveries to a customer endpoint by state: pending (not yet attempted), retrying, failed (kept for replay).",
		[]string{"endpoint", "account", "state"}, nil)
	descDelivered = prometheus.NewDesc("kirim_callback_delivered_total",
		"Event deliveries an endpoint answered with 2xx.", []string{"endpoint", "account"}, nil)
	descErrors = prometheus.NewDesc("kirim_scrape_errors",
		"Figures this scrape could not read, by source.", []string{"source"}, nil)
)

func (s *scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descTierUsed, descTierLimit, descQuality, descStatus, descInbox, descLag,
		descDead, descWebhook, descAvailable, descHeld, descBalance, descCaptured, descStorage, descCommits, descSyncs, descDeliveries, descDelivered, descErrors} {
		ch <- d
	}
}

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	src := s.m.sources.Load()
	if src == nil {
		return
	}
	errs := map[string]float64{}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if e := src.Engine; e != nil {
		for _, n := range e.Numbers() {
			if depth, _, err := e.QueueDepth(n.Alias, queueDepthCap); err == nil {
				gauge(descQueue, float64(depth), n.Alias)
			} else {
				errs["engine"]++
			}
			st, err := e.NumberStatusOf(n.Alias)
			if err != nil {
				errs["engine"]++
				continue
			}
			gauge(descTierUsed, float64(st.Used24h), n.Alias)
			gauge(descTierLimit, float64(st.Limit), n.Alias)
			if st.Quality != "" {
				gauge(descQuality, 1, n.Alias, st.Quality)
			}
			if st.Status != "" {
				gauge(descStatus, 1, n.Alias, st.Status)
			}
		}
	}
	if w := src.Webhook; w != nil {
		if n, err := w.InboxDepth(); err == nil {
			gauge(descInbox, float64(n))
		} else {
			errs["webhook"]++
		}
		if lag, err := w.InboxLag(); err == nil {
			gauge(descLag, lag.Seconds())
		} else {
			errs["webhook"]++
		}
		if n, err := w.DeadCount(); err == nil {
			gauge(descDead, float64(n))
		} else {
			errs["webhook"]++
		}
		st := w.Stats()
		for _, e := range []struct {
			name string
			v    int64
		}{{"received", st.Received}, {"duplicate", st.Duplicate}, {"unsigned", st.Unsigned}, {"too_large", st.TooLarge},
			{"busy", st.Busy}, {"timed_out", st.TimedOut}, {"applied", st.Applied}, {"retried", st.Retried}, {"dead_lettered", st.DeadLettered},
			{"unknown_skipped", st.UnknownSkipped}} {
			counter(descWebhook, float64(e.v), e.name)
		}
	}
	if o := src.Events; o != nil {
		for _, st := range o.Stats() {
			gauge(descDeliveries, float64(st.Pending), st.EndpointID, st.Account, "pending")
			gauge(descDeliveries, float64(st.Retrying), st.EndpointID, st.Account, "retrying")
			gauge(descDeliveries, float64(st.Failed), st.EndpointID, st.Account, "failed")
			counter(descDelivered, float64(st.Delivered), st.EndpointID, st.Account)
		}
	}
	if l, db := src.Ledger, src.DB; l != nil && db != nil {
		currencies := map[string]bool{}
		err := db.View(func(r storage.Reader) error {
			for _, id := range l.Accounts() {
				b, err := l.Balance(r, id)
				if err != nil {
					return err
				}
				gauge(descAvailable, float64(b.Available), id, b.Currency)
				gauge(descHeld, float64(b.Held), id, b.Currency)
				gauge(descBalance, float64(b.Balance), id, b.Currency)
				currencies[b.Currency] = true
			}
			for c := range currencies {
				v, err := l.Captured(r, c)
				if err != nil {
					return err
				}
				counter(descCaptured, float64(v), c)
			}
			return nil
		})
		if err != nil {
			errs["ledger"]++
		}
	}
	if db := src.DB; db != nil {
		st := db.Stats()
		gauge(descStorage, float64(st.LSMBytes), "lsm")
		gauge(descStorage, float64(st.VLogBytes), "vlog")
		gauge(descStorage, float64(st.WALBytes), "wal")
		counter(descCommits, float64(st.Commits))
		counter(descSyncs, float64(st.Syncs))
	}
	for _, source := range []string{"engine", "webhook", "ledger"} {
		gauge(descErrors, errs[source], source)
	}
}
