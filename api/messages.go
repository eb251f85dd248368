package api

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"kirim/engine"
	"kirim/phone"
	"kirim/provider"
	"kirim/template"
)

// Limits on a send request, from the Cloud API's.
const (
	MaxTextBody = 4096
	MaxCaption  = 1024
)

// sendRequest is the body of POST /v1/messages.
type sendRequest struct {
	To           string                `json:"to"`
	From         string                `json:"from"`
	Template     *templateRequest      `json:"template"`
	Text         *provider.Text        `json:"text"`
	Image        *provider.Media       `json:"image"`
	Video        *provider.Media       `json:"video"`
	Document     *provider.Media       `json:"document"`
	Audio        *provider.Media       `json:"audio"`
	Sticker      *provider.Media       `json:"sticker"`
	Location     *provider.Location    `json:"location"`
	Contacts     []provider.Contact    `json:"contacts"`
	Interactive  *provider.Interactive `json:"interactive"`
	Context      *provider.Context     `json:"context"`
	CallbackData string                `json:"callback_data"`
}

type templateRequest struct {
	Name     string          `json:"name"`
	Language string          `json:"language"`
	Header   *headerParam    `json:"header"`
	Body     json.RawMessage `json:"body"`
	Buttons  []buttonParam   `json:"buttons"`
	// Components passes Cloud API template components through unchanged, for shapes the
	// short form does not cover (currency, date_time).
	Components []provider.TemplateComponent `json:"components"`
}

type headerParam struct {
	Type     string             `json:"type"`
	Text     string             `json:"text"`
	Link     string             `json:"link"`
	ID       string             `json:"id"`
	Filename string             `json:"filename"`
	Location *provider.Location `json:"location"`
}

type buttonParam struct {
	Index      int    `json:"index"`
	Type       string `json:"type"`
	Text       string `json:"text"`
	Payload    string `json:"payload"`
	CouponCode string `json:"coupon_code"`
}

func (s *Server) sendMessage(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	idemKey := r.Header.Get("Idempotency-Key")
	if len(idemKey) > MaxIdempotencyKeyLen {
		return 0, nil, &Error{Status: http.StatusBadRequest, Code: "invalid_header", Field: "Idempotency-Key", Message: fmt.Sprintf("Idempotency-Key: at most %d characters", MaxIdempotencyKeyLen)}
	}
	hash := sha256.Sum256(c.body)
	res, err := s.submit(r, c, idemKey, hash[:])
	if err != nil {
		// A retry answers what the first request was answered, even if the rules would
		// now refuse it. Looked up only on a refusal: an accept's own commit looks the key
		// up anyway, and a lookup of a key not stored walks every level of Badger.
		prev, perr := s.opts.Engine.Replay(c.account.ID, idemKey, hash[:])
		if perr != nil {
			return 0, nil, s.engineError(perr)
		}
		if prev != nil {
			return http.StatusAccepted, json.RawMessage(prev.Response), nil
		}
		return 0, nil, err
	}
	return http.StatusAccepted, json.RawMessage(res.Response), nil
}

// submit validates a send request and queues its message; a repeated idempotency key
// with the same body gets the first answer from the engine.
func (s *Server) submit(r *http.Request, c *caller, idemKey string, hash []byte) (*engine.SubmitResult, error) {
	var req sendRequest
	if err := decodeStrict(c.body, &req); err != nil {
		return nil, err
	}
	m, send, err := s.buildMessage(&req, c)
	if err != nil {
		return nil, err
	}
	res, serr := s.opts.Engine.Submit(r.Context(), engine.SubmitRequest{
		Message: m, Send: send, IdempotencyKey: idemKey, RequestHash: hash,
		Render: func(m *engine.Message) ([]byte, error) { return json.Marshal(s.acceptedView(m)) },
	})
	if serr != nil {
		return nil, s.engineError(serr)
	}
	return res, nil
}

