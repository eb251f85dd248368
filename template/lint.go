package template

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits from Meta's template documentation and the BSP review rules.
const (
	MaxNameLen             = 512
	MaxHeaderTextLen       = 60
	MaxBodyLen             = 1024
	MaxFooterLen           = 60
	MaxButtonLabelLen      = 25
	MaxURLLen              = 2000
	MaxPhoneLen            = 20
	MaxCopyCodeLen         = 15 // Meta's coupon docs and pywa; some pages say 20
	MaxButtons             = 10
	MaxURLButtons          = 2
	MaxPhoneButtons        = 1
	MaxCopyCodeButtons     = 1
	MaxVisibleButtons      = 3 // with more, WhatsApp shows 2 and "See all options"
	MaxEmoji               = 5 // Qontak: more than 5 emoji gets a template rejected
	MinCodeExpiration      = 1
	MaxCodeExpiration      = 90
	MinPhoneDigits         = 8
	MaxPhoneDigits         = 15 // E.164
	WordsPerVariable       = 3  // variable density: words+variables >= 3n+1 (see checkDensity)
	MaxImageSampleBytes    = 5 << 20
	MaxVideoSampleBytes    = 10 << 20 // Qontak's limit, below Meta's 16 MB
	MaxDocumentSampleBytes = 100 << 20

	// Delivery TTL bounds per category, in seconds.
	MinAuthTTL      = 30
	MaxAuthTTL      = 900
	MinUtilityTTL   = 30
	MaxUtilityTTL   = 12 * 3600
	MinMarketingTTL = 12 * 3600
	MaxMarketingTTL = 30 * 24 * 3600

	maxExcerpt = 60 // runes of offending text quoted in a violation
)

// Severity says whether a violation blocks submission.
type Severity string

const (
	// SeverityError: Meta (or the BSPs' review) rejects this; submission is refused.
	SeverityError Severity = "error"
	// SeverityWarning: likely to cause a re-categorisation or a poor experience.
	SeverityWarning Severity = "warning"
)

// Violation is one broken rule, with where it is and what to change.
type Violation struct {
	Rule      string   `json:"rule"`
	Severity  Severity `json:"severity"`
	Component string   `json:"component"`
	Message   string   `json:"message"`
	Text      string   `json:"text"`
}

// Rule describes one lint rule for documentation and the sandbox reviewer.
type Rule struct {
	ID          string   `json:"id"`
	Severity    Severity `json:"severity"`
	Description string   `json:"description"`
}

