package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"kirim/engine"
	"kirim/provider"
	"kirim/template"
)

// templateCallTimeout bounds one provider call of the template endpoints (submit,
// delete, list). The call runs to the end even if the client goes away, so a
// submission is never left half recorded.
const templateCallTimeout = 30 * time.Second

// TemplateProvider reaches one number's WABA at the provider (provider.Client does).
type TemplateProvider interface {
	CreateTemplate(ctx context.Context, t *provider.TemplateDefinition) (*provider.TemplateCreated, error)
	ListTemplates(ctx context.Context) ([]provider.TemplateDefinition, error)
	DeleteTemplate(ctx context.Context, name, hsmID string) error
}

// mount registers routes on r. httprouter cannot hold a static segment and a
// parameter at the same place of one method's tree (POST /v1/templates/lint beside
// POST /v1/templates/:name/clone), so a static last segment that meets a parameter is
// served through one handler at the parameter's path, which picks the route by the
// segment's value. A route registered at exactly that path serves the other values.
func (s *Server) mount(r *httprouter.Router, routes []route) {
	type slot struct{ method, path string }
	type dispatch struct {
		param    string
		statics  map[string]httprouter.Handle
		fallback httprouter.Handle
	}
	slots := map[slot]*dispatch{}
	var plain []route
	for _, rt := range routes {
		path, param, seg, ok := shadowed(rt, routes)
		if !ok {
			plain = append(plain, rt)
			continue
		}
		sl := slot{rt.method, path}
		if slots[sl] == nil {
			slots[sl] = &dispatch{param: param, statics: map[string]httprouter.Handle{}}
		}
		slots[sl].statics[seg] = s.wrap(rt)
	}
	for _, rt := range plain {
		if d := slots[slot{rt.method, rt.path}]; d != nil {
			d.fallback = s.wrap(rt)
			continue
		}
		r.Handle(rt.method, rt.path, s.wrap(rt))
	}
	for sl, d := range slots {
		r.Handle(sl.method, sl.path, func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
			if h, ok := d.statics[p.ByName(d.param)]; ok {
				h(w, req, p)
				return
			}
			if d.fallback != nil {
				d.fallback(w, req, p)
				return
			}
			r.NotFound.ServeHTTP(w, req)
		})
	}
}

// shadowed reports whether rt's static last segment sits where another route of the
// same method has a parameter after the same prefix; it returns the path to register
// instead, the parameter's name and the static segment.
func shadowed(rt route, routes []route) (path, param, seg string, ok bool) {
	segs := strings.Split(rt.path, "/")
	last := len(segs) - 1
	if strings.HasPrefix(segs[last], ":") || strings.HasPrefix(segs[last], "*") {
		return "", "", "", false
	}
	for _, o := range routes {
		if o.method != rt.method || o.path == rt.path {
			continue
		}
		os := strings.Split(o.path, "/")
		if len(os) <= last || !strings.HasPrefix(os[last], ":") || !slices.Equal(os[:last], segs[:last]) {
			continue
		}
		return strings.Join(append(segs[:last:last], os[last]), "/"), os[last][1:], segs[last], true
	}
	return "", "", "", false
}

// templateBody is the body of POST /v1/templates and /v1/templates/lint: the Cloud
// API definition, plus the number whose WABA gets it.
type templateBody struct {
	From                  string                          `json:"from,omitempty"`
	Name                  string                          `json:"name"`
	Language              string                          `json:"language"`
	Category              string                          `json:"category"`
	ParameterFormat       string                          `json:"parameter_format,omitempty"`
	AllowCategoryChange   bool                            `json:"allow_category_change,omitempty"`
	MessageSendTTLSeconds int                             `json:"message_send_ttl_seconds,omitempty"`
	Components            []provider.TemplateComponentDef `json:"components"`
}

func (b *templateBody) definition() provider.TemplateDefinition {
	return provider.TemplateDefinition{Name: b.Name, Language: b.Language, Category: b.Category,
		ParameterFormat: b.ParameterFormat, AllowCategoryChange: b.AllowCategoryChange,
		MessageSendTTLSeconds: b.MessageSendTTLSeconds, Components: b.Components}
}

// parseTemplate decodes a body into the model and lints it.
func parseTemplate(body []byte) (templateBody, template.Template, []template.Violation, *Error) {
	var b templateBody
	if err := decodeStrict(body, &b); err != nil {
		return b, template.Template{}, nil, err
	}
	t, err := template.FromDefinition(b.definition())
	if err != nil {
		return b, template.Template{}, nil, invalid("components", "%s", strings.TrimPrefix(err.Error(), "template: "))
	}
	vs := template.Lint(t)
	if vs == nil {
		vs = []template.Violation{}
	}
	return b, t, vs, nil
}

