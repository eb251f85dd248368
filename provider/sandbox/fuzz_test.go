package sandbox

import (
	"encoding/json"
	"testing"

	"kirim/provider"
)

var sendSeeds = []string{
	`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+6281234567890","type":"text","text":{"body":"Hi","preview_url":false}}`,
	`{"messaging_product":"whatsapp","to":"6281234567890","type":"template","template":{"name":"order_update","language":{"code":"id"},"components":[{"type":"header","parameters":[{"type":"image","image":{"link":"https://x/p.jpg"}}]},{"type":"body","parameters":[{"type":"text","text":"Budi"},{"type":"text","text":"INV-9"}]},{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"INV-9"}]}]},"biz_opaque_callback_data":"ledger-123"}`,
	`{"messaging_product":"whatsapp","to":"+62 812-3456-7890","type":"interactive","interactive":{"type":"button","body":{"text":"Pay?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}}]}}}`,
	`{"messaging_product":"whatsapp","to":"6281234567890","type":"interactive","interactive":{"type":"list","body":{"text":"Pick"},"action":{"button":"Plans","sections":[{"title":"Monthly","rows":[{"id":"p1","title":"Basic","description":"Rp 50k"}]}]}}}`,
	`{"messaging_product":"whatsapp","to":"6281234567890","type":"image","image":{"id":"123","caption":"x"}}`,
	`{"messaging_product":"whatsapp","to":"6281234567890","type":"location","location":{"latitude":-6.2,"longitude":106.8}}`,
	`{"messaging_product":"whatsapp","to":"6281234567890","type":"contacts","contacts":[{"name":{"formatted_name":"Budi S"}}]}`,
	`{"messaging_product":"whatsapp","to":"6281234567890","type":"reaction","reaction":{"message_id":"wamid.X","emoji":"👍"}}`,
	`{"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"}`,
	`{"messaging_product":"whatsapp","to":"6281234567890","type":"template","template":{"name":"t","language":{"code":"en"},"components":[{"type":"button","index":"999"}]}}`,
	`{}`, `null`, `[]`, `{"to":1}`,
}

func FuzzSendRequest(f *testing.F) {
	for _, s := range sendSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, e := parseSend(data)
		if req == nil {
			t.Fatal("nil request")
		}
		if e != nil {
			if e.code == 0 || e.details == "" || errorTitle(e.code) == "" {
				t.Fatalf("refusal without code or details: %+v", e)
			}
			// The refusal must encode as Meta's envelope and parse back.
			b, err := json.Marshal(provider.NewErrorBody(e.code, errorTitle(e.code), e.details, "t"))
			if err != nil {
				t.Fatal(err)
			}
			if pe := provider.ParseError(400, b); pe.Code != e.code {
				t.Fatalf("round trip: code %d, want %d", pe.Code, e.code)
			}
			return
		}
		if req.readReceipt {
			return
		}
		if req.wa == 0 || req.msg.Type == "" {
			t.Fatalf("accepted without recipient or type: %+v", req.msg)
		}
		if req.msg.Type == provider.TypeTemplate && (req.msg.Template == nil || req.msg.Template.Name == "") {
			t.Fatalf("template accepted without a name")
		}
	})
}

func TestSendSeedsParse(t *testing.T) {
	for _, s := range sendSeeds[:9] {
		if _, e := parseSend([]byte(s)); e != nil {
			t.Errorf("seed %s: %+v", s, e)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain", `q"b\s`, "tab\tnl\n", "héllo 👍", "bad\xffutf8", "\x00\x1f"} {
		b := appendJSONString(nil, s)
		for _, c := range b {
			if c >= 0x80 {
				t.Fatalf("%q: non-ASCII byte in %q", s, b)
			}
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q: %s does not decode: %v", s, b, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q: round trip %q, want %q", s, back, wantBack)
		}
	}
}
