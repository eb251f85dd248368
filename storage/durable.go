package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Badger's Sync makes durable only the active memtable's write-ahead log and the active
// value-log file. When a log fills, Badger starts the next one without syncing the old
// (it syncs only in its SyncWrites mode, which would take the sync out of the group
// commit). Writes that went into the old log after the last sync are then in the page
// cache alone until Badger has flushed that memtable to a table, and a power cut in
// between would lose them although Commit had answered. A kill would not: the kernel
// keeps the pages.
//
// So every sync also syncs the logs that stopped being active since the last one. Both
// kinds of log are files in the data directory numbered one after another (NNNNN.mem
// for memtables, NNNNNN.vlog for the value log), and Badger creates a log's successor
// before it writes anything there. The store watches the directory for created logs
// (inotify on Linux: one read per sync; elsewhere, or when the watch lost events, a
// listing of the directory): a log older than the newest created is inactive. A log
// already gone was flushed to a synced table, or is no longer needed.

// logKind is one numbered sequence of Badger log files.
type logKind struct {
	ext    string
	digits int
}

var (
	memtableLogs = logKind{ext: ".mem", digits: 5}
	valueLogs    = logKind{ext: ".vlog", digits: 6}
	logKinds     = []logKind{memtableLogs, valueLogs}
)

func (k logKind) path(dir string, id int) string {
	return filepath.Join(dir, fmt.Sprintf("%0*d%s", k.digits, id, k.ext))
}

// logID parses a file name of kind k.
func (k logKind) logID(name string) (int, bool) {
	num, ok := strings.CutSuffix(name, k.ext)
	if !ok || len(num) == 0 {
		return 0, false
	}
	id, err := strconv.Atoi(num)
	return id, err == nil && id >= 0
}

// rotatedLogs remembers, per kind, the newest log seen, which is the active one.
type rotatedLogs struct {
	dir   string
	watch creationWatch
	// fsync syncs one file; a variable so tests can watch it.
	fsync func(path string) error

	mu     sync.Mutex
	active map[logKind]int // -1: none seen
	synced int64           // inactive logs synced so far
}

// creationWatch reports the names of files created in the directory since its last
// call; ok false means it cannot tell (no watch, or events were lost), and the caller
// lists the directory.
type creationWatch interface {
	created() (names []string, ok bool, err error)
	close() error
}

// newRotatedLogs starts watching dir, then reads the active log of each kind: the
// highest numbered, once Badger has opened the directory. Watching first means no log
// created in between is missed.
func newRotatedLogs(dir string) (*rotatedLogs, error) {
	r := &rotatedLogs{dir: dir, watch: watchCreations(dir), fsync: fsyncFile, active: map[logKind]int{}}
	for _, k := range logKinds {
		r.active[k] = -1
	}
	names, err := listDir(dir)
	if err != nil {
		_ = r.watch.close()
		return nil, err
	}
	r.note(names)
	return r, nil
}

func listDir(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: list logs: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("storage: list logs: %w", err)
	}
	return names, nil
}

// note raises each kind's newest id to the newest in names and returns, per kind, the
// id that was newest before (for kinds that moved on).
func (r *rotatedLogs) note(names []string) map[logKind]int {
	var moved map[logKind]int
	for _, n := range names {
		for _, k := range logKinds {
			id, ok := k.logID(n)
			if !ok || id <= r.active[k] {
				continue
			}
			if _, seen := moved[k]; !seen {
				if moved == nil {
					moved = map[logKind]int{}
				}
				moved[k] = r.active[k]
			}
			r.active[k] = id
		}
	}
	return moved
}

// sync syncs every log that stopped being active since the last call. Call it after
// Badger's Sync: what that Sync did not cover was written before it began, so it is in a
// log that had a successor by the time this looks.
func (r *rotatedLogs) sync() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	names, ok, err := r.watch.created()
	if err != nil {
		return fmt.Errorf("storage: watch logs: %w", err)
	}
	if !ok {
		if names, err = listDir(r.dir); err != nil {
			return err
		}
	}
	for k, was := range r.note(names) {
		for id := max(was, 0); id < r.active[k]; id++ {
			if err := r.fsync(k.path(r.dir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("storage: sync inactive log: %w", err)
			}
			r.synced++
		}
	}
	return nil
}

func (r *rotatedLogs) count() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.synced
}

func (r *rotatedLogs) close() error { return r.watch.close() }

func fsyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// listing is the creationWatch that cannot tell: every sync lists the directory.
type listing struct{}

func (listing) created() ([]string, bool, error) { return nil, false, nil }
func (listing) close() error                     { return nil }

// sync makes every write Badger has taken so far durable.
func (d *DB) sync() error {
	if err := d.bdb.Sync(); err != nil {
		return err
	}
	if d.logs == nil {
		return nil
	}
	return d.logs.sync()
}
