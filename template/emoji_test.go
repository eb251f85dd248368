package template

import "testing"

func TestCountEmoji(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"empty", "", 0},
		{"plain text", "Halo Budi, pesanan 123 dikirim #1 *tebal*", 0},
		{"one", "Terima kasih 🙏", 1},
		{"three in a row", "🎉🎉🎉", 3},
		{"skin tone", "👍🏽", 1},
		{"skin tone alone", "🏽", 1},
		{"family ZWJ", "👨‍👩‍👧‍👦", 1},
		{"profession ZWJ with tone", "🧑🏽‍💻", 1},
		{"couple with heart", "👩‍❤️‍👨", 1},
		{"rainbow flag", "🏳️‍🌈", 1},
		{"eye in speech bubble", "👁️‍🗨️", 1},
		{"flag pair", "🇮🇩", 1},
		{"two flags", "🇮🇩🇺🇸", 2},
		{"lone regional indicator", "🇮", 1},
		{"three regional indicators", "🇮🇩🇮", 2},
		{"subdivision flag", "🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", 1},
		{"keycap", "1️⃣", 1},
		{"keycap without selector", "#\u20e3", 1},
		{"digit with selector only", "1\ufe0f", 0},
		{"heart with selector", "❤️", 1},
		{"heart text presentation", "❤", 0},
		{"sun with selector", "☀️", 1},
		{"copyright text", "PT Acme© 2026™", 0},
		{"copyright emoji", "©️", 1},
		{"star emoji presentation", "⭐", 1},
		{"check mark", "✅ selesai", 1},
		{"emoji with text selector", "😀\ufe0e", 0},
		{"raised hand with tone", "✋🏿", 1},
		{"index finger text default with tone", "☝🏽", 1},
		{"mixed sentence", "Promo 🎁 untuk 👨‍👩‍👧 di 🇮🇩 ✨!", 4},
		{"invalid utf8", "\xff\xfe🙂", 1},
		{"dangling ZWJ", "🙂\u200d", 1},
		{"ZWJ then text", "🙂\u200da", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countEmoji(tt.in); got != tt.want {
				t.Errorf("countEmoji(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestNthEmoji(t *testing.T) {
	s := "a 👍🏽 b 🇮🇩 c 👨‍👩‍👧‍👦"
	for i, want := range []string{"👍🏽", "🇮🇩", "👨‍👩‍👧‍👦", ""} {
		if got := nthEmoji(s, i+1); got != want {
			t.Errorf("nthEmoji(%d) = %q, want %q", i+1, got, want)
		}
	}
	if got := firstEmoji("no emoji here"); got != "" {
		t.Errorf("firstEmoji = %q, want empty", got)
	}
}
