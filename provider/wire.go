package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Message is the body of POST /{version}/{phone-number-id}/messages.
type Message struct {
	MessagingProduct      string       `json:"messaging_product"`
	RecipientType         string       `json:"recipient_type,omitempty"`
	To                    string       `json:"to,omitempty"`
	Type                  string       `json:"type,omitempty"`
	Text                  *Text        `json:"text,omitempty"`
	Image                 *Media       `json:"image,omitempty"`
	Video                 *Media       `json:"video,omitempty"`
	Document              *Media       `json:"document,omitempty"`
	Audio                 *Media       `json:"audio,omitempty"`
	Sticker               *Media       `json:"sticker,omitempty"`
	Location              *Location    `json:"location,omitempty"`
	Contacts              []Contact    `json:"contacts,omitempty"`
	Interactive           *Interactive `json:"interactive,omitempty"`
	Template              *Template    `json:"template,omitempty"`
	Reaction              *Reaction    `json:"reaction,omitempty"`
	Context               *Context     `json:"context,omitempty"`
	BizOpaqueCallbackData string       `json:"biz_opaque_callback_data,omitempty"`
	// Status and MessageID are set only to mark an inbound message as read.
	Status    string `json:"status,omitempty"`
	MessageID string `json:"message_id,omitempty"`
}

// Message types.
const (
	TypeText        = "text"
	TypeImage       = "image"
	TypeVideo       = "video"
	TypeDocument    = "document"
	TypeAudio       = "audio"
	TypeSticker     = "sticker"
	TypeLocation    = "location"
	TypeContacts    = "contacts"
	TypeInteractive = "interactive"
	TypeTemplate    = "template"
	TypeReaction    = "reaction"
)

type Text struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url,omitempty"`
}

// Media is a media object sent by id (uploaded) or by link.
type Media struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

type Contact struct {
	Name      ContactName    `json:"name"`
	Phones    []ContactPhone `json:"phones,omitempty"`
	Emails    []ContactEmail `json:"emails,omitempty"`
	Org       *ContactOrg    `json:"org,omitempty"`
	Birthday  string         `json:"birthday,omitempty"`
	Addresses []ContactAddr  `json:"addresses,omitempty"`
	URLs      []ContactURL   `json:"urls,omitempty"`
}

type ContactName struct {
	FormattedName string `json:"formatted_name"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
}

type ContactPhone struct {
	Phone string `json:"phone,omitempty"`
	Type  string `json:"type,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
}

type ContactEmail struct {
	Email string `json:"email,omitempty"`
	Type  string `json:"type,omitempty"`
}

type ContactOrg struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

type ContactAddr struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Type        string `json:"type,omitempty"`
}

type ContactURL struct {
	URL  string `json:"url,omitempty"`
	Type string `json:"type,omitempty"`
}

// Interactive is a reply-button or list message.
type Interactive struct {
	Type   string             `json:"type"`
	Header *InteractiveHeader `json:"header,omitempty"`
	Body   *InteractiveText   `json:"body,omitempty"`
	Footer *InteractiveText   `json:"footer,omitempty"`
	Action InteractiveAction  `json:"action"`
}

type InteractiveHeader struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	Image    *Media `json:"image,omitempty"`
	Video    *Media `json:"video,omitempty"`
	Document *Media `json:"document,omitempty"`
}

type InteractiveText struct {
	Text string `json:"text"`
}

type InteractiveAction struct {
	Button   string              `json:"button,omitempty"`
	Buttons  []InteractiveButton `json:"buttons,omitempty"`
	Sections []ListSection       `json:"sections,omitempty"`
}

type InteractiveButton struct {
	Type  string     `json:"type"`
	Reply ReplyLabel `json:"reply"`
}

type ReplyLabel struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type ListSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []ListRow `json:"rows"`
}

type ListRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

type Context struct {
	MessageID string `json:"message_id"`
}

