//go:build race

package events

// raceEnabled: the race detector slows the memory test tenfold and its shadow
// memory is not what the test measures.
const raceEnabled = true
