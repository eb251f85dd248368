package sandbox

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"kirim/clock"
	"kirim/provider"
)

// maxWebhookBackoff caps the doubling retry delay of one POST.
const maxWebhookBackoff = time.Hour

type evKind uint8

const (
	evMessage evKind = iota // the status sequence of one accepted send
	evWebhook               // one prepared change, posted alone
	evFunc                  // work due on the clock (template review, pacing release)
)

// Status stages of a message event.
const (
	stSent uint8 = iota
	stDelivered
	stRead
	stFailed
	stDone
)

// Final outcomes of a message.
const (
	finDelivered uint8 = iota
	finRead
	finFailed
)

var stageNames = [...]string{stSent: "sent", stDelivered: "delivered", stRead: "read", stFailed: "failed"}

// pricingInfo is the pricing object of a message's billable statuses.
type pricingInfo struct {
	typ      string
	category string
	billable bool
}

// event is something due on the clock. Message events are reused from stage to stage,
// so an accepted send costs one allocation here.
type event struct {
	due  int64 // unix nanoseconds
	seq  uint64
	gen  uint64
	kind evKind
	num  *number

	// evMessage
	wamid    uint64
	wa       uint64
	cb       string
	pricing  pricingInfo
	stage    uint8
	final    uint8
	failCode int

	// evWebhook
	field string
	value []byte

	// evFunc
	run func()
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].due != h[j].due {
		return h[i].due < h[j].due
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return x
}

