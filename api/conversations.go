package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/julienschmidt/httprouter"

	"kirim/engine"
	"kirim/provider"
)

// Conversations: customers' messages as stored (engine.InboundRecord), the
// conversation with one contact in both directions, and inbound media files fetched
// from the provider.

// MaxMediaDownload bounds a media file GET /v1/media/{id} streams (the Cloud API's
// largest, a 100 MB document).
const MaxMediaDownload = 100 << 20

// MediaSource fetches a number's inbound media from the provider (provider.Client
// does): where the file is, then the file.
type MediaSource interface {
	MediaInfo(ctx context.Context, id string) (*provider.MediaInfo, error)
	DownloadMedia(ctx context.Context, url string) (body io.ReadCloser, contentType string, size int64, err error)
}

type inboundMediaView struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	URL      string `json:"url"`
}

type refView struct {
	MessageID string `json:"message_id,omitempty"`
	WAMID     string `json:"wamid"`
}

type reactionView struct {
	MessageID string `json:"message_id,omitempty"`
	WAMID     string `json:"wamid"`
	Emoji     string `json:"emoji"`
}

type replyView struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Title        string `json:"title"`
	ResponseJSON string `json:"response_json,omitempty"`
}

// inboundView is a customer's message as the API shows it.
type inboundView struct {
	ID          string             `json:"id"`
	Direction   string             `json:"direction"`
	From        string             `json:"from"`
	To          string             `json:"to"`
	WAMID       string             `json:"wamid"`
	Type        string             `json:"type"`
	Text        string             `json:"text,omitempty"`
	Media       *inboundMediaView  `json:"media,omitempty"`
	Location    *provider.Location `json:"location,omitempty"`
	Contacts    []provider.Contact `json:"contacts,omitempty"`
	Reaction    *reactionView      `json:"reaction,omitempty"`
	Interactive *replyView         `json:"interactive,omitempty"`
	Context     *refView           `json:"context,omitempty"`
	Name        string             `json:"name,omitempty"`
	At          string             `json:"at"`
}

// outboundItem is a sent message in a conversation.
type outboundItem struct {
	messageView
	Direction string `json:"direction"`
}

