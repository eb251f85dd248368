package sandbox

import (
	"strconv"
	"time"

	"kirim/provider"
)

var stageNames = [...]string{stSent: "sent", stDelivered: "delivered", stRead: "read", stFailed: "failed"}

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

// batcher groups the statuses of one dispatch round by number and cuts them into POSTs
// of at most WebhookBatch statuses (one by default, as Meta posts them).
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
			o.submit(&post{body: body, worker: o.numberWorker(ev.num), gen: gen}, ev.field)
		case evMessage:
			b.emit(ev, now)
		}
	}
	batch := o.s.opts.WebhookBatch
	ch := o.s.chaos.Load()
	for _, n := range b.order {
		sts := b.byNum[n]
		if len(sts) > 1 && ch.reorder.hit() {
			// Reversed before being cut into POSTs, so one status per POST reorders the
			// POSTs themselves.
			for i, j := 0, len(sts)-1; i < j; i, j = i+1, j-1 {
				sts[i], sts[j] = sts[j], sts[i]
			}
			o.reordered.Add(1)
		}
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
			next = stDelivered
			if ev.final == finFailed {
				next = stFailed
			}
			delay = o.s.stageDelay(next, ev.wamid)
		case stDelivered:
			st.pricing = &ev.pricing
			next, delay = stDone, 0
			if ev.final == finRead {
				next, delay = stRead, o.s.stageDelay(stRead, ev.wamid)
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
	var list []byte
	for i := range sts {
		if i > 0 {
			list = append(list, ',')
		}
		list = o.s.appendStatus(list, &sts[i])
	}
	body := b.statusBody(n, list, now)
	// A lone status goes by its message, so different messages' statuses are posted
	// concurrently and one message's in order; a batch goes by its number, so a
	// worker that fell behind can merge the number's queued batches.
	worker := o.numberWorker(n)
	if o.s.opts.WebhookBatch == 1 {
		worker = o.messageWorker(sts[0].wamid)
	}
	o.submit(&post{body: body, statuses: len(sts), worker: worker, gen: gen, num: n, sts: list}, provider.FieldMessages)
}

// messageWorker is the worker that posts message wamid's statuses, one at a time.
func (o *outbox) messageWorker(wamid uint64) int { return int(mix64(wamid) % uint64(len(o.workers))) }

// numberWorker is the worker that posts number n's inbound and account webhooks (and
// its status batches), keeping them in order.
func (o *outbox) numberWorker(n *number) int { return n.idx % len(o.workers) }

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
