package console

import (
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzMediaHeaders: whatever type and filename a customer's file comes with, the
// console serves it as a download unless it is an image, audio or video a browser
// shows as such, and never lets it run as a page.
func FuzzMediaHeaders(f *testing.F) {
	for _, seed := range [][2]string{
		{"image/jpeg", ""}, {"application/pdf", `attachment; filename="faktur.pdf"`}, {"text/html", ""},
		{"image/svg+xml", `inline; filename="x.svg"`}, {"IMAGE/PNG; charset=x", ""}, {"", ""}, {"text/html;;", `attachment; filename="a\"b"`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, ctype, disp string) {
		rec := httptest.NewRecorder()
		pw := &passWriter{w: rec, h: http.Header{}}
		pw.Header().Set("Content-Type", ctype)
		pw.Header().Set("Content-Disposition", disp)
		if _, err := pw.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		h := rec.Result().Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("no sandbox for %q", ctype)
		}
		mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
		if !inlineTypes[mt] {
			d, _, err := mime.ParseMediaType(h.Get("Content-Disposition"))
			if err != nil || d != "attachment" {
				t.Fatalf("%q served with disposition %q", ctype, h.Get("Content-Disposition"))
			}
		}
	})
}

// FuzzEventList: the events field splits into filters that hold no separator and
// are never empty.
func FuzzEventList(f *testing.F) {
	for _, s := range []string{"message.*, balance.low", " , ", "*", "a\tb\nc", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range eventList(s) {
			if e == "" || strings.ContainsAny(e, ", \t\r\n") {
				t.Fatalf("filter %q from %q", e, s)
			}
		}
	})
}
