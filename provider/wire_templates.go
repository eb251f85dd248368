package provider

import (
	"bytes"
	"encoding/json"
)

// TemplateDefinition is the body of POST /{waba-id}/message_templates and one element of
// the list answer.
type TemplateDefinition struct {
	ID                    string                 `json:"id,omitempty"`
	Name                  string                 `json:"name"`
	Language              string                 `json:"language"`
	Category              string                 `json:"category"`
	Status                string                 `json:"status,omitempty"`
	ParameterFormat       string                 `json:"parameter_format,omitempty"`
	AllowCategoryChange   bool                   `json:"allow_category_change,omitempty"`
	MessageSendTTLSeconds int                    `json:"message_send_ttl_seconds,omitempty"`
	Components            []TemplateComponentDef `json:"components"`
	QualityScore          *QualityScore          `json:"quality_score,omitempty"`
	RejectedReason        string                 `json:"rejected_reason,omitempty"`
}

// TemplateComponentDef is one component of a template definition.
type TemplateComponentDef struct {
	Type                      string              `json:"type"`
	Format                    string              `json:"format,omitempty"`
	Text                      string              `json:"text,omitempty"`
	Example                   *TemplateExample    `json:"example,omitempty"`
	Buttons                   []TemplateButtonDef `json:"buttons,omitempty"`
	AddSecurityRecommendation bool                `json:"add_security_recommendation,omitempty"`
	CodeExpirationMinutes     int                 `json:"code_expiration_minutes,omitempty"`
}

type TemplateExample struct {
	HeaderText            []string     `json:"header_text,omitempty"`
	HeaderHandle          []string     `json:"header_handle,omitempty"`
	BodyText              [][]string   `json:"body_text,omitempty"`
	HeaderTextNamedParams []NamedParam `json:"header_text_named_params,omitempty"`
	BodyTextNamedParams   []NamedParam `json:"body_text_named_params,omitempty"`
}

type NamedParam struct {
	ParamName string `json:"param_name"`
	Example   string `json:"example"`
}

type TemplateButtonDef struct {
	Type                 string         `json:"type"`
	Text                 string         `json:"text,omitempty"`
	URL                  string         `json:"url,omitempty"`
	PhoneNumber          string         `json:"phone_number,omitempty"`
	Example              []string       `json:"example,omitempty"`
	OTPType              string         `json:"otp_type,omitempty"`
	AutofillText         string         `json:"autofill_text,omitempty"`
	ZeroTapTermsAccepted bool           `json:"zero_tap_terms_accepted,omitempty"`
	SupportedApps        []SupportedApp `json:"supported_apps,omitempty"`
}

// UnmarshalJSON accepts example as an array (URL buttons) or a single string (COPY_CODE
// buttons, as Meta writes them both in creation and in the list answer).
func (b *TemplateButtonDef) UnmarshalJSON(data []byte) error {
	type plain TemplateButtonDef
	var raw struct {
		plain
		Example json.RawMessage `json:"example,omitempty"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*b = TemplateButtonDef(raw.plain)
	b.Example = nil
	ex := bytes.TrimSpace(raw.Example)
	switch {
	case len(ex) == 0 || bytes.Equal(ex, []byte("null")):
	case ex[0] == '"':
		var one string
		if err := json.Unmarshal(ex, &one); err != nil {
			return err
		}
		b.Example = []string{one}
	default:
		if err := json.Unmarshal(ex, &b.Example); err != nil {
			return err
		}
	}
	return nil
}

// MarshalJSON writes a COPY_CODE button's example as the single string Meta expects.
func (b TemplateButtonDef) MarshalJSON() ([]byte, error) {
	type plain TemplateButtonDef
	if b.Type == ButtonCopyCode && len(b.Example) == 1 {
		return json.Marshal(struct {
			plain
			Example string `json:"example"`
		}{plain(b), b.Example[0]})
	}
	return json.Marshal(plain(b))
}

// Template button types of a definition.
const (
	ButtonQuickReply  = "QUICK_REPLY"
	ButtonURL         = "URL"
	ButtonPhoneNumber = "PHONE_NUMBER"
	ButtonCopyCode    = "COPY_CODE"
	ButtonOTP         = "OTP"
)

type SupportedApp struct {
	PackageName   string `json:"package_name"`
	SignatureHash string `json:"signature_hash"`
}

type QualityScore struct {
	Score string `json:"score"`
	Date  int64  `json:"date,omitempty"`
}

// TemplateCreated is the answer to a template submission.
type TemplateCreated struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Category string `json:"category"`
}

// TemplateList is one page of GET /{waba-id}/message_templates.
type TemplateList struct {
	Data   []TemplateDefinition `json:"data"`
	Paging *Paging              `json:"paging,omitempty"`
}

type Paging struct {
	Cursors struct {
		Before string `json:"before,omitempty"`
		After  string `json:"after,omitempty"`
	} `json:"cursors"`
	Next string `json:"next,omitempty"`
}

// MediaUploaded is the answer to a media upload.
type MediaUploaded struct {
	ID string `json:"id"`
}

// PhoneNumberInfo is GET /{phone-number-id}?fields=... .
type PhoneNumberInfo struct {
	ID                 string      `json:"id"`
	DisplayPhoneNumber string      `json:"display_phone_number,omitempty"`
	VerifiedName       string      `json:"verified_name,omitempty"`
	Status             string      `json:"status,omitempty"`
	QualityRating      string      `json:"quality_rating,omitempty"`
	NameStatus         string      `json:"name_status,omitempty"`
	Throughput         *Throughput `json:"throughput,omitempty"`
	MessagingLimit     string      `json:"whatsapp_business_manager_messaging_limit,omitempty"`
	MessagingLimitTier string      `json:"messaging_limit_tier,omitempty"`
}

type Throughput struct {
	Level string `json:"level"`
}

// MediaInfo is the answer of GET /{media-id}: where the file is and what it is. The
// URL is fetched with the same bearer token and is valid for a few minutes.
type MediaInfo struct {
	MessagingProduct string `json:"messaging_product,omitempty"`
	URL              string `json:"url"`
	MimeType         string `json:"mime_type"`
	SHA256           string `json:"sha256,omitempty"`
	FileSize         int64  `json:"file_size"`
	ID               string `json:"id"`
}
