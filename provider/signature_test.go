package provider

import (
	"encoding/json"
	"strings"
	"testing"
)

const sigSecret = "kirim-app-secret"

// Vectors computed with `printf '%s' BODY | openssl dgst -sha256 -hmac SECRET`, and
// RFC 4231 test case 2.
var signatureVectors = []struct {
	name, secret, body, want string
}{
	{"envelope", sigSecret, `{"object":"whatsapp_business_account","entry":[]}`, "sha256=2261a6e2c9fa0093aa4cc78aca6260bfe60516e5443862b825a1fc1b13f3bf73"},
	{"empty body", sigSecret, ``, "sha256=99e7049b80a3340cebc97a18b691f18863c6340aaa651cb5237e63732b1804c1"},
	{"rfc 4231 case 2", "Jefe", "what do ya want for nothing?", "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
}

func TestSignKnownVectors(t *testing.T) {
	for _, v := range signatureVectors {
		if got := Sign(v.secret, []byte(v.body)); got != v.want {
			t.Errorf("%s: Sign = %s, want %s", v.name, got, v.want)
		}
		if !VerifySignature(v.secret, []byte(v.body), v.want) {
			t.Errorf("%s: VerifySignature rejects the known signature", v.name)
		}
	}
}

func TestVerifySignatureFixtureBytes(t *testing.T) {
	body := readFixture(t, "webhooks", "inbound_text.json")
	const want = "sha256=941e6aea142c737a1918600c9a0bab11d3416a1cc1774ef003078ca884459a4d"
	if !VerifySignature(sigSecret, body, want) {
		t.Fatal("the signature of the raw fixture bytes does not verify")
	}
	// Meta signs its \u-escaped bytes; the same JSON re-serialised by Go (raw UTF-8,
	// no escaped slashes) is different bytes and must fail.
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if VerifySignature(sigSecret, again, want) {
		t.Fatal("re-serialised JSON verified; the check is not over raw bytes")
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	body := []byte(signatureVectors[0].body)
	good := signatureVectors[0].want
	hexPart := strings.TrimPrefix(good, "sha256=")
	flipped := []byte(hexPart)
	if flipped[10] == '0' {
		flipped[10] = '1'
	} else {
		flipped[10] = '0'
	}
	tests := []struct {
		name, secret, header string
		body                 []byte
	}{
		{"wrong secret", "other-secret", good, body},
		{"empty secret", "", Sign("", body), body},
		{"tampered body", sigSecret, good, []byte(strings.Replace(string(body), "[]", "[{}]", 1))},
		{"extra byte", sigSecret, good, append(append([]byte(nil), body...), '\n')},
		{"missing prefix", sigSecret, hexPart, body},
		{"sha1 prefix", sigSecret, "sha1=" + hexPart, body},
		{"upper-case prefix", sigSecret, "SHA256=" + hexPart, body},
		{"bad hex", sigSecret, "sha256=" + strings.Repeat("zz", 32), body},
		{"odd hex", sigSecret, good[:len(good)-1], body},
		{"short digest", sigSecret, good[:len(good)-2], body},
		{"long digest", sigSecret, good + "00", body},
		{"flipped bit", sigSecret, "sha256=" + string(flipped), body},
		{"empty header", sigSecret, "", body},
		{"prefix only", sigSecret, "sha256=", body},
		{"space after prefix", sigSecret, "sha256= " + hexPart, body},
	}
	for _, tt := range tests {
		if VerifySignature(tt.secret, tt.body, tt.header) {
			t.Errorf("%s: VerifySignature accepted it", tt.name)
		}
	}
}

func TestVerifySignatureAcceptsUpperHex(t *testing.T) {
	v := signatureVectors[0]
	upper := "sha256=" + strings.ToUpper(strings.TrimPrefix(v.want, "sha256="))
	if !VerifySignature(v.secret, []byte(v.body), upper) {
		t.Fatal("upper-case hex digest rejected")
	}
}

func BenchmarkVerifySignature1KB(b *testing.B) {
	body := []byte(strings.Repeat("a", 1024))
	sig := Sign(sigSecret, body)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !VerifySignature(sigSecret, body, sig) {
			b.Fatal("rejected")
		}
	}
}
