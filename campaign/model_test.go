package campaign

import (
	"maps"
	"strings"
	"testing"
)

func TestCountsRecord(t *testing.T) {
	tests := []struct {
		name   string
		counts map[string]int64
		spend  int64
		err    string
	}{
		{name: "empty", counts: map[string]int64{}},
		{name: "every status", counts: map[string]int64{"pending": 1, "queued": 2, "waiting": 3, "dispatching": 4,
			"unknown": 5, "held": 6, "sent": 7, "delivered": 8, "read": 9, "failed": 10, "cancelled": 11}, spend: 514_000_000},
		{name: "a million and a negative spend", counts: map[string]int64{"read": 1_000_000}, spend: -3},
		{name: "unknown status", counts: map[string]int64{"bounced": 1}, err: `no count for status "bounced"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeCounts(tt.counts, tt.spend)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			counts, spend, err := decodeCounts(b)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(counts, tt.counts) || spend != tt.spend {
				t.Fatalf("decoded %v %d, want %v %d", counts, spend, tt.counts, tt.spend)
			}
			if _, _, err := decodeCounts(b[:len(b)-1]); err == nil {
				t.Fatal("a truncated record decoded")
			}
		})
	}
}
