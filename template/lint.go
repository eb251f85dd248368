package template

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
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
	WordsPerVariable       = 3  // variable density: words+variables >= 3n+1
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
	{RuleLanguageCode, SeverityError, "language is a code such as id, en or en_US"},
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
	{RuleVariableAtEdge, SeverityError, "the body does not start or end with a variable (trailing punctuation does not count as text)"},
	{RuleVariablesAdjacent, SeverityError, "two variables are separated by at least one word, not only spaces or punctuation"},
	{RuleVariableDensity, SeverityError, "not too many variables for the length: words plus variables are at least 3 per variable plus 1 (a heuristic matching Meta's 'too many variables for its length' rejections)"},
	{RuleVariableExampleMissing, SeverityError, "every variable has a sample value"},
	{RuleVariableExampleUnused, SeverityError, "every sample value belongs to a variable in the text"},
	{RuleLeadingSpace, SeverityError, "no line starts with a space or tab"},
	{RuleDoubleSpace, SeverityError, "no two spaces in a row"},
	{RuleConsecutiveNewlines, SeverityError, "no more than one line break in a row (no blank lines)"},
	{RuleTooManyEmoji, SeverityError, "the body has at most 5 emoji (a flag, a family or a skin-toned emoji is one)"},
	{RuleShortenedLink, SeverityError, "no shortened links (bit.ly, linktr.ee, s.id, tinyurl ...): use the full domain"},
	{RulePromotionalInUtility, SeverityWarning, "a UTILITY template has no promotional words (diskon, promo, gratis, free, sale ...); Meta would re-categorise it as MARKETING"},
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
	{RulePhoneFormat, SeverityError, "a phone button number starts with the country code (62812..., not 0812...), 8-15 digits, at most 20 characters"},
	{RuleCopyCodeExample, SeverityError, "a copy-code button has a sample code of at most 15 characters"},
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

