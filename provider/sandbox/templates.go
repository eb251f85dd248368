package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// shortenerHosts are link shorteners Meta's review refuses.
var shortenerHosts = []string{"bit.ly", "tinyurl.com", "goo.gl", "t.co", "ow.ly", "s.id", "is.gd",
	"cutt.ly", "rebrand.ly", "buff.ly", "shorturl.at", "rb.gy", "t.ly", "tiny.cc"}

func hasShortLink(text string) bool {
	lower := strings.ToLower(text)
	for _, h := range shortenerHosts {
		for i := strings.Index(lower, h+"/"); i >= 0; {
			if i == 0 || !isHostChar(lower[i-1]) {
				return true
			}
			next := strings.Index(lower[i+1:], h+"/")
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return false
}

func isHostChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// DefaultReviewer is a small stand-in for Meta's template review: the name's charset
// and length, a BODY of at most 1024 characters, no variable at the very start or end
// of the body, no adjacent variables, and no shortened links. Rejection reasons read
// "INVALID_FORMAT: <rule>".
func DefaultReviewer(def provider.TemplateDefinition) (status, reason string) {
	if def.Name == "" || len(def.Name) > maxTemplateName {
		return tmplRejected, "INVALID_FORMAT: name_length"
	}
	for i := 0; i < len(def.Name); i++ {
		c := def.Name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return tmplRejected, "INVALID_FORMAT: name_charset"
		}
	}
	auth := upper(def.Category) == "AUTHENTICATION"
	var body *provider.TemplateComponentDef
	for i := range def.Components {
		c := &def.Components[i]
		switch upper(c.Type) {
		case "BODY":
			body = c
		case "BUTTONS":
			for _, b := range c.Buttons {
				if hasShortLink(b.URL) {
					return tmplRejected, "INVALID_FORMAT: shortened_link"
				}
			}
		}
		if hasShortLink(c.Text) {
			return tmplRejected, "INVALID_FORMAT: shortened_link"
		}
	}
	if body == nil || (body.Text == "" && !auth) {
		return tmplRejected, "INVALID_FORMAT: body_missing"
	}
	if runes(body.Text) > maxTemplateBody {
		return tmplRejected, "INVALID_FORMAT: body_too_long"
	}
	vs := scanVars(body.Text)
	if vs.atStart || vs.atEnd {
		return tmplRejected, "INVALID_FORMAT: body_variable_at_edge"
	}
	if vs.adjacent {
		return tmplRejected, "INVALID_FORMAT: body_adjacent_variables"
	}
	return tmplApproved, ""
}

// --- Graph API handlers ---

// wabaRequest authenticates a template-management call and resolves the WABA in its
// path; it answers the error itself and reports false when either fails.
func (s *Sandbox) wabaRequest(w http.ResponseWriter, r *http.Request) (*state, string, bool) {
	if e := s.checkAuth(r); e != nil {
		s.writeAPIError(w, e)
		return nil, "", false
	}
	st := s.st.Load()
	waba := r.PathValue("id")
	if !st.wabaKnown(waba) {
		s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "unknown WhatsApp Business Account id "+quoteShort(waba)))
		return nil, "", false
	}
	return st, waba, true
}

func (s *Sandbox) handleCreateTemplate(w http.ResponseWriter, r *http.Request) {
	st, waba, ok := s.wabaRequest(w, r)
	if !ok {
		return
	}
	var def provider.TemplateDefinition
	if err := json.NewDecoder(io.LimitReader(r.Body, maxAPIBody)).Decode(&def); err != nil {
		s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "request body is not a valid template"))
		return
	}
	created, e := s.createTemplate(st, waba, def)
	if e != nil {
		s.writeAPIError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, created)
}

