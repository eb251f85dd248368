// Package provider owns the WhatsApp Cloud API wire format: the types of sends,
// template management and webhooks, the client that speaks it over HTTP, and the
// typed errors (with a retry class) parsed from its answers. It knows nothing of
// ledgers or campaigns. Its sandbox subpackage simulates the API.
package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultBaseURL and DefaultVersion are Meta's; a BSP or the sandbox replaces them.
const (
	DefaultBaseURL = "https://graph.facebook.com"
	DefaultVersion = "v25.0"
)

// maxResponseBody caps what the client reads from any answer.
const maxResponseBody = 1 << 20

// Config says where one number's requests go and how they authenticate.
type Config struct {
	BaseURL       string // default DefaultBaseURL
	Version       string // default DefaultVersion
	Token         string // system-user access token
	PhoneNumberID string
	WABAID        string
	// HTTP is the client to use; default a client on NewTransport with a 30 s timeout.
	HTTP *http.Client
}

// Client talks to the Cloud API for one phone number (and its WABA).
type Client struct {
	cfg  Config
	http *http.Client
	base string
}

// NewTransport returns a keep-alive transport sized for about 1,000 requests a second to
// one host: enough idle connections that a burst does not dial again.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Transport: NewTransport(), Timeout: 30 * time.Second}
	}
	return &Client{cfg: cfg, http: hc, base: strings.TrimRight(cfg.BaseURL, "/") + "/" + cfg.Version}
}

// Config returns the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// TransportError is a failure to get an answer. NotSent is true when the request
// certainly did not reach the provider (it was never fully written), so repeating it
// cannot send twice; otherwise the outcome is unknown.
type TransportError struct {
	Op      string
	NotSent bool
	Err     error
}

