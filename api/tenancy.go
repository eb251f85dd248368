package api

import (
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/nyaruka/phonenumbers"

	"kirim/storage"
	"kirim/tenant"
)

// Instance is what the operator's instance-wide routes need of storage.
type Instance interface {
	Stats() storage.Stats
	Backup(w io.Writer) error
}

// NewAccount is an account to create through POST /v1/accounts.
type NewAccount struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Currency      string `json:"currency"`
	Timezone      string `json:"timezone"`
	DefaultRegion string `json:"default_region"`
	Locale        string `json:"locale"`
	LowBalance    int64  `json:"low_balance_micros"`
}

// instanceRoutes are the routes an operator calls without naming an account: they
// act on the instance, or list across accounts.
var instanceRoutes = map[string]bool{
	"GET /v1/accounts": true, "POST /v1/accounts": true,
	"GET /v1/admin/storage": true, "GET /v1/admin/backup": true, "GET /v1/admin/ledger/verify": true,
	"GET /v1/webhooks/dead": true, "POST /v1/webhooks/dead/:id/replay": true,
	"GET /v1/audit": true, "GET /v1/keys": true, "DELETE /v1/keys/:id": true,
	// An operator without ?account= manages the endpoints that take every account's
	// events, and sees every endpoint and delivery.
	"POST /v1/callbacks/endpoints": true, "GET /v1/callbacks/endpoints": true, "GET /v1/callbacks/endpoints/:id": true,
	"PATCH /v1/callbacks/endpoints/:id": true, "DELETE /v1/callbacks/endpoints/:id": true,
	"POST /v1/callbacks/endpoints/:id/rotate-secret": true, "POST /v1/callbacks/endpoints/:id/test": true,
	"POST /v1/callbacks/endpoints/:id/replay": true, "GET /v1/callbacks/deliveries": true,
	"POST /v1/callbacks/deliveries/:id/replay": true,
	// An operator without ?account= makes operators and lists every user.
	"POST /v1/users": true, "GET /v1/users": true, "PATCH /v1/users/:id": true, "DELETE /v1/users/:id": true,
	"POST /v1/users/:id/sign-out": true,
}

func (s *Server) tenancyRoutes() []route {
	return []route{
		{"POST", "/v1/accounts", ScopeOperator, s.createAccount},
		{"GET", "/v1/accounts", ScopeOperator, s.listAccounts},
		{"POST", "/v1/keys", ScopeAdmin, s.createKey},
		{"GET", "/v1/keys", ScopeAdmin, s.listKeys},
		{"DELETE", "/v1/keys/:id", ScopeAdmin, s.revokeKey},
		{"GET", "/v1/audit", ScopeAdmin, s.listAudit},
		{"GET", "/v1/export", ScopeAdmin, s.export},
		{"GET", "/v1/admin/storage", ScopeOperator, s.storageStats},
		{"GET", "/v1/admin/backup", ScopeOperator, s.backup},
	}
}

var (
	reAccountID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	reCurrency  = regexp.MustCompile(`^[A-Z]{3}$`)
	reKeyName   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)
)

func (s *Server) createAccount(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	if s.opts.CreateAccount == nil {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "accounts are not managed through this API"}
	}
	var req NewAccount
	if aerr := decodeStrict(c.body, &req); aerr != nil {
		return 0, nil, aerr
	}
	if req.Currency == "" {
		req.Currency = "IDR"
	}
	if req.Timezone == "" {
		req.Timezone = "Asia/Jakarta"
	}
	if req.DefaultRegion == "" {
		req.DefaultRegion = "ID"
	}
	switch {
	case !reAccountID.MatchString(req.ID):
		return 0, nil, invalid("id", "must be 1-32 of a-z, 0-9, _ and -")
	case len(req.Name) > 128:
		return 0, nil, invalid("name", "at most 128 bytes")
	case !reCurrency.MatchString(req.Currency):
		return 0, nil, invalid("currency", "%q is not a 3-letter currency code", req.Currency)
	case req.LowBalance < 0:
		return 0, nil, invalid("low_balance_micros", "must not be negative")
	case phonenumbers.GetCountryCodeForRegion(req.DefaultRegion) == 0:
		return 0, nil, invalid("default_region", "%q is not a region code like ID", req.DefaultRegion)
	case req.Locale != "" && req.Locale != LocaleEnglish && req.Locale != LocaleIndonesian:
		return 0, nil, invalid("locale", "%q is not %s or %s", req.Locale, LocaleEnglish, LocaleIndonesian)
	}
	if _, err := time.LoadLocation(req.Timezone); err != nil {
		return 0, nil, invalid("timezone", "%q is not a timezone like Asia/Jakarta", req.Timezone)
	}
	a, err := s.opts.CreateAccount(r.Context(), req, c.key.Name)
	if errors.Is(err, tenant.ErrExists) {
		return 0, nil, &Error{Status: http.StatusConflict, Code: "conflict", Field: "id", Message: "id: an account " + req.ID + " exists"}
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, accountView(a), nil
}

func accountView(a Account) map[string]any {
	return map[string]any{"id": a.ID, "name": a.Name, "currency": a.Currency, "timezone": a.Timezone,
		"default_region": a.DefaultRegion, "locale": a.Locale, "source": a.Source}
}

