package console

import (
	"fmt"
	"strings"
)

// dict holds the console's words by language, then key. Each page file adds its own
// words with addWords; a key missing in Indonesian falls back to English, and a key
// missing in both shows as itself, which the tests catch.
var dict = map[string]map[string]string{"en": {}, "id": {}}

// addWords adds words: each value is "English|Indonesian".
func addWords(words map[string]string) {
	for k, both := range words {
		en, id, ok := strings.Cut(both, "|")
		if !ok {
			id = en
		}
		if _, dup := dict["en"][k]; dup {
			panic("console: word defined twice: " + k)
		}
		dict["en"][k], dict["id"][k] = en, id
	}
}

func known(key string) bool {
	_, ok := dict["en"][key]
	return ok
}

func tr(lang, key string, args ...any) string {
	s, ok := dict[lang][key]
	if !ok {
		if s, ok = dict["en"][key]; !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

func init() {
	addWords(map[string]string{
		"app.name":               "Kirim|Kirim",
		"nav.skip":               "Skip to content|Langsung ke isi",
		"nav.dashboard":          "Dashboard|Dasbor",
		"nav.messages":           "Messages|Pesan",
		"nav.templates":          "Templates|Template",
		"nav.lists":              "Contacts|Kontak",
		"nav.campaigns":          "Campaigns|Kampanye",
		"nav.money":              "Money|Saldo",
		"nav.numbers":            "Numbers|Nomor",
		"nav.inbox":              "Inbox|Kotak masuk",
		"nav.callbacks":          "Callbacks|Callback",
		"nav.keys":               "API keys|Kunci API",
		"nav.users":              "Users|Pengguna",
		"nav.audit":              "Audit log|Log audit",
		"nav.accounts":           "Accounts|Akun",
		"nav.account":            "Account|Akun",
		"nav.switch":             "Switch|Ganti",
		"nav.signout":            "Sign out|Keluar",
		"nav.signout_everywhere": "Sign out everywhere|Keluar dari semua perangkat",
		"nav.lang":               "Language|Bahasa",
		"nav.lang_apply":         "Apply|Terapkan",
		"nav.menu":               "Menu|Menu",
		"signin.title":           "Sign in|Masuk",
		"signin.login":           "Name|Nama pengguna",
		"signin.password":        "Password|Kata sandi",
		"signin.submit":          "Sign in|Masuk",
		"signin.bad":             "Wrong name or password.|Nama pengguna atau kata sandi salah.",
		"signin.limited":         "Too many wrong tries: wait a few minutes and try again.|Terlalu banyak percobaan salah: tunggu beberapa menit lalu coba lagi.",
		"signin.demo":            "This demo user works only with the sandbox provider.|Pengguna demo ini hanya untuk penyedia sandbox.",
		"error.title":            "Error|Galat",
		"error.forbidden":        "Your role cannot open this page.|Peran Anda tidak dapat membuka halaman ini.",
		"error.csrf":             "The form expired or did not come from this console: reload the page and try again.|Formulir kedaluwarsa atau bukan dari konsol ini: muat ulang halaman lalu coba lagi.",
		"error.internal":         "Something went wrong on the server; it has been logged.|Terjadi kesalahan di server; sudah dicatat.",
		"error.not_found":        "No such page.|Halaman tidak ditemukan.",
		"error.back":             "Back to the dashboard|Kembali ke dasbor",
		"dash.title":             "Dashboard|Dasbor",
		"dash.balance":           "Balance|Saldo",
		"dash.available":         "available|tersedia",
		"dash.spend_month":       "Spent this month|Terpakai bulan ini",
		"dash.sends_today":       "Sends today|Kiriman hari ini",
		"dash.numbers":           "Numbers|Nomor",
		"dash.number":            "Number|Nomor",
		"dash.status":            "Status|Status",
		"dash.quality":           "Quality|Kualitas",
		"dash.tier":              "Used 24 h / limit|Terpakai 24 jam / batas",
		"dash.frees_at":          "Next free slot|Slot kosong berikutnya",
		"dash.campaigns_running": "Campaigns running|Kampanye berjalan",
		"dash.none":              "None.|Tidak ada.",
		"dash.no_account":        "No account yet: create one under Accounts.|Belum ada akun: buat di menu Akun.",
	})
}
