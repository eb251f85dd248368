package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"kirim/storage"
)

// Statuses of a Delivery.
const (
	StatusPending   = "pending"
	StatusRetrying  = "retrying"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// retryScanMargin is how far below the earliest retry seen the next scan starts.
const retryScanMargin = time.Minute

// maxBodyExcerpt is how much of a receiver's answer a delivery keeps.
const maxBodyExcerpt = 512

// job is one attempt to make: a queued event (seq set, rec nil) or a delivery that
// waits in the retry set (rec set).
type job struct {
	ev   stored
	seq  uint64
	rec  *record
	skip bool // a queue entry whose event is gone: taken off without an attempt
}

type result struct {
	job
	at   time.Time // by the outbox's clock, when the attempt started
	dur  time.Duration
	ok   bool
	code int
	err  string
	body string
	cut  bool // cut short by Close: not recorded, made again after a restart
}

// startLoop runs e's delivery loop if the outbox is started; callers hold mu.
func (o *Outbox) startLoop(e *endpoint) {
	if o.runCtx == nil || o.closed || e.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(o.runCtx)
	e.stop, e.done = cancel, make(chan struct{})
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		defer close(e.done)
		o.run(ctx, e)
	}()
}

// loop is the state of one endpoint's delivery loop. Only its goroutine touches it.
type loop struct {
	o        *Outbox
	e        *endpoint
	window   int
	next     uint64              // next queue sequence to read
	queued   map[uint64]struct{} // queue entries read and not yet recorded
	retrying map[string]struct{} // deliveries from the retry set read and not yet recorded
	// retryFrom is where the retry scan starts: moved and finished retries leave
	// deleted keys at the front of the set, which a scan from its start would walk
	// through on every page.
	retryFrom time.Time
	jobs      chan job
	results   chan result
	batch     []result
}

// run reads the endpoint's due retries and queue a page at a time, hands them to its
// own workers and records the outcomes in batches. Nothing here waits on another
// endpoint, and at most window events are in memory.
func (o *Outbox) run(ctx context.Context, e *endpoint) {
	l := &loop{
		o: o, e: e, window: 8 * o.concurrency,
		queued: map[uint64]struct{}{}, retrying: map[string]struct{}{},
	}
	l.jobs = make(chan job, l.window)
	l.results = make(chan result, l.window)
	var c counters
	err := o.db.View(func(r storage.Reader) (err error) { c, err = readCounters(r, e.id); return err })
	if err != nil {
		o.log.Error("events: endpoint loop cannot start", "endpoint", e.id, "err", err)
		return
	}
	l.next = max(c.resume, 1)

	var workers sync.WaitGroup
	for range o.concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range l.jobs {
				l.results <- o.attempt(ctx, e, j)
			}
		}()
	}
	defer func() {
		close(l.jobs)
		go func() {
			for range l.results { // unblock workers finishing attempts; they are not recorded
			}
		}()
		workers.Wait()
		close(l.results)
	}()

	poll := time.NewTimer(o.poll)
	defer poll.Stop()
	quick := 0 // after a wake, look again soon: the emitting commit may not have landed
	for ctx.Err() == nil {
		if room := l.window - len(l.queued) - len(l.retrying); room > 0 && !e.cur.Load().Disabled {
			if err := l.fill(room); err != nil {
				o.log.Error("events: read queue", "endpoint", e.id, "err", err)
			}
		}
		inflight := len(l.queued)+len(l.retrying) > len(l.batch)
		if len(l.batch) == 0 || inflight {
			wait := o.poll
			if quick > 0 && !inflight {
				wait = min(wait, time.Millisecond<<(6-quick))
				quick--
			}
			poll.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-e.wake:
				quick = 6
				continue
			case <-poll.C:
				if len(l.batch) == 0 {
					continue
				}
			case r := <-l.results:
				l.batch = append(l.batch, r)
			}
		}
	drain:
		for len(l.batch) < 4*l.window {
			select {
			case r := <-l.results:
				l.batch = append(l.batch, r)
			default:
				break drain
			}
		}
		if err := l.record(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			o.log.Error("events: record deliveries", "endpoint", e.id, "err", err)
		}
	}
}

