package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
)

// The new-campaign wizard is five server-rendered steps: template and number, lists,
// variables with a preview, schedule, then the quote of the campaign it creates. What
// the earlier steps chose travels in hidden fields of each step's form, so every step
// works without a script and nothing is stored before the campaign itself.

// campWizard is the campaign being defined, as the steps' forms carry it.
type campWizard struct {
	// Token names this run of the wizard: with the definition's hash it makes the
	// Idempotency-Key of the create call.
	Token string
	Name  string
	// Template is "number alias|template name|language".
	Template string
	Lists    []string
	// Vars holds each template variable's source ("v.<slot>": "col:<column>" or "=")
	// and fixed value ("f.<slot>").
	Vars url.Values
	// Mode is now, at or cron; At is a local time of the account's timezone.
	Mode, At, Cron string
}

func campWizardOf(f url.Values) *campWizard {
	wz := &campWizard{Token: f.Get("token"), Name: strings.TrimSpace(f.Get("name")), Template: f.Get("template"),
		Lists: f["list_ids"], Vars: url.Values{}, Mode: f.Get("mode"), At: f.Get("at"), Cron: strings.TrimSpace(f.Get("cron"))}
	for k, vs := range f {
		if strings.HasPrefix(k, "v.") || strings.HasPrefix(k, "f.") {
			wz.Vars[k] = vs
		}
	}
	if wz.Token == "" || len(wz.Token) > 64 {
		wz.Token = campToken()
	}
	if wz.Mode != "at" && wz.Mode != "cron" {
		wz.Mode = "now"
	}
	return wz
}

func campToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ref splits Template into the number's alias, the template's name and language.
func (wz *campWizard) ref() (alias, name, lang string, ok bool) {
	parts := strings.Split(wz.Template, "|")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// hidden is a form field a step carries without showing it.
type campHidden struct{ Name, Value string }

// carry lists the fields of every step but step, for its form's hidden inputs.
func (wz *campWizard) carry(step int) []campHidden {
	out := []campHidden{{"token", wz.Token}}
	if step != 1 {
		out = append(out, campHidden{"name", wz.Name}, campHidden{"template", wz.Template})
	}
	if step != 2 {
		for _, l := range wz.Lists {
			out = append(out, campHidden{"list_ids", l})
		}
	}
	if step != 3 {
		for _, k := range slices.Sorted(maps.Keys(wz.Vars)) {
			out = append(out, campHidden{k, wz.Vars.Get(k)})
		}
	}
	if step != 4 {
		out = append(out, campHidden{"mode", wz.Mode}, campHidden{"at", wz.At}, campHidden{"cron", wz.Cron})
	}
	return out
}

// campStep is one step of the wizard as its list of steps shows it.
type campStep struct {
	N     int
	Title string
}

func (v *visit) campSteps() []campStep {
	out := make([]campStep, 5)
	for i := range out {
		out[i] = campStep{i + 1, v.t("camp.step" + strconv.Itoa(i+1))}
	}
	return out
}

// campSlot is one variable of the template and where its value comes from.
type campSlot struct {
	Key   string // header, body.0, button.1: the form's name after "v." and "f."
	Field string // the API's field: header, body[0], buttons[0].text
	Label string
	Src   string // "col:<column>" or "=" (the fixed value)
	Fixed string
	// Index is a button's index in the template.
	Index int
}

// value is what the campaign's definition gets for the slot.
func (s campSlot) value() string {
	if col, ok := strings.CutPrefix(s.Src, "col:"); ok {
		return "{{" + col + "}}"
	}
	return s.Fixed
}

// campTplOption is a template the wizard offers, under its number.
type campTplOption struct {
	Value, Label string
}

type campNumberGroup struct {
	Label     string
	Templates []campTplOption
}

// campWizData is what a step's page shows.
type campWizData struct {
	Step     int
	Steps    []campStep
	W        *campWizard
	Carry    []campHidden
	Numbers  []campNumberGroup
	Excluded int
	AllLists []obj
	Tpl      obj
	Slots    []campSlot
	Columns  []string
	Samples  []campSample
	Timezone string
	Now      string
	Chosen   []obj
}

// campCtx loads what the steps need once per request.
type campCtx struct {
	v       *visit
	wz      *campWizard
	tpl     obj
	lists   []obj
	columns []string
}

func (c *Console) campWizardStart(w http.ResponseWriter, _ *http.Request, v *visit) error {
	wz := campWizardOf(url.Values{})
	return v.campWizShow(w, &campCtx{v: v, wz: wz}, 1, nil)
}

// campWizardPost serves every step's form: "go" names the step asked for; the steps
// before it are checked first, and the first that fails is shown with its error.
// Asking for step 5 creates the campaign and goes to its quote.
func (c *Console) campWizardPost(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	if p.ByName("id") != "new" {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: v.t("error.not_found")}
	}
	if err := r.ParseForm(); err != nil {
		return badRequest("form", "cannot be read")
	}
	wz := campWizardOf(r.PostForm)
	target, _ := strconv.Atoi(r.PostFormValue("go"))
	target = min(max(target, 1), 5)
	x := &campCtx{v: v, wz: wz}
	for step := 1; step < target; step++ {
		if err := x.check(step); err != nil {
			if statusOf(err) >= 500 {
				return err
			}
			return v.campWizShow(w, x, step, err)
		}
	}
	if target < 5 {
		return v.campWizShow(w, x, target, nil)
	}
	id, err := x.create()
	if err != nil {
		var ae *apiError
		if !asAPI(err, &ae) || ae.Status >= 500 {
			return err
		}
		return v.campWizShow(w, x, campStepOf(ae.Field), err)
	}
	return v.redirect(w, Prefix+"campaigns/"+url.PathEscape(id)+"/quote", "camp.created")
}

