package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/julienschmidt/httprouter"
)

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{
			{"GET", "campaigns", marketing, c.campaigns},
			// One route serves campaigns/new and campaigns/:id: the router cannot hold a
			// static segment and a parameter at the same place.
			{"GET", "campaigns/:id", marketing, c.campaignOrWizard},
			{"POST", "campaigns/:id", marketing, c.campWizardPost},
			{"GET", "campaigns/:id/quote", marketing, c.campQuote},
			{"GET", "campaigns/:id/events", marketing, c.campEvents},
			{"GET", "campaigns/:id/recipients.csv", marketing, c.campRecipientsCSV},
			{"POST", "campaigns/:id/launch", marketing, c.campVerb("launch", "camp.launched")},
			{"POST", "campaigns/:id/pause", marketing, c.campVerb("pause", "camp.paused")},
			{"POST", "campaigns/:id/resume", marketing, c.campVerb("resume", "camp.resumed")},
			{"POST", "campaigns/:id/cancel", marketing, c.campVerb("cancel", "camp.cancelled")},
			{"POST", "campaigns/:id/retry", marketing, c.campVerb("retry", "camp.retried")},
		}
	})
}

// campNoBody is the body of a POST that takes none: an empty JSON object, since an
// in-process request without a body has none to read at all.
var campNoBody = struct{}{}

// campPage is how many campaigns, or recipients, one page lists.
const campPage = "25"

type campaignsData struct {
	Campaigns []campRow
	Next      string
}

// campRow is a campaign of the list with its progress.
type campRow struct {
	C        obj
	Live     campEvent
	Schedule string
}

// campSchedule says when a campaign runs, in words and the account's timezone.
func (v *visit) campSchedule(cp obj) string {
	sc := campObj(cp["schedule"])
	switch {
	case sc == nil:
		return v.t("camp.sched.none")
	case str(sc["cron"]) != "":
		return v.t("camp.sched.cron") + ": " + str(sc["cron"]) + " (" + str(sc["timezone"]) + ")"
	}
	return v.t("camp.sched.once") + " " + (&view{V: v}).When(sc["at"])
}

func (c *Console) campaigns(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	q := url.Values{"limit": {campPage}}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	page, err := v.get("/v1/campaigns", q)
	if err != nil {
		return err
	}
	d := campaignsData{Next: str(page["next_cursor"])}
	for _, x := range list(page["data"]) {
		cp := campObj(x)
		d.Campaigns = append(d.Campaigns, campRow{C: cp, Live: v.campEventOf(cp), Schedule: v.campSchedule(cp)})
	}
	return v.show(w, "campaigns", v.t("camp.title"), d)
}

func (c *Console) campaignOrWizard(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	if p.ByName("id") == "new" {
		return c.campWizardStart(w, r, v)
	}
	return c.campaign(w, r, p, v)
}

// campStatuses are the recipient statuses, in the order a message goes through them.
var campStatuses = []string{"pending", "queued", "waiting", "dispatching", "unknown", "held", "sent", "delivered", "read", "failed", "cancelled"}

type campaignData struct {
	C          obj
	Schedule   string
	Vars       []string
	Live       campEvent
	Lists      []obj
	Runs       []any
	Recipients []any
	Next       string
	Status     string
	Run        string
	Statuses   []string
	CSV        string
	// Can* say which changes the campaign's state allows.
	CanLaunch, CanPause, CanResume, CanCancel, CanRetry bool
}

func (c *Console) campaign(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	id := p.ByName("id")
	path := "/v1/campaigns/" + url.PathEscape(id)
	cp, err := v.get(path, nil)
	if err != nil {
		return err
	}
	in := r.URL.Query()
	d := campaignData{C: cp, Live: v.campEventOf(cp), Schedule: v.campSchedule(cp), Statuses: campStatuses, Status: in.Get("status"), Run: in.Get("run")}
	d.Vars = campVars(cp)
	for _, lid := range list(cp["list_ids"]) {
		l, err := v.get("/v1/lists/"+url.PathEscape(str(lid)), nil)
		if err != nil {
			// A list deleted since is shown by its id.
			l = obj{"id": lid}
		}
		d.Lists = append(d.Lists, l)
	}
	runs, err := v.get(path+"/runs", nil)
	if err != nil {
		return err
	}
	d.Runs = list(runs["data"])
	st := d.Live.State
	d.CanLaunch = st == "draft"
	d.CanPause = st == "running"
	d.CanResume = st == "paused"
	d.CanCancel = slices.Contains([]string{"draft", "scheduled", "running", "paused"}, st)
	d.CanRetry = st != "cancelled" && d.Live.Counts["failed"] > 0
	ferr := v.campRecipients(&d, id, in)
	if ferr != nil {
		// A bad filter in a hand-written address: the page unfiltered, with why.
		if statusOf(ferr) != http.StatusBadRequest {
			return ferr
		}
		d.Status, d.Run = "", ""
		if err := v.campRecipients(&d, id, url.Values{}); err != nil {
			return err
		}
		return v.showForm(w, "campaign", str(cp["name"]), d, ferr)
	}
	return v.show(w, "campaign", str(cp["name"]), d)
}

