package sandbox

import (
	"crypto/subtle"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"kirim/provider"
)

// pruneEvery is how many writes a user shard takes between sweeps of expired state.
const pruneEvery = 1 << 16

// Recipient flags set through the inspection API.
const (
	flagStopped uint8 = 1 << iota
	flagUnreachable
)

// RestrictBizInitiated is the account restriction that blocks business-initiated sends.
const RestrictBizInitiated = "RESTRICTED_BIZ_INITIATED_MESSAGING"

type peerKey struct {
	wa  uint64
	num uint32
}

// peerState is what one number knows about one recipient.
type peerState struct {
	lastInbound int64 // unix ns of the last inbound message; 0 none
	fepUntil    int64 // end of a free-entry-point window
	pairTAT     int64 // pair-rate bucket: theoretical arrival time (GCRA)
}

// userShard holds the per-recipient state of the wa_ids hashing to it.
type userShard struct {
	mu       sync.Mutex
	peers    map[peerKey]peerState
	flags    map[uint64]uint8
	accepted map[uint64]struct{} // recipients with at least one accepted send
	// marketing holds, per recipient, when their counted marketing templates were
	// accepted (MarketingUserLimit), oldest first.
	marketing map[uint64][]int64
	writes    int
	_         [32]byte
}

func shardOf(wa uint64) int { return int((wa * 0x9E3779B97F4A7C15) >> 58) } // 64 shards

func (st *state) shard(wa uint64) *userShard { return &st.shards[shardOf(wa)] }

// pruneLocked forgets peers whose windows and pair bucket have all expired.
func (sh *userShard) pruneLocked(now int64) {
	for k, p := range sh.peers {
		if p.pairTAT <= now && p.fepUntil <= now && (p.lastInbound == 0 || p.lastInbound+int64(customerWindow) <= now) {
			delete(sh.peers, k)
		}
	}
	for wa, times := range sh.marketing {
		if len(times) == 0 || times[len(times)-1] <= now-int64(limitWindowMax) {
			delete(sh.marketing, wa)
		}
	}
}

// limitWindowMax bounds how long pruning keeps marketing times; MarketingWindow
// beyond it only forgets sooner.
const limitWindowMax = 30 * 24 * time.Hour

// marketingLimited counts a marketing template to wa against MarketingUserLimit and
// reports whether it is over the limit (not counted then). Called with sh.mu held.
func (s *Sandbox) marketingLimited(sh *userShard, wa uint64, now int64) bool {
	limit := s.opts.MarketingUserLimit
	if limit <= 0 {
		return false
	}
	times := sh.marketing[wa]
	cut := 0
	for cut < len(times) && times[cut] <= now-int64(s.opts.MarketingWindow) {
		cut++
	}
	times = times[cut:]
	if len(times) >= limit {
		sh.marketing[wa] = times
		return true
	}
	sh.marketing[wa] = append(times, now)
	return false
}

// uniqueLimiter counts unique recipients in a rolling window: a slot is taken at a
// recipient's first business-initiated send and frees limitWindow later.
type uniqueLimiter struct {
	taken map[uint64]int64
	queue []slot
	head  int
	// onTake, when set, hears of every slot taken (tiers.go counts usage with it).
	onTake func(now int64)
}

type slot struct {
	wa uint64
	at int64
}

// admit reports whether wa may be sent to under limit (-1 unlimited), taking a slot
// when it is new. It must be called with the owner's lock held.
func (l *uniqueLimiter) admit(wa uint64, now int64, limit int) bool {
	if l.taken == nil {
		l.taken = make(map[uint64]int64)
	}
	w := int64(limitWindow)
	for l.head < len(l.queue) && l.queue[l.head].at+w <= now {
		s := l.queue[l.head]
		if at, ok := l.taken[s.wa]; ok && at == s.at {
			delete(l.taken, s.wa)
		}
		l.head++
	}
	if l.head > 1024 && l.head*2 > len(l.queue) {
		l.queue = append(l.queue[:0], l.queue[l.head:]...)
		l.head = 0
	}
	if _, ok := l.taken[wa]; ok {
		return true
	}
	if limit >= 0 && len(l.taken) >= limit {
		return false
	}
	l.taken[wa] = now
	l.queue = append(l.queue, slot{wa, now})
	if l.onTake != nil {
		l.onTake(now)
	}
	return true
}

