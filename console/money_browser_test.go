package console_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"kirim/api"
)

// answerConfirms makes the page's confirm() answer as a user clicking OK (ok) or
// Cancel would, and keep the question in window.kirimAsked for the test to read.
func answerConfirms(b *tab, ok bool) {
	b.t.Helper()
	eval[bool](b, fmt.Sprintf(`(window.confirm = function (q) { window.kirimAsked = q; return %t; }, true)`, ok))
}

// TestBrowserTopUp: the demo admin asks for a top-up in the browser and signs out;
// the operator picks the demo account and confirms it; the balance on the money page
// and the dashboard grew by exactly the amount. On the way, the messages, a message
// and the numbers are opened as the admin.
func TestBrowserTopUp(t *testing.T) {
	k := start(t)
	id := msgSend(t, k, "+6281266660001")
	msgDelivered(t, k, id)
	before := moneyAvailable(t, k)
	after := api.NewMoney(before+500_000_000_000, "IDR").Display

	b := browser(t)
	b.signIn(k.base, "demo-admin", "kirim-demo-admin")
	b.run("open money", chromedp.Navigate(k.base+"/console/money"), chromedp.WaitVisible(chromedp.CSS(`#topup-form`)))
	if got := b.text(`#available`); got != api.NewMoney(before, "IDR").Display {
		t.Fatalf("available before: %q", got)
	}
	b.run("request a top-up",
		chromedp.SendKeys(chromedp.CSS(`#t-amount`), "500000"),
		chromedp.SendKeys(chromedp.CSS(`#t-reference`), "BCA-TRF-0042"),
		chromedp.SendKeys(chromedp.CSS(`#t-note`), "transfer of 5 March"),
		chromedp.Click(chromedp.CSS(`#topup-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	if loc := b.location(); loc != "/console/money?done=money.topup_requested" {
		t.Fatalf("after the request: at %s", loc)
	}
	row := b.text(`#topups tbody tr:first-child`)
	if !strings.Contains(row, "BCA-TRF-0042") || !strings.Contains(row, "pending") || !strings.Contains(row, "IDR 500,000") {
		t.Fatalf("the new top-up's row: %q", row)
	}
	b.basics("money")
	b.shots("money")

	b.run("open messages", chromedp.Navigate(k.base+"/console/messages"), chromedp.WaitVisible(chromedp.CSS(`#messages`)))
	if rows := eval[int](b, `document.querySelectorAll("#messages tbody a[href^='/console/messages/msg_']").length`); rows != 1 {
		t.Fatalf("messages listed: %d", rows)
	}
	b.basics("messages")
	b.shots("messages")
	b.run("open the message", chromedp.Click(chromedp.CSS(`#messages tbody a`)), chromedp.WaitVisible(chromedp.CSS(`#history`)))
	if loc := b.location(); loc != "/console/messages/"+id {
		t.Fatalf("message detail at %s", loc)
	}
	if st := b.text(`#status`); st != "delivered" && st != "read" {
		t.Errorf("message status %q", st)
	}
	b.basics("message-detail")
	b.shots("message-detail")
	b.run("open numbers", chromedp.Navigate(k.base+"/console/numbers"), chromedp.WaitVisible(chromedp.CSS(`[data-number="main"]`)))
	if tier := b.text(`[data-number="main"] .tier`); !strings.Contains(tier, "1 / ") {
		t.Errorf("tier use %q", tier)
	}
	b.basics("numbers")
	b.shots("numbers")
	b.run("sign out", chromedp.Click(chromedp.CSS(`form[action="/console/sign-out"] button`)), chromedp.WaitVisible(chromedp.CSS(`#login`)))

	b.signIn(k.base, "operator", "kirim-demo-operator")
	// The switch lands on the dashboard: picked from another page, its tiles say the
	// switch is done.
	b.run("pick the demo account",
		chromedp.Navigate(k.base+"/console/numbers"), chromedp.WaitVisible(chromedp.CSS(`#numbers`)),
		chromedp.SetValue(chromedp.CSS(`#account-pick`), "demo"),
		chromedp.Click(chromedp.CSS(`form[action="/console/account"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#sends-today`)))
	b.run("open money", chromedp.Navigate(k.base+"/console/money"), chromedp.WaitVisible(chromedp.CSS(`#topups`)))
	row = b.text(`#topups tbody tr:first-child`)
	if !strings.Contains(row, "BCA-TRF-0042") || !strings.Contains(row, "transfer of 5 March") {
		t.Fatalf("the operator's row: %q", row)
	}
	b.basics("money-operator")
	b.shots("money-operator")
	// Cancel first: the question is asked and nothing is sent.
	answerConfirms(b, false)
	b.run("confirm, then cancel", chromedp.Click(chromedp.CSS(`#topups tbody tr:first-child form[action$="/confirm"] button`)))
	if q := eval[string](b, `window.kirimAsked || ""`); !strings.Contains(q, "Confirm this top-up?") {
		t.Fatalf("asked %q", q)
	}
	if got := moneyAvailable(t, k); got != before {
		t.Fatalf("a cancelled confirmation moved the balance to %d", got)
	}
	answerConfirms(b, true)
	b.run("confirm",
		chromedp.Click(chromedp.CSS(`#topups tbody tr:first-child form[action$="/confirm"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)))

	if got := b.text(`#available`); got != after {
		t.Fatalf("available after confirming: %q, want %q", got, after)
	}
	if st := b.text(`#topups tbody tr:first-child .badge`); st != "confirmed" {
		t.Errorf("top-up is %q", st)
	}
	b.run("dashboard", chromedp.Navigate(k.base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`#balance`)))
	if got := b.text(`#balance`); got != after {
		t.Fatalf("dashboard balance %q, want %q", got, after)
	}
	if got := moneyAvailable(t, k); got != before+500_000_000_000 {
		t.Fatalf("API balance %d, want %d", got, before+500_000_000_000)
	}
	b.basics("dashboard-operator")
}
