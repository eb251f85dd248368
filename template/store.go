package template

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kirim/provider"
	"kirim/storage"
)

// Store errors.
var (
	ErrNotFound            = errors.New("template: not found")
	ErrExists              = errors.New("template: already exists")
	ErrIdempotencyConflict = errors.New("template: idempotency key reused with a different request")
	ErrBadCursor           = errors.New("template: invalid cursor")
)

// Store limits.
const (
	// syncChunk bounds the records written by one transaction of a sync, far below
	// Badger's transaction cap for the smallest memtable.
	syncChunk = 200
	// MaxListLimit is the largest page List returns.
	MaxListLimit = 500
	// DefaultListLimit is the page size when the caller gives none.
	DefaultListLimit = 50
)

// Key kinds under storage.PrefixTemplate.
const (
	kindRecord      = 'r'
	kindIdempotency = 'i'
	kindReplyAge    = 'a' // remembered answers by creation time, to expire them
)

// The key prefixes of the remembered answers and of their age index.
const (
	prefixReply    = storage.PrefixTemplate + string(kindIdempotency)
	prefixReplyAge = storage.PrefixTemplate + string(kindReplyAge)
)

// DefaultReplyTTL is how long an answer is remembered for its Idempotency-Key.
const DefaultReplyTTL = 7 * 24 * time.Hour

// expireOnWrite bounds how many expired answers one Remember deletes: answers only
// accumulate through Remember, so a few at each keeps them bounded.
const expireOnWrite = 16

// DB is what the store needs of storage.DB.
type DB interface {
	View(fn func(storage.Reader) error) error
	Commit(ctx context.Context, fn func(storage.Txn) error) error
}

// Record is one template of one WABA as Kirim knows it: the model plus what the
// provider said about it.
type Record struct {
	WABAID string `json:"waba_id"`
	Template
	// RejectionRecommendation is Meta's hint with a rejection (the sandbox puts the
	// linter's rule id there).
	RejectionRecommendation string `json:"rejection_recommendation,omitempty"`
	// CategoryNotice is Meta's announcement that the category will change; the change
	// itself arrives later as its own update.
	CategoryNotice *CategoryNotice `json:"category_notice,omitempty"`
	// StatusAt is when Status last changed.
	StatusAt time.Time `json:"status_at,omitzero"`
}

// CategoryNotice is a pending re-categorisation.
type CategoryNotice struct {
	Current Category  `json:"current"`
	Correct Category  `json:"correct"`
	At      time.Time `json:"at,omitzero"`
}

// EventType names a change of a stored template.
type EventType string

const (
	// EventCreated: stored through the API, submitted for review.
	EventCreated EventType = "template.created"
	// EventDiscovered: learnt from the provider's list (made elsewhere).
	EventDiscovered EventType = "template.discovered"
	EventStatus     EventType = "template.status"
	EventQuality    EventType = "template.quality"
	EventCategory   EventType = "template.category"
	// EventCategoryNotice: Meta announced a re-categorisation; not applied yet.
	EventCategoryNotice EventType = "template.category_notice"
	EventDeleted        EventType = "template.deleted"
)

// Event is one change, raised after it is durable.
type Event struct {
	Type     EventType `json:"type"`
	WABAID   string    `json:"waba_id"`
	ID       string    `json:"id,omitempty"`
	Name     string    `json:"name"`
	Language string    `json:"language"`

	Status         Status   `json:"status,omitempty"`
	PreviousStatus Status   `json:"previous_status,omitempty"`
	Reason         string   `json:"reason,omitempty"`
	Quality        Quality  `json:"quality,omitempty"`
	PrevQuality    Quality  `json:"previous_quality,omitempty"`
	Category       Category `json:"category,omitempty"`
	PrevCategory   Category `json:"previous_category,omitempty"`
	// CorrectCategory is set on EventCategoryNotice.
	CorrectCategory Category  `json:"correct_category,omitempty"`
	At              time.Time `json:"at"`
}

// StoreOptions configure OpenStore.
type StoreOptions struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// OnEvent receives every change after it is durable, on the writer's goroutine and
	// outside the store's locks; default none.
	OnEvent func(Event)
	// Logger; default slog.Default().
	Logger *slog.Logger
	// ReplyTTL is how long an answer is remembered for its Idempotency-Key; default
	// DefaultReplyTTL. Older ones are not replayed, and are deleted as new ones come.
	ReplyTTL time.Duration
}

