package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"kirim/provider"
)

// maxInboundBody bounds POST /_sandbox/inbound: a media file of up to 16 MB in base64
// and the rest of the request.
const maxInboundBody = 24 << 20

// InboundRequest is a customer writing in.
type InboundRequest struct {
	From          string `json:"from"`
	PhoneNumberID string `json:"phone_number_id,omitempty"` // default the first number
	Name          string `json:"name,omitempty"`
	// Type is text (default), button, image, video, audio, document, sticker, location,
	// contacts, interactive or reaction.
	Type          string `json:"type,omitempty"`
	Text          string `json:"text,omitempty"`
	ButtonPayload string `json:"button_payload,omitempty"`
	// Media is the file of an image, video, audio, document or sticker message: it is
	// kept in the sandbox's media store, so GET /{version}/{media-id} and its URL serve it.
	Media *InboundMediaRequest `json:"media,omitempty"`
	// Location is the pin of a location message.
	Location *provider.Location `json:"location,omitempty"`
	// Contacts are the cards of a contacts message.
	Contacts []provider.Contact `json:"contacts,omitempty"`
	// Interactive is a reply to a reply button (button_reply) or a list (list_reply).
	Interactive *InboundInteractiveRequest `json:"interactive,omitempty"`
	// Reaction is an emoji on a message (message_id: its wamid; "" emoji removes it).
	Reaction *provider.Reaction `json:"reaction,omitempty"`
	// Context names the message this one replies to: {"message_id": "<wamid>"}.
	Context *provider.Context `json:"context,omitempty"`
	// Referral marks a click-to-WhatsApp ad: it also opens a 72 h free entry point.
	Referral bool `json:"referral,omitempty"`
}

