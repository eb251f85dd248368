package sandbox

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"kirim/provider"
)

// Record storage sizes: records live in fixed chunks and callback data in a byte arena,
// so a million sends cost about 50 MB plus their callback strings, with no per-send
// maps or pointers for the garbage collector to walk.
const (
	recChunk       = 1 << 14
	arenaChunk     = 1 << 20
	maxInterned    = 1 << 16
	cbSetShards    = 32
	refusedOther   = -1
	internOverflow = maxInterned + 1
)

// message types as stored in a record.
var typeNames = []string{"", provider.TypeText, provider.TypeImage, provider.TypeVideo, provider.TypeDocument,
	provider.TypeAudio, provider.TypeSticker, provider.TypeLocation, provider.TypeContacts,
	provider.TypeInteractive, provider.TypeTemplate, provider.TypeReaction, "other"}

func typeIndex(t string) uint8 {
	for i, n := range typeNames {
		if n == t {
			return uint8(i)
		}
	}
	return uint8(len(typeNames) - 1)
}

// record is one received send, 48 bytes.
type record struct {
	at      int64
	wa      uint64
	wamid   uint64 // 0 when refused
	cbChunk uint32
	cbOff   uint32
	code    int32
	tmpl    uint32 // index+1 into interned names, 0 none
	cbLen   uint16
	num     int16 // -1 unknown number
	typ     uint8
	held    bool
}

type tmplName struct{ name, lang string }

// recorder keeps every send and the counters behind /_sandbox/stats.
type recorder struct {
	mu       sync.RWMutex
	chunks   [][]record
	n        int
	arena    [][]byte
	interned []tmplName
	internAt map[tmplName]uint32
	refused  map[int]uint64

	accepted    atomic.Uint64
	held        atomic.Uint64
	limitErrors atomic.Uint64
	// marketingLimited counts accepted sends failed with 131049 (MarketingUserLimit).
	marketingLimited atomic.Uint64

	rateMu    sync.Mutex
	first     int64
	last      int64
	curSec    int64
	curCount  uint64
	busySec   int64
	busyCount uint64

	seed     maphash.Seed
	cbSets   [cbSetShards]cbSet
	dupCount atomic.Uint64
	dupMu    sync.Mutex
	dupEx    []string
}

type cbSet struct {
	mu sync.Mutex
	m  map[uint64]struct{}
	_  [40]byte // keeps shards on separate cache lines
}

func newRecorder() *recorder {
	r := &recorder{internAt: map[tmplName]uint32{}, refused: map[int]uint64{}, seed: maphash.MakeSeed()}
	for i := range r.cbSets {
		r.cbSets[i].m = make(map[uint64]struct{})
	}
	return r
}

// add stores one send. cb is copied into the arena.
func (r *recorder) add(rec record, cb, tname, tlang string) {
	r.mu.Lock()
	if tname != "" {
		rec.tmpl = r.internLocked(tname, tlang)
	}
	if cb != "" {
		rec.cbChunk, rec.cbOff, rec.cbLen = r.storeLocked(cb)
	}
	if r.n%recChunk == 0 && r.n/recChunk == len(r.chunks) {
		r.chunks = append(r.chunks, make([]record, recChunk))
	}
	r.chunks[r.n/recChunk][r.n%recChunk] = rec
	r.n++
	if rec.code != 0 {
		r.refused[int(rec.code)]++
	}
	r.mu.Unlock()
}

func (r *recorder) internLocked(name, lang string) uint32 {
	k := tmplName{name, lang}
	if i, ok := r.internAt[k]; ok {
		return i
	}
	if len(r.interned) >= maxInterned {
		return internOverflow
	}
	r.interned = append(r.interned, k)
	i := uint32(len(r.interned))
	r.internAt[k] = i
	return i
}

func (r *recorder) storeLocked(cb string) (chunk, off uint32, n uint16) {
	if len(r.arena) == 0 || len(r.arena[len(r.arena)-1])+len(cb) > arenaChunk {
		r.arena = append(r.arena, make([]byte, 0, arenaChunk))
	}
	last := len(r.arena) - 1
	off = uint32(len(r.arena[last]))
	r.arena[last] = append(r.arena[last], cb...)
	return uint32(last), off, uint16(len(cb))
}

func (r *recorder) cbLocked(rec *record) string {
	if rec.cbLen == 0 {
		return ""
	}
	return string(r.arena[rec.cbChunk][rec.cbOff : rec.cbOff+uint32(rec.cbLen)])
}

func (r *recorder) cbEqualLocked(rec *record, cb string) bool {
	if int(rec.cbLen) != len(cb) {
		return false
	}
	return string(r.arena[rec.cbChunk][rec.cbOff:rec.cbOff+uint32(rec.cbLen)]) == cb
}

