package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// benchReport is everything one bench run found: the settings, the ceilings and each
// figure with its goal. The text and the JSON are both written from it, so they never
// disagree.
type benchReport struct {
	Settings benchSettings  `json:"settings"`
	Ceilings *benchCeilings `json:"ceilings,omitempty"`
	Sections []benchSection `json:"sections"`
	Figures  []benchFigure  `json:"figures"`
	Targets  int            `json:"targets"`
	Met      int            `json:"targets_met"`
	// Error ends a run that stopped early: the figures before it are kept.
	Error string `json:"error,omitempty"`
}

// benchSettings are the settings a run used.
type benchSettings struct {
	Started       string            `json:"started"` // RFC 3339
	CPUs          int               `json:"cpus"`
	Clients       int               `json:"clients"`
	Accepts       int               `json:"accepts"`
	Sustain       string            `json:"sustain"`
	Window        string            `json:"window"`
	Settle        string            `json:"settle"`
	Webhooks      int               `json:"webhooks"`
	Campaign      int               `json:"campaign"`
	Callbacks     int               `json:"callbacks"`
	Pending       int               `json:"pending"`
	Only          string            `json:"only,omitempty"`
	Small         bool              `json:"small"`
	MemoryLimitMB int               `json:"memory_limit_mb"`
	Storage       map[string]string `json:"storage,omitempty"` // [storage] settings; none: the defaults
	DataDir       string            `json:"data_dir"`
}

// benchCeilings are the machine's own limits, measured in the same run.
type benchCeilings struct {
	LoopbackHTTP float64 `json:"loopback_http_per_second"`
	GroupCommit  float64 `json:"group_commit_writes_per_second"`
}

type benchSection struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// benchGoal is the target a figure is held to. Op is one of ">=", "<", "<=", "=" and
// "within": Value plus or minus Tolerance (a fraction of Value).
type benchGoal struct {
	Op        string  `json:"op"`
	Value     float64 `json:"value"`
	Tolerance float64 `json:"tolerance,omitempty"`
}

// benchFigure is one measured figure. A range (Max set) has Value as its bottom; a
// goal of a range holds for both ends.
type benchFigure struct {
	ID      string             `json:"id"`
	Section string             `json:"section"`
	Label   string             `json:"label"`
	Value   float64            `json:"value"`
	Max     *float64           `json:"max,omitempty"`
	Unit    string             `json:"unit"`
	Goal    *benchGoal         `json:"goal,omitempty"`
	Met     *bool              `json:"met,omitempty"`
	Ratios  map[string]float64 `json:"ratios,omitempty"` // to the ceilings
	Parts   map[string]float64 `json:"parts,omitempty"`  // by number or by key prefix
	Note    string             `json:"note,omitempty"`
	// Incomplete says why the figure does not cover its whole phase (a campaign cut at
	// its time cap): its goal is then not met, whatever the value.
	Incomplete string `json:"incomplete,omitempty"`
	// Digits is the decimals the text shows.
	Digits int `json:"-"`
}

// ratioNames are the ceilings as the text names them.
var ratioNames = map[string]string{"group_commit": "group commit", "loopback_http": "loopback HTTP"}

func atLeast(v float64) *benchGoal     { return &benchGoal{Op: ">=", Value: v} }
func below(v float64) *benchGoal       { return &benchGoal{Op: "<", Value: v} }
func atMost(v float64) *benchGoal      { return &benchGoal{Op: "<=", Value: v} }
func exactly(v float64) *benchGoal     { return &benchGoal{Op: "=", Value: v} }
func within(v, tol float64) *benchGoal { return &benchGoal{Op: "within", Value: v, Tolerance: tol} }

// holds reports whether v meets the goal.
func (g *benchGoal) holds(v float64) bool {
	switch g.Op {
	case ">=":
		return v >= g.Value
	case "<":
		return v < g.Value
	case "<=":
		return v <= g.Value
	case "=":
		return v == g.Value
	case "within":
		return math.Abs(v-g.Value) <= g.Value*g.Tolerance*(1+1e-9)
	}
	return false
}

func (g *benchGoal) String() string {
	if g.Op == "within" {
		return fmt.Sprintf("%s ±%s%%", fmtNumber(g.Value), fmtNumber(g.Tolerance*100))
	}
	return g.Op + " " + fmtNumber(g.Value)
}

// met reports whether the figure meets its goal (both ends of a range).
func (f *benchFigure) met() bool {
	if f.Goal == nil || f.Incomplete != "" {
		return false
	}
	if f.Max != nil && !f.Goal.holds(*f.Max) {
		return false
	}
	return f.Goal.holds(f.Value)
}

// fmtNumber writes a goal's number: whole numbers without decimals.
func fmtNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func (r *benchReport) section(id, title string) {
	if !slices.ContainsFunc(r.Sections, func(s benchSection) bool { return s.ID == id }) {
		r.Sections = append(r.Sections, benchSection{ID: id, Title: title})
	}
}

// add records a figure in the last section opened, deciding whether it met its goal.
func (r *benchReport) add(f benchFigure) {
	if f.Section == "" && len(r.Sections) > 0 {
		f.Section = r.Sections[len(r.Sections)-1].ID
	}
	if f.Goal != nil {
		m := f.met()
		f.Met = &m
		r.Targets++
		if m {
			r.Met++
		}
	}
	r.Figures = append(r.Figures, f)
}

