package sandbox

import (
	"container/heap"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"kirim/clock"
	"kirim/provider"
)

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

// outbox schedules events on the clock, batches statuses into webhook bodies and
// delivers them through a pool of WebhookConcurrency workers.
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

func newOutbox(s *Sandbox) *outbox {
	o := &outbox{s: s, wake: make(chan struct{}, 1), stopCh: make(chan struct{})}
	tr := provider.NewTransport()
	tr.MaxIdleConnsPerHost = s.opts.WebhookConcurrency * 2
	o.client = &http.Client{Transport: tr, Timeout: webhookPostTimeout}
	for i := 0; i < s.opts.WebhookConcurrency; i++ {
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
