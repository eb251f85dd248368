package console

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
)

// maxErrorBody bounds what is kept of an API error's answer: its envelope is small.
const maxErrorBody = 64 << 10

// stream makes an API call as the user and passes a successful answer straight to the
// browser, headers and all (CSV exports, media), without holding it in memory. ctype
// is the body's Content-Type; for a call without a body it is the type asked for
// (Accept), e.g. "text/csv". An answer of 400 or more is not passed on: it comes back
// as *apiError, for the console's own error page.
func (v *visit) stream(w http.ResponseWriter, method, path string, q url.Values, body io.Reader, ctype string) error {
	reqType := ctype
	if body == nil {
		reqType = ""
	}
	req, err := v.request(method, path, q, body, reqType)
	if err != nil {
		return err
	}
	if body == nil && ctype != "" {
		req.Header.Set("Accept", ctype)
	}
	sw := &streamWriter{w: w, h: http.Header{}}
	v.c.opts.API.ServeAs(sw, req, v.principal())
	if sw.status == 0 {
		sw.WriteHeader(http.StatusOK)
	}
	if sw.status >= 400 {
		return errorOfAnswer(sw.status, sw.errBody.Bytes())
	}
	return nil
}

// streamWriter passes an answer through once its status is known to be a success, and
// keeps the envelope of an error instead.
type streamWriter struct {
	w       http.ResponseWriter
	h       http.Header
	status  int
	errBody bytes.Buffer
}

func (s *streamWriter) Header() http.Header { return s.h }

func (s *streamWriter) WriteHeader(status int) {
	if s.status != 0 {
		return
	}
	s.status = status
	if status >= 400 {
		return
	}
	for k, vs := range s.h {
		s.w.Header()[k] = vs
	}
	s.w.WriteHeader(status)
}

func (s *streamWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	if s.status >= 400 {
		if room := maxErrorBody - s.errBody.Len(); room > 0 {
			s.errBody.Write(b[:min(len(b), room)])
		}
		return len(b), nil
	}
	return s.w.Write(b)
}

// Unwrap lets the API's http.ResponseController reach the connection (write deadlines
// and flushes of a long export).
func (s *streamWriter) Unwrap() http.ResponseWriter { return s.w }

// errorOfAnswer reads the API's error envelope.
func errorOfAnswer(status int, body []byte) *apiError {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	return &apiError{Status: status, Code: env.Error.Code, Message: env.Error.Message, Field: env.Error.Field}
}