// missed lists the labels of the figures that did not meet their goal.
func (r *benchReport) missed() []string {
	var out []string
	for _, f := range r.Figures {
		if f.Met != nil && !*f.Met {
			out = append(out, f.Label)
		}
	}
	return out
}

func (r *benchReport) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // goals read ">=" and "<"
	return enc.Encode(r)
}

// Text columns: label, value, unit, goal, verdict, then notes.
const (
	labelWidth = 50
	valueWidth = 12
	unitWidth  = 9
	goalWidth  = 14
)

func (r *benchReport) writeText(w io.Writer) error {
	var sb strings.Builder
	s := r.Settings
	fmt.Fprintf(&sb, "kirim bench: %d clients, %d CPUs, data in %s\n", s.Clients, s.CPUs, s.DataDir)
	fmt.Fprintf(&sb, "  accepts %d, sustain %s, window %s, webhooks %d, campaign %d, callbacks %d", s.Accepts, s.Sustain, s.Window, s.Webhooks, s.Campaign, s.Callbacks)
	if s.Pending > 0 {
		fmt.Fprintf(&sb, ", pending %d", s.Pending)
	}
	if s.Only != "" {
		fmt.Fprintf(&sb, ", only %s", s.Only)
	}
	if s.MemoryLimitMB > 0 {
		fmt.Fprintf(&sb, ", memory limit %d MB", s.MemoryLimitMB)
	}
	if len(s.Storage) > 0 {
		keys := make([]string, 0, len(s.Storage))
		for k := range s.Storage {
			keys = append(keys, k+"="+s.Storage[k])
		}
		sort.Strings(keys)
		fmt.Fprintf(&sb, ", storage %s", strings.Join(keys, " "))
	}
	sb.WriteString("\n\n")
	if c := r.Ceilings; c != nil {
		sb.WriteString("ceilings (same run)\n")
		fmt.Fprintf(&sb, "  %-*s %*.0f %s\n", labelWidth, "bare loopback HTTP round trip", valueWidth, c.LoopbackHTTP, "req/s")
		fmt.Fprintf(&sb, "  %-*s %*.0f %s\n\n", labelWidth, "Badger synced writes, group commit", valueWidth, c.GroupCommit, "writes/s")
	}
	for _, sec := range r.Sections {
		sb.WriteString(sec.Title)
		sb.WriteString("\n")
		for i := range r.Figures {
			if f := &r.Figures[i]; f.Section == sec.ID {
				sb.WriteString(f.line())
			}
		}
		sb.WriteString("\n")
	}
	if r.Error != "" {
		fmt.Fprintf(&sb, "stopped early: %s\n", r.Error)
	}
	fmt.Fprintf(&sb, "targets met: %d of %d", r.Met, r.Targets)
	if m := r.missed(); len(m) > 0 {
		fmt.Fprintf(&sb, " (NOT MET: %s)", strings.Join(m, "; "))
	}
	sb.WriteString("\n")
	_, err := io.WriteString(w, sb.String())
	return err
}

// line is the figure's text line: label, value and unit, goal and verdict, notes.
func (f *benchFigure) line() string {
	value := strconv.FormatFloat(f.Value, 'f', f.Digits, 64)
	if f.Max != nil {
		value += "-" + strconv.FormatFloat(*f.Max, 'f', f.Digits, 64)
	}
	goal, verdict := "", ""
	if f.Goal != nil {
		goal = f.Goal.String()
		verdict = "NOT MET"
		if f.Met != nil && *f.Met {
			verdict = "met"
		}
	}
	var notes []string
	if len(f.Ratios) > 0 {
		keys := make([]string, 0, len(f.Ratios))
		for k := range f.Ratios {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var rs []string
		for _, k := range keys {
			name := ratioNames[k]
			if name == "" {
				name = k
			}
			rs = append(rs, fmt.Sprintf("%.2f of %s", f.Ratios[k], name))
		}
		notes = append(notes, strings.Join(rs, ", "))
	}
	if f.Note != "" {
		notes = append(notes, f.Note)
	}
	if f.Incomplete != "" {
		notes = append(notes, "incomplete: "+f.Incomplete)
	}
	line := fmt.Sprintf("  %-*s %*s %-*s %-*s %-7s", labelWidth, f.Label, valueWidth, value, unitWidth, f.Unit, goalWidth, goal, verdict)
	if len(notes) > 0 {
		line += " " + strings.Join(notes, "; ")
	}
	return strings.TrimRight(line, " ") + "\n"
}

// bytesPerMessage turns bytes written by key prefix into a figure's value and parts:
// bytes per message, in total and by prefix.
func bytesPerMessage(written map[string]int64, n int) (float64, map[string]float64) {
	if n == 0 {
		return 0, nil
	}
	var total int64
	parts := make(map[string]float64, len(written))
	for p, v := range written {
		if v <= 0 {
			continue
		}
		total += v
		if per := math.Round(float64(v) / float64(n)); per > 0 {
			parts[p] = per
		}
	}
	return math.Round(float64(total) / float64(n)), parts
}

// topParts writes the largest parts, as "prefix value, ...".
func topParts(parts map[string]float64, n int) string {
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if parts[keys[i]] != parts[keys[j]] {
			return parts[keys[i]] > parts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var out []string
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, fmt.Sprintf("%s %.0f", k, parts[k]))
	}
	return strings.Join(out, ", ")
}
