package api

import (
	"context"
	"net/http"
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