// checkTemplate refuses a template the linter or the model's own validation rejects.
func checkTemplate(t template.Template, vs []template.Violation) *Error {
	if template.HasErrors(vs) {
		n, first := 0, ""
		for _, v := range vs {
			if v.Severity == template.SeverityError {
				if n == 0 {
					first = v.Component + ": " + v.Message
				}
				n++
			}
		}
		return &Error{Status: http.StatusUnprocessableEntity, Code: "template_invalid",
			Message: fmt.Sprintf("the template breaks %d %s, so nothing was submitted; first: %s", n, pluralRule(n), first),
			Extra:   map[string]any{"violations": vs}}
	}
	if err := t.Validate(); err != nil {
		var fe *template.FieldError
		if errors.As(err, &fe) {
			return invalid(fe.Field, "%s", fe.Message)
		}
		return invalid("template", "%v", err)
	}
	return nil
}

func pluralRule(n int) string {
	if n == 1 {
		return "rule"
	}
	return "rules"
}

func warningsOf(vs []template.Violation) []template.Violation {
	var out []template.Violation
	for _, v := range vs {
		if v.Severity != template.SeverityError {
			out = append(out, v)
		}
	}
	return out
}

func (s *Server) lintTemplate(_ *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	_, t, vs, aerr := parseTemplate(c.body)
	if aerr != nil {
		return 0, nil, aerr
	}
	return http.StatusOK, map[string]any{"ok": !template.HasErrors(vs), "violations": vs,
		"param_count": t.ParamCount(), "params": t.Params()}, nil
}

var errTemplatesOff = &Error{Status: http.StatusServiceUnavailable, Code: "not_configured", Message: "template management is not configured"}

// templateNumber resolves the number of the caller's account (alias, its default
// when empty) and its provider: a number's templates are its account's.
func (s *Server) templateNumber(c *caller, field, alias string) (engine.Number, TemplateProvider, *Error) {
	if s.opts.TemplateStore == nil || s.opts.Engine == nil {
		return engine.Number{}, nil, errTemplatesOff
	}
	num, aerr := s.numberFor(c, field, alias)
	if aerr != nil {
		return engine.Number{}, nil, aerr
	}
	tp := s.opts.TemplateProviders[num.Alias]
	if tp == nil {
		return engine.Number{}, nil, errTemplatesOff
	}
	return num, tp, nil
}

func (s *Server) createTemplate(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	return s.idempotent(r, c, func() (int, any, error) {
		b, t, vs, aerr := parseTemplate(c.body)
		if aerr != nil {
			return 0, nil, aerr
		}
		// Whose number first: another account learns nothing of the linter's verdict.
		num, tp, aerr := s.templateNumber(c, "from", b.From)
		if aerr != nil {
			return 0, nil, aerr
		}
		if aerr := checkTemplate(t, vs); aerr != nil {
			return 0, nil, aerr
		}
		return s.submitAnswer(r.Context(), num, tp, t, vs)
	})
}

type cloneBody struct {
	NewName  string `json:"new_name"`
	Language string `json:"language,omitempty"`
	From     string `json:"from,omitempty"`
}

func (s *Server) cloneTemplate(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	return s.idempotent(r, c, func() (int, any, error) {
		var b cloneBody
		if aerr := decodeStrict(c.body, &b); aerr != nil {
			return 0, nil, aerr
		}
		if b.NewName == "" {
			return 0, nil, invalid("new_name", "is required")
		}
		num, tp, aerr := s.templateNumber(c, "from", b.From)
		if aerr != nil {
			return 0, nil, aerr
		}
		src, aerr := s.findTemplate(num.WABAID, p.ByName("name"), b.Language)
		if aerr != nil {
			return 0, nil, aerr
		}
		t := src.Template
		t.Name = b.NewName
		vs := template.Lint(t)
		if vs == nil {
			vs = []template.Violation{}
		}
		if aerr := checkTemplate(t, vs); aerr != nil {
			return 0, nil, aerr
		}
		return s.submitAnswer(r.Context(), num, tp, t, vs)
	})
}

// submitAnswer submits t, which passed checkTemplate, and answers 201 with the
// warnings among its violations vs.
func (s *Server) submitAnswer(ctx context.Context, num engine.Number, tp TemplateProvider, t template.Template, vs []template.Violation) (int, any, error) {
	rec, err := s.submitTemplate(ctx, num, tp, t)
	if err != nil {
		return 0, nil, err
	}
	v := viewOfTemplate(rec)
	v.Warnings = warningsOf(vs)
	return http.StatusCreated, v, nil
}

