package api

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes proves the document and the router list the same operations.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	inDoc := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			inDoc[strings.ToUpper(m)+" "+p] = true
		}
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	s := &Server{}
	inCode := map[string]bool{
		"GET /healthz": true, "GET /readyz": true, "GET /v1/openapi.json": true,
		"GET /webhook": true, "POST /webhook": true, "GET /v1/admin/backup": true,
		"GET /v1/admin/storage": true, "GET /metrics": true,
	}
	for _, r := range s.apiRoutes() {
		inCode[r.method+" "+param.ReplaceAllString(r.path, "{$1}")] = true
	}
	var missing, extra []string
	for k := range inCode {
		if !inDoc[k] {
			missing = append(missing, k)
		}
	}
	for k := range inDoc {
		if !inCode[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("openapi.json out of date: not documented %v; documented but not routed %v", missing, extra)
	}
}
