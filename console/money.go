package console

import (
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
)

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{
			{"GET", "money", money, c.moneyPage},
			{"GET", "money/statement.csv", money, c.statementCSV},
			{"POST", "money/topups", money, c.requestTopUp},
			// Only an operator moves money in: the API refuses anyone else.
			{"POST", "money/topups/:id/confirm", operators, c.confirmTopUp},
			{"POST", "money/topups/:id/reject", operators, c.rejectTopUp},
		}
	})
	addWords(map[string]string{
		"money.title":              "Money|Saldo",
		"money.available":          "Available|Tersedia",
		"money.held":               "Held for sends|Ditahan untuk kiriman",
		"money.balance":            "Balance|Saldo total",
		"money.free_credits":       "Free credits this month|Kredit gratis bulan ini",
		"money.no_credits":         "None.|Tidak ada.",
		"money.low":                "The available balance is below %s: request a top-up.|Saldo tersedia di bawah %s: minta isi ulang.",
		"money.no_ledger":          "This Kirim keeps no ledger.|Kirim ini tidak menyimpan buku besar.",
		"money.topups":             "Top-ups|Isi ulang saldo",
		"money.requested":          "Requested|Diminta",
		"money.amount":             "Amount|Jumlah",
		"money.reference":          "Reference|Referensi",
		"money.note":               "Note|Catatan",
		"money.status":             "Status|Status",
		"money.resolved":           "Resolved|Diselesaikan",
		"money.topups_none":        "No top-ups yet.|Belum ada isi ulang.",
		"money.older":              "Older top-ups|Isi ulang sebelumnya",
		"money.st.pending":         "pending|menunggu",
		"money.st.confirmed":       "confirmed|dikonfirmasi",
		"money.st.rejected":        "rejected|ditolak",
		"money.confirm":            "Confirm|Konfirmasi",
		"money.confirm_q":          "Confirm this top-up? The money becomes available at once.|Konfirmasi isi ulang ini? Dana langsung tersedia.",
		"money.reject":             "Reject|Tolak",
		"money.reason":             "Reason for a rejection|Alasan penolakan",
		"money.request":            "Request a top-up|Minta isi ulang saldo",
		"money.request_help":       "Transfer the money first; an operator confirms the top-up once it arrives.|Transfer dananya dulu; operator mengonfirmasi isi ulang setelah dana diterima.",
		"money.amount_units":       "Amount, whole %s|Jumlah, %s bulat",
		"money.reference_help":     "Reference (the transfer's; asking again with it is safe)|Referensi (dari transfer; aman diminta ulang dengan referensi ini)",
		"money.submit":             "Request top-up|Minta isi ulang",
		"money.amount_bad":         "a whole number of %s, like 500000, without dots or commas|bilangan bulat %s, misalnya 500000, tanpa titik atau koma",
		"money.topup_requested":    "Top-up requested: an operator confirms it once the transfer arrives.|Isi ulang diminta: operator mengonfirmasi setelah transfer diterima.",
		"money.topup_confirmed":    "Top-up confirmed: the money is available.|Isi ulang dikonfirmasi: dana sudah tersedia.",
		"money.topup_rejected":     "Top-up rejected.|Isi ulang ditolak.",
		"money.statement":          "Statement|Mutasi",
		"money.from":               "From|Dari",
		"money.to":                 "Until (inclusive)|Sampai (termasuk)",
		"money.show":               "Show|Tampilkan",
		"money.csv":                "Download CSV|Unduh CSV",
		"money.at":                 "Time|Waktu",
		"money.kind":               "Entry|Jenis",
		"money.change":             "Available change|Perubahan saldo tersedia",
		"money.after":              "Available after|Tersedia setelahnya",
		"money.held_after":         "Held after|Ditahan setelahnya",
		"money.about":              "About|Keterangan",
		"money.credits":            "%d %s credits|%d kredit %s",
		"money.entries_none":       "No entries in this period.|Tidak ada entri pada periode ini.",
		"money.next":               "Next page|Halaman berikutnya",
		"money.first":              "First page|Halaman pertama",
		"money.kind.topup":         "Top-up|Isi ulang",
		"money.kind.hold":          "Hold|Penahanan",
		"money.kind.capture":       "Charge|Tagihan",
		"money.kind.release":       "Release|Pelepasan",
		"money.kind.credit_grant":  "Credits granted|Kredit diberikan",
		"money.kind.credit_expiry": "Credits expired|Kredit kedaluwarsa",
		"money.kind.adjustment":    "Adjustment|Penyesuaian",
		"money.rates":              "Rates in force|Tarif yang berlaku",
		"money.rates_none":         "No rate card is in force.|Tidak ada kartu tarif yang berlaku.",
		"money.category":           "Category|Kategori",
		"money.market":             "Market|Pasar",
		"money.price_now":          "Next message|Pesan berikutnya",
		"money.month_volume":       "Sent this month|Terkirim bulan ini",
		"money.bands":              "Volume bands|Tingkat volume",
		"money.band_count":         "%d bands|%d tingkat",
		"money.session":            "Session messages|Pesan sesi",
	})
}