// Template is the template object of a send.
type Template struct {
	Name       string              `json:"name"`
	Language   Language            `json:"language"`
	Components []TemplateComponent `json:"components,omitempty"`
}

type Language struct {
	Code   string `json:"code"`
	Policy string `json:"policy,omitempty"`
}

// TemplateComponent carries the parameters of one component of a template send.
type TemplateComponent struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type,omitempty"`
	Index      string      `json:"index,omitempty"`
	Parameters []Parameter `json:"parameters,omitempty"`
}

// Parameter is one value filled into a template.
type Parameter struct {
	Type          string    `json:"type"`
	ParameterName string    `json:"parameter_name,omitempty"`
	Text          string    `json:"text,omitempty"`
	Payload       string    `json:"payload,omitempty"`
	CouponCode    string    `json:"coupon_code,omitempty"`
	Image         *Media    `json:"image,omitempty"`
	Video         *Media    `json:"video,omitempty"`
	Document      *Media    `json:"document,omitempty"`
	Location      *Location `json:"location,omitempty"`
	Currency      *Currency `json:"currency,omitempty"`
	DateTime      *DateTime `json:"date_time,omitempty"`
}

type Currency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

type DateTime struct {
	FallbackValue string `json:"fallback_value"`
}

// SendResponse is the 200 answer to a send.
type SendResponse struct {
	MessagingProduct string        `json:"messaging_product"`
	Contacts         []SentContact `json:"contacts"`
	Messages         []SentMessage `json:"messages"`
}

type SentContact struct {
	Input string `json:"input"`
	WaID  string `json:"wa_id"`
}

type SentMessage struct {
	ID            string `json:"id"`
	MessageStatus string `json:"message_status,omitempty"`
}

// Pacing answers in SentMessage.MessageStatus.
const (
	StatusAccepted                 = "accepted"
	StatusHeldForQualityAssessment = "held_for_quality_assessment"
	StatusPaused                   = "paused"
)

// ErrorBody is the JSON envelope of every Graph API error.
type ErrorBody struct {
	Error ErrorObject `json:"error"`
}

type ErrorObject struct {
	Message        string     `json:"message"`
	Type           string     `json:"type,omitempty"`
	Code           int        `json:"code"`
	ErrorData      *ErrorData `json:"error_data,omitempty"`
	ErrorSubcode   int        `json:"error_subcode,omitempty"`
	FBTraceID      string     `json:"fbtrace_id,omitempty"`
	IsTransient    *bool      `json:"is_transient,omitempty"`
	ErrorUserTitle string     `json:"error_user_title,omitempty"`
	ErrorUserMsg   string     `json:"error_user_msg,omitempty"`
}

type ErrorData struct {
	MessagingProduct string `json:"messaging_product,omitempty"`
	Details          string `json:"details,omitempty"`
}

// --- Templates (management API) ---

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

// --- Webhooks ---

// Notification is the envelope of every webhook POST.
type Notification struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

type Entry struct {
	ID      string   `json:"id"`
	Time    int64    `json:"time,omitempty"`
	Changes []Change `json:"changes"`
}

// Change carries one field's value, decoded by the receiver according to Field.
type Change struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

// Webhook fields.
const (
	FieldMessages                 = "messages"
	FieldTemplateStatusUpdate     = "message_template_status_update"
	FieldTemplateQualityUpdate    = "message_template_quality_update"
	FieldTemplateCategoryUpdate   = "template_category_update"
	FieldPhoneNumberQualityUpdate = "phone_number_quality_update"
	FieldBusinessCapabilityUpdate = "business_capability_update"
	FieldAccountUpdate            = "account_update"
	FieldAccountAlerts            = "account_alerts"
	FieldUserPreferences          = "user_preferences"
)

// MessagesValue is the value of a "messages" change: inbound messages or statuses.
type MessagesValue struct {
	MessagingProduct string           `json:"messaging_product"`
	Metadata         Metadata         `json:"metadata"`
	Contacts         []InboundContact `json:"contacts,omitempty"`
	Messages         []InboundMessage `json:"messages,omitempty"`
	Statuses         []Status         `json:"statuses,omitempty"`
	Errors           []WebhookError   `json:"errors,omitempty"`
	UserPreferences  []UserPreference `json:"user_preferences,omitempty"`
}