func (l *uniqueLimiter) used(now int64) int {
	n := 0
	for _, at := range l.taken {
		if at+int64(limitWindow) > now {
			n++
		}
	}
	return n
}

// admitLimit applies the messaging limit of the rules in force.
func (s *Sandbox) admitLimit(st *state, num *number, wa uint64, now int64) bool {
	if s.opts.Rules == RulesLegacy {
		num.mu.Lock()
		defer num.mu.Unlock()
		if num.limit < 0 {
			return true
		}
		return num.limiter.admit(wa, now, num.limit)
	}
	p := st.portfolio
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.limit < 0 {
		return true
	}
	return p.limiter.admit(wa, now, p.limit)
}

// reserve takes a throughput slot in the clock second sec.
func (n *number) reserve(sec int64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.winSec != sec {
		n.winSec, n.winCount = sec, 0
	}
	if n.winCount >= n.throughput {
		return false
	}
	n.winCount++
	return true
}

// release gives back a slot taken by a send that was refused later.
func (n *number) release(sec int64) {
	n.mu.Lock()
	if n.winSec == sec && n.winCount > 0 {
		n.winCount--
	}
	n.mu.Unlock()
}

func (n *number) restricted() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.restriction == RestrictBizInitiated
}

// checkAuth enforces Options.Token.
func (s *Sandbox) checkAuth(r *http.Request) *apiError {
	if s.opts.Token == "" {
		return nil
	}
	h := r.Header.Get("Authorization")
	const bearer = "Bearer "
	if len(h) > len(bearer) && h[:len(bearer)] == bearer &&
		subtle.ConstantTimeCompare([]byte(h[len(bearer):]), []byte(s.opts.Token)) == 1 {
		return nil
	}
	return refuse(provider.CodeAuth, "the access token is missing or invalid")
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// readBody reads at most max bytes into a pooled buffer; the caller returns it.
func readBody(r io.Reader, max int) (*[]byte, error) {
	bp := bodyPool.Get().(*[]byte)
	b := (*bp)[:0]
	lr := io.LimitReader(r, int64(max)+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*bp = b
			return bp, err
		}
	}
	*bp = b
	if len(b) > max {
		return bp, errTooLarge
	}
	return bp, nil
}

var errTooLarge = &apiError{code: provider.CodeInvalidParameter, details: "request body is too large"}

func (e *apiError) Error() string { return "error " + strconv.Itoa(e.code) + ": " + e.details }

// outcome is the verdict on one send.
type outcome struct {
	err      *apiError
	wamid    uint64
	held     bool
	limitHit bool
}

