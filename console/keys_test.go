package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestKeysPage: an admin makes a key with the scopes chosen (shown once, and it
// works), sees keys listed without their secrets, and revokes one; a refused form
// says which field.
func TestKeysPage(t *testing.T) {
	k := start(t)
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")
	st, _, body := b.get("/console/keys")
	if st != http.StatusOK || !strings.Contains(body, "demo") || strings.Contains(body, "kirim_demo_key_change_me") ||
		!strings.Contains(body, "Keys from the configuration are changed there.") {
		t.Fatalf("keys: %d %s", st, body)
	}

	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"no scope", url.Values{"name": {"crm"}}, `<fieldset aria-invalid="true"`},
		{"bad name", url.Values{"name": {"crm/prod"}, "scopes": {"send"}}, `value="crm/prod" aria-invalid="true"`},
		{"unknown scope", url.Values{"name": {"crm"}, "scopes": {"root"}}, `&#34;root&#34; is not one of send`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, _, body := b.post("/console/keys", tc.form); st != http.StatusBadRequest || !strings.Contains(body, tc.want) || strings.Contains(body, `id="secret"`) {
				t.Fatalf("%d, want 400 with %q: %s", st, tc.want, body)
			}
		})
	}

	st, _, body = b.post("/console/keys", url.Values{"name": {"crm-prod"}, "scopes": {"send", "money"}})
	m := regexp.MustCompile(`<pre id="secret">([^<]+)</pre>`).FindStringSubmatch(body)
	if st != http.StatusOK || m == nil || !strings.Contains(body, "Key created.") {
		t.Fatalf("create: %d %s", st, body)
	}
	secret := html.UnescapeString(m[1])
	crm := k.admin.As(secret, "")
	crm.Must(http.StatusOK, "GET", "/v1/balance", nil, nil)
	if st, _ := crm.Call("GET", "/v1/keys", nil); st != http.StatusForbidden {
		t.Errorf("a send+money key lists keys: %d", st)
	}
	var keys struct {
		Data []struct {
			ID, Name string
			Scopes   []string
		} `json:"data"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/keys", nil, &keys)
	id := ""
	for _, key := range keys.Data {
		if key.Name == "crm-prod" {
			id = key.ID
			if strings.Join(key.Scopes, ",") != "money,send" {
				t.Errorf("scopes %v", key.Scopes)
			}
		}
	}
	_, _, body = b.get("/console/keys")
	if !strings.Contains(body, `data-id="`+id+`"`) || strings.Contains(body, m[1]) {
		t.Fatal("the list lacks the key or shows its secret")
	}

	if st, loc, _ := b.post("/console/keys/"+id+"/revoke", nil); st != http.StatusSeeOther || loc != "/console/keys?done=keys.revoked_ok" {
		t.Fatalf("revoke: %d %q", st, loc)
	}
	if st, _ := crm.Call("GET", "/v1/balance", nil); st != http.StatusUnauthorized {
		t.Errorf("a revoked key still works: %d", st)
	}
	if _, _, body := b.get("/console/keys?done=keys.revoked_ok"); !strings.Contains(body, "Key revoked.") || !strings.Contains(body, "revoked 20") {
		t.Errorf("the revoked key is not shown as revoked: %s", body)
	}
	if st, _, body := b.post("/console/keys/key_nothing/revoke", nil); st != http.StatusNotFound || !strings.Contains(body, "no such key") {
		t.Errorf("revoke of nothing: %d", st)
	}
	// A key of the configuration is refused with the reason.
	var all struct {
		Data []struct{ ID, Source string } `json:"data"`
	}
	k.admin.Must(http.StatusOK, "GET", "/v1/keys", nil, &all)
	for _, key := range all.Data {
		if key.Source == "config" {
			if st, _, body := b.post("/console/keys/"+key.ID+"/revoke", nil); st != http.StatusConflict || !strings.Contains(body, "written in the configuration") {
				t.Errorf("revoke of a configured key: %d", st)
			}
		}
	}
}