// post is one webhook body on its way to WebhookURL.
type post struct {
	body     []byte
	statuses int
	attempt  int
	worker   int
	gen      uint64
	// For status posts: the number and the statuses' JSON (comma-separated), so a
	// worker that fell behind can merge queued posts of one number into fewer, fuller
	// POSTs, as Meta batches statuses when a receiver is slow.
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

// outbox schedules events on the clock, batches statuses into webhook bodies and
// delivers them through a small pool of workers.
type outbox struct {
	s *Sandbox

	mu       sync.Mutex
	h        eventHeap
	ready    []*event
	spare    []*event
	seq      uint64
	gen      uint64
	timer    clock.Timer
	timerAt  int64
	armID    uint64
	wake     chan struct{}
	stopCh   chan struct{}
	wg       sync.WaitGroup
	running  bool
	workers  []*worker
	client   *http.Client
	keepMu   sync.Mutex
	kept     [webhookKeep]KeptWebhook
	keptNext int
	keptLen  int

	// afterAttempt, when set, is told the outcome of every POST attempt (tests).
	afterAttempt atomic.Pointer[func(ok bool)]

	posted         atomic.Uint64
	statusesPosted atomic.Uint64
	failedAttempts atomic.Uint64
	dropped        atomic.Uint64
	pendingPosts   atomic.Int64
	pendingSts     atomic.Int64 // statuses in pendingPosts
	duplicated     atomic.Uint64
	reordered      atomic.Uint64
}

type worker struct {
	mu    sync.Mutex
	queue []*post
	wake  chan struct{}
}

func newOutbox(s *Sandbox) *outbox {
	o := &outbox{s: s, wake: make(chan struct{}, 1), stopCh: make(chan struct{})}
	tr := provider.NewTransport()
	tr.MaxIdleConnsPerHost = webhookWorkers * 2
	o.client = &http.Client{Transport: tr, Timeout: webhookPostTimeout}
	for i := 0; i < webhookWorkers; i++ {
		o.workers = append(o.workers, &worker{wake: make(chan struct{}, 1)})
	}
	return o
}

func (o *outbox) start() {
	o.mu.Lock()
	o.running = true
	o.mu.Unlock()
	o.wg.Add(1)
	go o.dispatch()
	if o.s.opts.WebhookURL != "" {
		for _, w := range o.workers {
			o.wg.Add(1)
			go o.work(w)
		}
	}
	o.signal()
}

func (o *outbox) stop() {
	o.mu.Lock()
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	o.mu.Unlock()
	close(o.stopCh)
	o.wg.Wait()
	o.client.CloseIdleConnections()
}

// reset drops everything scheduled or queued and zeroes the counters.
func (o *outbox) reset() {
	o.mu.Lock()
	o.gen++
	clear(o.h)
	o.h = o.h[:0]
	clear(o.ready)
	o.ready = o.ready[:0]
	if o.timer != nil {
		o.timer.Stop()
		o.timer = nil
	}
	o.timerAt = 0
	o.mu.Unlock()
	for _, w := range o.workers {
		w.mu.Lock()
		clear(w.queue)
		w.queue = w.queue[:0]
		w.mu.Unlock()
	}
	o.keepMu.Lock()
	o.kept = [webhookKeep]KeptWebhook{}
	o.keptNext, o.keptLen = 0, 0
	o.keepMu.Unlock()
	for _, c := range []*atomic.Uint64{&o.posted, &o.statusesPosted, &o.failedAttempts, &o.dropped, &o.duplicated, &o.reordered} {
		c.Store(0)
	}
	o.pendingPosts.Store(0)
	o.pendingSts.Store(0)
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// schedule queues ev for ev.due. Events already due go straight to the dispatcher.
func (o *outbox) schedule(ev *event) {
	now := o.s.now()
	o.mu.Lock()
	o.seq++
	ev.seq = o.seq
	ev.gen = o.gen
	if ev.due <= now {
		o.ready = append(o.ready, ev)
		o.mu.Unlock()
		o.signal()
		return
	}
	heap.Push(&o.h, ev)
	if o.timerAt == 0 || ev.due < o.timerAt {
		o.armLocked(ev.due, now)
	}
	o.mu.Unlock()
}

// scheduleFunc runs f on the dispatcher once due has come.
func (o *outbox) scheduleFunc(due int64, f func()) {
	o.schedule(&event{due: due, kind: evFunc, run: f})
}

// armLocked points the single clock timer at due. The timer always has a positive
// delay here, so a fake clock never fires it synchronously under o.mu.
func (o *outbox) armLocked(due, now int64) {
	if o.timer != nil {
		o.timer.Stop()
	}
	o.armID++
	id := o.armID
	o.timerAt = due
	o.timer = o.s.clk.AfterFunc(time.Duration(due-now), func() { o.fire(id) })
}

// fire moves every due event to the ready list and re-arms for the next one.
func (o *outbox) fire(id uint64) {
	now := o.s.now()
	o.mu.Lock()
	for len(o.h) > 0 && o.h[0].due <= now {
		o.ready = append(o.ready, heap.Pop(&o.h).(*event))
	}
	if id == o.armID {
		o.timer, o.timerAt = nil, 0
		if len(o.h) > 0 {
			o.armLocked(o.h[0].due, now)
		}
	}
	n := len(o.ready)
	o.mu.Unlock()
	if n > 0 {
		o.signal()
	}
}

// scheduled counts events waiting on the clock or for the dispatcher.
func (o *outbox) scheduled() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.h) + len(o.ready)
}

func (o *outbox) dispatch() {
	defer o.wg.Done()
	b := &batcher{o: o}
	for {
		select {
		case <-o.stopCh:
			return
		case <-o.wake:
		}
		for {
			o.mu.Lock()
			evs := o.ready
			o.ready = o.spare[:0]
			gen := o.gen
			o.mu.Unlock()
			if len(evs) == 0 {
				o.spare = evs
				break
			}
			b.process(evs, gen)
			clear(evs)
			o.mu.Lock()
			o.spare = evs[:0]
			o.mu.Unlock()
		}
	}
}

// statusOut is one status ready to serialise.
type statusOut struct {
	wamid    uint64
	stage    uint8
	ts       int64
	wa       uint64
	cb       string
	pricing  *pricingInfo
	failCode int
}