var languageCode = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2,3})?$`)

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
	if !languageCode.MatchString(t.Language) {
		l.add(RuleLanguageCode, "language", t.Language, "language %q is not a language code; use one such as id, en or en_US", t.Language)
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

func (l *linter) lintBody() {
	t := l.t
	const c = "body"
	if t.Category == CategoryAuthentication {
		if t.Body.Text != "" {
			l.add(RuleAuthShape, c, t.Body.Text, "authentication body text is preset by WhatsApp; remove the text and use add_security_recommendation")
		}
		if e := firstEmoji(t.Body.Text); e != "" {
			l.add(RuleAuthNoEmoji, c, e, "authentication templates cannot have emoji; remove it")
		}
		return
	}
	if t.AddSecurityRecommendation {
		l.add(RuleAuthOnlyField, c, "add_security_recommendation", "add_security_recommendation applies to AUTHENTICATION templates only; remove it")
	}
	text := t.Body.Text
	if strings.TrimSpace(text) == "" {
		l.add(RuleBodyRequired, c, text, "the body is empty; write the message text")
		return
	}
	if n := utf8.RuneCountInString(text); n > MaxBodyLen {
		l.add(RuleBodyLength, c, tail(text, MaxBodyLen), "body is %d characters; shorten it to at most %d", n, MaxBodyLen)
	}
	vars := l.checkSyntax(c, text)
	l.checkSequence(c, vars)
	l.checkDuplicates(c, vars)
	l.checkEdges(c, text, vars)
	l.checkAdjacent(c, text, vars)
	l.checkDensity(c, text, vars)
	l.checkExamples(c, vars, t.Body.Examples, t.Body.NamedExamples)
	l.checkSpacing(c, text, true)
	if n := countEmoji(text); n > MaxEmoji {
		l.add(RuleTooManyEmoji, c, nthEmoji(text, MaxEmoji+1), "the body has %d emoji; use at most %d", n, MaxEmoji)
	}
	l.checkLinks(c, text)
	l.checkPromotional(c, text)
}

func (l *linter) lintFooter() {
	t := l.t
	const c = "footer"
	if t.CodeExpirationMinutes != 0 {
		if t.Category != CategoryAuthentication {
			l.add(RuleAuthOnlyField, c, fmt.Sprint(t.CodeExpirationMinutes), "code_expiration_minutes applies to AUTHENTICATION templates only; remove it")
		} else if t.CodeExpirationMinutes < MinCodeExpiration || t.CodeExpirationMinutes > MaxCodeExpiration {
			l.add(RuleAuthCodeExpiration, c, fmt.Sprint(t.CodeExpirationMinutes), "code_expiration_minutes is %d; use %d-%d", t.CodeExpirationMinutes, MinCodeExpiration, MaxCodeExpiration)
		}
	}
	if t.Footer == nil || t.Footer.Text == "" {
		return
	}
	text := t.Footer.Text
	if t.Category == CategoryAuthentication {
		l.add(RuleAuthShape, c, text, "authentication footer text is preset by WhatsApp; remove the text and use code_expiration_minutes")
		if e := firstEmoji(text); e != "" {
			l.add(RuleAuthNoEmoji, c, e, "authentication templates cannot have emoji; remove it")
		}
		return
	}
	if n := utf8.RuneCountInString(text); n > MaxFooterLen {
		l.add(RuleFooterLength, c, tail(text, MaxFooterLen), "footer is %d characters; shorten it to at most %d", n, MaxFooterLen)
	}
	if hasPlaceholder(text) {
		l.add(RuleFooterVariable, c, text, "the footer has a variable; footers are fixed text, move it to the body")
	}
	if strings.ContainsAny(text, "\r\n") {
		l.add(RuleFooterFormatting, c, text, "the footer has a line break; keep it on one line")
	}
	if e := firstEmoji(text); e != "" {
		l.add(RuleFooterFormatting, c, e, "the footer has an emoji; remove it")
	}
	l.checkSpacing(c, text, false)
	l.checkLinks(c, text)
	l.checkPromotional(c, text)
}

// checkSyntax reports malformed variables and variables of the other format, and
// returns the usable ones.
func (l *linter) checkSyntax(c, text string) []variable {
	named := l.t.ParameterFormat.Named()
	all := scanVars(text)
	good := make([]variable, 0, len(all))
	for _, v := range all {
		switch {
		case !v.ok:
			l.add(RuleVariableSyntax, c, v.raw, "%s is not a variable; write {{1}} or, with parameter_format NAMED, {{first_name}} (lower case, no spaces)", v.raw)
		case named && v.num > 0:
			l.add(RuleVariableSyntax, c, v.raw, "the template uses named variables but %s is numbered; name it, e.g. {{order_id}}", v.raw)
		case !named && v.num == 0:
			l.add(RuleVariableSyntax, c, v.raw, "the template uses numbered variables but %s is named; write {{1}}, {{2}} ... or set parameter_format to NAMED", v.raw)
		default:
			good = append(good, v)
		}
	}
	return good
}

// checkSequence wants positional variables to be exactly {{1}}..{{n}} and to first
// appear in that order (Qontak: out-of-order variables are rejected).
func (l *linter) checkSequence(c string, vars []variable) {
	if l.t.ParameterFormat.Named() || len(vars) == 0 {
		return
	}
	var order []variable
	seen := map[int]bool{}
	for _, v := range vars {
		if !seen[v.num] {
			seen[v.num] = true
			order = append(order, v)
		}
	}
	n := len(order)
	for _, v := range order {
		if v.num > n {
			missing := 1
			for seen[missing] {
				missing++
			}
			l.add(RuleVariableSequence, c, v.raw, "variables are numbered from {{1}} with no gaps, but {{%d}} is missing; renumber %s", missing, v.raw)
			return
		}
	}
	for i, v := range order {
		if v.num != i+1 {
			l.add(RuleVariableSequence, c, v.raw, "variables appear in order, but %s comes before {{%d}}; renumber them in order of use", v.raw, i+1)
			return
		}
	}
}

func (l *linter) checkDuplicates(c string, vars []variable) {
	seen := map[string]int{}
	for _, v := range vars {
		seen[v.name]++
		if seen[v.name] == 2 {
			l.add(RuleVariableDuplicate, c, v.raw, "%s appears more than once; use a new variable for each place", v.raw)
		}
	}
}

// isEdgeFiller is what does not count as text at the edges of a body: Meta treats
// "... on {{1}}." as ending with a variable. Braces are punctuation to Unicode but
// are the variable itself here.
func isEdgeFiller(r rune) bool {
	return r != '{' && r != '}' && (unicode.IsSpace(r) || unicode.IsPunct(r))
}

func (l *linter) checkEdges(c, text string, vars []variable) {
	if len(vars) == 0 {
		return
	}
	first := strings.IndexFunc(text, func(r rune) bool { return !isEdgeFiller(r) })
	last := strings.LastIndexFunc(text, func(r rune) bool { return !isEdgeFiller(r) })
	if first >= 0 && vars[0].start == first {
		l.add(RuleVariableAtEdge, c, vars[0].raw, "the body starts with %s; put some words before it", vars[0].raw)
	}
	if lv := vars[len(vars)-1]; last >= 0 && lv.end == last+1 {
		l.add(RuleVariableAtEdge, c, lv.raw, "the body ends with %s; put some words after it (punctuation is not enough)", lv.raw)
	}
}

func hasWordChar(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

func (l *linter) checkAdjacent(c, text string, vars []variable) {
	for i := 1; i < len(vars); i++ {
		a, b := vars[i-1], vars[i]
		if !hasWordChar(text[a.end:b.start]) {
			l.add(RuleVariablesAdjacent, c, text[a.start:b.end], "%s and %s are next to each other; put at least one word between them", a.raw, b.raw)
		}
	}
}

// checkDensity applies the published rule of thumb for Meta's "too many variables
// for its length": words plus variables must reach 3n+1 for n variables.
func (l *linter) checkDensity(c, text string, vars []variable) {
	n := len(vars)
	if n == 0 {
		return
	}
	words := 0
	for f := range strings.FieldsSeq(stripVars(text)) {
		if hasWordChar(f) {
			words++
		}
	}
	if need := WordsPerVariable*n + 1; words+n < need {
		l.add(RuleVariableDensity, c, text, "%d variables need at least %d words plus variables, the body has %d; add %d words or remove variables", n, need, words+n, need-words-n)
	}
}

// stripVars replaces every placeholder with a space so that the fixed text can be
// examined on its own.
func stripVars(s string) string {
	vars := scanVars(s)
	if len(vars) == 0 {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, v := range vars {
		b.WriteString(s[prev:v.start])
		b.WriteByte(' ')
		prev = v.end
	}
	b.WriteString(s[prev:])
	return b.String()
}

func (l *linter) checkExamples(c string, vars []variable, examples []string, named []NamedExample) {
	if l.t.ParameterFormat.Named() {
		have := make(map[string]bool, len(named))
		for _, e := range named {
			if strings.TrimSpace(e.Example) != "" {
				have[e.Name] = true
			}
		}
		used := map[string]bool{}
		for _, v := range vars {
			if used[v.name] {
				continue
			}
			used[v.name] = true
			if !have[v.name] {
				l.add(RuleVariableExampleMissing, c, v.raw, "%s has no sample value; add one for the review", v.raw)
			}
		}
		for _, e := range named {
			if !used[e.Name] {
				l.add(RuleVariableExampleUnused, c, e.Name, "the sample for %q belongs to no variable in the %s; remove it or use {{%s}}", e.Name, c, e.Name)
			}
		}
		return
	}
	max := 0
	reported := map[int]bool{}
	for _, v := range vars {
		if v.num > max {
			max = v.num
		}
		if reported[v.num] {
			continue
		}
		reported[v.num] = true
		if v.num > len(examples) || strings.TrimSpace(examples[v.num-1]) == "" {
			l.add(RuleVariableExampleMissing, c, v.raw, "%s has no sample value; add one for the review", v.raw)
		}
	}
	if len(examples) > max {
		l.add(RuleVariableExampleUnused, c, examples[max], "%d sample values for %d variables; remove the extra ones", len(examples), max)
	}
}

// checkSpacing finds a line starting with a space, two spaces in a row and, where
// multiline text is allowed, blank lines.
func (l *linter) checkSpacing(c, text string, multiline bool) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	for _, line := range lines {
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			l.add(RuleLeadingSpace, c, line, "a line starts with a space; remove the space at the start of the line")
			break
		}
	}
	if i := strings.Index(text, "  "); i >= 0 {
		l.add(RuleDoubleSpace, c, window(text, i, i+2), "two spaces in a row; use a single space")
	}
	if multiline {
		if i := strings.Index(text, "\n\n"); i >= 0 {
			l.add(RuleConsecutiveNewlines, c, window(text, i, i+2), "more than one line break in a row; remove the blank line")
		}
	}
}

// shorteners are link-shortening domains reviewers reject: the destination must be
// visible.
var shorteners = []string{
	"bit.ly", "bitly.com", "tinyurl.com", "s.id", "linktr.ee", "t.co", "goo.gl", "ow.ly",
	"is.gd", "cutt.ly", "rb.gy", "shorturl.at", "rebrand.ly", "buff.ly", "tiny.cc", "t.ly",
	"v.gd", "lnkd.in", "shorte.st", "adf.ly", "bl.ink", "short.io", "lnk.bio", "tr.ee",
}

// shortenedHost returns the host of a link-like token when it is a shortener.
func shortenedHost(tok string) string {
	tok = strings.ToLower(tok)
	tok = strings.TrimLeft(tok, "([<\"'")
	if i := strings.Index(tok, "://"); i >= 0 {
		tok = tok[i+3:]
	}
	tok = strings.TrimPrefix(tok, "www.")
	if i := strings.IndexAny(tok, "/?#"); i >= 0 {
		tok = tok[:i]
	}
	tok = strings.TrimRight(tok, ".,;:!)]>\"'")
	if strings.Contains(tok, "linktree") {
		return tok
	}
	for _, s := range shorteners {
		if strings.HasSuffix(tok, s) && (len(tok) == len(s) || tok[len(tok)-len(s)-1] == '.') {
			return tok
		}
	}
	return ""
}

func (l *linter) checkLinks(c, text string) {
	for f := range strings.FieldsSeq(text) {
		if !strings.Contains(f, ".") {
			continue
		}
		if h := shortenedHost(f); h != "" {
			l.add(RuleShortenedLink, c, f, "%s is a shortened link; use the full address of your own domain", h)
			return
		}
	}
}

// promoTerms are Indonesian and English selling words. In a UTILITY template they
// make Meta re-categorise it as MARKETING; Qontak advises moving them into a variable.
var promoTerms = []string{
	"diskon", "promo", "promosi", "gratis", "cashback", "beli sekarang", "belanja sekarang",
	"pesan sekarang", "penawaran terbatas", "penawaran spesial", "potongan harga",
	"harga spesial", "hemat", "obral", "flash sale", "sale", "voucher", "kupon", "bonus",
	"discount", "free", "buy now", "shop now", "order now", "limited offer",
	"limited time", "special offer", "exclusive offer", "deal", "deals", "coupon",
	"best price", "clearance",
}

type promoMatch struct {
	pos  int
	term string
}

// findPromo returns the promotional terms in text, in text order, each once.
func findPromo(text string) []string {
	lower := strings.ToLower(text)
	var ms []promoMatch
	for _, term := range promoTerms {
		for from := 0; from < len(lower); {
			i := strings.Index(lower[from:], term)
			if i < 0 {
				break
			}
			i += from
			end := i + len(term)
			if wordBoundary(lower, i, end) {
				ms = append(ms, promoMatch{i, term})
				break
			}
			from = end
		}
	}
	sort.SliceStable(ms, func(a, b int) bool {
		if ms[a].pos != ms[b].pos {
			return ms[a].pos < ms[b].pos
		}
		return len(ms[a].term) > len(ms[b].term)
	})
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.term)
	}
	return out
}

func wordBoundary(s string, i, j int) bool {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	if j < len(s) {
		r, _ := utf8.DecodeRuneInString(s[j:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

func (l *linter) checkPromotional(c, text string) {
	if l.t.Category != CategoryUtility {
		return
	}
	terms := findPromo(text)
	if len(terms) == 0 {
		return
	}
	l.add(RulePromotionalInUtility, c, terms[0], "promotional wording (%s) in a UTILITY template; Meta will likely re-categorise it as MARKETING: submit it as MARKETING or move the offer into a variable", strings.Join(terms, ", "))
}

func (l *linter) lintButtons() {
	t := l.t
	bs := t.Buttons
	if len(bs) == 0 {
		if t.Category == CategoryAuthentication {
			l.add(RuleAuthShape, "buttons", "", "authentication templates need one OTP button (COPY_CODE, ONE_TAP or ZERO_TAP)")
		}
		return
	}
	auth := t.Category == CategoryAuthentication
	const c = "buttons"
	var nURL, nPhone, nCopy, nOTP int
	for _, b := range bs {
		switch b.Type {
		case ButtonURL:
			nURL++
		case ButtonPhoneNumber:
			nPhone++
		case ButtonCopyCode:
			nCopy++
		case ButtonOTP:
			nOTP++
		}
	}
	if len(bs) > MaxButtons {
		l.add(RuleButtonCount, c, fmt.Sprint(len(bs)), "%d buttons; use at most %d", len(bs), MaxButtons)
	}
	if !auth && len(bs) > MaxVisibleButtons {
		l.add(RuleButtonsCollapsed, c, fmt.Sprint(len(bs)), "%d buttons: WhatsApp shows 2 and puts the rest behind \"See all options\"; put the important ones first", len(bs))
	}
	if i := quickReplyOutOfGroup(bs); i >= 0 {
		l.add(RuleQuickReplyGrouping, c, bs[i].Text, "quick replies must be one group before or after the other buttons; move %q next to the other quick replies", bs[i].Text)
	}
	if nURL > MaxURLButtons {
		l.add(RuleURLButtonCount, c, fmt.Sprint(nURL), "%d URL buttons; use at most %d", nURL, MaxURLButtons)
	}
	if nPhone > MaxPhoneButtons {
		l.add(RulePhoneButtonCount, c, fmt.Sprint(nPhone), "%d phone buttons; use at most %d", nPhone, MaxPhoneButtons)
	}
	if nCopy > MaxCopyCodeButtons {
		l.add(RuleCopyCodeCount, c, fmt.Sprint(nCopy), "%d copy-code buttons; use at most %d", nCopy, MaxCopyCodeButtons)
	}
	if auth && nOTP != 1 {
		l.add(RuleAuthShape, c, fmt.Sprint(nOTP), "authentication templates have exactly one OTP button, this one has %d", nOTP)
	}
	for i, b := range bs {
		l.lintButton(fmt.Sprintf("buttons[%d]", i), b)
	}
}

// quickReplyOutOfGroup returns the index of the first quick reply that is not part of
// one contiguous group touching the start or the end, or -1.
func quickReplyOutOfGroup(bs []Button) int {
	first, last, count := -1, -1, 0
	for i, b := range bs {
		if b.Type == ButtonQuickReply {
			if first < 0 {
				first = i
			}
			last = i
			count++
		}
	}
	if count == 0 || count == len(bs) {
		return -1
	}
	contiguous := last-first+1 == count
	if contiguous && (first == 0 || last == len(bs)-1) {
		return -1
	}
	if !contiguous {
		// The first quick reply after a gap is the one to move.
		for i := first + 1; i <= last; i++ {
			if bs[i].Type == ButtonQuickReply && bs[i-1].Type != ButtonQuickReply {
				return i
			}
		}
	}
	return first
}

func (l *linter) lintButton(c string, b Button) {
	auth := l.t.Category == CategoryAuthentication
	if !b.Type.valid() {
		l.add(RuleButtonTypeUnknown, c, string(b.Type), "button type %q is unknown; use QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE or OTP", b.Type)
		return
	}
	if auth {
		switch b.Type {
		case ButtonOTP:
		case ButtonURL:
			l.add(RuleAuthNoURL, c, b.URL, "authentication templates cannot have URL buttons; remove it")
			return
		default:
			l.add(RuleAuthShape, c, b.Text, "authentication templates have only an OTP button; remove this %s button", b.Type)
			return
		}
	} else if b.Type == ButtonOTP {
		l.add(RuleAuthOnlyField, c, b.Text, "OTP buttons belong to AUTHENTICATION templates; use COPY_CODE or URL instead")
		return
	}
	label := b.Text
	switch {
	case label == "" && b.Type != ButtonOTP && b.Type != ButtonCopyCode:
		l.add(RuleButtonLabelRequired, c, "", "the %s button has no label; add one", b.Type)
	case utf8.RuneCountInString(label) > MaxButtonLabelLen:
		l.add(RuleButtonLabelLength, c, label, "the label is %d characters; shorten it to at most %d", utf8.RuneCountInString(label), MaxButtonLabelLen)
	}
	if auth {
		if e := firstEmoji(label); e != "" {
			l.add(RuleAuthNoEmoji, c, e, "authentication templates cannot have emoji; remove it from the button label")
		}
	}
	switch b.Type {
	case ButtonQuickReply:
		l.checkPromotional(c, label)
	case ButtonURL:
		l.checkPromotional(c, label)
		l.lintURL(c, b)
	case ButtonPhoneNumber:
		l.checkPromotional(c, label)
		l.lintPhone(c, b.PhoneNumber)
	case ButtonCopyCode:
		if n := utf8.RuneCountInString(b.Example); n == 0 {
			l.add(RuleCopyCodeExample, c, "", "the copy-code button needs a sample code")
		} else if n > MaxCopyCodeLen {
			l.add(RuleCopyCodeExample, c, b.Example, "the sample code is %d characters; use at most %d", n, MaxCopyCodeLen)
		}
	case ButtonOTP:
		l.lintOTP(c, b)
	}
}

func (l *linter) lintURL(c string, b Button) {
	u := b.URL
	if u == "" {
		l.add(RuleURLRequired, c, "", "the URL button has no URL; add one such as https://example.co.id/track/{{1}}")
		return
	}
	if n := utf8.RuneCountInString(u); n > MaxURLLen {
		l.add(RuleURLLength, c, tail(u, MaxURLLen), "the URL is %d characters; shorten it to at most %d", n, MaxURLLen)
	}
	lower := strings.ToLower(u)
	rest := ""
	switch {
	case strings.HasPrefix(lower, "https://"):
		rest = u[len("https://"):]
	case strings.HasPrefix(lower, "http://"):
		rest = u[len("http://"):]
	}
	hostEnd := strings.IndexAny(rest, "/?#")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	host := rest[:hostEnd]
	if rest == "" || strings.ContainsAny(u, " \t\r\n") || !strings.Contains(stripVars(host), ".") {
		l.add(RuleURLInvalid, c, u, "%q is not a web address; write it as https://your-domain/path", u)
	}
	vars := l.checkSyntaxURL(c, u)
	if len(vars) > 0 {
		last := vars[len(vars)-1]
		if len(vars) > 1 || last.end != len(u) {
			l.add(RuleURLVariablePosition, c, u, "a URL can have one variable and only at its very end; remove the text after %s", last.raw)
		}
		offset := len(u) - len(rest)
		if rest == "" || vars[0].start < offset+hostEnd || hostEnd == len(rest) {
			l.add(RuleURLFixedDomain, c, u, "the domain must be fixed: put the variable after the first /, e.g. https://example.co.id/%s", vars[0].raw)
		}
		if strings.TrimSpace(b.Example) == "" {
			l.add(RuleVariableExampleMissing, c, vars[0].raw, "the URL's %s has no sample value; add one for the review", vars[0].raw)
		}
	}
	if h := shortenedHost(u); h != "" {
		l.add(RuleShortenedLink, c, u, "%s is a shortened link; use the full address of your own domain", h)
	}
}

// checkSyntaxURL reports malformed URL variables. URL buttons take {{1}} in either
// parameter format, so named-versus-numbered is not checked here.
func (l *linter) checkSyntaxURL(c, u string) []variable {
	all := scanVars(u)
	good := make([]variable, 0, len(all))
	for _, v := range all {
		if !v.ok {
			l.add(RuleVariableSyntax, c, v.raw, "%s is not a variable; write {{1}}", v.raw)
			continue
		}
		good = append(good, v)
	}
	return good
}

func (l *linter) lintPhone(c, p string) {
	if p == "" {
		l.add(RulePhoneFormat, c, "", "the phone button has no number; add one with the country code, e.g. 6281234567890")
		return
	}
	if n := utf8.RuneCountInString(p); n > MaxPhoneLen {
		l.add(RulePhoneFormat, c, p, "the number is %d characters; use at most %d", n, MaxPhoneLen)
		return
	}
	digits := strings.TrimPrefix(p, "+")
	for _, r := range digits {
		if r < '0' || r > '9' {
			l.add(RulePhoneFormat, c, p, "the number has %q; write digits only, with the country code, e.g. 6281234567890", string(r))
			return
		}
	}
	if strings.HasPrefix(digits, "0") {
		l.add(RulePhoneFormat, c, p, "the number starts with 0; start with the country code instead (62%s)", strings.TrimLeft(digits, "0"))
		return
	}
	if n := len(digits); n < MinPhoneDigits || n > MaxPhoneDigits {
		l.add(RulePhoneFormat, c, p, "the number has %d digits; a full number with country code has %d-%d", n, MinPhoneDigits, MaxPhoneDigits)
	}
}

func (l *linter) lintOTP(c string, b Button) {
	if !b.OTPType.valid() {
		l.add(RuleAuthOTPType, c, string(b.OTPType), "otp_type %q is unknown; use COPY_CODE, ONE_TAP or ZERO_TAP", b.OTPType)
		return
	}
	if b.OTPType == OTPCopyCode {
		return
	}
	if len(b.SupportedApps) == 0 {
		l.add(RuleAuthOTPType, c, string(b.OTPType), "a %s button names the Android apps that receive the code: add supported_apps", b.OTPType)
	}
	for _, a := range b.SupportedApps {
		if a.PackageName == "" || a.SignatureHash == "" {
			l.add(RuleAuthOTPType, c, a.PackageName, "each supported app needs a package_name and a signature_hash")
			break
		}
	}
	if b.OTPType == OTPZeroTap && !b.ZeroTapTermsAccepted {
		l.add(RuleAuthOTPType, c, string(b.OTPType), "a ZERO_TAP button requires zero_tap_terms_accepted: true")
	}
}

// excerpt shortens quoted text to maxExcerpt runes.
func excerpt(s string) string {
	if utf8.RuneCountInString(s) <= maxExcerpt {
		return s
	}
	n := 0
	for i := range s {
		if n == maxExcerpt-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// tail returns the part of s after its first n runes: the text past a limit.
func tail(s string, n int) string {
	k := 0
	for i := range s {
		if k == n {
			return s[i:]
		}
		k++
	}
	return ""
}

// window returns the text around s[i:j], up to a line's worth each side.
func window(s string, i, j int) string {
	const side = 20
	a, b := i-side, j+side
	if a < 0 {
		a = 0
	}
	if b > len(s) {
		b = len(s)
	}
	for a > 0 && !utf8.RuneStart(s[a]) {
		a--
	}
	for b < len(s) && !utf8.RuneStart(s[b]) {
		b++
	}
	return s[a:b]
}