// campStepOf is the step whose form has an API field.
func campStepOf(f string) int {
	switch {
	case f == "name" || f == "from" || strings.HasPrefix(f, "template"):
		return 1
	case strings.HasPrefix(f, "list_ids") || strings.HasPrefix(f, "filters"):
		return 2
	case f == "header" || strings.HasPrefix(f, "body") || strings.HasPrefix(f, "buttons"):
		return 3
	}
	return 4
}

// check refuses a step's choices, naming the field.
func (x *campCtx) check(step int) error {
	switch step {
	case 1:
		if x.wz.Name == "" {
			return badRequest("name", "is required")
		}
		if x.wz.Template == "" {
			return badRequest("template", "choose an approved template")
		}
		_, err := x.template()
		return err
	case 2:
		if len(x.wz.Lists) == 0 {
			return badRequest("list_ids", "choose at least one list")
		}
		_, err := x.chosenLists()
		return err
	case 3:
		slots, err := x.slots()
		if err != nil {
			return err
		}
		for _, s := range slots {
			col, isCol := strings.CutPrefix(s.Src, "col:")
			if isCol && !slices.Contains(x.columns, col) || !isCol && strings.TrimSpace(s.Fixed) == "" {
				return badRequest(s.Field, "choose a column or give a fixed value")
			}
		}
	case 4:
		_, err := x.schedule()
		return err
	}
	return nil
}

// template reads the chosen template; one that is not approved, or whose header takes
// media (which campaigns do not send), is refused.
func (x *campCtx) template() (obj, error) {
	if x.tpl != nil {
		return x.tpl, nil
	}
	alias, name, lang, ok := x.wz.ref()
	if !ok {
		return nil, badRequest("template", "choose an approved template")
	}
	t, err := x.v.get("/v1/templates/"+url.PathEscape(name), url.Values{"from": {alias}, "language": {lang}})
	if err != nil {
		if statusOf(err) < 500 {
			return nil, badRequest("template", fmt.Sprintf("%q (%s) is not a template of number %q", name, lang, alias))
		}
		return nil, err
	}
	if st := str(t["status"]); st != "APPROVED" {
		return nil, badRequest("template", fmt.Sprintf("%q is %s, not APPROVED", name, st))
	}
	if !campSendable(t) {
		return nil, badRequest("template", fmt.Sprintf("%q has a media or location header, which campaigns do not send", name))
	}
	x.tpl = t
	return t, nil
}

// campSendable reports whether a campaign can send the template: its header, if any,
// is text.
func campSendable(t obj) bool {
	k := str(campObj(campObj(t["params"])["header"])["kind"])
	return k == "" || k == "none" || k == "text"
}

