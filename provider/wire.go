package provider

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
