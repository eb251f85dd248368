// Package webhook owns the provider's webhooks: the verification handshake, the
// signature check over the raw body, the durable inbox written before the provider is
// answered, and the applier that turns stored bodies into message states, inbound
// messages and account events, with a dead-letter list for what cannot be parsed. It
// never blocks the provider's request on anything but the inbox write.
package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"kirim/clock"
	"kirim/httpguard"
	"kirim/provider"
	"kirim/storage"
)

// DefaultMaxBody caps a webhook body (Meta's payloads are at most 3 MB; Kirim's
// documented limit is 1 MiB).
const DefaultMaxBody = 1 << 20

// Options configure a Receiver.
type Options struct {
	DB          *storage.DB
	Clock       clock.Clock // default clock.Real{}
	Logger      *slog.Logger
	AppSecret   string
	VerifyToken string
	// MaxBody caps a body; default DefaultMaxBody. Larger bodies are answered 413.
	MaxBody int64
	// Apply handles parsed notifications; see Applier.
	Apply Applier
	// Batch is the most inbox entries applied together. Default 64.
	Batch int
	// MaxConcurrentBodies caps the bodies read at once; above it the provider is
	// answered 503 with Retry-After (Meta retries). Default DefaultMaxConcurrentBodies.
	MaxConcurrentBodies int
	// ReadTimeout bounds reading one body. Default DefaultReadTimeout.
	ReadTimeout time.Duration
}

// Defaults of the body bounds.
const (
	DefaultMaxConcurrentBodies = 32
	DefaultReadTimeout         = 30 * time.Second
)

// Receiver serves the webhook endpoint and applies what it stored.
type Receiver struct {
	opts  Options
	log   *slog.Logger
	gate  *httpguard.Gate
	wake  chan struct{}
	stats struct {
		received, duplicate, unsigned, tooLarge, timedOut, applied, dead, retried, unknown, busy atomic.Int64
	}
	done chan struct{}

	// cursor is the inbox key from which the applier scans: every entry before it was
	// applied and deleted, and scanning from it skips their tombstones. store lowers it
	// for a body whose id sorts earlier (ids are taken before the commit).
	mu     sync.Mutex
	cursor []byte
}

// poke wakes the applier.
func (rc *Receiver) poke() {
	select {
	case rc.wake <- struct{}{}:
	default:
	}
}

func (rc *Receiver) lowerCursor(key []byte) {
	rc.mu.Lock()
	if rc.cursor != nil && bytes.Compare(key, rc.cursor) < 0 {
		rc.cursor = key
	}
	rc.mu.Unlock()
}