// fill reads up to room due retries and queued events and hands them to the workers.
func (l *loop) fill(room int) error {
	now := l.o.clk.Now()
	var jobs []job
	err := l.o.db.View(func(r storage.Reader) error {
		jobs = jobs[:0]
		var ids []string
		prefix := retryPrefix(l.e.id)
		lowest := now
		var from []byte
		if !l.retryFrom.IsZero() {
			from = storage.Key(string(prefix), storage.U64(uint64(l.retryFrom.UnixNano())))
		}
		err := r.Iterate(prefix, storage.IterOptions{KeysOnly: true, Start: from}, func(k, _ []byte) (bool, error) {
			due, rest, ok := storage.ParseU64(k[len(prefix):])
			id, _, ok2 := storage.ParseStr(rest)
			if !ok || !ok2 {
				return false, fmt.Errorf("retry key %q: %w", k, storage.ErrCorruptRecord)
			}
			if at := time.Unix(0, int64(due)); at.Before(lowest) {
				lowest = at
			}
			if int64(due) > now.UnixNano() {
				return false, nil
			}
			if _, busy := l.retrying[id]; !busy {
				ids = append(ids, id)
			}
			return len(ids) < room, nil
		})
		if err != nil {
			return err
		}
		// Retries are scheduled seconds ahead at least and replays at the time of
		// the replay, so nothing new lands a minute below what this scan saw.
		l.retryFrom = lowest.Add(-retryScanMargin)
		for _, id := range ids {
			rec, err := readRecord(r, id)
			if err != nil {
				return err
			}
			jobs = append(jobs, job{ev: rec.event(), rec: &rec})
		}
		var seqs []uint64
		qp := queuePrefix(l.e.id)
		if len(jobs) < room {
			err = r.Iterate(qp, storage.IterOptions{KeysOnly: true, Start: queueKey(l.e.id, l.next)}, func(k, _ []byte) (bool, error) {
				seq, _, ok := storage.ParseU64(k[len(qp):])
				if !ok {
					return false, fmt.Errorf("queue key %q: %w", k, storage.ErrCorruptRecord)
				}
				seqs = append(seqs, seq)
				return len(jobs)+len(seqs) < room, nil
			})
			if err != nil {
				return err
			}
		}
		for _, seq := range seqs {
			v, err := r.Get(eventKey(seq))
			if errors.Is(err, storage.ErrNotFound) {
				jobs = append(jobs, job{seq: seq, skip: true})
				continue
			}
			if err != nil {
				return err
			}
			ev, err := decodeEvent(seq, v)
			if err != nil {
				return err
			}
			jobs = append(jobs, job{ev: ev, seq: seq})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.rec != nil {
			l.retrying[j.rec.ID] = struct{}{}
		} else {
			l.queued[j.seq] = struct{}{}
			l.next = j.seq + 1
		}
		if j.skip {
			l.o.log.Warn("events: queued event missing from the log", "endpoint", l.e.id, "seq", j.seq)
			l.results <- result{job: j}
			continue
		}
		l.jobs <- j
	}
	return nil
}

// record stores the outcomes of the batch in one commit: queue entries taken off,
// failures moved to the retry set or to failed, counters and the resume point.
func (l *loop) record(ctx context.Context) error {
	o, e := l.o, l.e
	var keep []result
	for _, r := range l.batch {
		if !r.cut {
			keep = append(keep, r)
		}
	}
	resume := l.next
	inBatch := make(map[uint64]bool, len(keep))
	for _, r := range keep {
		if r.rec == nil {
			inBatch[r.seq] = true
		}
	}
	for seq := range l.queued {
		if !inBatch[seq] && seq < resume {
			resume = seq
		}
	}
	now := o.clk.Now()
	statuses := make([]string, len(keep))
	var failing int64
	var lastFail time.Time
	err := o.db.Commit(ctx, func(tx storage.Txn) error {
		c, err := readCounters(tx, e.id)
		if err != nil {
			return err
		}
		var anyOK bool
		var firstFail time.Time
		lastFail = time.Time{}
		for i, r := range keep {
			if r.skip {
				c.done++
				statuses[i] = ""
				if err := tx.Delete(queueKey(e.id, r.seq)); err != nil {
					return err
				}
				continue
			}
			if r.ok {
				anyOK = true
			} else {
				if firstFail.IsZero() || r.at.Before(firstFail) {
					firstFail = r.at
				}
				if r.at.After(lastFail) {
					lastFail = r.at
				}
			}
			if r.rec == nil {
				c.done++
				if err := tx.Delete(queueKey(e.id, r.seq)); err != nil {
					return err
				}
				if r.ok {
					c.delivered++
					statuses[i] = "ok"
					continue
				}
				rec := &record{
					Delivery: Delivery{
						ID: storage.NewID("dlv", now), EndpointID: e.id, EventID: r.ev.ID,
						EventType: r.ev.Type, Account: r.ev.Account,
					},
					EndpointAccount: e.cur.Load().Account, Seq: r.ev.Seq, At: r.ev.At, Data: r.ev.Data,
				}
				statuses[i] = o.outcome(rec, &r)
				if err := writeRecord(tx, nil, rec); err != nil {
					return err
				}
				c.count("", rec.Status)
				continue
			}
			old, err := readRecord(tx, r.rec.ID)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			rec := old
			statuses[i] = o.outcome(&rec, &r)
			if err := writeRecord(tx, &old, &rec); err != nil {
				return err
			}
			c.count(old.Status, rec.Status)
		}
		c.resume = resume
		switch {
		case anyOK:
			c.failing = 0
		case c.failing == 0 && !firstFail.IsZero():
			c.failing = firstFail.UnixNano()
		}
		failing = c.failing
		return tx.Set(countersKey(e.id), c.encode())
	})
	if err != nil {
		return err
	}
	for _, r := range l.batch {
		if r.rec != nil {
			delete(l.retrying, r.rec.ID)
			continue
		}
		delete(l.queued, r.seq)
		if r.cut && r.seq < l.next {
			// Not recorded: read it from the store again rather than lose it.
			l.next = r.seq
		}
	}
	if o.onDelivery != nil {
		for i, r := range keep {
			if statuses[i] != "" {
				o.onDelivery(e.id, statuses[i], r.dur)
			}
		}
	}
	l.batch = l.batch[:0]
	// Measured to the latest failed attempt, not to now: a batch recorded late must
	// not count time in which nothing was tried.
	if failing != 0 && !lastFail.IsZero() && lastFail.Sub(time.Unix(0, failing)) >= o.disableAfter {
		o.disable(ctx, e, time.Unix(0, failing).UTC())
	}
	return nil
}

// outcome applies attempt r to rec and returns the status for OnDelivery.
func (o *Outbox) outcome(rec *record, r *result) string {
	rec.Attempts++
	rec.Tries++
	rec.LastAttempt, rec.LastCode, rec.LastError, rec.LastBody = r.at.UTC(), r.code, r.err, r.body
	rec.NextAttempt = time.Time{}
	switch {
	case r.ok:
		rec.Status = StatusDelivered
		return "ok"
	case rec.Tries > len(o.retry):
		rec.Status = StatusFailed
		return "failed"
	default:
		rec.Status = StatusRetrying
		rec.NextAttempt = r.at.Add(jitter(o.retry[rec.Tries-1])).UTC()
		return "retry"
	}
}

// jitter spreads d by ±20 %.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// disable turns an endpoint off after DisableAfter of nothing but failures and tells
// the account's other endpoints and the operator's. It checks the failure time again
// in its commit, as a re-enable in between starts the count over.
func (o *Outbox) disable(ctx context.Context, e *endpoint, since time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if cur, ok := o.eps[e.id]; !ok || cur != e || e.cur.Load().Disabled {
		return
	}
	rec := e.cur.Load().endpointRec
	rec.Disabled = true
	rec.DisabledReason = "every attempt failed since " + since.Format(time.RFC3339)
	v, err := json.Marshal(storedForm(rec))
	if err != nil {
		o.log.Error("events: disable endpoint", "endpoint", e.id, "err", err)
		return
	}
	data, _ := json.Marshal(map[string]any{
		"endpoint_id": e.id, "account_id": rec.Account, "url": redactURL(rec.URL),
		"reason": rec.DisabledReason, "failing_since": since,
	})
	ev := Event{Type: "endpoint.disabled", Account: rec.Account, Data: data}
	targets := o.targets(&ev, e.id)
	var still bool
	err = o.db.Commit(ctx, func(tx storage.Txn) error {
		c, err := readCounters(tx, e.id)
		if err != nil {
			return err
		}
		if still = c.failing != 0; !still {
			return nil
		}
		if err := tx.Set(endpointKey(e.id), v); err != nil {
			return err
		}
		if len(targets) == 0 {
			return nil
		}
		return o.emitTx(tx, &ev, targets, "")
	})
	if err != nil || !still {
		if err != nil {
			o.log.Error("events: disable endpoint", "endpoint", e.id, "err", err)
		}
		return
	}
	if err := e.set(rec); err != nil {
		o.log.Error("events: disable endpoint", "endpoint", e.id, "err", err)
		return
	}
	o.publish()
	for _, t := range targets {
		t.nudge()
	}
	o.log.Warn("events: endpoint disabled after failing for too long",
		"endpoint", e.id, "account", rec.Account, "failing_since", since, "disable_after", o.disableAfter)
}

// redactURL drops the query, where receivers sometimes put tokens.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// attempt posts one event to the endpoint, signed as Standard Webhooks prescribes.
func (o *Outbox) attempt(ctx context.Context, e *endpoint, j job) result {
	l := e.cur.Load()
	res := result{job: j, at: o.clk.Now()}
	body := eventBody(&j.ev.Event)
	ts := strconv.FormatInt(res.at.Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.URL, bytes.NewReader(body))
	if err != nil {
		res.err = "cannot build request: " + err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Kirim-Webhooks/1")
	req.Header.Set("webhook-id", j.ev.ID)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", sign(l.signingKeys(res.at), j.ev.ID, ts, body))
	start := time.Now()
	resp, err := o.client.Do(req)
	res.dur = time.Since(start)
	if ctx.Err() != nil {
		if resp != nil {
			_ = resp.Body.Close()
		}
		res.cut = true
		return res
	}
	if err != nil {
		res.err = describe(err)
		return res
	}
	defer resp.Body.Close()
	res.code = resp.StatusCode
	buf := make([]byte, maxBodyExcerpt)
	n, _ := io.ReadFull(resp.Body, buf)
	res.body = string(buf[:n])
	// Reading a little more lets the connection be reused for the next delivery.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	res.ok = resp.StatusCode >= 200 && resp.StatusCode < 300
	if !res.ok {
		res.err = "HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return res
}

// describe says why an attempt failed without the URL, which may carry a token.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout: " + err.Error()
	}
	return err.Error()
}

// eventBody is the JSON body of a delivery: {"type", "timestamp", "data"}.
func eventBody(ev *Event) []byte {
	typ, _ := json.Marshal(ev.Type)
	b := make([]byte, 0, 64+len(typ)+len(ev.Data))
	b = append(b, `{"type":`...)
	b = append(b, typ...)
	b = append(b, `,"timestamp":"`...)
	b = ev.At.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","data":`...)
	b = append(b, ev.Data...)
	return append(b, '}')
}

// sign returns the webhook-signature header: "v1,<base64 HMAC-SHA256>" per key,
// space-separated, over "<id>.<timestamp>.<body>".
func sign(keys [][]byte, id, ts string, body []byte) string {
	var sb strings.Builder
	for i, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(id))
		m.Write([]byte{'.'})
		m.Write([]byte(ts))
		m.Write([]byte{'.'})
		m.Write(body)
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString("v1,")
		sb.WriteString(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return sb.String()
}
