package console_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kirim/internal/kirimtest"
)

// betaAdminKey is the admin key of the second account of startTwo.
const betaAdminKey = "console_beta_admin_0123456789"

// startTwo runs the example configuration with a second account, beta, that has a
// number of its own.
func startTwo(t *testing.T) *kirim {
	t.Helper()
	return startEdited(t, `
[[numbers]]
alias = "beta-main"
phone_number_id = "100000000000002"
waba_id = "200000000000002"
account = "beta"
pair_gap = "0s"

[[accounts]]
id = "beta"
name = "Beta"
opening_balance = 1_000_000
  [[accounts.keys]]
  name = "beta-admin"
  key = "`+betaAdminKey+`"
  scopes = ["admin"]
`)
}

// betaData is what account beta owns, and the words only its records hold.
type betaData struct {
	phone, message, list, campaign, endpoint, mediaID string
	marks                                             []string
}

func seedBeta(t *testing.T, k *kirim) betaData {
	t.Helper()
	beta := k.admin.As(betaAdminKey, "")
	d := betaData{phone: "+6281399900001", marks: []string{"rahasia beta", "beta-hook", "beta-crm", "beta-pelanggan", "Promo Beta", "Budi Beta"}}
	d.marks = append(d.marks, d.phone)
	k.customerWrites(t, map[string]any{"from": d.phone, "name": "Budi Beta", "phone_number_id": "100000000000002", "text": "rahasia beta"})
	k.customerWrites(t, map[string]any{"from": d.phone, "phone_number_id": "100000000000002", "type": "image",
		"media": map[string]string{"mime_type": "image/png", "data": base64.StdEncoding.EncodeToString([]byte("\x89PNG beta"))}})
	items := waitConversation(t, beta, d.phone, 2, nil)
	if items[0].Media == nil {
		t.Fatalf("beta's image: %+v", items[0])
	}
	d.mediaID = items[0].Media.ID
	var sent struct{ ID string }
	beta.Must(http.StatusAccepted, "POST", "/v1/messages", map[string]any{"to": d.phone, "text": map[string]string{"body": "balasan beta"}}, &sent)
	d.message = sent.ID
	d.list = uploadList(t, k, betaAdminKey, "beta-pelanggan", "phone,name\n+6281399900002,Sari Beta\n")
	var c struct{ ID string }
	beta.Must(http.StatusCreated, "POST", "/v1/campaigns", map[string]any{"name": "Promo Beta", "list_ids": []string{d.list},
		"template": map[string]string{"name": "hello_world", "language": "en_US"}}, &c)
	d.campaign = c.ID
	var ep struct{ ID string }
	beta.Must(http.StatusCreated, "POST", "/v1/callbacks/endpoints", map[string]any{"url": "http://127.0.0.1:9/beta-hook",
		"events": []string{"message.*"}, "description": "beta-hook"}, &ep)
	d.endpoint = ep.ID
	beta.Must(http.StatusCreated, "POST", "/v1/keys", map[string]any{"name": "beta-crm", "scopes": []string{"send"}}, nil)
	return d
}

