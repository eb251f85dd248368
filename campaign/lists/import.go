package lists

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"kirim/storage"
)

// ImportRequest is a file to import into the account's list called ListName: a new
// list, or, when the account already has a list of that name, appended to it.
type ImportRequest struct {
	Account  string
	ListName string
	Filename string // tells .xls from CSV when the content cannot; optional
	Region   string // default region for local phone numbers (0812...); "ID" when empty
	Body     io.Reader
	// Spooled, instead of Body, is the file already received into a temporary file
	// (the API does so to recognise a retried upload before importing it). Import
	// takes it over: it reads it from the start and removes it, also on an error.
	Spooled *os.File
}

// Import is one import job and its progress.
type Import struct {
	ID       string `json:"id"`
	Account  string `json:"account"`
	ListID   string `json:"list_id"`
	ListName string `json:"list_name"`
	Filename string `json:"filename,omitempty"`
	Format   string `json:"format"`
	Status   string `json:"status"`
	// RowsTotal is the number of data rows (blank rows excluded) once done; while a
	// workbook is read it is the row count the sheet declares, and while a CSV file is
	// read it is 0 (unknown): Progress tells how far the read is instead.
	RowsTotal int64 `json:"rows_total"`
	// RowsDone counts the data rows settled so far: Imported + Duplicates + ErrorsTotal.
	RowsDone   int64 `json:"rows_done"`
	Imported   int64 `json:"imported"`
	Duplicates int64 `json:"duplicates"`
	// Errors are the first MaxRowErrors bad rows, in file order.
	Errors      []RowError `json:"errors"`
	ErrorsTotal int64      `json:"errors_total"`
	// Progress is the share of the file read, 0 to 1.
	Progress   float64   `json:"progress"`
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

// RowError is one row that was not imported. Row is the spreadsheet row number (the
// header is row 1); Column is the column's normalized name ("phone", "name", or a
// variable), or its letter for a cell beyond the header.
type RowError struct {
	Row     int64  `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// job is an import between prepare and the end of run.
type job struct {
	imp     Import
	list    List
	region  string
	src     source
	hdr     *header
	colMap  []int // cell index -> list column position, -1 for none
	nCols   int   // len(list.Columns)
	tmpPath string
}

// Import checks the file's header, creates (or finds) the list, and imports the rows
// in the background; it returns as soon as the file is received, with status running.
// A file without a phone column returns ErrNoPhoneColumn and creates nothing.
func (s *Store) Import(ctx context.Context, req ImportRequest) (*Import, error) {
	j, err := s.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	im := j.imp
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run(s.ctx, j)
	}()
	return &im, nil
}

// ImportSync is Import running to the end in the caller's goroutine. When ctx ends
// first, the import stops, is marked failed, and keeps what it wrote.
func (s *Store) ImportSync(ctx context.Context, req ImportRequest) (*Import, error) {
	j, err := s.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	im := s.run(ctx, j)
	return &im, nil
}

// GetImport returns an import of the account, or ErrNotFound.
func (s *Store) GetImport(account, id string) (*Import, error) {
	var im Import
	err := s.db.View(func(r storage.Reader) error {
		v, err := r.Get(importKey(id))
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		return json.Unmarshal(v, &im)
	})
	if err == nil && im.Account != account {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("lists: import %s: %w", id, err)
	}
	return &im, nil
}

// prepare receives the file into a temporary file (a workbook is a zip, which needs
// random access; a CSV file is read at the pace of the import, not of the upload),
// reads its header, and records the import and its list.
func (s *Store) prepare(ctx context.Context, req ImportRequest) (_ *job, err error) {
	if req.Spooled != nil {
		// Until it is the job's own file (below), it is removed on any error.
		defer func() {
			if err != nil && req.Spooled != nil {
				_ = req.Spooled.Close()
				_ = os.Remove(req.Spooled.Name())
			}
		}()
	}
	if req.Account == "" {
		return nil, fmt.Errorf("%w: account is required", ErrInvalidRequest)
	}
	req.ListName = strings.TrimSpace(req.ListName)
	if err := validName(req.ListName); err != nil {
		return nil, fmt.Errorf("%w: name %v", ErrInvalidRequest, err)
	}
	if req.Body == nil && req.Spooled == nil {
		return nil, fmt.Errorf("%w: no file", ErrInvalidRequest)
	}
	region := req.Region
	if region == "" {
		region = defaultRegion
	}
	tmp, size, err := spooled(ctx, &req)
	if err != nil {
		return nil, err
	}
	j := &job{region: region, tmpPath: tmp.Name()}
	defer func() {
		if err != nil {
			if j.src != nil {
				_ = j.src.close()
			}
			_ = tmp.Close()
			_ = os.Remove(j.tmpPath)
		}
	}()
	head := make([]byte, 8)
	n, _ := tmp.ReadAt(head, 0)
	format, err := sniffFormat(head[:n], req.Filename)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatXLSX:
		_ = tmp.Close()
		if j.src, err = openXLSX(j.tmpPath); err != nil {
			return nil, err
		}
	default:
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("lists: import: %w", err)
		}
		j.src, _ = openCSV(tmp, size)
	}
	var cells []string
	for {
		_, c, _, err := j.src.next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file is empty", ErrBadHeader)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadHeader, err)
		}
		if !blankRow(c) {
			cells = slices.Clone(c)
			break
		}
	}
	if j.hdr, err = parseHeader(cells); err != nil {
		return nil, err
	}
	if err := s.record(ctx, j, req, format); err != nil {
		return nil, err
	}
	return j, nil
}

// spooled returns the request's file in a temporary file: its Spooled file, taken over
// (req.Spooled is cleared), or Body copied by spool.
func spooled(ctx context.Context, req *ImportRequest) (*os.File, int64, error) {
	f := req.Spooled
	if f == nil {
		return spool(ctx, req.Body)
	}
	st, err := f.Stat()
	if err == nil && st.Size() > MaxFileBytes {
		err = fmt.Errorf("%w: larger than %d bytes", ErrFileTooLarge, int64(MaxFileBytes))
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("lists: import: %w", err) // prepare removes req.Spooled
	}
	req.Spooled = nil
	return f, st.Size(), nil
}

// spool copies body to a temporary file, up to MaxFileBytes.
func spool(ctx context.Context, body io.Reader) (*os.File, int64, error) {
	tmp, err := os.CreateTemp("", "kirim-import-*")
	if err != nil {
		return nil, 0, fmt.Errorf("lists: import: %w", err)
	}
	n, err := io.Copy(tmp, io.LimitReader(ctxReader{ctx, body}, MaxFileBytes+1))
	if err == nil && n > MaxFileBytes {
		err = fmt.Errorf("%w: larger than %d bytes", ErrFileTooLarge, int64(MaxFileBytes))
	} else if err != nil {
		err = fmt.Errorf("lists: import: receiving the file: %w", err)
	}
	if err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return nil, 0, err
	}
	return tmp, n, nil
}

// ctxReader stops a copy once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// record finds or creates the list, maps the file's columns onto it, and stores the
// import and the list in one commit.
func (s *Store) record(ctx context.Context, j *job, req ImportRequest, format string) error {
	now := s.clk.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	var existing *List
	lists, err := s.Lists(req.Account)
	if err != nil {
		return err
	}
	for i := range lists {
		if lists[i].Name == req.ListName {
			existing = &lists[i]
			break
		}
	}
	if existing != nil {
		if _, busy := s.busy[existing.ID]; busy {
			return fmt.Errorf("lists: import into %s: %w", existing.ID, ErrBusy)
		}
		j.list = *existing
	} else {
		j.list = List{ID: storage.NewID("lst", now), Account: req.Account, Name: req.ListName, Columns: []string{}, CreatedAt: now}
	}
	j.colMap = make([]int, len(j.hdr.vars))
	for i, v := range j.hdr.vars {
		j.colMap[i] = -1
		if v < 0 {
			continue
		}
		name := j.hdr.cols[v]
		pos := slices.Index(j.list.Columns, name)
		if pos < 0 {
			if len(j.list.Columns) >= MaxColumns {
				return fmt.Errorf("%w: list %q would have more than %d columns", ErrBadHeader, j.list.Name, MaxColumns)
			}
			pos = len(j.list.Columns)
			j.list.Columns = append(j.list.Columns, name)
		}
		j.colMap[i] = pos
	}
	j.nCols = len(j.list.Columns)
	j.imp = Import{
		ID: storage.NewID("imp", now), Account: req.Account, ListID: j.list.ID, ListName: j.list.Name,
		Filename: clip(req.Filename), Format: format, Status: StatusRunning, RowsTotal: max(j.src.estimate()-1, 0),
		Errors: []RowError{}, StartedAt: now,
	}
	j.list.ImportID, j.list.UpdatedAt = j.imp.ID, now
	err = s.db.Commit(ctx, func(tx storage.Txn) error {
		if err := putJSON(tx, listKey(j.list.ID), &j.list); err != nil {
			return err
		}
		return putJSON(tx, importKey(j.imp.ID), &j.imp)
	})
	if err != nil {
		return fmt.Errorf("lists: import: %w", err)
	}
	s.busy[j.list.ID] = j.imp.ID
	s.log.Info("lists: import started", "import", j.imp.ID, "list", j.list.ID, "account", req.Account, "format", format, "appending", existing != nil)
	return nil
}

// pending is a row waiting for its chunk to be written.
type pending struct {
	row   int64
	phone string
	value []byte
}

// run reads the rows and writes them chunk by chunk, committing progress after each,
// and returns the final record.
func (s *Store) run(ctx context.Context, j *job) Import {
	defer func() {
		_ = j.src.close()
		_ = os.Remove(j.tmpPath)
		s.mu.Lock()
		delete(s.busy, j.list.ID)
		s.mu.Unlock()
	}()
	w := &chunkWriter{s: s, j: j, seen: make(map[string]struct{}, chunkRows)}
	var dataRows int64
	var failure error
	writeFailed := false
	for {
		if err := ctx.Err(); err != nil {
			failure = fmt.Errorf("stopped before the end of the file (%v); the rows before that are kept", err)
			break
		}
		row, cells, raw, err := j.src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			failure = fmt.Errorf("cannot read the file %v; the rows before that are kept", err)
			break
		}
		if blankRow(cells) && blankRow(raw) {
			continue
		}
		dataRows++
		if dataRows > MaxRows {
			failure = fmt.Errorf("more than %d data rows: rows from %d on were not read", MaxRows, row)
			dataRows--
			break
		}
		if p, rerr := j.parseRow(row, cells, raw); rerr != nil {
			w.rowError(*rerr)
		} else {
			w.add(p)
		}
		if len(w.rows) >= chunkRows || w.settled() >= chunkRows {
			if err := w.flush(dataRows, false); err != nil {
				failure, writeFailed = fmt.Errorf("writing rows: %v", err), true
				break
			}
		}
	}
	if !writeFailed {
		// Rows read before a read error or a stop are written too: they are good.
		if err := w.flush(dataRows, failure == nil); err != nil {
			failure = fmt.Errorf("writing rows: %v", err)
		}
	}
	if failure != nil {
		if err := w.fail(failure); err != nil {
			s.log.Error("lists: recording a failed import", "import", j.imp.ID, "err", err)
		}
		s.log.Warn("lists: import failed", "import", j.imp.ID, "list", j.list.ID, "rows_done", j.imp.RowsDone, "reason", failure.Error())
		return j.imp
	}
	s.log.Info("lists: import done", "import", j.imp.ID, "list", j.list.ID, "rows", j.imp.RowsTotal,
		"imported", j.imp.Imported, "duplicates", j.imp.Duplicates, "errors", j.imp.ErrorsTotal)
	return j.imp
}

// parseRow turns one data row into a member, or says what is wrong with it.
func (j *job) parseRow(row int64, cells, raw []string) (pending, *RowError) {
	h := j.hdr
	for i := h.width; i < len(cells); i++ {
		if strings.TrimSpace(cells[i]) != "" {
			return pending{}, &RowError{Row: row, Column: columnLetter(i),
				Message: fmt.Sprintf("too many columns: the row has a value in column %s, the header has %d columns", columnLetter(i), h.width)}
		}
	}
	rawPhone := cell(cells, h.phone)
	if raw != nil {
		rawPhone = cell(raw, h.phone)
	}
	e164, err := cleanPhone(rawPhone, j.region)
	if err != nil {
		return pending{}, &RowError{Row: row, Column: "phone", Message: err.Error()}
	}
	var name string
	if h.name >= 0 {
		name = cleanValue(cell(cells, h.name))
		if len(name) > MaxCellBytes {
			return pending{}, &RowError{Row: row, Column: "name", Message: fmt.Sprintf("longer than %d bytes", MaxCellBytes)}
		}
	}
	vars := make([]string, j.nCols)
	for i, pos := range j.colMap {
		if pos < 0 || i >= len(cells) {
			continue
		}
		v := cleanValue(cells[i])
		if len(v) > MaxCellBytes {
			return pending{}, &RowError{Row: row, Column: j.list.Columns[pos], Message: fmt.Sprintf("longer than %d bytes", MaxCellBytes)}
		}
		vars[pos] = v
	}
	return pending{row: row, phone: e164, value: encodeMember(nil, name, vars)}, nil
}

func cell(cells []string, i int) string {
	if i < 0 || i >= len(cells) {
		return ""
	}
	return cells[i]
}

func blankRow(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// chunkWriter deduplicates and writes rows a chunk at a time. Duplicates are found
// exactly without a set that grows with the file: within a chunk by a map of at most
// chunkRows phones, against earlier chunks and the list's existing members by a point
// read of the member key (the earlier chunks are flushed by then). The first
// occurrence wins.
type chunkWriter struct {
	s     *Store
	j     *job
	rows  []pending
	seen  map[string]struct{}
	extra int64 // rows settled in this chunk without a write (errors)
}

func (w *chunkWriter) add(p pending) { w.rows = append(w.rows, p) }

func (w *chunkWriter) settled() int { return len(w.rows) + int(w.extra) }

func (w *chunkWriter) rowError(e RowError) {
	im := &w.j.imp
	im.ErrorsTotal++
	if len(im.Errors) < MaxRowErrors {
		im.Errors = append(im.Errors, e)
	}
	w.extra++
}

// flush writes the chunk, then commits the import's progress and the list's count.
func (w *chunkWriter) flush(dataRows int64, final bool) error {
	im, s := &w.j.imp, w.s
	fresh := w.rows[:0]
	clear(w.seen)
	var dups int64
	for _, p := range w.rows {
		if _, dup := w.seen[p.phone]; dup {
			dups++
			continue
		}
		w.seen[p.phone] = struct{}{}
		fresh = append(fresh, p)
	}
	// Sorted, the point reads and the batch walk the key space in order.
	slices.SortFunc(fresh, func(a, b pending) int { return strings.Compare(a.phone, b.phone) })
	var add []pending
	if len(fresh) > 0 {
		err := s.db.View(func(r storage.Reader) error {
			for _, p := range fresh {
				_, err := r.Get(memberKey(w.j.list.ID, p.phone))
				switch {
				case errors.Is(err, storage.ErrNotFound):
					add = append(add, p)
				case err != nil:
					return err
				default:
					dups++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(add) > 0 {
		b := s.db.NewBatch()
		for _, p := range add {
			if err := b.Set(memberKey(w.j.list.ID, p.phone), p.value); err != nil {
				b.Cancel()
				return err
			}
			if err := b.Set(contactKey(w.j.list.Account, p.phone, w.j.list.ID), nil); err != nil {
				b.Cancel()
				return err
			}
		}
		if err := b.Flush(); err != nil {
			return err
		}
	}
	im.Imported += int64(len(add))
	im.Duplicates += dups
	im.RowsDone = dataRows
	if p, ok := w.j.src.progress(); ok {
		im.Progress = p
	}
	if final {
		im.Status, im.RowsTotal, im.Progress, im.FinishedAt = StatusDone, dataRows, 1, s.clk.Now().UTC()
	}
	w.rows, w.extra = w.rows[:0], 0
	if err := w.commit(int64(len(add))); err != nil {
		return err
	}
	if s.chunkDone != nil {
		s.chunkDone(*im)
	}
	return nil
}

// fail records the import as failed with what it wrote.
func (w *chunkWriter) fail(reason error) error {
	im := &w.j.imp
	im.Status, im.Error, im.FinishedAt = StatusFailed, reason.Error(), w.s.clk.Now().UTC()
	// Rows read but not written are not counted as done.
	im.RowsDone = im.Imported + im.Duplicates + im.ErrorsTotal
	return w.commit(0)
}

// commit stores the import record and adds added to the list's count. It is not tied
// to the import's context, which may be what ended the import: how far it got is
// recorded all the same.
func (w *chunkWriter) commit(added int64) error {
	now := w.s.clk.Now().UTC()
	return w.s.db.Commit(context.Background(), func(tx storage.Txn) error {
		l, err := getList(tx, w.j.list.ID)
		if err != nil {
			return err
		}
		l.Count += added
		l.UpdatedAt = now
		if err := putJSON(tx, listKey(l.ID), l); err != nil {
			return err
		}
		if st := w.j.imp.Status; w.s.onFinished != nil && (st == StatusDone || st == StatusFailed) {
			if err := w.s.onFinished(tx, &w.j.imp); err != nil {
				return fmt.Errorf("import %s: on finished: %w", w.j.imp.ID, err)
			}
		}
		return putJSON(tx, importKey(w.j.imp.ID), &w.j.imp)
	})
}