// Rule ids. They are stable: callers and stored reviews refer to them.
const (
	RuleNameLength             = "name_length"
	RuleNameCharset            = "name_charset"
	RuleLanguageCode           = "language_code"
	RuleCategoryUnknown        = "category_unknown"
	RuleParameterFormatUnknown = "parameter_format_unknown"
	RuleSendTTLRange           = "send_ttl_range"
	RuleHeaderFormatUnknown    = "header_format_unknown"
	RuleHeaderTextRequired     = "header_text_required"
	RuleHeaderLength           = "header_length"
	RuleHeaderVariableCount    = "header_variable_count"
	RuleHeaderFormatting       = "header_formatting"
	RuleMediaSampleMissing     = "media_sample_missing"
	RuleMediaSampleSize        = "media_sample_size"
	RuleBodyRequired           = "body_required"
	RuleBodyLength             = "body_length"
	RuleFooterLength           = "footer_length"
	RuleFooterVariable         = "footer_variable"
	RuleFooterFormatting       = "footer_formatting"
	RuleVariableSyntax         = "variable_syntax"
	RuleVariableSequence       = "variable_sequence"
	RuleVariableDuplicate      = "variable_duplicate"
	RuleVariableAtEdge         = "variable_at_edge"
	RuleVariablesAdjacent      = "variables_adjacent"
	RuleVariableDensity        = "variable_density"
	RuleVariableExampleMissing = "variable_example_missing"
	RuleVariableExampleUnused  = "variable_example_unused"
	RuleLeadingSpace           = "leading_space"
	RuleDoubleSpace            = "double_space"
	RuleConsecutiveNewlines    = "consecutive_newlines"
	RuleTooManyEmoji           = "too_many_emoji"
	RuleShortenedLink          = "shortened_link"
	RulePromotionalInUtility   = "promotional_in_utility"
	RulePromotionalOffer       = "promotional_offer_in_utility"
	RuleButtonCount            = "button_count"
	RuleButtonsCollapsed       = "buttons_collapsed"
	RuleQuickReplyGrouping     = "quick_reply_grouping"
	RuleURLButtonCount         = "url_button_count"
	RulePhoneButtonCount       = "phone_button_count"
	RuleCopyCodeCount          = "copy_code_count"
	RuleButtonTypeUnknown      = "button_type_unknown"
	RuleButtonLabelRequired    = "button_label_required"
	RuleButtonLabelLength      = "button_label_length"
	RuleURLRequired            = "url_required"
	RuleURLInvalid             = "url_invalid"
	RuleURLVariablePosition    = "url_variable_position"
	RuleURLFixedDomain         = "url_fixed_domain"
	RuleURLLength              = "url_length"
	RulePhoneFormat            = "phone_format"
	RuleCopyCodeExample        = "copy_code_example"
	RuleCopyCodeCategory       = "copy_code_category"
	RuleAuthShape              = "auth_shape"
	RuleAuthNoURL              = "auth_no_url"
	RuleAuthNoMedia            = "auth_no_media"
	RuleAuthNoEmoji            = "auth_no_emoji"
	RuleAuthCodeExpiration     = "auth_code_expiration"
	RuleAuthOTPType            = "auth_otp_type"
	RuleAuthOnlyField          = "auth_only_field"
)

