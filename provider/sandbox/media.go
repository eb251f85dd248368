package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"kirim/provider"
)

// Media limits: Meta's per-type maxima, and a cap on what the sandbox keeps in memory.
const (
	maxMediaFile  = 100 << 20
	maxMediaStore = 256 << 20
	firstMediaID  = 3_000_000_000_000_001
)

// mediaLimits are Meta's accepted MIME types and their size caps.
var mediaLimits = map[string]int{
	"image/jpeg": 5 << 20, "image/png": 5 << 20,
	"video/mp4": 16 << 20, "video/3gpp": 16 << 20,
	"audio/aac": 16 << 20, "audio/amr": 16 << 20, "audio/mpeg": 16 << 20, "audio/mp4": 16 << 20, "audio/ogg": 16 << 20,
	"text/plain": 100 << 20, "application/pdf": 100 << 20,
	"application/msword": 100 << 20,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 << 20,
	"application/vnd.ms-excel": 100 << 20,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         100 << 20,
	"application/vnd.ms-powerpoint":                                             100 << 20,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 << 20,
	"image/webp": 500 << 10,
}

type mediaFile struct {
	id   string
	mime string
	sha  string
	data []byte
}

// MediaInfo is the answer of GET /{media_id}.
type MediaInfo struct {
	MessagingProduct string `json:"messaging_product"`
	URL              string `json:"url"`
	MimeType         string `json:"mime_type"`
	SHA256           string `json:"sha256"`
	FileSize         int    `json:"file_size"`
	ID               string `json:"id"`
}

func (m *mediaFile) info(base string) MediaInfo {
	return MediaInfo{MessagingProduct: "whatsapp", URL: base + "/_sandbox/media/" + m.id, MimeType: m.mime,
		SHA256: m.sha, FileSize: len(m.data), ID: m.id}
}

type mediaStore struct {
	dir   string // the data directory's media folder; empty in memory
	mu    sync.Mutex
	byID  map[string]*mediaFile
	next  uint64
	total int
}

func newMediaStore() *mediaStore {
	return &mediaStore{byID: map[string]*mediaFile{}, next: firstMediaID}
}

func (ms *mediaStore) add(mimeType string, data []byte) (string, bool) {
	sum := sha256.Sum256(data)
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.total+len(data) > maxMediaStore {
		return "", false
	}
	id := strconv.FormatUint(ms.next, 10)
	ms.next++
	ms.byID[id] = &mediaFile{id: id, mime: mimeType, sha: hex.EncodeToString(sum[:]), data: data}
	ms.total += len(data)
	return id, true
}

func (ms *mediaStore) get(id string) (*mediaFile, bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m, ok := ms.byID[id]
	return m, ok
}

func (ms *mediaStore) remove(id string) bool {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m, ok := ms.byID[id]
	if ok {
		ms.total -= len(m.data)
		delete(ms.byID, id)
	}
	return ok
}

// handleUpload serves POST /{phone_number_id}/media (multipart: messaging_product,
// type, file). Meta also takes messaging_product in the query string, and clients such
// as whatsapp-api-js send it there; a form field, when present, wins.
func (s *Sandbox) handleUpload(w http.ResponseWriter, r *http.Request) {
	if e := s.checkAuth(r); e != nil {
		s.writeAPIError(w, e)
		return
	}
	st := s.st.Load()
	if st.numberByID(r.PathValue("id")) == nil {
		s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "unknown phone number id "+quoteShort(r.PathValue("id"))))
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "the upload must be multipart/form-data"))
		return
	}
	var product, typ, partType string
	var data []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "malformed multipart body"))
			return
		}
		switch p.FormName() {
		case "messaging_product":
			b, _ := io.ReadAll(io.LimitReader(p, 64))
			product = string(b)
		case "type":
			b, _ := io.ReadAll(io.LimitReader(p, 256))
			typ = string(b)
		case "file":
			partType = p.Header.Get("Content-Type")
			data, err = io.ReadAll(io.LimitReader(p, maxMediaFile+1))
			if err != nil {
				s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "the file could not be read"))
				return
			}
		}
		p.Close()
	}
	if product == "" {
		product = r.URL.Query().Get("messaging_product")
	}
	if product != "whatsapp" {
		s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "messaging_product must be \"whatsapp\" (form field or query)"))
		return
	}
	if data == nil {
		s.writeAPIError(w, missing("file"))
		return
	}
	mt := cmpOr(typ, partType)
	if parsed, _, err := mime.ParseMediaType(mt); err == nil {
		mt = parsed
	}
	mt = strings.ToLower(mt)
	limit, ok := mediaLimits[mt]
	switch {
	case !ok:
		s.writeAPIError(w, refuse(codeMediaUpload, "MIME type "+quoteShort(mt)+" is not supported"))
		return
	case partType != "" && typ != "" && !strings.EqualFold(strings.Split(partType, ";")[0], typ):
		s.writeAPIError(w, refuse(codeMediaUpload, "the file's MIME type does not match type"))
		return
	case len(data) > limit:
		s.writeAPIError(w, refuse(codeMediaUpload, "the file is larger than "+strconv.Itoa(limit)+" bytes for "+mt))
		return
	}
	id, ok := s.addMedia(st, mt, data)
	if !ok {
		s.writeAPIError(w, refuse(codeMediaUpload, "the sandbox media store is full"))
		return
	}
	writeJSON(w, http.StatusOK, provider.MediaUploaded{ID: id})
}

// handleMediaDownload serves the URL that GET /{media_id} hands out.
func (s *Sandbox) handleMediaDownload(w http.ResponseWriter, r *http.Request) {
	m, ok := s.st.Load().media.get(r.PathValue("id"))
	if !ok {
		writeProblem(w, http.StatusNotFound, "media not found")
		return
	}
	w.Header().Set("Content-Type", m.mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	_, _ = w.Write(m.data)
}