// Pages of the money page's lists.
const (
	statementPage = 50
	topUpsPage    = 20
)

type creditCount struct {
	Kind  string
	Count int64
}

type moneyData struct {
	Currency string
	NoLedger bool
	Balance  obj
	Credits  []creditCount
	Rates    rateSummary
	// From and To are the statement's dates as the form shows them (To inclusive);
	// CSV the download of that period.
	From, To   string
	Statement  []any
	Next       string
	Paged      bool
	CSV        string
	TopUps     []any
	TopUpsMore string
	// Form is a refused top-up request, shown again; RejectID the top-up whose
	// rejection was refused.
	Form     url.Values
	RejectID string
	// stmtErr is a refused statement filter, shown by the form.
	stmtErr error
}

func (c *Console) moneyPage(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	d, err := v.moneyData(r.URL.Query())
	if err != nil {
		return err
	}
	if d.stmtErr != nil {
		return v.showForm(w, "money", v.t("money.title"), d, d.stmtErr)
	}
	return v.show(w, "money", v.t("money.title"), d)
}

// moneyData reads what the money page shows; a statement filter the API refuses is
// kept in stmtErr, the rest of the page still shown.
func (v *visit) moneyData(q url.Values) (moneyData, error) {
	d := moneyData{Currency: v.account.Currency}
	b, err := v.get("/v1/balance", nil)
	if statusOf(err) == http.StatusNotFound {
		d.NoLedger = true
		return d, nil
	}
	if err != nil {
		return d, err
	}
	d.Balance = b
	if cur := str(b["currency"]); cur != "" {
		d.Currency = cur
	}
	d.Credits = creditsOf(b["free_credits"])
	if d.Rates, err = v.rateSummary(); err != nil {
		return d, err
	}
	tq := url.Values{"limit": {strconv.Itoa(topUpsPage)}}
	if cur := q.Get("topups"); cur != "" {
		tq.Set("cursor", cur)
	}
	tops, err := v.get("/v1/topups", tq)
	if err != nil {
		return d, err
	}
	d.TopUps = list(tops["data"])
	if next := str(tops["next_cursor"]); next != "" {
		d.TopUpsMore = Prefix + "money?" + url.Values{"topups": {next}}.Encode() + "#topups"
	}
	var aq url.Values
	d.From, d.To, aq = v.statementQuery(q)
	period := url.Values{"from": {d.From}, "to": {d.To}}
	d.CSV = Prefix + "money/statement.csv?" + period.Encode()
	aq.Set("limit", strconv.Itoa(statementPage))
	if cur := q.Get("cursor"); cur != "" {
		aq.Set("cursor", cur)
		d.Paged = true
	}
	st, err := v.get("/v1/statement", aq)
	switch {
	case statusOf(err) == http.StatusBadRequest:
		d.stmtErr = err
	case err != nil:
		return d, err
	default:
		d.Statement = list(st["data"])
		if next := str(st["next_cursor"]); next != "" {
			period.Set("cursor", next)
			d.Next = Prefix + "money?" + period.Encode() + "#statement"
		}
	}
	return d, nil
}