// uploadList imports csv as a list with key and waits for the import.
func uploadList(t *testing.T, k *kirim, key, name, csv string) string {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("name", name)
	part, _ := mw.CreateFormFile("file", name+".csv")
	_, _ = io.WriteString(part, csv)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, k.base+"/v1/lists", &buf)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var started struct {
		ImportID string `json:"import_id"`
		ListID   string `json:"list_id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %d %v", resp.StatusCode, err)
	}
	api := k.admin.As(key, "")
	kirimtest.WaitFor(t, "the import", 30*time.Second, func() bool {
		var im struct{ Status string }
		api.Must(http.StatusOK, "GET", "/v1/imports/"+started.ImportID, nil, &im)
		return im.Status == "done"
	})
	return started.ListID
}

// TestBrowserTenantsApart: an admin of one account never sees another account's
// data: none of beta's records is on any list page of the demo account's admin, and
// the address of each of them answers not found, in the browser and over plain HTTP.
func TestBrowserTenantsApart(t *testing.T) {
	k := startTwo(t)
	d := seedBeta(t, k)
	// The demo account has data of its own on the same pages.
	k.customerWrites(t, map[string]any{"from": "+6281300000041", "name": "Demo Customer", "text": "halo demo"})
	waitConversation(t, k.admin, "+6281300000041", 1, nil)

	// clean checks a page for beta's words and ids; the page of an address typed
	// holds that address (in the language form's way back), so ids in the path do not
	// count there.
	clean := func(t *testing.T, where, body string) {
		t.Helper()
		for _, mark := range append(d.marks, attr(d.phone), d.message, d.list, d.campaign, d.endpoint, d.mediaID) {
			if strings.Contains(body, mark) && !strings.Contains(where, mark) && !strings.Contains(attr(where), mark) {
				t.Errorf("%s shows beta's %q", where, mark)
			}
		}
	}

	b := browser(t)
	b.signIn(k.base, "demo-admin", "kirim-demo-admin")
	lists := []struct{ path, ready, own string }{
		{"/console/inbox", "#conversations", "Demo Customer"},
		{"/console/callbacks", "#endpoints", ""},
		{"/console/keys", "#keys", "demo"},
		{"/console/audit?action=*", "#audit", ""},
	}
	for _, pg := range lists {
		b.run("open "+pg.path, chromedp.Navigate(k.base+pg.path), chromedp.WaitVisible(chromedp.CSS(pg.ready)))
		body := eval[string](b, `document.documentElement.outerHTML`)
		if !strings.Contains(body, pg.own) {
			t.Errorf("%s lacks the account's own %q", pg.path, pg.own)
		}
		clean(t, pg.path, body)
	}
	// Beta's addresses typed in the browser: not found, nothing of beta's shown.
	for _, path := range []string{"/console/callbacks/" + d.endpoint, "/console/inbox/" + d.phone + "/media/" + d.mediaID} {
		b.run("open "+path, chromedp.Navigate(k.base+path), chromedp.WaitVisible(chromedp.CSS(`h1`)))
		if txt := b.text(`main`); !strings.Contains(strings.ToLower(txt), "no such") {
			t.Errorf("%s: %q", path, txt)
		}
		clean(t, path, eval[string](b, `document.documentElement.outerHTML`))
	}
	// The demo account's conversation with beta's customer is its own: empty.
	b.run("beta's customer", chromedp.Navigate(k.base+"/console/inbox/"+d.phone), chromedp.WaitVisible(chromedp.CSS(`#thread`)))
	if txt := b.text(`#thread`); !strings.Contains(txt, "No messages with this customer yet.") || strings.Contains(txt, "rahasia") {
		t.Errorf("beta's customer in the demo account: %q", txt)
	}
	b.basics("beta's customer")

	// Over plain HTTP, every page of a record of beta's answers 404 (pages not in
	// this build answer 404 too), and every list page shows none of beta's records.
	h := k.client(t)
	h.signIn("demo-admin", "kirim-demo-admin")
	for _, path := range []string{"/console/messages/" + d.message, "/console/lists/" + d.list, "/console/campaigns/" + d.campaign,
		"/console/callbacks/" + d.endpoint, "/console/inbox/" + d.phone + "/media/" + d.mediaID} {
		st, _, body := h.get(path)
		if st != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, st)
		}
		clean(t, path, body)
	}
	for _, path := range []string{"/console/messages", "/console/lists", "/console/campaigns", "/console/inbox", "/console/callbacks",
		"/console/keys", "/console/audit?action=*", "/console/"} {
		st, _, body := h.get(path)
		if st != http.StatusOK && st != http.StatusNotFound {
			t.Errorf("%s: %d", path, st)
		}
		clean(t, path, body)
	}
	// Changes aimed at beta's records are refused as not found and change nothing.
	for _, path := range []string{"/console/callbacks/" + d.endpoint + "/delete", "/console/callbacks/" + d.endpoint + "/rotate"} {
		if st, _, _ := h.post(path, nil); st != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", path, st)
		}
	}
	k.admin.As(betaAdminKey, "").Must(http.StatusOK, "GET", "/v1/callbacks/endpoints/"+d.endpoint, nil, nil)
}
