package main

// setupCampaigns starts the campaign service.
func (m *Main) setupCampaigns() error { return nil }
