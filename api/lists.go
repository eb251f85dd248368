package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"kirim/campaign/lists"
)

// MaxUploadBytes bounds one list upload (about 5 million rows of a typical sheet).
const MaxUploadBytes = 512 << 20

// maxFieldBytes bounds a multipart text field (the list name).
const maxFieldBytes = 1 << 10

// streamedBodies names the routes whose handlers read the request body themselves
// (uploads larger than MaxBody).
var streamedBodies = map[string]bool{"POST /v1/lists": true}

// listRoutes serves contacts lists and imports.
func (s *Server) listRoutes() []route {
	return []route{
		{"POST", "/v1/lists", ScopeCampaigns, s.importList},
		{"GET", "/v1/lists", ScopeSend, s.listLists},
		{"GET", "/v1/lists/:id", ScopeSend, s.getList},
		{"GET", "/v1/lists/:id/contacts", ScopeSend, s.listContacts},
		{"DELETE", "/v1/lists/:id", ScopeCampaigns, s.deleteList},
		{"GET", "/v1/imports/:id", ScopeSend, s.getImport},
	}
}

var errListsOff = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "lists are not enabled"}

// listError maps the lists store's errors to the envelope.
func listError(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, lists.ErrNoPhoneColumn):
		return &Error{Status: http.StatusBadRequest, Code: "missing_phone_column", Field: "file", Message: "file: " + err.Error()}
	case errors.Is(err, lists.ErrBadHeader):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_header_row", Field: "file", Message: "file: " + err.Error()}
	case errors.Is(err, lists.ErrLegacyFormat):
		return &Error{Status: http.StatusBadRequest, Code: "unsupported_format", Field: "file", Message: "file: " + err.Error()}
	case errors.Is(err, lists.ErrFileTooLarge), errors.As(err, &tooBig):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Field: "file",
			Message: fmt.Sprintf("file: larger than %d MiB", MaxUploadBytes>>20)}
	case errors.Is(err, lists.ErrInvalidRequest):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: "name", Message: err.Error()}
	case errors.Is(err, lists.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such list or import"}
	case errors.Is(err, lists.ErrBusy):
		return &Error{Status: http.StatusConflict, Code: "import_running", Message: err.Error()}
	}
	return err
}

// importList answers POST /v1/lists: multipart with a `name` field before a `file`
// part (CSV or XLSX), or a raw text/csv body with ?name=. The file is streamed to the
// store, which answers once it has it; the rows import in the background.
func (s *Server) importList(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	store := s.opts.Lists
	if store == nil {
		return 0, nil, errListsOff
	}
	body := http.MaxBytesReader(nil, r.Body, MaxUploadBytes)
	req := lists.ImportRequest{Account: c.account.ID, Region: c.account.DefaultRegion, ListName: r.URL.Query().Get("name")}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return 0, nil, invalid("file", "the multipart body cannot be read: %v", err)
		}
		r.Body = body
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return 0, nil, invalid("file", "is required (a CSV or XLSX file part)")
			}
			if err != nil {
				return 0, nil, listError(err)
			}
			switch part.FormName() {
			case "name":
				b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
				if err != nil {
					return 0, nil, listError(err)
				}
				if len(b) > maxFieldBytes {
					return 0, nil, invalid("name", "longer than %d bytes", maxFieldBytes)
				}
				req.ListName = strings.TrimSpace(string(b))
			case "file":
				req.Filename, req.Body = part.FileName(), part
				return s.startImport(r, req)
			}
		}
	case "text/csv", "text/plain", "application/octet-stream",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		req.Body = body
		if mt != "text/csv" && mt != "text/plain" {
			req.Filename = "upload.xlsx"
		}
		return s.startImport(r, req)
	}
	return 0, nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "file",
		Message: "send multipart/form-data with name and file, or a text/csv body with ?name="}
}

func (s *Server) startImport(r *http.Request, req lists.ImportRequest) (int, any, error) {
	if req.ListName == "" {
		return 0, nil, invalid("name", "is required (send the name field before the file)")
	}
	im, err := s.opts.Lists.Import(r.Context(), req)
	if err != nil {
		return 0, nil, listError(err)
	}
	return http.StatusAccepted, map[string]any{"import_id": im.ID, "list_id": im.ListID, "status": im.Status, "import": im}, nil
}

func (s *Server) getImport(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Lists == nil {
		return 0, nil, errListsOff
	}
	im, err := s.opts.Lists.GetImport(c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, listError(err)
	}
	if im.Errors == nil {
		im.Errors = []lists.RowError{}
	}
	return http.StatusOK, im, nil
}

func (s *Server) listLists(_ *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Lists == nil {
		return 0, nil, errListsOff
	}
	ls, err := s.opts.Lists.Lists(c.account.ID)
	if err != nil {
		return 0, nil, err
	}
	if ls == nil {
		ls = []lists.List{}
	}
	return http.StatusOK, map[string]any{"data": ls, "next_cursor": ""}, nil
}

func (s *Server) getList(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Lists == nil {
		return 0, nil, errListsOff
	}
	l, err := s.opts.Lists.List(c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, listError(err)
	}
	return http.StatusOK, l, nil
}

// memberView is one contact of a list.
type memberView struct {
	Phone string            `json:"phone"`
	Name  string            `json:"name,omitempty"`
	Vars  map[string]string `json:"vars"`
}

func (s *Server) listContacts(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Lists == nil {
		return 0, nil, errListsOff
	}
	id := p.ByName("id")
	if _, err := s.opts.Lists.List(c.account.ID, id); err != nil {
		return 0, nil, listError(err)
	}
	limit, aerr := pageLimit(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	out := []memberView{}
	next := ""
	err := s.opts.Lists.Members(id, r.URL.Query().Get("cursor"), func(m lists.Member) (bool, error) {
		if len(out) == limit {
			next = out[len(out)-1].Phone
			return false, nil
		}
		vars := m.Vars
		if vars == nil {
			vars = map[string]string{}
		}
		out = append(out, memberView{Phone: m.Phone, Name: m.Name, Vars: vars})
		return true, nil
	})
	if err != nil {
		return 0, nil, listError(err)
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}

func (s *Server) deleteList(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Lists == nil {
		return 0, nil, errListsOff
	}
	if err := s.opts.Lists.Delete(r.Context(), c.account.ID, p.ByName("id")); err != nil {
		return 0, nil, listError(err)
	}
	return http.StatusOK, map[string]any{"id": p.ByName("id"), "deleted": true}, nil
}