// submitTemplate stores t PENDING (refusing a duplicate), submits it and records the
// provider's id. A refused submission leaves nothing stored.
func (s *Server) submitTemplate(rctx context.Context, num engine.Number, tp TemplateProvider, t template.Template) (template.Record, error) {
	store := s.opts.TemplateStore
	ctx, cancel := context.WithTimeout(context.WithoutCancel(rctx), templateCallTimeout)
	defer cancel()
	rec, err := store.Create(ctx, num.WABAID, t)
	if errors.Is(err, template.ErrExists) {
		return template.Record{}, &Error{Status: http.StatusConflict, Code: "template_exists", Field: "name",
			Message: fmt.Sprintf("name: %q in %q already exists", t.Name, t.Language)}
	}
	if err != nil {
		return template.Record{}, err
	}
	def := rec.Template.Definition()
	def.ID, def.Status, def.QualityScore, def.RejectedReason = "", "", nil, ""
	created, err := tp.CreateTemplate(ctx, &def)
	if err != nil {
		if _, derr := store.Delete(ctx, num.WABAID, t.Name, t.Language); derr != nil {
			s.log.Error("api: template refused by the provider stays recorded as PENDING", "name", t.Name, "language", t.Language, "err", derr)
		}
		var te *provider.TransportError
		if errors.As(err, &te) && !te.NotSent {
			s.log.Warn("api: template submission outcome unknown; POST /v1/templates/sync will find it if it was made",
				"name", t.Name, "language", t.Language, "err", err)
		}
		return template.Record{}, providerError("submit", err)
	}
	rec, err = store.Submitted(ctx, num.WABAID, t.Name, t.Language, *created)
	if err != nil {
		return template.Record{}, err
	}
	return rec, nil
}

// providerError turns a provider failure into an answer.
func providerError(op string, err error) *Error {
	if pe, ok := provider.AsError(err); ok && pe.Enveloped {
		text := strings.ToLower(pe.Title + " " + pe.Details)
		if pe.Code == provider.CodeInvalidParameter && strings.Contains(text, "already exists") {
			return &Error{Status: http.StatusConflict, Code: "template_exists", Field: "name",
				Message: "name: the provider already has this template; POST /v1/templates/sync to learn it"}
		}
		msg := fmt.Sprintf("the provider refused to %s the template: (#%d) %s", op, pe.Code, pe.Title)
		if pe.Details != "" {
			msg += ": " + pe.Details
		}
		return &Error{Status: http.StatusBadGateway, Code: "provider_error", Message: msg, Extra: map[string]any{"provider_code": pe.Code}}
	}
	return &Error{Status: http.StatusBadGateway, Code: "provider_unavailable", Message: fmt.Sprintf("cannot %s the template at the provider: %v", op, err)}
}

// findTemplate returns the template name of the WABA in language, which may be left
// out when the name exists in one language only.
func (s *Server) findTemplate(waba, name, language string) (template.Record, *Error) {
	store := s.opts.TemplateStore
	notFound := &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("no template %q", name)}
	if language != "" {
		rec, ok := store.Get(waba, name, language)
		if !ok {
			notFound.Message = fmt.Sprintf("no template %q in %q", name, language)
			return template.Record{}, notFound
		}
		return rec, nil
	}
	recs := store.Languages(waba, name)
	switch len(recs) {
	case 0:
		return template.Record{}, notFound
	case 1:
		return recs[0], nil
	}
	langs := make([]string, len(recs))
	for i, r := range recs {
		langs[i] = r.Language
	}
	return template.Record{}, invalid("language", "%q exists in %s: give one", name, strings.Join(langs, ", "))
}

func (s *Server) getTemplate(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	q := r.URL.Query()
	num, _, aerr := s.templateNumber(c, "from", q.Get("from"))
	if aerr != nil {
		return 0, nil, aerr
	}
	rec, aerr := s.findTemplate(num.WABAID, p.ByName("name"), q.Get("language"))
	if aerr != nil {
		return 0, nil, aerr
	}
	return http.StatusOK, viewOfTemplate(rec), nil
}

