// Package template owns Kirim's model of a WhatsApp message template: its shape and
// conversion to and from the Cloud API definition, the linter that predicts Meta's
// review (Meta's published rules plus the rules Indonesian BSPs learned from
// rejections), and the checks a send must pass before it reaches the provider.
// The model, linter and send checks are pure (no network, no storage, no clock);
// store.go keeps the templates of every WABA in storage and follows the provider's
// status, quality and category updates.
package template

import (
	"fmt"
	"strings"
	"time"

	"kirim/provider"
)

// Category is what Meta bills and reviews a template as.
type Category string

const (
	CategoryMarketing      Category = "MARKETING"
	CategoryUtility        Category = "UTILITY"
	CategoryAuthentication Category = "AUTHENTICATION"
)

func (c Category) valid() bool {
	switch c {
	case CategoryMarketing, CategoryUtility, CategoryAuthentication:
		return true
	}
	return false
}

// Status is Meta's review and lifecycle state of a template.
type Status string

const (
	StatusApproved        Status = "APPROVED"
	StatusPending         Status = "PENDING"
	StatusRejected        Status = "REJECTED"
	StatusPaused          Status = "PAUSED"
	StatusDisabled        Status = "DISABLED"
	StatusInAppeal        Status = "IN_APPEAL"
	StatusPendingDeletion Status = "PENDING_DELETION"
	StatusDeleted         Status = "DELETED"
	StatusFlagged         Status = "FLAGGED"
	StatusReinstated      Status = "REINSTATED"
	StatusLimitExceeded   Status = "LIMIT_EXCEEDED"
	StatusArchived        Status = "ARCHIVED"
	StatusUnarchived      Status = "UNARCHIVED"
	StatusLocked          Status = "LOCKED"
)

func (s Status) valid() bool {
	switch s {
	case StatusApproved, StatusPending, StatusRejected, StatusPaused, StatusDisabled,
		StatusInAppeal, StatusPendingDeletion, StatusDeleted, StatusFlagged, StatusReinstated,
		StatusLimitExceeded, StatusArchived, StatusUnarchived, StatusLocked:
		return true
	}
	return false
}

// Quality is Meta's quality rating of a template.
type Quality string

const (
	QualityGreen   Quality = "GREEN"
	QualityYellow  Quality = "YELLOW"
	QualityRed     Quality = "RED"
	QualityUnknown Quality = "UNKNOWN"
)

func (q Quality) valid() bool {
	switch q {
	case QualityGreen, QualityYellow, QualityRed, QualityUnknown:
		return true
	}
	return false
}

// ParameterFormat says how variables are written: {{1}} or {{first_name}}.
type ParameterFormat string

const (
	// FormatPositional is also what an empty ParameterFormat means, as on the wire.
	FormatPositional ParameterFormat = "POSITIONAL"
	FormatNamed      ParameterFormat = "NAMED"
)

func (f ParameterFormat) valid() bool {
	return f == "" || f == FormatPositional || f == FormatNamed
}

// Named reports whether variables are named rather than numbered.
func (f ParameterFormat) Named() bool { return f == FormatNamed }

// HeaderFormat is the kind of header a template has.
type HeaderFormat string

const (
	HeaderText     HeaderFormat = "TEXT"
	HeaderImage    HeaderFormat = "IMAGE"
	HeaderVideo    HeaderFormat = "VIDEO"
	HeaderDocument HeaderFormat = "DOCUMENT"
	HeaderLocation HeaderFormat = "LOCATION"
)

func (f HeaderFormat) valid() bool {
	switch f {
	case HeaderText, HeaderImage, HeaderVideo, HeaderDocument, HeaderLocation:
		return true
	}
	return false
}

// IsMedia reports whether the header carries an image, video or document.
func (f HeaderFormat) IsMedia() bool {
	return f == HeaderImage || f == HeaderVideo || f == HeaderDocument
}

// ButtonType is the kind of a template button.
type ButtonType string

const (
	ButtonQuickReply  ButtonType = "QUICK_REPLY"
	ButtonURL         ButtonType = "URL"
	ButtonPhoneNumber ButtonType = "PHONE_NUMBER"
	ButtonCopyCode    ButtonType = "COPY_CODE"
	// ButtonOTP exists only in authentication templates; Meta reads it back as URL.
	ButtonOTP ButtonType = "OTP"
)

func (b ButtonType) valid() bool {
	switch b {
	case ButtonQuickReply, ButtonURL, ButtonPhoneNumber, ButtonCopyCode, ButtonOTP:
		return true
	}
	return false
}

// OTPType is how an authentication template's button hands the code to the app.
type OTPType string

const (
	OTPCopyCode OTPType = "COPY_CODE"
	OTPOneTap   OTPType = "ONE_TAP"
	OTPZeroTap  OTPType = "ZERO_TAP"
)

