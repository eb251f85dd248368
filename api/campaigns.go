package api

// campaignRoutes serves campaigns.
func (s *Server) campaignRoutes() []route { return nil }