func (s *Server) listTemplates(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	if s.opts.TemplateStore == nil {
		return 0, nil, errTemplatesOff
	}
	q := r.URL.Query()
	f := template.ListFilter{Name: q.Get("name"),
		Status: template.Status(strings.ToUpper(q.Get("status"))), Category: template.Category(strings.ToUpper(q.Get("category")))}
	if from := q.Get("from"); from != "" {
		num, _, aerr := s.templateNumber(c, "from", from)
		if aerr != nil {
			return 0, nil, aerr
		}
		f.WABAID = num.WABAID
	}
	f.WABAIDs = []string{}
	for _, n := range s.accountNumbers(c) {
		f.WABAIDs = append(f.WABAIDs, n.WABAID)
	}
	if !knownStatus(f.Status) {
		return 0, nil, invalid("status", "%q is not a template status", q.Get("status"))
	}
	switch f.Category {
	case "", template.CategoryMarketing, template.CategoryUtility, template.CategoryAuthentication:
	default:
		return 0, nil, invalid("category", "%q is not MARKETING, UTILITY or AUTHENTICATION", q.Get("category"))
	}
	limit, aerr := queryLimit(r, 0, template.MaxListLimit)
	if aerr != nil {
		return 0, nil, aerr
	}
	f.Limit = limit
	// The store reads its own cursors; any string here is checked there.
	if f.Cursor, aerr = queryCursor(r, func(string) bool { return true }); aerr != nil {
		return 0, nil, aerr
	}
	recs, next, err := s.opts.TemplateStore.List(f)
	if errors.Is(err, template.ErrBadCursor) {
		return 0, nil, errInvalidCursor()
	}
	if err != nil {
		return 0, nil, err
	}
	out := make([]templateView, 0, len(recs))
	for _, rec := range recs {
		out = append(out, viewOfTemplate(rec))
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}

func knownStatus(s template.Status) bool {
	switch s {
	case "", template.StatusApproved, template.StatusPending, template.StatusRejected, template.StatusPaused,
		template.StatusDisabled, template.StatusInAppeal, template.StatusPendingDeletion, template.StatusDeleted,
		template.StatusFlagged, template.StatusLimitExceeded, template.StatusArchived, template.StatusLocked:
		return true
	}
	return false
}

func (s *Server) deleteTemplate(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	q := r.URL.Query()
	num, tp, aerr := s.templateNumber(c, "from", q.Get("from"))
	if aerr != nil {
		return 0, nil, aerr
	}
	name, lang := p.ByName("name"), q.Get("language")
	hsmID := ""
	if lang != "" {
		rec, aerr := s.findTemplate(num.WABAID, name, lang)
		if aerr != nil {
			return 0, nil, aerr
		}
		if rec.ID == "" {
			return 0, nil, &Error{Status: http.StatusConflict, Code: "template_submitting",
				Message: "the template's submission has not been answered yet; retry shortly"}
		}
		hsmID = rec.ID
	} else if len(s.opts.TemplateStore.Languages(num.WABAID, name)) == 0 {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("no template %q", name)}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), templateCallTimeout)
	defer cancel()
	if err := tp.DeleteTemplate(ctx, name, hsmID); err != nil && !goneAtProvider(err) {
		return 0, nil, providerError("delete", err)
	}
	gone, err := s.opts.TemplateStore.Delete(ctx, num.WABAID, name, lang)
	if err != nil && !errors.Is(err, template.ErrNotFound) {
		return 0, nil, err
	}
	out := make([]map[string]string, 0, len(gone))
	for _, g := range gone {
		out = append(out, map[string]string{"id": g.ID, "name": g.Name, "language": g.Language})
	}
	return http.StatusOK, map[string]any{"deleted": out}, nil
}

// goneAtProvider recognises the provider saying the template does not exist: deleting
// it here is then the right outcome.
func goneAtProvider(err error) bool {
	pe, ok := provider.AsError(err)
	if !ok || !pe.Enveloped || pe.Code != provider.CodeInvalidParameter {
		return false
	}
	text := strings.ToLower(pe.Title + " " + pe.Details)
	return strings.Contains(text, "not found") || strings.Contains(text, "does not exist")
}

type syncBody struct {
	From string `json:"from,omitempty"`
}

func (s *Server) syncTemplates(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	if s.opts.TemplateStore == nil || s.opts.Engine == nil {
		return 0, nil, errTemplatesOff
	}
	var b syncBody
	if aerr := decodeOptional(c.body, &b); aerr != nil {
		return 0, nil, aerr
	}
	var nums []engine.Number
	if b.From != "" {
		num, _, aerr := s.templateNumber(c, "from", b.From)
		if aerr != nil {
			return 0, nil, aerr
		}
		nums = append(nums, num)
	} else {
		nums = s.accountNumbers(c)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*templateCallTimeout)
	defer cancel()
	seen := map[string]bool{}
	results := []template.SyncResult{}
	for _, num := range nums {
		tp := s.opts.TemplateProviders[num.Alias]
		if seen[num.WABAID] || tp == nil {
			continue
		}
		seen[num.WABAID] = true
		defs, err := tp.ListTemplates(ctx)
		if err != nil {
			return 0, nil, providerError("list", err)
		}
		res, err := s.opts.TemplateStore.Sync(ctx, num.WABAID, defs)
		if err != nil {
			return 0, nil, err
		}
		results = append(results, res)
	}
	return http.StatusOK, map[string]any{"data": results}, nil
}

