package api

import (
	"net/http"
	"testing"
)

// TestEveryChangeHasAnAuditRow: each route but a GET names its audit action, or ""
// when it is deliberately not audited, so a new route that changes something cannot be
// left out of the log by forgetting it. A row for no route is stale.
func TestEveryChangeHasAnAuditRow(t *testing.T) {
	s := &Server{}
	routed := map[string]bool{}
	for _, rt := range s.apiRoutes() {
		k := rt.method + " " + rt.path
		routed[k] = true
		if _, ok := auditActions[k]; !ok && rt.method != http.MethodGet {
			t.Errorf("%s has no row in auditActions", k)
		}
	}
	for k := range auditActions {
		if !routed[k] {
			t.Errorf("auditActions names %s, which is not a route", k)
		}
	}
	for k := range instanceRoutes {
		if !routed[k] {
			t.Errorf("instanceRoutes names %s, which is not a route", k)
		}
	}
}
