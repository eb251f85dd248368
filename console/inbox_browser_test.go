package console_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var reClock = regexp.MustCompile(`^\d+:\d\d:\d\d$`)

// TestBrowserInboxReply: a customer writes in; the agent finds the conversation in
// the inbox with its window counting down, replies, watches the reply's status
// arrive without reloading, and opts the customer out.
func TestBrowserInboxReply(t *testing.T) {
	k := start(t)
	pw := k.user(t, "agent1", "agent")
	const rina = "+6281300000031"
	k.customerWrites(t, map[string]any{"from": rina, "name": "Rina", "text": "Halo, pesanan INV-9 saya belum sampai"})
	waitConversation(t, k.admin, rina, 1, nil)

	b := browser(t)
	b.signIn(k.base, "agent1", pw)
	row := `#conversations tr[data-phone="` + rina + `"]`
	b.run("open the inbox", chromedp.Navigate(k.base+"/console/inbox"), chromedp.WaitVisible(chromedp.CSS(row)))
	if txt := b.text(row); !strings.Contains(txt, "Rina") || !strings.Contains(txt, "INV-9") || !strings.Contains(txt, "open") {
		t.Fatalf("the inbox row: %q", txt)
	}
	// The countdown is running: kirim.js replaced the time with hours:minutes:seconds.
	b.run("the countdown ticks", chromedp.Poll[chromedp.Void](`/^\d+:\d\d:\d\d$/.test(document.querySelector('`+row+` [data-countdown]').textContent)`))
	b.basics("inbox")
	b.shots("inbox")

	b.run("open the conversation", chromedp.Click(chromedp.CSS(row+` a`)), chromedp.WaitVisible(chromedp.CSS(`#reply-form`)))
	if loc := b.location(); loc != "/console/inbox/"+rina {
		t.Fatalf("at %s", loc)
	}
	if txt := b.text(`#thread .bubble.in`); !strings.Contains(txt, "Halo, pesanan INV-9 saya belum sampai") {
		t.Fatalf("the customer's message: %q", txt)
	}
	until, err := time.Parse(time.RFC3339Nano, eval[string](b, `document.getElementById("countdown").dataset.countdown`))
	if left := time.Until(until); err != nil || left < 23*time.Hour || left > 24*time.Hour {
		t.Fatalf("the window closes at %v (%v left): %v", until, left, err)
	}
	b.run("the countdown ticks", chromedp.Poll[chromedp.Void](`/^2[34]:\d\d:\d\d$/.test(document.getElementById("countdown").textContent)`))
	if clock := b.text(`#countdown`); !reClock.MatchString(clock) {
		t.Fatalf("countdown %q", clock)
	}
	b.basics("conversation")

	b.run("reply",
		chromedp.SendKeys(chromedp.CSS(`#r-text`), "Besok sampai, Kak"),
		chromedp.Click(chromedp.CSS(`#reply-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.flash`)))
	if flash := b.text(`p.flash`); !strings.Contains(flash, "Reply queued.") {
		t.Fatalf("after the reply: %q", flash)
	}
	// The page follows the reply's status on its own, without a reload.
	b.run("the reply is sent", chromedp.Poll[chromedp.Void](
		`["sent","delivered","read"].includes((document.querySelector("#thread .bubble.out") || {dataset: {}}).dataset.status)`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if txt := b.text(`#thread .bubble.out`); !strings.Contains(txt, "Text message") {
		t.Fatalf("the reply bubble: %q", txt)
	}
	b.basics("conversation after the reply")
	b.shots("conversation")

	b.run("opt out", chromedp.Click(chromedp.CSS(`#opt-out`)), chromedp.WaitVisible(chromedp.CSS(`#opt-in`)))
	if txt := b.text(`#opt`); !strings.Contains(txt, "Opted out of marketing templates") {
		t.Fatalf("after the opt-out: %q", txt)
	}
	b.basics("conversation opted out")
}
