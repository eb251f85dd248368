package api

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"kirim/campaign/lists"
)

// streamedBodies names the routes whose handlers read the request body themselves
// (uploads larger than MaxBody).
var streamedBodies = map[string]bool{
	"POST /v1/lists": true,
}

// Limits of the list endpoints.
const (
	// MaxUploadBytes caps a list upload: the file (lists.MaxFileBytes) plus room for
	// the multipart envelope.
	MaxUploadBytes = lists.MaxFileBytes + 1<<20
	// DefaultListLimit and MaxListLimit page GET /v1/lists, its contacts, campaigns
	// and their recipients.
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// listRoutes serves contacts lists and imports.
func (s *Server) listRoutes() []route {
	return []route{
		{"POST", "/v1/lists", ScopeCampaigns, s.createList},
		{"GET", "/v1/lists", scopeSendOrCampaigns, s.listLists},
		{"GET", "/v1/lists/:id", scopeSendOrCampaigns, s.getList},
		{"GET", "/v1/lists/:id/contacts", scopeSendOrCampaigns, s.listContacts},
		{"DELETE", "/v1/lists/:id", ScopeCampaigns, s.deleteList},
		{"GET", "/v1/imports/:id", scopeSendOrCampaigns, s.getImport},
	}
}

func (s *Server) listStore() (*lists.Store, error) {
	if s.opts.Lists == nil {
		return nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "lists are not configured"}
	}
	return s.opts.Lists, nil
}

// listError maps a lists error to the envelope.
func listError(err error, what string) error {
	msg := strings.TrimPrefix(err.Error(), "lists: ")
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, lists.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such " + what}
	case errors.Is(err, lists.ErrNoPhoneColumn):
		return &Error{Status: http.StatusBadRequest, Code: "missing_phone_column", Field: "file", Message: "file: " + msg}
	case errors.Is(err, lists.ErrLegacyFormat):
		return &Error{Status: http.StatusBadRequest, Code: "unsupported_format", Field: "file", Message: "file: " + msg}
	case errors.Is(err, lists.ErrBadHeader):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_file", Field: "file", Message: "file: " + msg}
	case errors.Is(err, lists.ErrFileTooLarge), errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Field: "file",
			Message: fmt.Sprintf("file: larger than %d bytes", int64(lists.MaxFileBytes))}
	case errors.Is(err, lists.ErrInvalidRequest):
		return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: "name", Message: msg}
	case errors.Is(err, lists.ErrBusy):
		return &Error{Status: http.StatusConflict, Code: "import_running", Message: msg}
	}
	return err
}