func (s *Server) listAccounts(_ *http.Request, _ httprouter.Params, _ *caller) (int, any, error) {
	kr := s.auth.Load()
	out := make([]map[string]any, 0, len(kr.accounts))
	for _, a := range kr.accounts {
		v := accountView(a)
		nums := []string{}
		for _, n := range s.opts.Engine.Numbers() {
			if n.Account == a.ID {
				nums = append(nums, n.Alias)
			}
		}
		v["numbers"] = nums
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b map[string]any) int {
		return strings.Compare(a["id"].(string), b["id"].(string))
	})
	return http.StatusOK, map[string]any{"data": out}, nil
}

var validKeyScopes = []string{ScopeSend, ScopeCampaigns, ScopeTemplates, ScopeMoney, ScopeAdmin}

// createKey makes a key of the caller's account (an operator's: the named account's),
// with scopes no wider than the caller's own, and shows it once.
func (s *Server) createKey(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Tenants == nil {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "keys are not managed through this API"}
	}
	var req struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if aerr := decodeStrict(c.body, &req); aerr != nil {
		return 0, nil, aerr
	}
	if !reKeyName.MatchString(req.Name) {
		return 0, nil, invalid("name", "must be 1-64 of letters, digits, space, '.', '_' and '-'")
	}
	if len(req.Scopes) == 0 {
		return 0, nil, invalid("scopes", "give at least one of send, campaigns, templates, money, admin")
	}
	for _, sc := range req.Scopes {
		if !slices.Contains(validKeyScopes, sc) {
			return 0, nil, invalid("scopes", "%q is not one of send, campaigns, templates, money, admin", sc)
		}
		if !c.key.Operator && !hasScope(c.key.Scopes, sc) {
			return 0, nil, &Error{Status: http.StatusForbidden, Code: "forbidden", Field: "scopes",
				Message: "scopes: " + sc + " is wider than this key's own scopes"}
		}
	}
	slices.Sort(req.Scopes)
	req.Scopes = slices.Compact(req.Scopes)
	kr := s.auth.Load()
	k, secret, err := s.opts.Tenants.CreateKey(r.Context(), c.account.ID, req.Name, req.Scopes, c.key.Name,
		func(sum [32]byte) bool { _, ok := kr.keys[sum]; return ok })
	if err != nil {
		return 0, nil, err
	}
	v := storedKeyView(k)
	v["key"] = secret
	return http.StatusCreated, v, nil
}

func storedKeyView(k tenant.Key) map[string]any {
	return map[string]any{"id": k.ID, "name": k.Name, "account": k.Account, "scopes": k.Scopes, "source": "api",
		"created_at": timeOrNil(k.CreatedAt), "created_by": k.CreatedBy, "last_used": timeOrNil(k.LastUsed),
		"revoked_at": timeOrNil(k.RevokedAt)}
}

// listKeys lists the keys of the caller's account (an operator without ?account=:
// every key, its own kind included): names, scopes, use; never a key or its hash.
func (s *Server) listKeys(_ *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	out := []map[string]any{}
	kr := s.auth.Load()
	for _, k := range kr.keys {
		if c.may(k.Account) != nil || (k.Operator && !c.key.Operator) {
			continue
		}
		scopes := k.Scopes
		if k.Operator {
			scopes = []string{ScopeOperator}
		}
		out = append(out, map[string]any{"id": k.ID, "name": k.Name, "account": k.Account, "scopes": scopes,
			"source": "config", "created_at": nil, "last_used": timeOrNil(s.lastUsed(k.ID)), "revoked_at": nil})
	}
	if s.opts.Tenants != nil {
		for _, k := range s.opts.Tenants.Keys(c.account.ID) {
			if c.may(k.Account) == nil {
				out = append(out, storedKeyView(k))
			}
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
	return http.StatusOK, map[string]any{"data": out}, nil
}

// revokeKey revokes a key made through the API; from the answer on it is refused.
func (s *Server) revokeKey(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	id := p.ByName("id")
	for _, k := range s.auth.Load().keys {
		if k.ID == id && c.may(k.Account) == nil && (c.key.Operator || !k.Operator) {
			return 0, nil, &Error{Status: http.StatusConflict, Code: "config_key",
				Message: "the key is written in the configuration: remove it there and reload (SIGHUP)"}
		}
	}
	if s.opts.Tenants == nil {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such key"}
	}
	// An operator without ?account= has c.account zero: any account's key.
	k, err := s.opts.Tenants.Revoke(r.Context(), c.account.ID, id)
	if errors.Is(err, tenant.ErrNotFound) {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such key"}
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, storedKeyView(k), nil
}

func (s *Server) storageStats(_ *http.Request, _ httprouter.Params, _ *caller) (int, any, error) {
	if s.opts.Instance == nil {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no storage figures here"}
	}
	return http.StatusOK, s.opts.Instance.Stats(), nil
}

// backup streams a full backup of every account: the operator's alone.
func (s *Server) backup(_ *http.Request, _ httprouter.Params, _ *caller) (int, any, error) {
	if s.opts.Instance == nil {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no backup here"}
	}
	return http.StatusOK, streamResponse{contentType: "application/octet-stream", filename: "kirim-backup.badger",
		write: s.opts.Instance.Backup}, nil
}