func (e *TransportError) Error() string {
	state := "outcome unknown"
	if e.NotSent {
		state = "not sent"
	}
	return fmt.Sprintf("provider: %s: %s: %v", e.Op, state, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// SendMessage sends one message. On an error answer it returns *Error; on a transport
// failure *TransportError.
func (c *Client) SendMessage(ctx context.Context, m *Message) (*SendResponse, error) {
	// A copy, so a caller may send the same *Message from several goroutines.
	msg := *m
	if msg.MessagingProduct == "" {
		msg.MessagingProduct = "whatsapp"
	}
	var out SendResponse
	if err := c.doJSON(ctx, "send", http.MethodPost, "/"+c.cfg.PhoneNumberID+"/messages", &msg, &out); err != nil {
		return nil, err
	}
	if len(out.Messages) == 0 {
		return nil, fmt.Errorf("provider: send: answer has no message id")
	}
	return &out, nil
}

// SendMessageJSON sends a message whose request body is already encoded (the engine
// stores payloads ready to send, so a dispatch costs no re-encoding).
func (c *Client) SendMessageJSON(ctx context.Context, body []byte) (*SendResponse, error) {
	var out SendResponse
	if err := c.do(ctx, "send", http.MethodPost, "/"+c.cfg.PhoneNumberID+"/messages", "application/json", body, &out); err != nil {
		return nil, err
	}
	if len(out.Messages) == 0 {
		return nil, fmt.Errorf("provider: send: answer has no message id")
	}
	return &out, nil
}

// MarkRead marks an inbound message as read.
func (c *Client) MarkRead(ctx context.Context, wamid string) error {
	m := &Message{MessagingProduct: "whatsapp", Status: "read", MessageID: wamid}
	var out map[string]any
	return c.doJSON(ctx, "mark read", http.MethodPost, "/"+c.cfg.PhoneNumberID+"/messages", m, &out)
}

// CreateTemplate submits a template for review.
func (c *Client) CreateTemplate(ctx context.Context, t *TemplateDefinition) (*TemplateCreated, error) {
	var out TemplateCreated
	if err := c.doJSON(ctx, "create template", http.MethodPost, "/"+c.cfg.WABAID+"/message_templates", t, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTemplates returns every template of the WABA, following the pages.
func (c *Client) ListTemplates(ctx context.Context) ([]TemplateDefinition, error) {
	var all []TemplateDefinition
	q := url.Values{}
	q.Set("fields", "id,name,status,category,language,components,quality_score,rejected_reason,parameter_format")
	q.Set("limit", "100")
	for page := 0; page < 10000; page++ {
		var out TemplateList
		if err := c.doJSON(ctx, "list templates", http.MethodGet, "/"+c.cfg.WABAID+"/message_templates?"+q.Encode(), nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Data...)
		if out.Paging == nil || out.Paging.Next == "" || out.Paging.Cursors.After == "" {
			return all, nil
		}
		q.Set("after", out.Paging.Cursors.After)
	}
	return all, fmt.Errorf("provider: list templates: too many pages")
}

// DeleteTemplate deletes a template: every language of name, or only the one with hsmID.
func (c *Client) DeleteTemplate(ctx context.Context, name, hsmID string) error {
	q := url.Values{}
	q.Set("name", name)
	if hsmID != "" {
		q.Set("hsm_id", hsmID)
	}
	var out map[string]any
	return c.doJSON(ctx, "delete template", http.MethodDelete, "/"+c.cfg.WABAID+"/message_templates?"+q.Encode(), nil, &out)
}

// UploadMedia uploads a file for later sends by id.
func (c *Client) UploadMedia(ctx context.Context, filename, mimeType string, r io.Reader) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("messaging_product", "whatsapp")
	_ = w.WriteField("type", mimeType)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, filename))
	h.Set("Content-Type", mimeType)
	part, err := w.CreatePart(h)
	if err != nil {
		return "", fmt.Errorf("provider: upload media: %w", err)
	}
	if _, err := io.Copy(part, r); err != nil {
		return "", fmt.Errorf("provider: upload media: read %s: %w", filename, err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("provider: upload media: %w", err)
	}
	var out MediaUploaded
	if err := c.do(ctx, "upload media", http.MethodPost, "/"+c.cfg.PhoneNumberID+"/media", w.FormDataContentType(), buf.Bytes(), &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// MediaInfo asks where the media file id is (a customer's image, document, ...).
func (c *Client) MediaInfo(ctx context.Context, id string) (*MediaInfo, error) {
	if id == "" || strings.ContainsAny(id, "/?#") {
		return nil, fmt.Errorf("provider: media info: %q is not a media id", id)
	}
	var out MediaInfo
	if err := c.doJSON(ctx, "media info", http.MethodGet, "/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	if out.URL == "" {
		return nil, fmt.Errorf("provider: media info: the answer has no url")
	}
	return &out, nil
}

// DownloadMedia fetches a media URL of MediaInfo with the number's token. The caller
// reads the body and closes it; contentType is "" and size -1 when not said. Only the
// request's context bounds the download, so that a large file is not cut short by the
// client's timeout.
func (c *Client) DownloadMedia(ctx context.Context, mediaURL string) (body io.ReadCloser, contentType string, size int64, err error) {
	u, err := url.Parse(mediaURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", 0, fmt.Errorf("provider: download media: %q is not an http(s) URL", mediaURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", 0, fmt.Errorf("provider: download media: %w", err)
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	hc := *c.http
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", 0, &TransportError{Op: "download media", NotSent: true, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
		resp.Body.Close()
		return nil, "", 0, ParseError(resp.StatusCode, data)
	}
	return resp.Body, resp.Header.Get("Content-Type"), resp.ContentLength, nil
}

// GetPhoneNumber reads the number's fields (status, quality, limit, throughput).
func (c *Client) GetPhoneNumber(ctx context.Context) (*PhoneNumberInfo, error) {
	q := url.Values{}
	q.Set("fields", "id,display_phone_number,verified_name,status,quality_rating,name_status,throughput,whatsapp_business_manager_messaging_limit")
	var out PhoneNumberInfo
	if err := c.doJSON(ctx, "get phone number", http.MethodGet, "/"+c.cfg.PhoneNumberID+"?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *Client) doJSON(ctx context.Context, op, method, path string, in, out any) error {
	var body []byte
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("provider: %s: encode: %w", op, err)
		}
		body = b
		ctype = "application/json"
	}
	return c.do(ctx, op, method, path, ctype, body, out)
}

func (c *Client) do(ctx context.Context, op, method, path, ctype string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			wrote.Store(true)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("provider: %s: %w", op, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &TransportError{Op: op, NotSent: !wrote.Load(), Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return &TransportError{Op: op, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		return ParseError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("provider: %s: decode answer: %w", op, err)
	}
	return nil
}

// IsNotSent reports whether err certainly means the request never reached the provider
// or was refused by it, so repeating it cannot produce a duplicate. A 5xx answer is not
// such a refusal: the Cloud API has no idempotency key and a server error (or a
// gateway's error page) can follow an accepted send. Neither is an *Error without an
// HTTP status, since nothing says where it came from.
func IsNotSent(err error) bool {
	if pe, ok := AsError(err); ok {
		// Meta has no idempotency key: after a 5xx, even one in its own envelope, the
		// message may have gone out, so only a 4xx answer is a certain refusal.
		return pe.HTTPStatus > 0 && pe.HTTPStatus < 500
	}
	var te *TransportError
	return errors.As(err, &te) && te.NotSent
}