// statementQuery turns the page's period into the API's: from defaults to the first
// day of this month in the account's timezone (an empty from is the whole history),
// and the form's until-date counts whole, so the API's exclusive to is the day after.
func (v *visit) statementQuery(q url.Values) (from, to string, api url.Values) {
	from, to = strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	if !q.Has("from") {
		from = v.monthStart().Format(time.DateOnly)
	}
	api = url.Values{}
	if from != "" {
		api.Set("from", from)
	}
	if to != "" {
		api.Set("to", to)
		if day, err := time.Parse(time.DateOnly, to); err == nil {
			api.Set("to", day.AddDate(0, 0, 1).Format(time.DateOnly))
		}
	}
	return from, to, api
}

// monthStart is midnight of the first day of this month in the account's timezone.
func (v *visit) monthStart() time.Time {
	now := v.c.clock.Now().In(v.loc)
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, v.loc)
}

func creditsOf(m any) []creditCount {
	o, _ := m.(obj)
	out := make([]creditCount, 0, len(o))
	for k, n := range o {
		if f, ok := n.(float64); ok && f > 0 {
			out = append(out, creditCount{Kind: k, Count: int64(f)})
		}
	}
	sortBy(out, func(c creditCount) string { return c.Kind })
	return out
}

// statementCSV passes the period's statement through from the API as CSV.
func (c *Console) statementCSV(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	_, _, aq := v.statementQuery(r.URL.Query())
	return v.stream(w, http.MethodGet, "/v1/statement", aq, nil, "text/csv")
}

// reAmount is a whole amount once the spaces and underscores that group its digits
// are taken out. A dot or comma is refused: in Indonesian "1.000" is a thousand, in
// English one.
var reAmount = regexp.MustCompile(`^[0-9]+$`)

// wholeUnits reads a whole amount of currency into micro-units.
func (v *visit) wholeUnits(field, raw, currency string) (int64, error) {
	s := strings.NewReplacer(" ", "", "_", "", "\u00a0", "").Replace(strings.TrimSpace(raw))
	bad := badRequest(field, v.t("money.amount_bad", currency))
	if !reAmount.MatchString(s) {
		return 0, bad
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > math.MaxInt64/1_000_000 {
		return 0, bad
	}
	return n * 1_000_000, nil
}

func (c *Console) requestTopUp(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	form := url.Values{"amount": {r.PostFormValue("amount")}, "reference": {strings.TrimSpace(r.PostFormValue("reference"))},
		"note": {r.PostFormValue("note")}}
	micros, err := v.wholeUnits("amount", form.Get("amount"), v.account.Currency)
	if err == nil {
		if micros <= 0 {
			err = badRequest("amount", v.t("money.amount_bad", v.account.Currency))
		} else {
			body := map[string]any{"amount_micros": micros, "reference": form.Get("reference"), "note": form.Get("note")}
			err = v.call(http.MethodPost, "/v1/topups", nil, body, nil)
		}
	}
	if err != nil {
		var ae *apiError
		if asAPI(err, &ae) && ae.Field == "amount_micros" {
			ae.Field = "amount"
		}
		return v.moneyFormError(w, form, "", err)
	}
	return v.redirect(w, Prefix+"money", "money.topup_requested")
}

// moneyFormError shows the money page again with a refused form.
func (v *visit) moneyFormError(w http.ResponseWriter, form url.Values, rejectID string, err error) error {
	if statusOf(err) >= 500 {
		return err
	}
	d, lerr := v.moneyData(url.Values{})
	if lerr != nil {
		return lerr
	}
	d.Form, d.RejectID = form, rejectID
	return v.showForm(w, "money", v.t("money.title"), d, err)
}

func (c *Console) confirmTopUp(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	if err := v.call(http.MethodPost, "/v1/topups/"+url.PathEscape(p.ByName("id"))+"/confirm", nil, nil, nil); err != nil {
		return err
	}
	return v.redirect(w, Prefix+"money", "money.topup_confirmed")
}

func (c *Console) rejectTopUp(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	id := p.ByName("id")
	body := map[string]any{"reason": strings.TrimSpace(r.PostFormValue("reason"))}
	if err := v.call(http.MethodPost, "/v1/topups/"+url.PathEscape(id)+"/reject", nil, body, nil); err != nil {
		if statusOf(err) == http.StatusBadRequest {
			return v.moneyFormError(w, url.Values{"reason": {r.PostFormValue("reason")}}, id, err)
		}
		return err
	}
	return v.redirect(w, Prefix+"money", "money.topup_rejected")
}
