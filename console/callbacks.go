package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// Callbacks: the account's endpoints that receive its events (a new or rotated
// secret is shown once), a test event, and the deliveries that failed for good, to
// replay.

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{
			{"GET", "callbacks", admins, c.callbacks},
			{"POST", "callbacks", admins, c.createEndpoint},
			{"GET", "callbacks/:id", admins, c.endpoint},
			{"POST", "callbacks/:id", admins, c.updateEndpoint},
			{"POST", "callbacks/:id/delete", admins, c.deleteEndpoint},
			{"POST", "callbacks/:id/rotate", admins, c.rotateEndpoint},
			{"POST", "callbacks/:id/test", admins, c.testEndpoint},
			{"POST", "callback-deliveries/:id/replay", admins, c.replayDelivery},
		}
	})
	addWords(map[string]string{
		"cb.title":          "Callbacks|Callback",
		"cb.endpoints":      "Endpoints|Endpoint",
		"cb.url":            "URL|URL",
		"cb.events":         "Events|Event",
		"cb.events_hint":    "Comma-separated: event types (message.delivered), families (message.*) or * for every event.|Dipisah koma: jenis event (message.delivered), keluarga (message.*) atau * untuk semua event.",
		"cb.description":    "Description|Keterangan",
		"cb.state":          "State|Keadaan",
		"cb.enabled":        "enabled|aktif",
		"cb.disabled":       "disabled|nonaktif",
		"cb.enable":         "Enabled: events are delivered|Aktif: event dikirim",
		"cb.source_config":  "from the configuration|dari konfigurasi",
		"cb.config_note":    "This endpoint is written in the configuration: change it there and restart.|Endpoint ini ditulis di konfigurasi: ubah di sana lalu mulai ulang.",
		"cb.created":        "Created|Dibuat",
		"cb.none":           "No endpoints yet.|Belum ada endpoint.",
		"cb.new":            "New endpoint|Endpoint baru",
		"cb.create":         "Create endpoint|Buat endpoint",
		"cb.edit":           "Edit|Ubah",
		"cb.save":           "Save|Simpan",
		"cb.delete":         "Delete endpoint|Hapus endpoint",
		"cb.confirm_delete": "Delete this endpoint? Its events stop at once.|Hapus endpoint ini? Event-nya langsung berhenti.",
		"cb.rotate":         "Rotate secret|Ganti secret",
		"cb.confirm_rotate": "Make a new secret? The old one keeps working for a while, so receivers can switch.|Buat secret baru? Secret lama tetap berlaku sebentar, agar penerima sempat beralih.",
		"cb.test":           "Send a test event|Kirim event uji",
		"cb.secret":         "Signing secret|Secret penandatanganan",
		"cb.secret_once":    "Copy the secret now: it is not shown again.|Salin secret sekarang: tidak akan ditampilkan lagi.",
		"cb.endpoint_title": "Endpoint %s|Endpoint %s",
		"cb.created_ok":     "Endpoint created.|Endpoint dibuat.",
		"cb.saved_ok":       "Endpoint saved.|Endpoint disimpan.",
		"cb.deleted_ok":     "Endpoint deleted.|Endpoint dihapus.",
		"cb.rotated_ok":     "New secret made.|Secret baru dibuat.",
		"cb.replayed_ok":    "The delivery is queued again.|Pengiriman dijadwalkan ulang.",
		"cb.test_result":    "Test event: %s, the endpoint answered %d.|Event uji: %s, endpoint menjawab %d.",
		"cb.test_error":     "Error: %s|Galat: %s",
		"cb.failed":         "Failed deliveries|Pengiriman gagal",
		"cb.failed_none":    "No failed deliveries.|Tidak ada pengiriman gagal.",
		"cb.event":          "Event|Event",
		"cb.endpoint":       "Endpoint|Endpoint",
		"cb.attempts":       "Attempts|Percobaan",
		"cb.last":           "Last attempt|Percobaan terakhir",
		"cb.answer":         "Answer|Jawaban",
		"cb.replay":         "Replay|Kirim ulang",
		"cb.more":           "More|Berikutnya",
		"cb.back":           "All endpoints|Semua endpoint",
	})
}

type callbacksData struct {
	Endpoints []any
	Failed    []any
	// Next is the cursor of more failed deliveries.
	Next string
	Form url.Values
}

