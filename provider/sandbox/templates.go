package sandbox

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"kirim/provider"
)

// Template limits the default reviewer and the create call enforce.
const (
	maxTemplateName     = 512
	maxTemplateBody     = 1024
	maxTemplatesPerWABA = 6000
	firstTemplateID     = 1_000_000_000_000_001
	helloWorldID        = "1000000000000000"
)

// Template statuses.
const (
	tmplApproved   = "APPROVED"
	tmplPending    = "PENDING"
	tmplRejected   = "REJECTED"
	tmplPaused     = "PAUSED"
	tmplDisabled   = "DISABLED"
	tmplReinstated = "REINSTATED"
)

type tmplKey struct{ waba, name, lang string }

// template is one stored template. Mutable fields are guarded by templateStore.mu.
type template struct {
	id       string
	key      tmplKey
	def      provider.TemplateDefinition // as submitted
	vars     templateVars
	status   string
	category string
	quality  string
	reason   string
	sends    atomic.Uint64 // accepted sends
}

// templateVars is what a send of the template must fill in.
type templateVars struct {
	headerFormat string // TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION, or ""
	header       int
	body         int
	nButtons     int
	buttons      [maxTemplateButtons]int8 // -1: optional (quick-reply payload)
}

type templateStore struct {
	mu     sync.RWMutex
	byKey  map[tmplKey]*template
	all    []*template // creation order
	nextID uint64
}

func newTemplateStore() *templateStore {
	return &templateStore{byKey: make(map[tmplKey]*template), nextID: firstTemplateID}
}

// addHelloWorld installs Meta's sample template so a first send needs no setup.
func (ts *templateStore) addHelloWorld(waba string) {
	def := provider.TemplateDefinition{
		Name: "hello_world", Language: "en_US", Category: "UTILITY",
		Components: []provider.TemplateComponentDef{
			{Type: "HEADER", Format: "TEXT", Text: "Hello World"},
			{Type: "BODY", Text: "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us."},
			{Type: "FOOTER", Text: "WhatsApp Business Platform sample message"},
		},
	}
	id := helloWorldID
	if len(ts.all) > 0 {
		id = strconv.FormatUint(ts.nextID, 10)
		ts.nextID++
	}
	t := &template{id: id, key: tmplKey{waba, def.Name, def.Language}, def: def,
		vars: templateVarsOf(def), status: tmplApproved, category: "UTILITY", quality: "GREEN"}
	ts.byKey[t.key] = t
	ts.all = append(ts.all, t)
}

// tmplSnapshot is what a send needs to know about its template.
type tmplSnapshot struct {
	t        *template
	category string
}

// check finds the template of a send and validates its parameters.
func (ts *templateStore) check(waba string, mt *provider.Template, p *templateParams) (tmplSnapshot, *apiError) {
	ts.mu.RLock()
	t := ts.byKey[tmplKey{waba, mt.Name, mt.Language.Code}]
	var status, category string
	if t != nil {
		status, category = t.status, t.category
	}
	ts.mu.RUnlock()
	if t == nil {
		return tmplSnapshot{}, refuse(provider.CodeTemplateMissing,
			"template name ("+quoteShort(mt.Name)+") does not exist in "+quoteShort(mt.Language.Code))
	}
	switch status {
	case tmplApproved:
	case tmplPaused:
		return tmplSnapshot{}, refuse(provider.CodeTemplatePaused, "template "+t.key.name+" is paused")
	case tmplDisabled:
		return tmplSnapshot{}, refuse(provider.CodeTemplateDisabled, "template "+t.key.name+" is disabled")
	default:
		return tmplSnapshot{}, refuse(provider.CodeTemplateMissing,
			"template "+t.key.name+" is "+strings.ToLower(status)+", not approved")
	}
	if e := t.vars.match(p); e != nil {
		return tmplSnapshot{}, e
	}
	return tmplSnapshot{t: t, category: category}, nil
}

