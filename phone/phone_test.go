package phone

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		in, region, want string
	}{
		{"+62 812-3456-7890", "ID", "+6281234567890"},
		{"081234567890", "ID", "+6281234567890"},
		{"0812 3456 7890", "ID", "+6281234567890"},
		{"6281234567890", "ID", "+6281234567890"},
		{"(0812) 3456-7890", "ID", "+6281234567890"},
		{"0062 812 3456 7890", "ID", "+6281234567890"},
		{"+1 (650) 555-1234", "ID", "+16505551234"},
		{"16505551234", "ID", "+16505551234"},
		{"+44 20 7946 0958", "US", "+442079460958"},
		{" +6281234567890 ", "ID", "+6281234567890"},
	}
	for _, c := range cases {
		got, err := Normalize(c.in, c.region)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q, %s) = %q, %v; want %q", c.in, c.region, got, err, c.want)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, in := range []string{"", "0812-xx", "12", "+999 1234", "hello", strings.Repeat("1", 80), "+62 1"} {
		if got, err := Normalize(in, "ID"); !errors.Is(err, ErrInvalid) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

// TestNormalizeRefusesWhatTheParserGuesses: letters, extensions and stray characters
// are refused with their reason, though the parser would make a number of them.
func TestNormalizeRefusesWhatTheParserGuesses(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"0812-ABCD-7890", ErrLetters},
		{"1-800-FLOWERS", ErrLetters},
		{"+62 812 3456 789O", ErrLetters}, // a letter O for a zero
		{"tel:+6281234567890", ErrLetters},
		{"0812-3456-7890 x", ErrLetters},
		{"+62 812 3456 78٥٠ ب", ErrLetters}, // Arabic-Indic digits, then a letter
		{"+62 812 3456 7890 ext. 12", ErrExtension},
		{"+62 812 3456 7890 EXT 12", ErrExtension},
		{"+62 812 3456 7890 extension 12", ErrExtension},
		{"+62 812 3456 7890 x12", ErrExtension},
		{"+62 812 3456 7890 X 12", ErrExtension},
		{"+62 812 3456 7890#12", ErrExtension},
		{"+62 812 3456 7890 ＃12", ErrExtension},
		{"+62 812 3456 7890;ext=12", ErrExtension},
		{"0812 3456 7890, 12", ErrExtension},
		{"081234567890~12", ErrExtension},
		{"+1 650 555 1234 12#", ErrExtension},
		{"081234567890*", ErrCharacter},
		{"0812_3456_7890", ErrCharacter},
		{"0812\x003456 7890", ErrCharacter},
		{"+62 812 3456 7890 ☺", ErrCharacter},
	}
	for _, c := range cases {
		got, err := Normalize(c.in, "ID")
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, c.want) {
			t.Errorf("Normalize(%q) = %q, %v; want %v", c.in, got, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(c.in)) {
			t.Errorf("Normalize(%q): the error %q does not quote the input", c.in, err)
		}
	}
	// The punctuation numbers are written with is not refused.
	for _, in := range []string{"+62\u00a0812\u00a03456\u00a07890", "(+62) 812/3456.7890", "[0812] 3456\u20137890",
		"\uFF0B62 812 3456 7890", "\uFF10\uFF18\uFF11\uFF12\uFF13\uFF14\uFF15\uFF16\uFF17\uFF18\uFF19\uFF10"} {
		if got, err := Normalize(in, "ID"); err != nil || got != "+6281234567890" {
			t.Errorf("Normalize(%q) = %q, %v", in, got, err)
		}
	}
}

func TestWaIDAndCallingCode(t *testing.T) {
	if WaID("+6281234567890") != "6281234567890" {
		t.Fatal("wa_id")
	}
	if CallingCode("+6281234567890") != "62" || CallingCode("+16505551234") != "1" || CallingCode("x") != "" {
		t.Fatal("calling code")
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+62 812-3456-7890", "081234567890", "6281234567890", "00", "+", "0", "+1 (650) 555-1234"} {
		f.Add(s)
	}
	f.Add("+390612345678")
	f.Add("+6281234567890123")
	for _, s := range []string{"0812-ABCD-7890", "+62 812 3456 7890 ext. 12", "+62 812 3456 7890;ext=12", "081234567890#1", "tel:+6281234567890"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if valid, decided := fastE164(s); decided {
			n, err := phonenumbers.Parse(s, "")
			if slow := err == nil && phonenumbers.IsValidNumber(n); slow != valid {
				t.Fatalf("%q: fast path valid=%v, parser valid=%v", s, valid, slow)
			}
		}
		got, err := Normalize(s, "ID")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// Nothing accepted was guessed at: no letters, no extension marks.
		for _, r := range strings.TrimSpace(s) {
			if unicode.IsLetter(r) || strings.ContainsRune("#;,~*\uFF03", r) || unicode.IsControl(r) {
				t.Fatalf("%q accepted as %q, though it contains %q", s, got, r)
			}
		}
		if !strings.HasPrefix(got, "+") {
			t.Fatalf("%q -> %q is not E.164", s, got)
		}
		if valid, decided := fastE164(got); decided && !valid {
			t.Fatalf("fast path refuses %q, which the parser produced", got)
		}
		again, err := Normalize(got, "ID")
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

// TestFastPathAgreesWithParser: the E.164 fast path must answer exactly as the full
// parser does.
func TestFastPathAgreesWithParser(t *testing.T) {
	inputs := []string{"+6281234567890", "+16505551234", "+442079460958", "+6212", "+99912345678", "+390612345678",
		"+8613800138000", "+628123456789012", "+1234567", "+4915112345678", "+6281", "+7912345678901"}
	for _, in := range inputs {
		valid, decided := fastE164(in)
		n, err := phonenumbers.Parse(in, "")
		slow := err == nil && phonenumbers.IsValidNumber(n)
		if decided && valid != slow {
			t.Errorf("%s: fast path valid=%v, parser valid=%v", in, valid, slow)
		}
	}
}

func BenchmarkNormalizeE164(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Normalize("+6281234567890", "ID"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeLocal(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Normalize("0812-3456-7890", "ID"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRulesAgreeWithLibrary checks the compiled rules against the library's own
// validity on every region's example numbers of every type, and on numbers one digit
// away from them (changed, added, dropped).
func TestRulesAgreeWithLibrary(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	decided, valid := 0, 0
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			e := phonenumbers.Format(ex, phonenumbers.E164)
			variants := []string{e, e + "1", e[:len(e)-1]}
			for d := '0'; d <= '9'; d++ {
				variants = append(variants, e[:len(e)-1]+string(d), e[:len(e)-3]+string(d)+e[len(e)-2:])
			}
			for _, v := range variants {
				fast, ok := fastE164(v)
				if !ok {
					continue
				}
				decided++
				if fast {
					valid++
				}
				n, err := phonenumbers.Parse(v, "")
				if slow := err == nil && phonenumbers.IsValidNumber(n); slow != fast {
					t.Errorf("%s (%s example %s): fast path valid=%v, library valid=%v", v, region, e, fast, slow)
				}
			}
		}
	}
	// Most examples and near misses are decided without the parser, valid and not.
	if decided < 20000 || valid < 15000 || decided-valid < 1500 {
		t.Errorf("decided %d numbers, %d valid: the comparison covers too little", decided, valid)
	}
}
