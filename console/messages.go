package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/julienschmidt/httprouter"

	"kirim/tenant"
)

// senders are the roles whose scopes send and cancel messages.
var senders = []string{tenant.RoleAdmin, tenant.RoleMarketer, tenant.RoleAgent}

// messageStatuses are the statuses a message can have, in the order they happen.
var messageStatuses = []string{"queued", "waiting", "dispatching", "unknown", "held", "sent", "delivered", "read", "failed", "cancelled"}

// messagesPage is how many messages a page of the list shows.
const messagesPage = 50

func init() {
	funcs["msgBadge"] = badgeOf
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{
			{"GET", "messages", anyone, c.messages},
			{"GET", "messages/:id", anyone, c.message},
			{"POST", "messages/:id/cancel", senders, c.cancelMessage},
		}
	})
	addWords(map[string]string{
		"msg.title":          "Messages|Pesan",
		"msg.detail":         "Message %s|Pesan %s",
		"msg.one":            "Message|Pesan",
		"msg.status":         "Status|Status",
		"msg.any_status":     "Any status|Semua status",
		"msg.to":             "Recipient|Penerima",
		"msg.to_hint":        "Phone, e.g. 0812 3456 7890|Nomor, mis. 0812 3456 7890",
		"msg.campaign":       "Campaign id|ID kampanye",
		"msg.filter":         "Search|Cari",
		"msg.clear":          "Clear|Hapus filter",
		"msg.created":        "Created|Dibuat",
		"msg.from":           "From number|Dari nomor",
		"msg.what":           "Template or type|Template atau jenis",
		"msg.category":       "Category|Kategori",
		"msg.price":          "Price|Harga",
		"msg.charged":        "Charged|Ditagih",
		"msg.none":           "No messages match.|Tidak ada pesan yang cocok.",
		"msg.next":           "Next page|Halaman berikutnya",
		"msg.first":          "First page|Halaman pertama",
		"msg.no_scope":       "Your role does not read messages: that needs an admin, marketer or agent.|Peran Anda tidak dapat membaca pesan: perlu admin, pemasar, atau agen.",
		"msg.back":           "All messages|Semua pesan",
		"msg.history":        "Status history|Riwayat status",
		"msg.error":          "Error|Galat",
		"msg.template":       "Template|Template",
		"msg.type":           "Type|Jenis",
		"msg.wamid":          "WhatsApp message id|ID pesan WhatsApp",
		"msg.attempts":       "Attempts|Percobaan",
		"msg.waiting":        "Waiting because|Menunggu karena",
		"msg.eta":            "Expected to go|Perkiraan terkirim",
		"msg.callback_data":  "Callback data|Data callback",
		"msg.updated":        "Updated|Diperbarui",
		"msg.cancel":         "Cancel this message|Batalkan pesan ini",
		"msg.cancel_q":       "Cancel this message? It will not be sent, and its hold is released.|Batalkan pesan ini? Pesan tidak akan dikirim dan dana yang ditahan dilepas.",
		"msg.cancel_help":    "A queued or waiting message can still be cancelled.|Pesan yang masih antre atau menunggu masih bisa dibatalkan.",
		"msg.cancelled_ok":   "Message cancelled.|Pesan dibatalkan.",
		"msg.st.queued":      "queued|antre",
		"msg.st.waiting":     "waiting|menunggu",
		"msg.st.dispatching": "dispatching|sedang dikirim",
		"msg.st.unknown":     "unknown|tidak diketahui",
		"msg.st.held":        "held|ditahan",
		"msg.st.sent":        "sent|terkirim",
		"msg.st.delivered":   "delivered|sampai",
		"msg.st.read":        "read|dibaca",
		"msg.st.failed":      "failed|gagal",
		"msg.st.cancelled":   "cancelled|dibatalkan",
	})
}

type messagesData struct {
	NoScope  bool
	Statuses []string
	Filter   url.Values
	Messages []any
	Next     string
	// First is the first page of the same search, once past it.
	First string
}

// messages lists the account's outbound messages, newest first, filtered by status,
// recipient and campaign, a page at a time.
func (c *Console) messages(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	in := r.URL.Query()
	f := url.Values{}
	for _, k := range []string{"status", "to", "campaign_id"} {
		if s := strings.TrimSpace(in.Get(k)); s != "" {
			f.Set(k, s)
		}
	}
	d := messagesData{Statuses: messageStatuses, Filter: f}
	q := url.Values{"limit": {itoa(messagesPage)}}
	for k := range f {
		q.Set(k, f.Get(k))
	}
	if cur := in.Get("cursor"); cur != "" {
		q.Set("cursor", cur)
		d.First = Prefix + "messages"
		if len(f) > 0 {
			d.First += "?" + f.Encode()
		}
	}
	page, err := v.get("/v1/messages", q)
	switch {
	case statusOf(err) == http.StatusForbidden:
		d.NoScope = true
	case statusOf(err) == http.StatusBadRequest:
		return v.showForm(w, "messages", v.t("msg.title"), d, err)
	case err != nil:
		return err
	default:
		d.Messages = list(page["data"])
		if next := str(page["next_cursor"]); next != "" {
			nq := url.Values{"cursor": {next}}
			for k := range f {
				nq.Set(k, f.Get(k))
			}
			d.Next = Prefix + "messages?" + nq.Encode()
		}
	}
	return v.show(w, "messages", v.t("msg.title"), d)
}

type messageData struct {
	ID        string
	NoScope   bool
	Message   obj
	CanCancel bool
}

func (c *Console) message(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	d, err := v.messageData(p.ByName("id"))
	if err != nil {
		return err
	}
	return v.show(w, "message", v.t("msg.detail", p.ByName("id")), d)
}

func (v *visit) messageData(id string) (messageData, error) {
	m, err := v.get("/v1/messages/"+url.PathEscape(id), nil)
	if statusOf(err) == http.StatusForbidden && !v.can(senders) {
		return messageData{ID: id, NoScope: true}, nil
	}
	if err != nil {
		return messageData{}, err
	}
	st := str(m["status"])
	return messageData{ID: id, Message: m, CanCancel: v.can(senders) && (st == "queued" || st == "waiting")}, nil
}

func (c *Console) cancelMessage(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	id := p.ByName("id")
	if err := v.call(http.MethodPost, "/v1/messages/"+url.PathEscape(id)+"/cancel", nil, nil, nil); err != nil {
		// Too late to cancel: show the message as it is now, and why.
		if statusOf(err) == http.StatusConflict {
			d, lerr := v.messageData(id)
			if lerr != nil {
				return lerr
			}
			return v.showForm(w, "message", v.t("msg.detail", id), d, err)
		}
		return err
	}
	return v.redirect(w, Prefix+"messages/"+url.PathEscape(id), "msg.cancelled_ok")
}

// badgeOf is the badge class of a message status.
func badgeOf(status string) string {
	switch {
	case slices.Contains([]string{"delivered", "read", "sent"}, status):
		return "ok"
	case status == "failed" || status == "unknown":
		return "bad"
	case status == "cancelled":
		return ""
	}
	return "warn"
}
