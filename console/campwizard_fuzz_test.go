package console

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// ownFields are the fields a wizard step shows, as its form sends them back.
func ownFields(wz *campWizard, step int) url.Values {
	f := url.Values{}
	switch step {
	case 1:
		f.Set("name", wz.Name)
		f.Set("template", wz.Template)
	case 2:
		f["list_ids"] = slices.Clone(wz.Lists)
	case 3:
		for k := range wz.Vars {
			f.Set(k, wz.Vars.Get(k))
		}
	case 4:
		f.Set("mode", wz.Mode)
		f.Set("at", wz.At)
		f.Set("cron", wz.Cron)
	}
	return f
}

func sameWizard(a, b *campWizard) bool {
	if a.Token != b.Token || a.Name != b.Name || a.Template != b.Template || !slices.Equal(a.Lists, b.Lists) ||
		a.Mode != b.Mode || a.At != b.At || a.Cron != b.Cron || len(a.Vars) != len(b.Vars) {
		return false
	}
	for k := range a.Vars {
		if a.Vars.Get(k) != b.Vars.Get(k) {
			return false
		}
	}
	return true
}

// FuzzCampWizardCarry: whatever a wizard form holds, each step's page carries it
// whole to the next: the step's own fields plus its hidden ones read back as the same
// wizard. The reference of the template never reads as valid unless it has its three
// parts.
func FuzzCampWizardCarry(f *testing.F) {
	f.Add("tok", " Promo ", "main|promo|id", "lst_1", "lst_2", "v.body.0", "col:name", "now", "", "")
	f.Add("", "", "main||id", "", "", "f.body.1", "HEMAT\n10", "at", "2026-12-01T09:00", "")
	f.Add(strings.Repeat("x", 70), "a|b", "|||", "l", "l", "v.", "=", "cron", "", " 0 9 * * MON ")
	f.Fuzz(func(t *testing.T, token, name, tpl, l1, l2, vk, vv, mode, at, cron string) {
		in := url.Values{"token": {token}, "name": {name}, "template": {tpl}, "list_ids": {l1, l2}, vk: {vv},
			"mode": {mode}, "at": {at}, "cron": {cron}}
		wz := campWizardOf(in)
		if wz.Token == "" || len(wz.Token) > 64 {
			t.Fatalf("token %q", wz.Token)
		}
		if wz.Mode != "now" && wz.Mode != "at" && wz.Mode != "cron" {
			t.Fatalf("mode %q", wz.Mode)
		}
		if alias, n, lang, ok := wz.ref(); ok && (alias == "" || n == "" || lang == "" || alias+"|"+n+"|"+lang != wz.Template) {
			t.Fatalf("ref of %q: %q %q %q", wz.Template, alias, n, lang)
		}
		for step := 1; step <= 4; step++ {
			form := ownFields(wz, step)
			for _, h := range wz.carry(step) {
				form.Add(h.Name, h.Value)
			}
			if again := campWizardOf(form); !sameWizard(wz, again) {
				t.Fatalf("step %d lost part of %+v: %+v", step, wz, again)
			}
		}
	})
}
