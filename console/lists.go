package console

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/julienschmidt/httprouter"
)

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{
			{"GET", "lists", marketing, c.listsIndex},
			{"POST", "lists", marketing, c.listsUpload},
			{"GET", "lists/:id", marketing, c.listsShow},
			{"POST", "lists/:id/delete", marketing, c.listsDelete},
			{"GET", "imports/:id", marketing, c.listsImport},
			{"GET", "imports/:id/progress", marketing, c.listsProgress},
			{"GET", "contacts/:phone", marketing, c.listsContact},
			{"POST", "contacts/:phone/opt-out", marketing, c.listsOptOut},
			{"POST", "contacts/:phone/opt-in", marketing, c.listsOptIn},
		}
	})
	addWords(listsWords)
}

// listsPage is how many members a list's page shows: each is looked up for its
// opt-out state.
const listsPage = 50

type listsData struct {
	Lists []any
	// Name is a refused upload's list name.
	Name string
}

func (v *visit) listsData() (listsData, error) {
	page, err := v.get("/v1/lists", url.Values{"limit": {"1000"}})
	if err != nil {
		return listsData{}, err
	}
	return listsData{Lists: list(page["data"])}, nil
}

func (c *Console) listsIndex(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, v *visit) error {
	d, err := v.listsData()
	if err != nil {
		return err
	}
	return v.show(w, "lists", v.t("lists.title"), d)
}

// listsUpload passes the upload form's multipart body to POST /v1/lists as it comes:
// the file is streamed to the store, never held here. The form's CSRF token is in
// the query (see csrfOK), and its name field comes before the file, as the API wants.
func (c *Console) listsUpload(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	ctype := r.Header.Get("Content-Type")
	var out obj
	err := badRequest("file", v.t("lists.choose_file"))
	if mt, _, _ := mime.ParseMediaType(ctype); mt == "multipart/form-data" {
		err = v.listsRelay(w, http.MethodPost, "/v1/lists", r, ctype, &out)
	}
	if err == nil {
		return v.redirect(w, Prefix+"imports/"+url.PathEscape(str(out["import_id"])), "")
	}
	d, lerr := v.listsData()
	if lerr != nil {
		return lerr
	}
	return v.showForm(w, "lists", v.t("lists.title"), d, err)
}

// listsWriter captures an API answer for a request whose body is the browser's own:
// Unwrap lets the API lift the connection's read deadline while a large upload
// arrives, as it does for an upload made to it directly.
type listsWriter struct {
	capture
	w http.ResponseWriter
}

func (l *listsWriter) Unwrap() http.ResponseWriter { return l.w }

// listsRelay makes an API call with the console request's body and decodes the
// answer as call does.
func (v *visit) listsRelay(w http.ResponseWriter, method, path string, r *http.Request, ctype string, out any) error {
	req, err := v.request(method, path, nil, r.Body, ctype)
	if err != nil {
		return err
	}
	req.ContentLength = r.ContentLength
	rec := &listsWriter{capture: capture{h: http.Header{}}, w: w}
	v.c.opts.API.ServeAs(rec, req, v.principal())
	return rec.decode(method, path, out)
}

// listsImportData is an import's page.
type listsImportData struct {
	Import  obj
	Running bool
	// Total is rows_total, empty while a CSV file is still read.
	Total string
}

func (c *Console) listsImport(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	im, err := v.get("/v1/imports/"+url.PathEscape(p.ByName("id")), nil)
	if err != nil {
		return err
	}
	d := listsImportData{Import: im, Running: str(im["status"]) == "running"}
	if n, ok := im["rows_total"].(float64); ok {
		d.Total = fmt.Sprint(int64(n))
	}
	return v.show(w, "import", v.t("lists.import_title", str(im["list_name"])), d)
}

// listsProgress answers an import as the API does, for the import page's script.
func (c *Console) listsProgress(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	im, err := v.get("/v1/imports/"+url.PathEscape(p.ByName("id")), nil)
	if err != nil {
		status := statusOf(err)
		return tplJSON(w, status, obj{"error": v.messageOf(err)})
	}
	return tplJSON(w, http.StatusOK, im)
}

