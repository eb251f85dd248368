package provider

import (
	"encoding/json"
)

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
	FieldTemplateComponentsUpdate = "message_template_components_update"
	FieldPhoneNumberNameUpdate    = "phone_number_name_update"
	FieldAccountReviewUpdate      = "account_review_update"
	FieldSecurity                 = "security"
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
