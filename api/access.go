package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kirim/engine"
)

// Scopes of an API key. Admin implies the others, within the key's own account.
// ScopeOperator marks the routes only an operator key may call. Templates and money
// let a key (or a console user's role) manage templates, or top-ups and statements,
// without the rest of admin.
const (
	ScopeSend      = "send"
	ScopeCampaigns = "campaigns"
	ScopeTemplates = "templates"
	ScopeMoney     = "money"
	ScopeAdmin     = "admin"
	ScopeOperator  = "operator"
)

// Account is what the API needs of a Kirim account.
type Account struct {
	ID            string
	Name          string
	Currency      string
	Timezone      string
	DefaultRegion string
	// Locale decides how money is displayed to the account (LocaleIndonesian); empty
	// is the default form.
	Locale string
	// Source is "config" for an account of the configuration, "api" for one made
	// through POST /v1/accounts.
	Source string
}

// Key is an API key as loaded: only its SHA-256 is kept. An operator key has no
// account and acts on every one.
type Key struct {
	// ID names the key in GET /v1/keys and the audit log: "config:<account>:<name>" and
	// "operator:<name>" for the configuration's keys, "key_..." for those made through
	// the API.
	ID       string
	Name     string
	Account  string
	Operator bool
	Scopes   []string
	SHA256   [32]byte
}

// HashKey returns the SHA-256 of a key, as stored.
func HashKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// ParseKeyHash decodes a key_sha256 hex string.
func ParseKeyHash(h string) ([32]byte, error) {
	var out [32]byte
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return out, fmt.Errorf("api: key hash must be 64 hex digits")
	}
	copy(out[:], b)
	return out, nil
}

// keyring is the accounts and configured keys requests are checked against.
type keyring struct {
	accounts map[string]Account
	keys     map[[32]byte]Key
}

// SetKeys replaces the accounts and the configured keys (operators' included), as a
// SIGHUP does: a request is checked against the old set or the new, never a mix. An
// invalid set changes nothing.
func (s *Server) SetKeys(accounts []Account, keys []Key) error {
	kr := &keyring{accounts: make(map[string]Account, len(accounts)), keys: make(map[[32]byte]Key, len(keys))}
	for _, a := range accounts {
		kr.accounts[a.ID] = a
	}
	for _, k := range keys {
		if k.Operator != (k.Account == "") {
			return fmt.Errorf("api: key %q: an operator key has no account, any other key one", k.Name)
		}
		if _, ok := kr.accounts[k.Account]; !ok && !k.Operator {
			return fmt.Errorf("api: key %q names unknown account %q", k.Name, k.Account)
		}
		if _, dup := kr.keys[k.SHA256]; dup {
			return fmt.Errorf("api: key %q is another key's too", k.Name)
		}
		if k.ID == "" {
			k.ID = "config:" + k.Account + ":" + k.Name
			if k.Operator {
				k.ID = "operator:" + k.Name
			}
		}
		kr.keys[k.SHA256] = k
	}
	s.auth.Store(kr)
	return nil
}

// account returns the account with id (zero when there is none).
func (s *Server) account(id string) Account { return s.auth.Load().accounts[id] }

// caller is who makes a request, and for which account. An operator names the account
// it acts on with ?account=; without it, account is zero and only the instance-wide
// routes (and the lists that span accounts) answer.
type caller struct {
	key     Key
	account Account
	body    []byte
}

// may is the one decision of tenancy: whether the caller may act on a record that
// belongs to owner. An operator may act on every account's; any other key on its own
// account's only. A refusal is 404, so that another account's record is not even
// known to exist.
func (c *caller) may(owner string) *Error {
	if c.key.Operator && (c.account.ID == "" || c.account.ID == owner) {
		return nil
	}
	if owner != "" && owner == c.account.ID {
		return nil
	}
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such record"}
}

// errNumberNotOwned is the message of a send or campaign from another account's number.
const errNumberNotOwned = "the number belongs to another account"

// numberFor resolves the number alias (the account's default when empty) for the
// caller's account: another account's number is refused with 403, since the numbers
// are listed in the configuration and not secret.
func (s *Server) numberFor(c *caller, field, alias string) (engine.Number, *Error) {
	if alias == "" {
		alias = s.opts.Engine.DefaultNumberOf(c.account.ID)
		if alias == "" {
			return engine.Number{}, &Error{Status: http.StatusUnprocessableEntity, Code: "number_not_connected", Field: field,
				Message: field + ": the account has no number; an operator assigns one with [[numbers]] account"}
		}
	}
	num, ok := s.opts.Engine.Number(alias)
	if !ok {
		return engine.Number{}, invalid(field, "%q is not a configured number", alias)
	}
	if num.Account != c.account.ID {
		return engine.Number{}, &Error{Status: http.StatusForbidden, Code: "forbidden", Field: field, Message: field + ": " + errNumberNotOwned}
	}
	return num, nil
}

