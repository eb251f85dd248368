package webhook

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"kirim/clock"
	"kirim/engine"
	"kirim/provider"
	"kirim/storage"
)

const (
	testSecret = "app-secret"
	testToken  = "verify-me"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func openDB(tb testing.TB, dir string) *storage.DB {
	tb.Helper()
	opts := storage.Options{MemTableSize: 8 << 20, NumMemtables: 2, BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20,
		GCInterval: -1, Logger: quietLogger()}
	if dir == "" {
		opts.InMemory = true
	} else {
		opts.Dir = dir
	}
	db, err := storage.Open(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

func newReceiver(tb testing.TB, db *storage.DB, apply Applier) *Receiver {
	tb.Helper()
	if db == nil {
		db = openDB(tb, "")
	}
	return New(Options{DB: db, Clock: clock.NewFake(t0), Logger: quietLogger(), AppSecret: testSecret, VerifyToken: testToken, Apply: apply})
}

// post sends body to Notify with the given signature header (none when empty).
func post(rc *Receiver, body []byte, signature string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	if signature != "" {
		r.Header.Set(provider.SignatureHeader, signature)
	}
	w := httptest.NewRecorder()
	rc.Notify(w, r)
	return w
}

func postSigned(rc *Receiver, body []byte) *httptest.ResponseRecorder {
	return post(rc, body, provider.Sign(testSecret, body))
}

func inboxDepth(tb testing.TB, rc *Receiver) int {
	tb.Helper()
	n, err := rc.InboxDepth()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		query  url.Values
		token  string // the receiver's configured token
		status int
		body   string
	}{
		{"right token echoes the challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {testToken}, "hub.challenge": {"1158201444"}}, testToken, 200, "1158201444"},
		{"wrong token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"guess"}, "hub.challenge": {"1158201444"}}, testToken, 403, ""},
		{"token with a prefix of the right one", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {testToken[:4]}, "hub.challenge": {"1"}}, testToken, 403, ""},
		{"wrong mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {testToken}, "hub.challenge": {"1"}}, testToken, 403, ""},
		{"no mode", url.Values{"hub.verify_token": {testToken}, "hub.challenge": {"1"}}, testToken, 403, ""},
		{"no token", url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}}, testToken, 403, ""},
		{"nothing configured, nothing given", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {""}, "hub.challenge": {"1"}}, "", 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := New(Options{DB: openDB(t, ""), Logger: quietLogger(), AppSecret: testSecret, VerifyToken: tt.token})
			w := httptest.NewRecorder()
			rc.Verify(w, httptest.NewRequest(http.MethodGet, "/webhook?"+tt.query.Encode(), nil))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if tt.status == 200 && w.Body.String() != tt.body {
				t.Errorf("body %q, want the challenge %q", w.Body.String(), tt.body)
			}
			if tt.status != 200 && strings.Contains(w.Body.String(), "1158201444") {
				t.Error("a refused handshake echoed the challenge")
			}
		})
	}
}

func TestNotify(t *testing.T) {
	valid := fixture(t, "status_delivered.json")
	big := bytes.Repeat([]byte("x"), DefaultMaxBody+1)
	exact := bytes.Repeat([]byte("y"), DefaultMaxBody)
	tests := []struct {
		name      string
		body      []byte
		signature string
		status    int
		stored    bool
	}{
		{"valid", valid, provider.Sign(testSecret, valid), 200, true},
		{"no signature", valid, "", 401, false},
		{"signed with another secret", valid, provider.Sign("other-secret", valid), 401, false},
		{"signature of another body", valid, provider.Sign(testSecret, append([]byte(" "), valid...)), 401, false},
		{"signature without the sha256= prefix", valid, strings.TrimPrefix(provider.Sign(testSecret, valid), "sha256="), 401, false},
		{"signature not hex", valid, "sha256=" + strings.Repeat("zz", 32), 401, false},
		{"truncated signature", valid, provider.Sign(testSecret, valid)[:40], 401, false},
		{"body over 1 MiB", big, provider.Sign(testSecret, big), 413, false},
		{"body of exactly 1 MiB", exact, provider.Sign(testSecret, exact), 200, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// On disk: Badger's in-memory mode has no value log for a value of 1 MiB.
			rc := newReceiver(t, openDB(t, t.TempDir()), Applier{})
			w := post(rc, tt.body, tt.signature)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body.String())
			}
			want := 0
			if tt.stored {
				want = 1
			}
			if n := inboxDepth(t, rc); n != want {
				t.Errorf("inbox holds %d bodies, want %d", n, want)
			}
			st := rc.Stats()
			switch tt.status {
			case 401:
				if st.Unsigned != 1 {
					t.Errorf("stats %+v: want one unsigned", st)
				}
			case 413:
				if st.TooLarge != 1 {
					t.Errorf("stats %+v: want one too large", st)
				}
			case 200:
				if st.Received != 1 {
					t.Errorf("stats %+v: want one received", st)
				}
			}
		})
	}
}

func TestNotifyDedupe(t *testing.T) {
	rc := newReceiver(t, nil, Applier{})
	a := fixture(t, "status_delivered.json")
	b := fixture(t, "status_read.json")
	for _, body := range [][]byte{a, a, b, a} {
		if w := postSigned(rc, body); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	if n := inboxDepth(t, rc); n != 2 {
		t.Errorf("inbox holds %d bodies, want 2 (repeats stored once)", n)
	}
	if st := rc.Stats(); st.Received != 2 || st.Duplicate != 2 {
		t.Errorf("stats %+v, want 2 received and 2 duplicates", st)
	}
	// A repeat after the first was applied is still recognised.
	if _, err := rc.ApplyPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	postSigned(rc, a)
	if n := inboxDepth(t, rc); n != 0 {
		t.Errorf("a body applied earlier was stored again: inbox %d", n)
	}
}

// TestNotifyDurable: a body answered 200 is in the inbox after the store is closed and
// opened again.
func TestNotifyDurable(t *testing.T) {
	dir := t.TempDir()
	body := fixture(t, "status_delivered.json")
	db, err := storage.Open(storage.Options{Dir: dir, MemTableSize: 8 << 20, NumMemtables: 2, GCInterval: -1, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, db, Applier{})
	if w := postSigned(rc, body); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	var got []string
	rc = newReceiver(t, openDB(t, dir), Applier{Statuses: func(_ context.Context, u []engine.StatusUpdate) error {
		for _, s := range u {
			got = append(got, s.CallbackData+" "+s.Status)
		}
		return nil
	}})
	if n := inboxDepth(t, rc); n != 1 {
		t.Fatalf("after reopening, the inbox holds %d bodies, want 1", n)
	}
	if n, err := rc.ApplyPending(context.Background()); err != nil || n != 1 {
		t.Fatalf("apply: %d, %v", n, err)
	}
	if len(got) != 1 || got[0] != "msg_01J2Z8A1B2C3 delivered" {
		t.Errorf("applied %v", got)
	}
	// The dedupe key survived too.
	postSigned(rc, body)
	if n := inboxDepth(t, rc); n != 0 {
		t.Errorf("a body received before the restart was stored again")
	}
}

// TestNotifyStoreFails: when the inbox cannot be written the provider is told to retry.
func TestNotifyStoreFails(t *testing.T) {
	db := openDB(t, "")
	rc := newReceiver(t, db, Applier{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if w := postSigned(rc, fixture(t, "status_read.json")); w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503 so the provider retries", w.Code)
	}
}