// New returns a receiver; Start runs its applier.
func New(opts Options) *Receiver {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Batch <= 0 {
		opts.Batch = 64
	}
	if opts.MaxConcurrentBodies <= 0 {
		opts.MaxConcurrentBodies = DefaultMaxConcurrentBodies
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = DefaultReadTimeout
	}
	return &Receiver{opts: opts, log: opts.Logger, gate: httpguard.New(opts.MaxConcurrentBodies, opts.ReadTimeout),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Verify answers Meta's subscription handshake: GET with hub.mode=subscribe and the
// configured hub.verify_token echoes hub.challenge; anything else is 403.
func (rc *Receiver) Verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := q.Get("hub.verify_token")
	if q.Get("hub.mode") != "subscribe" || rc.opts.VerifyToken == "" ||
		subtle.ConstantTimeCompare([]byte(token), []byte(rc.opts.VerifyToken)) != 1 {
		httpguard.WriteError(w, http.StatusForbidden, "forbidden", "verification failed: hub.mode or hub.verify_token is wrong")
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, q.Get("hub.challenge"))
}

// Notify receives a webhook: it refuses a request without a well-formed
// X-Hub-Signature-256 before reading anything (401), takes a slot of the body gate (503
// with Retry-After when full), caps the body (413), checks the signature over the raw
// bytes (401), writes the body to the inbox with a synced commit, and answers 200. A
// body identical to one already received is answered 200 and not stored again. Errors
// use the API's error envelope.
func (rc *Receiver) Notify(w http.ResponseWriter, r *http.Request) {
	sig := r.Header.Get(provider.SignatureHeader)
	if !provider.WellFormedSignature(sig) {
		rc.stats.unsigned.Add(1)
		w.Header().Set("Connection", "close")
		httpguard.WriteFieldError(w, http.StatusUnauthorized, "unauthorized", provider.SignatureHeader, "missing or malformed "+provider.SignatureHeader)
		return
	}
	release, ok := rc.gate.Enter(w, r)
	if !ok {
		rc.stats.busy.Add(1)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, rc.opts.MaxBody+1))
	release()
	if err != nil {
		w.Header().Set("Connection", "close")
		if httpguard.IsTimeout(err) {
			rc.stats.timedOut.Add(1)
			httpguard.WriteFieldError(w, http.StatusRequestTimeout, "read_timeout", "body",
				fmt.Sprintf("the body did not arrive within %s", rc.opts.ReadTimeout))
			return
		}
		httpguard.WriteFieldError(w, http.StatusBadRequest, "invalid_body", "body", "cannot read the body")
		return
	}
	if int64(len(body)) > rc.opts.MaxBody {
		rc.stats.tooLarge.Add(1)
		w.Header().Set("Connection", "close")
		httpguard.WriteFieldError(w, http.StatusRequestEntityTooLarge, "body_too_large", "body", fmt.Sprintf("body larger than %d bytes", rc.opts.MaxBody))
		return
	}
	if !provider.VerifySignature(rc.opts.AppSecret, body, sig) {
		rc.stats.unsigned.Add(1)
		httpguard.WriteFieldError(w, http.StatusUnauthorized, "unauthorized", provider.SignatureHeader, "the signature does not match the body")
		return
	}
	dup, err := rc.store(r.Context(), body)
	if err != nil {
		rc.log.Error("webhook: store in inbox", "err", err, "bytes", len(body))
		w.Header().Set("Retry-After", "5")
		httpguard.WriteError(w, http.StatusServiceUnavailable, "unavailable", "cannot store the body now; retry later")
		return
	}
	if dup {
		rc.stats.duplicate.Add(1)
	} else {
		rc.stats.received.Add(1)
		rc.poke()
	}
	w.WriteHeader(http.StatusOK)
}

// store writes body and its dedupe key in one synced commit; it reports whether the same
// body was stored before.
func (rc *Receiver) store(ctx context.Context, body []byte) (bool, error) {
	sum := sha256.Sum256(body)
	dk := storage.Key(storage.PrefixWebhookState, []byte("body/"), sum[:])
	now := rc.opts.Clock.Now()
	id := storage.NewID("whk", now)
	dup := false
	err := rc.opts.DB.Commit(ctx, func(tx storage.Txn) error {
		dup = false
		if _, err := tx.Get(dk); err == nil {
			dup = true
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := tx.Set(dk, storage.U64(uint64(now.Unix()))); err != nil {
			return err
		}
		return tx.Set(inboxKey(id), body)
	})
	if err == nil && !dup {
		rc.lowerCursor(inboxKey(id))
	}
	return dup, err
}

// Stats counts what the receiver saw since it started: bodies received, duplicates,
// refused (unsigned, too large, busy, too slow), and changes applied, retried,
// dead-lettered and skipped as unknown.
type Stats struct {
	Received, Duplicate, Unsigned, TooLarge, Busy, TimedOut int64
	Applied, Retried, DeadLettered, UnknownSkipped          int64
}

func (rc *Receiver) Stats() Stats {
	return Stats{
		Received: rc.stats.received.Load(), Duplicate: rc.stats.duplicate.Load(),
		Unsigned: rc.stats.unsigned.Load(), TooLarge: rc.stats.tooLarge.Load(), Busy: rc.stats.busy.Load(),
		TimedOut: rc.stats.timedOut.Load(),
		Applied:  rc.stats.applied.Load(), Retried: rc.stats.retried.Load(), DeadLettered: rc.stats.dead.Load(),
		UnknownSkipped: rc.stats.unknown.Load(),
	}
}

// pollEvery is how often the applier looks at the inbox without a wake-up (entries
// left by a previous process, or a missed wake).
const pollEvery = 2 * time.Second