// accountNumbers returns the numbers of the caller's account, in configured order.
func (s *Server) accountNumbers(c *caller) []engine.Number {
	var out []engine.Number
	for _, n := range s.opts.Engine.Numbers() {
		if n.Account == c.account.ID {
			out = append(out, n)
		}
	}
	return out
}

// authenticate finds the key of a request (or the principal the console gave it) and
// checks it may call a route of scope. An operator acting on one account names it with
// ?account=; instance-wide routes (instance) need none.
func (s *Server) authenticate(r *http.Request, scope string, instance bool) (*caller, *Error) {
	kr := s.auth.Load()
	k, aerr := s.keyOf(r, kr)
	if aerr != nil {
		return nil, aerr
	}
	c := &caller{key: k}
	if !k.Operator {
		c.account = kr.accounts[k.Account]
		if scope == ScopeOperator {
			return c, &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "only an operator key may do this"}
		}
		if !hasScope(k.Scopes, scope) {
			return c, &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf("this key lacks the %q scope", scope)}
		}
		// Most requests have no query string: parsing one is not worth it for them.
		if r.URL.RawQuery == "" {
			return c, nil
		}
		if q := r.URL.Query().Get("account"); q != "" && q != k.Account {
			return c, &Error{Status: http.StatusNotFound, Code: "not_found", Field: "account", Message: "account: no such account"}
		}
		return c, nil
	}
	id := r.URL.Query().Get("account")
	if id == "" {
		if instance {
			return c, nil
		}
		return c, &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: "account",
			Message: "account: an operator key names the account it acts on: ?account=<id>"}
	}
	a, ok := kr.accounts[id]
	if !ok {
		return c, &Error{Status: http.StatusNotFound, Code: "not_found", Field: "account", Message: fmt.Sprintf("account: no account %q", id)}
	}
	c.account = a
	return c, nil
}

// keyOf returns the key a request is made with: the console's principal when the
// request came from it in-process, else the Authorization header's key.
func (s *Server) keyOf(r *http.Request, kr *keyring) (Key, *Error) {
	if p, ok := r.Context().Value(principalKey{}).(Principal); ok {
		k := Key{ID: p.ID, Name: p.Name, Account: p.Account, Operator: p.Operator, Scopes: p.Scopes}
		if _, known := kr.accounts[k.Account]; !known && !k.Operator {
			return Key{}, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the user's account is gone"}
		}
		return k, nil
	}
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return Key{}, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "missing API key: send Authorization: Bearer <key>"}
	}
	sum := HashKey(strings.TrimSpace(token))
	k, found := kr.keys[sum]
	if !found && s.opts.Tenants != nil {
		if tk, ok := s.opts.Tenants.Lookup(sum); ok {
			if _, known := kr.accounts[tk.Account]; known {
				k, found = Key{ID: tk.ID, Name: tk.Name, Account: tk.Account, Scopes: tk.Scopes, SHA256: tk.SHA256}, true
			}
		}
	}
	// The map lookup is on a hash of the key; the compare below keeps the check
	// constant-time in the key itself.
	if !found || subtle.ConstantTimeCompare(k.SHA256[:], sum[:]) != 1 {
		return Key{}, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "invalid API key"}
	}
	s.touch(k)
	return k, nil
}

// hasScope reports whether scopes have grant a route of scope want, which may name
// alternatives ("send|campaigns": either will do).
func hasScope(have []string, want string) bool {
	for _, s := range have {
		if s == ScopeAdmin {
			return true
		}
		for w := range strings.SplitSeq(want, "|") {
			if s == w {
				return true
			}
		}
	}
	return false
}

// scopeSendOrCampaigns serves reads a sending system and a campaign manager both need
// (lists, imports): a campaigns key polls the import it started.
const scopeSendOrCampaigns = ScopeSend + "|" + ScopeCampaigns

// scopeReadTemplates and scopeReadMoney serve reads that a sending system needs as much
// as the one who manages the templates or the money.
const (
	scopeReadTemplates = ScopeSend + "|" + ScopeTemplates
	scopeReadMoney     = ScopeSend + "|" + ScopeMoney
)

// keyUse remembers when each configured key was last used, without a lock on the
// request path: one atomic per key, written at most once a second.
type keyUse struct{ last sync.Map } // key id -> *atomic.Int64 (unix seconds)

func (s *Server) touch(k Key) {
	if strings.HasPrefix(k.ID, "key_") {
		if s.opts.Tenants != nil {
			s.opts.Tenants.Touch(k.ID)
		}
		return
	}
	now := s.clock.Now().Unix()
	v, ok := s.used.last.Load(k.ID)
	if !ok {
		v, _ = s.used.last.LoadOrStore(k.ID, new(atomic.Int64))
	}
	if at := v.(*atomic.Int64); at.Load() != now {
		at.Store(now)
	}
}

func (s *Server) lastUsed(id string) time.Time {
	v, ok := s.used.last.Load(id)
	if !ok {
		return time.Time{}
	}
	return time.Unix(v.(*atomic.Int64).Load(), 0).UTC()
}
