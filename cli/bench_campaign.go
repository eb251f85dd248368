package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"kirim/campaign"
)

const (
	// campaignPoll is how often the campaign phase reads the catalog and the run.
	campaignPoll = 250 * time.Millisecond
	// importCap bounds the list import of the campaign phase.
	importCap = 5 * time.Minute
)

// campaignCap bounds a run of n recipients: a minute, and 5 ms a recipient (a fifth of
// the number's 1,000 msg/s).
func campaignCap(n int) time.Duration { return time.Minute + time.Duration(n)*5*time.Millisecond }

// campaignPhase imports an n-member list through the API, launches a campaign of it on
// one number at 1,000 msg/s and reads Kirim's RSS every rssEvery from the import's start
// until the run completes (or its time cap passes), in a data directory of its own.
func (b *bench) campaignPhase(ctx context.Context, n int) error {
	if n == 0 {
		return nil
	}
	b.progress("campaign: importing %d recipients, then sending them on %s", n, benchNumbers[0])
	return b.inDir(ctx, "campaign-", "", rates(1, fastMPS, 1), func(child *child) error {
		base, key := "http://"+b.apiAddr, benchKey
		if err := waitTemplate(ctx, base, key); err != nil {
			return err
		}
		watch := watchRSS(child.pid(), rssEvery, "import")
		defer watch.end()
		t0 := time.Now()
		listID, err := importMembers(ctx, base, key, n)
		if err != nil {
			return err
		}
		importTook := time.Since(t0)
		watch.next("run")
		id, err := launchCampaign(ctx, base, key, listID)
		if err != nil {
			return err
		}
		t1 := time.Now()
		limit := campaignCap(n)
		incomplete := ""
		var sent int64
		for {
			v, err := fetchCampaign(ctx, http.DefaultClient, base, key, id)
			if err != nil {
				return err
			}
			c := countsOf(v)
			sent = c.sent + c.failed
			if v.State == campaign.StateCompleted {
				break
			}
			if v.State != campaign.StateRunning && v.State != campaign.StateScheduled {
				return fmt.Errorf("bench: the campaign is %s (%s) with %d of %d sent", v.State, v.Reason, sent, n)
			}
			if time.Since(t1) > limit {
				incomplete = fmt.Sprintf("%d of %d sent when its %s cap passed", sent, n, limit)
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(campaignPoll):
			}
		}
		took := time.Since(t1)
		peaks := watch.end()
		r := b.report
		r.section("campaign", fmt.Sprintf("a campaign of %d recipients on one number at %d msg/s, its list imported through the API", n, fastMPS))
		r.add(benchFigure{ID: "rss_campaign_mb", Label: "RSS during the campaign, import and run", Value: float64(max(peaks["import"].total, peaks["run"].total)), Unit: "MB",
			Goal: below(goalRSS), Incomplete: incomplete,
			Note: fmt.Sprintf("import %d MB, run %d MB; anonymous at most %d MB", peaks["import"].total, peaks["run"].total, max(peaks["import"].anon, peaks["run"].anon))})
		r.add(benchFigure{ID: "campaign_per_second", Label: "campaign run, launch to completed", Value: round1(float64(sent) / took.Seconds()), Unit: "msg/s", Digits: 1,
			Incomplete: incomplete, Note: fmt.Sprintf("%d sent in %.1f s; the import took %.1f s", sent, took.Seconds(), importTook.Seconds())})
		return nil
	})
}

// waitTemplate waits until hello_world is in the child's catalog: a campaign needs it.
func waitTemplate(ctx context.Context, base, key string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := callServer(ctx, http.DefaultClient, http.MethodGet, base+"/v1/templates/hello_world?language=en_US", key, "", nil, http.StatusOK, nil)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: hello_world not in the catalog: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(campaignPoll):
		}
	}
}

// memberCSV writes n list members, each with a recipient of their own, as CSV.
func memberCSV(w io.Writer, n int) error {
	var sb strings.Builder
	sb.WriteString("phone,name\r\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "+62813%08d,Pelanggan %d\r\n", i, i)
		if sb.Len() > 64<<10 || i == n-1 {
			if _, err := io.WriteString(w, sb.String()); err != nil {
				return err
			}
			sb.Reset()
		}
	}
	return nil
}

// importMembers uploads n members as a new list and waits for the import; it returns the
// list's id.
func importMembers(ctx context.Context, base, key string, n int) (string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(memberCSV(pw, n)) }()
	up, err := uploadList(ctx, base, key, "bench", "bench.csv", pr)
	pr.Close()
	if err != nil {
		return "", fmt.Errorf("bench: import: %w", err)
	}
	ictx, cancel := context.WithTimeout(ctx, importCap)
	defer cancel()
	im, err := followImport(ictx, base, key, up.ImportID, io.Discard)
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return "", fmt.Errorf("bench: import: not done after %s", importCap)
	case err != nil:
		return "", fmt.Errorf("bench: import: %w", err)
	case im.Imported != int64(n):
		return "", fmt.Errorf("bench: import %s: %d of %d imported (%s)", im.Status, im.Imported, n, im.Error)
	}
	return up.ListID, nil
}

// launchCampaign creates a campaign of the list from the first number, quotes and
// launches it; it returns the campaign's id.
func launchCampaign(ctx context.Context, base, key, listID string) (string, error) {
	body := fmt.Sprintf(`{"name":"bench","template":{"name":"hello_world","language":"en_US"},"from":%q,"list_ids":[%q]}`, benchNumbers[0], listID)
	var created struct {
		ID string `json:"id"`
	}
	if err := callServer(ctx, http.DefaultClient, http.MethodPost, base+"/v1/campaigns", key, "application/json", strings.NewReader(body), http.StatusCreated, &created); err != nil {
		return "", fmt.Errorf("bench: create the campaign: %w", err)
	}
	for _, verb := range []string{"quote", "launch"} {
		if err := callServer(ctx, http.DefaultClient, http.MethodPost, base+"/v1/campaigns/"+url.PathEscape(created.ID)+"/"+verb, key, "", nil, http.StatusOK, nil); err != nil {
			return "", fmt.Errorf("bench: %s the campaign: %w", verb, err)
		}
	}
	return created.ID, nil
}
