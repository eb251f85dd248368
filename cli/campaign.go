package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// cmdCampaign runs campaign commands against the running server.
func cmdCampaign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_, rest, err := subcommand("campaign", "kirim campaign watch ID [--config FILE] [--server URL] [--key KEY]", args, "watch")
	if err != nil {
		return err
	}
	fs := newFlags("campaign watch", "kirim campaign watch ID [--config FILE] [--server URL] [--key KEY] [--once]",
		"Follows a campaign until every recipient is settled and its spend is final: a progress line on a terminal, plain lines otherwise.")
	cfgPath := fs.String("config", "", "configuration file; gives the server address and, failing --key, an admin key")
	server := fs.String("server", "", "the running Kirim's API address (default from --config, else http://127.0.0.1:8080)")
	key := fs.String("key", os.Getenv("KIRIM_API_KEY"), "an API key with the campaigns scope (default $KIRIM_API_KEY)")
	every := fs.Duration("every", time.Second, "how often to refresh")
	once := fs.Bool("once", false, "print the progress once and exit")
	settle := fs.Duration("settle", 10*time.Minute, "once the run is over, how long to wait for the last delivery statuses")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef(fs, "campaign watch: give the campaign id")
	}
	if *every <= 0 || *settle < 0 {
		return usagef(fs, "campaign watch: --every must be positive and --settle not negative")
	}
	id := fs.Arg(0)
	base, apiKey, err := serverTarget(*cfgPath, *server, *key, "campaign watch", configCampaignsKey)
	if err != nil {
		return err
	}
	out := newStatusLine(stderr)
	client := &http.Client{Timeout: 30 * time.Second}
	var shown watchCounts
	var overSince time.Time
	for {
		v, err := fetchCampaign(ctx, client, base, apiKey, id)
		if err != nil {
			out.done()
			return err
		}
		shown = shown.max(countsOf(v))
		over, unsettled := v.over(), v.unsettled()
		if over && overSince.IsZero() {
			overSince = time.Now()
		}
		// Done once the run is over and every message has its last status (so the
		// spend is final too), or --settle after the run ended: a phone that is off
		// answers "delivered" days later, if ever.
		waitedOut := over && time.Since(overSince) >= *settle
		if *once || (over && unsettled == 0) || waitedOut {
			out.done()
			line := progressLine(v, shown, 0)
			if over && unsettled > 0 {
				line += fmt.Sprintf("  (%d still awaiting a delivery status)", unsettled)
			}
			fmt.Fprintln(stdout, line)
			return nil
		}
		out.show(func(width int) string { return progressLine(v, shown, width) })
		select {
		case <-ctx.Done():
			out.done()
			return nil
		case <-time.After(*every):
		}
	}
}

// watchedCampaign is the part of GET /v1/campaigns/{id} the progress line shows.
type watchedCampaign struct {
	ID       string           `json:"id"`
	Name     string           `json:"name"`
	State    string           `json:"state"`
	Reason   string           `json:"reason"`
	NextRun  string           `json:"next_run"`
	Progress *watchedProgress `json:"progress"`
}

// watchedProgress is the part of a campaign's progress the line shows.
type watchedProgress struct {
	Run        int                      `json:"run"`
	State      string                   `json:"state"`
	Resolved   bool                     `json:"resolved"`
	Recipients int64                    `json:"recipients"`
	Counts     map[string]int64         `json:"counts"`
	Quoted     struct{ Display string } `json:"quoted"`
	Spend      struct{ Display string } `json:"spend"`
	Rate       float64                  `json:"rate_per_second"`
	ETA        string                   `json:"eta"`
	// Unknown messages were in flight at a crash; they settle by UnknownSettleAt.
	Unknown         int64  `json:"unknown"`
	UnknownSettleAt string `json:"unknown_settle_at"`
}

func fetchCampaign(ctx context.Context, client *http.Client, base, key, id string) (*watchedCampaign, error) {
	var v watchedCampaign
	if err := callServer(ctx, client, http.MethodGet, base+"/v1/campaigns/"+url.PathEscape(id), key, "", nil, http.StatusOK, &v); err != nil {
		return nil, fmt.Errorf("campaign watch: %w", err)
	}
	return &v, nil
}

// watchCounts are the figures the progress line shows. Each is cumulative (a message
// read was also delivered and sent), so a message moving on never makes a figure drop,
// and the watcher keeps the highest value it saw of each.
type watchCounts struct {
	settled, sent, delivered, read, failed int64
}

func countsOf(v *watchedCampaign) watchCounts {
	if v.Progress == nil {
		return watchCounts{}
	}
	c := v.Progress.Counts
	return watchCounts{
		settled:   c["delivered"] + c["read"] + c["failed"] + c["cancelled"],
		sent:      c["sent"] + c["delivered"] + c["read"],
		delivered: c["delivered"] + c["read"],
		read:      c["read"],
		failed:    c["failed"],
	}
}

