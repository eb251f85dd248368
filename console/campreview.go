package console

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// The wizard's preview: the template filled for the first recipients of the chosen
// lists, as the campaign will fill it (a {{column}} takes the recipient's value, an
// empty one skips the recipient).

// campPreviewCount is how many recipients the preview shows.
const campPreviewCount = 3

// campSample is one recipient's message as the preview shows it.
type campSample struct {
	Phone, Name string
	// Values holds the recipient's value of every column, for the page's script.
	Values       string
	Header, Body []campPart
	Footer       string
	Buttons      []string
	Missing      bool
}

// campPart is a piece of a previewed text: literal, or a variable's value.
type campPart struct {
	Text, Slot string
	Empty      bool
}

// samples fills the template for the first recipients of the chosen lists.
func (x *campCtx) samples(slots []campSlot) ([]campSample, error) {
	var members []obj
	seen := map[string]bool{}
	for _, l := range x.lists {
		page, err := x.v.get("/v1/lists/"+url.PathEscape(str(l["id"]))+"/contacts", url.Values{"limit": {strconv.Itoa(campPreviewCount)}})
		if err != nil {
			return nil, err
		}
		for _, m := range list(page["data"]) {
			mo := campObj(m)
			if len(members) < campPreviewCount && !seen[str(mo["phone"])] {
				seen[str(mo["phone"])] = true
				members = append(members, mo)
			}
		}
		if len(members) == campPreviewCount {
			break
		}
	}
	var header, body, footer string
	var buttons []string
	for _, cp := range list(x.tpl["components"]) {
		co := campObj(cp)
		switch strings.ToUpper(str(co["type"])) {
		case "HEADER":
			if strings.ToUpper(str(co["format"])) == "TEXT" {
				header = str(co["text"])
			}
		case "BODY":
			body = str(co["text"])
		case "FOOTER":
			footer = str(co["text"])
		case "BUTTONS":
			for _, b := range list(co["buttons"]) {
				buttons = append(buttons, str(campObj(b)["text"]))
			}
		}
	}
	names := list(campObj(campObj(x.tpl["params"])["body"])["names"])
	var out []campSample
	for _, m := range members {
		vals := campMemberValues(m, x.columns)
		b, err := json.Marshal(vals)
		if err != nil {
			return nil, err
		}
		s := campSample{Phone: str(m["phone"]), Name: str(m["name"]), Values: string(b), Footer: footer, Buttons: buttons}
		s.Header = campFill(header, func(string) string { return "header" }, slots, vals, &s.Missing)
		s.Body = campFill(body, func(ref string) string {
			if n, err := strconv.Atoi(ref); err == nil {
				return "body." + strconv.Itoa(n-1)
			}
			for i, nm := range names {
				if str(nm) == ref {
					return "body." + strconv.Itoa(i)
				}
			}
			return ""
		}, slots, vals, &s.Missing)
		out = append(out, s)
	}
	return out, nil
}

// campMemberValues is a list member's value of each column, as a campaign reads it.
func campMemberValues(m obj, columns []string) map[string]string {
	vars := campObj(m["vars"])
	out := map[string]string{}
	for _, c := range columns {
		out[c] = str(vars[c])
	}
	out["phone"] = str(m["phone"])
	if n := str(m["name"]); n != "" {
		out["name"] = n
	}
	return out
}

// campVarRe finds a template's {{1}} or {{name}} variables.
var campVarRe = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// campFill splits text at its variables and fills each with its slot's value for a
// recipient; missing is set when one is empty (the recipient would be skipped).
func campFill(text string, slotOf func(ref string) string, slots []campSlot, vals map[string]string, missing *bool) []campPart {
	var out []campPart
	last := 0
	for _, m := range campVarRe.FindAllStringSubmatchIndex(text, -1) {
		if m[0] > last {
			out = append(out, campPart{Text: text[last:m[0]]})
		}
		key := slotOf(text[m[2]:m[3]])
		p := campPart{Slot: key}
		for _, s := range slots {
			if s.Key != key {
				continue
			}
			if col, ok := strings.CutPrefix(s.Src, "col:"); ok {
				p.Text = strings.TrimSpace(vals[col])
			} else {
				p.Text = s.Fixed
			}
		}
		if strings.TrimSpace(p.Text) == "" {
			p.Empty, *missing = true, true
		}
		out = append(out, p)
		last = m[1]
	}
	if last < len(text) {
		out = append(out, campPart{Text: text[last:]})
	}
	return out
}