type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

type InboundContact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID   string `json:"wa_id,omitempty"`
	UserID string `json:"user_id,omitempty"`
}

// Status is one delivery status of a message Kirim sent.
type Status struct {
	ID                    string         `json:"id"`
	Status                string         `json:"status"`
	Timestamp             FlexInt        `json:"timestamp"`
	RecipientID           string         `json:"recipient_id"`
	BizOpaqueCallbackData string         `json:"biz_opaque_callback_data,omitempty"`
	Conversation          *Conversation  `json:"conversation,omitempty"`
	Pricing               *Pricing       `json:"pricing,omitempty"`
	Errors                []WebhookError `json:"errors,omitempty"`
	// RecipientUserID is the recipient's business-scoped user id, present once
	// usernames roll out; a status may then carry no phone number.
	RecipientUserID string `json:"recipient_user_id,omitempty"`
}

// Delivery statuses.
const (
	DeliverySent      = "sent"
	DeliveryDelivered = "delivered"
	DeliveryRead      = "read"
	DeliveryPlayed    = "played"
	DeliveryFailed    = "failed"
)

type Conversation struct {
	ID                  string  `json:"id"`
	ExpirationTimestamp FlexInt `json:"expiration_timestamp,omitempty"`
	Origin              struct {
		Type string `json:"type"`
	} `json:"origin"`
}

// Pricing is the pricing object of a status webhook.
type Pricing struct {
	Billable     *bool  `json:"billable,omitempty"`
	PricingModel string `json:"pricing_model,omitempty"`
	Type         string `json:"type,omitempty"`
	Category     string `json:"category,omitempty"`
}

// Pricing types.
const (
	PricingRegular             = "regular"
	PricingFreeCustomerService = "free_customer_service"
	PricingFreeEntryPoint      = "free_entry_point"
)

// WebhookError is an error inside a status or a value.
type WebhookError struct {
	Code      int        `json:"code"`
	Title     string     `json:"title,omitempty"`
	Message   string     `json:"message,omitempty"`
	ErrorData *ErrorData `json:"error_data,omitempty"`
	Href      string     `json:"href,omitempty"`
}

// InboundMessage is one message a customer sent.
type InboundMessage struct {
	From string `json:"from"`
	// FromUserID is the sender's business-scoped user id; for a user with a username
	// and no recent contact, From may be empty and this is the only identity.
	FromUserID  string              `json:"from_user_id,omitempty"`
	ID          string              `json:"id"`
	Timestamp   FlexInt             `json:"timestamp"`
	Type        string              `json:"type"`
	Text        *Text               `json:"text,omitempty"`
	Image       *InboundMedia       `json:"image,omitempty"`
	Video       *InboundMedia       `json:"video,omitempty"`
	Audio       *InboundMedia       `json:"audio,omitempty"`
	Document    *InboundMedia       `json:"document,omitempty"`
	Sticker     *InboundMedia       `json:"sticker,omitempty"`
	Location    *Location           `json:"location,omitempty"`
	Contacts    []Contact           `json:"contacts,omitempty"`
	Reaction    *Reaction           `json:"reaction,omitempty"`
	Button      *InboundButton      `json:"button,omitempty"`
	Interactive *InboundInteractive `json:"interactive,omitempty"`
	Order       json.RawMessage     `json:"order,omitempty"`
	System      *InboundSystem      `json:"system,omitempty"`
	Context     *InboundContext     `json:"context,omitempty"`
	Referral    *Referral           `json:"referral,omitempty"`
	Errors      []WebhookError      `json:"errors,omitempty"`
}

type InboundMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
	Animated bool   `json:"animated,omitempty"`
}

type InboundButton struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

