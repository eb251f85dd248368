package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"
)

// dashboardScan bounds the messages read to count today's sends, so the first page
// stays fast on a busy account; past it the counts say "at least".
const dashboardScan = 2000

type statusCount struct {
	Status string
	Count  string
}

type dashboardData struct {
	NoAccount bool
	Balance   obj
	Today     []statusCount
	Numbers   []any
	Running   []any
}

func (c *Console) dashboard(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, v *visit) error {
	d := dashboardData{}
	if v.account.ID == "" {
		d.NoAccount = true
		return v.show(w, "dashboard", v.t("dash.title"), d)
	}
	if v.can(money) {
		b, err := v.get("/v1/balance", nil)
		if err != nil && statusOf(err) != http.StatusNotFound {
			return err
		}
		d.Balance = b
	}
	// A role sees the tiles its scopes can read: finance has no numbers or messages.
	nums, err := v.get("/v1/numbers", nil)
	if err != nil && statusOf(err) != http.StatusForbidden {
		return err
	}
	d.Numbers, _ = nums["data"].([]any)
	if d.Today, err = v.sendsToday(); err != nil && statusOf(err) != http.StatusForbidden {
		return err
	}
	if v.can(marketing) {
		cs, err := v.get("/v1/campaigns", url.Values{"limit": {"50"}})
		if err != nil && statusOf(err) != http.StatusNotFound {
			return err
		}
		for _, x := range list(cs["data"]) {
			if st, _ := x.(obj)["status"].(string); st == "running" || st == "scheduled" || st == "paused" {
				d.Running = append(d.Running, x)
			}
		}
	}
	return v.show(w, "dashboard", v.t("dash.title"), d)
}

// sendsToday counts the messages created since midnight in the account's timezone,
// by status, newest first, reading at most dashboardScan of them.
func (v *visit) sendsToday() ([]statusCount, error) {
	now := v.c.clock.Now().In(v.loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, v.loc)
	counts := map[string]int{}
	seen, cursor, more := 0, "", false
	for seen < dashboardScan {
		q := url.Values{"limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page, err := v.get("/v1/messages", q)
		if err != nil {
			return nil, err
		}
		done := false
		for _, x := range list(page["data"]) {
			m, _ := x.(obj)
			at, _ := time.Parse(time.RFC3339Nano, str(m["created_at"]))
			if at.Before(midnight) {
				done = true
				break
			}
			counts[str(m["status"])]++
			seen++
		}
		cursor = str(page["next_cursor"])
		if done || cursor == "" {
			break
		}
		more = seen >= dashboardScan
	}
	out := make([]statusCount, 0, len(counts))
	for st, n := range counts {
		c := strconv.Itoa(n)
		if more {
			c = "≥ " + c
		}
		out = append(out, statusCount{Status: st, Count: c})
	}
	slices.SortFunc(out, func(a, b statusCount) int {
		if a.Status < b.Status {
			return -1
		}
		return 1
	})
	return out, nil
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