// listsMember is a member of a list with its opt-out state.
type listsMember struct {
	Phone, Name string
	Vars        []string
	OptedOut    bool
}

type listsShowData struct {
	List    obj
	Columns []string
	Members []listsMember
	Cursor  string
	Next    string
	// Span is the table's column count.
	Span int
}

func (c *Console) listsShow(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	id := url.PathEscape(p.ByName("id"))
	l, err := v.get("/v1/lists/"+id, nil)
	if err != nil {
		return err
	}
	d := listsShowData{List: l, Cursor: r.URL.Query().Get("cursor")}
	for _, col := range list(l["columns"]) {
		d.Columns = append(d.Columns, str(col))
	}
	q := url.Values{"limit": {fmt.Sprint(listsPage)}}
	if d.Cursor != "" {
		q.Set("cursor", d.Cursor)
	}
	page, err := v.get("/v1/lists/"+id+"/contacts", q)
	if err != nil {
		return err
	}
	d.Next, d.Span = str(page["next_cursor"]), len(d.Columns)+3
	for _, x := range list(page["data"]) {
		m, _ := x.(obj)
		vars, _ := m["vars"].(obj)
		mem := listsMember{Phone: str(m["phone"]), Name: str(m["name"])}
		for _, col := range d.Columns {
			mem.Vars = append(mem.Vars, str(vars[col]))
		}
		// The list knows who is on it; whether they opted out is the contact's.
		ct, err := v.get("/v1/contacts/"+url.PathEscape(mem.Phone), nil)
		if err != nil {
			return err
		}
		mem.OptedOut, _ = ct["opted_out"].(bool)
		d.Members = append(d.Members, mem)
	}
	return v.show(w, "list", str(l["name"]), d)
}

func (c *Console) listsDelete(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	if err := v.call(http.MethodDelete, "/v1/lists/"+url.PathEscape(p.ByName("id")), nil, nil, nil); err != nil {
		return err
	}
	return v.redirect(w, Prefix+"lists", "lists.deleted_ok")
}

// listsContactData is a contact's page: the opt-out state, per number of the account,
// and the lists the contact is on.
type listsContactData struct {
	Contact obj
	Lists   []listsRef
}

type listsRef struct{ ID, Name string }

func (c *Console) listsContact(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	ct, err := v.get("/v1/contacts/"+url.PathEscape(p.ByName("phone")), nil)
	if err != nil {
		return err
	}
	d := listsContactData{Contact: ct}
	if ids := list(ct["lists"]); len(ids) > 0 {
		names := map[string]string{}
		all, err := v.get("/v1/lists", url.Values{"limit": {"1000"}})
		if err != nil {
			return err
		}
		for _, x := range list(all["data"]) {
			l, _ := x.(obj)
			names[str(l["id"])] = str(l["name"])
		}
		for _, id := range ids {
			d.Lists = append(d.Lists, listsRef{ID: str(id), Name: names[str(id)]})
		}
		sort.Slice(d.Lists, func(i, j int) bool { return d.Lists[i].Name < d.Lists[j].Name })
	}
	return v.show(w, "lists-contact", str(ct["phone"]), d)
}

func (c *Console) listsOptOut(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	return v.listsOpt(w, p.ByName("phone"), "opt-out", "lists.opted_out_ok")
}

func (c *Console) listsOptIn(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	return v.listsOpt(w, p.ByName("phone"), "opt-in", "lists.opted_in_ok")
}

func (v *visit) listsOpt(w http.ResponseWriter, phone, change, done string) error {
	var ct obj
	if err := v.call(http.MethodPost, "/v1/contacts/"+url.PathEscape(phone)+"/"+change, nil, nil, &ct); err != nil {
		return err
	}
	return v.redirect(w, Prefix+"contacts/"+url.PathEscape(strings.TrimSpace(str(ct["phone"]))), done)
}