// chosenLists reads the chosen lists and the columns every one of them has.
func (x *campCtx) chosenLists() ([]obj, error) {
	if x.lists != nil {
		return x.lists, nil
	}
	var common []string
	for i, id := range x.wz.Lists {
		l, err := x.v.get("/v1/lists/"+url.PathEscape(id), nil)
		if err != nil {
			if statusOf(err) < 500 {
				return nil, badRequest("list_ids", fmt.Sprintf("no list %q", id))
			}
			return nil, err
		}
		var cols []string
		for _, c := range list(l["columns"]) {
			cols = append(cols, str(c))
		}
		if i == 0 {
			common = cols
		} else {
			common = slices.DeleteFunc(common, func(c string) bool { return !slices.Contains(cols, c) })
		}
		x.lists = append(x.lists, l)
	}
	// name and phone exist for every recipient, whatever the lists' columns.
	x.columns = []string{"name", "phone"}
	for _, c := range common {
		if !slices.Contains(x.columns, c) {
			x.columns = append(x.columns, c)
		}
	}
	return x.lists, nil
}

// slots lists the template's variables with their sources: the form's, or a guess
// for one not chosen yet (a named variable by its column, the first by the name).
func (x *campCtx) slots() ([]campSlot, error) {
	t, err := x.template()
	if err != nil {
		return nil, err
	}
	if _, err := x.chosenLists(); err != nil {
		return nil, err
	}
	params := campObj(t["params"])
	var out []campSlot
	header := campObj(params["header"])
	if str(header["kind"]) == "text" {
		label := "{{1}}"
		if n := str(header["name"]); n != "" {
			label = "{{" + n + "}}"
		}
		out = append(out, campSlot{Key: "header", Field: "header", Label: x.v.t("camp.var_header") + " " + label})
	}
	body := campObj(params["body"])
	names := list(body["names"])
	for i := range int(toF(body["count"])) {
		label := "{{" + strconv.Itoa(i+1) + "}}"
		if i < len(names) {
			label = "{{" + str(names[i]) + "}}"
		}
		out = append(out, campSlot{Key: "body." + strconv.Itoa(i), Field: fmt.Sprintf("body[%d]", i), Label: label})
	}
	nb := 0
	for _, b := range list(params["buttons"]) {
		bo := campObj(b)
		if bo["takes_param"] != true || bo["required"] != true {
			continue
		}
		idx := int(toF(bo["index"]))
		out = append(out, campSlot{Key: "button." + strconv.Itoa(idx), Field: fmt.Sprintf("buttons[%d].text", nb), Index: idx,
			Label: x.v.t("camp.var_button", idx+1)})
		nb++
	}
	extra := x.columns[2:]
	for i := range out {
		s := &out[i]
		s.Src, s.Fixed = x.wz.Vars.Get("v."+s.Key), x.wz.Vars.Get("f."+s.Key)
		if s.Src != "" {
			continue
		}
		name := strings.Trim(s.Label[strings.LastIndex(s.Label, "{{")+2:], "{} ")
		switch {
		case slices.Contains(x.columns, strings.ToLower(name)):
			s.Src = "col:" + strings.ToLower(name)
		case i == 0 && s.Key != "header" && !strings.HasPrefix(s.Key, "button"):
			s.Src = "col:name"
		case len(extra) > 0:
			s.Src, extra = "col:"+extra[0], extra[1:]
		default:
			s.Src = "="
		}
	}
	return out, nil
}

// schedule is the definition's schedule, or nil to launch by hand.
func (x *campCtx) schedule() (map[string]string, error) {
	tz := x.v.loc.String()
	switch x.wz.Mode {
	case "at":
		// A browser sends minutes, or seconds too when the field has a step under 60.
		at, err := time.ParseInLocation("2006-01-02T15:04", x.wz.At, x.v.loc)
		if err != nil {
			at, err = time.ParseInLocation("2006-01-02T15:04:05", x.wz.At, x.v.loc)
		}
		if err != nil {
			return nil, badRequest("schedule.at", "give a date and a time")
		}
		if !at.After(x.v.c.clock.Now()) {
			return nil, badRequest("schedule.at", "is in the past")
		}
		return map[string]string{"at": at.UTC().Format(time.RFC3339), "timezone": tz}, nil
	case "cron":
		if x.wz.Cron == "" {
			return nil, badRequest("schedule.cron", "is required")
		}
		return map[string]string{"cron": x.wz.Cron, "timezone": tz}, nil
	}
	return nil, nil
}