// batcher groups the statuses of one dispatch round by number.
type batcher struct {
	o     *outbox
	byNum map[*number][]statusOut
	order []*number
	buf   []byte
}

func (b *batcher) process(evs []*event, gen uint64) {
	o := b.o
	now := o.s.now()
	if b.byNum == nil {
		b.byNum = make(map[*number][]statusOut)
	}
	for _, ev := range evs {
		if ev.gen != gen {
			continue
		}
		switch ev.kind {
		case evFunc:
			ev.run()
		case evWebhook:
			body := envelope(nil, ev.num.waba, now/int64(time.Second), ev.field, ev.value)
			o.submit(&post{body: body, worker: ev.num.idx % webhookWorkers, gen: gen}, ev.field)
		case evMessage:
			b.emit(ev, now)
		}
	}
	batch := o.s.opts.WebhookBatch
	for _, n := range b.order {
		sts := b.byNum[n]
		for len(sts) > 0 {
			k := min(batch, len(sts))
			b.flush(n, sts[:k], now, gen)
			sts = sts[k:]
		}
		clear(b.byNum[n])
		b.byNum[n] = b.byNum[n][:0]
	}
	b.order = b.order[:0]
}

// emit adds the statuses of ev that are due and reschedules the rest.
func (b *batcher) emit(ev *event, now int64) {
	o := b.o
	for {
		st := statusOut{wamid: ev.wamid, stage: ev.stage, ts: ev.due / int64(time.Second), wa: ev.wa, cb: ev.cb}
		var next uint8
		var delay time.Duration
		switch ev.stage {
		case stSent:
			st.pricing = &ev.pricing
			next, delay = stDelivered, o.s.opts.DeliveredDelay
			if ev.final == finFailed {
				next = stFailed
			}
		case stDelivered:
			st.pricing = &ev.pricing
			next, delay = stDone, 0
			if ev.final == finRead {
				next, delay = stRead, o.s.opts.ReadDelay
			}
		case stFailed:
			st.failCode = ev.failCode
			next = stDone
		default:
			next = stDone
		}
		if len(b.byNum[ev.num]) == 0 {
			b.order = appendUnique(b.order, ev.num)
		}
		b.byNum[ev.num] = append(b.byNum[ev.num], st)
		if next == stDone {
			return
		}
		ev.stage = next
		ev.due += int64(delay)
		if ev.due > now {
			o.schedule(ev)
			return
		}
	}
}

func appendUnique(ns []*number, n *number) []*number {
	for _, x := range ns {
		if x == n {
			return ns
		}
	}
	return append(ns, n)
}

// flush serialises one batch of statuses into a POST.
func (b *batcher) flush(n *number, sts []statusOut, now int64, gen uint64) {
	o := b.o
	ch := o.s.chaos.Load()
	if len(sts) > 1 && ch.reorder.hit() {
		for i, j := 0, len(sts)-1; i < j; i, j = i+1, j-1 {
			sts[i], sts[j] = sts[j], sts[i]
		}
		o.reordered.Add(1)
	}
	var list []byte
	for i := range sts {
		if i > 0 {
			list = append(list, ',')
		}
		list = o.s.appendStatus(list, &sts[i])
	}
	body := b.statusBody(n, list, now)
	o.submit(&post{body: body, statuses: len(sts), worker: n.idx % webhookWorkers, gen: gen, num: n, sts: list}, provider.FieldMessages)
}

// statusBody wraps a comma-separated list of statuses of number n in a messages value
// and Meta's envelope.
func (b *batcher) statusBody(n *number, list []byte, now int64) []byte {
	v := b.buf[:0]
	v = append(v, `{"messaging_product":"whatsapp","metadata":{"display_phone_number":`...)
	v = appendJSONString(v, n.display)
	v = append(v, `,"phone_number_id":`...)
	v = appendJSONString(v, n.id)
	v = append(v, `},"statuses":[`...)
	v = append(v, list...)
	v = append(v, "]}"...)
	b.buf = v
	return envelope(make([]byte, 0, len(v)+160), n.waba, now/int64(time.Second), provider.FieldMessages, v)
}

