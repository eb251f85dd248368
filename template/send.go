package template

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"kirim/provider"
)

// SendError codes. The api package maps them to 422 answers.
const (
	CodeNotApproved        = "template_not_approved"
	CodeParamCountMismatch = "param_count_mismatch"
	CodeParamInvalid       = "param_invalid"
	CodeBodyTooLong        = "body_too_long"
)

// Send-time limits.
const (
	// MaxParamSpaces: Meta refuses a parameter with more consecutive spaces (error 132018).
	MaxParamSpaces = 4
	// MaxOTPLen is the longest code an authentication template carries.
	MaxOTPLen = 15
)

// The English preset text of an authentication body. Fill uses it to preview and
// measure an authentication send; WhatsApp localises it on the phone.
const (
	authPresetCode     = "%s is your verification code."
	authPresetSecurity = " For your security, do not share this code."
)

// SendError is a send refused before it reaches the provider.
type SendError struct {
	Code string
	// Component names where the problem is: "header", "body", "buttons[0]", "template".
	Component string
	Message   string
	// Status is the template's status for CodeNotApproved.
	Status Status
}

func (e *SendError) Error() string {
	if e.Component == "" {
		return e.Code + ": " + e.Message
	}
	return e.Code + ": " + e.Component + ": " + e.Message
}

func sendErr(code, component, format string, args ...any) *SendError {
	return &SendError{Code: code, Component: component, Message: fmt.Sprintf(format, args...)}
}