type InboundInteractive struct {
	Type        string    `json:"type"`
	ButtonReply *ListRow  `json:"button_reply,omitempty"`
	ListReply   *ListRow  `json:"list_reply,omitempty"`
	NFMReply    *NFMReply `json:"nfm_reply,omitempty"`
}

// NFMReply is a WhatsApp Flow's answer: response_json is the flow's output, as a JSON
// string.
type NFMReply struct {
	Name         string `json:"name,omitempty"`
	Body         string `json:"body,omitempty"`
	ResponseJSON string `json:"response_json"`
}

type InboundSystem struct {
	Body     string `json:"body,omitempty"`
	Identity string `json:"identity,omitempty"`
	NewWaID  string `json:"new_wa_id,omitempty"`
	WaID     string `json:"wa_id,omitempty"`
	Type     string `json:"type,omitempty"`
	Customer string `json:"customer,omitempty"`
	// UserID and PreviousUserID come with type user_changed_user_id.
	UserID         string `json:"user_id,omitempty"`
	PreviousUserID string `json:"previous_user_id,omitempty"`
}

type InboundContext struct {
	From                string `json:"from,omitempty"`
	ID                  string `json:"id,omitempty"`
	Forwarded           bool   `json:"forwarded,omitempty"`
	FrequentlyForwarded bool   `json:"frequently_forwarded,omitempty"`
}

// Referral marks an inbound message that came from a click-to-WhatsApp ad or page CTA.
type Referral struct {
	SourceURL    string `json:"source_url,omitempty"`
	SourceID     string `json:"source_id,omitempty"`
	SourceType   string `json:"source_type,omitempty"`
	Headline     string `json:"headline,omitempty"`
	Body         string `json:"body,omitempty"`
	MediaType    string `json:"media_type,omitempty"`
	ImageURL     string `json:"image_url,omitempty"`
	VideoURL     string `json:"video_url,omitempty"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	CtwaClid     string `json:"ctwa_clid,omitempty"`
}

type UserPreference struct {
	WaID      string  `json:"wa_id"`
	Detail    string  `json:"detail,omitempty"`
	Category  string  `json:"category"`
	Value     string  `json:"value"`
	Timestamp FlexInt `json:"timestamp"`
}

// TemplateStatusUpdate is the value of message_template_status_update.
type TemplateStatusUpdate struct {
	Event                   string         `json:"event"`
	MessageTemplateID       FlexString     `json:"message_template_id"`
	MessageTemplateName     string         `json:"message_template_name"`
	MessageTemplateLanguage string         `json:"message_template_language"`
	Reason                  string         `json:"reason,omitempty"`
	MessageTemplateCategory string         `json:"message_template_category,omitempty"`
	DisableInfo             *DisableInfo   `json:"disable_info,omitempty"`
	OtherInfo               *OtherInfo     `json:"other_info,omitempty"`
	RejectionInfo           *RejectionInfo `json:"rejection_info,omitempty"`
}

type DisableInfo struct {
	// DisableDate is a unix time in seconds, kept as text: Meta documents it as an
	// integer but shows it quoted.
	DisableDate string `json:"disable_date,omitempty"`
}

// UnmarshalJSON accepts disable_date as a number or a string.
func (d *DisableInfo) UnmarshalJSON(b []byte) error {
	var raw struct {
		DisableDate FlexString `json:"disable_date"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	d.DisableDate = string(raw.DisableDate)
	return nil
}

type OtherInfo struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

type RejectionInfo struct {
	Reason         string `json:"reason,omitempty"`
	Recommendation string `json:"recommendation,omitempty"`
}

// TemplateQualityUpdate is the value of message_template_quality_update.
type TemplateQualityUpdate struct {
	PreviousQualityScore    string     `json:"previous_quality_score"`
	NewQualityScore         string     `json:"new_quality_score"`
	MessageTemplateID       FlexString `json:"message_template_id"`
	MessageTemplateName     string     `json:"message_template_name"`
	MessageTemplateLanguage string     `json:"message_template_language"`
}