// Rules lists every rule Lint applies, with the severity its violations carry.
var Rules = []Rule{
	{RuleNameLength, SeverityError, "name is 1-512 characters"},
	{RuleNameCharset, SeverityError, "name uses only lower-case letters, digits and underscores"},
	{RuleLanguageCode, SeverityError, "language is one of the codes WhatsApp templates support, such as id, en, en_US or ms (written with _, case as listed)"},
	{RuleCategoryUnknown, SeverityError, "category is MARKETING, UTILITY or AUTHENTICATION"},
	{RuleParameterFormatUnknown, SeverityError, "parameter_format is POSITIONAL or NAMED"},
	{RuleSendTTLRange, SeverityError, "message_send_ttl_seconds is 30-900 for AUTHENTICATION, 30-43200 for UTILITY, 43200-2592000 for MARKETING"},
	{RuleHeaderFormatUnknown, SeverityError, "header format is TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION"},
	{RuleHeaderTextRequired, SeverityError, "a TEXT header has text"},
	{RuleHeaderLength, SeverityError, "header text is at most 60 characters"},
	{RuleHeaderVariableCount, SeverityError, "header text has at most one variable"},
	{RuleHeaderFormatting, SeverityError, "header text has no line breaks, emoji or formatting characters (* ~ `)"},
	{RuleMediaSampleMissing, SeverityError, "an IMAGE, VIDEO or DOCUMENT header has a sample (header_handle)"},
	{RuleMediaSampleSize, SeverityError, "a header sample is within size: image 5 MB, video 10 MB, document 100 MB"},
	{RuleBodyRequired, SeverityError, "the body has text"},
	{RuleBodyLength, SeverityError, "body text is at most 1,024 characters"},
	{RuleFooterLength, SeverityError, "footer text is at most 60 characters"},
	{RuleFooterVariable, SeverityError, "footer text has no variables"},
	{RuleFooterFormatting, SeverityError, "footer text has no line breaks or emoji"},
	{RuleVariableSyntax, SeverityError, "variables are written {{1}} (positional) or {{first_name}} (named), matching parameter_format"},
	{RuleVariableSequence, SeverityError, "positional variables are numbered from {{1}} with no gaps and appear in order"},
	{RuleVariableDuplicate, SeverityError, "each variable appears once"},
	{RuleVariableAtEdge, SeverityError, "the body does not start or end with a variable: \"{{1}}, pesanan ...\" and \"... nomor {{1}}\" are refused, \"... pesanan {{1}}.\" is fine"},
	{RuleVariablesAdjacent, SeverityError, "two variables are separated by at least one word, not only spaces or punctuation"},
	{RuleVariableDensity, SeverityError, "not too many variables for the length: words plus variables are at least 3 per variable plus 1, i.e. 2n+1 words of fixed text for n variables (the threshold BSPs observe behind Meta's 'too many variables for its length' rejections)"},
	{RuleVariableExampleMissing, SeverityError, "every variable has a sample value"},
	{RuleVariableExampleUnused, SeverityError, "every sample value belongs to a variable in the text"},
	{RuleLeadingSpace, SeverityError, "no line starts with a space or tab"},
	{RuleDoubleSpace, SeverityError, "no two spaces in a row"},
	{RuleConsecutiveNewlines, SeverityError, "at most one blank line in a row: a blank line between paragraphs is fine, two are refused"},
	{RuleTooManyEmoji, SeverityError, "the body has at most 5 emoji (a flag, a family or a skin-toned emoji is one)"},
	{RuleShortenedLink, SeverityError, "no shortened links (bit.ly, linktr.ee, s.id, tinyurl ...): use the full domain"},
	{RulePromotionalInUtility, SeverityWarning, "a UTILITY template has no words that are often, not always, promotional (free, bonus, hemat, sale, deal ...); Meta may re-categorise it as MARKETING"},
	{RulePromotionalOffer, SeverityError, "a UTILITY template makes no offer (diskon, promo, gratis, cashback, voucher, discount, coupon, buy now ...): it is MARKETING; submit it as MARKETING or move the offer into a variable"},
	{RuleButtonCount, SeverityError, "at most 10 buttons"},
	{RuleButtonsCollapsed, SeverityWarning, "with more than 3 buttons WhatsApp shows 2 and hides the rest behind 'See all options'"},
	{RuleQuickReplyGrouping, SeverityError, "quick replies form one group before or after the other buttons"},
	{RuleURLButtonCount, SeverityError, "at most 2 URL buttons"},
	{RulePhoneButtonCount, SeverityError, "at most 1 phone-number button"},
	{RuleCopyCodeCount, SeverityError, "at most 1 copy-code button"},
	{RuleButtonTypeUnknown, SeverityError, "button type is QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE or OTP"},
	{RuleButtonLabelRequired, SeverityError, "a button has a label"},
	{RuleButtonLabelLength, SeverityError, "a button label is at most 25 characters"},
	{RuleURLRequired, SeverityError, "a URL button has a URL"},
	{RuleURLInvalid, SeverityError, "a button URL is an http(s) address with a domain and no spaces"},
	{RuleURLVariablePosition, SeverityError, "a button URL has at most one variable, at the very end"},
	{RuleURLFixedDomain, SeverityError, "a button URL's domain is fixed: the variable comes after the first /"},
	{RuleURLLength, SeverityError, "a button URL is at most 2,000 characters"},
	{RulePhoneFormat, SeverityError, "a phone button number is E.164: + and the country code, then digits only (+6281234567890, not 081234567890 or 6281234567890), a valid number for that country"},
	{RuleCopyCodeExample, SeverityError, "a copy-code button has a sample code of at most 15 characters"},
	{RuleCopyCodeCategory, SeverityError, "a copy-code (coupon) button belongs to a MARKETING template"},
	{RuleAuthShape, SeverityError, "an AUTHENTICATION template is the preset: no header, no body or footer text, exactly one OTP button"},
	{RuleAuthNoURL, SeverityError, "an AUTHENTICATION template has no URL buttons"},
	{RuleAuthNoMedia, SeverityError, "an AUTHENTICATION template has no media or location header"},
	{RuleAuthNoEmoji, SeverityError, "an AUTHENTICATION template has no emoji"},
	{RuleAuthCodeExpiration, SeverityError, "code_expiration_minutes is 1-90"},
	{RuleAuthOTPType, SeverityError, "an OTP button is COPY_CODE, ONE_TAP or ZERO_TAP; one-tap and zero-tap name their apps; zero-tap accepts the terms"},
	{RuleAuthOnlyField, SeverityError, "OTP buttons, add_security_recommendation and code_expiration_minutes belong to AUTHENTICATION templates only"},
}