func countErr(component string, want, got int) *SendError {
	return sendErr(CodeParamCountMismatch, component, "template takes %d %s, got %d", want, plural(want, "parameter"), got)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// sendParts is a send's components sorted by where they go.
type sendParts struct {
	header  *provider.TemplateComponent
	body    *provider.TemplateComponent
	buttons map[int]*provider.TemplateComponent
}

func splitComponents(t Template, p provider.Template) (sendParts, error) {
	parts := sendParts{buttons: map[int]*provider.TemplateComponent{}}
	for i := range p.Components {
		c := &p.Components[i]
		where := fmt.Sprintf("components[%d]", i)
		switch strings.ToLower(c.Type) {
		case "header":
			if parts.header != nil {
				return parts, sendErr(CodeParamInvalid, "header", "more than one header component")
			}
			parts.header = c
		case "body":
			if parts.body != nil {
				return parts, sendErr(CodeParamInvalid, "body", "more than one body component")
			}
			parts.body = c
		case "button":
			idx, err := strconv.Atoi(c.Index)
			if err != nil || idx < 0 {
				return parts, sendErr(CodeParamInvalid, where, "button index %q is not a number", c.Index)
			}
			if idx >= len(t.Buttons) {
				return parts, sendErr(CodeParamInvalid, fmt.Sprintf("buttons[%d]", idx), "the template has %d %s", len(t.Buttons), plural(len(t.Buttons), "button"))
			}
			if parts.buttons[idx] != nil {
				return parts, sendErr(CodeParamInvalid, fmt.Sprintf("buttons[%d]", idx), "more than one component for this button")
			}
			parts.buttons[idx] = c
		default:
			return parts, sendErr(CodeParamInvalid, where, "unknown component type %q (want header, body or button)", c.Type)
		}
	}
	return parts, nil
}

func paramsOf(c *provider.TemplateComponent) []provider.Parameter {
	if c == nil {
		return nil
	}
	return c.Parameters
}

// CheckSend checks a template send against the template before it is queued: the
// template is APPROVED, each component gets the parameters it takes, of the right
// kind, and the filled body fits. URL-button values must already be
// percent-encoded: CheckSend refuses rather than rewrites them, because it cannot
// tell an intended "%" from one to encode; callers encode with EncodeURLParam.
func CheckSend(t Template, p provider.Template) error {
	if t.Status != StatusApproved {
		e := sendErr(CodeNotApproved, "template", "template %s (%s) is %s; only APPROVED templates can be sent", t.Name, t.Language, statusText(t.Status))
		e.Status = t.Status
		return e
	}
	if p.Name != "" && p.Name != t.Name {
		return sendErr(CodeParamInvalid, "template", "send names template %q, checked against %q", p.Name, t.Name)
	}
	if p.Language.Code != "" && p.Language.Code != t.Language {
		return sendErr(CodeParamInvalid, "template", "send uses language %q, the template is %q", p.Language.Code, t.Language)
	}
	parts, err := splitComponents(t, p)
	if err != nil {
		return err
	}
	spec := t.Params()
	if err := checkHeader(spec.Header, paramsOf(parts.header)); err != nil {
		return err
	}
	body, err := fill(t, spec.Body, paramsOf(parts.body))
	if err != nil {
		return err
	}
	for _, bs := range spec.Buttons {
		if err := checkButton(t, bs, parts.buttons[bs.Index], paramsOf(parts.body)); err != nil {
			return err
		}
	}
	if n := utf8.RuneCountInString(body); n > MaxBodyLen {
		return sendErr(CodeBodyTooLong, "body", "filled body is %d characters, the limit is %d; shorten the parameters", n, MaxBodyLen)
	}
	return nil
}

func statusText(s Status) string {
	if s == "" {
		return "not submitted"
	}
	return string(s)
}

func checkHeader(spec HeaderSpec, ps []provider.Parameter) error {
	const c = "header"
	if spec.Kind == HeaderParamNone {
		if len(ps) > 0 {
			return countErr(c, 0, len(ps))
		}
		return nil
	}
	if len(ps) != 1 {
		return countErr(c, 1, len(ps))
	}
	p := ps[0]
	switch spec.Kind {
	case HeaderParamText:
		if spec.Name != "" && p.ParameterName != spec.Name {
			return sendErr(CodeParamInvalid, c, "parameter_name is %q, the template's variable is %q", p.ParameterName, spec.Name)
		}
		_, err := textValue(c, 1, p)
		return err
	case HeaderParamMedia:
		want := lowerFormat(spec.Format)
		if strings.ToLower(p.Type) != want {
			return sendErr(CodeParamInvalid, c, "the template has a %s header, got a %q parameter", spec.Format, p.Type)
		}
		var m *provider.Media
		switch want {
		case ParamImage:
			m = p.Image
		case ParamVideo:
			m = p.Video
		case ParamDocument:
			m = p.Document
		}
		if m == nil || m.ID == "" && m.Link == "" {
			return sendErr(CodeParamInvalid, c, "the %s parameter needs an id or a link", want)
		}
	case HeaderParamLocation:
		if strings.ToLower(p.Type) != ParamLocation || p.Location == nil {
			return sendErr(CodeParamInvalid, c, "the template has a LOCATION header, got a %q parameter", p.Type)
		}
	}
	return nil
}

// textValue is the displayed value of a text-like parameter; i is 1-based.
func textValue(component string, i int, p provider.Parameter) (string, error) {
	var v string
	switch strings.ToLower(p.Type) {
	case ParamText:
		v = p.Text
	case ParamCurrency:
		if p.Currency == nil {
			return "", sendErr(CodeParamInvalid, component, "parameter %d is a currency without a currency object", i)
		}
		v = p.Currency.FallbackValue
	case ParamDateTime:
		if p.DateTime == nil {
			return "", sendErr(CodeParamInvalid, component, "parameter %d is a date_time without a date_time object", i)
		}
		v = p.DateTime.FallbackValue
	default:
		return "", sendErr(CodeParamInvalid, component, "parameter %d has type %q; use text, currency or date_time", i, p.Type)
	}
	if strings.TrimSpace(v) == "" {
		return "", sendErr(CodeParamInvalid, component, "parameter %d is empty", i)
	}
	if strings.ContainsAny(v, "\n\r\t") {
		return "", sendErr(CodeParamInvalid, component, "parameter %d has a line break or tab; WhatsApp refuses them in parameters", i)
	}
	if strings.Contains(v, strings.Repeat(" ", MaxParamSpaces+1)) {
		return "", sendErr(CodeParamInvalid, component, "parameter %d has more than %d spaces in a row", i, MaxParamSpaces)
	}
	return v, nil
}

// Fill returns the body text with the send's parameters in place of the variables,
// for the length check and for previews. An authentication body is the English
// preset.
func Fill(t Template, p provider.Template) (string, error) {
	parts, err := splitComponents(t, p)
	if err != nil {
		return "", err
	}
	return fill(t, t.Params().Body, paramsOf(parts.body))
}

func fill(t Template, spec BodySpec, ps []provider.Parameter) (string, error) {
	const c = "body"
	if len(ps) != spec.Count {
		return "", countErr(c, spec.Count, len(ps))
	}
	values := make([]string, len(ps))
	for i, p := range ps {
		v, err := textValue(c, i+1, p)
		if err != nil {
			return "", err
		}
		values[i] = v
	}
	if t.Category == CategoryAuthentication {
		out := fmt.Sprintf(authPresetCode, values[0])
		if t.AddSecurityRecommendation {
			out += authPresetSecurity
		}
		return out, nil
	}
	named := t.ParameterFormat.Named()
	byName := map[string]string{}
	if named {
		for i, p := range ps {
			if !containsString(spec.Names, p.ParameterName) {
				return "", sendErr(CodeParamInvalid, c, "parameter %d is named %q; the template's variables are %s", i+1, p.ParameterName, strings.Join(spec.Names, ", "))
			}
			if _, dup := byName[p.ParameterName]; dup {
				return "", sendErr(CodeParamInvalid, c, "parameter %q is given twice", p.ParameterName)
			}
			byName[p.ParameterName] = values[i]
		}
	}
	text := t.Body.Text
	var b strings.Builder
	b.Grow(len(text) + 16*len(values))
	prev := 0
	for _, v := range scanVars(text) {
		if !v.ok || named != (v.num == 0) {
			continue
		}
		b.WriteString(text[prev:v.start])
		if named {
			b.WriteString(byName[v.name])
		} else {
			b.WriteString(values[v.num-1])
		}
		prev = v.end
	}
	b.WriteString(text[prev:])
	return b.String(), nil
}

func checkButton(t Template, bs ButtonSpec, comp *provider.TemplateComponent, bodyParams []provider.Parameter) error {
	c := fmt.Sprintf("buttons[%d]", bs.Index)
	ps := paramsOf(comp)
	if !bs.TakesParam {
		if len(ps) > 0 {
			return countErr(c, 0, len(ps))
		}
		return nil
	}
	if comp == nil {
		if bs.Required {
			return countErr(c, 1, 0)
		}
		return nil
	}
	if st := strings.ToLower(comp.SubType); st != "" && st != bs.SubType {
		return sendErr(CodeParamInvalid, c, "sub_type is %q, the template's %s button takes %q", comp.SubType, bs.Type, bs.SubType)
	}
	if len(ps) != 1 {
		if len(ps) == 0 && !bs.Required {
			return nil
		}
		return countErr(c, 1, len(ps))
	}
	p := ps[0]
	switch bs.SubType {
	case SubTypeQuickReply:
		if strings.ToLower(p.Type) != ParamPayload {
			return sendErr(CodeParamInvalid, c, "a quick reply takes a payload parameter, got %q", p.Type)
		}
	case SubTypeCopyCode:
		if strings.ToLower(p.Type) != ParamCouponCode || p.CouponCode == "" {
			return sendErr(CodeParamInvalid, c, "a copy-code button takes a coupon_code parameter with a code")
		}
		if n := utf8.RuneCountInString(p.CouponCode); n > MaxCopyCodeLen {
			return sendErr(CodeParamInvalid, c, "the coupon code is %d characters; at most %d", n, MaxCopyCodeLen)
		}
	case SubTypeURL:
		if strings.ToLower(p.Type) != ParamText || p.Text == "" {
			return sendErr(CodeParamInvalid, c, "a URL button takes a text parameter with the URL suffix")
		}
		if t.Category == CategoryAuthentication {
			return checkOTP(c, p.Text, bodyParams)
		}
		if enc := EncodeURLParam(p.Text); enc != p.Text {
			return sendErr(CodeParamInvalid, c, "URL parameter %q is not percent-encoded; send %q", excerpt(p.Text), excerpt(enc))
		}
	}
	return nil
}

func checkOTP(c, code string, bodyParams []provider.Parameter) error {
	if n := utf8.RuneCountInString(code); n > MaxOTPLen {
		return sendErr(CodeParamInvalid, c, "the code is %d characters; at most %d", n, MaxOTPLen)
	}
	if len(bodyParams) == 1 && bodyParams[0].Text != code {
		return sendErr(CodeParamInvalid, c, "the button's code differs from the body's; send the same code in both")
	}
	return nil
}

// EncodeURLParam percent-encodes what cannot appear in a URL as is (spaces,
// non-ASCII, quotes, a "%" that does not start an escape) and leaves everything
// else, so an already-encoded value comes back unchanged and path or query
// characters such as "/", "?", "=" and "&" keep their meaning.
func EncodeURLParam(s string) string {
	const hex = "0123456789ABCDEF"
	clean := true
	for i := 0; i < len(s); i++ {
		if !urlSafe(s, i) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		if urlSafe(s, i) {
			b.WriteByte(s[i])
			continue
		}
		c := s[i]
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// urlSafe reports whether s[i] may stay as is: an RFC 3986 unreserved or reserved
// character, or the "%" of a valid escape.
func urlSafe(s string, i int) bool {
	c := s[i]
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0:
		return true
	case c == '%':
		return i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