// createList imports an uploaded file into a new list, or appends it to the account's
// list of that name. The body is multipart/form-data with a name field and then a file
// part, or the file itself (text/csv or an .xlsx content type) with ?name=. The file is
// streamed to the store, never held in memory. Answers 202 once the file is received
// and its header checked; GET /v1/imports/{id} follows the rows.
func (s *Server) createList(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	st, err := s.listStore()
	if err != nil {
		return 0, nil, err
	}
	r.Body = http.MaxBytesReader(nil, r.Body, MaxUploadBytes)
	req := lists.ImportRequest{Account: c.account.ID, Region: c.account.DefaultRegion,
		ListName: r.URL.Query().Get("name"), Filename: r.URL.Query().Get("filename")}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return 0, nil, &Error{Status: http.StatusBadRequest, Code: "invalid_body", Message: "cannot read the multipart body: " + err.Error()}
		}
		for req.Body == nil {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return 0, nil, invalid("file", "is required: a part named file holding the CSV or XLSX file")
			}
			if err != nil {
				return 0, nil, listError(fmt.Errorf("reading the multipart body: %w", err), "")
			}
			switch part.FormName() {
			case "name":
				b, err := io.ReadAll(io.LimitReader(part, lists.MaxListNameBytes+1))
				if err != nil {
					return 0, nil, listError(err, "")
				}
				req.ListName = string(b)
			case "file":
				if strings.TrimSpace(req.ListName) == "" {
					return 0, nil, invalid("name", "is required, before the file part (or as ?name=)")
				}
				req.Filename, req.Body = part.FileName(), part
			}
		}
	case "text/csv", "application/csv", "text/plain", "text/tab-separated-values", "application/octet-stream",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-excel":
		if strings.TrimSpace(req.ListName) == "" {
			return 0, nil, invalid("name", "is required (?name=)")
		}
		if req.Filename == "" && mt == "application/vnd.ms-excel" {
			req.Filename = "upload.xls"
		}
		req.Body = r.Body
	default:
		return 0, nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "Content-Type",
			Message: "Content-Type: send multipart/form-data (name, file) or the file itself as text/csv with ?name="}
	}
	if err := validListName(req.ListName); err != nil {
		return 0, nil, err
	}
	if r.Header.Get("Idempotency-Key") == "" {
		return importList(r, st, req)
	}
	if err := checkIdempotencyKey(r); err != nil {
		return 0, nil, err
	}
	// The key's first answer is given back only for the same file under the same list
	// name and filename, so the upload is hashed (into a temporary file) before it is
	// imported.
	f, hash, err := spoolHashed(r.URL.Path, &req)
	if err != nil {
		return 0, nil, err
	}
	handedOver := false
	defer func() {
		if !handedOver { // a replay or a conflict: nothing is imported
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	return s.idempotentHash(r, c, hash, func() (int, any, error) {
		// The import takes the received file over instead of receiving it again.
		handedOver = true
		req.Body, req.Spooled = nil, f
		return importList(r, st, req)
	})
}

func importList(r *http.Request, st *lists.Store, req lists.ImportRequest) (int, any, error) {
	im, err := st.Import(r.Context(), req)
	if err != nil {
		return 0, nil, listError(err, "list")
	}
	return http.StatusAccepted, map[string]any{"import_id": im.ID, "list_id": im.ListID, "list_name": im.ListName, "status": im.Status}, nil
}

// spoolHashed copies an upload to a temporary file and hashes it with the path, list
// name and filename of its request.
func spoolHashed(path string, req *lists.ImportRequest) (*os.File, []byte, error) {
	h := sha256.New()
	for _, v := range []string{path, req.ListName, req.Filename} {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	f, err := os.CreateTemp("", "kirim-upload-*")
	if err != nil {
		return nil, nil, fmt.Errorf("api: spool upload: %w", err)
	}
	if _, err := io.Copy(io.MultiWriter(f, h), req.Body); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, nil, listError(fmt.Errorf("receiving the file: %w", err), "")
	}
	return f, h.Sum(nil), nil
}

func validListName(n string) *Error {
	switch {
	case strings.TrimSpace(n) == "":
		return invalid("name", "is required")
	case len(n) > lists.MaxListNameBytes:
		return invalid("name", "at most %d bytes", lists.MaxListNameBytes)
	}
	return nil
}

type listView struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Columns   []string `json:"columns"`
	Count     int64    `json:"count"`
	CreatedAt string   `json:"created_at"`
	UpdatedAt string   `json:"updated_at"`
	ImportID  string   `json:"import_id"`
}

func listOf(l lists.List) listView {
	return listView{ID: l.ID, Name: l.Name, Columns: l.Columns, Count: l.Count, ImportID: l.ImportID,
		CreatedAt: l.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: l.UpdatedAt.UTC().Format(time.RFC3339Nano)}
}

// pageLimit reads ?limit= for the list and campaign endpoints.
func pageLimit(r *http.Request) (int, *Error) {
	return queryLimit(r, DefaultListLimit, MaxListLimit)
}

