package phone

import (
	"errors"
	"strings"
	"testing"
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
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s, "ID")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if !strings.HasPrefix(got, "+") {
			t.Fatalf("%q -> %q is not E.164", s, got)
		}
		again, err := Normalize(got, "ID")
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}
