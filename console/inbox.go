package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// The inbox: customers' conversations, the 24 h customer-service window of each, and
// the agent's reply (free text inside the window, an approved template outside it).

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{
			{"GET", "inbox", inbox, c.inboxList},
			{"GET", "inbox/:phone", inbox, c.conversation},
			{"POST", "inbox/:phone/reply", inbox, c.replyText},
			{"POST", "inbox/:phone/template", inbox, c.replyTemplate},
			{"POST", "inbox/:phone/opt-out", inbox, c.contactOptOut},
			{"POST", "inbox/:phone/opt-in", inbox, c.contactOptIn},
			{"GET", "inbox/:phone/media/:id", inbox, c.inboxMedia},
		}
	})
	addWords(map[string]string{
		"inbox.title":         "Inbox|Kotak masuk",
		"inbox.open_phone":    "Open a conversation with|Buka percakapan dengan",
		"inbox.open":          "Open|Buka",
		"inbox.customer":      "Customer|Pelanggan",
		"inbox.number":        "Number|Nomor",
		"inbox.last":          "Last message|Pesan terakhir",
		"inbox.at":            "Received|Diterima",
		"inbox.window":        "Service window|Jendela layanan",
		"inbox.window_open":   "open|terbuka",
		"inbox.window_closed": "closed|tertutup",
		"inbox.closes_in":     "closes in|tutup dalam",
		"inbox.none":          "No customer has written yet.|Belum ada pelanggan yang menulis.",
		"inbox.scan_note":     "Built from the latest %d messages customers sent.|Disusun dari %d pesan terakhir yang dikirim pelanggan.",
		"inbox.opted_out":     "opted out of marketing|berhenti menerima pemasaran",
		"inbox.conv_title":    "Conversation with %s|Percakapan dengan %s",
		"inbox.back":          "All conversations|Semua percakapan",
		"inbox.older":         "Older messages|Pesan lebih lama",
		"inbox.newest":        "Newest messages|Pesan terbaru",
		"inbox.empty":         "No messages with this customer yet.|Belum ada pesan dengan pelanggan ini.",
		"inbox.window_until":  "The customer-service window is open until %s: free-form replies go.|Jendela layanan pelanggan terbuka sampai %s: balasan bebas dapat dikirim.",
		"inbox.window_shut":   "The customer has not written in the last 24 hours: only an approved template may be sent.|Pelanggan tidak menulis dalam 24 jam terakhir: hanya template yang disetujui yang dapat dikirim.",
		"inbox.no_number":     "This account has no number to reply from.|Akun ini tidak punya nomor untuk membalas.",
		"inbox.from":          "Reply from|Balas dari",
		"inbox.reply":         "Reply|Balasan",
		"inbox.send":          "Send|Kirim",
		"inbox.template":      "Template|Template",
		"inbox.template_none": "This number has no approved template.|Nomor ini belum punya template yang disetujui.",
		"inbox.values":        "Template values, one per line|Nilai template, satu per baris",
		"inbox.send_template": "Send template|Kirim template",
		"inbox.reply_sent":    "Reply queued.|Balasan masuk antrean.",
		"inbox.opt_out":       "Opt out of marketing|Berhentikan pemasaran",
		"inbox.opt_in":        "Opt back in to marketing|Ikutkan lagi pemasaran",
		"inbox.opted_out_ok":  "The customer no longer gets marketing templates.|Pelanggan tidak lagi menerima template pemasaran.",
		"inbox.opted_in_ok":   "The customer gets marketing templates again.|Pelanggan kembali menerima template pemasaran.",
		"inbox.opt_state_out": "Opted out of marketing templates; utility and authentication templates still go.|Berhenti menerima template pemasaran; template utilitas dan autentikasi tetap terkirim.",
		"inbox.opt_state_in":  "Receives marketing templates.|Menerima template pemasaran.",
		"inbox.pick":          "Choose a template|Pilih template",
		"inbox.params":        "%d values|%d nilai",
		"inbox.media":         "Download %s|Unduh %s",
		"inbox.kind.text":     "Text message|Pesan teks",
		"inbox.kind.template": "Template %s|Template %s",
		"inbox.kind.image":    "Image|Gambar",
		"inbox.kind.video":    "Video|Video",
		"inbox.kind.audio":    "Voice or audio|Suara atau audio",
		"inbox.kind.document": "Document|Dokumen",
		"inbox.kind.sticker":  "Sticker|Stiker",
		"inbox.kind.location": "Location|Lokasi",
		"inbox.kind.contacts": "Contact card|Kartu kontak",
		"inbox.kind.reaction": "Reaction %s|Reaksi %s",
		"inbox.kind.other":    "%s message|Pesan %s",
		"inbox.reply_to":      "In reply|Membalas",
		"inbox.status":        "Status|Status",
	})
}