func (v *visit) callbacksData(cursor string, form url.Values) (callbacksData, error) {
	d := callbacksData{Form: form}
	eps, err := v.get("/v1/callbacks/endpoints", nil)
	if err != nil {
		return d, err
	}
	d.Endpoints = list(eps["data"])
	q := url.Values{"status": {"failed"}, "limit": {"50"}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	ds, err := v.get("/v1/callbacks/deliveries", q)
	if err != nil {
		return d, err
	}
	d.Failed, d.Next = list(ds["data"]), str(ds["next_cursor"])
	return d, nil
}

func (c *Console) callbacks(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	d, err := v.callbacksData(r.URL.Query().Get("cursor"), url.Values{"events": {"message.*"}})
	if err != nil {
		return err
	}
	return v.show(w, "callbacks", v.t("cb.title"), d)
}

// eventList reads the events field: filters separated by commas or spaces.
func eventList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// endpointBody is the API's body for the form; an empty events field is refused
// here, where the form can mark it.
func endpointBody(form url.Values) (map[string]any, error) {
	evs := eventList(form.Get("events"))
	if len(evs) == 0 {
		return nil, badRequest("events", "give at least one event type, a family such as message.*, or *")
	}
	return map[string]any{"url": form.Get("url"), "events": evs, "description": form.Get("description")}, nil
}

func endpointForm(r *http.Request) url.Values {
	return url.Values{"url": {strings.TrimSpace(r.PostFormValue("url"))}, "events": {r.PostFormValue("events")},
		"description": {r.PostFormValue("description")}}
}

func (c *Console) createEndpoint(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	form := endpointForm(r)
	var ep obj
	body, err := endpointBody(form)
	if err == nil {
		err = v.call(http.MethodPost, "/v1/callbacks/endpoints", nil, body, &ep)
	}
	if err != nil {
		d, lerr := v.callbacksData("", form)
		if lerr != nil {
			return lerr
		}
		return v.showForm(w, "callbacks", v.t("cb.title"), d, err)
	}
	// The secret is shown on this answer only: nothing keeps it to show again.
	return v.showEndpoint(w, ep, str(ep["secret"]), "cb.created_ok", nil, nil)
}

type endpointData struct {
	Endpoint obj
	Events   string
	// Secret is a secret just made, shown once.
	Secret string
	// Test is the delivery of a test event just sent.
	Test obj
	Form url.Values
}

// showEndpoint renders an endpoint's page; note is a dictionary key shown as done.
func (v *visit) showEndpoint(w http.ResponseWriter, ep obj, secret, note string, test obj, formErr error) error {
	d := endpointData{Endpoint: ep, Secret: secret, Test: test}
	var evs []string
	for _, e := range list(ep["events"]) {
		evs = append(evs, str(e))
	}
	d.Events = strings.Join(evs, ", ")
	title := v.t("cb.endpoint_title", str(ep["url"]))
	if formErr != nil {
		return v.showForm(w, "callback", title, d, formErr)
	}
	vw := &view{Title: title, Data: d}
	if note != "" {
		vw.Flash = v.t(note)
	}
	v.c.render(w, v, http.StatusOK, "callback", vw)
	return nil
}

func (c *Console) endpoint(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	ep, err := v.get("/v1/callbacks/endpoints/"+url.PathEscape(p.ByName("id")), nil)
	if err != nil {
		return err
	}
	note := ""
	if key := r.URL.Query().Get("done"); known(key) {
		note = key
	}
	return v.showEndpoint(w, ep, "", note, nil, nil)
}

func (c *Console) updateEndpoint(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	id := p.ByName("id")
	form := endpointForm(r)
	body, err := endpointBody(form)
	if err == nil {
		body["disabled"] = r.PostFormValue("enabled") == ""
		err = v.call(http.MethodPatch, "/v1/callbacks/endpoints/"+url.PathEscape(id), nil, body, nil)
	}
	if err != nil {
		ep, gerr := v.get("/v1/callbacks/endpoints/"+url.PathEscape(id), nil)
		if gerr != nil {
			return gerr
		}
		// The page shows what was typed, not what is stored, next to the error.
		ep["url"], ep["description"] = form.Get("url"), form.Get("description")
		ep["events"] = anyList(eventList(form.Get("events")))
		return v.showEndpoint(w, ep, "", "", nil, err)
	}
	return v.redirect(w, Prefix+"callbacks/"+url.PathEscape(id), "cb.saved_ok")
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (c *Console) deleteEndpoint(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	if err := v.call(http.MethodDelete, "/v1/callbacks/endpoints/"+url.PathEscape(p.ByName("id")), nil, nil, nil); err != nil {
		return err
	}
	return v.redirect(w, Prefix+"callbacks", "cb.deleted_ok")
}

func (c *Console) rotateEndpoint(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	var ep obj
	if err := v.call(http.MethodPost, "/v1/callbacks/endpoints/"+url.PathEscape(p.ByName("id"))+"/rotate-secret", nil, nil, &ep); err != nil {
		return err
	}
	return v.showEndpoint(w, ep, str(ep["secret"]), "cb.rotated_ok", nil, nil)
}

func (c *Console) testEndpoint(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	id := p.ByName("id")
	var d obj
	if err := v.call(http.MethodPost, "/v1/callbacks/endpoints/"+url.PathEscape(id)+"/test", nil, nil, &d); err != nil {
		return err
	}
	ep, err := v.get("/v1/callbacks/endpoints/"+url.PathEscape(id), nil)
	if err != nil {
		return err
	}
	return v.showEndpoint(w, ep, "", "", d, nil)
}

func (c *Console) replayDelivery(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	if err := v.call(http.MethodPost, "/v1/callbacks/deliveries/"+url.PathEscape(p.ByName("id"))+"/replay", nil, nil, nil); err != nil {
		return err
	}
	return v.redirect(w, Prefix+"callbacks", "cb.replayed_ok")
}
