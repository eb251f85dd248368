package httpguard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestGateRefusesAboveItsSlots(t *testing.T) {
	g := New(2, 0)
	var releases []func()
	for i := range 2 {
		w := httptest.NewRecorder()
		release, ok := g.Enter(w, httptest.NewRequest("POST", "/webhook", nil))
		if !ok {
			t.Fatalf("slot %d refused", i)
		}
		releases = append(releases, release)
	}
	w := httptest.NewRecorder()
	if _, ok := g.Enter(w, httptest.NewRequest("POST", "/webhook", nil)); ok {
		t.Fatal("a third body admitted into two slots")
	}
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" ||
		json.Unmarshal(w.Body.Bytes(), &env) != nil || env.Error.Code != "service_busy" {
		t.Fatalf("refusal: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if g.InUse() != 2 || g.Refused() != 1 {
		t.Fatalf("in use %d, refused %d", g.InUse(), g.Refused())
	}
	releases[0]()
	releases[0]() // a second call gives nothing back twice
	if g.InUse() != 1 {
		t.Fatalf("in use %d after one release", g.InUse())
	}
	if release, ok := g.Enter(httptest.NewRecorder(), httptest.NewRequest("POST", "/webhook", nil)); !ok {
		t.Fatal("a freed slot refused")
	} else {
		release()
	}
}