var ruleSeverity = func() map[string]Severity {
	m := make(map[string]Severity, len(Rules))
	for _, r := range Rules {
		m[r.ID] = r.Severity
	}
	return m
}()

// HasErrors reports whether any violation blocks submission.
func HasErrors(vs []Violation) bool {
	for _, v := range vs {
		if v.Severity == SeverityError {
			return true
		}
	}
	return false
}

// linter collects violations in check order, which makes Lint deterministic.
type linter struct {
	t  Template
	vs []Violation
}

func (l *linter) add(rule, component, text, format string, args ...any) {
	l.vs = append(l.vs, Violation{
		Rule:      rule,
		Severity:  ruleSeverity[rule],
		Component: component,
		Message:   fmt.Sprintf(format, args...),
		Text:      excerpt(text),
	})
}

// Lint predicts Meta's review of t. Violations come in a fixed order: template
// fields, header, body, footer, buttons. It is meant for submissions: a template
// read back from Meta (whose OTP button comes back as URL and whose authentication
// body text is filled in) will show authentication violations.
func Lint(t Template) []Violation {
	l := &linter{t: t}
	l.lintTemplate()
	l.lintHeader()
	l.lintBody()
	l.lintFooter()
	l.lintButtons()
	return l.vs
}

func (l *linter) lintTemplate() {
	t := l.t
	if n := utf8.RuneCountInString(t.Name); n == 0 {
		l.add(RuleNameLength, "name", t.Name, "name is empty; give the template a name such as order_update")
	} else if n > MaxNameLen {
		l.add(RuleNameLength, "name", t.Name, "name is %d characters; shorten it to at most %d", n, MaxNameLen)
	}
	if bad := firstBadNameRune(t.Name); bad != "" {
		l.add(RuleNameCharset, "name", t.Name, "name contains %q; use only lower-case letters a-z, digits and underscores", bad)
	}
	if !templateLanguages[t.Language] {
		hint := "use one such as id, en, en_US or ms"
		if s := languageSuggestion(t.Language); len(s) > 0 {
			hint = "use " + strings.Join(s, " or ")
		}
		l.add(RuleLanguageCode, "language", t.Language, "language %q is not one WhatsApp templates support; %s", t.Language, hint)
	}
	if !t.Category.valid() {
		l.add(RuleCategoryUnknown, "category", string(t.Category), "category %q is unknown; use MARKETING, UTILITY or AUTHENTICATION", t.Category)
	}
	if !t.ParameterFormat.valid() {
		l.add(RuleParameterFormatUnknown, "parameter_format", string(t.ParameterFormat), "parameter_format %q is unknown; use POSITIONAL or NAMED", t.ParameterFormat)
	}
	if ttl := t.MessageSendTTLSeconds; ttl != 0 {
		lo, hi := 0, 0
		switch t.Category {
		case CategoryAuthentication:
			lo, hi = MinAuthTTL, MaxAuthTTL
		case CategoryUtility:
			lo, hi = MinUtilityTTL, MaxUtilityTTL
		case CategoryMarketing:
			lo, hi = MinMarketingTTL, MaxMarketingTTL
		}
		if hi > 0 && (ttl < lo || ttl > hi) {
			l.add(RuleSendTTLRange, "template", fmt.Sprint(ttl), "message_send_ttl_seconds is %d; for %s use %d-%d seconds or leave it unset", ttl, t.Category, lo, hi)
		}
	}
}

