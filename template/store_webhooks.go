package template

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"kirim/provider"
)

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
		err = s.write(ctx, []change{{k, next}}, evs)
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
		// The events go with the last part: a sync is one reconciliation, and a part
		// is only split off for the transaction's size.
		var withEvs []Event
		if n == len(changes) {
			withEvs = evs
		}
		err = s.write(ctx, changes[:n], withEvs)
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
