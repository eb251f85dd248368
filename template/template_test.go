package template

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"kirim/provider"
)

// orderUpdate is a valid UTILITY template with every kind of component.
func orderUpdate() Template {
	return Template{
		Name:     "order_update",
		Language: "id",
		Category: CategoryUtility,
		Status:   StatusApproved,
		Header:   &Header{Format: HeaderText, Text: "Pesanan {{1}} Anda", Examples: []string{"INV-9"}},
		Body: Body{
			Text:     "Halo {{1}}, pesanan {{2}} sudah kami kirim hari ini dan akan tiba dalam dua hari kerja.",
			Examples: []string{"Budi", "INV-9"},
		},
		Footer: &Footer{Text: "Acme Indonesia"},
		Buttons: []Button{
			{Type: ButtonURL, Text: "Lacak", URL: "https://acme.co.id/t/{{1}}", Example: "INV-9"},
			{Type: ButtonQuickReply, Text: "Berhenti"},
		},
	}
}

func authTemplate() Template {
	return Template{
		Name:                      "otp_login",
		Language:                  "en_US",
		Category:                  CategoryAuthentication,
		Status:                    StatusApproved,
		AddSecurityRecommendation: true,
		CodeExpirationMinutes:     5,
		MessageSendTTLSeconds:     600,
		Buttons:                   []Button{{Type: ButtonOTP, OTPType: OTPCopyCode, Text: "Copy code"}},
	}
}

func TestDefinitionRoundTrip(t *testing.T) {
	named := Template{
		ID:              "1234",
		Name:            "promo_named",
		Language:        "en_US",
		Category:        CategoryMarketing,
		ParameterFormat: FormatNamed,
		Status:          StatusPaused,
		RejectedReason:  "NONE",
		Quality:         QualityYellow,
		QualityAt:       time.Unix(1767225600, 0).UTC(),
		Header: &Header{Format: HeaderText, Text: "Hi {{first_name}}",
			NamedExamples: []NamedExample{{Name: "first_name", Example: "Budi"}}},
		Body: Body{Text: "Your order {{order_id}} ships today, thank you for shopping with us.",
			NamedExamples: []NamedExample{{Name: "order_id", Example: "INV-9"}}},
		Buttons: []Button{
			{Type: ButtonCopyCode, Example: "SAVE20"},
			{Type: ButtonPhoneNumber, Text: "Call us", PhoneNumber: "6281234567890"},
		},
	}
	media := orderUpdate()
	media.Header = &Header{Format: HeaderImage, MediaHandle: "4::aW1hZ2U="}
	oneTap := authTemplate()
	oneTap.Buttons = []Button{{Type: ButtonOTP, OTPType: OTPZeroTap, Text: "Autofill",
		AutofillText: "Autofill", ZeroTapTermsAccepted: true,
		SupportedApps: []provider.SupportedApp{{PackageName: "id.acme.app", SignatureHash: "K8a/AINcGX7"}}}}
	noFooterAuth := authTemplate()
	noFooterAuth.CodeExpirationMinutes = 0

	for _, tt := range []struct {
		name string
		t    Template
	}{
		{"utility with text header", orderUpdate()},
		{"named marketing", named},
		{"media header", media},
		{"authentication", authTemplate()},
		{"zero tap", oneTap},
		{"auth without expiry", noFooterAuth},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.t.Definition()
			// Through JSON too: what the sandbox stores and the client decodes.
			raw, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var d2 provider.TemplateDefinition
			if err := json.Unmarshal(raw, &d2); err != nil {
				t.Fatal(err)
			}
			got, err := FromDefinition(d2)
			if err != nil {
				t.Fatalf("FromDefinition: %v", err)
			}
			if !reflect.DeepEqual(got, tt.t) {
				t.Errorf("round trip changed the template\n got %+v\nwant %+v\nwire %s", got, tt.t, raw)
			}
		})
	}
}

func TestDefinitionWireShape(t *testing.T) {
	d := authTemplate().Definition()
	raw, _ := json.Marshal(d)
	want := `{"name":"otp_login","language":"en_US","category":"AUTHENTICATION","status":"APPROVED","message_send_ttl_seconds":600,"components":[{"type":"BODY","add_security_recommendation":true},{"type":"FOOTER","code_expiration_minutes":5},{"type":"BUTTONS","buttons":[{"type":"OTP","text":"Copy code","otp_type":"COPY_CODE"}]}]}`
	if string(raw) != want {
		t.Errorf("wire shape\n got %s\nwant %s", raw, want)
	}
}

