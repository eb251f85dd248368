package template

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"kirim/provider"
)

func text(v string) provider.Parameter { return provider.Parameter{Type: "text", Text: v} }

func namedText(name, v string) provider.Parameter {
	return provider.Parameter{Type: "text", ParameterName: name, Text: v}
}

func comp(typ string, ps ...provider.Parameter) provider.TemplateComponent {
	return provider.TemplateComponent{Type: typ, Parameters: ps}
}

func button(sub, index string, ps ...provider.Parameter) provider.TemplateComponent {
	return provider.TemplateComponent{Type: "button", SubType: sub, Index: index, Parameters: ps}
}

func send(name, lang string, cs ...provider.TemplateComponent) provider.Template {
	return provider.Template{Name: name, Language: provider.Language{Code: lang}, Components: cs}
}

// orderSend is a correct send of orderUpdate.
func orderSend(mod ...func(*provider.Template)) provider.Template {
	p := send("order_update", "id",
		comp("header", text("INV-9")),
		comp("body", text("Budi"), text("INV-9")),
		button("url", "0", text("INV-9")),
		button("quick_reply", "1", provider.Parameter{Type: "payload", Payload: "STOP"}),
	)
	for _, m := range mod {
		m(&p)
	}
	return p
}

func approved(t Template) Template {
	t.Status = StatusApproved
	return t
}

func TestParams(t *testing.T) {
	tests := []struct {
		name  string
		t     Template
		want  ParamSpec
		count int
	}{
		{"utility with text header, url and quick reply", orderUpdate(), ParamSpec{
			Header: HeaderSpec{Kind: HeaderParamText},
			Body:   BodySpec{Count: 2},
			Buttons: []ButtonSpec{
				{Index: 0, Type: ButtonURL, SubType: SubTypeURL, TakesParam: true, Required: true, ParamType: ParamText},
				{Index: 1, Type: ButtonQuickReply, SubType: SubTypeQuickReply, TakesParam: true, ParamType: ParamPayload},
			},
		}, 4},
		{"marketing with image and static url", promoEN(), ParamSpec{
			Header: HeaderSpec{Kind: HeaderParamMedia, Format: HeaderImage},
			Body:   BodySpec{Count: 2},
			Buttons: []ButtonSpec{
				{Index: 0, Type: ButtonURL, SubType: SubTypeURL},
				{Index: 1, Type: ButtonQuickReply, SubType: SubTypeQuickReply, TakesParam: true, ParamType: ParamPayload},
			},
		}, 3},
		{"authentication", authTemplate(), ParamSpec{
			Header:  HeaderSpec{Kind: HeaderParamNone},
			Body:    BodySpec{Count: 1},
			Buttons: []ButtonSpec{{Index: 0, Type: ButtonOTP, SubType: SubTypeURL, TakesParam: true, Required: true, ParamType: ParamText}},
		}, 2},
		{"authentication read back with URL button", buttons(authTemplate, Button{Type: ButtonURL, Text: "Copy code", URL: "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code_expiration_minutes=5"}), ParamSpec{
			Header:  HeaderSpec{Kind: HeaderParamNone},
			Body:    BodySpec{Count: 1},
			Buttons: []ButtonSpec{{Index: 0, Type: ButtonURL, SubType: SubTypeURL, TakesParam: true, Required: true, ParamType: ParamText}},
		}, 2},
		{"named with location header, copy code and phone", with(namedEN, func(t *Template) {
			t.Header = &Header{Format: HeaderLocation}
			t.Buttons = []Button{copyCode("X1"), phoneBtn("6281234567890")}
		}), ParamSpec{
			Header: HeaderSpec{Kind: HeaderParamLocation},
			Body:   BodySpec{Count: 2, Names: []string{"first_name", "tracking_id"}},
			Buttons: []ButtonSpec{
				{Index: 0, Type: ButtonCopyCode, SubType: SubTypeCopyCode, TakesParam: true, Required: true, ParamType: ParamCouponCode},
				{Index: 1, Type: ButtonPhoneNumber},
			},
		}, 4},
		{"named text header", with(namedEN, func(t *Template) {
			t.Header = &Header{Format: HeaderText, Text: "Hi {{first_name}}"}
			t.Body.Text = "Hello {{first_name}}, your parcel {{tracking_id}} is out for delivery, {{first_name}}."
		}), ParamSpec{
			Header: HeaderSpec{Kind: HeaderParamText, Name: "first_name"},
			Body:   BodySpec{Count: 2, Names: []string{"first_name", "tracking_id"}},
		}, 3},
		{"static text header, no buttons", with(orderUpdate, func(t *Template) {
			t.Header = &Header{Format: HeaderText, Text: "Info"}
			t.Buttons = nil
		}), ParamSpec{Header: HeaderSpec{Kind: HeaderParamNone}, Body: BodySpec{Count: 2}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.Params(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Params\n got %+v\nwant %+v", got, tt.want)
			}
			if got := tt.t.ParamCount(); got != tt.count {
				t.Errorf("ParamCount = %d, want %d", got, tt.count)
			}
		})
	}
}

