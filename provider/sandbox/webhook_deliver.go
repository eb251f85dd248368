package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"kirim/provider"
)

// maxWebhookBackoff caps the doubling retry delay of one POST.
const maxWebhookBackoff = time.Hour

// post is one webhook body on its way to WebhookURL.
type post struct {
	body     []byte
	statuses int
	attempt  int
	worker   int
	gen      uint64
	// For status posts: the number and the statuses' JSON (comma-separated), so a
	// worker that fell behind can merge queued posts of one number into fewer, fuller
	// POSTs when WebhookBatch allows more than one status per POST.
	num *number
	sts []byte
}

// KeptWebhook is a webhook body the sandbox produced, as GET /_sandbox/webhooks shows it.
type KeptWebhook struct {
	Time     time.Time       `json:"time"`
	Field    string          `json:"field"`
	Statuses int             `json:"statuses,omitempty"`
	Body     json.RawMessage `json:"body"`
}

type worker struct {
	mu    sync.Mutex
	queue []*post
	wake  chan struct{}
}

// submit hands a body to delivery, applying the duplicate and delay chaos knobs.
func (o *outbox) submit(p *post, field string) {
	ch := o.s.chaos.Load()
	posts := []*post{p}
	if ch.duplicate.hit() {
		// Copied before either is delivered: a worker may start on p (and count its
		// attempts) as soon as it is handed over.
		cp := *p
		cp.num = nil // a duplicate stays a POST of its own
		posts = append(posts, &cp)
		o.duplicated.Add(1)
	}
	for _, q := range posts {
		o.pendingPosts.Add(1)
		o.pendingSts.Add(int64(q.statuses))
		o.keep(q, field)
		if d := ch.cfg.WebhookDelay; d > 0 {
			o.s.clk.AfterFunc(d, func() { o.deliver(q) })
			continue
		}
		o.deliver(q)
	}
}

func (o *outbox) keep(p *post, field string) {
	o.keepMu.Lock()
	o.kept[o.keptNext] = KeptWebhook{Time: o.s.clk.Now(), Field: field, Statuses: p.statuses, Body: p.body}
	o.keptNext = (o.keptNext + 1) % webhookKeep
	o.keptLen = min(o.keptLen+1, webhookKeep)
	o.keepMu.Unlock()
}

// keptBodies returns the last n kept webhooks, oldest first.
func (o *outbox) keptBodies(n int) []KeptWebhook {
	o.keepMu.Lock()
	defer o.keepMu.Unlock()
	n = min(max(n, 0), o.keptLen)
	out := make([]KeptWebhook, 0, n)
	for i := n; i > 0; i-- {
		out = append(out, o.kept[(o.keptNext-i+webhookKeep)%webhookKeep])
	}
	return out
}

func (o *outbox) current(gen uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return gen == o.gen
}

// deliver posts p, or keeps it when no URL is configured.
func (o *outbox) deliver(p *post) {
	if !o.current(p.gen) {
		return
	}
	if o.s.opts.WebhookURL == "" {
		o.done(p)
		return
	}
	w := o.workers[p.worker]
	w.mu.Lock()
	w.queue = append(w.queue, p)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) done(p *post) {
	o.posted.Add(1)
	o.statusesPosted.Add(uint64(p.statuses))
	o.pendingPosts.Add(-1)
	o.pendingSts.Add(-int64(p.statuses))
}

// work posts one worker's queue in order, so one number's webhooks leave in order.
func (o *outbox) work(w *worker) {
	defer o.wg.Done()
	for {
		w.mu.Lock()
		var p *post
		merged := 0
		if len(w.queue) > 0 {
			p = w.queue[0]
			w.queue[0] = nil
			w.queue = w.queue[1:]
			for p.num != nil && p.attempt == 0 && len(w.queue) > 0 {
				q := w.queue[0]
				if q.num != p.num || q.gen != p.gen || q.attempt != 0 || p.statuses+q.statuses > o.s.opts.WebhookBatch {
					break
				}
				if merged == 0 {
					p = &post{statuses: p.statuses, worker: p.worker, gen: p.gen, num: p.num, sts: append([]byte(nil), p.sts...)}
				}
				p.sts = append(append(p.sts, ','), q.sts...)
				p.statuses += q.statuses
				w.queue[0] = nil
				w.queue = w.queue[1:]
				merged++
			}
		}
		w.mu.Unlock()
		if merged > 0 {
			// The absorbed posts leave the pending count; the merged one stands for them.
			o.pendingPosts.Add(-int64(merged))
			p.body = (&batcher{o: o}).statusBody(p.num, p.sts, o.s.now())
		}
		if p == nil {
			select {
			case <-o.stopCh:
				return
			case <-w.wake:
			}
			continue
		}
		o.attempt(p)
	}
}

func (o *outbox) attempt(p *post) {
	if !o.current(p.gen) {
		return
	}
	p.attempt++
	ch := o.s.chaos.Load()
	ok := false
	if !ch.fail.hit() {
		ok = o.httpPost(p.body)
	}
	if hook := o.afterAttempt.Load(); hook != nil {
		defer (*hook)(ok)
	}
	if !o.current(p.gen) {
		return
	}
	if ok {
		o.done(p)
		return
	}
	o.failedAttempts.Add(1)
	if p.attempt >= o.s.opts.WebhookMaxAttempts {
		o.dropped.Add(1)
		o.pendingPosts.Add(-1)
		o.pendingSts.Add(-int64(p.statuses))
		o.s.log.Warn("sandbox: webhook dropped", "attempts", p.attempt, "statuses", p.statuses)
		return
	}
	backoff := min(webhookBackoffBase<<(p.attempt-1), maxWebhookBackoff)
	o.s.clk.AfterFunc(backoff, func() { o.deliver(p) })
}

func (o *outbox) httpPost(body []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), webhookPostTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.s.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		o.s.log.Error("sandbox: webhook request", "err", err)
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(provider.SignatureHeader, provider.Sign(o.s.opts.AppSecret, body))
	resp, err := o.client.Do(req)
	if err != nil {
		o.s.log.Debug("sandbox: webhook post failed", "err", err)
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