func (a watchCounts) max(b watchCounts) watchCounts {
	return watchCounts{settled: max(a.settled, b.settled), sent: max(a.sent, b.sent),
		delivered: max(a.delivered, b.delivered), read: max(a.read, b.read), failed: max(a.failed, b.failed)}
}

// over reports whether the campaign's current run has ended: nothing more will be
// handed to the engine.
func (v *watchedCampaign) over() bool {
	switch v.State {
	case "completed", "cancelled":
		return true
	case "scheduled":
		return v.Progress != nil && (v.Progress.State == "completed" || v.Progress.State == "cancelled")
	}
	return false
}

// unsettled counts the run's messages still waiting for their last status: not yet
// with the provider, in flight, or sent and waiting for delivered, read or failed.
func (v *watchedCampaign) unsettled() int64 {
	if v.Progress == nil {
		return 0
	}
	var n int64
	for _, s := range []string{"pending", "queued", "waiting", "dispatching", "unknown", "held", "sent"} {
		n += v.Progress.Counts[s]
	}
	return n
}

// progressLine renders one line of at most width columns (0: no limit): the most
// useful parts first, the rest only where they fit.
func progressLine(v *watchedCampaign, c watchCounts, width int) string {
	p := v.Progress
	state := v.State
	if v.Reason != "" {
		state += " (" + v.Reason + ")"
	}
	if p == nil {
		s := fmt.Sprintf("%s %s: %s, no run yet", v.ID, v.Name, state)
		if v.NextRun != "" {
			s += ", next run " + v.NextRun
		}
		return clip(s, width)
	}
	pct := 0
	if p.Recipients > 0 && p.Resolved {
		pct = int(c.settled * 100 / p.Recipients)
	}
	parts := []string{
		fmt.Sprintf("%3d%% %d/%d", pct, c.settled, p.Recipients),
		state,
	}
	if p.Unknown > 0 {
		// The run cannot complete before these settle: say why it waits, and until when.
		u := fmt.Sprintf("%d unknown after a crash", p.Unknown)
		if at, err := time.Parse(time.RFC3339, p.UnknownSettleAt); err == nil {
			u += ", settled by " + at.Local().Format("15:04:05")
		}
		parts = append(parts, u)
	}
	parts = append(parts,
		fmt.Sprintf("sent %d", c.sent),
		fmt.Sprintf("delivered %d", c.delivered),
		fmt.Sprintf("failed %d", c.failed),
		fmt.Sprintf("spend %s of %s", p.Spend.Display, p.Quoted.Display),
		fmt.Sprintf("read %d", c.read),
		fmt.Sprintf("%.0f/s", p.Rate),
	)
	if p.ETA != "" && !v.over() {
		parts = append(parts, "eta "+p.ETA)
	}
	line := ""
	for _, part := range parts {
		next := part
		if line != "" {
			next = line + "  " + part
		}
		if width > 0 && len(next) > width {
			break
		}
		line = next
	}
	// A bar in front when there is room for a useful one.
	if room := width - len(line) - 3; width == 0 || room >= 10 {
		w := maxBarWidth
		if width > 0 {
			w = min(room, maxBarWidth)
		}
		filled := 0
		if p.Recipients > 0 && p.Resolved {
			filled = int(c.settled * int64(w) / p.Recipients)
		}
		line = "[" + strings.Repeat("#", filled) + strings.Repeat(".", w-filled) + "] " + line
	}
	return clip(line, width)
}

// maxBarWidth is the progress bar's widest.
const maxBarWidth = 30

func clip(s string, width int) string {
	if width > 0 && len(s) > width {
		return s[:width]
	}
	return s
}

// statusLine shows a changing status: redrawn in place, one column short of the
// terminal's width so it never wraps, on a terminal; elsewhere (a pipe, a log file) a
// plain line each time it changes.
type statusLine struct {
	w     io.Writer
	fd    int
	tty   bool
	last  string
	drawn bool
}

func newStatusLine(w io.Writer) *statusLine {
	s := &statusLine{w: w, fd: -1}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		s.fd, s.tty = int(f.Fd()), true
	}
	return s
}

func (s *statusLine) show(render func(width int) string) {
	if !s.tty {
		if line := render(0); line != s.last {
			fmt.Fprintln(s.w, line)
			s.last = line
		}
		return
	}
	width := 80
	if w, _, err := term.GetSize(s.fd); err == nil && w > 0 {
		width = w
	}
	fmt.Fprint(s.w, "\r\033[K"+render(width-1))
	s.drawn = true
}

// keep ends a drawn status line with a newline, leaving it on the screen.
func (s *statusLine) keep() {
	if s.drawn {
		fmt.Fprintln(s.w)
		s.drawn = false
	}
}

// done ends the status line so what follows starts on a clean line.
func (s *statusLine) done() {
	if s.drawn {
		fmt.Fprint(s.w, "\r\033[K")
		s.drawn = false
	}
}
