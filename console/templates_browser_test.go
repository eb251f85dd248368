package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserTemplateLint types a template whose variables are out of order: the
// linter's verdict appears beside the form without a submission and the submit
// button is disabled; renumbered, the violation goes and the template is submitted.
func TestBrowserTemplateLint(t *testing.T) {
	k := start(t)
	b := browser(t)
	b.signIn(k.base, "demo-admin", "kirim-demo-admin")
	b.run("open the templates", chromedp.Navigate(k.base+"/console/templates"), chromedp.WaitVisible(chromedp.CSS(`#templates`)))
	b.basics("templates")
	b.shots("templates")

	b.run("open the form", chromedp.Click(chromedp.CSS(`#tpl-new`)), chromedp.WaitVisible(chromedp.CSS(`#tpl-form`)),
		// The empty form is checked at once: it has no name yet.
		chromedp.Poll[chromedp.Void](`document.querySelector("#lint").textContent.includes("name_length")`))
	if !eval[bool](b, `document.querySelector("#tpl-submit").disabled`) {
		t.Fatal("the submit button is enabled on an empty form")
	}
	b.run("type a draft with variables out of order",
		chromedp.SendKeys(chromedp.CSS(`#t-name`), "pesanan_dikirim"),
		chromedp.SendKeys(chromedp.CSS(`#t-body-ex`), "Budi\nINV-42"),
		chromedp.SendKeys(chromedp.CSS(`#t-body`), "Halo {{2}}, pesanan {{1}} Anda sudah kami kirim hari ini."),
		chromedp.SendKeys(chromedp.CSS(`#t-qr-1`), "Terima kasih"),
		chromedp.Poll[chromedp.Void](`document.querySelector("#lint").textContent.includes("variable_sequence")`))
	lint := b.text(`#lint`)
	if !strings.Contains(lint, "{{2}} comes before {{1}}") || !strings.Contains(lint, "Error") || strings.Contains(lint, "name_length") {
		t.Fatalf("lint shows %q", lint)
	}
	if loc := b.location(); loc != "/console/templates/new" {
		t.Fatalf("the form was submitted: at %s", loc)
	}
	if !eval[bool](b, `document.querySelector("#tpl-submit").disabled`) {
		t.Fatal("the submit button is enabled with an error")
	}
	if pv := b.text(`#tpl-preview .tpl-b`); pv != "Halo INV-42, pesanan Budi Anda sudah kami kirim hari ini." {
		t.Errorf("preview %q", pv)
	}
	b.basics("template-new")
	b.shots("template-new")

	b.run("renumber the variables",
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#t-body").value = ""`),
		chromedp.SendKeys(chromedp.CSS(`#t-body`), "Halo {{1}}, pesanan {{2}} Anda sudah kami kirim hari ini."),
		chromedp.Poll[chromedp.Void](`!document.querySelector("#lint").textContent.includes("variable_sequence")`),
		chromedp.WaitEnabled(chromedp.CSS(`#tpl-submit`)))
	if lint := b.text(`#lint`); !strings.Contains(lint, "No problems found.") {
		t.Fatalf("lint after the fix: %q", lint)
	}
	b.run("submit", chromedp.Click(chromedp.CSS(`#tpl-submit`)), chromedp.WaitVisible(chromedp.CSS(`.tpl-record`)))
	if loc := b.location(); loc != "/console/templates/pesanan_dikirim?language=id&done=tpl.created_ok" {
		t.Fatalf("after submit: at %s", loc)
	}
	if flash := b.text(`.flash`); !strings.Contains(flash, "submitted for review") {
		t.Fatalf("flash %q", flash)
	}
	b.basics("template")
	b.shots("template")
}
