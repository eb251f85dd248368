package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the browser: $KIRIM_CHROMIUM, else Debian's chromium on $PATH.
func chromium() string {
	if p := os.Getenv("KIRIM_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tab is one headless Chromium page, with the errors its scripts logged.
type tab struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	// errs collects console errors and uncaught exceptions (a CSP violation is one).
	errs []string
}

// browser starts headless Chromium for the test, or skips it with how to install
// one; KIRIM_REQUIRE_BROWSER=1 (set by CI) makes a missing browser a failure.
func browser(t *testing.T) *tab {
	t.Helper()
	path := chromium()
	if path == "" {
		if os.Getenv("KIRIM_REQUIRE_BROWSER") == "1" {
			t.Fatal("no Chromium: install it (apt-get install chromium) or set KIRIM_CHROMIUM")
		}
		t.Skip("no Chromium: the browser tests need it (Debian: apt-get install chromium; or set KIRIM_CHROMIUM)")
	}
	// The flags keep Chromium off the network beyond the test's own server, and
	// runnable as root in a container.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	cctx, cancelC := chromedp.NewContext(actx)
	// A whole test gets three minutes: a wait that never ends fails instead of hanging.
	ctx, cancelT := context.WithTimeout(cctx, 3*time.Minute)
	tb := &tab{t: t, ctx: ctx}
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// A page answered 4xx on purpose (a refused form, a wrong password) is logged
			// by Chromium as a failed load; it is the test's to check, not a script's error.
			if strings.HasPrefix(m.Text, "Failed to load resource: the server responded with a status of 4") {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				tb.addErr(string(m.Type) + ": " + m.Text)
			}
		}
	}()
	return tb
}

func (b *tab) addErr(s string) {
	b.mu.Lock()
	b.errs = append(b.errs, s)
	b.mu.Unlock()
}

// run runs steps, failing the test on an error.
func (b *tab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// text returns the text of the first element matching the CSS selector sel once it
// is visible.
func (b *tab) text(sel string) string {
	b.t.Helper()
	b.run("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// location returns the page's path and query.
func (b *tab) location() string {
	b.t.Helper()
	return eval[string](b, `location.pathname + location.search`)
}

// signIn opens the console and signs in through the form.
func (b *tab) signIn(base, login, password string) {
	b.t.Helper()
	b.run("sign in as "+login,
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SendKeys(chromedp.CSS(`#login`), login),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`header.top`)),
	)
}

// basics checks what a page owes every user: a title, a label for every control,
// one h1, and no script error so far.
func (b *tab) basics(page string) {
	b.t.Helper()
	problems := eval[[]string](b, `(function () {
  var out = [];
  if (!document.title.trim()) out.push("no title");
  if (document.querySelectorAll("h1").length !== 1) out.push("h1 count " + document.querySelectorAll("h1").length);
  document.querySelectorAll("input, select, textarea").forEach(function (el) {
    if (el.type === "hidden" || el.type === "submit") return;
    var labelled = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.closest("label") ||
      el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!labelled) out.push("no label: " + el.outerHTML.slice(0, 80));
  });
  return out;
})()`)
	for _, p := range problems {
		b.t.Errorf("%s: %s", page, p)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errs {
		b.t.Errorf("%s: %s", page, e)
	}
	b.errs = nil
}

// screenshotDir is where the pages' screenshots go: $KIRIM_SCREENSHOTS, else
// build/screenshots at the module's root (ignored by git).
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("KIRIM_SCREENSHOTS")
	if dir == "" {
		_, file, _, _ := goruntime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "build", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// shots writes a full-page PNG of the current page at 375 px (a phone) and 1280 px
// wide, and checks that nothing makes the phone view scroll sideways.
func (b *tab) shots(name string) {
	b.t.Helper()
	dir := screenshotDir(b.t)
	for _, width := range []int64{375, 1280} {
		b.run(fmt.Sprintf("viewport %d", width), chromedp.EmulateViewport(width, 800))
		overflow := eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth + 1`)
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatalf("screenshot %s at %d: %v", name, width, err)
		}
		if overflow && width == 375 {
			b.t.Errorf("%s: the page is wider than a 375 px screen", name)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, width)), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.run("viewport back", chromedp.EmulateViewport(1280, 900))
}
