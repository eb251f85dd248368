package engine

import (
	"strings"
	"testing"
)

// TestOptKeywordIntent: real replies, in Indonesian and English, that ask to stop or
// to start again, and ones that only mention the word.
func TestOptKeywordIntent(t *testing.T) {
	out := newKeywordSet(DefaultOptOutKeywords, DefaultOptFiller)
	in := newKeywordSet(DefaultOptInKeywords, DefaultOptFiller)
	cases := []struct {
		text     string
		out, in_ bool
	}{
		{"STOP", true, false},
		{"stop", true, false},
		{" Stop ", true, false},
		{"STOP.", true, false},
		{"Stop!!!", true, false},
		{"stop 🙏", true, false},
		{"STOP PROMO", true, false},
		{"stop promosi", true, false},
		{"Berhenti", true, false},
		{"berhenti ya", true, false},
		{"BERHENTI.", true, false},
		{"berhenti aja kak", true, false},
		{"Berhenti dong min", true, false},
		{"unsubscribe", true, false},
		{"Unsubscribe please", true, false},
		{"UNSUBSCRIBE, thanks", true, false},
		{"pls stop", true, false},
		{"stop now", true, false},
		{"ok stop", true, false},
		{"stop, makasih", true, false},
		{"START", false, true},
		{"mulai", false, true},
		{"Mulai lagi ya", false, true},
		{"start please", false, true},
		{"jangan berhenti kirim info", false, false},
		{"stop by toko kami besok", false, false},
		{"kapan promo berhenti?", false, false},
		{"don't stop", false, false},
		{"stopwatch", false, false},
		{"berhentikan", false, false},
		{"saya mau berhenti langganan tapi nanti dulu", false, false},
		{"", false, false},
		{"ya", false, false},
		{"promo", false, false},
		{"STOP " + string(make([]byte, 80)), false, false},
	}
	for _, c := range cases {
		if got := out.match(c.text); got != c.out {
			t.Errorf("opt-out %q: %v, want %v", c.text, got, c.out)
		}
		if got := in.match(c.text); got != c.in_ {
			t.Errorf("opt-in %q: %v, want %v", c.text, got, c.in_)
		}
	}
	// A keyword of several words, and filler configured away.
	multi := newKeywordSet([]string{"stop  promo"}, nil)
	if !multi.match("Stop promo!") || multi.match("stop") {
		t.Error("a two-word keyword")
	}
}

// FuzzOptKeyword: any inbound text is matched without a panic, and a match means the
// text holds a keyword and nothing but filler around it.
func FuzzOptKeyword(f *testing.F) {
	for _, s := range []string{"STOP", "berhenti ya", "stop by toko kami", "🙏", "STOP\x00PROMO", "ｓｔｏｐ"} {
		f.Add(s)
	}
	ks := newKeywordSet(DefaultOptOutKeywords, DefaultOptFiller)
	f.Fuzz(func(t *testing.T, s string) {
		if ks.match(s) && !strings.Contains(strings.ToUpper(s), "STOP") && !strings.Contains(strings.ToUpper(s), "BERHENTI") &&
			!strings.Contains(strings.ToUpper(s), "UNSUBSCRIBE") {
			t.Fatalf("%q matched without a keyword", s)
		}
	})
}
