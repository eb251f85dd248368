package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
)

// The audit log of the account: every administrative action, filtered by action and
// dates (days in the account's timezone), a page at a time.

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{{"GET", "audit", admins, c.auditLog}}
	})
	addWords(map[string]string{
		"audit.title":        "Audit log|Log audit",
		"audit.action":       "Action (exact, or a prefix such as topup.*)|Aksi (persis, atau awalan seperti topup.*)",
		"audit.from":         "From (day)|Dari (tanggal)",
		"audit.to":           "To (day, included)|Sampai (tanggal, termasuk)",
		"audit.filter":       "Filter|Saring",
		"audit.at":           "Time|Waktu",
		"audit.who":          "Who|Siapa",
		"audit.what":         "Action|Aksi",
		"audit.target":       "Target|Sasaran",
		"audit.result":       "Result|Hasil",
		"audit.request":      "Request|Permintaan",
		"audit.operator":     "operator|operator",
		"audit.none":         "No records on this page.|Tidak ada catatan di halaman ini.",
		"audit.next":         "Next page|Halaman berikutnya",
		"audit.first":        "First page|Halaman pertama",
		"audit.order":        "Oldest first; times in %s.|Terlama lebih dulu; waktu dalam %s.",
		"audit.more_note":    "This page stopped early: the next page goes on.|Halaman ini berhenti lebih awal: lanjutkan ke halaman berikutnya.",
		"audit.bad_day":      "is not a day like 2025-01-31|bukan tanggal seperti 2025-01-31",
		"audit.default_note": "The last 7 days are shown; clear the dates to see every record.|Ditampilkan 7 hari terakhir; kosongkan tanggal untuk melihat semua catatan.",
	})
}

// auditDefaultDays is how far back the log opens.
const auditDefaultDays = 7

type auditData struct {
	Records []any
	Form    url.Values
	// Next is the address of the next page, "" at the end; First that of the first.
	Next, First string
	// Short is set when a page holds fewer records than asked but more follow.
	Short bool
	// Defaulted is set when the dates are the page's own choice.
	Defaulted bool
	TZ        string
}

func (c *Console) auditLog(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	in := r.URL.Query()
	form := url.Values{"action": {strings.TrimSpace(in.Get("action"))}, "from": {in.Get("from")}, "to": {in.Get("to")}}
	d := auditData{Form: form, TZ: v.loc.String()}
	if r.URL.RawQuery == "" {
		// A first visit opens on the last days, not on the oldest records of the log.
		today := v.c.clock.Now().In(v.loc)
		form.Set("from", today.AddDate(0, 0, -(auditDefaultDays-1)).Format(time.DateOnly))
		d.Defaulted = true
	}
	q := url.Values{"limit": {"100"}}
	if a := form.Get("action"); a != "" {
		q.Set("action", a)
	}
	for _, f := range []struct {
		field string
		next  int
	}{{"from", 0}, {"to", 1}} {
		raw := strings.TrimSpace(form.Get(f.field))
		if raw == "" {
			continue
		}
		day, err := time.ParseInLocation(time.DateOnly, raw, v.loc)
		if err != nil {
			return v.showForm(w, "audit", v.t("audit.title"), d, badRequest(f.field, v.t("audit.bad_day")))
		}
		// "To" includes its day: the records before the next midnight.
		q.Set(f.field, day.AddDate(0, 0, f.next).Format(time.RFC3339))
	}
	if cur := in.Get("cursor"); cur != "" {
		q.Set("cursor", cur)
		d.First = Prefix + "audit?" + form.Encode()
	}
	page, err := v.get("/v1/audit", q)
	if err != nil {
		if statusOf(err) == http.StatusBadRequest {
			return v.showForm(w, "audit", v.t("audit.title"), d, err)
		}
		return err
	}
	d.Records = list(page["data"])
	if next := str(page["next_cursor"]); next != "" {
		nq := url.Values{"action": {form.Get("action")}, "from": {form.Get("from")}, "to": {form.Get("to")}, "cursor": {next}}
		d.Next = Prefix + "audit?" + nq.Encode()
		d.Short = len(d.Records) < 100
	}
	return v.show(w, "audit", v.t("audit.title"), d)
}
