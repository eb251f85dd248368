package template

import "strings"

// HeaderParamKind is what a send must put in the header component.
type HeaderParamKind string

const (
	HeaderParamNone     HeaderParamKind = "none"
	HeaderParamText     HeaderParamKind = "text"
	HeaderParamMedia    HeaderParamKind = "media"
	HeaderParamLocation HeaderParamKind = "location"
)

// Send-time button sub_types, lower case as in Meta's documentation.
const (
	SubTypeURL        = "url"
	SubTypeQuickReply = "quick_reply"
	SubTypeCopyCode   = "copy_code"
)

// Send-time parameter types.
const (
	ParamText       = "text"
	ParamPayload    = "payload"
	ParamCouponCode = "coupon_code"
	ParamCurrency   = "currency"
	ParamDateTime   = "date_time"
	ParamImage      = "image"
	ParamVideo      = "video"
	ParamDocument   = "document"
	ParamLocation   = "location"
)

// ParamSpec is what a send of the template must supply.
type ParamSpec struct {
	Header  HeaderSpec   `json:"header"`
	Body    BodySpec     `json:"body"`
	Buttons []ButtonSpec `json:"buttons,omitempty"`
}

// HeaderSpec describes the header parameter, if any.
type HeaderSpec struct {
	Kind HeaderParamKind `json:"kind"`
	// Format is the media format for HeaderParamMedia.
	Format HeaderFormat `json:"format,omitempty"`
	// Name is the variable's name in a NAMED template with a text variable.
	Name string `json:"name,omitempty"`
}

// BodySpec describes the body parameters.
type BodySpec struct {
	Count int `json:"count"`
	// Names lists the variables of a NAMED template in order of first use.
	Names []string `json:"names,omitempty"`
}

// ButtonSpec describes one button at send time.
type ButtonSpec struct {
	Index      int        `json:"index"`
	Type       ButtonType `json:"type"`
	SubType    string     `json:"sub_type,omitempty"`
	TakesParam bool       `json:"takes_param"`
	// Required is false for a quick reply, whose payload is optional.
	Required  bool   `json:"required"`
	ParamType string `json:"param_type,omitempty"`
}

// Params derives the send-time parameters from the template's components.
func (t Template) Params() ParamSpec {
	var s ParamSpec
	named := t.ParameterFormat.Named()
	s.Header.Kind = HeaderParamNone
	if h := t.Header; h != nil {
		switch {
		case h.Format == HeaderText:
			for _, v := range scanVars(h.Text) {
				if v.ok {
					s.Header.Kind = HeaderParamText
					if named && v.num == 0 {
						s.Header.Name = v.name
					}
					break
				}
			}
		case h.Format.IsMedia():
			s.Header.Kind = HeaderParamMedia
			s.Header.Format = h.Format
		case h.Format == HeaderLocation:
			s.Header.Kind = HeaderParamLocation
		}
	}
	auth := t.Category == CategoryAuthentication
	if auth {
		// The preset body carries the code as its only variable.
		s.Body.Count = 1
	} else {
		s.Body = bodySpec(t.Body.Text, named)
	}
	for i, b := range t.Buttons {
		bs := ButtonSpec{Index: i, Type: b.Type}
		switch {
		case b.Type == ButtonOTP || auth && b.Type == ButtonURL:
			// An OTP button (read back as URL) takes the code as a url parameter.
			bs.SubType, bs.TakesParam, bs.Required, bs.ParamType = SubTypeURL, true, true, ParamText
		case b.Type == ButtonURL:
			bs.SubType = SubTypeURL
			for _, v := range scanVars(b.URL) {
				if v.ok {
					bs.TakesParam, bs.Required, bs.ParamType = true, true, ParamText
					break
				}
			}
		case b.Type == ButtonQuickReply:
			bs.SubType, bs.TakesParam, bs.ParamType = SubTypeQuickReply, true, ParamPayload
		case b.Type == ButtonCopyCode:
			bs.SubType, bs.TakesParam, bs.Required, bs.ParamType = SubTypeCopyCode, true, true, ParamCouponCode
		}
		s.Buttons = append(s.Buttons, bs)
	}
	return s
}

// bodySpec counts positional parameters by the highest number used, so {{n}} is
// always the n-th parameter, and named ones by distinct name.
func bodySpec(text string, named bool) BodySpec {
	var s BodySpec
	for _, v := range scanVars(text) {
		if !v.ok {
			continue
		}
		if named {
			if v.num == 0 && !containsString(s.Names, v.name) {
				s.Names = append(s.Names, v.name)
			}
			continue
		}
		if v.num > s.Count {
			s.Count = v.num
		}
	}
	if named {
		s.Count = len(s.Names)
	}
	return s
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// ParamCount is the number of parameters a send must supply: the header's, the
// body's and every required button parameter (optional quick-reply payloads are
// not counted).
func (t Template) ParamCount() int {
	s := t.Params()
	n := s.Body.Count
	if s.Header.Kind != HeaderParamNone {
		n++
	}
	for _, b := range s.Buttons {
		if b.Required {
			n++
		}
	}
	return n
}

func lowerFormat(f HeaderFormat) string { return strings.ToLower(string(f)) }