func inboundViewOf(rec *engine.InboundRecord) (inboundView, error) {
	v := inboundView{ID: rec.ID, Direction: engine.DirectionInbound, From: rec.From, To: rec.Number, WAMID: rec.WAMID,
		Type: rec.Type, Name: rec.Name, At: rec.At.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	m, err := rec.Decoded()
	if err != nil {
		return v, err
	}
	switch {
	case m.Text != nil:
		v.Text = m.Text.Body
	case m.Button != nil:
		v.Text = m.Button.Text
		v.Interactive = &replyView{Type: "button", ID: m.Button.Payload, Title: m.Button.Text}
	case m.Interactive != nil:
		it := m.Interactive
		switch {
		case it.ButtonReply != nil:
			v.Interactive = &replyView{Type: "button_reply", ID: it.ButtonReply.ID, Title: it.ButtonReply.Title}
		case it.ListReply != nil:
			v.Interactive = &replyView{Type: "list_reply", ID: it.ListReply.ID, Title: it.ListReply.Title}
		case it.NFMReply != nil:
			v.Interactive = &replyView{Type: "nfm_reply", ID: it.NFMReply.Name, Title: it.NFMReply.Body, ResponseJSON: it.NFMReply.ResponseJSON}
		}
		if v.Interactive != nil {
			v.Text = v.Interactive.Title
		}
	}
	if md := engine.MediaOf(m); md != nil {
		v.Media = &inboundMediaView{ID: md.ID, MimeType: md.MimeType, SHA256: md.SHA256, Caption: md.Caption, Filename: md.Filename,
			URL: "/v1/media/" + md.ID}
	}
	v.Location, v.Contacts = m.Location, m.Contacts
	if m.Reaction != nil {
		v.Reaction = &reactionView{WAMID: m.Reaction.MessageID, Emoji: m.Reaction.Emoji}
		if rec.Reaction != nil {
			v.Reaction.MessageID = rec.Reaction.MessageID
		}
	}
	if rec.Context != nil {
		v.Context = &refView{MessageID: rec.Context.MessageID, WAMID: rec.Context.WAMID}
	}
	return v, nil
}

// conversationCursor takes the id of a conversation's item: a message's or an inbound
// message's.
func conversationCursor(c string) bool { return idCursor("msg")(c) || idCursor("inb")(c) }

// listInbound serves GET /v1/messages?direction=inbound: the account's inbound
// messages, newest first, optionally from one customer.
func (s *Server) listInbound(r *http.Request, c *caller) (int, any, error) {
	q := r.URL.Query()
	for _, f := range []string{"status", "campaign_id", "to"} {
		if q.Get(f) != "" {
			return 0, nil, invalid(f, "filters outbound messages only; inbound ones filter by from")
		}
	}
	cursor, aerr := queryCursor(r, idCursor("inb"))
	if aerr != nil {
		return 0, nil, aerr
	}
	limit, aerr := queryLimit(r, 50, engine.MaxListLimit)
	if aerr != nil {
		return 0, nil, aerr
	}
	from := ""
	if raw := q.Get("from"); raw != "" {
		if from, aerr = normalizePhone("from", raw, c.account); aerr != nil {
			return 0, nil, aerr
		}
	}
	recs, next, err := s.opts.Engine.InboundList(c.account.ID, from, cursor, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("api: inbound messages: %w", err)
	}
	out := make([]inboundView, 0, len(recs))
	for _, rec := range recs {
		v, err := inboundViewOf(rec)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, v)
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}

// conversation serves GET /v1/contacts/{phone}/messages: both directions with the
// contact, newest first. Records are the account's own, so another account's
// conversation with the same phone is simply not there.
func (s *Server) conversation(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	e164, aerr := s.contactPhone(p, c)
	if aerr != nil {
		return 0, nil, aerr
	}
	cursor, aerr := queryCursor(r, conversationCursor)
	if aerr != nil {
		return 0, nil, aerr
	}
	limit, aerr := queryLimit(r, 50, engine.MaxListLimit)
	if aerr != nil {
		return 0, nil, aerr
	}
	items, next, err := s.opts.Engine.Conversation(c.account.ID, e164, cursor, limit)
	if err != nil {
		return 0, nil, fmt.Errorf("api: conversation: %w", err)
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		if it.Message != nil {
			out = append(out, outboundItem{messageView: viewIn(it.Message, s.account(it.Message.AccountID).Locale), Direction: engine.DirectionOutbound})
			continue
		}
		v, err := inboundViewOf(it.Inbound)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, v)
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}

// safeFilename is a filename that may go into Content-Disposition as it is.
var safeFilename = regexp.MustCompile(`^[A-Za-z0-9._ ()-]{1,128}$`)

// media serves GET /v1/media/{id}: the file of one of the account's inbound messages,
// fetched from the provider with its number's token and streamed.
func (s *Server) media(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	id := p.ByName("id")
	notFound := &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such media"}
	rec, err := s.opts.Engine.InboundByMedia(c.account.ID, id)
	if errors.Is(err, engine.ErrInboundNotFound) {
		return 0, nil, notFound
	}
	if err != nil {
		return 0, nil, fmt.Errorf("api: media %s: %w", id, err)
	}
	if aerr := c.may(rec.Account); aerr != nil {
		aerr.Message = notFound.Message
		return 0, nil, aerr
	}
	src := s.opts.Media[rec.Number]
	if src == nil {
		return 0, nil, &Error{Status: http.StatusServiceUnavailable, Code: "media_unavailable",
			Message: "no provider client for the number " + rec.Number + " to fetch the media from"}
	}
	info, err := src.MediaInfo(r.Context(), id)
	if err != nil {
		return 0, nil, mediaError(err)
	}
	if info.FileSize > MaxMediaDownload {
		return 0, nil, tooLarge(info.FileSize)
	}
	body, ctype, size, err := src.DownloadMedia(r.Context(), info.URL)
	if err != nil {
		return 0, nil, mediaError(err)
	}
	if size > MaxMediaDownload {
		body.Close()
		return 0, nil, tooLarge(size)
	}
	if size < 0 && info.FileSize > 0 {
		size = info.FileSize
	}
	ctype = cmpOr(ctype, info.MimeType, "application/octet-stream")
	md, _ := rec.Decoded()
	filename := ""
	if md != nil {
		if f := engine.MediaOf(md); f != nil && safeFilename.MatchString(f.Filename) && !strings.HasPrefix(f.Filename, ".") {
			filename = f.Filename
		}
	}
	return http.StatusOK, streamResponse{contentType: ctype, filename: filename, length: size,
		write: func(w io.Writer) error {
			defer body.Close()
			n, err := io.Copy(w, io.LimitReader(body, MaxMediaDownload+1))
			if err != nil {
				return fmt.Errorf("api: media %s: after %d bytes: %w", id, n, err)
			}
			if n > MaxMediaDownload {
				return fmt.Errorf("api: media %s: cut at %d bytes", id, int64(MaxMediaDownload))
			}
			return nil
		}}, nil
}

func tooLarge(size int64) *Error {
	return &Error{Status: http.StatusBadGateway, Code: "media_too_large",
		Message: fmt.Sprintf("the media file is %d bytes; Kirim streams at most %d", size, int64(MaxMediaDownload))}
}

// mediaError answers a provider's refusal to hand over a media file: gone (Meta keeps
// inbound media for a limited time) is 404, anything else 502.
func mediaError(err error) *Error {
	if pe, ok := provider.AsError(err); ok {
		if pe.HTTPStatus == http.StatusNotFound || (pe.HTTPStatus == http.StatusBadRequest && pe.Code == provider.CodeInvalidParameter) {
			return &Error{Status: http.StatusNotFound, Code: "media_gone", Message: "the provider no longer has this media file"}
		}
		return &Error{Status: http.StatusBadGateway, Code: "provider_error", Message: "the provider refused the media file: " + pe.Error()}
	}
	return &Error{Status: http.StatusBadGateway, Code: "provider_unavailable", Message: "the provider could not be reached for the media file"}
}

func cmpOr(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// replyContext turns a send's context.message_id given as one of the account's own
// ids (an outbound msg_ that was sent, an inbound inb_) into the provider's wamid;
// anything else passes as a wamid.
func (s *Server) replyContext(c *caller, ctx *provider.Context) *Error {
	if ctx == nil {
		return nil
	}
	id := ctx.MessageID
	switch {
	case id == "":
		return invalid("context.message_id", "is required with context")
	case idCursor("inb")(id):
		rec, err := s.opts.Engine.Inbound(c.account.ID, id)
		if err != nil {
			return invalid("context.message_id", "%q is not an inbound message of this account", id)
		}
		ctx.MessageID = rec.WAMID
	case idCursor("msg")(id):
		m, err := s.opts.Engine.Get(id)
		if err != nil || c.may(m.AccountID) != nil {
			return invalid("context.message_id", "%q is not a message of this account", id)
		}
		if m.WAMID == "" {
			return &Error{Status: http.StatusConflict, Code: "not_sent_yet", Field: "context.message_id",
				Message: "context.message_id: the message has no provider id yet; reply once it is sent"}
		}
		ctx.MessageID = m.WAMID
	}
	return nil
}
