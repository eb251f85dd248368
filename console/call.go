package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// apiError is an answer of the API other than a success: its status and envelope.
type apiError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// badRequest is a form's own refusal, before any call.
func badRequest(field, msg string) error {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_field", Field: field, Message: field + ": " + msg}
}

func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusInternalServerError
}

// messageOf is what the user is shown of an error: the API's message (it names the
// field), never an internal error's text.
func (v *visit) messageOf(err error) string {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status < 500 {
		return ae.Message
	}
	v.c.log.Error("console: request failed", "path", v.r.URL.Path, "err", err)
	return v.t("error.internal")
}

// capture is an in-memory ResponseWriter for an in-process API call.
type capture struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (c *capture) Header() http.Header { return c.h }
func (c *capture) WriteHeader(s int) {
	if c.status == 0 {
		c.status = s
	}
}
func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.buf.Write(b)
}

// request builds an in-process API request as the user, for the account the visit
// acts on (an operator names it as its key would, with ?account=).
func (v *visit) request(method, path string, q url.Values, body io.Reader, ctype string) (*http.Request, error) {
	if q == nil {
		q = url.Values{}
	}
	if v.principal().Operator && v.account.ID != "" && q.Get("account") == "" && !instancePath(method, path) {
		q.Set("account", v.account.ID)
	}
	if body == nil {
		// The API reads a POST's body whole: a call without one sends an empty one.
		body = http.NoBody
	}
	target := path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	if body == nil {
		// The API reads the body of every POST: an empty one, not a missing one.
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(v.r.Context(), method, target, body)
	if err != nil {
		return nil, fmt.Errorf("console: %s %s: %w", method, path, err)
	}
	req.RemoteAddr = v.r.RemoteAddr
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return req, nil
}

// instancePath lists the API calls an operator makes for the whole instance from the
// console, without an account.
func instancePath(method, path string) bool {
	return path == "/v1/accounts" || path == "/v1/admin/storage" || path == "/v1/webhooks/dead" ||
		strings.HasPrefix(path, "/v1/webhooks/dead/")
}

// call makes an API call as the user and decodes a JSON answer into out (nil: the
// answer is dropped). An answer of 400 or more is returned as *apiError.
func (v *visit) call(method, path string, q url.Values, body, out any) error {
	var rd io.Reader
	ctype := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("console: encode %s %s: %w", method, path, err)
		}
		rd, ctype = bytes.NewReader(b), "application/json"
	}
	req, err := v.request(method, path, q, rd, ctype)
	if err != nil {
		return err
	}
	rec := &capture{h: http.Header{}}
	v.c.opts.API.ServeAs(rec, req, v.principal())
	return rec.decode(method, path, out)
}

// get is call for a GET into a generic JSON object.
func (v *visit) get(path string, q url.Values) (obj, error) {
	var out obj
	err := v.call(http.MethodGet, path, q, nil, &out)
	return out, err
}

// obj is a JSON object of the API, as the templates read it.
type obj = map[string]any

// decode turns an in-process answer into out (nil: dropped), or an answer of 400 or
// more into *apiError.
func (c *capture) decode(method, path string, out any) error {
	if c.status >= 400 {
		return errorOfAnswer(c.status, c.buf.Bytes())
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(c.buf.Bytes(), out); err != nil {
		return fmt.Errorf("console: decode %s %s: %w", method, path, err)
	}
	return nil
}
