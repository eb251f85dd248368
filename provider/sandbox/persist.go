package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"kirim/provider"
)

// Persistence: with Options.DataDir, templates (with their review state), uploaded
// and inbound media, and the id counters survive a restart, as they do at Meta. The
// per-recipient state (windows, limits, preferences) and the send record do not.
const (
	stateFile    = "state.json"
	mediaDir     = "media"
	stateVersion = 1
	// wamidBlock is how many wamid sequence numbers are reserved on disk at a time, so
	// a crash never hands out a number twice and a send writes the file once per block.
	wamidBlock = 1 << 16
)

// savedState is state.json.
type savedState struct {
	Version        int             `json:"version"`
	WamidReserved  uint64          `json:"wamid_reserved"`
	NextTemplateID uint64          `json:"next_template_id"`
	NextMediaID    uint64          `json:"next_media_id"`
	WABAs          []string        `json:"wabas"` // WABAs whose templates are listed, hello_world included
	Templates      []savedTemplate `json:"templates"`
	Media          []savedMedia    `json:"media"`
}

type savedTemplate struct {
	ID       string                      `json:"id"`
	WABA     string                      `json:"waba"`
	Status   string                      `json:"status"`
	Category string                      `json:"category"`
	Quality  string                      `json:"quality"`
	Reason   string                      `json:"reason,omitempty"`
	Def      provider.TemplateDefinition `json:"definition"`
}

type savedMedia struct {
	ID     string `json:"id"`
	Mime   string `json:"mime_type"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"file_size"`
}

// persister writes the sandbox's durable state to its data directory.
type persister struct {
	dir      string
	reserved atomic.Uint64 // wamid sequence numbers below this are reserved on disk
}

// Open returns a sandbox configured by opts and, with opts.DataDir, restored from that
// directory (created if missing). A template still PENDING is reviewed again,
// ReviewDelay after the start.
func Open(opts Options) (*Sandbox, error) {
	s := newSandbox(opts)
	if s.opts.DataDir == "" {
		return s, nil
	}
	if err := s.openData(); err != nil {
		return nil, fmt.Errorf("sandbox: data %s: %w", s.opts.DataDir, err)
	}
	return s, nil
}

func (s *Sandbox) openData() error {
	dir := s.opts.DataDir
	if err := os.MkdirAll(filepath.Join(dir, mediaDir), 0o700); err != nil {
		return err
	}
	p := &persister{dir: dir}
	st := s.st.Load()
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		var saved savedState
		if err := json.Unmarshal(b, &saved); err != nil {
			return fmt.Errorf("%s: %w", stateFile, err)
		}
		if saved.Version != stateVersion {
			return fmt.Errorf("%s: version %d, want %d", stateFile, saved.Version, stateVersion)
		}
		if err := s.restore(st, &saved); err != nil {
			return err
		}
		s.seq.Store(saved.WamidReserved)
		p.reserved.Store(saved.WamidReserved)
	}
	s.st.Load().media.dir = filepath.Join(dir, mediaDir)
	s.persist = p
	// Reserve the first block now, so this run's wamids never repeat a previous run's.
	return s.reserveWamids(s.seq.Load() + 1)
}

// restore replaces the fresh templates and media of st with the saved ones.
func (s *Sandbox) restore(st *state, saved *savedState) error {
	ts := st.templates
	covered := map[string]bool{}
	for _, w := range saved.WABAs {
		covered[w] = true
	}
	kept := ts.all[:0]
	for _, t := range ts.all {
		if !covered[t.key.waba] {
			kept = append(kept, t) // a WABA configured since: its own hello_world
			continue
		}
		delete(ts.byKey, t.key)
	}
	ts.all = kept
	for _, sv := range saved.Templates {
		def := sv.Def
		t := &template{id: sv.ID, key: tmplKey{sv.WABA, def.Name, def.Language}, def: def, vars: templateVarsOf(def),
			status: sv.Status, category: sv.Category, quality: sv.Quality, reason: sv.Reason}
		if t.id == "" || t.key.name == "" || t.key.lang == "" {
			return fmt.Errorf("%s: template %q/%q without id, name or language", stateFile, def.Name, def.Language)
		}
		if _, dup := ts.byKey[t.key]; dup {
			return fmt.Errorf("%s: template %q/%q of WABA %s listed twice", stateFile, def.Name, def.Language, sv.WABA)
		}
		ts.byKey[t.key] = t
		ts.all = append(ts.all, t)
		if t.status == tmplPending {
			s.out.scheduleFunc(s.now()+int64(s.opts.ReviewDelay), func() { s.review(st, t) })
		}
	}
	ts.nextID = max(ts.nextID, saved.NextTemplateID)

	ms := st.media
	ms.next = max(ms.next, saved.NextMediaID)
	for _, m := range saved.Media {
		data, err := os.ReadFile(filepath.Join(s.opts.DataDir, mediaDir, m.ID))
		if err != nil || len(data) != m.Size {
			s.log.Warn("sandbox: a saved media file is missing or cut short; forgotten", "id", m.ID, "err", err)
			continue
		}
		ms.byID[m.ID] = &mediaFile{id: m.ID, mime: m.Mime, sha: m.SHA256, data: data}
		ms.total += len(data)
	}
	return nil
}

