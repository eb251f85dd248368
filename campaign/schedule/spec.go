package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	// The appliance may run where the host has no zoneinfo (a scratch container, a
	// trimmed VPS image); schedules name IANA zones, so the database ships with the binary
	// and is used only when the system copy is missing.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// Limits on a Spec.
const (
	// MaxCronLen bounds the cron expression; real ones are a few dozen characters.
	MaxCronLen = 128
	// MaxTimezoneLen bounds the zone name; the longest IANA name is about 30 characters.
	MaxTimezoneLen = 64
	// MaxAhead is how far in the future a once-schedule may be set.
	MaxAhead = 5 * 366 * 24 * time.Hour
	// maxNextSteps bounds the retries Next makes past instants it refuses (a wall-clock
	// time repeated by a fall-back); one is enough in practice.
	maxNextSteps = 8
	// maxZoneShift is the largest UTC offset change at one transition looked for when
	// detecting a repeated wall-clock time; real shifts are 30 minutes to 2 hours.
	maxZoneShift = 3 * time.Hour
)

// DefaultTimezone is the zone of a cron Spec that names none.
const DefaultTimezone = "UTC"

// cronParser reads standard five-field expressions and the @daily style descriptors.
// Seconds are not offered: a campaign is never scheduled finer than a minute.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Spec is when a campaign runs: once at At, or on every instant of Cron read on the
// wall clock of Timezone.
type Spec struct {
	At       time.Time `json:"at,omitzero"`
	Cron     string    `json:"cron,omitempty"`
	Timezone string    `json:"timezone,omitempty"` // IANA name; default "UTC" for cron
}

// FieldError is a problem with one field of a Spec. Field is the path the API shows,
// such as "schedule.cron".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Recurring reports whether the spec is a cron schedule.
func (s Spec) Recurring() bool { return s.Cron != "" }

// Validate checks the spec against now: exactly one of at and cron, a known zone, an
// expression that parses and fires at least once, an instant in the future.
func (s Spec) Validate(now time.Time) error {
	hasAt, hasCron := !s.At.IsZero(), s.Cron != ""
	if hasAt == hasCron {
		return fieldErr("schedule", "set exactly one of at and cron")
	}
	loc, err := s.location()
	if err != nil {
		return err
	}
	if hasAt {
		if !s.At.After(now) {
			return fieldErr("schedule.at", "in the past")
		}
		if s.At.After(now.Add(MaxAhead)) {
			return fieldErr("schedule.at", "more than %d days ahead", MaxAhead/(24*time.Hour))
		}
		return nil
	}
	sched, err := parseCron(s.Cron)
	if err != nil {
		return err
	}
	if _, ok := nextInstant(sched, loc, now); !ok {
		return fieldErr("schedule.cron", "%q never fires", s.Cron)
	}
	return nil
}

// Next returns the first instant of the spec strictly after `after`, in UTC, and false
// when there is none: a once-schedule at or before `after`, or an invalid spec.
func (s Spec) Next(after time.Time) (time.Time, bool) {
	if s.Cron == "" {
		if s.At.IsZero() || !s.At.After(after) {
			return time.Time{}, false
		}
		return s.At.UTC(), true
	}
	c, err := s.compile()
	if err != nil {
		return time.Time{}, false
	}
	return c.next(after)
}

// Describe says when the spec runs in words, for lists and logs: "every Monday at
// 09:00 Asia/Jakarta", "once at 2026-12-01 09:00 Asia/Jakarta". Expressions without a
// short wording are shown as they are, with their zone.
func (s Spec) Describe() string {
	zone := s.Timezone
	if zone == "" {
		zone = DefaultTimezone
	}
	if s.Cron == "" {
		if s.At.IsZero() {
			return "never"
		}
		if loc, err := loadZone(zone); err == nil && s.Timezone != "" {
			return "once at " + s.At.In(loc).Format("2006-01-02 15:04") + " " + zone
		}
		return "once at " + s.At.UTC().Format(time.RFC3339)
	}
	if d := describeCron(s.Cron); d != "" {
		return d + " " + zone
	}
	return fmt.Sprintf("cron %q in %s", s.Cron, zone)
}

// compiled is a parsed cron spec and its zone.
type compiled struct {
	sched cron.Schedule
	loc   *time.Location
}

func (c compiled) next(after time.Time) (time.Time, bool) { return nextInstant(c.sched, c.loc, after) }

// compile parses a cron spec; a once-spec compiles to the zero value.
func (s Spec) compile() (compiled, error) {
	loc, err := s.location()
	if err != nil {
		return compiled{}, err
	}
	if s.Cron == "" {
		return compiled{loc: loc}, nil
	}
	sched, err := parseCron(s.Cron)
	if err != nil {
		return compiled{}, err
	}
	return compiled{sched: sched, loc: loc}, nil
}