func TestCheckSend(t *testing.T) {
	long := strings.Repeat("x", 1000)
	tests := []struct {
		name      string
		t         Template
		p         provider.Template
		code      string // "" = accepted
		component string
		contains  string
	}{
		{"accepted", orderUpdate(), orderSend(), "", "", ""},
		{"quick reply payload is optional", orderUpdate(), orderSend(func(p *provider.Template) { p.Components = p.Components[:3] }), "", "", ""},
		{"uppercase types and sub_type", orderUpdate(), orderSend(func(p *provider.Template) {
			p.Components[0].Type, p.Components[2].Type, p.Components[2].SubType = "HEADER", "BUTTON", "URL"
		}), "", "", ""},
		{"paused", with(orderUpdate, func(t *Template) { t.Status = StatusPaused }), orderSend(), CodeNotApproved, "template", "is PAUSED"},
		{"never submitted", with(orderUpdate, func(t *Template) { t.Status = "" }), orderSend(), CodeNotApproved, "template", "not submitted"},
		{"other template", orderUpdate(), orderSend(func(p *provider.Template) { p.Name = "promo" }), CodeParamInvalid, "template", "promo"},
		{"other language", orderUpdate(), orderSend(func(p *provider.Template) { p.Language.Code = "en" }), CodeParamInvalid, "template", "language"},
		{"body short one", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[1].Parameters = p.Components[1].Parameters[:1] }),
			CodeParamCountMismatch, "body", "template takes 2 parameters, got 1"},
		{"body missing", orderUpdate(), orderSend(func(p *provider.Template) { p.Components = append(p.Components[:1], p.Components[2:]...) }),
			CodeParamCountMismatch, "body", "got 0"},
		{"header missing", orderUpdate(), orderSend(func(p *provider.Template) { p.Components = p.Components[1:] }),
			CodeParamCountMismatch, "header", "template takes 1 parameter, got 0"},
		{"header given where none is taken", with(orderUpdate, func(t *Template) { t.Header = nil }), orderSend(),
			CodeParamCountMismatch, "header", "takes 0 parameters, got 1"},
		{"header text with wrong type", orderUpdate(), orderSend(func(p *provider.Template) {
			p.Components[0].Parameters[0] = provider.Parameter{Type: "image", Image: &provider.Media{Link: "https://x/a.jpg"}}
		}), CodeParamInvalid, "header", `type "image"`},
		{"image header accepted", approved(promoEN()), send("weekend_sale", "en",
			comp("header", provider.Parameter{Type: "image", Image: &provider.Media{ID: "123"}}),
			comp("body", text("Budi"), text("20%"))), "", "", ""},
		{"video for an image header", approved(promoEN()), send("weekend_sale", "en",
			comp("header", provider.Parameter{Type: "video", Video: &provider.Media{ID: "123"}}),
			comp("body", text("Budi"), text("20%"))), CodeParamInvalid, "header", "IMAGE header"},
		{"image without id or link", approved(promoEN()), send("weekend_sale", "en",
			comp("header", provider.Parameter{Type: "image", Image: &provider.Media{}}),
			comp("body", text("Budi"), text("20%"))), CodeParamInvalid, "header", "id or a link"},
		{"location header", approved(with(orderUpdate, func(t *Template) { t.Header = &Header{Format: HeaderLocation} })),
			orderSend(func(p *provider.Template) {
				p.Components[0].Parameters[0] = provider.Parameter{Type: "location", Location: &provider.Location{Latitude: -6.2, Longitude: 106.8}}
			}), "", "", ""},
		{"text for a location header", approved(with(orderUpdate, func(t *Template) { t.Header = &Header{Format: HeaderLocation} })),
			orderSend(), CodeParamInvalid, "header", "LOCATION"},
		{"url parameter missing", orderUpdate(), orderSend(func(p *provider.Template) {
			p.Components = append(p.Components[:2], p.Components[3])
		}), CodeParamCountMismatch, "buttons[0]", "template takes 1 parameter, got 0"},
		{"url parameter not encoded", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[2].Parameters[0].Text = "INV 9/ä" }),
			CodeParamInvalid, "buttons[0]", `send "INV%209/%C3%A4"`},
		{"url parameter already encoded", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[2].Parameters[0].Text = "INV%209?ref=wa&x=1" }),
			"", "", ""},
		{"url parameter with a stray percent", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[2].Parameters[0].Text = "50%off" }),
			CodeParamInvalid, "buttons[0]", "50%25off"},
		{"wrong sub_type", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[2].SubType = "quick_reply" }),
			CodeParamInvalid, "buttons[0]", `takes "url"`},
		{"quick reply with text parameter", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[3].Parameters[0] = text("STOP") }),
			CodeParamInvalid, "buttons[1]", "payload"},
		{"button index out of range", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[3].Index = "5" }),
			CodeParamInvalid, "buttons[5]", "2 buttons"},
		{"button index not a number", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[3].Index = "one" }),
			CodeParamInvalid, "components[3]", "not a number"},
		{"duplicate button component", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[3] = p.Components[2] }),
			CodeParamInvalid, "buttons[0]", "more than one"},
		{"unknown component", orderUpdate(), orderSend(func(p *provider.Template) { p.Components = append(p.Components, comp("footer")) }),
			CodeParamInvalid, "components[4]", "unknown component"},
		{"static url button given a parameter", approved(promoEN()), send("weekend_sale", "en",
			comp("header", provider.Parameter{Type: "image", Image: &provider.Media{ID: "1"}}),
			comp("body", text("Budi"), text("20%")), button("url", "0", text("x"))),
			CodeParamCountMismatch, "buttons[0]", "takes 0 parameters"},
		{"line break in a parameter", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[1].Parameters[0].Text = "Budi\nSantoso" }),
			CodeParamInvalid, "body", "parameter 1 has a line break"},
		{"five spaces in a parameter", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[1].Parameters[1].Text = "INV     9" }),
			CodeParamInvalid, "body", "parameter 2 has more than 4 spaces"},
		{"empty parameter", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[1].Parameters[1].Text = "" }),
			CodeParamInvalid, "body", "parameter 2 is empty"},
		{"currency and date_time parameters", orderUpdate(), orderSend(func(p *provider.Template) {
			p.Components[1].Parameters = []provider.Parameter{
				{Type: "date_time", DateTime: &provider.DateTime{FallbackValue: "1 Mei 2026"}},
				{Type: "currency", Currency: &provider.Currency{FallbackValue: "Rp 50.000", Code: "IDR", Amount1000: 50000000}},
			}
		}), "", "", ""},
		{"currency without object", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[1].Parameters[0] = provider.Parameter{Type: "currency"} }),
			CodeParamInvalid, "body", "currency"},
		{"body too long once filled", orderUpdate(), orderSend(func(p *provider.Template) { p.Components[1].Parameters[0].Text = long }),
			CodeBodyTooLong, "body", "limit is 1024"},
		{"named accepted", approved(namedEN()), send("delivery_named", "en_US",
			comp("body", namedText("tracking_id", "JNE1"), namedText("first_name", "Budi"))), "", "", ""},
		{"named with unknown name", approved(namedEN()), send("delivery_named", "en_US",
			comp("body", namedText("name", "Budi"), namedText("tracking_id", "JNE1"))), CodeParamInvalid, "body", `named "name"`},
		{"named given twice", approved(namedEN()), send("delivery_named", "en_US",
			comp("body", namedText("first_name", "Budi"), namedText("first_name", "Budi"))), CodeParamInvalid, "body", "twice"},
		{"auth accepted", authTemplate(), send("otp_login", "en_US",
			comp("body", text("483920")), button("url", "0", text("483920"))), "", "", ""},
		{"auth code differs", authTemplate(), send("otp_login", "en_US",
			comp("body", text("483920")), button("url", "0", text("111111"))), CodeParamInvalid, "buttons[0]", "differs"},
		{"auth code too long", authTemplate(), send("otp_login", "en_US",
			comp("body", text("1234567890123456")), button("url", "0", text("1234567890123456"))), CodeParamInvalid, "buttons[0]", "at most 15"},
		{"auth button missing", authTemplate(), send("otp_login", "en_US", comp("body", text("483920"))),
			CodeParamCountMismatch, "buttons[0]", "got 0"},
		{"copy code accepted", approved(buttons(promoEN, copyCode("HEMAT20"))), send("weekend_sale", "en",
			comp("header", provider.Parameter{Type: "image", Image: &provider.Media{ID: "1"}}),
			comp("body", text("Budi"), text("20%")),
			button("copy_code", "0", provider.Parameter{Type: "coupon_code", CouponCode: "HEMAT20"})), "", "", ""},
		{"copy code too long", approved(buttons(promoEN, copyCode("HEMAT20"))), send("weekend_sale", "en",
			comp("header", provider.Parameter{Type: "image", Image: &provider.Media{ID: "1"}}),
			comp("body", text("Budi"), text("20%")),
			button("copy_code", "0", provider.Parameter{Type: "coupon_code", CouponCode: "HEMAT2026DESEMBER"})), CodeParamInvalid, "buttons[0]", "at most 15"},
		{"copy code as text", approved(buttons(promoEN, copyCode("HEMAT20"))), send("weekend_sale", "en",
			comp("header", provider.Parameter{Type: "image", Image: &provider.Media{ID: "1"}}),
			comp("body", text("Budi"), text("20%")),
			button("copy_code", "0", text("HEMAT20"))), CodeParamInvalid, "buttons[0]", "coupon_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSend(tt.t, tt.p)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CheckSend: %v", err)
				}
				return
			}
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("CheckSend = %v, want a *SendError %s", err, tt.code)
			}
			if se.Code != tt.code || se.Component != tt.component || !strings.Contains(se.Message, tt.contains) {
				t.Errorf("got %s / %s / %q, want %s / %s / containing %q", se.Code, se.Component, se.Message, tt.code, tt.component, tt.contains)
			}
			if se.Code == CodeNotApproved && se.Status != tt.t.Status {
				t.Errorf("Status = %q, want %q", se.Status, tt.t.Status)
			}
		})
	}
}

