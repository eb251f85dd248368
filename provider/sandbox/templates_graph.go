package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"kirim/provider"
)

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
	s.saveState()

	s.out.scheduleFunc(s.now()+int64(s.opts.ReviewDelay), func() { s.review(st, t) })
	return &provider.TemplateCreated{ID: t.id, Status: tmplPending, Category: def.Category}, nil
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
	s.saveState()
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