// reserveWamids makes sure sequence number n is reserved on disk, reserving the next
// block when it is not.
func (s *Sandbox) reserveWamids(n uint64) error {
	p := s.persist
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	if n < p.reserved.Load() {
		return nil
	}
	// Raised only once written, so a concurrent send past the old mark waits here for
	// the write instead of handing out a number the disk does not cover yet. A failed
	// write raises it all the same: the simulation goes on, and the error is reported
	// once per block.
	next := n + wamidBlock
	err := s.saveLocked(next)
	p.reserved.Store(next)
	return err
}

// saveState writes state.json when the sandbox has a data directory; a failure is
// logged, as the simulation goes on in memory.
func (s *Sandbox) saveState() {
	if s.persist == nil {
		return
	}
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	if err := s.saveLocked(s.persist.reserved.Load()); err != nil {
		s.log.Error("sandbox: save state", "dir", s.opts.DataDir, "err", err)
	}
}

// saveLocked writes state.json with the wamid reservation reserved; s.persistMu held.
func (s *Sandbox) saveLocked(reserved uint64) error {
	st := s.st.Load()
	saved := savedState{Version: stateVersion, WamidReserved: reserved,
		Templates: []savedTemplate{}, Media: []savedMedia{}}
	wabas := map[string]bool{}
	for _, n := range st.numbers {
		if !wabas[n.waba] {
			wabas[n.waba] = true
			saved.WABAs = append(saved.WABAs, n.waba)
		}
	}
	ts := st.templates
	ts.mu.RLock()
	saved.NextTemplateID = ts.nextID
	for _, t := range ts.all {
		saved.Templates = append(saved.Templates, savedTemplate{ID: t.id, WABA: t.key.waba, Status: t.status,
			Category: t.category, Quality: t.quality, Reason: t.reason, Def: t.def})
		if !wabas[t.key.waba] {
			wabas[t.key.waba] = true
			saved.WABAs = append(saved.WABAs, t.key.waba)
		}
	}
	ts.mu.RUnlock()
	ms := st.media
	ms.mu.Lock()
	saved.NextMediaID = ms.next
	for _, m := range ms.byID {
		saved.Media = append(saved.Media, savedMedia{ID: m.id, Mime: m.mime, SHA256: m.sha, Size: len(m.data)})
	}
	ms.mu.Unlock()
	b, err := json.MarshalIndent(saved, "", " ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.persist.dir, stateFile), b)
}

// writeFileAtomic replaces path with b: a synced temporary file renamed over it, so a
// crash leaves the old file or the new one, never a part.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// nextWamid hands out the next wamid sequence number, reserving a block on disk first
// when the data directory's reservation runs out.
func (s *Sandbox) nextWamid() uint64 {
	n := s.seq.Add(1)
	if p := s.persist; p != nil && n >= p.reserved.Load() {
		if err := s.reserveWamids(n); err != nil {
			s.log.Error("sandbox: reserve wamids", "dir", s.opts.DataDir, "err", err)
		}
	}
	return n
}

// addMedia stores a file (uploaded or a customer's) and, with a data directory, writes
// it there before the state that lists it.
func (s *Sandbox) addMedia(st *state, mimeType string, data []byte) (string, bool) {
	id, ok := st.media.add(mimeType, data)
	if !ok || st.media.dir == "" {
		return id, ok
	}
	if err := writeFileAtomic(filepath.Join(st.media.dir, id), data); err != nil {
		s.log.Error("sandbox: save media", "id", id, "err", err)
		return id, true
	}
	s.saveState()
	return id, true
}

// removeMedia deletes a file from the store and the data directory.
func (s *Sandbox) removeMedia(st *state, id string) bool {
	if !st.media.remove(id) {
		return false
	}
	if st.media.dir != "" {
		s.saveState()
		if err := os.Remove(filepath.Join(st.media.dir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("sandbox: remove media file", "id", id, "err", err)
		}
	}
	return true
}

// DeleteMedia deletes an uploaded or inbound media file, as DELETE /{media_id} does.
func (s *Sandbox) DeleteMedia(id string) error {
	if !s.removeMedia(s.st.Load(), id) {
		return fmt.Errorf("sandbox: delete media %s: %w", id, errNotFound)
	}
	return nil
}

// clearMediaDir removes every saved media file (Reset).
func clearMediaDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".tmp")
		if _, err := strconv.ParseUint(name, 10, 64); err != nil {
			continue // not ours
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
