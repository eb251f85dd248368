package storage

import (
	"testing"
	"time"
)

func TestIDTimeRoundTrip(t *testing.T) {
	for _, at := range []time.Time{time.Date(2026, 12, 4, 3, 0, 0, 123e6, time.UTC), time.UnixMilli(0).UTC(), time.UnixMilli(1<<48 - 1).UTC()} {
		got, ok := IDTime(NewID("whk", at))
		if !ok || !got.Equal(at) {
			t.Fatalf("IDTime(NewID(%v)) = %v %v", at, got, ok)
		}
	}
	for _, bad := range []string{"", "whk_", "whk_0123", "whk_0123456789ABCDEFGHJKMNPQR!"} {
		if _, ok := IDTime(bad); ok {
			t.Fatalf("IDTime(%q) accepted", bad)
		}
	}
}
