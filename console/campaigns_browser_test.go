package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserCampaignWizard is the campaign acceptance: the demo admin goes through
// the wizard choosing a template with variables, maps them to the list's columns,
// sees the message as three real recipients will, quotes, launches and watches the
// campaign's page until every message is sent. Then a campaign too large for the
// number's daily limit is watched live until it is cancelled elsewhere.
func TestBrowserCampaignWizard(t *testing.T) {
	k := start(t)
	campTemplate(t, k)
	list := campList(t, k, "pelanggan", campCustomers)
	b := browser(t)
	b.signIn(k.base, "demo-admin", "kirim-demo-admin")
	b.run("campaigns", chromedp.Navigate(k.base+"/console/campaigns"), chromedp.WaitVisible(chromedp.CSS(`#campaigns`)))
	b.basics("campaigns")
	b.shots("campaigns")

	b.run("step 1", chromedp.Click(chromedp.CSS(`a[href="/console/campaigns/new"]`)), chromedp.WaitVisible(chromedp.CSS(`#c-template`)))
	b.basics("campaign-new-1")
	b.shots("campaign-new-1")
	b.run("choose the template",
		chromedp.SendKeys(chromedp.CSS(`#c-name`), "Promo Desember"),
		chromedp.SetValue(chromedp.CSS(`#c-template`), "main|promo_desember|id"),
		chromedp.Click(chromedp.CSS(`#camp-next`)),
		chromedp.WaitVisible(chromedp.CSS(`#l-`+list)))
	b.basics("campaign-new-2")
	b.shots("campaign-new-2")
	b.run("choose the list",
		chromedp.Click(chromedp.CSS(`#l-`+list)),
		chromedp.Click(chromedp.CSS(`#camp-next`)),
		chromedp.WaitVisible(chromedp.CSS(`#camp-preview`)))
	previews := func() []string {
		return eval[[]string](b, `Array.from(document.querySelectorAll("#camp-preview .camp-body")).map(function (p) { return p.textContent; })`)
	}
	got := previews()
	want := []string{"Budi", "Ani", "Citra"}
	if len(got) != 3 {
		t.Fatalf("preview of %d recipients: %q", len(got), got)
	}
	for i, name := range want {
		if got[i] != fmt.Sprintf("Halo %s, pakai voucher HEMAT%d0 untuk belanja di toko kami sampai akhir Desember.", name, i+1) {
			t.Errorf("preview %d: %q", i, got[i])
		}
	}
	// The preview follows a change of source at once: the same text for everyone.
	if eval[bool](b, `!document.getElementById("f-body-1").hidden`) {
		t.Error("the fixed value's field shows while a column is chosen")
	}
	b.run("a fixed voucher", chromedp.SetValue(chromedp.CSS(`#v-body-1`), "="),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("v-body-1").dispatchEvent(new Event("change"))`),
		chromedp.WaitVisible(chromedp.CSS(`#f-body-1`)),
		chromedp.SendKeys(chromedp.CSS(`#f-body-1`), "AKHIRTAHUN"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#camp-preview [data-slot="body.1"]')[2].textContent === "AKHIRTAHUN"`))
	b.run("back to the voucher column", chromedp.SetValue(chromedp.CSS(`#v-body-1`), "col:voucher"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("v-body-1").dispatchEvent(new Event("change"))`),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#camp-preview [data-slot="body.1"]')[2].textContent === "HEMAT30"`))
	b.basics("campaign-new-3")
	b.shots("campaign-new-3")
	b.run("step 4", chromedp.Click(chromedp.CSS(`#camp-next`)), chromedp.WaitVisible(chromedp.CSS(`#m-now`)))
	if tz := b.text(`#camp-tz`); !strings.Contains(tz, "Asia/Jakarta") {
		t.Errorf("the schedule does not say its timezone: %q", tz)
	}
	b.basics("campaign-new-4")
	b.shots("campaign-new-4")
	b.run("quote", chromedp.Click(chromedp.CSS(`#camp-next`)), chromedp.WaitVisible(chromedp.CSS(`#q-recipients`)))
	if n := b.text(`#q-recipients`); n != "3" {
		t.Fatalf("quote for %s recipients", n)
	}
	if cost := b.text(`#q-cost`); !strings.HasPrefix(cost, "IDR ") || cost == "IDR 0" {
		t.Errorf("cost %q", cost)
	}
	b.basics("campaign-new-5")
	b.shots("campaign-new-5")
	b.run("launch and watch", chromedp.Click(chromedp.CSS(`#camp-launch`)),
		chromedp.WaitVisible(chromedp.CSS(`#camp-live[data-state="completed"]`)))
	if st := b.text(`#camp-state`); st != "Completed" {
		t.Fatalf("state %q", st)
	}
	counts := eval[map[string]int](b, `(function () { var o = {}; document.querySelectorAll("#camp-counts strong").forEach(function (s) { o[s.id.slice(6)] = +s.textContent; }); return o; })()`)
	if counts["sent"]+counts["delivered"]+counts["read"] != 3 || counts["failed"] != 0 || b.text(`#camp-done`) != "3 of 3 settled" {
		t.Fatalf("counts %v, %q", counts, b.text(`#camp-done`))
	}
	if rows := eval[int](b, `document.querySelectorAll("#camp-recipients tbody tr").length`); rows != 3 {
		t.Errorf("%d recipients in the report", rows)
	}
	b.basics("campaign")
	b.shots("campaign")

	// Live: 300 recipients against a limit of 250 a day keep the run going.
	var csv strings.Builder
	csv.WriteString("phone,name\n")
	for i := range 300 {
		fmt.Fprintf(&csv, "+62813770%05d,Pelanggan %d\n", i, i)
	}
	big := campList(t, k, "big", csv.String())
	var c struct{ ID string }
	k.admin.Must(http.StatusCreated, "POST", "/v1/campaigns", map[string]any{"name": "Big", "list_ids": []string{big},
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &c)
	k.admin.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/launch", nil, nil)
	b.run("watch a running campaign", chromedp.Navigate(k.base+"/console/campaigns/"+c.ID),
		chromedp.WaitVisible(chromedp.CSS(`#camp-live[data-state="running"][data-stream="open"]`)))
	b.shots("campaign-running")
	k.admin.Must(http.StatusOK, "POST", "/v1/campaigns/"+c.ID+"/cancel", nil, nil)
	b.run("the page follows the cancel", chromedp.WaitVisible(chromedp.CSS(`#camp-live[data-state="cancelled"]`)))
	if st := b.text(`#camp-state`); st != "Cancelled" {
		t.Fatalf("state after the cancel: %q", st)
	}
	b.basics("campaign-cancelled")
}
