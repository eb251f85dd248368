package console

import (
	"net/url"
	"strings"
)

// tplDef is the body of POST /v1/templates and /v1/templates/lint: the Cloud API
// definition the create form is turned into. The form and the live lint post the
// same fields, so both are read by tplDraft and the API lints exactly what would be
// submitted.
type tplDef struct {
	From            string         `json:"from,omitempty"`
	Name            string         `json:"name"`
	Language        string         `json:"language"`
	Category        string         `json:"category"`
	ParameterFormat string         `json:"parameter_format,omitempty"`
	Components      []tplComponent `json:"components"`
}

type tplComponent struct {
	Type    string      `json:"type"`
	Format  string      `json:"format,omitempty"`
	Text    string      `json:"text,omitempty"`
	Example *tplExample `json:"example,omitempty"`
	Buttons []tplButton `json:"buttons,omitempty"`
}

type tplExample struct {
	HeaderText            []string     `json:"header_text,omitempty"`
	BodyText              [][]string   `json:"body_text,omitempty"`
	HeaderTextNamedParams []tplNamedEx `json:"header_text_named_params,omitempty"`
	BodyTextNamedParams   []tplNamedEx `json:"body_text_named_params,omitempty"`
}

type tplNamedEx struct {
	ParamName string `json:"param_name"`
	Example   string `json:"example"`
}

type tplButton struct {
	Type        string   `json:"type"`
	Text        string   `json:"text,omitempty"`
	URL         string   `json:"url,omitempty"`
	PhoneNumber string   `json:"phone_number,omitempty"`
	Example     []string `json:"example,omitempty"`
}

// tplQuickReplies is how many quick-reply fields the form offers.
const tplQuickReplies = 3

// tplDraft turns the create form's fields into a definition. It keeps the text as
// typed (a browser's CRLF line breaks become LF, as the phone shows them): judging it
// is the linter's work, not the form's.
func tplDraft(f url.Values) tplDef {
	named := f.Get("parameter_format") == "NAMED"
	d := tplDef{From: f.Get("from"), Name: strings.TrimSpace(f.Get("name")), Language: f.Get("language"),
		Category: f.Get("category"), Components: []tplComponent{}}
	if named {
		d.ParameterFormat = "NAMED"
	}
	if h := tplText(f.Get("header_text")); h != "" {
		c := tplComponent{Type: "HEADER", Format: "TEXT", Text: h}
		if ex := tplLines(f.Get("header_example")); len(ex) > 0 {
			c.Example = &tplExample{}
			if named {
				c.Example.HeaderTextNamedParams = tplNamedLines(ex)
			} else {
				c.Example.HeaderText = ex[:1]
			}
		}
		d.Components = append(d.Components, c)
	}
	body := tplComponent{Type: "BODY", Text: tplText(f.Get("body"))}
	if ex := tplLines(f.Get("body_examples")); len(ex) > 0 {
		body.Example = &tplExample{}
		if named {
			body.Example.BodyTextNamedParams = tplNamedLines(ex)
		} else {
			body.Example.BodyText = [][]string{ex}
		}
	}
	d.Components = append(d.Components, body)
	if ft := tplText(f.Get("footer")); ft != "" {
		d.Components = append(d.Components, tplComponent{Type: "FOOTER", Text: ft})
	}
	if bs := tplButtons(f); len(bs) > 0 {
		d.Components = append(d.Components, tplComponent{Type: "BUTTONS", Buttons: bs})
	}
	return d
}

// tplButtons reads the quick replies first, then the call-to-action buttons: the
// linter wants quick replies grouped, and the form keeps them so.
func tplButtons(f url.Values) []tplButton {
	var out []tplButton
	for _, qr := range f["quick_reply"] {
		if qr = strings.TrimSpace(qr); qr != "" {
			out = append(out, tplButton{Type: "QUICK_REPLY", Text: qr})
		}
	}
	if t, u := strings.TrimSpace(f.Get("url_text")), strings.TrimSpace(f.Get("url")); t != "" || u != "" {
		b := tplButton{Type: "URL", Text: t, URL: u}
		if ex := strings.TrimSpace(f.Get("url_example")); ex != "" {
			b.Example = []string{ex}
		}
		out = append(out, b)
	}
	if t, n := strings.TrimSpace(f.Get("phone_text")), strings.TrimSpace(f.Get("phone_number")); t != "" || n != "" {
		out = append(out, tplButton{Type: "PHONE_NUMBER", Text: t, PhoneNumber: n})
	}
	return out
}

func tplText(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// tplLines splits a samples box into its lines, dropping the blank ones at the end
// (a trailing line break is not a sample).
func tplLines(s string) []string {
	lines := strings.Split(tplText(s), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return lines
}

// tplNamedLines reads "name=value" lines; a line without "=" is a sample with no
// name, which the linter reports as belonging to no variable.
func tplNamedLines(lines []string) []tplNamedEx {
	out := make([]tplNamedEx, 0, len(lines))
	for _, l := range lines {
		k, v, _ := strings.Cut(l, "=")
		out = append(out, tplNamedEx{ParamName: strings.TrimSpace(k), Example: strings.TrimSpace(v)})
	}
	return out
}
