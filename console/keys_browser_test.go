package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserKeys: an admin makes a key with two scopes; the key is shown once,
// works, and the list names it without it.
func TestBrowserKeys(t *testing.T) {
	k := start(t)
	b := browser(t)
	b.signIn(k.base, "demo-admin", "kirim-demo-admin")
	b.run("open keys", chromedp.Navigate(k.base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS(`#key-new`)))
	b.run("make a key",
		chromedp.SendKeys(chromedp.CSS(`#k-name`), "gudang"),
		chromedp.Click(chromedp.CSS(`#k-scope-campaigns`)),
		chromedp.Click(chromedp.CSS(`#key-new button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret`)))
	key := b.text(`#secret`)
	gudang := k.admin.As(key, "")
	gudang.Must(http.StatusOK, "GET", "/v1/messages", nil, nil)
	gudang.Must(http.StatusOK, "GET", "/v1/campaigns", nil, nil)
	if st, _ := gudang.Call("GET", "/v1/keys", nil); st != http.StatusForbidden {
		t.Errorf("a send+campaigns key lists keys: %d", st)
	}
	row := b.text(`#keys tbody tr:last-child`)
	if !strings.Contains(row, "gudang") || !strings.Contains(row, "campaigns, send") || strings.Contains(row, key) {
		t.Fatalf("the key's row: %q", row)
	}
	b.basics("keys")
	b.shots("keys")
	b.run("reload", chromedp.Navigate(k.base+"/console/keys"), chromedp.WaitVisible(chromedp.CSS(`#keys`)))
	if eval[bool](b, `document.getElementById("secret") !== null`) {
		t.Error("the key is shown again")
	}
}
