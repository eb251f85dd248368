package provider

import (
	"strings"
	"testing"
)

// updateCases check the fixtures of every field but messages: template, number and
// account updates, preferences, and a field Kirim does not know.
var updateCases = []struct {
	file  string
	check func(t *testing.T, n *Notification, vals []any)
}{
	{"template_approved.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*TemplateStatusUpdate](t, vals)
		if u.Event != "APPROVED" || string(u.MessageTemplateID) != fxTmplID || u.MessageTemplateName != "promo_juli" || u.MessageTemplateLanguage != "id" || u.MessageTemplateCategory != "MARKETING" {
			t.Errorf("update = %+v", u)
		}
	}},
	{"template_rejected.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*TemplateStatusUpdate](t, vals)
		if u.Event != "REJECTED" || u.Reason != "INVALID_FORMAT" || u.RejectionInfo == nil || !strings.Contains(u.RejectionInfo.Reason, "{{1}}{{2}}") || u.RejectionInfo.Recommendation == "" {
			t.Errorf("update = %+v %+v", u, u.RejectionInfo)
		}
	}},
	{"template_paused.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*TemplateStatusUpdate](t, vals)
		if u.Event != "PAUSED" || u.Reason != "NONE" || u.OtherInfo == nil || u.OtherInfo.Title != "FIRST_PAUSE" {
			t.Errorf("update = %+v %+v", u, u.OtherInfo)
		}
	}},
	{"template_disabled.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*TemplateStatusUpdate](t, vals)
		if u.Event != "DISABLED" || u.DisableInfo == nil || u.DisableInfo.DisableDate != "1784012345" {
			t.Errorf("update = %+v %+v", u, u.DisableInfo)
		}
	}},
	{"template_quality.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*TemplateQualityUpdate](t, vals)
		if u.PreviousQualityScore != "GREEN" || u.NewQualityScore != "YELLOW" || string(u.MessageTemplateID) != fxTmplID {
			t.Errorf("update = %+v", u)
		}
	}},
	{"template_category_notice.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*TemplateCategoryUpdate](t, vals)
		if u.NewCategory != "UTILITY" || u.CorrectCategory != "MARKETING" || u.CategoryUpdateTimestamp != 1784098745 || u.PreviousCategory != "" {
			t.Errorf("update = %+v", u)
		}
	}},
	{"template_category_done.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*TemplateCategoryUpdate](t, vals)
		if u.PreviousCategory != "UTILITY" || u.NewCategory != "MARKETING" || u.CorrectCategory != "" || string(u.MessageTemplateID) != "278077987957091" {
			t.Errorf("update = %+v", u)
		}
	}},

	// --- account ---
	{"phone_quality_2025.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*PhoneNumberQualityUpdate](t, vals)
		if u.Event != "THROUGHPUT_UPGRADE" || u.MaxDailyConversationsPerBusiness != TierUnlimited || u.CurrentLimit != TierUnlimited {
			t.Errorf("update = %+v", u)
		}
		if n, ok := ParseTierLimit(string(u.MaxDailyConversationsPerBusiness)); !ok || n != UnlimitedMessaging {
			t.Errorf("limit = %d, %v", n, ok)
		}
	}},
	{"phone_quality_2025_onboarding.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*PhoneNumberQualityUpdate](t, vals)
		if u.Event != "ONBOARDING" || u.MaxDailyConversationsPerBusiness != Tier250 || u.CurrentLimit != "" {
			t.Errorf("update = %+v", u)
		}
	}},
	{"phone_quality_legacy_upgrade.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*PhoneNumberQualityUpdate](t, vals)
		if u.Event != "UPGRADE" || u.OldLimit != Tier1K || u.CurrentLimit != Tier10K || u.DisplayPhoneNumber != "6281511223344" {
			t.Errorf("update = %+v", u)
		}
	}},
	{"phone_quality_legacy_flagged.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*PhoneNumberQualityUpdate](t, vals)
		if u.Event != "FLAGGED" || u.CurrentLimit != Tier10K || u.OldLimit != "" {
			t.Errorf("update = %+v", u)
		}
	}},
	{"business_capability.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*BusinessCapabilityUpdate](t, vals)
		if u.MaxDailyConversationsPerBusiness != 2000 || u.MaxPhoneNumbersPerWABA != 25 || u.MaxDailyConversationPerPhone != 0 {
			t.Errorf("update = %+v", u)
		}
	}},
	{"business_capability_tier.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*BusinessCapabilityUpdate](t, vals)
		if u.MaxDailyConversationsPerBusiness != 10000 || u.MaxDailyConversationPerPhone != 10000 || u.MaxPhoneNumbersPerWABA != 25 {
			t.Errorf("update = %+v", u)
		}
	}},
	{"account_update_restriction.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*AccountUpdate](t, vals)
		if u.Event != "ACCOUNT_RESTRICTION" || len(u.RestrictionInfo) != 2 || u.RestrictionInfo[0].RestrictionType != "RESTRICTED_BIZ_INITIATED_MESSAGING" || u.RestrictionInfo[0].Expiration != 1784617145 {
			t.Errorf("update = %+v", u)
		}
	}},
	{"account_update_disabled.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*AccountUpdate](t, vals)
		if u.Event != "DISABLED_UPDATE" || u.BanInfo == nil || !u.BanInfo.WabaBanState.Has("DISABLE") || u.BanInfo.WabaBanDate != "July 14, 2026" {
			t.Errorf("update = %+v %+v", u, u.BanInfo)
		}
	}},
	{"account_update_ban_scheduled.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*AccountUpdate](t, vals)
		if u.Event != "DISABLED_UPDATE" || u.BanInfo == nil || !u.BanInfo.WabaBanState.Has("SCHEDULE_FOR_DISABLE") || len(u.BanInfo.WabaBanState) != 1 {
			t.Errorf("update = %+v %+v", u, u.BanInfo)
		}
	}},
	{"account_update_violation.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*AccountUpdate](t, vals)
		if u.Event != "ACCOUNT_VIOLATION" || u.ViolationInfo == nil || u.ViolationInfo.ViolationType != "ADULT" || u.PhoneNumber != fxWaID {
			t.Errorf("update = %+v", u)
		}
	}},
	{"account_update_partner_added.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*AccountUpdate](t, vals)
		if w := u.WabaInfo; u.Event != "PARTNER_ADDED" || w == nil || w.WabaID != fxWABA || w.OwnerBusinessID != "998877665544332" || w.PartnerAppID != "562718340912345" {
			t.Errorf("update = %+v %+v", u, w)
		}
	}},
	{"account_update_country.json", func(t *testing.T, _ *Notification, vals []any) {
		if u := only[*AccountUpdate](t, vals); u.Event != "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE" || u.Country != "ID" {
			t.Errorf("update = %+v", u)
		}
	}},
	{"account_update_auth_intl.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*AccountUpdate](t, vals)
		if a := u.AuthIntlRate; u.Event != "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE" || a == nil || a.StartTime != 1785456000 ||
			len(a.ExceptionCountries) != 1 || a.ExceptionCountries[0] != (CountryStartTime{CountryCode: "ID", StartTime: 1788134400}) {
			t.Errorf("update = %+v %+v", u, a)
		}
	}},
	{"account_update_deleted.json", func(t *testing.T, _ *Notification, vals []any) {
		if u := only[*AccountUpdate](t, vals); u.Event != "ACCOUNT_DELETED" || u.BanInfo != nil || u.WabaInfo != nil {
			t.Errorf("update = %+v", u)
		}
	}},
	{"account_review_update.json", func(t *testing.T, _ *Notification, vals []any) {
		if u := only[*AccountReviewUpdate](t, vals); u.Decision != "APPROVED" {
			t.Errorf("update = %+v", u)
		}
	}},
	{"template_components_update.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*TemplateComponentsUpdate](t, vals)
		if u.MessageTemplateID != fxTmplID || u.MessageTemplateName != "promo_juli" || u.MessageTemplateTitle != "Promo {{1}}" ||
			!strings.HasPrefix(u.MessageTemplateElement, "Halo {{1}}") || len(u.MessageTemplateButtons) != 2 ||
			u.MessageTemplateButtons[0].URL != "https://tokomaju.example/p/{{1}}" || u.MessageTemplateButtons[1].PhoneNumber != "+6281100001111" {
			t.Errorf("update = %+v", u)
		}
	}},
	{"phone_number_name_update.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*PhoneNumberNameUpdate](t, vals)
		if u.DisplayPhoneNumber != "6281100001111" || u.Decision != "APPROVED" || u.RequestedVerifiedName != "Toko Maju" || u.RejectionReason != "" {
			t.Errorf("update = %+v", u)
		}
	}},
	{"security.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*SecurityUpdate](t, vals)
		if u.DisplayPhoneNumber != "6281100001111" || u.Event != "PIN_CHANGED" || u.Requester != "998877665544332" {
			t.Errorf("update = %+v", u)
		}
	}},
	{"inbound_interactive_nfm_reply.json", func(t *testing.T, _ *Notification, vals []any) {
		mv := only[*MessagesValue](t, vals)
		m := mv.Messages[0]
		if m.Interactive == nil || m.Interactive.Type != "nfm_reply" || m.Interactive.NFMReply == nil ||
			!strings.Contains(m.Interactive.NFMReply.ResponseJSON, `"flow_token":"tok-1"`) || m.Context == nil {
			t.Errorf("message = %+v", m)
		}
	}},
	{"account_update_volume_tier.json", func(t *testing.T, _ *Notification, vals []any) {
		u := only[*AccountUpdate](t, vals)
		v := u.VolumeTierInfo
		if u.Event != "VOLUME_BASED_PRICING_TIER_UPDATE" || v == nil || v.Tier != "250001:2000000" || v.PricingCategory != "UTILITY" || v.Region != "Indonesia" || v.EffectiveMonth != "2026-07" || v.TierUpdateTime != 1784012345 {
			t.Errorf("update = %+v %+v", u, v)
		}
	}},
	{"account_alerts.json", func(t *testing.T, _ *Notification, vals []any) {
		a := only[*AccountAlert](t, vals)
		if a.EntityType != "BUSINESS" || a.EntityID != "506914307656634" || a.AlertSeverity != "WARNING" || a.AlertStatus != "ACTIVE" ||
			a.AlertType != "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED" || !strings.HasPrefix(a.AlertDescription, "Limits cannot be increased") {
			t.Errorf("alert = %+v", a)
		}
	}},
	{"user_preferences_stop.json", func(t *testing.T, _ *Notification, vals []any) {
		mv := only[*MessagesValue](t, vals)
		if len(mv.UserPreferences) != 1 {
			t.Fatalf("preferences = %+v", mv.UserPreferences)
		}
		p := mv.UserPreferences[0]
		if p.WaID != fxWaID || p.Category != "marketing_messages" || p.Value != "stop" || p.Timestamp != 1784012345 || mv.Metadata.PhoneNumberID != fxPhoneID {
			t.Errorf("preference = %+v", p)
		}
	}},
	{"user_preferences_resume.json", func(t *testing.T, _ *Notification, vals []any) {
		mv := only[*MessagesValue](t, vals)
		if len(mv.UserPreferences) != 1 || mv.UserPreferences[0].Value != "resume" || len(mv.Contacts) != 1 {
			t.Errorf("value = %+v", mv)
		}
	}},
	{"unknown_field.json", func(t *testing.T, _ *Notification, vals []any) {
		if len(vals) != 2 {
			t.Fatalf("%d changes, want 2", len(vals))
		}
		u, ok := vals[0].(*UnknownChange)
		if !ok || u.Field != "flows" || !strings.Contains(string(u.Raw), "FLOW_STATUS_CHANGE") {
			t.Errorf("first change = %#v", vals[0])
		}
		if mv, ok := vals[1].(*MessagesValue); !ok || len(mv.Statuses) != 1 || mv.Statuses[0].Status != DeliveryDelivered {
			t.Errorf("the known change after it = %#v", vals[1])
		}
	}},
}
