package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"kirim/api"
)

// dashboardScan bounds the messages read to count today's sends, so the first page
// stays fast on a busy account; past it the counts say "at least".
const dashboardScan = 2000

// spendScan bounds the statement rows read to sum this month's charges, for the same
// reason; past it the sum says "at least". A variable for the tests.
var spendScan = 2000

func init() {
	addWords(map[string]string{"dash.spend_at_least": "at least %s|sedikitnya %s"})
}

type statusCount struct {
	Status string
	Count  string
}

type dashboardData struct {
	NoAccount bool
	Balance   obj
	// Spent is this month's charges, as the API shows money; SpentAtLeast says the
	// month had more entries than were read.
	Spent        string
	SpentAtLeast bool
	Today        []statusCount
	Numbers      []any
	Running      []any
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
		if b != nil {
			if d.Spent, d.SpentAtLeast, err = v.spentSince(v.monthStart(), str(b["currency"])); err != nil {
				return err
			}
		}
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
			if st, _ := x.(obj)["state"].(string); st == "running" || st == "scheduled" || st == "paused" {
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

// spentSince sums the charges (captures of money, not of free credits) since from,
// reading at most spendScan statement rows; atLeast is true when there were more.
func (v *visit) spentSince(from time.Time, currency string) (display string, atLeast bool, err error) {
	var sum int64
	seen, cursor := 0, ""
	for {
		q := url.Values{"from": {from.Format(time.RFC3339)}, "limit": {strconv.Itoa(min(1000, spendScan-seen))}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Data []struct {
				Kind   string `json:"kind"`
				Amount *struct {
					Micros int64 `json:"amount_micros"`
				} `json:"amount"`
				CreditKind string `json:"credit_kind"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		if err := v.call(http.MethodGet, "/v1/statement", q, nil, &page); err != nil {
			return "", false, err
		}
		for _, r := range page.Data {
			if r.Kind == "capture" && r.CreditKind == "" && r.Amount != nil {
				sum += r.Amount.Micros
			}
		}
		seen += len(page.Data)
		cursor = page.NextCursor
		if cursor == "" {
			return api.NewMoney(sum, currency).Display, false, nil
		}
		if seen >= spendScan {
			return api.NewMoney(sum, currency).Display, true, nil
		}
	}
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
