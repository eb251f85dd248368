package template

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"kirim/provider"
	"kirim/storage"
)

const testWABA = "200000000000001"

var storeT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// storeEnv is a store over a Badger directory that a test may reopen.
type storeEnv struct {
	t   *testing.T
	dir string
	db  *storage.DB
	s   *Store
	now time.Time

	mu     sync.Mutex
	events []Event
}

func newStoreEnv(t *testing.T) *storeEnv {
	e := &storeEnv{t: t, dir: t.TempDir(), now: storeT0}
	e.open()
	t.Cleanup(func() { _ = e.db.Close() })
	return e
}

func (e *storeEnv) open() {
	e.t.Helper()
	db, err := storage.Open(storage.Options{Dir: e.dir, MemTableSize: 8 << 20, NumMemtables: 2,
		BlockCacheSize: 1 << 20, IndexCacheSize: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
	e.s, err = OpenStore(db, StoreOptions{Now: func() time.Time { return e.now }, OnEvent: e.onEvent,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *storeEnv) reopen() {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *storeEnv) onEvent(ev Event) {
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
}

// take returns and forgets the events raised so far.
func (e *storeEnv) take() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.events
	e.events = nil
	return out
}

func (e *storeEnv) create(name, lang string) Record {
	e.t.Helper()
	tp := orderUpdate()
	tp.Name, tp.Language = name, lang
	r, err := e.s.Create(context.Background(), testWABA, tp)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *storeEnv) mustGet(name, lang string) Record {
	e.t.Helper()
	r, ok := e.s.Get(testWABA, name, lang)
	if !ok {
		e.t.Fatalf("%s/%s not stored", name, lang)
	}
	return r
}

func eventTypes(evs []Event) []EventType {
	out := make([]EventType, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func TestStoreCreateGetPersist(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	r := e.create("order_update", "id")
	if r.Status != StatusPending || r.ID != "" || r.Quality != QualityUnknown || !r.CreatedAt.Equal(storeT0) {
		t.Fatalf("created %+v", r)
	}
	if evs := e.take(); len(evs) != 1 || evs[0].Type != EventCreated || evs[0].Status != StatusPending {
		t.Fatalf("events %+v", evs)
	}
	tp := orderUpdate()
	if _, err := e.s.Create(ctx, testWABA, tp); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v, want ErrExists", err)
	}
	// The same name in another language or another WABA is another template.
	e.create("order_update", "en")
	if _, err := e.s.Create(ctx, "other_waba", tp); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Submitted(ctx, testWABA, "order_update", "id", provider.TemplateCreated{ID: "1001", Status: "PENDING", Category: "UTILITY"}); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	got := e.mustGet("order_update", "id")
	if got.ID != "1001" || got.Status != StatusPending || got.Body.Text != tp.Body.Text || got.Header == nil || got.Header.Text != tp.Header.Text {
		t.Fatalf("after reopen %+v", got)
	}
	if tpl, ok := e.s.Lookup(testWABA, "order_update", "en"); !ok || tpl.Status != StatusPending {
		t.Fatalf("lookup after reopen: %v %+v", ok, tpl)
	}
	if _, ok := e.s.Lookup(testWABA, "order_update", "en_US"); ok {
		t.Fatal("lookup of an unknown language succeeded")
	}
}

func TestStoreStatusTransitions(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	e.create("order_update", "id")
	e.take()
	upd := func(event, reason string, ri *provider.RejectionInfo) provider.TemplateStatusUpdate {
		return provider.TemplateStatusUpdate{Event: event, MessageTemplateID: "1001", MessageTemplateName: "order_update",
			MessageTemplateLanguage: "id", Reason: reason, RejectionInfo: ri}
	}
	steps := []struct {
		name       string
		u          provider.TemplateStatusUpdate
		wantStatus Status
		wantReason string
		wantRec    string
		wantEvents int
	}{
		{"approved", upd("APPROVED", "NONE", nil), StatusApproved, "", "", 1},
		{"approved again changes nothing", upd("APPROVED", "NONE", nil), StatusApproved, "", "", 0},
		{"paused", upd("PAUSED", "NONE", nil), StatusPaused, "", "", 1},
		{"reinstated means approved", upd("REINSTATED", "NONE", nil), StatusApproved, "", "", 1},
		{"disabled", upd("DISABLED", "NONE", nil), StatusDisabled, "", "", 1},
		{"rejected with reason", upd("REJECTED", "INVALID_FORMAT", &provider.RejectionInfo{Reason: "INVALID_FORMAT", Recommendation: "variable_at_edge"}),
			StatusRejected, "INVALID_FORMAT", "variable_at_edge", 1},
		{"rejected twice changes nothing", upd("REJECTED", "INVALID_FORMAT", &provider.RejectionInfo{Reason: "INVALID_FORMAT", Recommendation: "variable_at_edge"}),
			StatusRejected, "INVALID_FORMAT", "variable_at_edge", 0},
		{"lower case event", upd("approved", "NONE", nil), StatusApproved, "", "", 1},
	}
	for _, st := range steps {
		e.now = e.now.Add(time.Minute)
		known, err := e.s.ApplyStatus(ctx, testWABA, st.u)
		if err != nil || !known {
			t.Fatalf("%s: known %v err %v", st.name, known, err)
		}
		r := e.mustGet("order_update", "id")
		if r.Status != st.wantStatus || r.RejectedReason != st.wantReason || r.RejectionRecommendation != st.wantRec {
			t.Fatalf("%s: status %s reason %q rec %q", st.name, r.Status, r.RejectedReason, r.RejectionRecommendation)
		}
		if r.ID != "1001" {
			t.Fatalf("%s: the update's id was not taken: %q", st.name, r.ID)
		}
		evs := e.take()
		if len(evs) != st.wantEvents {
			t.Fatalf("%s: %d events %+v, want %d", st.name, len(evs), evs, st.wantEvents)
		}
		if len(evs) == 1 && (evs[0].Type != EventStatus || evs[0].Status != st.wantStatus || !evs[0].At.Equal(e.now)) {
			t.Fatalf("%s: event %+v", st.name, evs[0])
		}
		if tpl, _ := e.s.Lookup(testWABA, "order_update", "id"); tpl.Status != st.wantStatus {
			t.Fatalf("%s: the catalog sees %s", st.name, tpl.Status)
		}
	}
	// An update about an older template of the same name (another id) is not applied.
	old := upd("DISABLED", "NONE", nil)
	old.MessageTemplateID = "999"
	if known, err := e.s.ApplyStatus(ctx, testWABA, old); err != nil || !known {
		t.Fatal(known, err)
	}
	if r := e.mustGet("order_update", "id"); r.Status != StatusApproved {
		t.Fatalf("stale update applied: %s", r.Status)
	}
	// Unknown templates are reported, not invented.
	other := upd("APPROVED", "NONE", nil)
	other.MessageTemplateName = "made_elsewhere"
	if known, err := e.s.ApplyStatus(ctx, testWABA, other); err != nil || known {
		t.Fatalf("unknown template: known %v err %v", known, err)
	}
	if len(e.take()) != 0 {
		t.Fatal("events for a skipped update")
	}
}

func TestStoreSubmittedAfterWebhook(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	e.create("order_update", "id")
	// The review webhook overtakes the answer to the submission.
	if _, err := e.s.ApplyStatus(ctx, testWABA, provider.TemplateStatusUpdate{Event: "APPROVED", MessageTemplateID: "77",
		MessageTemplateName: "order_update", MessageTemplateLanguage: "id"}); err != nil {
		t.Fatal(err)
	}
	r, err := e.s.Submitted(ctx, testWABA, "order_update", "id", provider.TemplateCreated{ID: "77", Status: "PENDING", Category: "UTILITY"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusApproved || r.ID != "77" {
		t.Fatalf("the submission's answer overwrote the review: %+v", r)
	}
	if _, err := e.s.Submitted(ctx, testWABA, "nope", "id", provider.TemplateCreated{ID: "1"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("submitted unknown: %v", err)
	}
}

func TestStoreQualityAndCategory(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	e.create("order_update", "id")
	e.take()
	q := provider.TemplateQualityUpdate{PreviousQualityScore: "UNKNOWN", NewQualityScore: "YELLOW", MessageTemplateID: "5",
		MessageTemplateName: "order_update", MessageTemplateLanguage: "id"}
	for i := 0; i < 2; i++ {
		if known, err := e.s.ApplyQuality(ctx, testWABA, q); err != nil || !known {
			t.Fatal(known, err)
		}
	}
	r := e.mustGet("order_update", "id")
	if r.Quality != QualityYellow || !r.QualityAt.Equal(storeT0) {
		t.Fatalf("quality %s at %v", r.Quality, r.QualityAt)
	}
	if evs := e.take(); len(evs) != 1 || evs[0].Type != EventQuality || evs[0].Quality != QualityYellow || evs[0].PrevQuality != QualityUnknown {
		t.Fatalf("quality events %+v", evs)
	}

	notice := provider.TemplateCategoryUpdate{MessageTemplateID: "5", MessageTemplateName: "order_update", MessageTemplateLanguage: "id",
		NewCategory: "UTILITY", CorrectCategory: "MARKETING", CategoryUpdateTimestamp: provider.FlexInt(storeT0.Add(24 * time.Hour).Unix())}
	for i := 0; i < 2; i++ {
		if _, err := e.s.ApplyCategory(ctx, testWABA, notice); err != nil {
			t.Fatal(err)
		}
	}
	r = e.mustGet("order_update", "id")
	if r.Category != CategoryUtility || r.CategoryNotice == nil || r.CategoryNotice.Correct != CategoryMarketing ||
		!r.CategoryNotice.At.Equal(storeT0.Add(24*time.Hour)) {
		t.Fatalf("notice applied or lost: %s %+v", r.Category, r.CategoryNotice)
	}
	if evs := e.take(); len(evs) != 1 || evs[0].Type != EventCategoryNotice || evs[0].CorrectCategory != CategoryMarketing {
		t.Fatalf("notice events %+v", evs)
	}
	done := provider.TemplateCategoryUpdate{MessageTemplateID: "5", MessageTemplateName: "order_update", MessageTemplateLanguage: "id",
		PreviousCategory: "UTILITY", NewCategory: "MARKETING"}
	for i := 0; i < 2; i++ {
		if _, err := e.s.ApplyCategory(ctx, testWABA, done); err != nil {
			t.Fatal(err)
		}
	}
	r = e.mustGet("order_update", "id")
	if r.Category != CategoryMarketing || r.CategoryNotice != nil {
		t.Fatalf("category %s notice %+v", r.Category, r.CategoryNotice)
	}
	if tpl, _ := e.s.Lookup(testWABA, "order_update", "id"); tpl.Category != CategoryMarketing {
		t.Fatalf("the catalog sees %s", tpl.Category)
	}
	if evs := e.take(); len(evs) != 1 || evs[0].Type != EventCategory || evs[0].PrevCategory != CategoryUtility {
		t.Fatalf("category events %+v", evs)
	}
}

func TestStoreListAndDelete(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	for _, n := range []string{"c_tpl", "a_tpl", "b_tpl", "d_tpl", "e_tpl"} {
		e.create(n, "id")
	}
	e.create("a_tpl", "en")
	if _, err := e.s.ApplyStatus(ctx, testWABA, provider.TemplateStatusUpdate{Event: "APPROVED", MessageTemplateName: "b_tpl", MessageTemplateLanguage: "id"}); err != nil {
		t.Fatal(err)
	}
	var names []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, next, err := e.s.List(ListFilter{WABAID: testWABA, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			names = append(names, r.Name+"/"+r.Language)
		}
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		cursor = next
	}
	want := []string{"a_tpl/en", "a_tpl/id", "b_tpl/id", "c_tpl/id", "d_tpl/id", "e_tpl/id"}
	if len(names) != len(want) {
		t.Fatalf("listed %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("listed %v, want %v", names, want)
		}
	}
	approved, _, err := e.s.List(ListFilter{Status: StatusApproved})
	if err != nil || len(approved) != 1 || approved[0].Name != "b_tpl" {
		t.Fatalf("status filter: %v %+v", err, approved)
	}
	if marketing, _, _ := e.s.List(ListFilter{Category: CategoryMarketing}); len(marketing) != 0 {
		t.Fatalf("category filter: %+v", marketing)
	}
	if _, _, err := e.s.List(ListFilter{Cursor: "!!"}); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}

	e.take()
	gone, err := e.s.Delete(ctx, testWABA, "a_tpl", "")
	if err != nil || len(gone) != 2 {
		t.Fatalf("delete every language: %v %d", err, len(gone))
	}
	if evs := e.take(); len(evs) != 2 || evs[0].Type != EventDeleted {
		t.Fatalf("delete events %+v", evs)
	}
	if _, err := e.s.Delete(ctx, testWABA, "a_tpl", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := e.s.Delete(ctx, testWABA, "c_tpl", "id"); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	all, _, _ := e.s.List(ListFilter{})
	if len(all) != 3 {
		t.Fatalf("after deletes and reopen: %d records", len(all))
	}
	if _, ok := e.s.Lookup(testWABA, "c_tpl", "id"); ok {
		t.Fatal("deleted template still in the catalog")
	}
}

func TestStoreSync(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	e.create("local_only", "id") // no id yet: its submission is in flight
	e.create("known", "id")
	if _, err := e.s.Submitted(ctx, testWABA, "known", "id", provider.TemplateCreated{ID: "11", Status: "PENDING"}); err != nil {
		t.Fatal(err)
	}
	e.create("gone", "id")
	if _, err := e.s.Submitted(ctx, testWABA, "gone", "id", provider.TemplateCreated{ID: "12", Status: "PENDING"}); err != nil {
		t.Fatal(err)
	}
	e.take()
	known := orderUpdate()
	known.Name, known.ID, known.Status, known.Quality = "known", "11", StatusApproved, QualityGreen
	elsewhere := orderUpdate()
	elsewhere.Name, elsewhere.ID, elsewhere.Status, elsewhere.RejectedReason = "made_elsewhere", "13", StatusApproved, "NONE"
	defs := []provider.TemplateDefinition{known.Definition(), elsewhere.Definition(),
		{Name: "broken", Language: "id", Components: []provider.TemplateComponentDef{{Type: "CAROUSEL"}}}}
	res, err := e.s.Sync(ctx, testWABA, defs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || res.Updated != 1 || res.Removed != 1 || res.Skipped != 1 || res.Unchanged != 0 {
		t.Fatalf("first sync %+v", res)
	}
	if r := e.mustGet("known", "id"); r.Status != StatusApproved || r.Quality != QualityGreen {
		t.Fatalf("known after sync %+v", r)
	}
	if r := e.mustGet("made_elsewhere", "id"); r.Status != StatusApproved || r.RejectedReason != "" || r.ID != "13" {
		t.Fatalf("discovered %+v", r)
	}
	if _, ok := e.s.Get(testWABA, "gone", "id"); ok {
		t.Fatal("a template the provider no longer lists was kept")
	}
	e.mustGet("local_only", "id")
	types := eventTypes(e.take())
	wantTypes := map[EventType]int{EventStatus: 1, EventQuality: 1, EventDiscovered: 1, EventDeleted: 1}
	got := map[EventType]int{}
	for _, ty := range types {
		got[ty]++
	}
	if len(got) != len(wantTypes) {
		t.Fatalf("sync events %v", types)
	}
	for k, v := range wantTypes {
		if got[k] != v {
			t.Fatalf("sync events %v", types)
		}
	}
	res, err = e.s.Sync(ctx, testWABA, defs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 0 || res.Updated != 0 || res.Removed != 0 || res.Unchanged != 2 {
		t.Fatalf("second sync is not a no-op: %+v", res)
	}
	if evs := e.take(); len(evs) != 0 {
		t.Fatalf("second sync raised %+v", evs)
	}
}

func TestStoreSyncManyChunks(t *testing.T) {
	e := newStoreEnv(t)
	var defs []provider.TemplateDefinition
	for i := 0; i < 2*syncChunk+7; i++ {
		tp := orderUpdate()
		tp.Name = fmt.Sprintf("bulk_%03d", i)
		defs = append(defs, tp.Definition())
	}
	res, err := e.s.Sync(context.Background(), testWABA, defs)
	if err != nil || res.Added != len(defs) {
		t.Fatalf("%v %+v", err, res)
	}
	e.reopen()
	all, _, _ := e.s.List(ListFilter{Limit: MaxListLimit})
	if len(all) != len(defs) {
		t.Fatalf("%d stored, want %d", len(all), len(defs))
	}
}

func TestStoreIdempotency(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	if rep, err := e.s.Replay("acct", "k1", []byte("h1")); err != nil || rep != nil {
		t.Fatalf("fresh key: %v %v", rep, err)
	}
	if err := e.s.Remember(ctx, "acct", "k1", Reply{Hash: []byte("h1"), Status: 201, Body: []byte(`{"id":"1"}`)}); err != nil {
		t.Fatal(err)
	}
	// The first answer stays.
	if err := e.s.Remember(ctx, "acct", "k1", Reply{Hash: []byte("h1"), Status: 500, Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.s.Replay("acct", "k1", []byte("h1"))
	if err != nil || rep == nil || rep.Status != 201 || string(rep.Body) != `{"id":"1"}` {
		t.Fatalf("replay %+v %v", rep, err)
	}
	if _, err := e.s.Replay("acct", "k1", []byte("h2")); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("different body: %v", err)
	}
	if rep, _ := e.s.Replay("other", "k1", []byte("h2")); rep != nil {
		t.Fatal("keys are per account")
	}
}

// TestStoreIdempotencyExpires: an answer is replayed until ReplyTTL has passed, then the
// key is free (a different request takes it, no conflict), and each Remember deletes the
// expired answers with their age entries, so they do not pile up.
func TestStoreIdempotencyExpires(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	remember := func(account, key, hash string) {
		t.Helper()
		if err := e.s.Remember(ctx, account, key, Reply{Hash: []byte(hash), Status: 201, Body: []byte(`{"h":"` + hash + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(kind byte) int {
		t.Helper()
		n := 0
		err := e.db.View(func(r storage.Reader) error {
			return r.Iterate(storage.Key(storage.PrefixTemplate, []byte{kind}), storage.IterOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
				n++
				return true, nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	remember("acct", "k1", "h1")
	remember("acct", "k2", "h1")
	if a, i := count(kindReplyAge), count(kindIdempotency); a != 2 || i != 2 {
		t.Fatalf("%d age entries and %d answers, want 2 each", a, i)
	}

	e.now = storeT0.Add(DefaultReplyTTL - time.Second)
	if rep, err := e.s.Replay("acct", "k1", []byte("h1")); err != nil || rep == nil {
		t.Fatalf("a second before the TTL: %+v %v, want the answer", rep, err)
	}
	if _, err := e.s.Replay("acct", "k1", []byte("h2")); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("a second before the TTL, another request: %v, want a conflict", err)
	}

	e.now = storeT0.Add(DefaultReplyTTL)
	if rep, err := e.s.Replay("acct", "k1", []byte("h2")); err != nil || rep != nil {
		t.Fatalf("at the TTL, another request: %+v %v, want a free key", rep, err)
	}
	remember("acct", "k1", "h2") // deletes both expired answers, then takes k1 anew
	rep, err := e.s.Replay("acct", "k1", []byte("h2"))
	if err != nil || rep == nil || string(rep.Body) != `{"h":"h2"}` || !rep.CreatedAt.Equal(e.now) {
		t.Fatalf("the new answer: %+v %v", rep, err)
	}
	if a, i := count(kindReplyAge), count(kindIdempotency); a != 1 || i != 1 {
		t.Fatalf("%d age entries and %d answers after the expired ones went, want 1 each", a, i)
	}
}

func TestStoreConcurrentUpdates(t *testing.T) {
	e := newStoreEnv(t)
	ctx := context.Background()
	e.create("order_update", "id")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, _ = e.s.ApplyStatus(ctx, testWABA, provider.TemplateStatusUpdate{Event: "APPROVED", MessageTemplateName: "order_update", MessageTemplateLanguage: "id"})
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				if tpl, ok := e.s.Lookup(testWABA, "order_update", "id"); !ok || tpl.Name != "order_update" {
					t.Error("lookup during writes")
				}
			}
		}()
	}
	wg.Wait()
	statusEvents := 0
	for _, ev := range e.take() {
		if ev.Type == EventStatus {
			statusEvents++
		}
	}
	if statusEvents != 1 {
		t.Fatalf("%d status events for one change", statusEvents)
	}
}

// FuzzDecodeCursor: a list cursor comes from the client; decoding never panics and a
// cursor that decodes re-encodes to the same key.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(recKey{testWABA, "order_update", "id"}))
	f.Add(encodeCursor(recKey{"", "", ""}))
	f.Add(encodeCursor(recKey{"w\x00a", "n\x01", "en_US"}))
	f.Add("!!")
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, c string) {
		k, err := decodeCursor(c)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("error %v is not ErrBadCursor", err)
			}
			return
		}
		back, err := decodeCursor(encodeCursor(k))
		if err != nil || back != k {
			t.Fatalf("round trip of %+v: %+v %v", k, back, err)
		}
	})
}
