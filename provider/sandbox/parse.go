package sandbox

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"kirim/provider"
)

// Interactive and template limits from Meta's reference.
const (
	maxReplyButtons     = 3
	maxButtonTitle      = 20
	maxButtonID         = 256
	maxListSections     = 10
	maxListRows         = 10
	maxListRowTitle     = 24
	maxListRowDesc      = 72
	maxListButton       = 20
	maxInteractiveBody  = 1024
	maxInteractiveShort = 60 // header and footer text
	maxTemplateButtons  = 10
)

// sendReq is a parsed and validated send.
type sendReq struct {
	msg         provider.Message
	wa          uint64 // recipient digits; 0 when `to` was unusable
	readReceipt bool
	params      templateParams // for templates
}

// templateParams counts what a template send fills in.
type templateParams struct {
	header      int
	headerType  string // type of the first header parameter
	body        int
	buttons     [maxTemplateButtons]int8
	buttonsSeen [maxTemplateButtons]bool
}

// parseSend decodes and validates the body of POST /{phone_number_id}/messages. It
// never panics. When validation fails it still returns what it could decode, so the
// refusal can be recorded with its recipient and type.
func parseSend(body []byte) (*sendReq, *apiError) {
	r := &sendReq{}
	if err := json.Unmarshal(body, &r.msg); err != nil {
		return r, refuse(provider.CodeInvalidParameter, "request body is not a valid message object")
	}
	m := &r.msg
	if wa, ok := normalizePhone(m.To); ok {
		r.wa = wa
	}
	if m.MessagingProduct != "whatsapp" {
		return r, refuse(provider.CodeInvalidParameter, "messaging_product must be \"whatsapp\"")
	}
	if m.Status != "" || m.MessageID != "" {
		if m.Status != "read" || m.MessageID == "" {
			return r, refuse(provider.CodeInvalidParameter, "a status update needs status \"read\" and message_id")
		}
		r.readReceipt = true
		return r, nil
	}
	if m.RecipientType != "" && m.RecipientType != "individual" {
		return r, refuse(provider.CodeInvalidParameter, "recipient_type must be \"individual\"")
	}
	if m.To == "" {
		return r, refuse(provider.CodeInvalidParameter, "to is required")
	}
	if r.wa == 0 {
		return r, refuse(codeParamValue, "to is not a valid phone number")
	}
	if utf8.RuneCountInString(m.BizOpaqueCallbackData) > maxCallbackData {
		return r, refuse(codeParamValue, "biz_opaque_callback_data is longer than 512 characters")
	}
	if m.Context != nil && m.Context.MessageID == "" {
		return r, refuse(provider.CodeInvalidParameter, "context.message_id is required")
	}
	if m.Type == "" {
		// Meta defaults the type to text.
		m.Type = provider.TypeText
	}
	if e := validateBody(m, &r.params); e != nil {
		return r, e
	}
	return r, nil
}

func missing(field string) *apiError {
	return refuse(provider.CodeInvalidParameter, field+" is required")
}

