package schedule

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var now0 = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string // "" for valid
	}{
		{"once", Spec{At: now0.Add(time.Hour)}, ""},
		{"once with zone for display", Spec{At: now0.Add(time.Hour), Timezone: "Asia/Jakarta"}, ""},
		{"cron default zone", Spec{Cron: "0 9 * * MON"}, ""},
		{"cron in Jakarta", Spec{Cron: "0 9 * * MON", Timezone: "Asia/Jakarta"}, ""},
		{"cron with names and steps", Spec{Cron: "*/15 8-17 * JAN-DEC mon-fri", Timezone: "Europe/Amsterdam"}, ""},
		{"descriptor", Spec{Cron: "@daily", Timezone: "America/New_York"}, ""},
		{"leap day fires within the horizon", Spec{Cron: "0 0 29 2 *"}, ""},

		{"neither", Spec{}, "schedule: set exactly one of at and cron"},
		{"both", Spec{At: now0.Add(time.Hour), Cron: "0 9 * * *"}, "schedule: set exactly one of at and cron"},
		{"zone only", Spec{Timezone: "Asia/Jakarta"}, "schedule: set exactly one of at and cron"},
		{"at in the past", Spec{At: now0.Add(-time.Second)}, "schedule.at: in the past"},
		{"at now", Spec{At: now0}, "schedule.at: in the past"},
		{"at too far", Spec{At: now0.Add(MaxAhead + time.Hour)}, "schedule.at: more than 1830 days ahead"},
		{"unknown zone", Spec{Cron: "0 9 * * *", Timezone: "X"}, `schedule.timezone: unknown time zone "X"`},
		{"unknown zone on once", Spec{At: now0.Add(time.Hour), Timezone: "Mars/Olympus"}, `schedule.timezone: unknown time zone "Mars/Olympus"`},
		{"host zone", Spec{Cron: "0 9 * * *", Timezone: "Local"}, `schedule.timezone: unknown time zone "Local"`},
		{"path in zone", Spec{Cron: "0 9 * * *", Timezone: "../../etc/passwd"}, `schedule.timezone: unknown time zone "../../etc/passwd"`},
		{"long zone", Spec{Cron: "0 9 * * *", Timezone: strings.Repeat("A", MaxTimezoneLen+1)}, "schedule.timezone: longer than 64 characters"},
		{"blank cron", Spec{Cron: "   "}, "schedule.cron: empty expression"},
		{"four fields", Spec{Cron: "0 9 * *"}, "schedule.cron: expected exactly 5 fields, found 4: [0 9 * *]"},
		{"minute out of range", Spec{Cron: "61 9 * * *"}, "schedule.cron: end of range (61) above maximum (59): 61"},
		{"bad weekday", Spec{Cron: "0 9 * * FUNDAY"}, `schedule.cron: failed to parse int from FUNDAY: strconv.Atoi: parsing "FUNDAY": invalid syntax`},
		{"zero step", Spec{Cron: "*/0 9 * * *"}, "schedule.cron: step of range should be a positive number: */0"},
		{"seconds field", Spec{Cron: "0 0 9 * * *"}, "schedule.cron: expected exactly 5 fields, found 6: [0 0 9 * * *]"},
		{"zone in expression", Spec{Cron: "CRON_TZ=Asia/Jakarta 0 9 * * *"}, "schedule.cron: set the zone in schedule.timezone, not in the expression"},
		{"TZ without space", Spec{Cron: "TZ=UTC"}, "schedule.cron: set the zone in schedule.timezone, not in the expression"},
		{"every", Spec{Cron: "@every 1h"}, `schedule.cron: @every is not supported; use a cron expression such as "0 9 * * *"`},
		{"unknown descriptor", Spec{Cron: "@fortnightly"}, "schedule.cron: unrecognized descriptor: @fortnightly"},
		{"never fires", Spec{Cron: "0 0 30 2 *"}, `schedule.cron: "0 0 30 2 *" never fires`},
		{"long cron", Spec{Cron: strings.Repeat("1,", MaxCronLen) + "1 * * * *"}, "schedule.cron: longer than 128 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate(now0)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, ok := tt.spec.Next(now0); !ok {
					t.Fatal("valid spec has no next instant")
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Fatalf("Validate = %q\nwant       %q", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(tt.want, fe.Field+": ") {
				t.Fatalf("error %v is not a FieldError naming its field", err)
			}
		})
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// instants lists the spec's instants in (from, to].
func instants(t *testing.T, s Spec, from, to time.Time) []string {
	t.Helper()
	var out []string
	for at := from; ; {
		n, ok := s.Next(at)
		if !ok || n.After(to) {
			return out
		}
		if !n.After(at) || n.Location() != time.UTC {
			t.Fatalf("Next(%v) = %v: not strictly after, or not UTC", at, n)
		}
		out = append(out, n.Format(time.RFC3339))
		at = n
	}
}

func TestNextWallClock(t *testing.T) {
	tests := []struct {
		name     string
		spec     Spec
		from, to string
		want     []string
	}{
		{
			"Jakarta has no daylight saving: 09:00 WIB is 02:00 UTC",
			Spec{Cron: "0 9 * * *", Timezone: "Asia/Jakarta"}, "2026-12-01T00:00:00Z", "2026-12-03T23:00:00Z",
			[]string{"2026-12-01T02:00:00Z", "2026-12-02T02:00:00Z", "2026-12-03T02:00:00Z"},
		},
		{
			"Amsterdam spring forward: 09:00 local on both sides",
			Spec{Cron: "0 9 * * *", Timezone: "Europe/Amsterdam"}, "2026-03-28T00:00:00Z", "2026-03-30T23:00:00Z",
			[]string{"2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"},
		},
		{
			"New York fall back: 09:00 local on both sides",
			Spec{Cron: "0 9 * * *", Timezone: "America/New_York"}, "2026-10-31T00:00:00Z", "2026-11-02T23:00:00Z",
			[]string{"2026-10-31T13:00:00Z", "2026-11-01T14:00:00Z", "2026-11-02T14:00:00Z"},
		},
		{
			"a time repeated by the fall back runs once, at its first occurrence",
			Spec{Cron: "30 2 * * *", Timezone: "Europe/Amsterdam"}, "2026-10-24T00:00:00Z", "2026-10-26T23:00:00Z",
			[]string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
		},
		{
			"a time inside the spring-forward gap does not run that day",
			Spec{Cron: "30 2 * * *", Timezone: "Europe/Amsterdam"}, "2026-03-28T00:00:00Z", "2026-03-30T23:00:00Z",
			[]string{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"},
		},
		{
			"once: the instant, then nothing",
			Spec{At: utc("2026-12-01T02:00:00Z")}, "2026-11-30T00:00:00Z", "2027-12-31T00:00:00Z",
			[]string{"2026-12-01T02:00:00Z"},
		},
		{
			"once in another offset comes back in UTC",
			Spec{At: time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("WIB", 7*3600))}, "2026-11-30T00:00:00Z", "2027-01-01T00:00:00Z",
			[]string{"2026-12-01T02:00:00Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := instants(t, tt.spec, utc(tt.from), utc(tt.to))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("instants\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestNextOfPastOnceAndInvalid(t *testing.T) {
	if _, ok := (Spec{At: now0}).Next(now0); ok {
		t.Fatal("a once-schedule at `after` has a next instant")
	}
	if _, ok := (Spec{Cron: "bad"}).Next(now0); ok {
		t.Fatal("an invalid cron has a next instant")
	}
	if _, ok := (Spec{}).Next(now0); ok {
		t.Fatal("an empty spec has a next instant")
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Cron: "0 9 * * MON", Timezone: "Asia/Jakarta"}, "every Monday at 09:00 Asia/Jakarta"},
		{Spec{Cron: "0 9 * * *"}, "every day at 09:00 UTC"},
		{Spec{Cron: "30 8 1 * *", Timezone: "Asia/Jakarta"}, "on day 1 of every month at 08:30 Asia/Jakarta"},
		{Spec{Cron: "0 17 * * 1-5", Timezone: "Asia/Jakarta"}, "every weekday at 17:00 Asia/Jakarta"},
		{Spec{Cron: "@daily", Timezone: "Europe/Amsterdam"}, "every day at 00:00 Europe/Amsterdam"},
		{Spec{Cron: "*/15 8-17 * * *", Timezone: "Asia/Jakarta"}, `cron "*/15 8-17 * * *" in Asia/Jakarta`},
		{Spec{Cron: "0 9 1 1 *"}, `cron "0 9 1 1 *" in UTC`},
		{Spec{At: utc("2026-12-01T02:00:00Z")}, "once at 2026-12-01T02:00:00Z"},
		{Spec{At: utc("2026-12-01T02:00:00Z"), Timezone: "Asia/Jakarta"}, "once at 2026-12-01 09:00 Asia/Jakarta"},
		{Spec{}, "never"},
	}
	for _, tt := range tests {
		if got := tt.spec.Describe(); got != tt.want {
			t.Errorf("Describe(%+v) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestSpecJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
	}{
		{`{"at": "2026-12-01T02:00:00Z"}`, Spec{At: utc("2026-12-01T02:00:00Z")}},
		{`{"cron": "0 9 * * MON", "timezone": "Asia/Jakarta"}`, Spec{Cron: "0 9 * * MON", Timezone: "Asia/Jakarta"}},
	}
	for _, tt := range tests {
		var s Spec
		if err := json.Unmarshal([]byte(tt.in), &s); err != nil {
			t.Fatal(err)
		}
		if !s.At.Equal(tt.want.At) || s.Cron != tt.want.Cron || s.Timezone != tt.want.Timezone {
			t.Fatalf("decode %s = %+v", tt.in, s)
		}
		b, _ := json.Marshal(s)
		var back Spec
		if err := json.Unmarshal(b, &back); err != nil || !back.At.Equal(s.At) || back.Cron != s.Cron {
			t.Fatalf("round trip %s: %s %v", tt.in, b, err)
		}
		if tt.want.At.IsZero() && strings.Contains(string(b), `"at"`) {
			t.Fatalf("zero at is encoded: %s", b)
		}
	}
}
