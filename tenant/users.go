package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"kirim/storage"
)

// Roles of a console user. An operator runs the instance; the others belong to one
// account: an admin does everything there, a marketer templates, lists and campaigns,
// finance the money, an agent the inbox.
const (
	RoleOperator = "operator"
	RoleAdmin    = "admin"
	RoleMarketer = "marketer"
	RoleFinance  = "finance"
	RoleAgent    = "agent"
)

// Roles lists the roles, widest first.
var Roles = []string{RoleOperator, RoleAdmin, RoleMarketer, RoleFinance, RoleAgent}

// Languages a user may choose for the console.
var Languages = []string{"en", "id"}

// Errors of sign-in.
var (
	ErrBadLogin = errors.New("tenant: wrong name or password")
	ErrWeak     = errors.New("tenant: password too short")
)

// MinPassword is the shortest password accepted.
const MinPassword = 10

// SessionTTL is how long a sign-in lasts: a working day, then the user signs in again.
const SessionTTL = 12 * time.Hour

// User is a console user. The password is kept only as an argon2id hash.
type User struct {
	ID      string `json:"id"`
	Login   string `json:"login"`
	Account string `json:"account"`
	Role    string `json:"role"`
	Lang    string `json:"lang"`
	// Hash is the PHC-style argon2id string of the password.
	Hash      string    `json:"hash"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	// DeletedAt marks a removed user: the record stays so the audit log's names resolve.
	DeletedAt time.Time `json:"deleted_at,omitzero"`
}

// Session is one sign-in. Only the SHA-256 of its token is stored; the token lives in
// the browser's cookie.
type Session struct {
	Hash      [32]byte  `json:"hash"`
	User      string    `json:"user"`
	CSRF      string    `json:"csrf"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

var reLogin = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{1,63}$`)

// NewUser is what creating a user takes.
type NewUser struct {
	Login, Account, Role, Lang, Password, CreatedBy string
}

func userKey(id string) []byte        { return storage.Key(storage.PrefixUser, storage.Str(id)) }
func sessionKey(h [32]byte) []byte    { return storage.Key(storage.PrefixSession, h[:]) }
func hashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

func (s *Store) loadUsers(r storage.Reader) error {
	err := r.Iterate([]byte(storage.PrefixUser), storage.IterOptions{}, func(_, v []byte) (bool, error) {
		u := new(User)
		if err := json.Unmarshal(v, u); err != nil {
			return false, fmt.Errorf("decode user: %w", err)
		}
		s.users[u.ID] = u
		return true, nil
	})
	if err != nil {
		return err
	}
	return r.Iterate([]byte(storage.PrefixSession), storage.IterOptions{}, func(_, v []byte) (bool, error) {
		ss := new(Session)
		if err := json.Unmarshal(v, ss); err != nil {
			return false, fmt.Errorf("decode session: %w", err)
		}
		s.sessions[ss.Hash] = ss
		return true, nil
	})
}

// CheckNewUser validates a user to be created, naming the field at fault.
func CheckNewUser(n NewUser) (field string, err error) {
	switch {
	case !reLogin.MatchString(n.Login):
		return "login", errors.New("must be 2-64 of lower-case letters, digits, '.', '_', '@' and '-'")
	case !slices.Contains(Roles, n.Role):
		return "role", fmt.Errorf("must be one of %s", strings.Join(Roles, ", "))
	case (n.Role == RoleOperator) != (n.Account == ""):
		return "account", errors.New("an operator has no account; every other role has one")
	case n.Lang != "" && !slices.Contains(Languages, n.Lang):
		return "lang", errors.New("must be en or id")
	case len(n.Password) < MinPassword:
		return "password", fmt.Errorf("must be at least %d characters", MinPassword)
	case len(n.Password) > 256:
		return "password", errors.New("must be at most 256 characters")
	}
	return "", nil
}

// CreateUser stores a new user; the login must be free across the instance.
func (s *Store) CreateUser(ctx context.Context, n NewUser) (User, error) {
	if field, err := CheckNewUser(n); err != nil {
		return User{}, fmt.Errorf("tenant: create user: %s: %w", field, err)
	}
	if n.Lang == "" {
		n.Lang = "en"
	}
	hash, err := HashPassword(n.Password)
	if err != nil {
		return User{}, err
	}
	now := s.clock.Now().UTC()
	u := &User{ID: storage.NewID("usr", now), Login: n.Login, Account: n.Account, Role: n.Role, Lang: n.Lang,
		Hash: hash, CreatedAt: now, CreatedBy: n.CreatedBy}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.userByLogin(n.Login); taken {
		return User{}, fmt.Errorf("tenant: create user %s: %w", n.Login, ErrExists)
	}
	if err := s.putUser(ctx, u); err != nil {
		return User{}, fmt.Errorf("tenant: create user %s: %w", n.Login, err)
	}
	s.users[u.ID] = u
	return *u, nil
}

func (s *Store) putUser(ctx context.Context, u *User) error {
	v, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return s.db.Commit(ctx, func(tx storage.Txn) error { return tx.Set(userKey(u.ID), v) })
}

// userByLogin finds a user that is not deleted; s.mu is held.
func (s *Store) userByLogin(login string) (*User, bool) {
	for _, u := range s.users {
		if u.Login == login && u.DeletedAt.IsZero() {
			return u, true
		}
	}
	return nil, false
}

// User returns a user that is not deleted.
func (s *Store) User(id string) (User, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[id]
	if !ok || !u.DeletedAt.IsZero() {
		return User{}, false
	}
	return *u, true
}

// Users returns the users of account ("" for every user), by login.
func (s *Store) Users(account string) []User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []User
	for _, u := range s.users {
		if u.DeletedAt.IsZero() && (account == "" || u.Account == account) {
			out = append(out, *u)
		}
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Login, b.Login) })
	return out
}

// HasOperatorUser reports whether some operator user exists.
func (s *Store) HasOperatorUser() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, u := range s.users {
		if u.Role == RoleOperator && u.DeletedAt.IsZero() {
			return true
		}
	}
	return false
}

// UpdateUser changes a user's language or password ("" keeps each).
func (s *Store) UpdateUser(ctx context.Context, id, lang, password string) (User, error) {
	if lang != "" && !slices.Contains(Languages, lang) {
		return User{}, fmt.Errorf("tenant: update user %s: lang: must be en or id", id)
	}
	var hash string
	if password != "" {
		if len(password) < MinPassword {
			return User{}, fmt.Errorf("tenant: update user %s: %w", id, ErrWeak)
		}
		var err error
		if hash, err = HashPassword(password); err != nil {
			return User{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok || !u.DeletedAt.IsZero() {
		return User{}, fmt.Errorf("tenant: update user %s: %w", id, ErrNotFound)
	}
	nu := *u
	if lang != "" {
		nu.Lang = lang
	}
	if hash != "" {
		nu.Hash = hash
	}
	if err := s.putUser(ctx, &nu); err != nil {
		return User{}, fmt.Errorf("tenant: update user %s: %w", id, err)
	}
	*u = nu
	if hash != "" {
		// A new password ends every other sign-in of the user.
		if err := s.endSessions(ctx, id); err != nil {
			return User{}, err
		}
	}
	return nu, nil
}

// DeleteUser removes a user and ends its sessions.
func (s *Store) DeleteUser(ctx context.Context, id string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok || !u.DeletedAt.IsZero() {
		return User{}, fmt.Errorf("tenant: delete user %s: %w", id, ErrNotFound)
	}
	nu := *u
	nu.DeletedAt = s.clock.Now().UTC()
	if err := s.putUser(ctx, &nu); err != nil {
		return User{}, fmt.Errorf("tenant: delete user %s: %w", id, err)
	}
	*u = nu
	return nu, s.endSessions(ctx, id)
}

// SignIn checks a login and password and opens a session; it returns the session's
// token, which is not kept. A wrong name costs the same hashing as a wrong password.
func (s *Store) SignIn(ctx context.Context, login, password string) (User, string, Session, error) {
	s.mu.RLock()
	u, ok := s.userByLogin(strings.ToLower(strings.TrimSpace(login)))
	var user User
	if ok {
		user = *u
	}
	s.mu.RUnlock()
	hash := user.Hash
	if !ok {
		hash = decoyHash()
	}
	if !CheckPassword(hash, password) || !ok {
		return User{}, "", Session{}, ErrBadLogin
	}
	tok := make([]byte, 32)
	csrf := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return User{}, "", Session{}, fmt.Errorf("tenant: sign in: %w", err)
	}
	if _, err := rand.Read(csrf); err != nil {
		return User{}, "", Session{}, fmt.Errorf("tenant: sign in: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(tok)
	now := s.clock.Now().UTC()
	ss := &Session{Hash: hashToken(token), User: user.ID, CSRF: base64.RawURLEncoding.EncodeToString(csrf),
		CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	v, err := json.Marshal(ss)
	if err != nil {
		return User{}, "", Session{}, err
	}
	if err := s.db.Commit(ctx, func(tx storage.Txn) error { return tx.Set(sessionKey(ss.Hash), v) }); err != nil {
		return User{}, "", Session{}, fmt.Errorf("tenant: sign in %s: %w", user.Login, err)
	}
	s.mu.Lock()
	s.sessions[ss.Hash] = ss
	s.mu.Unlock()
	return user, token, *ss, nil
}

// Session returns the live session of token with its user.
func (s *Store) Session(token string) (Session, User, bool) {
	h := hashToken(token)
	s.mu.RLock()
	defer s.mu.RUnlock()
	ss, ok := s.sessions[h]
	if !ok || !s.clock.Now().Before(ss.ExpiresAt) {
		return Session{}, User{}, false
	}
	u, ok := s.users[ss.User]
	if !ok || !u.DeletedAt.IsZero() {
		return Session{}, User{}, false
	}
	return *ss, *u, true
}

// SignOut ends the session of token.
func (s *Store) SignOut(ctx context.Context, token string) error {
	h := hashToken(token)
	if err := s.db.Commit(ctx, func(tx storage.Txn) error { return tx.Delete(sessionKey(h)) }); err != nil {
		return fmt.Errorf("tenant: sign out: %w", err)
	}
	s.mu.Lock()
	delete(s.sessions, h)
	s.mu.Unlock()
	return nil
}

// SignOutEverywhere ends every session of user.
func (s *Store) SignOutEverywhere(ctx context.Context, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endSessions(ctx, user)
}

// endSessions deletes the sessions of user, and any expired one on the way; s.mu is held.
func (s *Store) endSessions(ctx context.Context, user string) error {
	now := s.clock.Now()
	var gone [][32]byte
	for h, ss := range s.sessions {
		if ss.User == user || !now.Before(ss.ExpiresAt) {
			gone = append(gone, h)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	err := s.db.Commit(ctx, func(tx storage.Txn) error {
		for _, h := range gone {
			if err := tx.Delete(sessionKey(h)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tenant: end sessions of %s: %w", user, err)
	}
	for _, h := range gone {
		delete(s.sessions, h)
	}
	return nil
}

// Argon2id parameters: OWASP's minimum (19 MiB, two passes, one lane), which keeps a
// sign-in near 30 ms on a small VPS while making each guess cost the same memory.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns the argon2id hash of password in the PHC string form.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("tenant: password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash, in time independent of where
// they differ.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 16 || p == 0 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// decoyHash is checked against when the login is unknown, so that a wrong name takes
// as long as a wrong password.
var decoyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("decoy password, never matches")
	return h
})