// idempotent answers a retry (same Idempotency-Key, same path and body) with the first
// answer, refuses the key with another request (409), and remembers a successful
// answer.
func (s *Server) idempotent(r *http.Request, c *caller, fn func() (int, any, error)) (int, any, error) {
	if err := checkIdempotencyKey(r); err != nil {
		return 0, nil, err
	}
	h := sha256.New()
	h.Write([]byte(r.URL.Path))
	h.Write([]byte{0})
	h.Write(c.body)
	return s.idempotentHash(r, c, h.Sum(nil), fn)
}

func checkIdempotencyKey(r *http.Request) *Error {
	if len(r.Header.Get("Idempotency-Key")) > MaxIdempotencyKeyLen {
		return &Error{Status: http.StatusBadRequest, Code: "invalid_header", Field: "Idempotency-Key",
			Message: fmt.Sprintf("Idempotency-Key: at most %d characters", MaxIdempotencyKeyLen)}
	}
	return nil
}

// idempotentHash is idempotent for a request the caller has hashed itself (a streamed
// upload, whose body is not in c.body).
func (s *Server) idempotentHash(r *http.Request, c *caller, hash []byte, fn func() (int, any, error)) (int, any, error) {
	key := r.Header.Get("Idempotency-Key")
	store := s.opts.TemplateStore
	if store == nil {
		return 0, nil, errTemplatesOff
	}
	prev, err := store.Replay(c.account.ID, key, hash)
	if errors.Is(err, template.ErrIdempotencyConflict) {
		return 0, nil, &Error{Status: http.StatusConflict, Code: "idempotency_conflict", Field: "Idempotency-Key",
			Message: "Idempotency-Key: already used with a different request"}
	}
	if err != nil {
		return 0, nil, err
	}
	if prev != nil {
		return prev.Status, json.RawMessage(prev.Body), nil
	}
	status, v, err := fn()
	if err != nil || key == "" {
		return status, v, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return 0, nil, err
	}
	body := bytes.TrimRight(buf.Bytes(), "\n")
	if err := store.Remember(context.WithoutCancel(r.Context()), c.account.ID, key, template.Reply{Hash: hash, Status: status, Body: body}); err != nil {
		// The work is done; only a retry's answer is at stake.
		s.log.Error("api: cannot remember an idempotent answer", "path", r.URL.Path, "err", err)
	}
	return status, json.RawMessage(body), nil
}

// templateView is a template as the API shows it.
type templateView struct {
	ID                      string                          `json:"id"`
	Name                    string                          `json:"name"`
	Language                string                          `json:"language"`
	Category                template.Category               `json:"category"`
	Status                  template.Status                 `json:"status"`
	RejectedReason          string                          `json:"rejected_reason,omitempty"`
	RejectionRecommendation string                          `json:"rejection_recommendation,omitempty"`
	Quality                 template.Quality                `json:"quality"`
	ParamCount              int                             `json:"param_count"`
	Params                  template.ParamSpec              `json:"params"`
	ParameterFormat         template.ParameterFormat        `json:"parameter_format,omitempty"`
	Components              []provider.TemplateComponentDef `json:"components"`
	WABAID                  string                          `json:"waba_id"`
	CategoryNotice          *template.CategoryNotice        `json:"category_notice,omitempty"`
	Warnings                []template.Violation            `json:"warnings,omitempty"`
	StatusAt                any                             `json:"status_at"`
	CreatedAt               any                             `json:"created_at"`
	UpdatedAt               any                             `json:"updated_at"`
}

func viewOfTemplate(r template.Record) templateView {
	q := r.Quality
	if q == "" {
		q = template.QualityUnknown
	}
	return templateView{ID: r.ID, Name: r.Name, Language: r.Language, Category: r.Category, Status: r.Status,
		RejectedReason: r.RejectedReason, RejectionRecommendation: r.RejectionRecommendation, Quality: q,
		ParamCount: r.ParamCount(), Params: r.Params(), ParameterFormat: r.ParameterFormat,
		Components: r.Definition().Components, WABAID: r.WABAID, CategoryNotice: r.CategoryNotice,
		StatusAt: timeOrNil(r.StatusAt), CreatedAt: timeOrNil(r.CreatedAt), UpdatedAt: timeOrNil(r.UpdatedAt)}
}