func (s *Sandbox) createTemplate(st *state, waba string, def provider.TemplateDefinition) (*provider.TemplateCreated, *apiError) {
	def.Category = upper(def.Category)
	switch {
	case def.Name == "":
		return nil, missing("name")
	case def.Language == "":
		return nil, missing("language")
	case def.Category != "MARKETING" && def.Category != "UTILITY" && def.Category != "AUTHENTICATION":
		return nil, refuse(provider.CodeInvalidParameter, "category must be MARKETING, UTILITY or AUTHENTICATION")
	case len(def.Components) == 0:
		return nil, missing("components")
	}
	for _, c := range def.Components {
		switch upper(c.Type) {
		case "HEADER", "BODY", "FOOTER", "BUTTONS":
		default:
			return nil, refuse(provider.CodeInvalidParameter, "component type "+quoteShort(c.Type)+" is not valid")
		}
	}
	ts := st.templates
	key := tmplKey{waba, def.Name, def.Language}
	ts.mu.Lock()
	if _, dup := ts.byKey[key]; dup {
		ts.mu.Unlock()
		return nil, refuse(provider.CodeInvalidParameter, "template "+quoteShort(def.Name)+" in "+quoteShort(def.Language)+" already exists")
	}
	n := 0
	for _, t := range ts.all {
		if t.key.waba == waba {
			n++
		}
	}
	if n >= maxTemplatesPerWABA {
		ts.mu.Unlock()
		return nil, refuse(provider.CodeInvalidParameter, "template count limit reached")
	}
	t := &template{id: strconv.FormatUint(ts.nextID, 10), key: key, def: def, vars: templateVarsOf(def),
		status: tmplPending, category: def.Category, quality: "UNKNOWN"}
	ts.nextID++
	ts.byKey[key] = t
	ts.all = append(ts.all, t)
	ts.mu.Unlock()

	s.out.scheduleFunc(s.now()+int64(s.opts.ReviewDelay), func() { s.review(st, t) })
	return &provider.TemplateCreated{ID: t.id, Status: tmplPending, Category: def.Category}, nil
}

// review applies the reviewer to a pending template and announces the verdict.
func (s *Sandbox) review(st *state, t *template) {
	status, reason := s.reviewr(t.def)
	if status != tmplApproved {
		status = tmplRejected
	}
	ts := st.templates
	ts.mu.Lock()
	if t.status != tmplPending || ts.byKey[t.key] != t {
		ts.mu.Unlock()
		return // deleted or changed through the inspection API meanwhile
	}
	t.status = status
	code, detail, _ := strings.Cut(reason, ":")
	t.reason = strings.TrimSpace(code)
	category := t.category
	ts.mu.Unlock()

	upd := provider.TemplateStatusUpdate{
		Event: status, MessageTemplateID: provider.FlexString(t.id), MessageTemplateName: t.key.name,
		MessageTemplateLanguage: t.key.lang, Reason: "NONE", MessageTemplateCategory: category,
	}
	if status == tmplRejected {
		upd.Reason = t.reason
		upd.RejectionInfo = &provider.RejectionInfo{Reason: t.reason, Recommendation: strings.TrimSpace(detail)}
	}
	s.postWABAEvent(st, t.key.waba, provider.FieldTemplateStatusUpdate, upd)
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

func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte("t:" + id)) }

func decodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 3 || string(b[:2]) != "t:" {
		return "", false
	}
	return string(b[2:]), true
}

