package console

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
)

// passThrough serves an API answer that is a file (an inbound media file) straight
// to the browser, as the user. A refusal is not passed on: it comes back as
// *apiError for the console's own error page.
func (v *visit) passThrough(w http.ResponseWriter, method, path string, q url.Values) error {
	req, err := v.request(method, path, q, http.NoBody, "")
	if err != nil {
		return err
	}
	pw := &passWriter{w: w, h: http.Header{}}
	v.c.opts.API.ServeAs(pw, req, v.principal())
	if !pw.failed {
		if pw.status == 0 {
			pw.WriteHeader(http.StatusOK)
		}
		return nil
	}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	_ = json.Unmarshal(pw.buf.Bytes(), &env)
	return &apiError{Status: pw.status, Code: env.Error.Code, Message: env.Error.Message, Field: env.Error.Field}
}

// inlineTypes are the files a browser may show in the page's place; anything else
// (documents, HTML, SVG a customer sent) is downloaded, never rendered on the
// console's origin.
var inlineTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true,
	"audio/ogg": true, "audio/mpeg": true, "audio/mp4": true, "audio/aac": true, "audio/amr": true,
	"video/mp4": true, "video/3gpp": true,
}

// passWriter holds back the API's headers until its status is known: a success goes
// to the browser with only the file's own headers, a refusal is kept for the
// console's error page.
type passWriter struct {
	w      http.ResponseWriter
	h      http.Header
	status int
	failed bool
	buf    bytes.Buffer
}

func (p *passWriter) Header() http.Header { return p.h }

func (p *passWriter) WriteHeader(status int) {
	if p.status != 0 {
		return
	}
	p.status = status
	if status >= 400 {
		p.failed = true
		return
	}
	out := p.w.Header()
	for _, k := range []string{"Content-Type", "Content-Length", "Content-Disposition"} {
		if val := p.h.Get(k); val != "" {
			out.Set(k, val)
		}
	}
	mt, _, _ := mime.ParseMediaType(out.Get("Content-Type"))
	if !inlineTypes[mt] {
		disp := "attachment"
		if _, params, err := mime.ParseMediaType(out.Get("Content-Disposition")); err == nil && params["filename"] != "" {
			disp = mime.FormatMediaType("attachment", map[string]string{"filename": params["filename"]})
		}
		out.Set("Content-Disposition", disp)
	}
	// The file is no page: it runs nothing and loads nothing, whatever it holds.
	out.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; media-src 'self'; sandbox")
	p.w.WriteHeader(status)
}

func (p *passWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.WriteHeader(http.StatusOK)
	}
	if p.failed {
		// An error envelope is small; more is not kept.
		if p.buf.Len() < 64<<10 {
			p.buf.Write(b)
		}
		return len(b), nil
	}
	return p.w.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the API renews the write
// deadline of a long file).
func (p *passWriter) Unwrap() http.ResponseWriter { return p.w }
