package api

// streamedBodies names the routes whose handlers read the request body themselves
// (uploads larger than MaxBody).
var streamedBodies = map[string]bool{}

// listRoutes serves contacts lists and imports.
func (s *Server) listRoutes() []route { return nil }
