package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserCallbacks: an admin makes an endpoint in the browser, copies its secret
// from the one page that shows it, sends a test event, and finds the endpoint
// listed.
func TestBrowserCallbacks(t *testing.T) {
	k := start(t)
	rc := newReceiver(t, http.StatusOK)
	b := browser(t)
	b.signIn(k.base, "demo-admin", "kirim-demo-admin")
	b.run("open callbacks", chromedp.Navigate(k.base+"/console/callbacks"), chromedp.WaitVisible(chromedp.CSS(`#endpoint-new`)))
	b.basics("callbacks, empty")
	b.run("make an endpoint",
		chromedp.SendKeys(chromedp.CSS(`#e-url`), rc.URL+"/kirim"),
		chromedp.SetValue(chromedp.CSS(`#e-events`), "message.*, balance.low"),
		chromedp.SendKeys(chromedp.CSS(`#e-description`), "CRM gudang"),
		chromedp.Click(chromedp.CSS(`#endpoint-new button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret`)))
	secret := b.text(`#secret`)
	if !strings.HasPrefix(secret, "whsec_") || !strings.Contains(b.text(`p.flash`), "Endpoint created.") {
		t.Fatalf("secret %q", secret)
	}
	b.basics("endpoint, just made")
	b.run("send a test event", chromedp.Click(chromedp.CSS(`#send-test`)), chromedp.WaitVisible(chromedp.CSS(`#test-result`)))
	if res := b.text(`#test-result`); !strings.Contains(res, "delivered, the endpoint answered 200") {
		t.Fatalf("test result %q", res)
	}
	if !rc.signedBy(t, secret) {
		t.Error("the test event is not signed with the secret shown")
	}
	if eval[bool](b, `document.body.textContent.includes("whsec_")`) {
		t.Error("the secret is shown again")
	}
	b.run("back to the list", chromedp.Click(chromedp.CSS(`main p a[href="/console/callbacks"]`)), chromedp.WaitVisible(chromedp.CSS(`#endpoints tbody tr[data-id]`)))
	if row := b.text(`#endpoints tbody tr[data-id]`); !strings.Contains(row, "CRM gudang") || !strings.Contains(row, "balance.low") {
		t.Fatalf("the endpoint's row: %q", row)
	}
	b.basics("callbacks")
	b.shots("callbacks")
}
