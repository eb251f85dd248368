package console_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserUploadList uploads a CSV file through the file input and follows the
// import to its end: the refused row is reported, and the list holds the others.
func TestBrowserUploadList(t *testing.T) {
	k := start(t)
	b := browser(t)
	// Enough rows that the import may still run when its page opens, and is then
	// followed live; one row is refused.
	const rows = 20000
	var csv strings.Builder
	csv.WriteString("No. HP;Nama;Kota\n0812-0000-0000;Budi;Jakarta\n12345;Sari;Bandung\n")
	for i := 1; i < rows; i++ {
		fmt.Fprintf(&csv, "0812%08d;Pelanggan %d;Surabaya\n", i, i)
	}
	file := filepath.Join(t.TempDir(), "pelanggan.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	b.signIn(k.base, "demo-admin", "kirim-demo-admin")
	b.run("open the lists", chromedp.Navigate(k.base+"/console/lists"), chromedp.WaitVisible(chromedp.CSS(`#upload`)))
	b.basics("lists")
	b.shots("lists")
	b.run("upload",
		chromedp.SendKeys(chromedp.CSS(`#l-name`), "Pelanggan Desember"),
		chromedp.SetUploadFiles(chromedp.CSS(`#l-file`), []string{file}),
		chromedp.Click(chromedp.CSS(`#upload button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#import`)))
	live := eval[bool](b, `document.querySelector("#import").hasAttribute("data-poll")`)
	t.Logf("the import was running when its page opened: %v", live)
	b.run("the import ends", chromedp.WaitVisible(chromedp.CSS(`#imp-errors`)))
	if st := b.text(`#imp-status`); st != "Done" {
		t.Fatalf("status %q", st)
	}
	if errs := b.text(`#imp-errors tbody`); !strings.Contains(errs, "3") || !strings.Contains(errs, `invalid phone number "12345"`) || strings.Count(errs, "\n") > 0 {
		t.Fatalf("refused rows %q", errs)
	}
	if n := b.text(`[data-k=imported]`); n != fmt.Sprint(rows) {
		t.Fatalf("imported %q, want %d", n, rows)
	}
	if p := eval[float64](b, `document.querySelector("#imp-progress").value`); p != 1 {
		t.Errorf("progress %v at the end", p)
	}
	b.basics("import")
	b.shots("import")

	b.run("open the list", chromedp.Click(chromedp.CSS(`#import a`)), chromedp.WaitVisible(chromedp.CSS(`#members`)))
	if n := b.text(`#list-count`); n != fmt.Sprint(rows) {
		t.Errorf("the list counts %q", n)
	}
	if first := b.text(`#members tbody tr`); !strings.Contains(first, "+6281200000000") || !strings.Contains(first, "Budi") || !strings.Contains(first, "Jakarta") {
		t.Errorf("first member %q", first)
	}
	b.basics("list")
	b.shots("list")

	// A member's page opts it out (after a confirmation) and the list says so.
	b.run("open a contact", chromedp.Click(chromedp.CSS(`#members tbody a`)), chromedp.WaitVisible(chromedp.CSS(`#opt-out`)))
	b.basics("contact")
	b.run("opt out", chromedp.Click(chromedp.CSS(`#opt-out`)), chromedp.WaitVisible(chromedp.CSS(`#opt-in`)))
	if st := b.text(`#opt-state`); !strings.Contains(st, "opted out") {
		t.Errorf("contact state %q", st)
	}
	b.run("back to the list", chromedp.Click(chromedp.CSS(`#contact-lists a`)), chromedp.WaitVisible(chromedp.CSS(`#members`)))
	if first := b.text(`#members tbody tr`); !strings.Contains(first, "Opted out") {
		t.Errorf("first member after the opt-out %q", first)
	}
}
