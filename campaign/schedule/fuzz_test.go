package schedule

import (
	"testing"
	"time"
)

// FuzzSpec feeds arbitrary cron expressions and zone names, as the API receives them,
// through Validate, Next and Describe: nothing panics, and Validate and Next agree.
func FuzzSpec(f *testing.F) {
	seeds := []struct {
		cron, zone string
		atOffset   int64 // seconds from now; 0 means a cron spec
	}{
		{"0 9 * * MON", "Asia/Jakarta", 0},
		{"0 9 * * *", "Europe/Amsterdam", 0},
		{"30 2 * * *", "Europe/Amsterdam", 0},
		{"30 8 1 * *", "", 0},
		{"*/15 8-17 * JAN-DEC mon-fri", "America/New_York", 0},
		{"0 0 29 2 *", "Australia/Lord_Howe", 0},
		{"0 0 30 2 *", "UTC", 0},
		{"0 0 * * *", "America/Sao_Paulo", 0},
		{"0 0 * * *", "Asia/Tehran", 0},
		{"@daily", "Pacific/Chatham", 0},
		{"@every 1h", "", 0},
		{"TZ=UTC", "", 0},
		{"CRON_TZ=Asia/Jakarta 0 9 * * *", "", 0},
		{"61 9 * * *", "", 0},
		{"1-2-3/0/4 * * * *", "", 0},
		{"? ? ? ? ?", "", 0},
		{"0 9 * * *", "../../etc/passwd", 0},
		{"0 9 * * *", "Local", 0},
		{"", "Asia/Jakarta", 3600},
		{"", "", -60},
		{"0 9 * * *", "", 3600},
	}
	for _, s := range seeds {
		f.Add(s.cron, s.zone, s.atOffset)
	}
	now := time.Date(2026, 11, 30, 7, 13, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, cronExpr, zone string, atOffset int64) {
		spec := Spec{Cron: cronExpr, Timezone: zone}
		if atOffset != 0 {
			// Keep the instant where time arithmetic is exact.
			atOffset %= int64(20 * 365 * 24 * 3600)
			spec.At = now.Add(time.Duration(atOffset) * time.Second)
		}
		err := spec.Validate(now)
		_ = spec.Describe()
		next, ok := spec.Next(now)
		if ok && (!next.After(now) || next.Location() != time.UTC) {
			t.Fatalf("Next(%v) = %v: not strictly after, or not UTC", now, next)
		}
		if err == nil && !ok {
			t.Fatalf("%+v is valid but has no next instant", spec)
		}
		if spec.At.IsZero() && spec.Cron != "" && err != nil && ok {
			t.Fatalf("%+v is invalid (%v) but Next answered %v", spec, err, next)
		}
		if err != nil {
			if _, isField := err.(*FieldError); !isField {
				t.Fatalf("Validate error %T %v does not name its field", err, err)
			}
			return
		}
		// Successive instants keep moving forward.
		at := next
		for range 5 {
			n, ok := spec.Next(at)
			if !ok {
				break
			}
			if !n.After(at) {
				t.Fatalf("Next(%v) = %v: not after", at, n)
			}
			at = n
		}
	})
}
