package template

import (
	"sort"
	"strings"
)

// templateLanguages are the codes Meta accepts for a template's language, as listed on
// "Supported Languages" (developers.facebook.com/documentation/business-messaging/
// whatsapp/templates/supported-languages, updated 21 May 2026). A code outside the
// list is refused at creation, so a well-formed but unknown code such as id_ID or
// en_ID is as wrong as "Indonesian". Codes are case-sensitive and use "_", never "-".
var templateLanguages = map[string]bool{}

func init() {
	for _, c := range strings.Fields(`
		af sq ar ar_EG ar_AE ar_LB ar_MA ar_QA az be_BY bn bn_IN bg ca zh_CN zh_HK zh_TW hr cs
		da prs_AF nl nl_BE en en_GB en_US en_AE en_AU en_CA en_GH en_IE en_IN en_JM en_MY en_NZ
		en_QA en_SG en_UG en_ZA et fil fi fr fr_BE fr_CA fr_CH fr_CI fr_MA ka de de_AT de_CH el
		gu ha he hi hu id ga it ja kn kk rw_RW ko ky_KG lo lv lt mk ms ml mr nb ps_AF fa pl pt_BR
		pt_PT pa ro ru sr si_LK sk sl es es_AR es_CL es_CO es_CR es_DO es_EC es_HN es_MX es_PA
		es_PE es_ES es_UY sw sv ta te th tr uk ur uz vi zu`) {
		templateLanguages[c] = true
	}
}

// languageSuggestion proposes supported codes for an unsupported one: the code
// written with "_" and Meta's capitalisation (en-us: en_US), else the codes of the
// same language (id_ID: id; pt: pt_BR, pt_PT).
func languageSuggestion(code string) []string {
	base, region, _ := strings.Cut(strings.ReplaceAll(code, "-", "_"), "_")
	base = strings.ToLower(base)
	if region != "" {
		if c := base + "_" + strings.ToUpper(region); templateLanguages[c] {
			return []string{c}
		}
	}
	if base != code && templateLanguages[base] {
		return []string{base}
	}
	var out []string
	for c := range templateLanguages {
		if b, _, _ := strings.Cut(c, "_"); b == base {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}
