// Package lists owns contacts and contact lists: their records in storage and the
// streamed import of CSV and XLSX files into them.
//
// Storage layout (prefixes from storage/keys.go):
//
//	cl/<list id>                      List record (JSON; lists are few, so scans are cheap)
//	cm/<list id><E.164 phone>         one member: name and variables (binary)
//	c/<account>\0<phone>\0<list id>   reverse index: the lists a contact is on (empty value)
//	ci/<import id>                    Import record with progress and row errors (JSON)
//
// List ids have a fixed width, so the members of a list iterate sorted by phone: a
// contract campaigns rely on to merge several lists by phone without holding them.
package lists

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"kirim/clock"
	"kirim/storage"
)

// Limits. They are documented for users in docs/lists.md.
const (
	// MaxColumns is the most columns a file (or a list, across appends) may have,
	// phone included.
	MaxColumns = 64
	// MaxCellBytes is the longest value a cell may hold after clean-up; a longer one
	// makes its row an error. WhatsApp template parameters are far shorter.
	MaxCellBytes = 1024
	// MaxRows is the most data rows one import reads; the rest of the file is reported
	// as one error and the import ends there.
	MaxRows = 5_000_000
	// MaxFileBytes is the largest file an import accepts.
	MaxFileBytes = 512 << 20
	// MaxListNameBytes bounds a list's name.
	MaxListNameBytes = 128
	// MaxRowErrors is how many row errors an import keeps; ErrorsTotal counts them all.
	MaxRowErrors = 1000
	// MaxRecordBytes bounds one CSV record (all its cells and quotes). A longer one is
	// almost always an unclosed quote swallowing the rest of the file; the import stops
	// there instead of buffering it.
	MaxRecordBytes = MaxColumns*MaxCellBytes + 64<<10
	// MaxUnzipBytes bounds the uncompressed size of an XLSX file (zip bombs).
	MaxUnzipBytes = 2 << 30

	// chunkRows is how many rows are deduplicated, written and reported at a time:
	// memory is bounded by one chunk, and GET /v1/imports/{id} moves every chunk.
	chunkRows = 4096
	// pageSize is how many members one read snapshot holds while Members and Delete
	// walk a list, so no snapshot stays open during a caller's slow callback.
	pageSize = 1024
	// defaultRegion applies to local phone numbers when the request names none.
	defaultRegion = "ID"
)

