package template

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

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

// checkEdges refuses a body that starts or ends with a variable: Meta's creation
// call answers 2388299 for it (whatsapp-cloud-api.md §2) and BSPs (Twilio, Maqsam,
// Broadly) list it among the usual rejections. The check is literal: only white
// space around a variable does not count as text. "{{1}}, pesanan Anda ..." starts
// with a variable and is refused. "... pesanan {{1}}." ends with a full stop, not a
// variable, and is not refused: the one guide that counts trailing punctuation as
// part of the variable (Maqsam's) says so of templates submitted without sample
// values, Twilio documents that a sample lifts the objection, and Kirim never submits
// a variable without its sample (variable_example_missing); BSPs' own example bodies
// end that way (Exotel: "Estimated delivery: {{3}}."). Formatting around a variable
// ("*{{1}}*") is text too, by the same literal reading.
func (l *linter) checkEdges(c, text string, vars []variable) {
	if len(vars) == 0 {
		return
	}
	first := strings.IndexFunc(text, func(r rune) bool { return !unicode.IsSpace(r) })
	last := strings.LastIndexFunc(text, func(r rune) bool { return !unicode.IsSpace(r) })
	if first >= 0 && vars[0].start == first {
		l.add(RuleVariableAtEdge, c, vars[0].raw, "the body starts with %s; put some words before it, e.g. \"Halo %s,\"", vars[0].raw, vars[0].raw)
	}
	if lv := vars[len(vars)-1]; last >= 0 && lv.end == last+1 {
		l.add(RuleVariableAtEdge, c, lv.raw, "the body ends with %s; end the sentence after it, e.g. \"%s.\" or \"%s, terima kasih.\"", lv.raw, lv.raw, lv.raw)
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

// checkDensity applies the threshold behind Meta's "too many variables for its
// length" (2388293). Meta publishes no figure; Syniverse and Mercuri found that words
// plus variables must reach 3n+1 for n variables, and Maqsam states the same as 2n+1
// words of fixed text. That figure is kept. What is counted is tuned to their
// definition of a word, "characters separated by a space", so realistic templates are
// not refused for how they are written: an emoji, "Rp" or a bullet word such as "No."
// counts, and so does the fixed part of a token glued to a variable ("INV-{{1}}",
// "Rp{{2}}"); only a token of bare punctuation ("-", "•", ":") does not.
// "Halo {{1}}, pesanan {{2}} dikirim." (3 words, 2 variables) stays refused.
func (l *linter) checkDensity(c, text string, vars []variable) {
	n := len(vars)
	if n == 0 {
		return
	}
	words := 0
	for f := range strings.FieldsSeq(stripVars(text)) {
		if !onlyPunct(f) {
			words++
		}
	}
	if need := WordsPerVariable*n + 1; words+n < need {
		l.add(RuleVariableDensity, c, text, "%d variables need at least %d words plus variables, the body has %d; add %d words or remove variables", n, need, words+n, need-words-n)
	}
}

func onlyPunct(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPunct(r) }) < 0
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
	// One blank line between paragraphs is common in approved templates, so Qontak's
	// "more than one consecutive line break" is read as two blank lines (three line
	// breaks) or more.
	if multiline {
		if i := strings.Index(text, "\n\n\n"); i >= 0 {
			l.add(RuleConsecutiveNewlines, c, window(text, i, i+3), "more than one blank line in a row; keep at most one blank line between paragraphs")
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