func firstBadNameRune(name string) string {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return string(r)
		}
	}
	return ""
}

func (l *linter) lintHeader() {
	h := l.t.Header
	if h == nil {
		return
	}
	auth := l.t.Category == CategoryAuthentication
	const c = "header"
	if !h.Format.valid() {
		l.add(RuleHeaderFormatUnknown, c, string(h.Format), "header format %q is unknown; use TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION", h.Format)
		return
	}
	if auth {
		if h.Format == HeaderText {
			l.add(RuleAuthShape, c, h.Text, "authentication templates have no header; remove it")
		} else {
			l.add(RuleAuthNoMedia, c, string(h.Format), "authentication templates cannot have a %s header; remove it", h.Format)
		}
		return
	}
	if h.Format.IsMedia() {
		if h.MediaHandle == "" {
			l.add(RuleMediaSampleMissing, c, string(h.Format), "the %s header needs a sample: upload one and set its handle", h.Format)
		}
		if max := maxSampleBytes(h.Format); h.MediaSize > max {
			l.add(RuleMediaSampleSize, c, fmt.Sprintf("%d bytes", h.MediaSize), "the %s sample is %s; use one of at most %s", h.Format, humanBytes(h.MediaSize), humanBytes(max))
		}
		return
	}
	if h.Format != HeaderText {
		return
	}
	if strings.TrimSpace(h.Text) == "" {
		l.add(RuleHeaderTextRequired, c, h.Text, "the TEXT header is empty; write a header or remove it")
		return
	}
	if n := utf8.RuneCountInString(h.Text); n > MaxHeaderTextLen {
		l.add(RuleHeaderLength, c, tail(h.Text, MaxHeaderTextLen), "header is %d characters; shorten it to at most %d", n, MaxHeaderTextLen)
	}
	vars := l.checkSyntax(c, h.Text)
	if len(vars) > 1 {
		l.add(RuleHeaderVariableCount, c, vars[1].raw, "the header has %d variables; it can have at most one", len(vars))
	}
	if len(vars) > 0 && !l.t.ParameterFormat.Named() && vars[0].num != 1 {
		l.add(RuleVariableSequence, c, vars[0].raw, "the header's variable is %s; number it {{1}}", vars[0].raw)
	}
	if strings.ContainsAny(h.Text, "\r\n") {
		l.add(RuleHeaderFormatting, c, h.Text, "the header has a line break; keep it on one line")
	}
	if e := firstEmoji(h.Text); e != "" {
		l.add(RuleHeaderFormatting, c, e, "the header has an emoji; remove it (emoji are allowed in the body)")
	}
	if i := strings.IndexAny(stripVars(h.Text), "*~`"); i >= 0 {
		l.add(RuleHeaderFormatting, c, h.Text, "the header has the formatting character %q; remove it", stripVars(h.Text)[i])
	}
	if len(vars) > 0 {
		l.checkExamples(c, vars, h.Examples, h.NamedExamples)
	}
	l.checkSpacing(c, h.Text, false)
	l.checkLinks(c, h.Text)
	l.checkPromotional(c, h.Text)
}

func maxSampleBytes(f HeaderFormat) int64 {
	switch f {
	case HeaderImage:
		return MaxImageSampleBytes
	case HeaderVideo:
		return MaxVideoSampleBytes
	}
	return MaxDocumentSampleBytes
}

func humanBytes(n int64) string {
	const mb = 1 << 20
	if n%mb == 0 {
		return fmt.Sprintf("%d MB", n/mb)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/mb)
}
