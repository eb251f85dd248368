package sandbox

import (
	"strings"

	"kirim/provider"
	ktemplate "kirim/template"
)

// DefaultPromoRejectRate is the fraction of UTILITY templates with promotional
// wording that the lint reviewer rejects when Options.PromoRejectRate is zero.
const DefaultPromoRejectRate = 0.5

// Rejection reasons, as Meta writes them before the detail.
const (
	reasonInvalidFormat     = "INVALID_FORMAT"
	reasonIncorrectCategory = "INCORRECT_CATEGORY"
	// ruleComponents names a definition the model cannot even hold (a repeated or
	// unknown component); the linter never sees such a template.
	ruleComponents = "components"
)

// LintReviewer stands in for Meta's template review using Kirim's own linter, so a
// template the linter passes is approved and one it refuses is rejected with the same
// rule id ("INVALID_FORMAT: variable_at_edge"). What the linter can only warn about,
// promotional wording in a UTILITY template, is rejected at a set rate
// ("INCORRECT_CATEGORY: promotional_in_utility"), as Meta does some of the time; the
// rate is applied by a counter, so a test knows exactly which submissions are hit.
type LintReviewer struct {
	promo ratio
}

// NewLintReviewer returns a reviewer that rejects the given fraction (0 to 1) of
// UTILITY templates carrying promotional wording; zero or less rejects none.
func NewLintReviewer(promoRejectRate float64) *LintReviewer {
	r := &LintReviewer{}
	r.promo.set(promoRejectRate)
	return r
}

// Review decides a submitted definition: APPROVED, or REJECTED with "REASON: rule".
func (r *LintReviewer) Review(def provider.TemplateDefinition) (status, reason string) {
	t, err := ktemplate.FromDefinition(def)
	if err != nil {
		return tmplRejected, reasonInvalidFormat + ": " + ruleComponents
	}
	promo := false
	for _, v := range ktemplate.Lint(t) {
		if v.Severity == ktemplate.SeverityError {
			if v.Rule == ktemplate.RulePromotionalOffer {
				return tmplRejected, reasonIncorrectCategory + ": " + v.Rule
			}
			return tmplRejected, reasonInvalidFormat + ": " + v.Rule
		}
		if v.Rule == ktemplate.RulePromotionalInUtility {
			promo = true
		}
	}
	if promo && r.promo.hit() {
		return tmplRejected, reasonIncorrectCategory + ": " + ktemplate.RulePromotionalInUtility
	}
	return tmplApproved, ""
}

// shortenerHosts are link shorteners Meta's review refuses.
var shortenerHosts = []string{"bit.ly", "tinyurl.com", "goo.gl", "t.co", "ow.ly", "s.id", "is.gd",
	"cutt.ly", "rebrand.ly", "buff.ly", "shorturl.at", "rb.gy", "t.ly", "tiny.cc"}

func hasShortLink(text string) bool {
	lower := strings.ToLower(text)
	for _, h := range shortenerHosts {
		for i := strings.Index(lower, h+"/"); i >= 0; {
			if i == 0 || !isHostChar(lower[i-1]) {
				return true
			}
			next := strings.Index(lower[i+1:], h+"/")
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return false
}

func isHostChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// DefaultReviewer is a small stand-in for Meta's template review: the name's charset
// and length, a BODY of at most 1024 characters, no variable at the very start or end
// of the body, no adjacent variables, and no shortened links. Rejection reasons read
// "INVALID_FORMAT: <rule>".
func DefaultReviewer(def provider.TemplateDefinition) (status, reason string) {
	if def.Name == "" || len(def.Name) > maxTemplateName {
		return tmplRejected, "INVALID_FORMAT: name_length"
	}
	for i := 0; i < len(def.Name); i++ {
		c := def.Name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return tmplRejected, "INVALID_FORMAT: name_charset"
		}
	}
	auth := upper(def.Category) == "AUTHENTICATION"
	var body *provider.TemplateComponentDef
	for i := range def.Components {
		c := &def.Components[i]
		switch upper(c.Type) {
		case "BODY":
			body = c
		case "BUTTONS":
			for _, b := range c.Buttons {
				if hasShortLink(b.URL) {
					return tmplRejected, "INVALID_FORMAT: shortened_link"
				}
			}
		}
		if hasShortLink(c.Text) {
			return tmplRejected, "INVALID_FORMAT: shortened_link"
		}
	}
	if body == nil || (body.Text == "" && !auth) {
		return tmplRejected, "INVALID_FORMAT: body_missing"
	}
	if runes(body.Text) > maxTemplateBody {
		return tmplRejected, "INVALID_FORMAT: body_too_long"
	}
	vs := scanVars(body.Text)
	if vs.atStart || vs.atEnd {
		return tmplRejected, "INVALID_FORMAT: body_variable_at_edge"
	}
	if vs.adjacent {
		return tmplRejected, "INVALID_FORMAT: body_adjacent_variables"
	}
	return tmplApproved, ""
}

// review applies the reviewer to a pending template and announces the verdict.
func (s *Sandbox) review(st *state, t *template) {
	status, reason := s.reviewr(t.def)
	if status != tmplApproved {
		status = tmplRejected
	}
	ts := st.templates
	ts.mu.Lock()
	if t.status != tmplPending || ts.byKey[t.key] != t {
		ts.mu.Unlock()
		return // deleted or changed through the inspection API meanwhile
	}
	t.status = status
	code, detail, _ := strings.Cut(reason, ":")
	t.reason = strings.TrimSpace(code)
	category := t.category
	ts.mu.Unlock()
	s.saveState()

	upd := provider.TemplateStatusUpdate{
		Event: status, MessageTemplateID: provider.FlexString(t.id), MessageTemplateName: t.key.name,
		MessageTemplateLanguage: t.key.lang, Reason: "NONE", MessageTemplateCategory: category,
	}
	if status == tmplRejected {
		upd.Reason = t.reason
		upd.RejectionInfo = &provider.RejectionInfo{Reason: t.reason, Recommendation: strings.TrimSpace(detail)}
	}
	s.postWABAEvent(st, t.key.waba, provider.FieldTemplateStatusUpdate, upd)
}
