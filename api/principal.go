package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// Principal is a caller that reaches the API in-process rather than with a key: a
// signed-in console user. The API checks a principal exactly as it checks a key (its
// scopes, its account, the ownership of every record) and audits its calls under its
// name, so the console can do nothing the API would refuse.
type Principal struct {
	// ID names the principal in the audit log ("user:<id>").
	ID, Name string
	// Account is the user's account; "" for an operator, who names the account acted
	// on with ?account= as an operator key does.
	Account  string
	Operator bool
	Scopes   []string
}

// principalKey carries a Principal in a request's context. Only Go code in this
// process can set it: nothing an HTTP client sends reaches it.
type principalKey struct{}

// ServeAs serves r as p would be served with a key of its own.
func (s *Server) ServeAs(w http.ResponseWriter, r *http.Request, p Principal) {
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
	r.Header.Del("Authorization")
	s.Handler().ServeHTTP(w, r)
}

// Account returns the account id as the API knows it (configured or made through the
// API), and whether there is one.
func (s *Server) Account(id string) (Account, bool) {
	a, ok := s.auth.Load().accounts[id]
	return a, ok
}

// Accounts returns every account the API knows, by id.
func (s *Server) Accounts() []Account {
	kr := s.auth.Load()
	out := make([]Account, 0, len(kr.accounts))
	for _, a := range kr.accounts {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Account) int { return strings.Compare(a.ID, b.ID) })
	return out
}