// accept counts an accepted send at unix-nanosecond now.
func (r *recorder) accept(now int64, cb string) {
	r.accepted.Add(1)
	sec := now / int64(time.Second)
	r.rateMu.Lock()
	if r.first == 0 || now < r.first {
		r.first = now
	}
	if now > r.last {
		r.last = now
	}
	if sec != r.curSec {
		r.curSec, r.curCount = sec, 0
	}
	r.curCount++
	if r.curCount > r.busyCount {
		r.busySec, r.busyCount = sec, r.curCount
	}
	r.rateMu.Unlock()
	if cb == "" {
		return
	}
	h := maphash.String(r.seed, cb)
	set := &r.cbSets[h%cbSetShards]
	set.mu.Lock()
	_, dup := set.m[h]
	if !dup {
		set.m[h] = struct{}{}
	}
	set.mu.Unlock()
	if dup {
		r.dupCount.Add(1)
		r.dupMu.Lock()
		if len(r.dupEx) < maxDupExamples {
			r.dupEx = append(r.dupEx, cb)
		}
		r.dupMu.Unlock()
	}
}

// ReceivedFilter selects sends for Received.
type ReceivedFilter struct {
	To           string // wa_id (any `to` form)
	CallbackData string
	Limit        int    // default 100, at most 10,000
	After        uint64 // cursor: the ID of the last record of the previous page
}

// Received is one send the sandbox received, accepted or refused.
type Received struct {
	ID            uint64    `json:"id"` // position in the log, from 1
	Time          time.Time `json:"time"`
	PhoneNumberID string    `json:"phone_number_id,omitempty"`
	To            string    `json:"to,omitempty"`
	Type          string    `json:"type,omitempty"`
	Template      string    `json:"template,omitempty"`
	Language      string    `json:"language,omitempty"`
	CallbackData  string    `json:"callback_data,omitempty"`
	WAMID         string    `json:"wamid,omitempty"`
	MessageStatus string    `json:"message_status,omitempty"` // accepted or held_for_quality_assessment
	ErrorCode     int       `json:"error_code,omitempty"`
}

// Received lists received sends matching f, oldest first.
func (s *Sandbox) Received(f ReceivedFilter) []Received {
	st := s.st.Load()
	r := st.rec
	limit := f.Limit
	if limit <= 0 {
		limit = defaultPageLimit
	}
	limit = min(limit, maxPageLimit)
	var wa uint64
	if f.To != "" {
		v, ok := parseWaID(f.To)
		if !ok {
			return nil
		}
		wa = v
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := []Received{}
	for i := int(min(f.After, uint64(r.n))); i < r.n && len(out) < limit; i++ {
		rec := &r.chunks[i/recChunk][i%recChunk]
		if wa != 0 && rec.wa != wa {
			continue
		}
		if f.CallbackData != "" && !r.cbEqualLocked(rec, f.CallbackData) {
			continue
		}
		out = append(out, s.viewLocked(st, r, rec, uint64(i+1)))
	}
	return out
}

func (s *Sandbox) viewLocked(st *state, r *recorder, rec *record, id uint64) Received {
	v := Received{
		ID: id, Time: time.Unix(0, rec.at).UTC(), To: waString(rec.wa), Type: typeNames[rec.typ],
		CallbackData: r.cbLocked(rec), ErrorCode: int(rec.code),
	}
	if rec.num >= 0 && int(rec.num) < len(st.numbers) {
		v.PhoneNumberID = st.numbers[rec.num].id
	}
	if rec.tmpl > 0 && int(rec.tmpl) <= len(r.interned) {
		v.Template, v.Language = r.interned[rec.tmpl-1].name, r.interned[rec.tmpl-1].lang
	}
	if rec.wamid != 0 {
		v.WAMID = s.wamid(rec.wamid)
		v.MessageStatus = provider.StatusAccepted
		if rec.held {
			v.MessageStatus = provider.StatusHeldForQualityAssessment
		}
	}
	return v
}

// Stats is what /_sandbox/stats reports.
type Stats struct {
	Received uint64 `json:"received"`
	Accepted uint64 `json:"accepted"`
	// AcceptedByNumber is the accepted sends by phone_number_id, every number listed.
	AcceptedByNumber map[string]uint64 `json:"accepted_by_number"`
	Held             uint64            `json:"held"`
	Refused          uint64            `json:"refused"`
	RefusedByCode    map[int]uint64    `json:"refused_by_code"`
	LimitErrors      uint64            `json:"limit_errors"`
	MarketingLimited uint64            `json:"marketing_user_limited"`
	UniqueRecipients int               `json:"unique_recipients"`
	Templates        []TemplateCount   `json:"templates"`
	Duplicates       DuplicateStats    `json:"duplicates"`
	Rate             RateStats         `json:"rate"`
	Webhooks         WebhookStats      `json:"webhooks"`
}

// TemplateCount is the accepted sends of one template.
type TemplateCount struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Accepted uint64 `json:"accepted"`
}