// envelope wraps one change value in Meta's notification envelope.
func envelope(b []byte, entryID string, unix int64, field string, value []byte) []byte {
	b = append(b, `{"object":"whatsapp_business_account","entry":[{"id":`...)
	b = appendJSONString(b, entryID)
	b = append(b, `,"time":`...)
	b = strconv.AppendInt(b, unix, 10)
	b = append(b, `,"changes":[{"field":`...)
	b = appendJSONString(b, field)
	b = append(b, `,"value":`...)
	b = append(b, value...)
	return append(b, "}]}]}"...)
}

const errorHref = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

// appendStatus writes one status object exactly as provider.Status marshals.
func (s *Sandbox) appendStatus(b []byte, st *statusOut) []byte {
	b = append(b, `{"id":"`...)
	b = s.appendWamid(b, st.wamid)
	b = append(b, `","status":"`...)
	b = append(b, stageNames[st.stage]...)
	b = append(b, `","timestamp":"`...)
	b = strconv.AppendInt(b, st.ts, 10)
	b = append(b, `","recipient_id":"`...)
	b = strconv.AppendUint(b, st.wa, 10)
	b = append(b, '"')
	if st.cb != "" {
		b = append(b, `,"biz_opaque_callback_data":`...)
		b = appendJSONString(b, st.cb)
	}
	if p := st.pricing; p != nil {
		b = append(b, `,"pricing":{"billable":`...)
		b = strconv.AppendBool(b, p.billable)
		b = append(b, `,"pricing_model":"PMP","type":"`...)
		b = append(b, p.typ...)
		b = append(b, `","category":"`...)
		b = append(b, p.category...)
		b = append(b, `"}`...)
	}
	if st.failCode != 0 {
		title := errorTitle(st.failCode)
		b = append(b, `,"errors":[{"code":`...)
		b = strconv.AppendInt(b, int64(st.failCode), 10)
		b = append(b, `,"title":`...)
		b = appendJSONString(b, title)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, title)
		b = append(b, `,"error_data":{"details":`...)
		b = appendJSONString(b, failDetails(st.failCode))
		b = append(b, `},"href":"`+errorHref+`"}]`...)
	}
	return append(b, '}')
}

func failDetails(code int) string {
	switch code {
	case provider.CodeTemplatePaused:
		return "The message was held for quality assessment and dropped because its template was paused."
	case provider.CodeUndeliverable:
		return "Message failed to send because the recipient is not reachable on WhatsApp."
	case provider.CodeMarketingUserLimit:
		return "The recipient has received too many marketing messages recently."
	}
	return "Message failed to send."
}

// submit hands a body to delivery, applying the duplicate and delay chaos knobs.
func (o *outbox) submit(p *post, field string) {
	ch := o.s.chaos.Load()
	copies := 1
	if ch.duplicate.hit() {
		copies = 2
		o.duplicated.Add(1)
	}
	for i := 0; i < copies; i++ {
		q := p
		if i > 0 {
			cp := *p
			cp.num = nil // a duplicate stays a POST of its own
			q = &cp
		}
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

// postValue posts one change for number n (entry id: its WABA).
func (s *Sandbox) postValue(n *number, field string, value any) {
	b, err := json.Marshal(value)
	if err != nil {
		s.log.Error("sandbox: encode webhook", "field", field, "err", err)
		return
	}
	s.out.schedule(&event{due: s.now(), kind: evWebhook, num: n, field: field, value: asciiJSON(b)})
}

// postWABAEvent posts a WABA-level change (templates, account).
func (s *Sandbox) postWABAEvent(st *state, waba, field string, value any) {
	n := st.firstNumberOfWABA(waba)
	if n == nil {
		return
	}
	s.postValue(n, field, value)
}
