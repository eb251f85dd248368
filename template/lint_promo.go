package template

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A UTILITY template must not sell: Meta re-categorises or rejects one that does
// (INCORRECT_CATEGORY, PROMOTIONAL), and Qontak lists promotional or hard-selling
// words among its top rejection reasons, advising that the offer go into a variable.
// The words fall in two groups. offerTerms make an offer in any sentence they appear
// in (a discount, a voucher, something free, a sale, a call to buy): no transactional
// message needs them, so they are an error. maybeTerms also have everyday
// transactional meanings ("feel free to reply", a toll-free number, "bill of sale",
// "hemat energi", an employee bonus, customs clearance), so they are only a warning:
// refusing them would refuse approvable templates.
var offerTerms = []string{
	// Indonesian.
	"diskon", "promo", "promosi", "gratis", "cashback", "cash back", "voucher", "voucer", "kupon",
	"kode promo", "potongan harga", "harga spesial", "harga promo", "beli sekarang",
	"belanja sekarang", "penawaran terbatas", "penawaran spesial", "penawaran khusus",
	"flash sale", "obral", "cuci gudang",
	// English.
	"discount", "discounts", "discounted", "coupon", "coupons", "promo code", "promotion",
	"promotions", "buy now", "shop now", "free shipping", "free delivery", "free gift",
	"for free", "special offer", "exclusive offer", "limited offer", "limited time offer",
	"limited-time offer", "buy one get one", "buy 1 get 1",
}

var maybeTerms = []string{
	"free", "bonus", "hemat", "sale", "deal", "deals", "order now", "pesan sekarang",
	"limited time", "best price", "harga terbaik", "clearance", "hadiah",
}

type promoMatch struct {
	pos, end int
	term     string
	offer    bool
}

// findPromo returns the promotional terms in text in text order, each once; where
// terms overlap ("free shipping", "free") the longer one, found first, wins.
func findPromo(text string) (offers, maybes []string) {
	lower := strings.ToLower(text)
	var ms []promoMatch
	scan := func(terms []string, offer bool) {
		for _, term := range terms {
			for from := 0; from < len(lower); {
				i := strings.Index(lower[from:], term)
				if i < 0 {
					break
				}
				i += from
				end := i + len(term)
				if wordBoundary(lower, i, end) {
					ms = append(ms, promoMatch{i, end, term, offer})
					break
				}
				from = end
			}
		}
	}
	scan(offerTerms, true)
	scan(maybeTerms, false)
	sort.SliceStable(ms, func(a, b int) bool {
		if ms[a].pos != ms[b].pos {
			return ms[a].pos < ms[b].pos
		}
		return ms[a].end > ms[b].end
	})
	covered := -1
	for _, m := range ms {
		if m.pos < covered {
			continue
		}
		covered = m.end
		if m.offer {
			offers = append(offers, m.term)
		} else {
			maybes = append(maybes, m.term)
		}
	}
	return offers, maybes
}

func wordBoundary(s string, i, j int) bool {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	if j < len(s) {
		r, _ := utf8.DecodeRuneInString(s[j:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

func (l *linter) checkPromotional(c, text string) {
	if l.t.Category != CategoryUtility {
		return
	}
	offers, maybes := findPromo(text)
	switch {
	case len(offers) > 0:
		l.add(RulePromotionalOffer, c, offers[0], "%s makes an offer, so this is a MARKETING template; submit it as MARKETING or move the offer into a variable", quoteTerms(offers))
	case len(maybes) > 0:
		l.add(RulePromotionalInUtility, c, maybes[0], "%s often reads as promotional in a UTILITY template; Meta may re-categorise it as MARKETING: reword it if it is not an offer", quoteTerms(maybes))
	}
}

func quoteTerms(ts []string) string {
	q := make([]string, len(ts))
	for i, t := range ts {
		q[i] = `"` + t + `"`
	}
	return strings.Join(q, ", ")
}
