package template

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// The key prefixes of the remembered answers and of their age index.
const (
	prefixReply    = storage.PrefixTemplate + string(kindIdempotency)
	prefixReplyAge = storage.PrefixTemplate + string(kindReplyAge)
)

// DefaultReplyTTL is how long an answer is remembered for its Idempotency-Key.
const DefaultReplyTTL = 7 * 24 * time.Hour

// expireOnWrite bounds how many expired answers one Remember deletes: answers only
// accumulate through Remember, so a few at each keeps them bounded.
const expireOnWrite = 16

// Reply is an answer remembered for an Idempotency-Key.
type Reply struct {
	Hash   []byte `json:"hash"`
	Status int    `json:"status"`
	Body   []byte `json:"body"`
	// CreatedAt is when it was remembered (set by Remember). Answers remembered before
	// it existed have none and never expire.
	CreatedAt time.Time `json:"created_at,omitzero"`
}

func idemKey(account, key string) []byte {
	return storage.Key(prefixReply, storage.Str(account), storage.Str(key))
}

// replyAgeKey indexes an answer by creation time (storage.AgeKey).
func replyAgeKey(at time.Time, account, key string) []byte {
	return storage.AgeKey(prefixReplyAge, at, storage.Str(account), storage.Str(key))
}

func (s *Store) expired(rep *Reply, now time.Time) bool {
	return !rep.CreatedAt.IsZero() && !now.Before(rep.CreatedAt.Add(s.opts.ReplyTTL))
}

// expireReplies deletes up to limit answers remembered ReplyTTL or more before now,
// oldest first, with their index entries.
func (s *Store) expireReplies(tx storage.Txn, now time.Time, limit int) error {
	old, err := storage.Aged(tx, prefixReplyAge, now.Add(-s.opts.ReplyTTL), limit)
	if err != nil {
		return err
	}
	return storage.DropAged(tx, prefixReplyAge, prefixReply, old)
}

// Replay returns the answer remembered for the account's key, nil if none;
// ErrIdempotencyConflict when the key was used with a different request hash.
func (s *Store) Replay(account, key string, hash []byte) (*Reply, error) {
	if key == "" {
		return nil, nil
	}
	var rep *Reply
	err := s.db.View(func(r storage.Reader) error {
		b, err := r.Get(idemKey(account, key))
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rep = new(Reply)
		return json.Unmarshal(b, rep)
	})
	if err != nil {
		return nil, fmt.Errorf("template: replay %q: %w", key, err)
	}
	if rep != nil && s.expired(rep, s.opts.Now()) {
		return nil, nil
	}
	if rep != nil && !bytes.Equal(rep.Hash, hash) {
		return nil, ErrIdempotencyConflict
	}
	return rep, nil
}

// Remember stores the answer for the account's key. The first answer stays.
func (s *Store) Remember(ctx context.Context, account, key string, rep Reply) error {
	if key == "" {
		return nil
	}
	now := s.opts.Now()
	rep.CreatedAt = now
	b, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("template: remember %q: %w", key, err)
	}
	err = s.db.Commit(ctx, func(tx storage.Txn) error {
		if err := s.expireReplies(tx, now, expireOnWrite); err != nil {
			return err
		}
		k := idemKey(account, key)
		if v, err := tx.Get(k); err == nil {
			var prev Reply
			if json.Unmarshal(v, &prev) != nil || !s.expired(&prev, now) {
				return nil
			}
			// An expired answer not yet deleted: its age entry goes with it.
			if err := tx.Delete(replyAgeKey(prev.CreatedAt, account, key)); err != nil {
				return err
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := tx.Set(replyAgeKey(now, account, key), nil); err != nil {
			return err
		}
		return tx.Set(k, b)
	})
	if err != nil {
		return fmt.Errorf("template: remember %q: %w", key, err)
	}
	return nil
}
