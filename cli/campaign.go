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
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef(fs, "campaign watch: give the campaign id")
	}
	id := fs.Arg(0)
	base, apiKey, err := serverTarget(*cfgPath, *server, *key, "campaign watch", configCampaignsKey)
	if err != nil {
		return err
	}
	tty := isTerminal(stderr)
	client := &http.Client{Timeout: 30 * time.Second}
	for {
		v, err := fetchCampaign(ctx, client, base, apiKey, id)
		if err != nil {
			return err
		}
		line := progressLine(v)
		final := v.State == "completed" || v.State == "cancelled" || (v.State == "scheduled" && v.Progress != nil && v.Progress.State == "completed")
		switch {
		case *once || final:
			if tty {
				fmt.Fprint(stderr, "\r\033[K")
			}
			fmt.Fprintln(stdout, line)
			return nil
		case tty:
			fmt.Fprint(stderr, "\r\033[K"+line)
		default:
			fmt.Fprintln(stderr, line)
		}
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(stderr)
			}
			return nil
		case <-time.After(*every):
		}
	}
}

// watchedCampaign is the part of GET /v1/campaigns/{id} the progress line shows.
type watchedCampaign struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Reason   string `json:"reason"`
	NextRun  string `json:"next_run"`
	Progress *struct {
		Run        int                      `json:"run"`
		State      string                   `json:"state"`
		Resolved   bool                     `json:"resolved"`
		Recipients int64                    `json:"recipients"`
		Counts     map[string]int64         `json:"counts"`
		Quoted     struct{ Display string } `json:"quoted"`
		Spend      struct{ Display string } `json:"spend"`
		Rate       float64                  `json:"rate_per_second"`
		ETA        string                   `json:"eta"`
	} `json:"progress"`
}

func fetchCampaign(ctx context.Context, client *http.Client, base, key, id string) (*watchedCampaign, error) {
	var v watchedCampaign
	if err := callServer(ctx, client, http.MethodGet, base+"/v1/campaigns/"+url.PathEscape(id), key, "", nil, http.StatusOK, &v); err != nil {
		return nil, fmt.Errorf("campaign watch: %w", err)
	}
	return &v, nil
}

// barWidth is the progress bar's width in characters.
const barWidth = 30

// progressLine renders one line: a bar of the recipients done, the counts that
// matter, spend against the quote, the rate and the ETA.
func progressLine(v *watchedCampaign) string {
	p := v.Progress
	if p == nil {
		s := fmt.Sprintf("%s %s: %s, no run yet", v.ID, v.Name, v.State)
		if v.NextRun != "" {
			s += ", next run " + v.NextRun
		}
		return s
	}
	c := p.Counts
	done := c["sent"] + c["delivered"] + c["read"] + c["failed"] + c["held"] + c["cancelled"]
	frac := 0.0
	if p.Recipients > 0 {
		frac = float64(done) / float64(p.Recipients)
	}
	if !p.Resolved {
		frac = 0
	}
	filled := int(frac * barWidth)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", barWidth-filled)
	s := fmt.Sprintf("[%s] %3.0f%% %d/%d  queued %d  sent %d  delivered %d  read %d  failed %d  spend %s of %s  %.0f/s",
		bar, frac*100, done, p.Recipients, c["queued"]+c["waiting"]+c["dispatching"]+c["pending"]+c["unknown"],
		c["sent"], c["delivered"], c["read"], c["failed"], p.Spend.Display, p.Quoted.Display, p.Rate)
	if p.ETA != "" {
		s += "  eta " + p.ETA
	}
	s += "  " + v.State
	if v.Reason != "" {
		s += " (" + v.Reason + ")"
	}
	return s
}

// isTerminal reports whether w is a character device (a progress bar redraws in
// place there; elsewhere each refresh is a line).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