// match compares the parameters of a send with the template's variables.
func (v *templateVars) match(p *templateParams) *apiError {
	if p.header != v.header {
		return refuse(provider.CodeParamCount, fmt.Sprintf("header: expected %d parameters, got %d", v.header, p.header))
	}
	if v.header > 0 && v.headerFormat != "TEXT" && p.headerType != strings.ToLower(v.headerFormat) {
		return refuse(provider.CodeTemplateParamFormat,
			fmt.Sprintf("header: expected a %s parameter, got %s", strings.ToLower(v.headerFormat), quoteShort(p.headerType)))
	}
	if p.body != v.body {
		return refuse(provider.CodeParamCount, fmt.Sprintf("body: expected %d parameters, got %d", v.body, p.body))
	}
	for i := 0; i < maxTemplateButtons; i++ {
		got, want := p.buttons[i], v.buttons[i]
		if i >= v.nButtons {
			if p.buttonsSeen[i] {
				return refuse(provider.CodeParamCount, fmt.Sprintf("button %d does not exist in the template", i))
			}
			continue
		}
		if want < 0 {
			if got > 1 {
				return refuse(provider.CodeParamCount, fmt.Sprintf("button %d: expected at most 1 parameter, got %d", i, got))
			}
			continue
		}
		if got != want {
			return refuse(provider.CodeParamCount, fmt.Sprintf("button %d: expected %d parameters, got %d", i, want, got))
		}
	}
	return nil
}

// templateVarsOf derives the parameters a definition needs.
func templateVarsOf(def provider.TemplateDefinition) templateVars {
	var v templateVars
	auth := upper(def.Category) == "AUTHENTICATION"
	for _, c := range def.Components {
		switch upper(c.Type) {
		case "HEADER":
			v.headerFormat = upper(c.Format)
			switch v.headerFormat {
			case "TEXT", "":
				v.headerFormat = "TEXT"
				v.header = min(scanVars(c.Text).count, 1)
			case "IMAGE", "VIDEO", "DOCUMENT", "LOCATION":
				v.header = 1
			}
		case "BODY":
			if auth {
				v.body = 1 // the preset "{{1}} is your verification code."
			} else {
				v.body = scanVars(c.Text).count
			}
		case "BUTTONS":
			for i, b := range c.Buttons {
				if i >= maxTemplateButtons {
					break
				}
				v.nButtons = i + 1
				switch upper(b.Type) {
				case "URL":
					v.buttons[i] = int8(min(scanVars(b.URL).count, 1))
				case "COPY_CODE", "OTP":
					v.buttons[i] = 1
				case "QUICK_REPLY":
					v.buttons[i] = -1
				}
			}
		}
	}
	return v
}

// varScan describes the {{...}} variables of a text.
type varScan struct {
	count    int // distinct variables
	atStart  bool
	atEnd    bool
	adjacent bool // two variables with only spaces between them
}

func scanVars(text string) varScan {
	var vs varScan
	seen := map[string]bool{}
	trimmed := strings.TrimSpace(text)
	lastEnd := -1
	for i := 0; i+1 < len(trimmed); {
		if trimmed[i] != '{' || trimmed[i+1] != '{' {
			i++
			continue
		}
		end := strings.Index(trimmed[i+2:], "}}")
		if end < 0 {
			break
		}
		name := strings.TrimSpace(trimmed[i+2 : i+2+end])
		if !isVarName(name) {
			i += 2
			continue
		}
		stop := i + 2 + end + 2
		if !seen[name] {
			seen[name] = true
			vs.count++
		}
		if i == 0 {
			vs.atStart = true
		}
		if stop == len(trimmed) {
			vs.atEnd = true
		}
		if lastEnd >= 0 && strings.TrimSpace(trimmed[lastEnd:i]) == "" {
			vs.adjacent = true
		}
		lastEnd = stop
		i = stop
	}
	return vs
}

func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// templateJSON renders a template the way the list answers it.
func (t *template) view() provider.TemplateDefinition {
	d := t.def
	d.ID = t.id
	d.Status = t.status
	d.Category = t.category
	d.Name, d.Language = t.key.name, t.key.lang
	d.QualityScore = &provider.QualityScore{Score: t.quality}
	d.RejectedReason = t.reason
	if d.RejectedReason == "" {
		d.RejectedReason = "NONE"
	}
	if d.Components == nil {
		d.Components = []provider.TemplateComponentDef{}
	}
	return d
}

// templateByID finds a template by its numeric id.
func (ts *templateStore) byID(id string) (provider.TemplateDefinition, bool) {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	for _, t := range ts.all {
		if t.id == id {
			return t.view(), true
		}
	}
	return provider.TemplateDefinition{}, false
}

// templateCounts lists accepted sends per template.
func (ts *templateStore) counts() []TemplateCount {
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	var out []TemplateCount
	for _, t := range ts.all {
		if n := t.sends.Load(); n > 0 {
			out = append(out, TemplateCount{Name: t.key.name, Language: t.key.lang, Accepted: n})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Accepted > out[j].Accepted })
	return out
}