// DuplicateStats counts accepted sends whose biz_opaque_callback_data was already
// accepted: each extra acceptance counts once.
type DuplicateStats struct {
	Count    uint64   `json:"count"`
	Examples []string `json:"examples"`
}

// RateStats is the achieved accept rate.
type RateStats struct {
	FirstAccept *time.Time `json:"first_accept,omitempty"`
	LastAccept  *time.Time `json:"last_accept,omitempty"`
	// PerSecond is accepted sends over the time between the first and last accept.
	PerSecond float64 `json:"per_second"`
	// BusiestSecond is the unix second with the most accepts, and how many.
	BusiestSecond         int64  `json:"busiest_second"`
	BusiestSecondAccepted uint64 `json:"busiest_second_accepted"`
}

// WebhookStats counts webhook delivery.
type WebhookStats struct {
	Posted         uint64 `json:"posted"` // delivered with a 200, or kept when no URL is set
	StatusesPosted uint64 `json:"statuses_posted"`
	FailedAttempts uint64 `json:"failed_attempts"`
	Dropped        uint64 `json:"dropped"`
	Pending        int64  `json:"pending"`          // bodies built but not yet delivered or dropped
	PendingStatus  int64  `json:"pending_statuses"` // statuses in those bodies
	Scheduled      int    `json:"scheduled"`        // events waiting on the clock
	Duplicated     uint64 `json:"duplicated"`       // POSTs sent twice by chaos
	Reordered      uint64 `json:"reordered"`        // batches reversed by chaos
	KeptOnly       bool   `json:"kept_only"`        // no webhook URL: bodies are only kept
}

// Stats summarises everything received and posted since creation or Reset.
func (s *Sandbox) Stats() Stats {
	st := s.st.Load()
	r := st.rec
	var out Stats
	r.mu.RLock()
	out.Received = uint64(r.n)
	out.RefusedByCode = make(map[int]uint64, len(r.refused))
	for c, n := range r.refused {
		out.RefusedByCode[c] = n
		out.Refused += n
	}
	r.mu.RUnlock()
	out.Accepted = r.accepted.Load()
	out.AcceptedByNumber = make(map[string]uint64, len(st.numbers))
	for _, n := range st.numbers {
		out.AcceptedByNumber[n.id] = n.accepted.Load()
	}
	out.Held = r.held.Load()
	out.LimitErrors = r.limitErrors.Load()
	out.MarketingLimited = r.marketingLimited.Load()
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.Lock()
		out.UniqueRecipients += len(sh.accepted)
		sh.mu.Unlock()
	}
	out.Templates = st.templates.counts()
	if out.Templates == nil {
		out.Templates = []TemplateCount{}
	}
	out.Duplicates.Count = r.dupCount.Load()
	r.dupMu.Lock()
	out.Duplicates.Examples = append([]string{}, r.dupEx...)
	r.dupMu.Unlock()

	r.rateMu.Lock()
	if r.first != 0 {
		f, l := time.Unix(0, r.first).UTC(), time.Unix(0, r.last).UTC()
		out.Rate.FirstAccept, out.Rate.LastAccept = &f, &l
		if span := r.last - r.first; span > 0 {
			out.Rate.PerSecond = float64(out.Accepted) / (float64(span) / float64(time.Second))
		}
		out.Rate.BusiestSecond, out.Rate.BusiestSecondAccepted = r.busySec, r.busyCount
	}
	r.rateMu.Unlock()

	o := s.out
	out.Webhooks = WebhookStats{
		Posted: o.posted.Load(), StatusesPosted: o.statusesPosted.Load(), FailedAttempts: o.failedAttempts.Load(),
		Dropped: o.dropped.Load(), Pending: o.pendingPosts.Load(), PendingStatus: o.pendingSts.Load(), Scheduled: o.scheduled(),
		Duplicated: o.duplicated.Load(), Reordered: o.reordered.Load(),
		KeptOnly: s.opts.WebhookURL == "",
	}
	return out
}

// wamid renders a message id: a fixed marker, the sandbox's prefix and a sequence.
func (s *Sandbox) wamid(seq uint64) string {
	return string(s.appendWamid(make([]byte, 0, 40), seq))
}

const wamidMarker = "wamid.HBgLSBX"

func (s *Sandbox) appendWamid(b []byte, seq uint64) []byte {
	b = append(b, wamidMarker...)
	b = append(b, s.prefix...)
	var h [16]byte
	for i := 15; i >= 0; i-- {
		h[i] = "0123456789ABCDEF"[seq&0xF]
		seq >>= 4
	}
	return append(b, h[:]...)
}
