package template

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"kirim/provider"
)

var fuzzCategories = []Category{CategoryUtility, CategoryMarketing, CategoryAuthentication, "", "PROMO"}
var fuzzHeaders = []HeaderFormat{"", HeaderText, HeaderImage, HeaderVideo, HeaderDocument, HeaderLocation, "GIF"}
var fuzzButtons = []ButtonType{ButtonQuickReply, ButtonURL, ButtonPhoneNumber, ButtonCopyCode, ButtonOTP, "FLOW"}

func FuzzLint(f *testing.F) {
	f.Add("order_update", "id", uint8(0), uint8(1), "Pesanan {{1}}", "Halo {{1}}, pesanan {{2}} dikirim hari ini.", "Acme", "Lacak", "https://acme.co.id/t/{{1}}", "6281234567890", uint8(0x21), "INV-9", false)
	f.Add("weekend_sale", "en", uint8(1), uint8(2), "", "Hi {{1}} 👨‍👩‍👧‍👦🇮🇩👍🏽1️⃣ sale di bit.ly/x  now\n\n{{2}}{{3}}", "🎉", "Shop now", "https://{{1}}.x/{{2}}", "0812", uint8(0x10), "", false)
	f.Add("otp", "en_US", uint8(2), uint8(0), "", "", "", "Copy code", "", "", uint8(0x44), "", false)
	f.Add("named", "en", uint8(0), uint8(1), "Hi {{first_name}}", "Hello {{first_name}} {{ 1 }} {{", "{{x}}", "", "{{", "+", uint8(0x53), "x", true)
	f.Add("\xff", "\x00", uint8(9), uint8(9), "{{{{}}}}", "\u200d\ufe0f\U000E0067🏴", "\r\n", "\u20e3", "http://", "+0", uint8(0xff), "\xff", true)
	addCorpusLintSeeds(f)
	f.Fuzz(func(t *testing.T, name, lang string, cat, hdr uint8, header, bodyText, footer, label, link, phoneNo string, btns uint8, example string, named bool) {
		tpl := Template{
			Name:     name,
			Language: lang,
			Category: fuzzCategories[int(cat)%len(fuzzCategories)],
			Status:   StatusApproved,
			Body:     Body{Text: bodyText, Examples: []string{example, example}},
			Footer:   &Footer{Text: footer},
		}
		if named {
			tpl.ParameterFormat = FormatNamed
			tpl.Body.NamedExamples = []NamedExample{{Name: example, Example: example}}
		}
		if hf := fuzzHeaders[int(hdr)%len(fuzzHeaders)]; hf != "" {
			tpl.Header = &Header{Format: hf, Text: header, Examples: []string{example}, MediaHandle: example, MediaSize: int64(len(header)) << 20}
		}
		// The low and high nibbles pick up to two button types, so every pair occurs.
		for _, k := range []uint8{btns & 0x0f, btns >> 4} {
			if k == 0 {
				continue
			}
			tpl.Buttons = append(tpl.Buttons, Button{
				Type: fuzzButtons[int(k)%len(fuzzButtons)], Text: label, URL: link, PhoneNumber: phoneNo,
				Example: example, OTPType: OTPType(example),
			})
		}
		a, b := Lint(tpl), Lint(tpl)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("Lint is not deterministic:\n%v\n%v", a, b)
		}
		for _, v := range a {
			if v.Severity == "" || v.Component == "" || v.Message == "" {
				t.Fatalf("incomplete violation %+v", v)
			}
		}
		_ = tpl.Validate()
		_ = tpl.ParamCount()
		_ = countEmoji(bodyText)
		p := provider.Template{Name: name, Language: provider.Language{Code: lang}, Components: []provider.TemplateComponent{
			{Type: "header", Parameters: []provider.Parameter{{Type: header, Text: example}}},
			{Type: "body", Parameters: []provider.Parameter{{Type: "text", Text: example, ParameterName: example}, {Type: "text", Text: label}}},
			{Type: "button", SubType: label, Index: phoneNo, Parameters: []provider.Parameter{{Type: "text", Text: link}}},
		}}
		_ = CheckSend(tpl, p)
		_, _ = Fill(tpl, p)
		// MediaSize is not on the wire and enums are upper-cased on the way back, so
		// only the definition's own round trip is exact (FuzzFromDefinition).
		if _, err := FromDefinition(tpl.Definition()); err != nil {
			t.Fatalf("FromDefinition(Definition()): %v", err)
		}
	})
}

