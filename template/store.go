package template

import (
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
	// OnEventTx is told of every change inside the transaction that writes it (an
	// event to the account's callbacks commits with it); an error aborts the write.
	OnEventTx func(storage.Txn, Event) error
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
	WABAID string
	// WABAIDs, when not nil, keeps the records of these WABAs only (an account's).
	WABAIDs  []string
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
		if (f.WABAID != "" && r.WABAID != f.WABAID) || (f.WABAIDs != nil && !slices.Contains(f.WABAIDs, r.WABAID)) || (f.Name != "" && r.Name != f.Name) ||
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
func (s *Store) write(ctx context.Context, changes []change, evs []Event) error {
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
		if s.opts.OnEventTx != nil {
			for _, e := range evs {
				if err := s.opts.OnEventTx(tx, e); err != nil {
					return err
				}
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
	created := []Event{{Type: EventCreated, WABAID: wabaID, Name: t.Name, Language: t.Language, Status: StatusPending, Category: t.Category, At: now}}
	err := s.write(ctx, []change{{k, rec}}, created)
	s.wmu.Unlock()
	if err != nil {
		return Record{}, err
	}
	s.emit(created)
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
		err = s.write(ctx, []change{{k, &rec}}, evs)
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
	evs := make([]Event, 0, len(gone))
	for _, r := range gone {
		evs = append(evs, Event{Type: EventDeleted, WABAID: wabaID, ID: r.ID, Name: r.Name, Language: r.Language,
			PreviousStatus: r.Status, Status: StatusDeleted, At: now})
	}
	err := s.write(ctx, changes, evs)
	s.wmu.Unlock()
	if err != nil {
		return nil, err
	}
	s.emit(evs)
	return gone, nil
}

func cmpOr[T ~string](a, b T) T {
	if a != "" {
		return a
	}
	return b
}