// campRecipients reads a page of the recipients report by the filters of in, and
// the address of its CSV.
func (v *visit) campRecipients(d *campaignData, id string, in url.Values) error {
	q, csv := url.Values{"limit": {campPage}}, url.Values{}
	for _, k := range []string{"status", "run", "cursor"} {
		if s := in.Get(k); s != "" {
			q.Set(k, s)
			if k != "cursor" {
				csv.Set(k, s)
			}
		}
	}
	rs, err := v.get("/v1/campaigns/"+url.PathEscape(id)+"/recipients", q)
	if err != nil {
		return err
	}
	d.Recipients, d.Next = list(rs["data"]), str(rs["next_cursor"])
	d.CSV = Prefix + "campaigns/" + url.PathEscape(id) + "/recipients.csv"
	if len(csv) > 0 {
		d.CSV += "?" + csv.Encode()
	}
	return nil
}

// Always reports whether a count shows even at zero: the outcomes every campaign has.
func (d campaignData) Always(status string) bool {
	return status == "sent" || status == "delivered" || status == "read" || status == "failed"
}

// campVars says what fills each of the template's variables.
func campVars(cp obj) []string {
	var out []string
	if h := str(cp["header"]); h != "" {
		out = append(out, "header → "+h)
	}
	for i, b := range list(cp["body"]) {
		out = append(out, fmt.Sprintf("{{%d}} → %s", i+1, str(b)))
	}
	for _, b := range list(cp["buttons"]) {
		bo := campObj(b)
		out = append(out, fmt.Sprintf("button %d → %s", int(toF(bo["index"]))+1, str(bo["text"])))
	}
	return out
}

// NextPage is the address of the next page of recipients, keeping the filters.
func (d campaignData) NextPage() string {
	q := url.Values{"cursor": {d.Next}}
	if d.Status != "" {
		q.Set("status", d.Status)
	}
	if d.Run != "" {
		q.Set("run", d.Run)
	}
	return Prefix + "campaigns/" + url.PathEscape(str(d.C["id"])) + "?" + q.Encode() + "#recipients"
}

func (c *Console) campRecipientsCSV(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	path := "/v1/campaigns/" + url.PathEscape(p.ByName("id"))
	// The campaign first, so a wrong id is a page saying so rather than a JSON error.
	if _, err := v.get(path, nil); err != nil {
		return err
	}
	q := url.Values{}
	for _, k := range []string{"status", "run"} {
		if s := r.URL.Query().Get(k); s != "" {
			q.Set(k, s)
		}
	}
	return v.streamAPI(w, http.MethodGet, path+"/recipients", q, nil, "", "text/csv")
}

// campVerb serves a change of a campaign's state: it calls the API's verb and goes
// back to the campaign with a note.
func (c *Console) campVerb(verb, doneKey string) page {
	return func(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
		id := p.ByName("id")
		path := "/v1/campaigns/" + url.PathEscape(id)
		if err := v.call(http.MethodPost, path+"/"+verb, nil, campNoBody, nil); err != nil {
			if verb != "launch" || statusOf(err) == http.StatusNotFound {
				return err
			}
			// A launch refused (the balance, a template paused since): the quote again,
			// with why.
			cp, gerr := v.get(path, nil)
			if gerr != nil {
				return gerr
			}
			d, qerr := v.campQuoteData(cp)
			if qerr != nil {
				return qerr
			}
			return v.showForm(w, "campaign-quote", v.t("camp.quote_title"), d, err)
		}
		return v.redirect(w, Prefix+"campaigns/"+url.PathEscape(id), doneKey)
	}
}

type campQuoteView struct {
	C     obj
	Q     obj
	Steps []campStep
	Step  int
}

// campQuoteData quotes a campaign as it stands.
func (v *visit) campQuoteData(cp obj) (campQuoteView, error) {
	d := campQuoteView{C: cp, Steps: v.campSteps(), Step: 5}
	err := v.call(http.MethodPost, "/v1/campaigns/"+url.PathEscape(str(cp["id"]))+"/quote", nil, campNoBody, &d.Q)
	return d, err
}

// campQuote is the wizard's last step: what the campaign costs, whom it skips and when
// it would end, with the button that launches it.
func (c *Console) campQuote(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	cp, err := v.get("/v1/campaigns/"+url.PathEscape(p.ByName("id")), nil)
	if err != nil {
		return err
	}
	if st := str(cp["state"]); st != "draft" && st != "scheduled" {
		// Launched already: its progress is what there is to see.
		return v.redirect(w, Prefix+"campaigns/"+url.PathEscape(str(cp["id"])), "")
	}
	d, err := v.campQuoteData(cp)
	if err != nil {
		return err
	}
	return v.show(w, "campaign-quote", v.t("camp.quote_title"), d)
}