func FuzzFromDefinition(f *testing.F) {
	seeds := []string{
		`{"name":"order_update","language":"id","category":"UTILITY","parameter_format":"POSITIONAL","components":[
		 {"type":"HEADER","format":"TEXT","text":"Pesanan {{1}} Anda","example":{"header_text":["INV-9"]}},
		 {"type":"BODY","text":"Halo {{1}}, pesanan {{2}} dikirim.","example":{"body_text":[["Budi","INV-9"]]}},
		 {"type":"FOOTER","text":"Acme"},
		 {"type":"BUTTONS","buttons":[{"type":"URL","text":"Lacak","url":"https://a.id/t/{{1}}","example":["INV-9"]},
		   {"type":"QUICK_REPLY","text":"Berhenti"}]}]}`,
		`{"name":"otp","language":"en_US","category":"authentication","message_send_ttl_seconds":600,"components":[
		 {"type":"body","add_security_recommendation":true},{"type":"footer","code_expiration_minutes":5},
		 {"type":"buttons","buttons":[{"type":"otp","otp_type":"one_tap","text":"Copy","autofill_text":"Autofill",
		  "supported_apps":[{"package_name":"id.acme","signature_hash":"K8a/AINcGX7"}]}]}]}`,
		`{"id":"99","name":"promo","language":"en","category":"MARKETING","status":"APPROVED","parameter_format":"NAMED",
		 "quality_score":{"score":"GREEN","date":1767225600},"components":[
		 {"type":"HEADER","format":"IMAGE","example":{"header_handle":["4::aW1n","4::b"]}},
		 {"type":"BODY","text":"Hi {{first_name}}!","example":{"body_text_named_params":[{"param_name":"first_name","example":"Budi"}]}},
		 {"type":"BUTTONS","buttons":[{"type":"COPY_CODE","example":["SAVE20"]},{"type":"PHONE_NUMBER","text":"Call","phone_number":"+6281"}]}]}`,
		`{"name":"x","components":[{"type":"BODY"},{"type":"BODY"}]}`,
		`{"name":"x","components":[{"type":"FOOTER","text":"","code_expiration_minutes":-3},{"type":"BODY","example":{"body_text":[[],["a"]]}}]}`,
		`{}`,
		`null`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	for _, file := range []string{"good.json", "bad.json"} {
		for _, e := range loadCorpus(f, file) {
			data, err := json.Marshal(e.Template)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d provider.TemplateDefinition
		if json.Unmarshal(data, &d) != nil {
			return
		}
		tpl, err := FromDefinition(d)
		if err != nil {
			return
		}
		a := Lint(tpl)
		if b := Lint(tpl); !reflect.DeepEqual(a, b) {
			t.Fatalf("Lint is not deterministic")
		}
		_ = tpl.Validate()
		_ = tpl.Params()
		again, err := FromDefinition(tpl.Definition())
		if err != nil {
			t.Fatalf("FromDefinition(Definition()): %v", err)
		}
		if !reflect.DeepEqual(again, tpl) {
			t.Fatalf("round trip changed the template\n got %+v\nwant %+v", again, tpl)
		}
	})
}

// addCorpusLintSeeds seeds FuzzLint with the texts of the lint corpus, so mutations
// start from templates the linter is known to judge right.
func addCorpusLintSeeds(f *testing.F) {
	for _, file := range []string{"good.json", "bad.json"} {
		for _, e := range loadCorpus(f, file) {
			var header, body, footer, label, link, phoneNo, example string
			var hdr, btns uint8
			for _, c := range e.Template.Components {
				switch c.Type {
				case "HEADER":
					header = c.Text
					hdr = uint8(slices.Index(fuzzHeaders, HeaderFormat(c.Format)))
				case "BODY":
					body = c.Text
					if c.Example != nil && len(c.Example.BodyText) > 0 && len(c.Example.BodyText[0]) > 0 {
						example = c.Example.BodyText[0][0]
					}
				case "FOOTER":
					footer = c.Text
				case "BUTTONS":
					for i, b := range c.Buttons {
						if i < 2 {
							btns |= uint8(slices.Index(fuzzButtons, ButtonType(b.Type))+1) << (4 * i)
						}
						label, link, phoneNo = b.Text, b.URL, b.PhoneNumber
					}
				}
			}
			cat := uint8(slices.Index(fuzzCategories, Category(e.Template.Category)))
			f.Add(e.Template.Name, e.Template.Language, cat, hdr, header, body, footer, label, link, phoneNo, btns,
				example, e.Template.ParameterFormat == "NAMED")
		}
	}
}