func (o OTPType) valid() bool {
	return o == OTPCopyCode || o == OTPOneTap || o == OTPZeroTap
}

// Template is one name+language template, as submitted to and read back from Meta.
type Template struct {
	ID                  string          `json:"id,omitempty"`
	Name                string          `json:"name"`
	Language            string          `json:"language"`
	Category            Category        `json:"category"`
	ParameterFormat     ParameterFormat `json:"parameter_format,omitempty"`
	AllowCategoryChange bool            `json:"allow_category_change,omitempty"`
	Status              Status          `json:"status,omitempty"`
	RejectedReason      string          `json:"rejected_reason,omitempty"`
	Quality             Quality         `json:"quality,omitempty"`
	QualityAt           time.Time       `json:"quality_at,omitzero"`

	Header  *Header  `json:"header,omitempty"`
	Body    Body     `json:"body"`
	Footer  *Footer  `json:"footer,omitempty"`
	Buttons []Button `json:"buttons,omitempty"`

	// Authentication templates only: the body and footer text are preset by WhatsApp
	// and shaped by these two fields.
	AddSecurityRecommendation bool `json:"add_security_recommendation,omitempty"`
	CodeExpirationMinutes     int  `json:"code_expiration_minutes,omitempty"`
	// MessageSendTTLSeconds overrides how long Meta keeps trying to deliver; zero
	// means Meta's default for the category.
	MessageSendTTLSeconds int `json:"message_send_ttl_seconds,omitempty"`

	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Header is the optional first component.
type Header struct {
	Format HeaderFormat `json:"format"`
	// Text is set for TEXT headers only and may hold one variable.
	Text          string         `json:"text,omitempty"`
	Examples      []string       `json:"examples,omitempty"`
	NamedExamples []NamedExample `json:"named_examples,omitempty"`
	// MediaHandle is the Resumable Upload handle ("4::...") of the sample media.
	MediaHandle string `json:"media_handle,omitempty"`
	// MediaSize is the sample's size in bytes when the uploader knows it; zero means
	// unknown. It is not part of the wire definition.
	MediaSize int64 `json:"media_size,omitempty"`
}

// Body is the required main text.
type Body struct {
	Text string `json:"text"`
	// Examples holds one sample per positional variable, Examples[0] for {{1}}.
	Examples      []string       `json:"examples,omitempty"`
	NamedExamples []NamedExample `json:"named_examples,omitempty"`
}

// Footer is the optional small print under the body.
type Footer struct {
	Text string `json:"text"`
}

// NamedExample is the sample value of a named variable.
type NamedExample struct {
	Name    string `json:"name"`
	Example string `json:"example"`
}

// Button is one call-to-action or quick-reply button.
type Button struct {
	Type        ButtonType `json:"type"`
	Text        string     `json:"text,omitempty"`
	URL         string     `json:"url,omitempty"`
	PhoneNumber string     `json:"phone_number,omitempty"`
	// Example is the sample for a URL variable or the sample code of a COPY_CODE button.
	Example              string                  `json:"example,omitempty"`
	OTPType              OTPType                 `json:"otp_type,omitempty"`
	AutofillText         string                  `json:"autofill_text,omitempty"`
	ZeroTapTermsAccepted bool                    `json:"zero_tap_terms_accepted,omitempty"`
	SupportedApps        []provider.SupportedApp `json:"supported_apps,omitempty"`
}

// Wire component types. Meta answers in upper case but accepts either case.
const (
	componentHeader  = "HEADER"
	componentBody    = "BODY"
	componentFooter  = "FOOTER"
	componentButtons = "BUTTONS"
)

// FieldError is a structural problem with one field of a template.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	return "template: " + e.Field + ": " + e.Message
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks the structural shape: required fields are present and every enum
// holds a known value. Whether Meta would approve the content is Lint's job.
func (t Template) Validate() error {
	if t.Name == "" {
		return fieldErr("name", "required")
	}
	if t.Language == "" {
		return fieldErr("language", "required")
	}
	if !t.Category.valid() {
		return fieldErr("category", "unknown value %q (want MARKETING, UTILITY or AUTHENTICATION)", t.Category)
	}
	if !t.ParameterFormat.valid() {
		return fieldErr("parameter_format", "unknown value %q (want POSITIONAL or NAMED)", t.ParameterFormat)
	}
	if t.Status != "" && !t.Status.valid() {
		return fieldErr("status", "unknown value %q", t.Status)
	}
	if t.Quality != "" && !t.Quality.valid() {
		return fieldErr("quality", "unknown value %q", t.Quality)
	}
	if h := t.Header; h != nil {
		if !h.Format.valid() {
			return fieldErr("header.format", "unknown value %q (want TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION)", h.Format)
		}
		if h.Format == HeaderText && strings.TrimSpace(h.Text) == "" {
			return fieldErr("header.text", "required for a TEXT header")
		}
		if h.Format != HeaderText && h.Text != "" {
			return fieldErr("header.text", "only a TEXT header has text, this one is %s", h.Format)
		}
		if h.MediaSize < 0 {
			return fieldErr("header.media_size", "negative")
		}
	}
	if t.Category != CategoryAuthentication && strings.TrimSpace(t.Body.Text) == "" {
		return fieldErr("body.text", "required")
	}
	for i, b := range t.Buttons {
		f := fmt.Sprintf("buttons[%d]", i)
		if !b.Type.valid() {
			return fieldErr(f+".type", "unknown value %q", b.Type)
		}
		switch b.Type {
		case ButtonURL:
			if b.URL == "" && t.Category != CategoryAuthentication {
				return fieldErr(f+".url", "required for a URL button")
			}
		case ButtonPhoneNumber:
			if b.PhoneNumber == "" {
				return fieldErr(f+".phone_number", "required for a PHONE_NUMBER button")
			}
		case ButtonOTP:
			if !b.OTPType.valid() {
				return fieldErr(f+".otp_type", "unknown value %q (want COPY_CODE, ONE_TAP or ZERO_TAP)", b.OTPType)
			}
		}
		if b.Type != ButtonOTP && b.Type != ButtonCopyCode && b.Text == "" {
			return fieldErr(f+".text", "required")
		}
	}
	if t.CodeExpirationMinutes < 0 {
		return fieldErr("code_expiration_minutes", "negative")
	}
	if t.MessageSendTTLSeconds < 0 {
		return fieldErr("message_send_ttl_seconds", "negative")
	}
	return nil
}

// FromDefinition converts a Cloud API definition (a submission or an element of the
// list answer). Enum values are upper-cased, as Meta accepts either case. It fails
// only on what the model cannot hold: a repeated or unknown component.
func FromDefinition(d provider.TemplateDefinition) (Template, error) {
	t := Template{
		ID:                    d.ID,
		Name:                  d.Name,
		Language:              d.Language,
		Category:              Category(strings.ToUpper(d.Category)),
		ParameterFormat:       ParameterFormat(strings.ToUpper(d.ParameterFormat)),
		AllowCategoryChange:   d.AllowCategoryChange,
		Status:                Status(strings.ToUpper(d.Status)),
		RejectedReason:        d.RejectedReason,
		MessageSendTTLSeconds: d.MessageSendTTLSeconds,
	}
	if q := d.QualityScore; q != nil {
		t.Quality = Quality(strings.ToUpper(q.Score))
		if q.Date != 0 {
			t.QualityAt = time.Unix(q.Date, 0).UTC()
		}
	}
	var seen [4]bool
	for i, c := range d.Components {
		typ := strings.ToUpper(c.Type)
		slot := -1
		switch typ {
		case componentHeader:
			slot = 0
		case componentBody:
			slot = 1
		case componentFooter:
			slot = 2
		case componentButtons:
			slot = 3
		default:
			return Template{}, fmt.Errorf("template: components[%d]: unsupported component type %q", i, c.Type)
		}
		if seen[slot] {
			return Template{}, fmt.Errorf("template: components[%d]: more than one %s component", i, typ)
		}
		seen[slot] = true
		switch typ {
		case componentHeader:
			h := &Header{Format: HeaderFormat(strings.ToUpper(c.Format)), Text: c.Text}
			if ex := c.Example; ex != nil {
				if len(ex.HeaderText) > 0 {
					h.Examples = append([]string(nil), ex.HeaderText...)
				}
				h.NamedExamples = namedFromWire(ex.HeaderTextNamedParams)
				if len(ex.HeaderHandle) > 0 {
					h.MediaHandle = ex.HeaderHandle[0]
				}
			}
			t.Header = h
		case componentBody:
			t.Body.Text = c.Text
			if ex := c.Example; ex != nil {
				// Meta sends one row of samples; further rows carry nothing the review uses.
				if len(ex.BodyText) > 0 && len(ex.BodyText[0]) > 0 {
					t.Body.Examples = append([]string(nil), ex.BodyText[0]...)
				}
				t.Body.NamedExamples = namedFromWire(ex.BodyTextNamedParams)
			}
			t.AddSecurityRecommendation = c.AddSecurityRecommendation
		case componentFooter:
			t.CodeExpirationMinutes = c.CodeExpirationMinutes
			// An authentication footer is only an expiry; keep Footer nil for it.
			if c.Text != "" || c.CodeExpirationMinutes == 0 {
				t.Footer = &Footer{Text: c.Text}
			}
		case componentButtons:
			for _, b := range c.Buttons {
				btn := Button{
					Type:                 ButtonType(strings.ToUpper(b.Type)),
					Text:                 b.Text,
					URL:                  b.URL,
					PhoneNumber:          b.PhoneNumber,
					OTPType:              OTPType(strings.ToUpper(b.OTPType)),
					AutofillText:         b.AutofillText,
					ZeroTapTermsAccepted: b.ZeroTapTermsAccepted,
				}
				if len(b.Example) > 0 {
					btn.Example = b.Example[0]
				}
				if len(b.SupportedApps) > 0 {
					btn.SupportedApps = append([]provider.SupportedApp(nil), b.SupportedApps...)
				}
				t.Buttons = append(t.Buttons, btn)
			}
		}
	}
	return t, nil
}

func namedFromWire(ps []provider.NamedParam) []NamedExample {
	if len(ps) == 0 {
		return nil
	}
	out := make([]NamedExample, len(ps))
	for i, p := range ps {
		out[i] = NamedExample{Name: p.ParamName, Example: p.Example}
	}
	return out
}

func namedToWire(ns []NamedExample) []provider.NamedParam {
	if len(ns) == 0 {
		return nil
	}
	out := make([]provider.NamedParam, len(ns))
	for i, n := range ns {
		out[i] = provider.NamedParam{ParamName: n.Name, Example: n.Example}
	}
	return out
}

// Definition is the Cloud API form of the template, for submission or for the
// sandbox's list answer.
func (t Template) Definition() provider.TemplateDefinition {
	d := provider.TemplateDefinition{
		ID:                    t.ID,
		Name:                  t.Name,
		Language:              t.Language,
		Category:              string(t.Category),
		Status:                string(t.Status),
		ParameterFormat:       string(t.ParameterFormat),
		AllowCategoryChange:   t.AllowCategoryChange,
		MessageSendTTLSeconds: t.MessageSendTTLSeconds,
		RejectedReason:        t.RejectedReason,
	}
	if t.Quality != "" || !t.QualityAt.IsZero() {
		q := &provider.QualityScore{Score: string(t.Quality)}
		if !t.QualityAt.IsZero() {
			q.Date = t.QualityAt.Unix()
		}
		d.QualityScore = q
	}
	if h := t.Header; h != nil {
		c := provider.TemplateComponentDef{Type: componentHeader, Format: string(h.Format), Text: h.Text}
		if len(h.Examples) > 0 || len(h.NamedExamples) > 0 || h.MediaHandle != "" {
			ex := &provider.TemplateExample{
				HeaderText:            append([]string(nil), h.Examples...),
				HeaderTextNamedParams: namedToWire(h.NamedExamples),
			}
			if h.MediaHandle != "" {
				ex.HeaderHandle = []string{h.MediaHandle}
			}
			c.Example = ex
		}
		d.Components = append(d.Components, c)
	}
	body := provider.TemplateComponentDef{
		Type:                      componentBody,
		Text:                      t.Body.Text,
		AddSecurityRecommendation: t.AddSecurityRecommendation,
	}
	if len(t.Body.Examples) > 0 || len(t.Body.NamedExamples) > 0 {
		ex := &provider.TemplateExample{BodyTextNamedParams: namedToWire(t.Body.NamedExamples)}
		if len(t.Body.Examples) > 0 {
			ex.BodyText = [][]string{append([]string(nil), t.Body.Examples...)}
		}
		body.Example = ex
	}
	d.Components = append(d.Components, body)
	if t.Footer != nil || t.CodeExpirationMinutes != 0 {
		c := provider.TemplateComponentDef{Type: componentFooter, CodeExpirationMinutes: t.CodeExpirationMinutes}
		if t.Footer != nil {
			c.Text = t.Footer.Text
		}
		d.Components = append(d.Components, c)
	}
	if len(t.Buttons) > 0 {
		c := provider.TemplateComponentDef{Type: componentButtons}
		for _, b := range t.Buttons {
			wb := provider.TemplateButtonDef{
				Type:                 string(b.Type),
				Text:                 b.Text,
				URL:                  b.URL,
				PhoneNumber:          b.PhoneNumber,
				OTPType:              string(b.OTPType),
				AutofillText:         b.AutofillText,
				ZeroTapTermsAccepted: b.ZeroTapTermsAccepted,
			}
			if b.Example != "" {
				wb.Example = []string{b.Example}
			}
			if len(b.SupportedApps) > 0 {
				wb.SupportedApps = append([]provider.SupportedApp(nil), b.SupportedApps...)
			}
			c.Buttons = append(c.Buttons, wb)
		}
		d.Components = append(d.Components, c)
	}
	return d
}