func (s *Sandbox) handleListTemplates(w http.ResponseWriter, r *http.Request) {
	st, waba, ok := s.wabaRequest(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	limit := 25
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "limit must be a positive integer"))
			return
		}
		limit = min(n, maxPageLimit)
	}
	afterID := ""
	if c := q.Get("after"); c != "" {
		id, ok := decodeCursor(c)
		if !ok {
			s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "after is not a valid cursor"))
			return
		}
		afterID = id
	}
	name, status := q.Get("name"), upper(q.Get("status"))
	lang, category := q.Get("language"), upper(q.Get("category"))

	ts := st.templates
	ts.mu.RLock()
	var page []provider.TemplateDefinition
	more := false
	skipping := afterID != ""
	for _, t := range ts.all {
		if skipping {
			if t.id == afterID {
				skipping = false
			}
			continue
		}
		if t.key.waba != waba || (name != "" && t.key.name != name) || (status != "" && t.status != status) ||
			(lang != "" && t.key.lang != lang) || (category != "" && t.category != category) {
			continue
		}
		if len(page) == limit {
			more = true
			break
		}
		page = append(page, t.view())
	}
	ts.mu.RUnlock()

	out := provider.TemplateList{Data: page}
	if out.Data == nil {
		out.Data = []provider.TemplateDefinition{}
	}
	if len(page) > 0 {
		out.Paging = &provider.Paging{}
		out.Paging.Cursors.Before = encodeCursor(page[0].ID)
		out.Paging.Cursors.After = encodeCursor(page[len(page)-1].ID)
		if more {
			nq := url.Values{}
			for k, v := range q {
				nq[k] = v
			}
			nq.Set("after", out.Paging.Cursors.After)
			nq.Set("limit", strconv.Itoa(limit))
			out.Paging.Next = requestBase(r) + r.URL.Path + "?" + nq.Encode()
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) handleDeleteTemplate(w http.ResponseWriter, r *http.Request) {
	st, waba, ok := s.wabaRequest(w, r)
	if !ok {
		return
	}
	name, hsmID := r.URL.Query().Get("name"), r.URL.Query().Get("hsm_id")
	if name == "" {
		s.writeAPIError(w, missing("name"))
		return
	}
	ts := st.templates
	ts.mu.Lock()
	kept := ts.all[:0]
	deleted := 0
	for _, t := range ts.all {
		if t.key.waba == waba && t.key.name == name && (hsmID == "" || t.id == hsmID) {
			delete(ts.byKey, t.key)
			deleted++
			continue
		}
		kept = append(kept, t)
	}
	clear(ts.all[len(kept):])
	ts.all = kept
	ts.mu.Unlock()
	if deleted == 0 {
		s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "template "+quoteShort(name)+" not found"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// requestBase is scheme://host of r, for links the sandbox hands out.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// --- driving API ---

// TemplateUpdate changes a template through the inspection API; empty fields stay.
type TemplateUpdate struct {
	Status   string `json:"status,omitempty"`   // PAUSED, DISABLED, APPROVED, REINSTATED, REJECTED
	Quality  string `json:"quality,omitempty"`  // GREEN, YELLOW, RED, UNKNOWN
	Category string `json:"category,omitempty"` // MARKETING, UTILITY, AUTHENTICATION
	Reason   string `json:"reason,omitempty"`   // for REJECTED; default NONE
}

// UpdateTemplate applies u to the template name/language (in every WABA holding it)
// and posts the matching webhooks.
func (s *Sandbox) UpdateTemplate(name, language string, u TemplateUpdate) error {
	st := s.st.Load()
	u.Status, u.Quality, u.Category = upper(u.Status), upper(u.Quality), upper(u.Category)
	switch u.Status {
	case "", tmplPaused, tmplDisabled, tmplApproved, tmplReinstated, tmplRejected:
	default:
		return fmt.Errorf("sandbox: update template %s/%s: status %q: %w", name, language, u.Status, errInvalid)
	}
	switch u.Quality {
	case "", "GREEN", "YELLOW", "RED", "UNKNOWN":
	default:
		return fmt.Errorf("sandbox: update template %s/%s: quality %q: %w", name, language, u.Quality, errInvalid)
	}
	switch u.Category {
	case "", "MARKETING", "UTILITY", "AUTHENTICATION":
	default:
		return fmt.Errorf("sandbox: update template %s/%s: category %q: %w", name, language, u.Category, errInvalid)
	}
	ts := st.templates
	type change struct {
		t                    *template
		oldQuality, category string
		oldCategory          string
	}
	var changes []change
	ts.mu.Lock()
	for _, t := range ts.all {
		if t.key.name != name || t.key.lang != language {
			continue
		}
		c := change{t: t, oldQuality: t.quality, oldCategory: t.category}
		switch u.Status {
		case "":
		case tmplReinstated:
			t.status = tmplApproved
		default:
			t.status = u.Status
		}
		if u.Status == tmplRejected {
			t.reason = cmpOr(u.Reason, "NONE")
		}
		if u.Quality != "" {
			t.quality = u.Quality
		}
		if u.Category != "" {
			t.category = u.Category
		}
		c.category = t.category
		changes = append(changes, c)
	}
	ts.mu.Unlock()
	if len(changes) == 0 {
		return fmt.Errorf("sandbox: update template %s/%s: %w", name, language, errNotFound)
	}
	now := s.clk.Now().Unix()
	for _, c := range changes {
		t := c.t
		if u.Status != "" {
			upd := provider.TemplateStatusUpdate{
				Event: u.Status, MessageTemplateID: provider.FlexString(t.id), MessageTemplateName: t.key.name,
				MessageTemplateLanguage: t.key.lang, Reason: "NONE", MessageTemplateCategory: c.category,
			}
			switch u.Status {
			case tmplPaused:
				upd.OtherInfo = &provider.OtherInfo{Title: "FIRST_PAUSE",
					Description: "Your template has been paused because of low quality."}
			case tmplDisabled:
				upd.DisableInfo = &provider.DisableInfo{DisableDate: s.clk.Now().UTC().Format("2006-01-02")}
			case tmplReinstated:
				upd.OtherInfo = &provider.OtherInfo{Title: "UNPAUSE", Description: "Your template has been reinstated."}
			case tmplRejected:
				upd.Reason = cmpOr(u.Reason, "NONE")
			}
			s.postWABAEvent(st, t.key.waba, provider.FieldTemplateStatusUpdate, upd)
		}
		if u.Quality != "" && u.Quality != c.oldQuality {
			s.postWABAEvent(st, t.key.waba, provider.FieldTemplateQualityUpdate, provider.TemplateQualityUpdate{
				PreviousQualityScore: c.oldQuality, NewQualityScore: u.Quality,
				MessageTemplateID: provider.FlexString(t.id), MessageTemplateName: t.key.name, MessageTemplateLanguage: t.key.lang,
			})
		}
		if u.Category != "" && u.Category != c.oldCategory {
			s.postWABAEvent(st, t.key.waba, provider.FieldTemplateCategoryUpdate, provider.TemplateCategoryUpdate{
				MessageTemplateID: provider.FlexString(t.id), MessageTemplateName: t.key.name, MessageTemplateLanguage: t.key.lang,
				PreviousCategory: c.oldCategory, NewCategory: u.Category, CategoryUpdateTimestamp: provider.FlexInt(now),
			})
		}
	}
	return nil
}

// SetTemplateStatus sets a template's status (PAUSED, DISABLED, APPROVED, REINSTATED).
func (s *Sandbox) SetTemplateStatus(name, language, status string) error {
	return s.UpdateTemplate(name, language, TemplateUpdate{Status: status})
}

// SetTemplateQuality sets a template's quality score (GREEN, YELLOW, RED).
func (s *Sandbox) SetTemplateQuality(name, language, quality string) error {
	return s.UpdateTemplate(name, language, TemplateUpdate{Quality: quality})
}

// SetTemplateCategory re-categorises a template.
func (s *Sandbox) SetTemplateCategory(name, language, category string) error {
	return s.UpdateTemplate(name, language, TemplateUpdate{Category: category})
}

// Templates lists every template, all WABAs, in creation order.
func (s *Sandbox) Templates() []provider.TemplateDefinition {
	ts := s.st.Load().templates
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	out := make([]provider.TemplateDefinition, 0, len(ts.all))
	for _, t := range ts.all {
		out = append(out, t.view())
	}
	return out
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

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
