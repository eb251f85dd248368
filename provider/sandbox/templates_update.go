package sandbox

import (
	"fmt"

	"kirim/provider"
)

// TemplateUpdate changes a template through the inspection API; empty fields stay.
type TemplateUpdate struct {
	Status   string `json:"status,omitempty"`   // PAUSED, DISABLED, APPROVED, REINSTATED, REJECTED
	Quality  string `json:"quality,omitempty"`  // GREEN, YELLOW, RED, UNKNOWN
	Category string `json:"category,omitempty"` // MARKETING, UTILITY, AUTHENTICATION
	Reason   string `json:"reason,omitempty"`   // for REJECTED; default NONE
}

// UpdateTemplate applies u to the template name/language (in every WABA holding it)
// and posts the matching webhooks.
func (s *Sandbox) UpdateTemplate(name, language string, u TemplateUpdate) error {
	st := s.st.Load()
	u.Status, u.Quality, u.Category = upper(u.Status), upper(u.Quality), upper(u.Category)
	switch u.Status {
	case "", tmplPaused, tmplDisabled, tmplApproved, tmplReinstated, tmplRejected:
	default:
		return fmt.Errorf("sandbox: update template %s/%s: status %q: %w", name, language, u.Status, errInvalid)
	}
	switch u.Quality {
	case "", "GREEN", "YELLOW", "RED", "UNKNOWN":
	default:
		return fmt.Errorf("sandbox: update template %s/%s: quality %q: %w", name, language, u.Quality, errInvalid)
	}
	switch u.Category {
	case "", "MARKETING", "UTILITY", "AUTHENTICATION":
	default:
		return fmt.Errorf("sandbox: update template %s/%s: category %q: %w", name, language, u.Category, errInvalid)
	}
	ts := st.templates
	type change struct {
		t                    *template
		oldQuality, category string
		oldCategory          string
	}
	var changes []change
	ts.mu.Lock()
	for _, t := range ts.all {
		if t.key.name != name || t.key.lang != language {
			continue
		}
		c := change{t: t, oldQuality: t.quality, oldCategory: t.category}
		switch u.Status {
		case "":
		case tmplReinstated:
			t.status = tmplApproved
		default:
			t.status = u.Status
		}
		if u.Status == tmplRejected {
			t.reason = cmpOr(u.Reason, "NONE")
		}
		if u.Quality != "" {
			t.quality = u.Quality
		}
		if u.Category != "" {
			t.category = u.Category
		}
		c.category = t.category
		changes = append(changes, c)
	}
	ts.mu.Unlock()
	if len(changes) == 0 {
		return fmt.Errorf("sandbox: update template %s/%s: %w", name, language, errNotFound)
	}
	s.saveState()
	now := s.clk.Now().Unix()
	for _, c := range changes {
		t := c.t
		if u.Status != "" {
			upd := provider.TemplateStatusUpdate{
				Event: u.Status, MessageTemplateID: provider.FlexString(t.id), MessageTemplateName: t.key.name,
				MessageTemplateLanguage: t.key.lang, Reason: "NONE", MessageTemplateCategory: c.category,
			}
			switch u.Status {
			case tmplPaused:
				upd.OtherInfo = &provider.OtherInfo{Title: "FIRST_PAUSE",
					Description: "Your template has been paused because of low quality."}
			case tmplDisabled:
				upd.DisableInfo = &provider.DisableInfo{DisableDate: s.clk.Now().UTC().Format("2006-01-02")}
			case tmplReinstated:
				upd.OtherInfo = &provider.OtherInfo{Title: "UNPAUSE", Description: "Your template has been reinstated."}
			case tmplRejected:
				upd.Reason = cmpOr(u.Reason, "NONE")
			}
			s.postWABAEvent(st, t.key.waba, provider.FieldTemplateStatusUpdate, upd)
		}
		if u.Quality != "" && u.Quality != c.oldQuality {
			s.postWABAEvent(st, t.key.waba, provider.FieldTemplateQualityUpdate, provider.TemplateQualityUpdate{
				PreviousQualityScore: c.oldQuality, NewQualityScore: u.Quality,
				MessageTemplateID: provider.FlexString(t.id), MessageTemplateName: t.key.name, MessageTemplateLanguage: t.key.lang,
			})
		}
		if u.Category != "" && u.Category != c.oldCategory {
			s.postWABAEvent(st, t.key.waba, provider.FieldTemplateCategoryUpdate, provider.TemplateCategoryUpdate{
				MessageTemplateID: provider.FlexString(t.id), MessageTemplateName: t.key.name, MessageTemplateLanguage: t.key.lang,
				PreviousCategory: c.oldCategory, NewCategory: u.Category, CategoryUpdateTimestamp: provider.FlexInt(now),
			})
		}
	}
	return nil
}

// SetTemplateStatus sets a template's status (PAUSED, DISABLED, APPROVED, REINSTATED).
func (s *Sandbox) SetTemplateStatus(name, language, status string) error {
	return s.UpdateTemplate(name, language, TemplateUpdate{Status: status})
}

// SetTemplateQuality sets a template's quality score (GREEN, YELLOW, RED).
func (s *Sandbox) SetTemplateQuality(name, language, quality string) error {
	return s.UpdateTemplate(name, language, TemplateUpdate{Quality: quality})
}

// SetTemplateCategory re-categorises a template.
func (s *Sandbox) SetTemplateCategory(name, language, category string) error {
	return s.UpdateTemplate(name, language, TemplateUpdate{Category: category})
}

// Templates lists every template, all WABAs, in creation order.
func (s *Sandbox) Templates() []provider.TemplateDefinition {
	ts := s.st.Load().templates
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	out := make([]provider.TemplateDefinition, 0, len(ts.all))
	for _, t := range ts.all {
		out = append(out, t.view())
	}
	return out
}