type recKey struct{ waba, name, lang string }

func (k recKey) less(o recKey) int {
	if c := strings.Compare(k.waba, o.waba); c != 0 {
		return c
	}
	if c := strings.Compare(k.name, o.name); c != 0 {
		return c
	}
	return strings.Compare(k.lang, o.lang)
}

func keyOf(r *Record) recKey { return recKey{r.WABAID, r.Name, r.Language} }

func (k recKey) storageKey() []byte {
	return storage.Key(storage.PrefixTemplate, []byte{kindRecord}, storage.Str(k.waba), storage.Str(k.name), storage.Str(k.lang))
}

// snapshot is an immutable view of every record; writers replace it whole.
type snapshot struct {
	byKey  map[recKey]*Record
	sorted []*Record // by WABA, name, language
}

// Store keeps templates in storage under storage.PrefixTemplate, keyed by WABA id,
// name and language, with a copy in memory that every write refreshes, so the send
// path (Lookup) never reads the disk. It implements the api's TemplateCatalog.
type Store struct {
	db   DB
	opts StoreOptions
	log  *slog.Logger

	// wmu serialises writers, so the snapshot published after a commit always matches
	// storage. Template writes are rare; sends only read.
	wmu  sync.Mutex
	snap atomic.Pointer[snapshot]
}

