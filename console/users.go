package console

import (
	"net/http"
	"net/url"

	"github.com/julienschmidt/httprouter"

	"kirim/tenant"
)

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{
			{"GET", "users", admins, c.users},
			{"POST", "users", admins, c.createUser},
			{"POST", "users/:id/delete", admins, c.deleteUser},
			{"POST", "users/:id/sign-out", admins, c.signOutUser},
		}
	})
	addWords(map[string]string{
		"users.title":      "Users|Pengguna",
		"users.login":      "Name|Nama pengguna",
		"users.role":       "Role|Peran",
		"users.lang":       "Language|Bahasa",
		"users.created":    "Created|Dibuat",
		"users.password":   "Password (at least 10 characters)|Kata sandi (minimal 10 karakter)",
		"users.create":     "Create user|Buat pengguna",
		"users.new":        "New user|Pengguna baru",
		"users.delete":     "Delete|Hapus",
		"users.sign_out":   "Sign out everywhere|Keluarkan dari semua perangkat",
		"users.confirm":    "Delete this user?|Hapus pengguna ini?",
		"users.created_ok": "User created.|Pengguna dibuat.",
		"users.deleted_ok": "User deleted.|Pengguna dihapus.",
		"users.signed_out": "The user's sessions are ended.|Sesi pengguna diakhiri.",
		"users.none":       "No users yet.|Belum ada pengguna.",
		"role.operator":    "Operator|Operator",
		"role.admin":       "Admin|Admin",
		"role.marketer":    "Marketer|Pemasar",
		"role.finance":     "Finance|Keuangan",
		"role.agent":       "Agent|Agen",
	})
}

type usersData struct {
	Users []any
	Roles []string
	Form  url.Values
}

func (v *visit) usersData(form url.Values) (usersData, error) {
	d := usersData{Form: form, Roles: []string{tenant.RoleAdmin, tenant.RoleMarketer, tenant.RoleFinance, tenant.RoleAgent}}
	if v.user.Role == tenant.RoleOperator {
		d.Roles = append(d.Roles, tenant.RoleOperator)
	}
	page, err := v.get("/v1/users", nil)
	if err != nil {
		return d, err
	}
	d.Users = list(page["data"])
	return d, nil
}

func (c *Console) users(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, v *visit) error {
	d, err := v.usersData(nil)
	if err != nil {
		return err
	}
	return v.show(w, "users", v.t("users.title"), d)
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, _ httprouter.Params, v *visit) error {
	body := map[string]any{"login": r.PostFormValue("login"), "role": r.PostFormValue("role"),
		"lang": r.PostFormValue("lang"), "password": r.PostFormValue("password")}
	if err := v.call(http.MethodPost, "/v1/users", nil, body, nil); err != nil {
		form := url.Values{"login": {r.PostFormValue("login")}, "role": {r.PostFormValue("role")}, "lang": {r.PostFormValue("lang")}}
		d, lerr := v.usersData(form)
		if lerr != nil {
			return lerr
		}
		return v.showForm(w, "users", v.t("users.title"), d, err)
	}
	return v.redirect(w, Prefix+"users", "users.created_ok")
}

func (c *Console) deleteUser(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	if err := v.call(http.MethodDelete, "/v1/users/"+url.PathEscape(p.ByName("id")), nil, nil, nil); err != nil {
		return err
	}
	return v.redirect(w, Prefix+"users", "users.deleted_ok")
}

func (c *Console) signOutUser(w http.ResponseWriter, _ *http.Request, p httprouter.Params, v *visit) error {
	if err := v.call(http.MethodPost, "/v1/users/"+url.PathEscape(p.ByName("id"))+"/sign-out", nil, nil, nil); err != nil {
		return err
	}
	return v.redirect(w, Prefix+"users", "users.signed_out")
}
