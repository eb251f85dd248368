// Package tenant owns what the API itself creates about tenants: accounts made through
// POST /v1/accounts, API keys made through POST /v1/keys (stored as their SHA-256
// only, revoked by marking, with when each was last used), and the console's users
// (argon2id password hashes) with their sign-in sessions. Accounts and keys written in
// the configuration are the config package's; this one keeps the rest durable in
// storage and answers key lookups from memory, so a revocation holds at once.
package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"kirim/clock"
	"kirim/storage"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("tenant: not found")
	ErrExists   = errors.New("tenant: already exists")
)

// Key is an API key created through the API. The key itself is shown once, at creation.
type Key struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Account   string    `json:"account"`
	Scopes    []string  `json:"scopes"`
	SHA256    [32]byte  `json:"sha256"`
	CreatedAt time.Time `json:"created_at"`
	// CreatedBy is the name of the key that made this one.
	CreatedBy string    `json:"created_by"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	LastUsed  time.Time `json:"last_used,omitzero"`
}

// Revoked reports whether the key was revoked.
func (k Key) Revoked() bool { return !k.RevokedAt.IsZero() }

// Account is an account created through the API.
type Account struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Currency      string    `json:"currency"`
	Timezone      string    `json:"timezone"`
	DefaultRegion string    `json:"default_region"`
	Locale        string    `json:"locale,omitempty"` // how money is displayed; empty: the default form
	LowBalance    int64     `json:"low_balance_micros"`
	CreatedAt     time.Time `json:"created_at"`
	CreatedBy     string    `json:"created_by"`
}

// touchEvery bounds how often a key's last use is written: a busy key would otherwise
// cost a write per request.
const touchEvery = time.Minute

// Store keeps the API's accounts and keys.
type Store struct {
	db    *storage.DB
	clock clock.Clock

	mu       sync.RWMutex
	byHash   map[[32]byte]*Key // active keys only
	byID     map[string]*Key   // every key, revoked too
	accounts map[string]*Account
	// used holds last-use times not yet written.
	used map[string]time.Time

	users    map[string]*User      // by id
	sessions map[[32]byte]*Session // by SHA-256 of the token
}

// Open loads every stored account and key.
func Open(db *storage.DB, clk clock.Clock) (*Store, error) {
	if clk == nil {
		clk = clock.Real{}
	}
	s := &Store{db: db, clock: clk, byHash: map[[32]byte]*Key{}, byID: map[string]*Key{},
		accounts: map[string]*Account{}, used: map[string]time.Time{},
		users: map[string]*User{}, sessions: map[[32]byte]*Session{}}
	err := db.View(func(r storage.Reader) error {
		err := r.Iterate([]byte(storage.PrefixAPIKey), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			k := new(Key)
			if err := json.Unmarshal(v, k); err != nil {
				return false, fmt.Errorf("decode key: %w", err)
			}
			s.byID[k.ID] = k
			if !k.Revoked() {
				s.byHash[k.SHA256] = k
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		err = r.Iterate([]byte(storage.PrefixAccount), storage.IterOptions{}, func(_, v []byte) (bool, error) {
			a := new(Account)
			if err := json.Unmarshal(v, a); err != nil {
				return false, fmt.Errorf("decode account: %w", err)
			}
			s.accounts[a.ID] = a
			return true, nil
		})
		if err != nil {
			return err
		}
		return s.loadUsers(r)
	})
	if err != nil {
		return nil, fmt.Errorf("tenant: open: %w", err)
	}
	return s, nil
}

func keyKey(id string) []byte     { return storage.Key(storage.PrefixAPIKey, storage.Str(id)) }
func accountKey(id string) []byte { return storage.Key(storage.PrefixAccount, storage.Str(id)) }

// NewSecret returns a fresh random API key.
func NewSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("tenant: random key: %w", err)
	}
	return "kirim_" + hex.EncodeToString(b), nil
}

// CreateKey stores a new key for account with name and scopes, made by createdBy, and
// returns it with the key itself, which is not kept. taken reports whether a hash is
// already a key elsewhere (the configuration's); a fresh random key never is, but the
// check keeps one key from ever naming two holders.
func (s *Store) CreateKey(ctx context.Context, account, name string, scopes []string, createdBy string, taken func([32]byte) bool) (Key, string, error) {
	secret, err := NewSecret()
	if err != nil {
		return Key{}, "", err
	}
	now := s.clock.Now().UTC()
	k := &Key{ID: storage.NewID("key", now), Name: name, Account: account, Scopes: slices.Clone(scopes),
		SHA256: sha256.Sum256([]byte(secret)), CreatedAt: now, CreatedBy: createdBy}
	if taken != nil && taken(k.SHA256) {
		return Key{}, "", fmt.Errorf("tenant: create key %s: %w", name, ErrExists)
	}
	if err := s.put(ctx, k); err != nil {
		return Key{}, "", fmt.Errorf("tenant: create key %s: %w", name, err)
	}
	s.mu.Lock()
	s.byID[k.ID], s.byHash[k.SHA256] = k, k
	s.mu.Unlock()
	return *k, secret, nil
}

func (s *Store) put(ctx context.Context, k *Key) error {
	v, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return s.db.Commit(ctx, func(tx storage.Txn) error { return tx.Set(keyKey(k.ID), v) })
}

// Revoke revokes the key id of account ("" for any account); from its return on, the
// key no longer authenticates. Revoking a revoked key changes nothing.
func (s *Store) Revoke(ctx context.Context, account, id string) (Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.byID[id]
	if !ok || (account != "" && k.Account != account) {
		return Key{}, fmt.Errorf("tenant: revoke key %s: %w", id, ErrNotFound)
	}
	if k.Revoked() {
		return *k, nil
	}
	c := *k
	c.RevokedAt = s.clock.Now().UTC()
	if t, ok := s.used[id]; ok {
		c.LastUsed = t
	}
	// Out of the lookup first: a request racing the write is refused, not let in.
	delete(s.byHash, k.SHA256)
	if err := s.put(ctx, &c); err != nil {
		s.byHash[k.SHA256] = k
		return Key{}, fmt.Errorf("tenant: revoke key %s: %w", id, err)
	}
	delete(s.used, id)
	*k = c
	return c, nil
}

// Lookup returns the active key whose SHA-256 is sum.
func (s *Store) Lookup(sum [32]byte) (Key, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.byHash[sum]
	if !ok {
		return Key{}, false
	}
	return *k, true
}

// Touch records that key id was just used; Flush writes it.
func (s *Store) Touch(id string) {
	now := s.clock.Now().UTC()
	// Most calls find the key used within touchEvery: a read lock decides that, so
	// requests with one key do not queue on the write lock.
	s.mu.RLock()
	k, ok := s.byID[id]
	fresh := ok && now.Sub(s.lastUse(k)) < touchEvery
	s.mu.RUnlock()
	if !ok || fresh {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastUse(k)) >= touchEvery {
		s.used[id] = now
	}
}

func (s *Store) lastUse(k *Key) time.Time {
	if t, ok := s.used[k.ID]; ok {
		return t
	}
	return k.LastUsed
}

// Flush writes the last-use times recorded since the last flush.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	var dirty []*Key
	for id, t := range s.used {
		if k, ok := s.byID[id]; ok && !k.Revoked() {
			c := *k
			c.LastUsed = t
			dirty = append(dirty, &c)
		}
	}
	s.used = map[string]time.Time{}
	s.mu.Unlock()
	if len(dirty) == 0 {
		return nil
	}
	err := s.db.Commit(ctx, func(tx storage.Txn) error {
		for _, k := range dirty {
			v, err := json.Marshal(k)
			if err != nil {
				return err
			}
			if err := tx.Set(keyKey(k.ID), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tenant: flush last use: %w", err)
	}
	s.mu.Lock()
	for _, d := range dirty {
		if k := s.byID[d.ID]; k != nil && !k.Revoked() && d.LastUsed.After(k.LastUsed) {
			k.LastUsed = d.LastUsed
		}
	}
	s.mu.Unlock()
	return nil
}

// Keys returns the keys of account ("" for every account), revoked ones included,
// oldest first, each with its latest use.
func (s *Store) Keys(account string) []Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Key
	for _, k := range s.byID {
		if account == "" || k.Account == account {
			c := *k
			c.LastUsed = s.lastUse(k)
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// CreateAccount stores a new account. exists reports whether the id is taken elsewhere
// (the configuration's accounts).
func (s *Store) CreateAccount(ctx context.Context, a Account, exists func(id string) bool) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[a.ID]; ok || (exists != nil && exists(a.ID)) {
		return Account{}, fmt.Errorf("tenant: create account %s: %w", a.ID, ErrExists)
	}
	a.CreatedAt = s.clock.Now().UTC()
	v, err := json.Marshal(a)
	if err != nil {
		return Account{}, fmt.Errorf("tenant: create account %s: %w", a.ID, err)
	}
	if err := s.db.Commit(ctx, func(tx storage.Txn) error { return tx.Set(accountKey(a.ID), v) }); err != nil {
		return Account{}, fmt.Errorf("tenant: create account %s: %w", a.ID, err)
	}
	s.accounts[a.ID] = &a
	return a, nil
}

// Accounts returns the accounts created through the API, by id.
func (s *Store) Accounts() []Account {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