func TestFromDefinitionNormalisesCase(t *testing.T) {
	raw := `{"name":"otp","language":"id","category":"authentication","components":[
	 {"type":"body","add_security_recommendation":true},
	 {"type":"footer","code_expiration_minutes":10},
	 {"type":"buttons","buttons":[{"type":"otp","otp_type":"copy_code"}]}]}`
	var d provider.TemplateDefinition
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatal(err)
	}
	got, err := FromDefinition(d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Category != CategoryAuthentication || got.Buttons[0].Type != ButtonOTP || got.Buttons[0].OTPType != OTPCopyCode {
		t.Errorf("enums not upper-cased: %+v", got)
	}
	if got.Footer != nil || got.CodeExpirationMinutes != 10 || !got.AddSecurityRecommendation {
		t.Errorf("auth footer/body fields: %+v", got)
	}
	if vs := Lint(got); len(vs) != 0 {
		t.Errorf("lowercase auth submission should lint clean, got %+v", vs)
	}
}

func TestFromDefinitionErrors(t *testing.T) {
	tests := []struct {
		name  string
		comps []provider.TemplateComponentDef
		want  string
	}{
		{"two bodies", []provider.TemplateComponentDef{{Type: "BODY", Text: "a"}, {Type: "body", Text: "b"}},
			"template: components[1]: more than one BODY component"},
		{"two headers", []provider.TemplateComponentDef{{Type: "HEADER", Format: "TEXT", Text: "a"}, {Type: "HEADER", Format: "IMAGE"}},
			"template: components[1]: more than one HEADER component"},
		{"carousel", []provider.TemplateComponentDef{{Type: "BODY", Text: "a"}, {Type: "CAROUSEL"}},
			`template: components[1]: unsupported component type "CAROUSEL"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromDefinition(provider.TemplateDefinition{Name: "x", Language: "id", Category: "UTILITY", Components: tt.comps})
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Template)
		field  string // "" = valid
	}{
		{"valid utility", func(*Template) {}, ""},
		{"missing name", func(t *Template) { t.Name = "" }, "name"},
		{"missing language", func(t *Template) { t.Language = "" }, "language"},
		{"unknown category", func(t *Template) { t.Category = "PROMO" }, "category"},
		{"empty category", func(t *Template) { t.Category = "" }, "category"},
		{"unknown parameter format", func(t *Template) { t.ParameterFormat = "MIXED" }, "parameter_format"},
		{"unknown status", func(t *Template) { t.Status = "LIVE" }, "status"},
		{"unknown quality", func(t *Template) { t.Quality = "BLUE" }, "quality"},
		{"unknown header format", func(t *Template) { t.Header.Format = "GIFX" }, "header.format"},
		{"empty text header", func(t *Template) { t.Header.Text = " " }, "header.text"},
		{"media header with text", func(t *Template) { t.Header.Format = HeaderImage }, "header.text"},
		{"negative media size", func(t *Template) { t.Header = &Header{Format: HeaderVideo, MediaSize: -1} }, "header.media_size"},
		{"empty body", func(t *Template) { t.Body.Text = "" }, "body.text"},
		{"unknown button type", func(t *Template) { t.Buttons[1].Type = "FLOW" }, "buttons[1].type"},
		{"url button without url", func(t *Template) { t.Buttons[0].URL = "" }, "buttons[0].url"},
		{"phone button without number", func(t *Template) { t.Buttons[1] = Button{Type: ButtonPhoneNumber, Text: "Call"} }, "buttons[1].phone_number"},
		{"otp button without type", func(t *Template) { t.Buttons[1] = Button{Type: ButtonOTP} }, "buttons[1].otp_type"},
		{"quick reply without label", func(t *Template) { t.Buttons[1].Text = "" }, "buttons[1].text"},
		{"negative code expiry", func(t *Template) { t.CodeExpirationMinutes = -1 }, "code_expiration_minutes"},
		{"negative ttl", func(t *Template) { t.MessageSendTTLSeconds = -5 }, "message_send_ttl_seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := orderUpdate()
			tt.modify(&tpl)
			err := tpl.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate = %v, want a *FieldError for %s", err, tt.field)
			}
			if fe.Field != tt.field {
				t.Errorf("field = %q (%v), want %q", fe.Field, err, tt.field)
			}
		})
	}
	if err := authTemplate().Validate(); err != nil {
		t.Errorf("auth template: %v", err)
	}
}