func (s *Sandbox) handleSend(w http.ResponseWriter, r *http.Request) {
	st := s.st.Load()
	ch := s.chaos.Load()
	if d := s.latency(ch); d > 0 {
		<-s.clk.After(d)
	}
	now := s.now()
	num := st.numberByID(r.PathValue("id"))
	numIdx := int16(-1)
	if num != nil {
		numIdx = int16(num.idx)
	}
	if e := s.checkAuth(r); e != nil {
		st.rec.add(record{at: now, code: int32(e.code), num: numIdx}, "", "", "")
		s.writeAPIError(w, e)
		return
	}
	bp, err := readBody(r.Body, maxSendBody)
	defer bodyPool.Put(bp)
	var req *sendReq
	var perr *apiError
	if err != nil {
		req, perr = &sendReq{}, refuse(provider.CodeInvalidParameter, "request body could not be read")
		if err == errTooLarge {
			perr = errTooLarge
		}
	} else {
		req, perr = parseSend(*bp)
	}
	if num == nil {
		e := refuse(provider.CodeInvalidParameter, "unknown phone number id "+quoteShort(r.PathValue("id")))
		s.recordSend(st, req, -1, now, outcome{err: e})
		s.writeAPIError(w, e)
		return
	}
	if perr == nil && req.readReceipt {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true}`))
		return
	}
	out := s.decide(st, ch, num, req, perr, now)
	s.recordSend(st, req, numIdx, now, out)
	if out.err != nil {
		s.writeAPIError(w, out.err)
		return
	}
	b := make([]byte, 0, 192)
	b = append(b, `{"messaging_product":"whatsapp","contacts":[{"input":`...)
	b = appendJSONString(b, req.msg.To)
	b = append(b, `,"wa_id":"`...)
	b = strconv.AppendUint(b, req.wa, 10)
	b = append(b, `"}],"messages":[{"id":"`...)
	b = s.appendWamid(b, out.wamid)
	b = append(b, `","message_status":"`...)
	if out.held {
		b = append(b, provider.StatusHeldForQualityAssessment...)
	} else {
		b = append(b, provider.StatusAccepted...)
	}
	b = append(b, `"}]}`...)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (s *Sandbox) recordSend(st *state, req *sendReq, numIdx int16, now int64, out outcome) {
	rec := record{at: now, wa: req.wa, wamid: out.wamid, num: numIdx, held: out.held, typ: typeIndex(req.msg.Type)}
	if out.err != nil {
		rec.code = int32(out.err.code)
	}
	var tname, tlang string
	if t := req.msg.Template; t != nil {
		tname, tlang = t.Name, t.Language.Code
	}
	st.rec.add(rec, req.msg.BizOpaqueCallbackData, tname, tlang)
	if out.limitHit {
		st.rec.limitErrors.Add(1)
	}
}

// decide applies every check in Meta's order and, on acceptance, schedules statuses.
func (s *Sandbox) decide(st *state, ch *chaosState, num *number, req *sendReq, perr *apiError, now int64) outcome {
	if code := pick(ch.sendErrs); code != 0 {
		return outcome{err: refuse(code, "injected by sandbox chaos")}
	}
	sec := now / int64(time.Second)
	if !num.reserve(sec) {
		return outcome{err: refuse(provider.CodeThroughput, "throughput of "+strconv.Itoa(num.throughputNow())+" messages per second exceeded")}
	}
	out := s.check(st, num, req, perr, now)
	if out.err != nil {
		num.release(sec)
	}
	return out
}

func (n *number) throughputNow() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.throughput
}

// check runs the checks after throughput and accepts the send when all pass.
func (s *Sandbox) check(st *state, num *number, req *sendReq, perr *apiError, now int64) outcome {
	if perr != nil {
		return outcome{err: perr}
	}
	m := &req.msg
	isTemplate := m.Type == provider.TypeTemplate
	var snap tmplSnapshot
	var terr *apiError
	if isTemplate {
		snap, terr = st.templates.check(num.waba, m.Template, &req.params)
	}
	wa := req.wa
	key := peerKey{wa: wa, num: uint32(num.idx)}
	sh := st.shard(wa)
	sh.mu.Lock()
	fl := sh.flags[wa]
	if fl&flagUnreachable != 0 {
		sh.mu.Unlock()
		return outcome{err: refuse(provider.CodeUndeliverable, "the recipient is not on WhatsApp")}
	}
	if terr != nil {
		sh.mu.Unlock()
		return outcome{err: terr}
	}
	ps := sh.peers[key]
	windowOpen := ps.lastInbound != 0 && now < ps.lastInbound+int64(customerWindow)
	fep := now < ps.fepUntil
	if !isTemplate && !windowOpen {
		sh.mu.Unlock()
		return outcome{err: refuse(provider.CodeReEngagement, "more than 24 hours have passed since the recipient last replied")}
	}
	if isTemplate && snap.category == "MARKETING" && fl&flagStopped != 0 {
		sh.mu.Unlock()
		return outcome{err: refuse(provider.CodeUserStoppedMarketing, "the recipient stopped marketing messages")}
	}
	pairLimited := s.opts.PairGap >= 0
	tat := max(ps.pairTAT, now)
	if pairLimited && tat-now > int64(s.opts.PairBurst-1)*int64(s.opts.PairGap) {
		sh.mu.Unlock()
		return outcome{err: refuse(provider.CodePairRate, "too many messages to this recipient")}
	}
	if isTemplate && !windowOpen {
		if num.restricted() {
			sh.mu.Unlock()
			return outcome{err: refuse(codeAccountLocked, "business-initiated messaging is restricted")}
		}
		if !s.admitLimit(st, num, wa, now) {
			sh.mu.Unlock()
			return outcome{err: refuse(provider.CodeSpamRate, "messaging limit reached"), limitHit: true}
		}
	}
	if pairLimited {
		ps.pairTAT = tat + int64(s.opts.PairGap)
		sh.peers[key] = ps
		sh.writes++
	}
	// Meta's per-user marketing limit: accepted, then one failed status. Marketing
	// inside an open window does not count.
	userLimited := isTemplate && snap.category == "MARKETING" && !windowOpen && s.marketingLimited(sh, wa, now)
	sh.accepted[wa] = struct{}{}
	if sh.writes >= pruneEvery {
		sh.writes = 0
		sh.pruneLocked(now)
	}
	sh.mu.Unlock()

	// Accepted.
	pr := pricingInfo{typ: provider.PricingFreeCustomerService, category: "service"}
	category := ""
	if isTemplate {
		category = lowerCategory(snap.category)
		snap.t.sends.Add(1)
	}
	switch {
	case fep:
		pr = pricingInfo{typ: provider.PricingFreeEntryPoint, category: cmpOr(category, "service")}
	case isTemplate && snap.category == "UTILITY" && windowOpen:
		pr = pricingInfo{typ: provider.PricingFreeCustomerService, category: category}
	case isTemplate:
		pr = pricingInfo{typ: provider.PricingRegular, category: category, billable: true}
	}
	out := outcome{wamid: s.nextWamid()}
	ev := &event{due: now + int64(s.stageDelay(stSent, out.wamid)), kind: evMessage, num: num, wamid: out.wamid, wa: wa,
		cb: m.BizOpaqueCallbackData, pricing: pr, stage: stSent, final: finDelivered}
	ch := s.chaos.Load()
	switch {
	case userLimited:
		ev.stage, ev.final, ev.failCode = stFailed, finFailed, provider.CodeMarketingUserLimit
		st.rec.marketingLimited.Add(1)
	default:
		if code := pick(ch.asyncErrs); code != 0 {
			ev.final, ev.failCode = finFailed, code
		} else if st.readRatio.hit() {
			ev.final = finRead
		}
	}
	num.accepted.Add(1)
	st.rec.accept(now, m.BizOpaqueCallbackData)
	if isTemplate && snap.category == "MARKETING" && st.pacing.hit() {
		out.held = true
		st.rec.held.Add(1)
		tmpl := snap.t
		s.out.scheduleFunc(now+int64(s.opts.PacingRelease), func() { s.releaseHeld(st, tmpl, ev) })
		return out
	}
	s.out.schedule(ev)
	return out
}

// releaseHeld ends pacing for one held send: it is sent, or fails with 132015 when its
// template was paused (or disabled) meanwhile.
func (s *Sandbox) releaseHeld(st *state, t *template, ev *event) {
	st.templates.mu.RLock()
	status := t.status
	st.templates.mu.RUnlock()
	ev.due = s.now()
	if status == tmplPaused || status == tmplDisabled {
		ev.stage, ev.final, ev.failCode = stFailed, finFailed, provider.CodeTemplatePaused
	} else {
		ev.due += int64(s.stageDelay(stSent, ev.wamid))
	}
	s.out.schedule(ev)
}

func lowerCategory(c string) string {
	switch c {
	case "MARKETING":
		return "marketing"
	case "UTILITY":
		return "utility"
	case "AUTHENTICATION":
		return "authentication"
	}
	return "service"
}