// buildMessage validates the request and turns it into the engine's message and the
// provider's request.
func (s *Server) buildMessage(req *sendRequest, c *caller) (*engine.Message, *provider.Message, *Error) {
	acct := c.account
	if req.To == "" {
		return nil, nil, invalid("to", "is required")
	}
	to, aerr := normalizePhone("to", req.To, acct)
	if aerr != nil {
		return nil, nil, aerr
	}
	num, aerr := s.numberFor(c, "from", req.From)
	if aerr != nil {
		return nil, nil, aerr
	}
	if len(req.CallbackData) > MaxCallbackData {
		return nil, nil, invalid("callback_data", "at most %d bytes", MaxCallbackData)
	}
	if aerr := s.replyContext(c, req.Context); aerr != nil {
		return nil, nil, aerr
	}
	send := &provider.Message{Context: req.Context}
	m := &engine.Message{AccountID: acct.ID, Number: num.Alias, To: to, CallbackData: req.CallbackData, Currency: acct.Currency}

	kinds := 0
	for _, set := range []bool{req.Template != nil, req.Text != nil, req.Image != nil, req.Video != nil, req.Document != nil,
		req.Audio != nil, req.Sticker != nil, req.Location != nil, req.Contacts != nil, req.Interactive != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return nil, nil, invalid("template", "give exactly one of template, text, image, video, document, audio, sticker, location, contacts, interactive")
	}
	if req.Template != nil {
		if aerr := s.buildTemplate(req.Template, num, m, send); aerr != nil {
			return nil, nil, aerr
		}
		if aerr := s.checkOptOut(num, m); aerr != nil {
			return nil, nil, aerr
		}
		return m, send, nil
	}
	m.Category = "service"
	switch {
	case req.Text != nil:
		if strings.TrimSpace(req.Text.Body) == "" {
			return nil, nil, invalid("text.body", "is required")
		}
		if utf8.RuneCountInString(req.Text.Body) > MaxTextBody {
			return nil, nil, invalid("text.body", "at most %d characters", MaxTextBody)
		}
		send.Type, send.Text = provider.TypeText, req.Text
	case req.Image != nil:
		send.Type, send.Image = provider.TypeImage, req.Image
	case req.Video != nil:
		send.Type, send.Video = provider.TypeVideo, req.Video
	case req.Document != nil:
		send.Type, send.Document = provider.TypeDocument, req.Document
	case req.Audio != nil:
		send.Type, send.Audio = provider.TypeAudio, req.Audio
	case req.Sticker != nil:
		send.Type, send.Sticker = provider.TypeSticker, req.Sticker
	case req.Location != nil:
		if req.Location.Latitude < -90 || req.Location.Latitude > 90 || req.Location.Longitude < -180 || req.Location.Longitude > 180 {
			return nil, nil, invalid("location", "latitude must be within ±90 and longitude within ±180")
		}
		send.Type, send.Location = provider.TypeLocation, req.Location
	case req.Contacts != nil:
		if len(req.Contacts) == 0 {
			return nil, nil, invalid("contacts", "must hold at least one contact")
		}
		for i, ct := range req.Contacts {
			if ct.Name.FormattedName == "" {
				return nil, nil, invalid(fmt.Sprintf("contacts[%d].name.formatted_name", i), "is required")
			}
		}
		send.Type, send.Contacts = provider.TypeContacts, req.Contacts
	case req.Interactive != nil:
		if aerr := checkInteractive(req.Interactive); aerr != nil {
			return nil, nil, aerr
		}
		send.Type, send.Interactive = provider.TypeInteractive, req.Interactive
	}
	for name, md := range map[string]*provider.Media{"image": req.Image, "video": req.Video, "document": req.Document, "audio": req.Audio, "sticker": req.Sticker} {
		if md == nil {
			continue
		}
		if (md.ID == "") == (md.Link == "") {
			return nil, nil, invalid(name, "give id (an uploaded media id) or link, not both")
		}
		if md.Link != "" {
			if u, err := url.Parse(md.Link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return nil, nil, invalid(name+".link", "%q is not an http(s) URL", md.Link)
			}
		}
		if utf8.RuneCountInString(md.Caption) > MaxCaption {
			return nil, nil, invalid(name+".caption", "at most %d characters", MaxCaption)
		}
	}
	m.Type = send.Type
	// Free-form messages need the customer's open service window.
	ct, err := s.opts.Engine.ContactOf(num.PhoneNumberID, phone.WaID(to))
	if err != nil {
		return nil, nil, &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
	if !ct.WindowOpen(s.clock.Now()) {
		return nil, nil, &Error{Status: http.StatusUnprocessableEntity, Code: "outside_window", Field: "to",
			Message: "to: the customer has not written in the last 24 hours; only a template may start the conversation"}
	}
	return m, send, nil
}

func checkInteractive(in *provider.Interactive) *Error {
	switch in.Type {
	case "button":
		if n := len(in.Action.Buttons); n < 1 || n > 3 {
			return invalid("interactive.action.buttons", "give 1 to 3 reply buttons")
		}
		for i, b := range in.Action.Buttons {
			if b.Reply.ID == "" || b.Reply.Title == "" || utf8.RuneCountInString(b.Reply.Title) > 20 {
				return invalid(fmt.Sprintf("interactive.action.buttons[%d].reply", i), "needs an id and a title of at most 20 characters")
			}
		}
	case "list":
		rows := 0
		for _, sec := range in.Action.Sections {
			rows += len(sec.Rows)
		}
		if in.Action.Button == "" || len(in.Action.Sections) == 0 || len(in.Action.Sections) > 10 || rows == 0 || rows > 10 {
			return invalid("interactive.action", "a list needs a button label and 1 to 10 rows in at most 10 sections")
		}
	default:
		return invalid("interactive.type", "%q is not button or list", in.Type)
	}
	if in.Body == nil || in.Body.Text == "" {
		return invalid("interactive.body.text", "is required")
	}
	return nil
}

func (s *Server) buildTemplate(tr *templateRequest, num engine.Number, m *engine.Message, send *provider.Message) *Error {
	if tr.Name == "" {
		return invalid("template.name", "is required")
	}
	if tr.Language == "" {
		return invalid("template.language", "is required")
	}
	var tpl *template.Template
	if s.opts.Templates != nil {
		t, ok := s.opts.Templates.Lookup(num.WABAID, tr.Name, tr.Language)
		if !ok {
			return &Error{Status: http.StatusUnprocessableEntity, Code: "template_not_approved", Field: "template.name",
				Message: fmt.Sprintf("template.name: %q in %q is not a known template of this number", tr.Name, tr.Language)}
		}
		if t.Status != template.StatusApproved {
			return &Error{Status: http.StatusUnprocessableEntity, Code: "template_not_approved", Field: "template.name",
				Message: fmt.Sprintf("template.name: %q is %s, not APPROVED", tr.Name, t.Status), Extra: map[string]any{"template_status": t.Status}}
		}
		tpl = t
	}
	pt := &provider.Template{Name: tr.Name, Language: provider.Language{Code: tr.Language}}
	if len(tr.Components) > 0 {
		pt.Components = tr.Components
	} else {
		comps, aerr := shortComponents(tr, tpl)
		if aerr != nil {
			return aerr
		}
		pt.Components = comps
	}
	if tpl != nil {
		if aerr := checkParams(tpl, pt); aerr != nil {
			return aerr
		}
		m.Category = strings.ToLower(string(tpl.Category))
	} else {
		m.Category = "marketing"
	}
	send.Type, send.Template = provider.TypeTemplate, pt
	m.Type = provider.TypeTemplate
	m.Template = &engine.TemplateRef{Name: tr.Name, Language: tr.Language}
	return nil
}

// shortComponents turns the API's short form (header, body list or map, buttons) into
// Cloud API components.
func shortComponents(tr *templateRequest, tpl *template.Template) ([]provider.TemplateComponent, *Error) {
	var comps []provider.TemplateComponent
	if h := tr.Header; h != nil {
		var p provider.Parameter
		switch h.Type {
		case "text":
			p = provider.Parameter{Type: "text", Text: h.Text}
		case "image", "video", "document":
			if (h.Link == "") == (h.ID == "") {
				return nil, invalid("template.header", "give link or id for a %s header", h.Type)
			}
			md := &provider.Media{Link: h.Link, ID: h.ID, Filename: h.Filename}
			p = provider.Parameter{Type: h.Type}
			switch h.Type {
			case "image":
				p.Image = md
			case "video":
				p.Video = md
			default:
				p.Document = md
			}
		case "location":
			if h.Location == nil {
				return nil, invalid("template.header.location", "is required for a location header")
			}
			p = provider.Parameter{Type: "location", Location: h.Location}
		default:
			return nil, invalid("template.header.type", "%q is not text, image, video, document or location", h.Type)
		}
		comps = append(comps, provider.TemplateComponent{Type: "header", Parameters: []provider.Parameter{p}})
	}
	if len(tr.Body) > 0 && string(tr.Body) != "null" {
		var list []string
		var named map[string]string
		if err := json.Unmarshal(tr.Body, &list); err != nil {
			if err := json.Unmarshal(tr.Body, &named); err != nil {
				return nil, invalid("template.body", "must be a list of strings, or an object of named values")
			}
		}
		var ps []provider.Parameter
		for _, v := range list {
			ps = append(ps, provider.Parameter{Type: "text", Text: v})
		}
		if named != nil {
			order := make([]string, 0, len(named))
			if tpl != nil {
				order = append(order, tpl.Params().Body.Names...)
			}
			if len(order) == 0 {
				for k := range named {
					order = append(order, k)
				}
			}
			for _, k := range order {
				if v, ok := named[k]; ok {
					ps = append(ps, provider.Parameter{Type: "text", ParameterName: k, Text: v})
				}
			}
		}
		if len(ps) > 0 {
			comps = append(comps, provider.TemplateComponent{Type: "body", Parameters: ps})
		}
	}
	for i, b := range tr.Buttons {
		c := provider.TemplateComponent{Type: "button", Index: strconv.Itoa(b.Index)}
		switch b.Type {
		case "url":
			c.SubType = "url"
			// The short form takes the raw value; the URL needs it percent-encoded.
			c.Parameters = []provider.Parameter{{Type: "text", Text: template.EncodeURLParam(b.Text)}}
		case "quick_reply":
			c.SubType = "quick_reply"
			c.Parameters = []provider.Parameter{{Type: "payload", Payload: b.Payload}}
		case "copy_code":
			c.SubType = "copy_code"
			c.Parameters = []provider.Parameter{{Type: "coupon_code", CouponCode: b.CouponCode}}
		default:
			return nil, invalid(fmt.Sprintf("template.buttons[%d].type", i), "%q is not url, quick_reply or copy_code", b.Type)
		}
		if b.Index < 0 || b.Index > 9 {
			return nil, invalid(fmt.Sprintf("template.buttons[%d].index", i), "must be 0 to 9")
		}
		comps = append(comps, c)
	}
	return comps, nil
}

// checkParams checks the send against the template (status, parameter counts and
// kinds, filled length).
func checkParams(t *template.Template, pt *provider.Template) *Error {
	err := template.CheckSend(*t, *pt)
	if err == nil {
		return nil
	}
	var se *template.SendError
	if !errors.As(err, &se) {
		return invalid("template", "%v", err)
	}
	field := "template"
	if se.Component != "" && se.Component != "template" {
		field = "template." + se.Component
	}
	code := se.Code
	if code == template.CodeBodyTooLong || code == template.CodeParamInvalid {
		code = "param_invalid"
	}
	e := &Error{Status: http.StatusUnprocessableEntity, Code: code, Field: field, Message: field + ": " + se.Message}
	if se.Status != "" {
		e.Extra = map[string]any{"template_status": se.Status}
	}
	return e
}

func (s *Server) engineError(err error) error {
	switch {
	case errors.Is(err, engine.ErrIdempotencyConflict):
		return &Error{Status: http.StatusConflict, Code: "idempotency_conflict", Field: "Idempotency-Key",
			Message: "Idempotency-Key: already used with a different request"}
	case errors.Is(err, engine.ErrUnknownNumber):
		return invalid("from", "not a configured number")
	case errors.Is(err, engine.ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Code: "shutting_down", Message: "shutting down, retry shortly"}
	case errors.Is(err, engine.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such message"}
	case errors.Is(err, engine.ErrNotCancellable):
		return &Error{Status: http.StatusConflict, Code: "not_cancellable", Message: "the message is already on its way"}
	case errors.Is(err, engine.ErrNotUnknown):
		return &Error{Status: http.StatusConflict, Code: "not_unknown", Message: "only a message whose outcome is unknown can be resolved"}
	}
	var coded interface{ Code() string }
	if errors.As(err, &coded) && coded.Code() == "price_missing" {
		msg := err.Error()
		if i := strings.Index(msg, "the rate card"); i >= 0 {
			msg = msg[i:]
		}
		if i := strings.Index(msg, ": no price"); i >= 0 {
			msg = msg[:i]
		}
		return &Error{Status: http.StatusUnprocessableEntity, Code: "price_missing", Message: msg + ": add it to [[rate_cards]]"}
	}
	if code := billingCode(err); code != "" {
		return &Error{Status: http.StatusPaymentRequired, Code: code, Message: "the balance cannot pay for this message"}
	}
	return err
}

// billingCode recognises a refusal by the biller (the ledger wraps ErrInsufficientBalance).
func billingCode(err error) string {
	var coded interface{ Code() string }
	if errors.As(err, &coded) && coded.Code() == "insufficient_balance" {
		return "insufficient_balance"
	}
	if strings.Contains(err.Error(), "insufficient balance") || strings.Contains(err.Error(), "insufficient_balance") {
		return "insufficient_balance"
	}
	return ""
}

type acceptedView struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	To           string `json:"to"`
	From         string `json:"from"`
	Category     string `json:"category"`
	Price        Money  `json:"price"`
	CallbackData string `json:"callback_data,omitempty"`
	CreatedAt    string `json:"created_at"`
}

func (s *Server) acceptedView(m *engine.Message) acceptedView {
	return acceptedView{ID: m.ID, Status: string(engine.Queued), To: m.To, From: m.Number, Category: m.Category,
		Price: NewMoneyIn(m.Price, m.Currency, s.account(m.AccountID).Locale), CallbackData: m.CallbackData, CreatedAt: m.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
}

type messageView struct {
	ID            string               `json:"id"`
	Status        string               `json:"status"`
	StatusHistory []engine.StateChange `json:"status_history"`
	To            string               `json:"to"`
	From          string               `json:"from"`
	Type          string               `json:"type"`
	Template      *engine.TemplateRef  `json:"template,omitempty"`
	Category      string               `json:"category"`
	Price         Money                `json:"price"`
	Charged       Money                `json:"charged"`
	WAMID         string               `json:"wamid,omitempty"`
	Error         *engine.MessageError `json:"error,omitempty"`
	WaitingReason string               `json:"waiting_reason,omitempty"`
	ETA           any                  `json:"eta,omitempty"`
	Attempts      int                  `json:"attempts"`
	CallbackData  string               `json:"callback_data,omitempty"`
	CampaignID    string               `json:"campaign_id,omitempty"`
	CreatedAt     string               `json:"created_at"`
	UpdatedAt     string               `json:"updated_at"`
}

// viewOf is a message as the API shows it, its money in the default form (events,
// exports); viewIn in a locale's.
func viewOf(m *engine.Message) messageView { return viewIn(m, "") }

func viewIn(m *engine.Message, locale string) messageView {
	v := messageView{ID: m.ID, Status: string(m.State), StatusHistory: m.History, To: m.To, From: m.Number, Type: m.Type,
		Template: m.Template, Category: m.Category, Price: NewMoneyIn(m.Price, m.Currency, locale), Charged: NewMoneyIn(m.Charged, m.Currency, locale),
		WAMID: m.WAMID, Error: m.Error, WaitingReason: m.WaitingReason, ETA: timeOrNil(m.ETA), Attempts: m.Attempts,
		CallbackData: m.CallbackData, CampaignID: m.CampaignID,
		CreatedAt: m.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00"), UpdatedAt: m.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	if m.Error != nil && m.Error.Class == "" && m.Error.Code == 0 {
		v.Error = nil
	}
	return v
}

func (s *Server) getMessage(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	m, err := s.opts.Engine.Get(p.ByName("id"))
	if err != nil {
		return 0, nil, s.engineError(err)
	}
	if aerr := c.may(m.AccountID); aerr != nil {
		aerr.Message = "no such message"
		return 0, nil, aerr
	}
	return http.StatusOK, viewIn(m, s.account(m.AccountID).Locale), nil
}

func (s *Server) cancelMessage(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	m, err := s.opts.Engine.Get(p.ByName("id"))
	if err != nil {
		return 0, nil, s.engineError(err)
	}
	if aerr := c.may(m.AccountID); aerr != nil {
		aerr.Message = "no such message"
		return 0, nil, aerr
	}
	m, err = s.opts.Engine.Cancel(r.Context(), m.ID)
	if err != nil {
		return 0, nil, s.engineError(err)
	}
	return http.StatusOK, viewIn(m, s.account(m.AccountID).Locale), nil
}

type resolveRequest struct {
	// Action is "fail" (failed with code -1, hold released) or "resend" (queued again).
	Action string `json:"action"`
}

// resolveMessage settles an unknown message (in flight at a crash, no status since)
// before its unknown_timeout, by the action the operator chooses.
func (s *Server) resolveMessage(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	var req resolveRequest
	if aerr := decodeStrict(c.body, &req); aerr != nil {
		return 0, nil, aerr
	}
	if req.Action != engine.ResolveFail && req.Action != engine.ResolveResend {
		return 0, nil, invalid("action", "%q is not %q or %q", req.Action, engine.ResolveResend, engine.ResolveFail)
	}
	m, err := s.opts.Engine.Get(p.ByName("id"))
	if err != nil {
		return 0, nil, s.engineError(err)
	}
	if aerr := c.may(m.AccountID); aerr != nil {
		aerr.Message = "no such message"
		return 0, nil, aerr
	}
	m, err = s.opts.Engine.Resolve(r.Context(), m.ID, req.Action)
	if err != nil {
		return 0, nil, s.engineError(err)
	}
	return http.StatusOK, viewIn(m, s.account(m.AccountID).Locale), nil
}

func (s *Server) listMessages(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	q := r.URL.Query()
	switch d := q.Get("direction"); d {
	case engine.DirectionInbound:
		return s.listInbound(r, c)
	case "", engine.DirectionOutbound:
	default:
		return 0, nil, invalid("direction", "%q is not inbound or outbound", d)
	}
	cursor, aerr := queryCursor(r, idCursor("msg"))
	if aerr != nil {
		return 0, nil, aerr
	}
	f := engine.ListFilter{AccountID: c.account.ID, State: engine.State(q.Get("status")), CampaignID: q.Get("campaign_id"), Cursor: cursor}
	if st := q.Get("status"); st != "" && !validState(engine.State(st)) {
		return 0, nil, invalid("status", "%q is not a message status", st)
	}
	if to := q.Get("to"); to != "" {
		e164, aerr := normalizePhone("to", to, c.account)
		if aerr != nil {
			return 0, nil, aerr
		}
		f.To = e164
	}
	limit, aerr := queryLimit(r, 0, engine.MaxListLimit)
	if aerr != nil {
		return 0, nil, aerr
	}
	f.Limit = limit
	ms, next, err := s.opts.Engine.List(f)
	if err != nil {
		return 0, nil, err
	}
	out := make([]messageView, 0, len(ms))
	for _, m := range ms {
		out = append(out, viewIn(m, s.account(m.AccountID).Locale))
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}

func validState(s engine.State) bool {
	switch s {
	case engine.Queued, engine.Waiting, engine.Dispatching, engine.Unknown, engine.Held, engine.Sent,
		engine.Delivered, engine.Read, engine.Failed, engine.Cancelled:
		return true
	}
	return false
}
