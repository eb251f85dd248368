package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// API keys of the account: listed by name and scopes (never the key), made with the
// scopes chosen (the key is shown once), revoked.

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{
			{"GET", "keys", admins, c.keys},
			{"POST", "keys", admins, c.createKey},
			{"POST", "keys/:id/revoke", admins, c.revokeKey},
		}
	})
	addWords(map[string]string{
		"keys.title":           "API keys|Kunci API",
		"keys.name":            "Name|Nama",
		"keys.scopes":          "Scopes|Cakupan",
		"keys.source":          "Source|Sumber",
		"keys.source.api":      "console or API|konsol atau API",
		"keys.source.config":   "configuration|konfigurasi",
		"keys.created":         "Created|Dibuat",
		"keys.last_used":       "Last used|Terakhir dipakai",
		"keys.revoked":         "revoked %s|dicabut %s",
		"keys.active":          "active|aktif",
		"keys.none":            "No keys yet.|Belum ada kunci.",
		"keys.new":             "New key|Kunci baru",
		"keys.create":          "Create key|Buat kunci",
		"keys.revoke":          "Revoke|Cabut",
		"keys.confirm":         "Revoke this key? Systems using it are refused from now on.|Cabut kunci ini? Sistem yang memakainya langsung ditolak.",
		"keys.revoked_ok":      "Key revoked.|Kunci dicabut.",
		"keys.created_ok":      "Key created.|Kunci dibuat.",
		"keys.secret":          "The new key|Kunci baru",
		"keys.secret_once":     "Copy the key now: it is not shown again. Send it as Authorization: Bearer <key>.|Salin kunci sekarang: tidak akan ditampilkan lagi. Kirim sebagai Authorization: Bearer <kunci>.",
		"keys.config_note":     "Keys from the configuration are changed there.|Kunci dari konfigurasi diubah di sana.",
		"keys.scope.send":      "send: messages, conversations, contacts|send: pesan, percakapan, kontak",
		"keys.scope.campaigns": "campaigns: lists and campaigns|campaigns: daftar dan kampanye",
		"keys.scope.templates": "templates: make and change templates|templates: buat dan ubah template",
		"keys.scope.money":     "money: balance, top-ups, statement|money: saldo, isi ulang, mutasi",
		"keys.scope.admin":     "admin: everything of the account|admin: semua hal di akun",
	})
}

// keyScopes are the scopes a key may be given, in the order the form shows them.
var keyScopes = []string{"send", "campaigns", "templates", "money", "admin"}

type keysData struct {
	Keys   []any
	Scopes []string
	// Secret is the key just made, shown once, and its name.
	Secret, SecretName string
	Form               url.Values
}

func (v *visit) keysData(form url.Values) (keysData, error) {
	d := keysData{Scopes: keyScopes, Form: form}
	page, err := v.get("/v1/keys", nil)
	if err != nil {
		return d, err
	}
	d.Keys = list(page["data"])
	return d, nil
}

func (c *Console) keys(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, v *visit) error {
	d, err := v.keysData(url.Values{"scopes": {"send"}})
	if err != nil {
		return err
	}
	return v.show(w, "keys", v.t("keys.title"), d)
}

func (c *Console) createKey(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	_ = r.ParseForm()
	form := url.Values{"name": {strings.TrimSpace(r.PostFormValue("name"))}, "scopes": r.PostForm["scopes"]}
	var err error
	var made obj
	if len(form["scopes"]) == 0 {
		err = badRequest("scopes", "choose at least one")
	} else {
		err = v.call(http.MethodPost, "/v1/keys", nil, map[string]any{"name": form.Get("name"), "scopes": form["scopes"]}, &made)
	}
	if err != nil {
		d, lerr := v.keysData(form)
		if lerr != nil {
			return lerr
		}
		return v.showForm(w, "keys", v.t("keys.title"), d, err)
	}
	d, err := v.keysData(url.Values{"scopes": {"send"}})
	if err != nil {
		return err
	}
	// The key is on this answer only: the API keeps its hash, nothing shows it again.
	d.Secret, d.SecretName = str(made["key"]), str(made["name"])
	v.c.render(w, v, http.StatusOK, "keys", &view{Title: v.t("keys.title"), Data: d, Flash: v.t("keys.created_ok")})
	return nil
}

func (c *Console) revokeKey(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	if err := v.call(http.MethodDelete, "/v1/keys/"+url.PathEscape(p.ByName("id")), nil, nil, nil); err != nil {
		return err
	}
	return v.redirect(w, Prefix+"keys", "keys.revoked_ok")
}