// Import statuses.
const (
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

var (
	// ErrNotFound is returned for a list or import that does not exist (or belongs to
	// another account).
	ErrNotFound = errors.New("lists: not found")
	// ErrNoPhoneColumn refuses a file whose header names no phone column; nothing is
	// created.
	ErrNoPhoneColumn = errors.New("lists: the file has no phone column")
	// ErrBadHeader refuses a file whose header cannot be used (duplicate or too many
	// columns, no header at all); the wrapping error says which.
	ErrBadHeader = errors.New("lists: unusable header")
	// ErrLegacyFormat refuses legacy .xls workbooks (and encrypted ones).
	ErrLegacyFormat = errors.New("lists: legacy .xls workbooks cannot be read: save the file as .xlsx or .csv")
	// ErrFileTooLarge refuses a file over MaxFileBytes.
	ErrFileTooLarge = errors.New("lists: file too large")
	// ErrInvalidRequest is wrapped by refusals of the request itself (name, account).
	ErrInvalidRequest = errors.New("lists: invalid request")
	// ErrBusy refuses a change to a list while an import into it runs.
	ErrBusy = errors.New("lists: an import into this list is running")
)

// List is a named set of contacts of one account.
type List struct {
	ID      string `json:"id"`
	Account string `json:"account"`
	Name    string `json:"name"`
	// Columns are the variable names, normalized, in file order, without the phone
	// and name columns. An append adds new columns at the end; existing ones keep
	// their place, since members store values by column position.
	Columns   []string  `json:"columns"`
	Count     int64     `json:"count"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// ImportID is the latest import into the list.
	ImportID string `json:"import_id"`
	// Deleting marks a list whose members are being removed; it is hidden meanwhile.
	Deleting bool `json:"deleting,omitempty"`
}

// Member is one contact of one list.
type Member struct {
	Phone string            // E.164
	Name  string            // "" when the file had no name column or the cell was empty
	Vars  map[string]string // by column name; empty cells are absent
}

// Store keeps contacts and lists.
type Store struct {
	db  *storage.DB
	clk clock.Clock
	log *slog.Logger

	ctx    context.Context // ends background imports and purges on Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	busy map[string]string // list id -> running import id

	// chunkDone, when set (tests), sees the import record after each committed chunk.
	chunkDone func(Import)
	// onFinished is told of an import's end inside the transaction that records it.
	onFinished func(tx storage.Txn, im *Import) error
}

// OnFinished sets the hook told, inside the transaction that records it, of each
// import that finished (done or failed), so an import.completed event commits with it.
// Set it before the first import.
func (s *Store) OnFinished(fn func(tx storage.Txn, im *Import) error) { s.onFinished = fn }

// Open returns the store over db. Imports that were running when Kirim stopped are
// marked failed ("interrupted") with the rows they wrote kept and their list's count
// recounted; deletions that were under way resume in the background.
func Open(db *storage.DB, clk clock.Clock, log *slog.Logger) (*Store, error) {
	if clk == nil {
		clk = clock.Real{}
	}
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{db: db, clk: clk, log: log, ctx: ctx, cancel: cancel, busy: map[string]string{}}
	if err := s.recover(); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// Close stops running imports (they are marked failed, keeping what they wrote) and
// waits for background work to end. The DB stays open.
func (s *Store) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// recover settles what a previous process left half done.
func (s *Store) recover() error {
	var stale []Import
	var deleting []List
	err := s.db.View(func(r storage.Reader) error {
		err := r.Iterate([]byte(storage.PrefixImport), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			var im Import
			if err := json.Unmarshal(v, &im); err != nil {
				return false, err
			}
			if im.Status == StatusRunning {
				stale = append(stale, im)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		return r.Iterate([]byte(storage.PrefixList), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			var l List
			if err := json.Unmarshal(v, &l); err != nil {
				return false, err
			}
			if l.Deleting {
				deleting = append(deleting, l)
			}
			return true, nil
		})
	})
	if err != nil {
		return fmt.Errorf("lists: open: %w", err)
	}
	for _, im := range stale {
		n, err := s.countMembers(im.ListID)
		if err != nil {
			return fmt.Errorf("lists: open: recount %s: %w", im.ListID, err)
		}
		im.Status, im.Error, im.FinishedAt = StatusFailed, "interrupted: Kirim stopped during the import; the rows written before that are kept", s.clk.Now().UTC()
		err = s.db.Commit(context.Background(), func(tx storage.Txn) error {
			if err := putJSON(tx, importKey(im.ID), &im); err != nil {
				return err
			}
			l, err := getList(tx, im.ListID)
			if errors.Is(err, ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			l.Count = n
			return putJSON(tx, listKey(l.ID), l)
		})
		if err != nil {
			return fmt.Errorf("lists: open: settle import %s: %w", im.ID, err)
		}
		s.log.Warn("lists: import interrupted by a restart", "import", im.ID, "list", im.ListID, "members", n)
	}
	for _, l := range deleting {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.purge(s.ctx, l); err != nil {
				s.log.Error("lists: resuming a list deletion failed", "list", l.ID, "err", err)
			}
		}()
	}
	return nil
}

// Lists returns the account's lists, oldest first.
func (s *Store) Lists(account string) ([]List, error) {
	out := []List{}
	err := s.db.View(func(r storage.Reader) error {
		return r.Iterate([]byte(storage.PrefixList), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			var l List
			if err := json.Unmarshal(v, &l); err != nil {
				return false, err
			}
			if l.Account == account && !l.Deleting {
				out = append(out, l)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("lists: lists of %s: %w", account, err)
	}
	return out, nil
}

// List returns one list of the account, or ErrNotFound.
func (s *Store) List(account, id string) (*List, error) {
	var l *List
	err := s.db.View(func(r storage.Reader) error {
		var err error
		l, err = getList(r, id)
		return err
	})
	if err == nil && (l.Account != account || l.Deleting) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("lists: list %s: %w", id, err)
	}
	return l, nil
}

// Delete removes a list, its members and their reverse index. The list disappears at
// once; members are removed in pages, and a deletion cut short by a stop resumes on
// the next Open. A list with a running import answers ErrBusy.
func (s *Store) Delete(ctx context.Context, account, id string) error {
	s.mu.Lock()
	if _, ok := s.busy[id]; ok {
		s.mu.Unlock()
		return fmt.Errorf("lists: delete %s: %w", id, ErrBusy)
	}
	var l *List
	err := s.db.Commit(ctx, func(tx storage.Txn) error {
		var err error
		if l, err = getList(tx, id); err != nil {
			return err
		}
		if l.Account != account || l.Deleting {
			return ErrNotFound
		}
		l.Deleting = true
		return putJSON(tx, listKey(id), l)
	})
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("lists: delete %s: %w", id, err)
	}
	if err := s.purge(ctx, *l); err != nil {
		return fmt.Errorf("lists: delete %s: %w", id, err)
	}
	s.log.Info("lists: list deleted", "list", id, "account", account, "members", l.Count)
	return nil
}

// purge removes a list's members page by page, then the list record.
func (s *Store) purge(ctx context.Context, l List) error {
	prefix := memberPrefix(l.ID)
	start := prefix
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var phones []string
		err := s.db.View(func(r storage.Reader) error {
			return r.Iterate(prefix, storage.IterOptions{Start: start, KeysOnly: true}, func(k, _ []byte) (bool, error) {
				phones = append(phones, string(k[len(prefix):]))
				return len(phones) < pageSize, nil
			})
		})
		if err != nil {
			return err
		}
		if len(phones) == 0 {
			break
		}
		b := s.db.NewBatch()
		for _, p := range phones {
			if err := b.Delete(memberKey(l.ID, p)); err != nil {
				b.Cancel()
				return err
			}
			if err := b.Delete(contactKey(l.Account, p, l.ID)); err != nil {
				b.Cancel()
				return err
			}
		}
		if err := b.Flush(); err != nil {
			return err
		}
		// Start past the last key: the deleted keys are tombstones a scan would wade
		// through again.
		start = append(memberKey(l.ID, phones[len(phones)-1]), 0)
	}
	return s.db.Commit(ctx, func(tx storage.Txn) error { return tx.Delete(listKey(l.ID)) })
}

// Members calls fn for each member of the list in phone order, starting strictly after
// the phone after ("" for the start), until fn returns false or an error. Members are
// read a page at a time, each page from its own snapshot, so fn may be slow and may
// write; a member added behind the cursor meanwhile is not visited.
func (s *Store) Members(listID, after string, fn func(Member) (bool, error)) error {
	var columns []string
	err := s.db.View(func(r storage.Reader) error {
		l, err := getList(r, listID)
		if err != nil {
			return err
		}
		if l.Deleting {
			return ErrNotFound
		}
		columns = l.Columns
		return nil
	})
	if err != nil {
		return fmt.Errorf("lists: members of %s: %w", listID, err)
	}
	prefix := memberPrefix(listID)
	start := prefix
	if after != "" {
		start = append(memberKey(listID, after), 0)
	}
	page := make([]Member, 0, pageSize)
	for {
		page = page[:0]
		err := s.db.View(func(r storage.Reader) error {
			return r.Iterate(prefix, storage.IterOptions{Start: start}, func(k, v []byte) (bool, error) {
				m, err := decodeMember(string(k[len(prefix):]), v, columns)
				if err != nil {
					return false, err
				}
				page = append(page, m)
				return len(page) < pageSize, nil
			})
		})
		if err != nil {
			return fmt.Errorf("lists: members of %s: %w", listID, err)
		}
		for _, m := range page {
			more, err := fn(m)
			if err != nil || !more {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		start = append(memberKey(listID, page[len(page)-1].Phone), 0)
	}
}

// ListsOf returns the ids of the account's lists that contain phone (E.164), in id
// (creation) order.
func (s *Store) ListsOf(account, phone string) ([]string, error) {
	out := []string{}
	prefix := storage.Key(storage.PrefixContact, storage.Str(account), storage.Str(phone))
	err := s.db.View(func(r storage.Reader) error {
		var ids []string
		err := r.Iterate(prefix, storage.IterOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			ids = append(ids, string(k[len(prefix):]))
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			l, err := getList(r, id)
			if errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if !l.Deleting {
				out = append(out, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lists: lists of contact: %w", err)
	}
	return out, nil
}

// countMembers counts a list's members with a keys-only scan.
func (s *Store) countMembers(listID string) (int64, error) {
	var n int64
	err := s.db.View(func(r storage.Reader) error {
		return r.Iterate(memberPrefix(listID), storage.IterOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	return n, err
}

func listKey(id string) []byte        { return storage.Key(storage.PrefixList, []byte(id)) }
func importKey(id string) []byte      { return storage.Key(storage.PrefixImport, []byte(id)) }
func memberPrefix(list string) []byte { return storage.Key(storage.PrefixListMember, []byte(list)) }

// memberKey is cm/<list id><phone>. List ids have a fixed width, so the phone is the
// rest of the key and members sort by phone.
func memberKey(list, phone string) []byte {
	return storage.Key(storage.PrefixListMember, []byte(list), []byte(phone))
}

func contactKey(account, phone, list string) []byte {
	return storage.Key(storage.PrefixContact, storage.Str(account), storage.Str(phone), []byte(list))
}

func getList(r storage.Reader, id string) (*List, error) {
	v, err := r.Get(listKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotFound
	} else if err != nil {
		return nil, err
	}
	var l List
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, fmt.Errorf("decode list %s: %w", id, err)
	}
	return &l, nil
}

func putJSON(tx storage.Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Set(key, b)
}

// memberFormat versions the member encoding.
const memberFormat = 1

// encodeMember is: format byte, name, count of variables, then (column position,
// value) pairs for the non-empty ones. Positions index List.Columns, which only grows.
func encodeMember(buf []byte, name string, vars []string) []byte {
	buf = append(buf[:0], memberFormat)
	buf = binary.AppendUvarint(buf, uint64(len(name)))
	buf = append(buf, name...)
	n := 0
	for _, v := range vars {
		if v != "" {
			n++
		}
	}
	buf = binary.AppendUvarint(buf, uint64(n))
	for i, v := range vars {
		if v == "" {
			continue
		}
		buf = binary.AppendUvarint(buf, uint64(i))
		buf = binary.AppendUvarint(buf, uint64(len(v)))
		buf = append(buf, v...)
	}
	return buf
}

func decodeMember(phone string, v []byte, columns []string) (Member, error) {
	d := storage.Decoder{B: v}
	if f := d.Byte(); d.Err == nil && f != memberFormat {
		return Member{}, fmt.Errorf("member %s: unknown format %d", phone, f)
	}
	m := Member{Phone: phone, Name: d.Str()}
	n := d.Uvarint()
	if n > 0 && d.Err == nil {
		m.Vars = make(map[string]string, min(n, MaxColumns))
	}
	for i := uint64(0); i < n && d.Err == nil; i++ {
		col := d.Uvarint()
		val := d.Str()
		if d.Err == nil && col >= uint64(len(columns)) {
			return Member{}, fmt.Errorf("member %s: column %d of %d", phone, col, len(columns))
		}
		if d.Err == nil {
			m.Vars[columns[col]] = val
		}
	}
	if d.Err == nil && len(d.B) != 0 {
		d.Fail("trailing bytes")
	}
	if d.Err != nil {
		return Member{}, fmt.Errorf("member %s: %w", phone, d.Err)
	}
	return m, nil
}