// InboundMediaRequest is a customer's file: Data (base64) or Text (taken as is).
type InboundMediaRequest struct {
	MimeType string `json:"mime_type"`
	Data     string `json:"data,omitempty"`
	Text     string `json:"text,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// InboundInteractiveRequest is an interactive reply: Type button_reply or list_reply.
type InboundInteractiveRequest struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// defaultMediaTypes is the MIME type of each media message when the request names none.
var defaultMediaTypes = map[string]string{
	"image": "image/jpeg", "video": "video/mp4", "audio": "audio/ogg", "document": "application/pdf", "sticker": "image/webp",
}

// Inbound simulates a customer message: it opens (or extends) the customer's 24 h
// window with that number, a 72 h free entry point when Referral is set, and posts a
// messages webhook. It returns the inbound message's wamid.
func (s *Sandbox) Inbound(in InboundRequest) (string, error) {
	st := s.st.Load()
	wa, ok := parseWaID(in.From)
	if !ok {
		return "", fmt.Errorf("sandbox: inbound: from %q: %w", in.From, errInvalid)
	}
	num := st.numbers[0]
	if in.PhoneNumberID != "" {
		if num = st.numberByID(in.PhoneNumberID); num == nil {
			return "", fmt.Errorf("sandbox: inbound: phone number %q: %w", in.PhoneNumberID, errNotFound)
		}
	}
	if in.Type == "" {
		in.Type = "text"
	}
	now := s.clk.Now()
	seq := s.nextWamid()
	msg := provider.InboundMessage{From: waString(wa), ID: s.wamid(seq), Timestamp: provider.FlexInt(now.Unix()), Type: in.Type}
	if err := s.inboundContent(st, &in, &msg); err != nil {
		return "", fmt.Errorf("sandbox: inbound: %w", err)
	}
	if in.Context != nil {
		if in.Context.MessageID == "" {
			return "", fmt.Errorf("sandbox: inbound: context.message_id is required with context: %w", errInvalid)
		}
		msg.Context = &provider.InboundContext{From: num.display, ID: in.Context.MessageID}
	}
	if in.Referral {
		msg.Referral = &provider.Referral{
			SourceURL: "https://fb.me/kirimsandbox", SourceID: strconv.FormatUint(seq, 10), SourceType: "ad",
			Headline: "Sandbox ad", Body: "Chat with us on WhatsApp", MediaType: "image",
			ImageURL: "https://example.com/ad.jpg", CtwaClid: "ARA" + s.traceID(),
		}
	}
	sh := st.shard(wa)
	key := peerKey{wa: wa, num: uint32(num.idx)}
	sh.mu.Lock()
	ps := sh.peers[key]
	ps.lastInbound = now.UnixNano()
	if in.Referral {
		ps.fepUntil = now.Add(freeEntryWindow).UnixNano()
	}
	sh.peers[key] = ps
	sh.mu.Unlock()

	v := provider.MessagesValue{MessagingProduct: "whatsapp", Metadata: metadata(num), Messages: []provider.InboundMessage{msg}}
	c := provider.InboundContact{WaID: waString(wa)}
	c.Profile.Name = in.Name
	v.Contacts = []provider.InboundContact{c}
	s.postValue(num, provider.FieldMessages, v)
	return msg.ID, nil
}

// inboundContent checks the request's content for its type and fills msg with it.
func (s *Sandbox) inboundContent(st *state, in *InboundRequest, msg *provider.InboundMessage) error {
	switch in.Type {
	case "text":
		if in.Text == "" {
			return fmt.Errorf("text is required: %w", errInvalid)
		}
		msg.Text = &provider.Text{Body: in.Text}
	case "button":
		if in.ButtonPayload == "" {
			return fmt.Errorf("button_payload is required: %w", errInvalid)
		}
		msg.Button = &provider.InboundButton{Payload: in.ButtonPayload, Text: cmpOr(in.Text, in.ButtonPayload)}
	case "image", "video", "audio", "document", "sticker":
		md, err := s.storeInboundMedia(st, in.Type, in.Media)
		if err != nil {
			return err
		}
		switch in.Type {
		case "image":
			msg.Image = md
		case "video":
			msg.Video = md
		case "audio":
			msg.Audio = md
		case "document":
			msg.Document = md
		default:
			msg.Sticker = md
		}
	case "location":
		l := in.Location
		switch {
		case l == nil:
			return fmt.Errorf("location is required: %w", errInvalid)
		case math.IsNaN(l.Latitude) || l.Latitude < -90 || l.Latitude > 90:
			return fmt.Errorf("location.latitude must be within ±90: %w", errInvalid)
		case math.IsNaN(l.Longitude) || l.Longitude < -180 || l.Longitude > 180:
			return fmt.Errorf("location.longitude must be within ±180: %w", errInvalid)
		}
		msg.Location = l
	case "contacts":
		if len(in.Contacts) == 0 {
			return fmt.Errorf("contacts must hold at least one contact: %w", errInvalid)
		}
		for i, c := range in.Contacts {
			if c.Name.FormattedName == "" {
				return fmt.Errorf("contacts[%d].name.formatted_name is required: %w", i, errInvalid)
			}
		}
		msg.Contacts = in.Contacts
	case "interactive":
		it := in.Interactive
		if it == nil {
			return fmt.Errorf("interactive is required: %w", errInvalid)
		}
		if it.ID == "" || it.Title == "" {
			return fmt.Errorf("interactive.id and interactive.title are required: %w", errInvalid)
		}
		row := &provider.ListRow{ID: it.ID, Title: it.Title, Description: it.Description}
		switch it.Type {
		case "button_reply":
			msg.Interactive = &provider.InboundInteractive{Type: it.Type, ButtonReply: row}
		case "list_reply":
			msg.Interactive = &provider.InboundInteractive{Type: it.Type, ListReply: row}
		default:
			return fmt.Errorf("interactive.type %q (want button_reply or list_reply): %w", it.Type, errInvalid)
		}
	case "reaction":
		if in.Reaction == nil || in.Reaction.MessageID == "" {
			return fmt.Errorf("reaction.message_id is required: %w", errInvalid)
		}
		if utf8.RuneCountInString(in.Reaction.Emoji) > 10 {
			return fmt.Errorf("reaction.emoji must be one emoji: %w", errInvalid)
		}
		msg.Reaction = in.Reaction
	default:
		return fmt.Errorf("type %q (want text, button, image, video, audio, document, sticker, location, contacts, interactive or reaction): %w", in.Type, errInvalid)
	}
	if in.Media != nil && msg.Image == nil && msg.Video == nil && msg.Audio == nil && msg.Document == nil && msg.Sticker == nil {
		return fmt.Errorf("media is only for image, video, audio, document and sticker messages: %w", errInvalid)
	}
	return nil
}

// storeInboundMedia keeps the customer's file in the media store and returns the
// message's media object.
func (s *Sandbox) storeInboundMedia(st *state, typ string, md *InboundMediaRequest) (*provider.InboundMedia, error) {
	if md == nil {
		return nil, fmt.Errorf("media is required for a %s message: %w", typ, errInvalid)
	}
	if (md.Data == "") == (md.Text == "") {
		return nil, fmt.Errorf("media: give data (base64) or text: %w", errInvalid)
	}
	mt := cmpOr(md.MimeType, defaultMediaTypes[typ])
	if parsed, _, err := mime.ParseMediaType(mt); err == nil {
		mt = parsed
	}
	mt = strings.ToLower(mt)
	limit, ok := mediaLimits[mt]
	if !ok {
		return nil, fmt.Errorf("media.mime_type %s is not a supported type: %w", quoteShort(mt), errInvalid)
	}
	data := []byte(md.Text)
	if md.Data != "" {
		var err error
		if data, err = base64.StdEncoding.DecodeString(md.Data); err != nil {
			return nil, fmt.Errorf("media.data is not base64: %w", errInvalid)
		}
	}
	if len(data) > limit {
		return nil, fmt.Errorf("media: the file is larger than %d bytes for %s: %w", limit, mt, errInvalid)
	}
	if typ == "document" && md.Filename == "" {
		md.Filename = "file"
	}
	id, ok := s.addMedia(st, mt, data)
	if !ok {
		return nil, fmt.Errorf("media: the sandbox media store is full: %w", errInvalid)
	}
	f, _ := st.media.get(id)
	out := &provider.InboundMedia{ID: id, MimeType: mt, SHA256: f.sha, Caption: md.Caption, Filename: md.Filename}
	if typ != "image" && typ != "video" && typ != "document" {
		out.Caption = ""
	}
	if typ != "document" {
		out.Filename = ""
	}
	return out, nil
}

func (s *Sandbox) handleInbound(w http.ResponseWriter, r *http.Request) {
	var in InboundRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxInboundBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	id, err := s.Inbound(in)
	if err != nil {
		answerErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}