// inboxScan bounds the inbound messages read to build the conversation list, so the
// page stays fast on a busy account; inboxShown bounds the conversations listed.
const (
	inboxScan  = 1000
	inboxShown = 100
)

type convRow struct {
	Phone, Name, Number, Summary, At string
	Open                             bool
	Until                            string
	OptedOut                         bool
}

type inboxData struct {
	Rows []convRow
	// Scanned is set when the scan stopped before the oldest message: the list may
	// miss older conversations.
	Scanned int
}

func (c *Console) inboxList(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	if ph := strings.TrimSpace(r.URL.Query().Get("phone")); ph != "" {
		http.Redirect(w, r, Prefix+"inbox/"+url.PathEscape(ph), http.StatusSeeOther)
		return nil
	}
	d := inboxData{}
	seen := map[string]bool{}
	scanned, cursor := 0, ""
	for scanned < inboxScan && len(d.Rows) < inboxShown {
		q := url.Values{"direction": {"inbound"}, "limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page, err := v.get("/v1/messages", q)
		if err != nil {
			return err
		}
		for _, x := range list(page["data"]) {
			m, _ := x.(obj)
			scanned++
			from := str(m["from"])
			if seen[from] || len(d.Rows) >= inboxShown {
				continue
			}
			seen[from] = true
			d.Rows = append(d.Rows, convRow{Phone: from, Name: str(m["name"]), Number: str(m["to"]),
				Summary: v.inboundSummary(m), At: str(m["at"])})
		}
		if cursor = str(page["next_cursor"]); cursor == "" {
			break
		}
	}
	if cursor != "" {
		d.Scanned = scanned
	}
	for i := range d.Rows {
		row := &d.Rows[i]
		ct, err := v.get("/v1/contacts/"+url.PathEscape(row.Phone), nil)
		if err != nil && statusOf(err) >= 500 {
			return err
		}
		if err != nil {
			// One sender the API will not read a contact of does not hide the others;
			// its row shows no open window.
			continue
		}
		row.OptedOut, _ = ct["opted_out"].(bool)
		for _, x := range list(ct["numbers"]) {
			n, _ := x.(obj)
			if str(n["from"]) == row.Number {
				row.Open, _ = n["window_open"].(bool)
				row.Until = str(n["window_open_until"])
				if row.Name == "" {
					row.Name = str(n["name"])
				}
			}
		}
	}
	return v.show(w, "inbox", v.t("inbox.title"), d)
}

// inboundSummary is one line saying what a customer's message holds.
func (v *visit) inboundSummary(m obj) string {
	kind := str(m["type"])
	text := str(m["text"])
	if md, ok := m["media"].(obj); ok {
		text = firstOf(str(md["caption"]), str(md["filename"]))
	}
	if rc, ok := m["reaction"].(obj); ok {
		return v.t("inbox.kind.reaction", str(rc["emoji"]))
	}
	if loc, ok := m["location"].(obj); ok {
		text = firstOf(str(loc["name"]), str(loc["address"]))
	}
	label := v.kindLabel(kind)
	if text == "" {
		return label
	}
	if kind == "text" || kind == "button" || kind == "interactive" {
		return text
	}
	return label + ": " + text
}

func (v *visit) kindLabel(kind string) string {
	switch kind {
	case "text", "image", "video", "audio", "document", "sticker", "location", "contacts":
		return v.t("inbox.kind." + kind)
	}
	return v.t("inbox.kind.other", kind)
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// bubble is one message of a conversation as the page shows it.
type bubble struct {
	ID, Dir, At, Kind, Text, Caption string
	// MediaURL is the console's pass-through of an inbound media file.
	MediaURL, MediaName string
	Status, StatusClass string
	Pending             bool
	Error               string
	Reply               bool
	Contacts            []string
}

type numberWindow struct {
	Alias string
	Open  bool
	Until string
}

type tplOption struct {
	Value, Label string
}

type convData struct {
	Phone, Name string
	OptedOut    bool
	Bubbles     []bubble
	// Older is the cursor of the older messages; Paged is set past the first page.
	Older   string
	Paged   bool
	Numbers []numberWindow
	// From is the number a reply goes from; Open and Until are its window.
	From      string
	Open      bool
	Until     string
	Templates []tplOption
	Form      url.Values
}

// pendingStates are the statuses a message leaves on its own: the page looks again
// soon while one is shown.
var pendingStates = []string{"queued", "waiting", "dispatching", "unknown", "held", "sent"}

func statusClass(st string) string {
	switch st {
	case "delivered", "read":
		return "ok"
	case "failed", "cancelled", "unknown":
		return "bad"
	}
	return "warn"
}

// conversationData reads the conversation with phone (a page of it from cursor) and
// what the reply form needs.
func (v *visit) conversationData(phone, cursor string, form url.Values) (convData, error) {
	d := convData{Form: form, Paged: cursor != ""}
	ct, err := v.get("/v1/contacts/"+url.PathEscape(phone), nil)
	if err != nil {
		return d, err
	}
	d.Phone = str(ct["phone"])
	d.OptedOut, _ = ct["opted_out"].(bool)
	for _, x := range list(ct["numbers"]) {
		n, _ := x.(obj)
		open, _ := n["window_open"].(bool)
		d.Numbers = append(d.Numbers, numberWindow{Alias: str(n["from"]), Open: open, Until: str(n["window_open_until"])})
		if d.Name == "" {
			d.Name = str(n["name"])
		}
	}
	q := url.Values{"limit": {"50"}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	page, err := v.get("/v1/contacts/"+url.PathEscape(d.Phone)+"/messages", q)
	if err != nil {
		return d, err
	}
	d.Older = str(page["next_cursor"])
	lastTo := ""
	for _, x := range list(page["data"]) {
		m, _ := x.(obj)
		b := v.bubbleOf(d.Phone, m)
		if b.Dir == "inbound" && lastTo == "" {
			lastTo = str(m["to"])
			if d.Name == "" {
				d.Name = str(m["name"])
			}
		}
		d.Bubbles = append(d.Bubbles, b)
	}
	// The API answers newest first; a conversation reads from the top down.
	slices.Reverse(d.Bubbles)
	// A reply goes from the number asked for, else the one the customer last wrote
	// to, else one whose window is open, else the first.
	firstOpen, first := "", ""
	for _, n := range d.Numbers {
		if n.Open && firstOpen == "" {
			firstOpen = n.Alias
		}
		first = firstOf(first, n.Alias)
	}
	for _, cand := range []string{form.Get("from"), lastTo, firstOpen, first} {
		if i := slices.IndexFunc(d.Numbers, func(n numberWindow) bool { return n.Alias == cand }); cand != "" && i >= 0 {
			d.From, d.Open, d.Until = cand, d.Numbers[i].Open, d.Numbers[i].Until
			break
		}
	}
	if d.From != "" && !d.Open {
		tpls, err := v.get("/v1/templates", url.Values{"status": {"APPROVED"}, "from": {d.From}})
		if err != nil {
			return d, err
		}
		for _, x := range list(tpls["data"]) {
			t, _ := x.(obj)
			label := str(t["name"]) + " (" + str(t["language"]) + ", " + strings.ToLower(str(t["category"])) + ")"
			if p, ok := t["params"].(obj); ok {
				if body, ok := p["body"].(obj); ok && int(toF(body["count"])) > 0 {
					label += " · " + v.t("inbox.params", int(toF(body["count"])))
				}
			}
			d.Templates = append(d.Templates, tplOption{Value: str(t["name"]) + "|" + str(t["language"]), Label: label})
		}
	}
	return d, nil
}

func (v *visit) bubbleOf(phone string, m obj) bubble {
	b := bubble{ID: str(m["id"]), Dir: str(m["direction"]), Kind: v.kindLabel(str(m["type"]))}
	if b.Dir == "outbound" {
		b.At = str(m["created_at"])
		b.Status = str(m["status"])
		b.StatusClass = statusClass(b.Status)
		b.Pending = slices.Contains(pendingStates, b.Status)
		if t, ok := m["template"].(obj); ok {
			b.Kind = v.t("inbox.kind.template", str(t["name"]))
		}
		if e, ok := m["error"].(obj); ok {
			b.Error = firstOf(str(e["title"]), str(e["detail"]))
			if code := int(toF(e["code"])); code != 0 {
				b.Error += " (" + strconv.Itoa(code) + ")"
			}
		}
		return b
	}
	b.At = str(m["at"])
	b.Text = str(m["text"])
	b.Reply = m["context"] != nil
	if md, ok := m["media"].(obj); ok {
		b.Caption = str(md["caption"])
		b.MediaURL = Prefix + "inbox/" + url.PathEscape(phone) + "/media/" + url.PathEscape(str(md["id"]))
		b.MediaName = firstOf(str(md["filename"]), str(md["mime_type"]), b.Kind)
	}
	if loc, ok := m["location"].(obj); ok {
		b.Text = strings.TrimSpace(firstOf(str(loc["name"]), str(loc["address"])) + " " +
			strconv.FormatFloat(toF(loc["latitude"]), 'f', 5, 64) + ", " + strconv.FormatFloat(toF(loc["longitude"]), 'f', 5, 64))
	}
	if rc, ok := m["reaction"].(obj); ok {
		b.Kind = v.t("inbox.kind.reaction", str(rc["emoji"]))
	}
	for _, x := range list(m["contacts"]) {
		cc, _ := x.(obj)
		if n, ok := cc["name"].(obj); ok {
			b.Contacts = append(b.Contacts, str(n["formatted_name"]))
		}
	}
	return b
}

func (c *Console) conversation(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	q := r.URL.Query()
	d, err := v.conversationData(p.ByName("phone"), q.Get("cursor"), url.Values{"from": {q.Get("from")}})
	if err != nil {
		return err
	}
	// One address per customer: a number typed another way goes to its E.164 page.
	if d.Phone != p.ByName("phone") {
		to := Prefix + "inbox/" + url.PathEscape(d.Phone)
		if r.URL.RawQuery != "" {
			to += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	return v.show(w, "conversation", v.t("inbox.conv_title", d.Phone), d)
}

// convBack re-renders the conversation with a refused form's values and error.
func (v *visit) convBack(w http.ResponseWriter, phone string, form url.Values, cause error) error {
	d, err := v.conversationData(phone, "", form)
	if err != nil {
		return err
	}
	return v.showForm(w, "conversation", v.t("inbox.conv_title", d.Phone), d, cause)
}

func (c *Console) replyText(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	phone := p.ByName("phone")
	form := url.Values{"from": {r.PostFormValue("from")}, "text": {r.PostFormValue("text")}}
	body := map[string]any{"to": phone, "text": map[string]string{"body": r.PostFormValue("text")}}
	if from := r.PostFormValue("from"); from != "" {
		body["from"] = from
	}
	if err := v.call(http.MethodPost, "/v1/messages", nil, body, nil); err != nil {
		return v.convBack(w, phone, form, err)
	}
	return v.redirect(w, Prefix+"inbox/"+url.PathEscape(phone), "inbox.reply_sent")
}

func (c *Console) replyTemplate(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	phone := p.ByName("phone")
	from := r.PostFormValue("from")
	form := url.Values{"from": {from}, "template": {r.PostFormValue("template")}, "values": {r.PostFormValue("values")}}
	name, lang, ok := strings.Cut(r.PostFormValue("template"), "|")
	if !ok || name == "" {
		return v.convBack(w, phone, form, badRequest("template.name", "choose a template"))
	}
	var values []string
	for line := range strings.SplitSeq(strings.ReplaceAll(r.PostFormValue("values"), "\r\n", "\n"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			values = append(values, line)
		}
	}
	tpl := map[string]any{"name": name, "language": lang}
	if len(values) > 0 {
		// A template with named variables takes them by name, in the order it uses them.
		var names []string
		t, err := v.get("/v1/templates/"+url.PathEscape(name), url.Values{"language": {lang}, "from": {from}})
		if err != nil {
			return v.convBack(w, phone, form, err)
		}
		if ps, ok := t["params"].(obj); ok {
			if body, ok := ps["body"].(obj); ok {
				for _, n := range list(body["names"]) {
					names = append(names, str(n))
				}
			}
		}
		if len(names) > 0 {
			named := map[string]string{}
			for i, val := range values {
				if i < len(names) {
					named[names[i]] = val
				}
			}
			tpl["body"] = named
		} else {
			tpl["body"] = values
		}
	}
	body := map[string]any{"to": phone, "template": tpl}
	if from != "" {
		body["from"] = from
	}
	if err := v.call(http.MethodPost, "/v1/messages", nil, body, nil); err != nil {
		return v.convBack(w, phone, form, err)
	}
	return v.redirect(w, Prefix+"inbox/"+url.PathEscape(phone), "inbox.reply_sent")
}

func (c *Console) contactOptOut(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	return v.setOpt(w, p.ByName("phone"), "opt-out", "inbox.opted_out_ok")
}

func (c *Console) contactOptIn(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	return v.setOpt(w, p.ByName("phone"), "opt-in", "inbox.opted_in_ok")
}

func (v *visit) setOpt(w http.ResponseWriter, phone, verb, done string) error {
	var ct obj
	if err := v.call(http.MethodPost, "/v1/contacts/"+url.PathEscape(phone)+"/"+verb, nil, nil, &ct); err != nil {
		return err
	}
	return v.redirect(w, Prefix+"inbox/"+url.PathEscape(firstOf(str(ct["phone"]), phone)), done)
}

func (c *Console) inboxMedia(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	return v.passThrough(w, http.MethodGet, "/v1/media/"+url.PathEscape(p.ByName("id")), nil)
}
