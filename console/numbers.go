package console

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

func init() {
	pageSets = append(pageSets, func(c *Console) []pageRoute {
		return []pageRoute{{"GET", "numbers", anyone, c.numbers}}
	})
	addWords(map[string]string{
		"num.title":        "Numbers|Nomor",
		"num.none":         "This account has no numbers.|Akun ini belum punya nomor.",
		"num.no_scope":     "Your role does not read numbers: that needs an admin, marketer or agent.|Peran Anda tidak dapat membaca nomor: perlu admin, pemasar, atau agen.",
		"num.status":       "Status|Status",
		"num.quality":      "Quality|Kualitas",
		"num.restricted":   "Restricted until|Dibatasi sampai",
		"num.tier":         "Business-initiated, last 24 h|Dimulai bisnis, 24 jam terakhir",
		"num.unlimited":    "unlimited|tanpa batas",
		"num.frees_at":     "Next slot frees|Slot berikutnya kosong",
		"num.frees_in":     "in|dalam",
		"num.now":          "now|sekarang",
		"num.used_7d":      "Last 7 days|7 hari terakhir",
		"num.rules":        "Limit rules|Aturan batas",
		"num.scope":        "limit per %s|batas per %s",
		"num.since":        "Limit held since|Batas berlaku sejak",
		"num.throughput":   "Throughput|Kecepatan kirim",
		"num.mps":          "%s messages/s|%s pesan/detik",
		"num.pair":         "Gap to one recipient|Jeda ke satu penerima",
		"num.pair_none":    "none|tidak ada",
		"num.seconds":      "%s s|%s detik",
		"num.queue":        "Queued|Dalam antrean",
		"num.at_least":     "at least %s|sedikitnya %s",
		"num.next_limit":   "Next limit|Batas berikutnya",
		"num.next_tier_at": "Expected|Perkiraan waktu",
		"num.no_next":      "not in sight at this pace|belum terlihat dengan laju ini",
		"num.pace":         "Daily pace|Laju harian",
	})
}

type numbersData struct {
	NoScope bool
	Numbers []any
}

// numbers shows each of the account's numbers: its standing, its messaging limit and
// what is used of it, the pace it sends at, its queue and the tier forecast.
func (c *Console) numbers(w http.ResponseWriter, _ *http.Request, _ httprouter.Params, v *visit) error {
	d := numbersData{}
	page, err := v.get("/v1/numbers", nil)
	switch {
	case statusOf(err) == http.StatusForbidden:
		d.NoScope = true
	case err != nil:
		return err
	default:
		d.Numbers = list(page["data"])
	}
	return v.show(w, "numbers", v.t("num.title"), d)
}