// listLists pages the account's lists, oldest first; the cursor is the last list's id.
func (s *Server) listLists(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	st, err := s.listStore()
	if err != nil {
		return 0, nil, err
	}
	limit, aerr := pageLimit(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	all, err := st.Lists(c.account.ID)
	if err != nil {
		return 0, nil, err
	}
	cursor, aerr := queryCursor(r, idCursor("lst"))
	if aerr != nil {
		return 0, nil, aerr
	}
	out := []listView{}
	next := ""
	for _, l := range all {
		if cursor != "" && l.ID <= cursor {
			continue
		}
		if len(out) == limit {
			next = out[len(out)-1].ID
			break
		}
		out = append(out, listOf(l))
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}

func (s *Server) getList(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	st, err := s.listStore()
	if err != nil {
		return 0, nil, err
	}
	l, err := st.List(c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, listError(err, "list")
	}
	return http.StatusOK, listOf(*l), nil
}

type memberView struct {
	Phone string            `json:"phone"`
	Name  string            `json:"name"`
	Vars  map[string]string `json:"vars"`
}

// listContacts pages a list's members in phone order (cursor: phoneCursor).
func (s *Server) listContacts(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	st, err := s.listStore()
	if err != nil {
		return 0, nil, err
	}
	limit, aerr := pageLimit(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	after, aerr := parsePhoneCursor(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	id := p.ByName("id")
	if _, err := st.List(c.account.ID, id); err != nil {
		return 0, nil, listError(err, "list")
	}
	out := []memberView{}
	more := false
	err = st.Members(id, after, func(m lists.Member) (bool, error) {
		if len(out) == limit {
			more = true
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
		return 0, nil, listError(err, "list")
	}
	next := ""
	if more {
		next = phoneCursor(out[len(out)-1].Phone)
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}

func (s *Server) deleteList(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	st, err := s.listStore()
	if err != nil {
		return 0, nil, err
	}
	id := p.ByName("id")
	if err := st.Delete(r.Context(), c.account.ID, id); err != nil {
		return 0, nil, listError(err, "list")
	}
	return http.StatusOK, map[string]any{"id": id, "deleted": true}, nil
}

type importView struct {
	ID          string           `json:"id"`
	ListID      string           `json:"list_id"`
	ListName    string           `json:"list_name"`
	Filename    string           `json:"filename,omitempty"`
	Format      string           `json:"format"`
	Status      string           `json:"status"`
	RowsTotal   *int64           `json:"rows_total"`
	RowsDone    int64            `json:"rows_done"`
	Imported    int64            `json:"imported"`
	Duplicates  int64            `json:"duplicates"`
	Errors      []lists.RowError `json:"errors"`
	ErrorsTotal int64            `json:"errors_total"`
	Progress    float64          `json:"progress"`
	Error       string           `json:"error,omitempty"`
	StartedAt   string           `json:"started_at"`
	FinishedAt  any              `json:"finished_at"`
}

func (s *Server) getImport(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	st, err := s.listStore()
	if err != nil {
		return 0, nil, err
	}
	im, err := st.GetImport(c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, listError(err, "import")
	}
	return http.StatusOK, importViewOf(im), nil
}

// importViewOf is an import as the API shows it.
func importViewOf(im *lists.Import) importView {
	v := importView{ID: im.ID, ListID: im.ListID, ListName: im.ListName, Filename: im.Filename, Format: im.Format,
		Status: im.Status, RowsDone: im.RowsDone, Imported: im.Imported, Duplicates: im.Duplicates, Errors: im.Errors,
		ErrorsTotal: im.ErrorsTotal, Progress: im.Progress, Error: im.Error,
		StartedAt: im.StartedAt.UTC().Format(time.RFC3339Nano), FinishedAt: timeOrNil(im.FinishedAt)}
	// A CSV file's row count is known only at the end: null until then.
	if im.Status != lists.StatusRunning || im.RowsTotal > 0 {
		v.RowsTotal = &im.RowsTotal
	}
	if v.Errors == nil {
		v.Errors = []lists.RowError{}
	}
	return v
}