func TestSendErrorText(t *testing.T) {
	err := CheckSend(orderUpdate(), orderSend(func(p *provider.Template) { p.Components[1].Parameters = p.Components[1].Parameters[:1] }))
	if want := "param_count_mismatch: body: template takes 2 parameters, got 1"; err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %q", err, want)
	}
}

func TestFill(t *testing.T) {
	noSecurity := authTemplate()
	noSecurity.AddSecurityRecommendation = false
	tests := []struct {
		name string
		t    Template
		p    provider.Template
		want string
	}{
		{"positional", orderUpdate(), orderSend(),
			"Halo Budi, pesanan INV-9 sudah kami kirim hari ini dan akan tiba dalam dua hari kerja."},
		{"named in any order, repeated", with(namedEN, func(t *Template) {
			t.Body.Text = "Hi {{first_name}}, parcel {{tracking_id}} is near. See you, {{first_name}}!"
		}), send("delivery_named", "en_US", comp("body", namedText("tracking_id", "JNE1"), namedText("first_name", "Budi"))),
			"Hi Budi, parcel JNE1 is near. See you, Budi!"},
		{"fallback values", orderUpdate(), orderSend(func(p *provider.Template) {
			p.Components[1].Parameters[1] = provider.Parameter{Type: "currency", Currency: &provider.Currency{FallbackValue: "Rp 50.000"}}
		}), "Halo Budi, pesanan Rp 50.000 sudah kami kirim hari ini dan akan tiba dalam dua hari kerja."},
		{"value that looks like a variable is not re-expanded", orderUpdate(), orderSend(func(p *provider.Template) {
			p.Components[1].Parameters[0].Text = "{{2}}"
		}), "Halo {{2}}, pesanan INV-9 sudah kami kirim hari ini dan akan tiba dalam dua hari kerja."},
		{"authentication preset", authTemplate(), send("otp_login", "en_US", comp("body", text("483920"))),
			"483920 is your verification code. For your security, do not share this code."},
		{"authentication without security line", noSecurity, send("otp_login", "en_US", comp("body", text("483920"))),
			"483920 is your verification code."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Fill(tt.t, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Fill\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	if _, err := Fill(orderUpdate(), send("order_update", "id")); err == nil {
		t.Error("Fill without body parameters should fail")
	}
}

func TestEncodeURLParam(t *testing.T) {
	tests := []struct{ in, want string }{
		{"INV-9", "INV-9"},
		{"a b", "a%20b"},
		{"a%20b", "a%20b"},
		{"100%", "100%25"},
		{"%zz", "%25zz"},
		{"path/to?x=1&y=2#f", "path/to?x=1&y=2#f"},
		{"café", "caf%C3%A9"},
		{`"<>\^{|}`, "%22%3C%3E%5C%5E%7B%7C%7D"},
		{"", ""},
	}
	for _, tt := range tests {
		got := EncodeURLParam(tt.in)
		if got != tt.want {
			t.Errorf("EncodeURLParam(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := EncodeURLParam(got); again != got {
			t.Errorf("EncodeURLParam not idempotent on %q: %q", got, again)
		}
	}
}
