package provider

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseNotificationRejects(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `<html>`, "invalid character"},
		{"empty", ``, "unexpected end"},
		{"wrong object", `{"object":"page","entry":[{"id":"1","changes":[]}]}`, `object "page"`},
		{"no object", `{"entry":[{"id":"1","changes":[]}]}`, `object ""`},
		{"no entry", `{"object":"whatsapp_business_account","entry":[]}`, "no entry"},
		{"entry missing", `{"object":"whatsapp_business_account"}`, "no entry"},
		{"entry wrong type", `{"object":"whatsapp_business_account","entry":{}}`, "cannot unmarshal"},
		{"time wrong type", `{"object":"whatsapp_business_account","entry":[{"id":"1","time":"soon","changes":[]}]}`, "cannot unmarshal"},
		{"trailing garbage", `{"object":"whatsapp_business_account","entry":[{"id":"1"}]}x`, "invalid character"},
		{"array", `[]`, "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseNotification([]byte(tt.body))
			if err == nil || n != nil {
				t.Fatalf("ParseNotification = %v, %v; want an error", n, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "provider: notification: ") {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseNotificationSizeLimit(t *testing.T) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}],"pad":"` +
		strings.Repeat("x", MaxNotificationBytes) + `"}`)
	if _, err := ParseNotification(body); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseNotificationToleratesUnknownKeys(t *testing.T) {
	body := `{"object":"whatsapp_business_account","future":{"a":1},"entry":[{"id":"1","uid":"x","changes":[{"field":"messages","extra":true,"value":{"messaging_product":"whatsapp","new_thing":[1,2],"metadata":{"display_phone_number":"1","phone_number_id":"2","future":"y"},"statuses":[{"id":"wamid.X","status":"sent","timestamp":"1","recipient_id":"62","recipient_type":"individual","pricing":{"type":"regular","category":"utility","pricing_model":"PMP","future":1}}]}}]}]}`
	n, err := ParseNotification([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeChange(n.Entry[0].Changes[0])
	if err != nil {
		t.Fatal(err)
	}
	mv := v.(*MessagesValue)
	if mv.Statuses[0].Pricing.Category != "utility" || mv.Metadata.PhoneNumberID != "2" {
		t.Errorf("value = %+v", mv)
	}
}

func TestDecodeChangeStrict(t *testing.T) {
	tests := []struct {
		name  string
		field string
		value string
		want  string
	}{
		{"no field", "", `{}`, "no field"},
		{"null value", FieldMessages, `null`, "not an object"},
		{"missing value", FieldAccountUpdate, ``, "not an object"},
		{"array value", FieldTemplateStatusUpdate, `[]`, "not an object"},
		{"string value", FieldAccountAlerts, `"x"`, "not an object"},
		{"statuses not a list", FieldMessages, `{"statuses":{}}`, "cannot unmarshal"},
		{"status code as string", FieldMessages, `{"statuses":[{"id":"w","status":"failed","errors":[{"code":"131049"}]}]}`, "cannot unmarshal"},
		{"timestamp not digits", FieldMessages, `{"messages":[{"from":"62","id":"w","timestamp":"yesterday","type":"text"}]}`, "invalid syntax"},
		{"timestamp a bool", FieldUserPreferences, `{"user_preferences":[{"wa_id":"62","category":"marketing_messages","value":"stop","timestamp":true}]}`, "cannot unmarshal"},
		{"billable as string", FieldMessages, `{"statuses":[{"id":"w","status":"sent","pricing":{"billable":"yes"}}]}`, "cannot unmarshal"},
		{"template id an object", FieldTemplateStatusUpdate, `{"event":"APPROVED","message_template_id":{}}`, "cannot unmarshal"},
		{"event a number", FieldTemplateStatusUpdate, `{"event":5}`, "cannot unmarshal"},
		{"quality score a number", FieldTemplateQualityUpdate, `{"new_quality_score":1}`, "cannot unmarshal"},
		{"category timestamp text", FieldTemplateCategoryUpdate, `{"category_update_timestamp":"tomorrow"}`, "invalid syntax"},
		{"limit an object", FieldPhoneNumberQualityUpdate, `{"max_daily_conversations_per_business":{}}`, "cannot unmarshal"},
		{"capability unknown tier", FieldBusinessCapabilityUpdate, `{"max_daily_conversations_per_business":"TIER_ENORMOUS"}`, "unknown limit"},
		{"capability a bool", FieldBusinessCapabilityUpdate, `{"max_phone_numbers_per_waba":true}`, "cannot unmarshal"},
		{"restriction not a list", FieldAccountUpdate, `{"event":"ACCOUNT_RESTRICTION","restriction_info":{"restriction_type":"X"}}`, "cannot unmarshal"},
		{"alert_info a string", FieldAccountAlerts, `{"entity_type":"BUSINESS","alert_info":"WARNING"}`, "cannot unmarshal"},
		{"disable_date an object", FieldTemplateStatusUpdate, `{"event":"DISABLED","disable_info":{"disable_date":{}}}`, "cannot unmarshal"},
		{"truncated", FieldMessages, `{"messages":[`, "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := DecodeChange(Change{Field: tt.field, Value: json.RawMessage(tt.value)})
			if err == nil {
				t.Fatalf("DecodeChange = %#v, want an error", v)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if tt.field != "" && !strings.Contains(err.Error(), tt.field) {
				t.Errorf("err = %q does not name the field", err)
			}
		})
	}
}

func TestDecodeChangeTypes(t *testing.T) {
	tests := []struct {
		field string
		want  any
	}{
		{FieldMessages, &MessagesValue{}},
		{FieldUserPreferences, &MessagesValue{}},
		{FieldTemplateStatusUpdate, &TemplateStatusUpdate{}},
		{FieldTemplateQualityUpdate, &TemplateQualityUpdate{}},
		{FieldTemplateCategoryUpdate, &TemplateCategoryUpdate{}},
		{FieldPhoneNumberQualityUpdate, &PhoneNumberQualityUpdate{}},
		{FieldBusinessCapabilityUpdate, &BusinessCapabilityUpdate{}},
		{FieldAccountUpdate, &AccountUpdate{}},
		{FieldAccountAlerts, &AccountAlert{}},
		{FieldTemplateComponentsUpdate, &TemplateComponentsUpdate{}},
		{FieldPhoneNumberNameUpdate, &PhoneNumberNameUpdate{}},
		{FieldAccountReviewUpdate, &AccountReviewUpdate{}},
		{FieldSecurity, &SecurityUpdate{}},
		{"message_echoes", &UnknownChange{}},
		{"history", &UnknownChange{}},
	}
	for _, tt := range tests {
		got, err := DecodeChange(Change{Field: tt.field, Value: json.RawMessage(`{}`)})
		if err != nil {
			t.Errorf("%s: %v", tt.field, err)
			continue
		}
		if reflect.TypeOf(got) != reflect.TypeOf(tt.want) {
			t.Errorf("%s: %T, want %T", tt.field, got, tt.want)
		}
	}
	// An unknown field keeps its value as is, even one Kirim could not decode.
	got, err := DecodeChange(Change{Field: "calls", Value: json.RawMessage(`[1,"x"]`)})
	if err != nil {
		t.Fatal(err)
	}
	if u := got.(*UnknownChange); u.Field != "calls" || string(u.Raw) != `[1,"x"]` {
		t.Errorf("unknown = %+v", u)
	}
}

func TestDisableDateForms(t *testing.T) {
	for _, raw := range []string{`{"disable_date":1751234563}`, `{"disable_date":"1751234563"}`} {
		var d DisableInfo
		if err := json.Unmarshal([]byte(raw), &d); err != nil || d.DisableDate != "1751234563" {
			t.Errorf("%s: %+v, %v", raw, d, err)
		}
	}
}

func TestAccountAlertFlatForm(t *testing.T) {
	var a AccountAlert
	raw := `{"entity_type":"PHONE_NUMBER","entity_id":114872936104527,"alert_severity":"CRITICAL","alert_status":"ACTIVE","alert_type":"OBA_REJECTED","alert_description":"d"}`
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatal(err)
	}
	if a.EntityID != "114872936104527" || a.AlertSeverity != "CRITICAL" || a.AlertType != "OBA_REJECTED" || a.AlertInfo != nil {
		t.Errorf("alert = %+v", a)
	}
}

func TestParseTierLimit(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{Tier50, 50, true}, {Tier250, 250, true}, {Tier1K, 1000, true}, {Tier2K, 2000, true},
		{Tier10K, 10000, true}, {Tier100K, 100000, true}, {TierUnlimited, -1, true}, {TierNotSet, 0, true},
		{"2000", 2000, true}, {"-1", -1, true},
		{"-2", 0, false}, {"TIER_5K", 0, false}, {"", 0, false}, {"tier_2k", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseTierLimit(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseTierLimit(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func BenchmarkParseAndDecodeStatus(b *testing.B) {
	body, err := readFixtureBytes("webhooks", "status_sent_marketing.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		n, err := ParseNotification(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeChange(n.Entry[0].Changes[0]); err != nil {
			b.Fatal(err)
		}
	}
}
