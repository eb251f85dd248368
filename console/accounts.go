package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"
)

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{
			{"GET", "accounts", operators, c.accountsPage},
			{"POST", "accounts", operators, c.createAccount},
		}
	})
	addWords(map[string]string{
		"acct.title":         "Accounts|Akun",
		"acct.id":            "Id|ID",
		"acct.id_help":       "Id: a-z, 0-9, _ and -, at most 32|ID: a-z, 0-9, _ dan -, paling banyak 32",
		"acct.name":          "Name|Nama",
		"acct.currency":      "Currency|Mata uang",
		"acct.timezone":      "Timezone|Zona waktu",
		"acct.region":        "Region of local phone numbers|Wilayah nomor telepon lokal",
		"acct.low":           "Warn when the available balance falls below (whole units, 0: never)|Peringatkan bila saldo tersedia di bawah (satuan bulat, 0: tidak pernah)",
		"acct.numbers":       "Numbers|Nomor",
		"acct.source":        "Made in|Dibuat di",
		"acct.none":          "No accounts yet.|Belum ada akun.",
		"acct.new":           "New account|Akun baru",
		"acct.create":        "Create account|Buat akun",
		"acct.created_ok":    "Account created: pick it at the top to work in it.|Akun dibuat: pilih di bagian atas untuk mengelolanya.",
		"acct.source.config": "configuration|konfigurasi",
		"acct.source.api":    "console or API|konsol atau API",
	})
}

type accountsData struct {
	Accounts []any
	Form     url.Values
}

func (v *visit) accountsData(form url.Values) (accountsData, error) {
	page, err := v.get("/v1/accounts", nil)
	if err != nil {
		return accountsData{}, err
	}
	if form == nil {
		form = url.Values{"currency": {"IDR"}, "timezone": {"Asia/Jakarta"}, "default_region": {"ID"}, "low_balance": {"0"}}
	}
	return accountsData{Accounts: list(page["data"]), Form: form}, nil
}

func (c *Console) accountsPage(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, v *visit) error {
	d, err := v.accountsData(nil)
	if err != nil {
		return err
	}
	return v.show(w, "accounts", v.t("acct.title"), d)
}

// createAccount makes an account through POST /v1/accounts; the API checks every field.
func (c *Console) createAccount(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	form := url.Values{}
	for _, k := range []string{"id", "name", "currency", "timezone", "default_region", "low_balance"} {
		form.Set(k, strings.TrimSpace(r.PostFormValue(k)))
	}
	body := map[string]any{"id": form.Get("id"), "name": form.Get("name"), "currency": strings.ToUpper(form.Get("currency")),
		"timezone": form.Get("timezone"), "default_region": strings.ToUpper(form.Get("default_region"))}
	err := error(nil)
	if low := form.Get("low_balance"); low != "" {
		var micros int64
		if micros, err = v.wholeUnits("low_balance", low, body["currency"].(string)); err == nil {
			body["low_balance_micros"] = micros
		}
	}
	if err == nil {
		err = v.call(http.MethodPost, "/v1/accounts", nil, body, nil)
	}
	if err != nil {
		var ae *apiError
		if asAPI(err, &ae) && ae.Field == "low_balance_micros" {
			ae.Field = "low_balance"
		}
		if statusOf(err) >= 500 {
			return err
		}
		d, lerr := v.accountsData(form)
		if lerr != nil {
			return lerr
		}
		return v.showForm(w, "accounts", v.t("acct.title"), d, err)
	}
	return v.redirect(w, Prefix+"accounts", "acct.created_ok")
}
