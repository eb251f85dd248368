package template

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"kirim/phone"
)

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
	// Counts and order follow Meta's current limits (whatsapp-cloud-api.md §2): at most
	// 10 buttons, of which 10 quick replies, 2 URL, 1 phone and 1 copy code, and the
	// quick replies in one group before or after the others. product-rules.md records
	// Jetlink's older UI rule (buttons of different kinds one after the other, quick
	// replies alone up to three) and itself notes that Meta now allows up to 10
	// grouped; Kirim submits to Meta directly, so two URL buttons, or four quick
	// replies next to a URL button, are valid, and only an ungrouped mix is refused.
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
		// A copy-code button carries a coupon: Meta accepts it in MARKETING templates
		// only (Gupshup's button list: "UTILITY templates cannot use COPY_CODE").
		if l.t.Category != CategoryMarketing {
			l.add(RuleCopyCodeCategory, c, string(l.t.Category), "copy-code buttons belong to MARKETING templates; submit this one as MARKETING or remove the button")
		}
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

// lintPhone wants the number in E.164, "+" and the country code first. Meta dials
// the number as written: without "+" the first digits are read as a country code
// whatever the author meant, so 81234567890 (a local 0812... with the 0 dropped)
// calls Japan (+81) and 6281234567890 is only right by luck. Requiring "+" makes the
// country explicit; the number must then be valid for that country (a mobile,
// landline or 1500-xxx hotline), checked with the same rules as recipients.
func (l *linter) lintPhone(c, p string) {
	const example = "+6281234567890"
	if p == "" {
		l.add(RulePhoneFormat, c, "", "the phone button has no number; add one with + and the country code, e.g. %s", example)
		return
	}
	if n := utf8.RuneCountInString(p); n > MaxPhoneLen {
		l.add(RulePhoneFormat, c, p, "the number is %d characters; use at most %d", n, MaxPhoneLen)
		return
	}
	digits, plus := strings.CutPrefix(p, "+")
	for _, r := range digits {
		if r < '0' || r > '9' {
			l.add(RulePhoneFormat, c, p, "the number has %q; write + and digits only, e.g. %s", string(r), example)
			return
		}
	}
	switch {
	case !plus && strings.HasPrefix(digits, "0"):
		l.add(RulePhoneFormat, c, p, "the number starts with 0; write it with the country code instead (+62%s)", strings.TrimLeft(digits, "0"))
		return
	case !plus:
		l.add(RulePhoneFormat, c, p, "the number has no +: WhatsApp would read %q as a country code; write it as +%s if that is the country, else as +62...", callingCodeOf(digits), digits)
		return
	}
	if n := len(digits); n < MinPhoneDigits || n > MaxPhoneDigits {
		l.add(RulePhoneFormat, c, p, "the number has %d digits; a full number with country code has %d-%d", n, MinPhoneDigits, MaxPhoneDigits)
		return
	}
	if _, err := phone.Normalize(p, ""); err != nil {
		l.add(RulePhoneFormat, c, p, "%s is not a valid number for country code +%s; check the digits", p, callingCodeOf(digits))
	}
}

// callingCodeOf names the country code a string of digits starts with, for messages.
func callingCodeOf(digits string) string {
	if cc := phone.CallingCode("+" + digits); cc != "" && cc != "0" {
		return cc
	}
	if len(digits) > 2 {
		return digits[:2]
	}
	return digits
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