func tooLong(field string, max int) *apiError {
	return refuse(codeParamValue, field+" is longer than "+itoa(max)+" characters")
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// validateBody checks that the object matching Type is present and well formed.
func validateBody(m *provider.Message, p *templateParams) *apiError {
	switch m.Type {
	case provider.TypeText:
		if m.Text == nil || m.Text.Body == "" {
			return missing("text.body")
		}
		if runes(m.Text.Body) > maxTextBody {
			return tooLong("text.body", maxTextBody)
		}
	case provider.TypeImage:
		return validateMedia("image", m.Image)
	case provider.TypeVideo:
		return validateMedia("video", m.Video)
	case provider.TypeAudio:
		return validateMedia("audio", m.Audio)
	case provider.TypeDocument:
		return validateMedia("document", m.Document)
	case provider.TypeSticker:
		return validateMedia("sticker", m.Sticker)
	case provider.TypeLocation:
		l := m.Location
		if l == nil {
			return missing("location")
		}
		if l.Latitude < -90 || l.Latitude > 90 || l.Longitude < -180 || l.Longitude > 180 {
			return refuse(codeParamValue, "location coordinates are out of range")
		}
	case provider.TypeContacts:
		if len(m.Contacts) == 0 {
			return missing("contacts")
		}
		for _, c := range m.Contacts {
			if c.Name.FormattedName == "" {
				return missing("contacts.name.formatted_name")
			}
		}
	case provider.TypeReaction:
		if m.Reaction == nil || m.Reaction.MessageID == "" {
			return missing("reaction.message_id")
		}
	case provider.TypeInteractive:
		return validateInteractive(m.Interactive)
	case provider.TypeTemplate:
		t := m.Template
		if t == nil {
			return missing("template")
		}
		if t.Name == "" {
			return missing("template.name")
		}
		if t.Language.Code == "" {
			return missing("template.language.code")
		}
		return countParams(t, p)
	default:
		return refuse(provider.CodeUnsupportedType, "type "+quoteShort(m.Type)+" is not supported")
	}
	return nil
}

func validateMedia(field string, md *provider.Media) *apiError {
	if md == nil {
		return missing(field)
	}
	if md.ID == "" && md.Link == "" {
		return refuse(provider.CodeInvalidParameter, field+" needs an id or a link")
	}
	if md.ID != "" && md.Link != "" {
		return refuse(codeParamValue, field+" takes an id or a link, not both")
	}
	return nil
}

func validateInteractive(in *provider.Interactive) *apiError {
	if in == nil {
		return missing("interactive")
	}
	if in.Body == nil || in.Body.Text == "" {
		return missing("interactive.body.text")
	}
	if runes(in.Body.Text) > maxInteractiveBody {
		return tooLong("interactive.body.text", maxInteractiveBody)
	}
	if in.Header != nil && in.Header.Type == "text" && runes(in.Header.Text) > maxInteractiveShort {
		return tooLong("interactive.header.text", maxInteractiveShort)
	}
	if in.Footer != nil && runes(in.Footer.Text) > maxInteractiveShort {
		return tooLong("interactive.footer.text", maxInteractiveShort)
	}
	switch in.Type {
	case "button":
		bs := in.Action.Buttons
		if len(bs) == 0 {
			return missing("interactive.action.buttons")
		}
		if len(bs) > maxReplyButtons {
			return refuse(codeParamValue, "interactive.action.buttons has more than 3 buttons")
		}
		for i, b := range bs {
			if b.Reply.ID == "" || b.Reply.Title == "" {
				return missing("interactive.action.buttons.reply id and title")
			}
			if runes(b.Reply.Title) > maxButtonTitle {
				return tooLong("interactive.action.buttons.reply.title", maxButtonTitle)
			}
			if len(b.Reply.ID) > maxButtonID {
				return tooLong("interactive.action.buttons.reply.id", maxButtonID)
			}
			for _, o := range bs[:i] {
				if o.Reply.ID == b.Reply.ID {
					return refuse(codeParamValue, "interactive.action.buttons ids must be unique")
				}
			}
		}
	case "list":
		a := in.Action
		if a.Button == "" {
			return missing("interactive.action.button")
		}
		if runes(a.Button) > maxListButton {
			return tooLong("interactive.action.button", maxListButton)
		}
		if len(a.Sections) == 0 || len(a.Sections) > maxListSections {
			return refuse(codeParamValue, "interactive.action.sections must hold 1 to 10 sections")
		}
		rows := 0
		for _, sec := range a.Sections {
			for _, row := range sec.Rows {
				rows++
				if row.ID == "" || row.Title == "" {
					return missing("interactive.action.sections.rows id and title")
				}
				if runes(row.Title) > maxListRowTitle {
					return tooLong("interactive.action.sections.rows.title", maxListRowTitle)
				}
				if runes(row.Description) > maxListRowDesc {
					return tooLong("interactive.action.sections.rows.description", maxListRowDesc)
				}
			}
		}
		if rows == 0 || rows > maxListRows {
			return refuse(codeParamValue, "interactive list must hold 1 to 10 rows in total")
		}
	case "cta_url", "flow", "product", "product_list", "location_request_message", "address_message":
		// Accepted as sent: the sandbox does not model catalogs or flows.
	case "":
		return missing("interactive.type")
	default:
		return refuse(codeParamValue, "interactive.type "+quoteShort(in.Type)+" is not supported")
	}
	return nil
}

// countParams tallies the parameters of a template send per component.
func countParams(t *provider.Template, p *templateParams) *apiError {
	for _, c := range t.Components {
		switch strings.ToLower(c.Type) {
		case "header":
			p.header += len(c.Parameters)
			if len(c.Parameters) > 0 && p.headerType == "" {
				p.headerType = strings.ToLower(c.Parameters[0].Type)
			}
		case "body":
			p.body += len(c.Parameters)
		case "button":
			i, ok := atoiSmall(c.Index)
			if !ok || i >= maxTemplateButtons {
				return refuse(codeParamValue, "template button index "+quoteShort(c.Index)+" is not valid")
			}
			p.buttons[i] += int8(min(len(c.Parameters), 100))
			p.buttonsSeen[i] = true
		default:
			return refuse(codeParamValue, "template component type "+quoteShort(c.Type)+" is not valid")
		}
	}
	return nil
}

// atoiSmall parses a short non-negative decimal.
func atoiSmall(s string) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// quoteShort quotes user input for an error detail, cut to a safe length.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
