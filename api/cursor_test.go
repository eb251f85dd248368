package api

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestPhoneCursorSurvivesTheQueryString: a page cursor handed back in ?cursor= names
// the same phone, though E.164 starts with "+" (which a raw query decodes as a space),
// and a cursor that is not one is refused naming the field.
func TestPhoneCursorSurvivesTheQueryString(t *testing.T) {
	for _, ph := range []string{"+6281234567890", "+15550000001"} {
		r := httptest.NewRequest("GET", "/v1/lists/x/contacts?cursor="+url.QueryEscape(phoneCursor(ph))+"&limit=2", nil)
		got, aerr := parsePhoneCursor(r)
		if aerr != nil || got != ph {
			t.Fatalf("%s came back as %q (%v)", ph, got, aerr)
		}
		raw := httptest.NewRequest("GET", "/v1/lists/x/contacts?cursor="+phoneCursor(ph), nil)
		if got, aerr := parsePhoneCursor(raw); aerr != nil || got != ph {
			t.Fatalf("%s unescaped came back as %q (%v)", ph, got, aerr)
		}
	}
	for _, bad := range []string{"+6281234567890", "!!", "YWJj"} {
		r := httptest.NewRequest("GET", "/x?cursor="+url.QueryEscape(bad), nil)
		if _, aerr := parsePhoneCursor(r); aerr == nil || aerr.Field != "cursor" {
			t.Fatalf("cursor %q accepted (%v)", bad, aerr)
		}
	}
	if got, aerr := parsePhoneCursor(httptest.NewRequest("GET", "/x", nil)); got != "" || aerr != nil {
		t.Fatalf("no cursor: %q %v", got, aerr)
	}
}
