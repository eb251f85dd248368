// Package campaign owns campaigns: their audience drawn from lists, the quote before
// launch, the run state, one status row per recipient, and feeding the engine in
// batches. It never sends directly: messages go through the engine.
package campaign

// Service runs campaigns.
type Service struct{}
