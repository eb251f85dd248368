package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Strict request bodies. encoding/json alone takes what a careless or hostile client
// sends and makes something of it: an unknown key is dropped, a duplicate key's last
// value wins, "TO" fills "to", invalid UTF-8 becomes U+FFFD. decodeStrict refuses all
// of that before encoding/json decodes: one pass over the body (walk.go) checks it
// against the shape of the target type (shape.go).

// maxJSONDepth bounds the nesting of a request body; no request needs a tenth of it,
// and the walk recurses once per level.
const maxJSONDepth = 64

// decodeStrict decodes a JSON request body into v (a pointer) and refuses, with 400
// invalid_json naming the key path in field: a body that is not exactly one JSON value
// (empty, malformed, or followed by more data), invalid UTF-8 or an unpaired surrogate
// escape, an unknown key, a key that matches a field only in another letter case, a
// key given twice in one object, and nesting deeper than maxJSONDepth. A value of the
// wrong JSON type answers 400 invalid_field naming the field.
//
// Objects that pass through as Cloud API shapes are typed structs and are checked like
// the rest; a free-form value (json.RawMessage, any, a type decoding itself) is checked
// only for duplicate keys and its encoding, at any depth.
func decodeStrict(body []byte, v any) *Error {
	sh := shapeOfTarget(v)
	w := walker{data: body}
	if err := w.document(sh); err != nil {
		return err.apiError()
	}
	if err := json.Unmarshal(body, v); err != nil {
		return unmarshalError(err)
	}
	return nil
}

// decodeOptional is decodeStrict for endpoints whose body may be left out: a body of
// nothing but whitespace decodes as nothing.
func decodeOptional(body []byte, v any) *Error {
	if isBlank(body) {
		return nil
	}
	return decodeStrict(body, v)
}

// noBody refuses a body on an endpoint that takes none, except an empty object.
func noBody(body []byte) *Error {
	return decodeOptional(body, &struct{}{})
}

func isBlank(body []byte) bool {
	for _, c := range body {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// unmarshalError maps what encoding/json still refuses after the walk: values of the
// wrong type.
func unmarshalError(err error) *Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return invalid(te.Field, "must be a JSON %s", jsonKind(te.Type.Kind().String()))
	case errors.As(err, &te):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "body must be a JSON object"}
	case errors.As(err, &se):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: fmt.Sprintf("body is not valid JSON (at byte %d)", se.Offset)}
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Message: "body is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

// jsonKind names a Go kind as the JSON a client should send.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	}
	return k
}

// checkContentType refuses a request body that is not declared as JSON with 415
// unsupported_media_type: Content-Type must be application/json, in any letter case,
// with parameters allowed but a charset, if given, utf-8. An empty body (nothing or
// whitespace) needs no Content-Type.
func checkContentType(r *http.Request, body []byte) *Error {
	if isBlank(body) {
		return nil
	}
	refuse := func(format string, args ...any) *Error {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "Content-Type",
			Message: "Content-Type: " + fmt.Sprintf(format, args...)}
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return refuse("is required with a body: send application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return refuse("%q cannot be read: send application/json", ct)
	}
	if mt != "application/json" {
		return refuse("%q is not accepted here: send application/json", mt)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return refuse("charset %q is not accepted: the body must be UTF-8", cs)
	}
	return nil
}

// bodyError is a refusal found by the walk.
type bodyError struct {
	offset int
	path   string
	what   string // the message, without the path
}

func (e *bodyError) apiError() *Error {
	msg := e.what
	if e.path != "" {
		msg = e.path + ": " + msg
	}
	return &Error{Status: http.StatusBadRequest, Code: "invalid_json", Field: e.path, Message: msg}
}

// foldKey folds a key as encoding/json does when it matches keys to fields
// regardless of case: each rune to the smallest of its case-fold set.
func foldKey(key []byte) string {
	var b strings.Builder
	for i := 0; i < len(key); {
		r, n := utf8.DecodeRune(key[i:])
		i += n
		for {
			next := unicode.SimpleFold(r)
			if next <= r {
				r = next
				break
			}
			r = next
		}
		b.WriteRune(r)
	}
	return b.String()
}
