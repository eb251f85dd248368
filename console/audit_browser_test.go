package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAudit: an admin filters the audit log by a prefix in the browser.
func TestBrowserAudit(t *testing.T) {
	k := start(t)
	k.admin.Must(http.StatusCreated, "POST", "/v1/topups", map[string]any{"amount_micros": 5_000_000_000, "reference": "BCA-9"}, nil)
	b := browser(t)
	b.signIn(k.base, "demo-admin", "kirim-demo-admin")
	b.run("open the audit log", chromedp.Navigate(k.base+"/console/audit"), chromedp.WaitVisible(chromedp.CSS(`#audit tbody tr[data-seq]`)))
	if txt := b.text(`#audit tbody`); !strings.Contains(txt, "topup.create") || !strings.Contains(txt, "user.sign_in") {
		t.Fatalf("the log: %q", txt)
	}
	b.run("filter",
		chromedp.SetValue(chromedp.CSS(`#a-action`), "topup.*"),
		chromedp.Click(chromedp.CSS(`#audit-filter button[type=submit]`)))
	// The old page's rows are visible too: wait for the filtered page itself.
	// A poll that runs while the page navigates ends with the old page: poll again.
	var err error
	for range 10 {
		if _, err = chromedp.Run(b.ctx, chromedp.Poll[bool](`location.search.indexOf("action=") >= 0 && document.readyState === "complete"`)); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("the filtered page: %v", err)
	}
	b.run("the filtered rows", chromedp.WaitVisible(chromedp.CSS(`#audit tbody tr[data-seq]`)))
	if loc := b.location(); !strings.Contains(loc, "action=topup.*") && !strings.Contains(loc, "action=topup.%2A") {
		t.Fatalf("at %s", loc)
	}
	rows := eval[[]string](b, `Array.from(document.querySelectorAll("#audit tbody tr[data-seq] code")).map(function (c) { return c.textContent; })`)
	if len(rows) != 1 || rows[0] != "topup.create" {
		t.Fatalf("filtered rows %v", rows)
	}
	b.basics("audit")
	b.shots("audit")
}
