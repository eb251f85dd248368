package api

import (
	_ "embed"
)

// openAPIDocument is served at GET /v1/openapi.json; a test checks it against the
// router, so a route cannot be added or removed without the document following.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the document served at GET /v1/openapi.json.
func OpenAPI() []byte { return openAPIDocument }