// create makes the campaign: a draft, or scheduled, answered with its id.
func (x *campCtx) create() (string, error) {
	alias, name, lang, _ := x.wz.ref()
	slots, err := x.slots()
	if err != nil {
		return "", err
	}
	sched, err := x.schedule()
	if err != nil {
		return "", err
	}
	body := map[string]any{"name": x.wz.Name, "from": alias, "template": map[string]string{"name": name, "language": lang},
		"list_ids": x.wz.Lists, "body": []string{}}
	var params []string
	var buttons []map[string]any
	for _, s := range slots {
		switch {
		case s.Key == "header":
			body["header"] = s.value()
		case strings.HasPrefix(s.Key, "body."):
			params = append(params, s.value())
		default:
			buttons = append(buttons, map[string]any{"index": s.Index, "text": s.value()})
		}
	}
	if params != nil {
		body["body"] = params
	}
	if buttons != nil {
		body["buttons"] = buttons
	}
	if sched != nil {
		body["schedule"] = sched
	}
	def, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(def)
	var out struct {
		ID string `json:"id"`
	}
	key := "console-campaign-" + x.wz.Token + "-" + hex.EncodeToString(sum[:8])
	if err := x.v.campCallKeyed(http.MethodPost, "/v1/campaigns", key, body, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// campWizShow renders step with what it needs; err, when not nil, is the form's error.
func (v *visit) campWizShow(w http.ResponseWriter, x *campCtx, step int, err error) error {
	d := &campWizData{Step: step, Steps: v.campSteps(), W: x.wz, Carry: x.wz.carry(step), Timezone: v.loc.String(),
		Now: v.c.clock.Now().In(v.loc).Format("2006-01-02T15:04")}
	var lerr error
	switch step {
	case 1:
		lerr = x.loadTemplates(d)
	case 2:
		lerr = x.loadLists(d)
	case 3:
		lerr = x.loadVariables(d)
	case 4:
		d.Tpl, _ = x.template()
		d.Chosen, _ = x.chosenLists()
	}
	if lerr != nil {
		return lerr
	}
	title := v.t("camp.new_title")
	if err != nil {
		return v.showForm(w, "campaign-new", title, d, err)
	}
	return v.show(w, "campaign-new", title, d)
}

// loadTemplates lists the approved templates of each of the account's numbers.
func (x *campCtx) loadTemplates(d *campWizData) error {
	nums, err := x.v.get("/v1/numbers", nil)
	if err != nil {
		return err
	}
	for _, n := range list(nums["data"]) {
		no := campObj(n)
		alias := str(no["alias"])
		g := campNumberGroup{Label: alias + " · " + str(no["phone"])}
		ts, err := x.v.get("/v1/templates", url.Values{"from": {alias}, "status": {"APPROVED"}, "limit": {"500"}})
		if err != nil {
			return err
		}
		for _, t := range list(ts["data"]) {
			to := campObj(t)
			if !campSendable(to) {
				d.Excluded++
				continue
			}
			g.Templates = append(g.Templates, campTplOption{Value: alias + "|" + str(to["name"]) + "|" + str(to["language"]),
				Label: fmt.Sprintf("%s (%s) · %s", str(to["name"]), str(to["language"]), strings.ToLower(str(to["category"])))})
		}
		d.Numbers = append(d.Numbers, g)
	}
	return nil
}

// campListScan bounds the lists the wizard offers.
const campListScan = 20

// loadLists lists the account's lists, at most campListScan pages of them.
func (x *campCtx) loadLists(d *campWizData) error {
	cursor := ""
	for range campListScan {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page, err := x.v.get("/v1/lists", q)
		if err != nil {
			return err
		}
		for _, l := range list(page["data"]) {
			d.AllLists = append(d.AllLists, campObj(l))
		}
		if cursor = str(page["next_cursor"]); cursor == "" {
			break
		}
	}
	return nil
}

// loadVariables reads the template, the lists' columns and three recipients for the
// preview.
func (x *campCtx) loadVariables(d *campWizData) error {
	slots, err := x.slots()
	if err != nil {
		return err
	}
	d.Tpl, d.Slots, d.Columns = x.tpl, slots, x.columns
	d.Chosen = x.lists
	d.Samples, err = x.samples(slots)
	return err
}

// ID is the slot's inputs' id stem.
func (s campSlot) ID() string { return strings.ReplaceAll(s.Key, ".", "-") }

// Chose reports whether the list id is chosen.
func (d *campWizData) Chose(id string) bool { return slices.Contains(d.W.Lists, id) }

// Next and Prev are the steps after and before the one shown.
func (d *campWizData) Next() int { return d.Step + 1 }
func (d *campWizData) Prev() int { return d.Step - 1 }