// TemplateCategoryUpdate is the value of template_category_update.
type TemplateCategoryUpdate struct {
	MessageTemplateID       FlexString `json:"message_template_id"`
	MessageTemplateName     string     `json:"message_template_name"`
	MessageTemplateLanguage string     `json:"message_template_language"`
	PreviousCategory        string     `json:"previous_category,omitempty"`
	NewCategory             string     `json:"new_category,omitempty"`
	CorrectCategory         string     `json:"correct_category,omitempty"`
	CategoryUpdateTimestamp FlexInt    `json:"category_update_timestamp,omitempty"`
}

// PhoneNumberQualityUpdate is the value of phone_number_quality_update.
type PhoneNumberQualityUpdate struct {
	DisplayPhoneNumber               string     `json:"display_phone_number"`
	Event                            string     `json:"event"`
	CurrentLimit                     string     `json:"current_limit,omitempty"`
	OldLimit                         string     `json:"old_limit,omitempty"`
	MaxDailyConversationsPerBusiness FlexString `json:"max_daily_conversations_per_business,omitempty"`
}

// BusinessCapabilityUpdate is the value of business_capability_update.
type BusinessCapabilityUpdate struct {
	MaxDailyConversationPerPhone FlexInt `json:"max_daily_conversation_per_phone,omitempty"`
	// MaxDailyConversationsPerBusiness is the portfolio's messaging limit as a count
	// (-1 for unlimited). Meta sends a number (2000) or a tier name (TIER_2K); both
	// decode to the count.
	MaxDailyConversationsPerBusiness FlexInt `json:"max_daily_conversations_per_business,omitempty"`
	MaxPhoneNumbersPerBusiness       FlexInt `json:"max_phone_numbers_per_business,omitempty"`
	MaxPhoneNumbersPerWABA           FlexInt `json:"max_phone_numbers_per_waba,omitempty"`
}