// OpenStore loads every stored template into memory.
func OpenStore(db DB, opts StoreOptions) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReplyTTL <= 0 {
		opts.ReplyTTL = DefaultReplyTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{db: db, opts: opts, log: opts.Logger}
	snap := &snapshot{byKey: map[recKey]*Record{}}
	prefix := storage.Key(storage.PrefixTemplate, []byte{kindRecord})
	err := db.View(func(r storage.Reader) error {
		return r.Iterate(prefix, storage.IterOptions{}, func(k, v []byte) (bool, error) {
			var rec Record
			if err := json.Unmarshal(v, &rec); err != nil {
				return false, fmt.Errorf("template: decode %q: %w", k, err)
			}
			snap.byKey[keyOf(&rec)] = &rec
			snap.sorted = append(snap.sorted, &rec)
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("template: open store: %w", err)
	}
	// Storage order of the escaped key parts equals string order except for the rare
	// 0x00/0x01 bytes; sorting keeps the invariant regardless.
	slices.SortFunc(snap.sorted, func(a, b *Record) int { return keyOf(a).less(keyOf(b)) })
	s.snap.Store(snap)
	return s, nil
}

// Lookup returns the template name in language of the WABA, from memory. The result
// is shared: callers must not modify it.
func (s *Store) Lookup(wabaID, name, language string) (*Template, bool) {
	r, ok := s.snap.Load().byKey[recKey{wabaID, name, language}]
	if !ok {
		return nil, false
	}
	return &r.Template, true
}

// Get returns a copy of the record.
func (s *Store) Get(wabaID, name, language string) (Record, bool) {
	r, ok := s.snap.Load().byKey[recKey{wabaID, name, language}]
	if !ok {
		return Record{}, false
	}
	return *r, true
}

// Languages lists the records of name in the WABA, one per language.
func (s *Store) Languages(wabaID, name string) []Record {
	var out []Record
	for _, r := range s.snap.Load().sorted {
		if r.WABAID == wabaID && r.Name == name {
			out = append(out, *r)
		}
	}
	return out
}

// ListFilter selects records; empty fields match everything.
type ListFilter struct {
	WABAID   string
	Name     string
	Status   Status
	Category Category
	// Limit is the page size: default DefaultListLimit, at most MaxListLimit.
	Limit int
	// Cursor continues after the last record of a previous page.
	Cursor string
}

// List returns one page of records in WABA, name, language order, and the cursor of
// the next page ("" on the last).
func (s *Store) List(f ListFilter) ([]Record, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	sorted := s.snap.Load().sorted
	start := 0
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		start, _ = slices.BinarySearchFunc(sorted, after, func(r *Record, k recKey) int { return keyOf(r).less(k) })
		if start < len(sorted) && keyOf(sorted[start]) == after {
			start++
		}
	}
	var out []Record
	for _, r := range sorted[start:] {
		if (f.WABAID != "" && r.WABAID != f.WABAID) || (f.Name != "" && r.Name != f.Name) ||
			(f.Status != "" && r.Status != f.Status) || (f.Category != "" && r.Category != f.Category) {
			continue
		}
		if len(out) == limit {
			return out, encodeCursor(keyOf(&out[len(out)-1])), nil
		}
		out = append(out, *r)
	}
	return out, "", nil
}

func encodeCursor(k recKey) string {
	b := storage.Key("", storage.Str(k.waba), storage.Str(k.name), storage.Str(k.lang))
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(c string) (recKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return recKey{}, ErrBadCursor
	}
	var k recKey
	var ok bool
	if k.waba, b, ok = storage.ParseStr(b); !ok {
		return recKey{}, ErrBadCursor
	}
	if k.name, b, ok = storage.ParseStr(b); !ok {
		return recKey{}, ErrBadCursor
	}
	if k.lang, b, ok = storage.ParseStr(b); !ok || len(b) != 0 {
		return recKey{}, ErrBadCursor
	}
	return k, nil
}

// change is one record write of a transaction: put (rec != nil) or delete.
type change struct {
	key recKey
	rec *Record
}

// write commits changes, publishes the new snapshot and then raises events. The
// caller holds wmu.
func (s *Store) write(ctx context.Context, changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	enc := make([][]byte, len(changes))
	for i, c := range changes {
		if c.rec == nil {
			continue
		}
		b, err := json.Marshal(c.rec)
		if err != nil {
			return fmt.Errorf("template: encode %s/%s: %w", c.key.name, c.key.lang, err)
		}
		enc[i] = b
	}
	err := s.db.Commit(ctx, func(tx storage.Txn) error {
		for i, c := range changes {
			if c.rec == nil {
				if err := tx.Delete(c.key.storageKey()); err != nil {
					return err
				}
				continue
			}
			if err := tx.Set(c.key.storageKey(), enc[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("template: write %d records: %w", len(changes), err)
	}
	old := s.snap.Load()
	next := &snapshot{byKey: make(map[recKey]*Record, len(old.byKey)+len(changes))}
	for k, r := range old.byKey {
		next.byKey[k] = r
	}
	for _, c := range changes {
		if c.rec == nil {
			delete(next.byKey, c.key)
		} else {
			next.byKey[c.key] = c.rec
		}
	}
	next.sorted = make([]*Record, 0, len(next.byKey))
	for _, r := range next.byKey {
		next.sorted = append(next.sorted, r)
	}
	slices.SortFunc(next.sorted, func(a, b *Record) int { return keyOf(a).less(keyOf(b)) })
	s.snap.Store(next)
	return nil
}

func (s *Store) emit(evs []Event) {
	if s.opts.OnEvent == nil {
		return
	}
	for _, e := range evs {
		s.opts.OnEvent(e)
	}
}

// Create stores t (with its WABA) as PENDING before it is submitted, so a duplicate
// name and language is refused (ErrExists) and a review webhook that arrives before
// the submission's answer finds it.
func (s *Store) Create(ctx context.Context, wabaID string, t Template) (Record, error) {
	now := s.opts.Now().UTC()
	t.ID, t.Status, t.RejectedReason = "", StatusPending, ""
	t.Quality, t.QualityAt = QualityUnknown, time.Time{}
	t.CreatedAt, t.UpdatedAt = now, now
	rec := &Record{WABAID: wabaID, Template: t, StatusAt: now}
	k := keyOf(rec)
	s.wmu.Lock()
	if _, dup := s.snap.Load().byKey[k]; dup {
		s.wmu.Unlock()
		return Record{}, fmt.Errorf("template: create %s/%s: %w", t.Name, t.Language, ErrExists)
	}
	err := s.write(ctx, []change{{k, rec}})
	s.wmu.Unlock()
	if err != nil {
		return Record{}, err
	}
	s.emit([]Event{{Type: EventCreated, WABAID: wabaID, Name: t.Name, Language: t.Language, Status: StatusPending, Category: t.Category, At: now}})
	return *rec, nil
}

// Submitted records the provider's answer to the submission: its id, and its status
// unless a review webhook already told more.
func (s *Store) Submitted(ctx context.Context, wabaID, name, language string, c provider.TemplateCreated) (Record, error) {
	k := recKey{wabaID, name, language}
	now := s.opts.Now().UTC()
	s.wmu.Lock()
	cur, ok := s.snap.Load().byKey[k]
	if !ok {
		s.wmu.Unlock()
		return Record{}, fmt.Errorf("template: submitted %s/%s: %w", name, language, ErrNotFound)
	}
	rec := *cur
	var evs []Event
	if rec.ID == "" {
		rec.ID = c.ID
		st := Status(strings.ToUpper(c.Status))
		if st != "" && st != rec.Status {
			evs = append(evs, statusEvent(&rec, st, "", now))
			rec.Status, rec.StatusAt = st, now
		}
		if cat := Category(strings.ToUpper(c.Category)); cat.valid() && cat != rec.Category {
			evs = append(evs, Event{Type: EventCategory, WABAID: wabaID, ID: rec.ID, Name: name, Language: language,
				Category: cat, PrevCategory: rec.Category, At: now})
			rec.Category = cat
		}
		rec.UpdatedAt = now
	}
	var err error
	if rec.ID != cur.ID || len(evs) > 0 {
		err = s.write(ctx, []change{{k, &rec}})
	}
	s.wmu.Unlock()
	if err != nil {
		return Record{}, err
	}
	s.emit(evs)
	return rec, nil
}

// Delete removes the records of name in the WABA: one language, or all when language
// is empty. It returns what it removed; ErrNotFound when nothing matched.
func (s *Store) Delete(ctx context.Context, wabaID, name, language string) ([]Record, error) {
	now := s.opts.Now().UTC()
	s.wmu.Lock()
	var changes []change
	var gone []Record
	for _, r := range s.snap.Load().sorted {
		if r.WABAID == wabaID && r.Name == name && (language == "" || r.Language == language) {
			changes = append(changes, change{key: keyOf(r)})
			gone = append(gone, *r)
		}
	}
	if len(gone) == 0 {
		s.wmu.Unlock()
		return nil, fmt.Errorf("template: delete %s/%s: %w", name, language, ErrNotFound)
	}
	err := s.write(ctx, changes)
	s.wmu.Unlock()
	if err != nil {
		return nil, err
	}
	evs := make([]Event, 0, len(gone))
	for _, r := range gone {
		evs = append(evs, Event{Type: EventDeleted, WABAID: wabaID, ID: r.ID, Name: r.Name, Language: r.Language,
			PreviousStatus: r.Status, Status: StatusDeleted, At: now})
	}
	s.emit(evs)
	return gone, nil
}

func statusEvent(r *Record, to Status, reason string, now time.Time) Event {
	return Event{Type: EventStatus, WABAID: r.WABAID, ID: r.ID, Name: r.Name, Language: r.Language,
		Status: to, PreviousStatus: r.Status, Reason: reason, Category: r.Category, At: now}
}

// statusOf maps a status event to the status it leaves the template in.
func statusOf(event string) Status {
	switch s := Status(strings.ToUpper(strings.TrimSpace(event))); s {
	case StatusReinstated, StatusUnarchived:
		// Both put the template back in use.
		return StatusApproved
	default:
		return s
	}
}

// update applies fn to the record of k under the writer lock. fn returns the new
// record (nil: no change) and the events; ok reports whether the record exists.
func (s *Store) update(ctx context.Context, k recKey, fn func(cur Record) (*Record, []Event)) (known bool, err error) {
	s.wmu.Lock()
	cur, ok := s.snap.Load().byKey[k]
	if !ok {
		s.wmu.Unlock()
		return false, nil
	}
	next, evs := fn(*cur)
	if next != nil {
		err = s.write(ctx, []change{{k, next}})
	}
	s.wmu.Unlock()
	if err != nil {
		return true, err
	}
	s.emit(evs)
	return true, nil
}

// sameTemplate reports whether an update naming id is about the stored record: a
// record without an id yet (its submission's answer is in flight) matches any.
func sameTemplate(r *Record, id string) bool {
	return r.ID == "" || id == "" || r.ID == id
}

// ApplyStatus applies a message_template_status_update of the WABA. Applying the same
// update twice changes nothing the second time. known is false when the store has no
// such template (the caller may sync).
func (s *Store) ApplyStatus(ctx context.Context, wabaID string, u provider.TemplateStatusUpdate) (known bool, err error) {
	k := recKey{wabaID, u.MessageTemplateName, u.MessageTemplateLanguage}
	id := string(u.MessageTemplateID)
	now := s.opts.Now().UTC()
	return s.update(ctx, k, func(r Record) (*Record, []Event) {
		if !sameTemplate(&r, id) {
			s.log.Info("template: status update for another template of the same name skipped",
				"name", r.Name, "language", r.Language, "stored_id", r.ID, "update_id", id)
			return nil, nil
		}
		to := statusOf(u.Event)
		reason, rec := "", ""
		if to == StatusRejected {
			reason = u.Reason
			if ri := u.RejectionInfo; ri != nil {
				reason = cmpOr(ri.Reason, reason)
				rec = ri.Recommendation
			}
			if reason == "NONE" {
				reason = ""
			}
		}
		next := r
		changed := false
		if r.ID == "" && id != "" {
			next.ID, changed = id, true
		}
		var evs []Event
		if to != "" && to != r.Status {
			evs = append(evs, statusEvent(&next, to, reason, now))
			next.Status, next.StatusAt, changed = to, now, true
		}
		if to != "" && (r.RejectedReason != reason || r.RejectionRecommendation != rec) {
			next.RejectedReason, next.RejectionRecommendation, changed = reason, rec, true
		}
		if !changed {
			return nil, nil
		}
		next.UpdatedAt = now
		return &next, evs
	})
}

// ApplyQuality applies a message_template_quality_update of the WABA, idempotently.
func (s *Store) ApplyQuality(ctx context.Context, wabaID string, u provider.TemplateQualityUpdate) (known bool, err error) {
	k := recKey{wabaID, u.MessageTemplateName, u.MessageTemplateLanguage}
	id := string(u.MessageTemplateID)
	now := s.opts.Now().UTC()
	q := Quality(strings.ToUpper(strings.TrimSpace(u.NewQualityScore)))
	return s.update(ctx, k, func(r Record) (*Record, []Event) {
		if !sameTemplate(&r, id) || q == "" || q == r.Quality {
			return nil, nil
		}
		next := r
		next.ID = cmpOr(r.ID, id)
		next.Quality, next.QualityAt, next.UpdatedAt = q, now, now
		return &next, []Event{{Type: EventQuality, WABAID: wabaID, ID: next.ID, Name: r.Name, Language: r.Language,
			Quality: q, PrevQuality: r.Quality, Status: r.Status, At: now}}
	})
}

// ApplyCategory applies a template_category_update of the WABA. A notice (it names
// correct_category and no previous_category) is recorded but not applied: Meta sends
// the change itself when it takes effect.
func (s *Store) ApplyCategory(ctx context.Context, wabaID string, u provider.TemplateCategoryUpdate) (known bool, err error) {
	k := recKey{wabaID, u.MessageTemplateName, u.MessageTemplateLanguage}
	id := string(u.MessageTemplateID)
	now := s.opts.Now().UTC()
	newCat := Category(strings.ToUpper(strings.TrimSpace(u.NewCategory)))
	correct := Category(strings.ToUpper(strings.TrimSpace(u.CorrectCategory)))
	notice := correct != "" && u.PreviousCategory == ""
	return s.update(ctx, k, func(r Record) (*Record, []Event) {
		if !sameTemplate(&r, id) {
			return nil, nil
		}
		next := r
		next.ID = cmpOr(r.ID, id)
		var evs []Event
		if notice {
			if !correct.valid() {
				return nil, nil
			}
			n := &CategoryNotice{Current: cmpOr(newCat, r.Category), Correct: correct}
			if ts := int64(u.CategoryUpdateTimestamp); ts > 0 {
				n.At = time.Unix(ts, 0).UTC()
			}
			if r.CategoryNotice != nil && *r.CategoryNotice == *n {
				return nil, nil
			}
			next.CategoryNotice = n
			evs = append(evs, Event{Type: EventCategoryNotice, WABAID: wabaID, ID: next.ID, Name: r.Name, Language: r.Language,
				Category: n.Current, CorrectCategory: correct, Status: r.Status, At: now})
		} else {
			if !newCat.valid() || newCat == r.Category {
				return nil, nil
			}
			next.Category = newCat
			next.CategoryNotice = nil
			evs = append(evs, Event{Type: EventCategory, WABAID: wabaID, ID: next.ID, Name: r.Name, Language: r.Language,
				Category: newCat, PrevCategory: r.Category, Status: r.Status, At: now})
		}
		next.UpdatedAt = now
		return &next, evs
	})
}

// SyncResult counts what a sync changed.
type SyncResult struct {
	WABAID    string `json:"waba_id"`
	Added     int    `json:"added"`
	Updated   int    `json:"updated"`
	Removed   int    `json:"removed"`
	Unchanged int    `json:"unchanged"`
	Skipped   int    `json:"skipped"`
}

// Sync makes the WABA's records match the provider's list defs: new templates are
// added, known ones take the provider's status, category, quality and content, and
// records the provider no longer lists are removed. A record still waiting for its
// submission's answer (no id yet) is kept.
func (s *Store) Sync(ctx context.Context, wabaID string, defs []provider.TemplateDefinition) (SyncResult, error) {
	res := SyncResult{WABAID: wabaID}
	now := s.opts.Now().UTC()
	s.wmu.Lock()
	snap := s.snap.Load()
	listed := map[recKey]bool{}
	var changes []change
	var evs []Event
	for _, d := range defs {
		t, err := FromDefinition(d)
		if err != nil || t.Name == "" || t.Language == "" {
			s.log.Warn("template: sync skipped a template the provider listed", "waba", wabaID, "name", d.Name, "err", err)
			res.Skipped++
			continue
		}
		if t.RejectedReason == "NONE" {
			t.RejectedReason = ""
		}
		if t.Quality == "" {
			t.Quality = QualityUnknown
		}
		k := recKey{wabaID, t.Name, t.Language}
		if listed[k] {
			continue
		}
		listed[k] = true
		cur, ok := snap.byKey[k]
		if !ok {
			t.CreatedAt, t.UpdatedAt = now, now
			if t.QualityAt.IsZero() && t.Quality != QualityUnknown {
				t.QualityAt = now
			}
			rec := &Record{WABAID: wabaID, Template: t, StatusAt: now}
			changes = append(changes, change{k, rec})
			evs = append(evs, Event{Type: EventDiscovered, WABAID: wabaID, ID: t.ID, Name: t.Name, Language: t.Language,
				Status: t.Status, Category: t.Category, Quality: t.Quality, At: now})
			res.Added++
			continue
		}
		next := *cur
		merged := t
		merged.CreatedAt, merged.UpdatedAt = cur.CreatedAt, cur.UpdatedAt
		if merged.Quality == cur.Quality || merged.QualityAt.IsZero() {
			merged.QualityAt = cur.QualityAt
		}
		if merged.Header != nil && cur.Header != nil && merged.Header.MediaSize == 0 {
			// The size of a header sample is known only to whoever uploaded it.
			h := *merged.Header
			h.MediaSize = cur.Header.MediaSize
			merged.Header = &h
		}
		next.Template = merged
		if merged.RejectedReason != cur.RejectedReason {
			next.RejectionRecommendation = ""
		}
		if sameRecord(&next, cur) {
			res.Unchanged++
			continue
		}
		if next.Status != cur.Status {
			evs = append(evs, statusEvent(cur, next.Status, next.RejectedReason, now))
			next.StatusAt = now
		}
		if next.Category != cur.Category {
			evs = append(evs, Event{Type: EventCategory, WABAID: wabaID, ID: next.ID, Name: next.Name, Language: next.Language,
				Category: next.Category, PrevCategory: cur.Category, Status: next.Status, At: now})
			next.CategoryNotice = nil
		}
		if next.Quality != cur.Quality {
			next.QualityAt = now
			evs = append(evs, Event{Type: EventQuality, WABAID: wabaID, ID: next.ID, Name: next.Name, Language: next.Language,
				Quality: next.Quality, PrevQuality: cur.Quality, Status: next.Status, At: now})
		}
		next.UpdatedAt = now
		changes = append(changes, change{k, &next})
		res.Updated++
	}
	for _, r := range snap.sorted {
		if r.WABAID != wabaID || r.ID == "" || listed[keyOf(r)] {
			continue
		}
		changes = append(changes, change{key: keyOf(r)})
		evs = append(evs, Event{Type: EventDeleted, WABAID: wabaID, ID: r.ID, Name: r.Name, Language: r.Language,
			PreviousStatus: r.Status, Status: StatusDeleted, At: now})
		res.Removed++
	}
	var err error
	for len(changes) > 0 && err == nil {
		n := min(len(changes), syncChunk)
		err = s.write(ctx, changes[:n])
		changes = changes[n:]
	}
	s.wmu.Unlock()
	if err != nil {
		return res, fmt.Errorf("template: sync %s: %w", wabaID, err)
	}
	s.emit(evs)
	return res, nil
}

// sameRecord compares two records ignoring UpdatedAt.
func sameRecord(a, b *Record) bool {
	x, y := *a, *b
	x.UpdatedAt, y.UpdatedAt = time.Time{}, time.Time{}
	ja, err1 := json.Marshal(x)
	jb, err2 := json.Marshal(y)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// Reply is an answer remembered for an Idempotency-Key.
type Reply struct {
	Hash   []byte `json:"hash"`
	Status int    `json:"status"`
	Body   []byte `json:"body"`
	// CreatedAt is when it was remembered (set by Remember). Answers remembered before
	// it existed have none and never expire.
	CreatedAt time.Time `json:"created_at,omitzero"`
}

func idemKey(account, key string) []byte {
	return storage.Key(prefixReply, storage.Str(account), storage.Str(key))
}

// replyAgeKey indexes an answer by creation time (storage.AgeKey).
func replyAgeKey(at time.Time, account, key string) []byte {
	return storage.AgeKey(prefixReplyAge, at, storage.Str(account), storage.Str(key))
}

func (s *Store) expired(rep *Reply, now time.Time) bool {
	return !rep.CreatedAt.IsZero() && !now.Before(rep.CreatedAt.Add(s.opts.ReplyTTL))
}

// expireReplies deletes up to limit answers remembered ReplyTTL or more before now,
// oldest first, with their index entries.
func (s *Store) expireReplies(tx storage.Txn, now time.Time, limit int) error {
	old, err := storage.Aged(tx, prefixReplyAge, now.Add(-s.opts.ReplyTTL), limit)
	if err != nil {
		return err
	}
	return storage.DropAged(tx, prefixReplyAge, prefixReply, old)
}

// Replay returns the answer remembered for the account's key, nil if none;
// ErrIdempotencyConflict when the key was used with a different request hash.
func (s *Store) Replay(account, key string, hash []byte) (*Reply, error) {
	if key == "" {
		return nil, nil
	}
	var rep *Reply
	err := s.db.View(func(r storage.Reader) error {
		b, err := r.Get(idemKey(account, key))
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rep = new(Reply)
		return json.Unmarshal(b, rep)
	})
	if err != nil {
		return nil, fmt.Errorf("template: replay %q: %w", key, err)
	}
	if rep != nil && s.expired(rep, s.opts.Now()) {
		return nil, nil
	}
	if rep != nil && !bytes.Equal(rep.Hash, hash) {
		return nil, ErrIdempotencyConflict
	}
	return rep, nil
}

// Remember stores the answer for the account's key. The first answer stays.
func (s *Store) Remember(ctx context.Context, account, key string, rep Reply) error {
	if key == "" {
		return nil
	}
	now := s.opts.Now()
	rep.CreatedAt = now
	b, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("template: remember %q: %w", key, err)
	}
	err = s.db.Commit(ctx, func(tx storage.Txn) error {
		if err := s.expireReplies(tx, now, expireOnWrite); err != nil {
			return err
		}
		k := idemKey(account, key)
		if v, err := tx.Get(k); err == nil {
			var prev Reply
			if json.Unmarshal(v, &prev) != nil || !s.expired(&prev, now) {
				return nil
			}
			// An expired answer not yet deleted: its age entry goes with it.
			if err := tx.Delete(replyAgeKey(prev.CreatedAt, account, key)); err != nil {
				return err
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := tx.Set(replyAgeKey(now, account, key), nil); err != nil {
			return err
		}
		return tx.Set(k, b)
	})
	if err != nil {
		return fmt.Errorf("template: remember %q: %w", key, err)
	}
	return nil
}

func cmpOr[T ~string](a, b T) T {
	if a != "" {
		return a
	}
	return b
}
