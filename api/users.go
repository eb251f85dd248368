package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/julienschmidt/httprouter"

	"kirim/tenant"
)

// The console's users are managed through the API too (and so by `kirim user add`):
// the operator makes operators and any account's users; an account admin makes users
// of its own account, never an operator.
func (s *Server) userRoutes() []route {
	return []route{
		{"POST", "/v1/users", ScopeAdmin, s.createUser},
		{"GET", "/v1/users", ScopeAdmin, s.listUsers},
		{"PATCH", "/v1/users/:id", ScopeAdmin, s.updateUser},
		{"DELETE", "/v1/users/:id", ScopeAdmin, s.deleteUser},
		{"POST", "/v1/users/:id/sign-out", ScopeAdmin, s.signOutUser},
	}
}

func userView(u tenant.User) map[string]any {
	return map[string]any{"id": u.ID, "login": u.Login, "account": u.Account, "role": u.Role, "lang": u.Lang,
		"created_at": timeOrNil(u.CreatedAt), "created_by": u.CreatedBy}
}

func (s *Server) createUser(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Tenants == nil {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "users are not managed through this API"}
	}
	var req struct {
		Login    string `json:"login"`
		Role     string `json:"role"`
		Lang     string `json:"lang"`
		Password string `json:"password"`
	}
	if aerr := decodeStrict(c.body, &req); aerr != nil {
		return 0, nil, aerr
	}
	req.Login = strings.ToLower(strings.TrimSpace(req.Login))
	if req.Role == tenant.RoleOperator && !c.key.Operator {
		return 0, nil, &Error{Status: http.StatusForbidden, Code: "forbidden", Field: "role", Message: "role: only an operator makes operators"}
	}
	if c.key.Operator && c.account.ID == "" && req.Role != tenant.RoleOperator && slices.Contains(tenant.Roles, req.Role) {
		return 0, nil, invalid("account", "an account user belongs to an account: ?account=<id>")
	}
	n := tenant.NewUser{Login: req.Login, Account: c.account.ID, Role: req.Role, Lang: req.Lang, Password: req.Password, CreatedBy: c.key.Name}
	if req.Role == tenant.RoleOperator {
		n.Account = ""
	}
	if field, err := tenant.CheckNewUser(n); err != nil {
		return 0, nil, invalid(field, "%s", err.Error())
	}
	u, err := s.opts.Tenants.CreateUser(r.Context(), n)
	if errors.Is(err, tenant.ErrExists) {
		return 0, nil, &Error{Status: http.StatusConflict, Code: "conflict", Field: "login", Message: "login: taken"}
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, userView(u), nil
}

// userOf finds a user the caller may manage: its own account's, or any for an
// operator; an account admin never manages an operator.
func (s *Server) userOf(c *caller, id string) (tenant.User, *Error) {
	if s.opts.Tenants == nil {
		return tenant.User{}, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such user"}
	}
	u, ok := s.opts.Tenants.User(id)
	if !ok || (u.Role == tenant.RoleOperator && !c.key.Operator) || (u.Role != tenant.RoleOperator && c.may(u.Account) != nil) {
		return tenant.User{}, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such user"}
	}
	return u, nil
}

func (s *Server) listUsers(_ *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	out := []map[string]any{}
	if s.opts.Tenants != nil {
		for _, u := range s.opts.Tenants.Users(c.account.ID) {
			if u.Role == tenant.RoleOperator && !c.key.Operator {
				continue
			}
			out = append(out, userView(u))
		}
	}
	return http.StatusOK, map[string]any{"data": out}, nil
}

func (s *Server) updateUser(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	u, aerr := s.userOf(c, p.ByName("id"))
	if aerr != nil {
		return 0, nil, aerr
	}
	var req struct {
		Lang     string `json:"lang"`
		Password string `json:"password"`
	}
	if aerr := decodeStrict(c.body, &req); aerr != nil {
		return 0, nil, aerr
	}
	if req.Lang != "" && !slices.Contains(tenant.Languages, req.Lang) {
		return 0, nil, invalid("lang", "must be en or id")
	}
	if req.Password != "" && len(req.Password) < tenant.MinPassword {
		return 0, nil, invalid("password", "must be at least %d characters", tenant.MinPassword)
	}
	nu, err := s.opts.Tenants.UpdateUser(r.Context(), u.ID, req.Lang, req.Password)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, userView(nu), nil
}

func (s *Server) deleteUser(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	u, aerr := s.userOf(c, p.ByName("id"))
	if aerr != nil {
		return 0, nil, aerr
	}
	nu, err := s.opts.Tenants.DeleteUser(r.Context(), u.ID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, userView(nu), nil
}

// signOutUser ends every session of a user: the one lost laptop, or the user's own
// "sign out everywhere".
func (s *Server) signOutUser(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	u, aerr := s.userOf(c, p.ByName("id"))
	if aerr != nil {
		return 0, nil, aerr
	}
	if err := s.opts.Tenants.SignOutEverywhere(r.Context(), u.ID); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, userView(u), nil
}