func (s Spec) location() (*time.Location, error) {
	name := s.Timezone
	if name == "" {
		name = DefaultTimezone
	}
	if len(name) > MaxTimezoneLen {
		return nil, fieldErr("schedule.timezone", "longer than %d characters", MaxTimezoneLen)
	}
	loc, err := loadZone(name)
	if err != nil {
		return nil, fieldErr("schedule.timezone", "unknown time zone %q", name)
	}
	return loc, nil
}

func parseCron(expr string) (cron.Schedule, error) {
	if len(expr) > MaxCronLen {
		return nil, fieldErr("schedule.cron", "longer than %d characters", MaxCronLen)
	}
	trimmed := strings.TrimSpace(expr)
	switch {
	case trimmed == "":
		return nil, fieldErr("schedule.cron", "empty expression")
	case strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ="):
		// One place for the zone: schedule.timezone, which is validated and shown.
		return nil, fieldErr("schedule.cron", "set the zone in schedule.timezone, not in the expression")
	case strings.HasPrefix(trimmed, "@every"):
		// A constant delay counts from whenever the schedule was set, not from the wall
		// clock, so missed runs and restarts would shift it; campaigns use wall-clock times.
		return nil, fieldErr("schedule.cron", "@every is not supported; use a cron expression such as \"0 9 * * *\"")
	}
	sched, err := cronParser.Parse(trimmed)
	if err != nil {
		return nil, fieldErr("schedule.cron", "%v", err)
	}
	return sched, nil
}

// nextInstant evaluates sched on the wall clock of loc. Cron fields name local times,
// so "0 9 * * *" is 09:00 local on both sides of a daylight-saving change. A local time
// the clock shows twice (the repeated hour of a fall-back) runs at its first occurrence
// only: a campaign must not go out twice in one night.
func nextInstant(sched cron.Schedule, loc *time.Location, after time.Time) (time.Time, bool) {
	t := after.In(loc)
	for range maxNextSteps {
		n := sched.Next(t)
		if n.IsZero() {
			return time.Time{}, false
		}
		if !n.After(t) {
			// Not seen in practice; stepping on keeps the "strictly after" promise that the
			// scheduler's never-twice rule leans on.
			t = t.Add(time.Minute)
			continue
		}
		if repeatedWallClock(n) {
			t = n
			continue
		}
		return n.UTC(), true
	}
	return time.Time{}, false
}

// repeatedWallClock reports whether the local time of n was already shown earlier by
// its zone, because the clock was set back shortly before n.
func repeatedWallClock(n time.Time) bool {
	_, off := n.Zone()
	_, before := n.Add(-maxZoneShift).Zone()
	if before <= off {
		return false
	}
	p := n.Add(-time.Duration(before-off) * time.Second)
	py, pm, pd := p.Date()
	ny, nm, nd := n.Date()
	return py == ny && pm == nm && pd == nd && p.Hour() == n.Hour() && p.Minute() == n.Minute()
}

// zones caches loaded locations by name: LoadLocation reads and parses a file on every
// call. Only names that loaded are kept, so the cache is bounded by the zone database.
var zones sync.Map

func loadZone(name string) (*time.Location, error) {
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location), nil
	}
	if name == "Local" {
		// "Local" is whatever the host is set to, not a zone the user chose.
		return nil, fmt.Errorf("schedule: zone %q is not an IANA name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}

var weekdayNames = map[string]string{
	"0": "Sunday", "1": "Monday", "2": "Tuesday", "3": "Wednesday", "4": "Thursday", "5": "Friday", "6": "Saturday",
	"sun": "Sunday", "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday", "sat": "Saturday",
}

var descriptorWords = map[string]string{
	"@yearly": "every year on 1 January at 00:00", "@annually": "every year on 1 January at 00:00",
	"@monthly": "on day 1 of every month at 00:00", "@weekly": "every Sunday at 00:00",
	"@daily": "every day at 00:00", "@midnight": "every day at 00:00", "@hourly": "every hour at minute 0",
}

// describeCron words the common shapes: a fixed time of day on every day, on one
// weekday, on weekdays, or on one day of the month. It returns "" for anything else.
func describeCron(expr string) string {
	expr = strings.TrimSpace(expr)
	if d, ok := descriptorWords[expr]; ok {
		return d
	}
	f := strings.Fields(expr)
	if len(f) != 5 || f[3] != "*" {
		return ""
	}
	minute, err1 := strconv.Atoi(f[0])
	hour, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || minute < 0 || minute > 59 || hour < 0 || hour > 23 {
		return ""
	}
	at := fmt.Sprintf("at %02d:%02d", hour, minute)
	dom, dow := f[2], strings.ToLower(f[4])
	switch {
	case (dom == "*" || dom == "?") && (dow == "*" || dow == "?"):
		return "every day " + at
	case dom == "*" || dom == "?":
		if name, ok := weekdayNames[dow]; ok {
			return "every " + name + " " + at
		}
		if dow == "1-5" || dow == "mon-fri" {
			return "every weekday " + at
		}
	case dow == "*" || dow == "?":
		if d, err := strconv.Atoi(dom); err == nil && d >= 1 && d <= 31 {
			return fmt.Sprintf("on day %d of every month %s", d, at)
		}
	}
	return ""
}
