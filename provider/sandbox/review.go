package sandbox

import (
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