// UnmarshalJSON accepts max_daily_conversations_per_business as a number, a string of
// digits or a tier name.
func (u *BusinessCapabilityUpdate) UnmarshalJSON(b []byte) error {
	type plain BusinessCapabilityUpdate
	var raw struct {
		plain
		PerBusiness FlexString `json:"max_daily_conversations_per_business"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*u = BusinessCapabilityUpdate(raw.plain)
	u.MaxDailyConversationsPerBusiness = 0
	if raw.PerBusiness != "" {
		n, ok := ParseTierLimit(string(raw.PerBusiness))
		if !ok {
			return fmt.Errorf("max_daily_conversations_per_business: unknown limit %q", string(raw.PerBusiness))
		}
		u.MaxDailyConversationsPerBusiness = FlexInt(n)
	}
	return nil
}

// Messaging-limit tier names, as webhooks and GET fields write them.
const (
	Tier50        = "TIER_50"
	Tier250       = "TIER_250"
	Tier1K        = "TIER_1K"
	Tier2K        = "TIER_2K"
	Tier10K       = "TIER_10K"
	Tier100K      = "TIER_100K"
	TierUnlimited = "TIER_UNLIMITED"
	TierNotSet    = "TIER_NOT_SET"
)

// UnlimitedMessaging is the count that stands for TIER_UNLIMITED, as Meta writes it.
const UnlimitedMessaging = -1

var tierLimits = map[string]int64{
	Tier50: 50, Tier250: 250, Tier1K: 1000, Tier2K: 2000, Tier10K: 10000,
	Tier100K: 100000, TierUnlimited: UnlimitedMessaging, TierNotSet: 0,
}

// ParseTierLimit turns a messaging-limit tier name (TIER_2K) or a count ("2000",
// "-1") into the count of unique recipients per 24 h; -1 means unlimited and 0 not
// set. ok is false for anything else.
func ParseTierLimit(s string) (limit int64, ok bool) {
	if n, found := tierLimits[s]; found {
		return n, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < UnlimitedMessaging {
		return 0, false
	}
	return n, true
}

// AccountUpdate is the value of account_update.
type AccountUpdate struct {
	PhoneNumber     string            `json:"phone_number,omitempty"`
	Event           string            `json:"event"`
	RestrictionInfo []RestrictionInfo `json:"restriction_info,omitempty"`
	BanInfo         *BanInfo          `json:"ban_info,omitempty"`
	ViolationInfo   *ViolationInfo    `json:"violation_info,omitempty"`
	VolumeTierInfo  *VolumeTierInfo   `json:"volume_tier_info,omitempty"`
}

type RestrictionInfo struct {
	RestrictionType string  `json:"restriction_type"`
	Expiration      FlexInt `json:"expiration,omitempty"`
}

// BanInfo says what happens to a disabled or banned account. Meta documents
// waba_ban_state as a list (["SCHEDULE_FOR_DISABLE"]); older payloads sent one string.
type BanInfo struct {
	WabaBanState StringList `json:"waba_ban_state"`
	WabaBanDate  string     `json:"waba_ban_date,omitempty"`
}

type ViolationInfo struct {
	ViolationType string `json:"violation_type"`
}

type VolumeTierInfo struct {
	TierUpdateTime  FlexInt `json:"tier_update_time,omitempty"`
	PricingCategory string  `json:"pricing_category,omitempty"`
	Tier            string  `json:"tier,omitempty"`
	EffectiveMonth  string  `json:"effective_month,omitempty"`
	Region          string  `json:"region,omitempty"`
}

// AccountAlert is the value of account_alerts. Meta's current payload nests the
// alert under alert_info; older ones had it flat. Decoding fills the flat fields from
// either, so callers read only those.
type AccountAlert struct {
	EntityType       string     `json:"entity_type"`
	EntityID         string     `json:"entity_id"`
	AlertSeverity    string     `json:"alert_severity"`
	AlertStatus      string     `json:"alert_status"`
	AlertType        string     `json:"alert_type"`
	AlertDescription string     `json:"alert_description"`
	AlertInfo        *AlertInfo `json:"alert_info,omitempty"`
}

// AlertInfo is the nested alert of an account_alerts value.
type AlertInfo struct {
	AlertSeverity    string `json:"alert_severity"`
	AlertStatus      string `json:"alert_status"`
	AlertType        string `json:"alert_type"`
	AlertDescription string `json:"alert_description"`
}

// UnmarshalJSON decodes either shape and lifts alert_info into the flat fields.
func (a *AccountAlert) UnmarshalJSON(b []byte) error {
	type plain AccountAlert
	var raw struct {
		plain
		EntityID FlexString `json:"entity_id"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*a = AccountAlert(raw.plain)
	a.EntityID = string(raw.EntityID)
	if in := a.AlertInfo; in != nil {
		a.AlertSeverity = firstNonEmpty(a.AlertSeverity, in.AlertSeverity)
		a.AlertStatus = firstNonEmpty(a.AlertStatus, in.AlertStatus)
		a.AlertType = firstNonEmpty(a.AlertType, in.AlertType)
		a.AlertDescription = firstNonEmpty(a.AlertDescription, in.AlertDescription)
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// FlexInt decodes a JSON number or a string of digits: Meta sends unix timestamps and
// limits in either form.
type FlexInt int64

func (f *FlexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*f = 0
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*f = 0
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		*f = FlexInt(n)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = FlexInt(n)
	return nil
}

// MarshalJSON writes the value as a string of digits, as Meta does for timestamps.
func (f FlexInt) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(f), 10) + `"`), nil
}

// FlexString decodes a JSON string or number into its text form: template ids arrive
// as numbers, tier names as strings.
type FlexString string

func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = FlexString(n.String())
	return nil
}

// StringList is a list of strings that also accepts a single string (or null) where
// Meta's payloads have sent one.
type StringList []string

func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*l = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return err
	}
	*l = out
	return nil
}

// Has reports whether the list holds s.
func (l StringList) Has(s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}
