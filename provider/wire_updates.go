package provider

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// TemplateStatusUpdate is the value of message_template_status_update.
type TemplateStatusUpdate struct {
	Event                   string         `json:"event"`
	MessageTemplateID       FlexString     `json:"message_template_id"`
	MessageTemplateName     string         `json:"message_template_name"`
	MessageTemplateLanguage string         `json:"message_template_language"`
	Reason                  string         `json:"reason,omitempty"`
	MessageTemplateCategory string         `json:"message_template_category,omitempty"`
	DisableInfo             *DisableInfo   `json:"disable_info,omitempty"`
	OtherInfo               *OtherInfo     `json:"other_info,omitempty"`
	RejectionInfo           *RejectionInfo `json:"rejection_info,omitempty"`
}

type DisableInfo struct {
	// DisableDate is a unix time in seconds, kept as text: Meta documents it as an
	// integer but shows it quoted.
	DisableDate string `json:"disable_date,omitempty"`
}

// UnmarshalJSON accepts disable_date as a number or a string.
func (d *DisableInfo) UnmarshalJSON(b []byte) error {
	var raw struct {
		DisableDate FlexString `json:"disable_date"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	d.DisableDate = string(raw.DisableDate)
	return nil
}

type OtherInfo struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

type RejectionInfo struct {
	Reason         string `json:"reason,omitempty"`
	Recommendation string `json:"recommendation,omitempty"`
}

// TemplateQualityUpdate is the value of message_template_quality_update.
type TemplateQualityUpdate struct {
	PreviousQualityScore    string     `json:"previous_quality_score"`
	NewQualityScore         string     `json:"new_quality_score"`
	MessageTemplateID       FlexString `json:"message_template_id"`
	MessageTemplateName     string     `json:"message_template_name"`
	MessageTemplateLanguage string     `json:"message_template_language"`
}

// TemplateCategoryUpdate is the value of template_category_update.
type TemplateCategoryUpdate struct {
	MessageTemplateID       FlexString `json:"message_template_id"`
	MessageTemplateName     string     `json:"message_template_name"`
	MessageTemplateLanguage string     `json:"message_template_language"`
	PreviousCategory        string     `json:"previous_category,omitempty"`
	NewCategory             string     `json:"new_category,omitempty"`
	CorrectCategory         string     `json:"correct_category,omitempty"`
	CategoryUpdateTimestamp FlexInt    `json:"category_update_timestamp,omitempty"`
}

// TemplateComponentsUpdate is the value of message_template_components_update: the
// text of a template after an edit.
type TemplateComponentsUpdate struct {
	MessageTemplateID       FlexString       `json:"message_template_id"`
	MessageTemplateName     string           `json:"message_template_name"`
	MessageTemplateLanguage string           `json:"message_template_language"`
	MessageTemplateElement  string           `json:"message_template_element,omitempty"`
	MessageTemplateTitle    string           `json:"message_template_title,omitempty"`
	MessageTemplateFooter   string           `json:"message_template_footer,omitempty"`
	MessageTemplateButtons  []TemplateButton `json:"message_template_buttons,omitempty"`
}

// TemplateButton is one button of a TemplateComponentsUpdate.
type TemplateButton struct {
	Type        string `json:"message_template_button_type"`
	Text        string `json:"message_template_button_text"`
	URL         string `json:"message_template_button_url,omitempty"`
	PhoneNumber string `json:"message_template_button_phone_number,omitempty"`
}

// PhoneNumberQualityUpdate is the value of phone_number_quality_update.
type PhoneNumberQualityUpdate struct {
	DisplayPhoneNumber               string     `json:"display_phone_number"`
	Event                            string     `json:"event"`
	CurrentLimit                     string     `json:"current_limit,omitempty"`
	OldLimit                         string     `json:"old_limit,omitempty"`
	MaxDailyConversationsPerBusiness FlexString `json:"max_daily_conversations_per_business,omitempty"`
}

// BusinessCapabilityUpdate is the value of business_capability_update.
type BusinessCapabilityUpdate struct {
	MaxDailyConversationPerPhone FlexInt `json:"max_daily_conversation_per_phone,omitempty"`
	// MaxDailyConversationsPerBusiness is the portfolio's messaging limit as a count
	// (-1 for unlimited). Meta sends a number (2000) or a tier name (TIER_2K); both
	// decode to the count.
	MaxDailyConversationsPerBusiness FlexInt `json:"max_daily_conversations_per_business,omitempty"`
	MaxPhoneNumbersPerBusiness       FlexInt `json:"max_phone_numbers_per_business,omitempty"`
	MaxPhoneNumbersPerWABA           FlexInt `json:"max_phone_numbers_per_waba,omitempty"`
}

// UnmarshalJSON accepts max_daily_conversations_per_business as a number, a string of
// digits or a tier name.
func (u *BusinessCapabilityUpdate) UnmarshalJSON(b []byte) error {
	type plain BusinessCapabilityUpdate
	var raw struct {
		plain
		PerBusiness FlexString `json:"max_daily_conversations_per_business"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*u = BusinessCapabilityUpdate(raw.plain)
	u.MaxDailyConversationsPerBusiness = 0
	if raw.PerBusiness != "" {
		n, ok := ParseTierLimit(string(raw.PerBusiness))
		if !ok {
			return fmt.Errorf("max_daily_conversations_per_business: unknown limit %q", string(raw.PerBusiness))
		}
		u.MaxDailyConversationsPerBusiness = FlexInt(n)
	}
	return nil
}

// Messaging-limit tier names, as webhooks and GET fields write them.
const (
	Tier50        = "TIER_50"
	Tier250       = "TIER_250"
	Tier1K        = "TIER_1K"
	Tier2K        = "TIER_2K"
	Tier10K       = "TIER_10K"
	Tier100K      = "TIER_100K"
	TierUnlimited = "TIER_UNLIMITED"
	TierNotSet    = "TIER_NOT_SET"
)

// UnlimitedMessaging is the count that stands for TIER_UNLIMITED, as Meta writes it.
const UnlimitedMessaging = -1

var tierLimits = map[string]int64{
	Tier50: 50, Tier250: 250, Tier1K: 1000, Tier2K: 2000, Tier10K: 10000,
	Tier100K: 100000, TierUnlimited: UnlimitedMessaging, TierNotSet: 0,
}

// ParseTierLimit turns a messaging-limit tier name (TIER_2K) or a count ("2000",
// "-1") into the count of unique recipients per 24 h; -1 means unlimited and 0 not
// set. ok is false for anything else.
func ParseTierLimit(s string) (limit int64, ok bool) {
	if n, found := tierLimits[s]; found {
		return n, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < UnlimitedMessaging {
		return 0, false
	}
	return n, true
}

// AccountUpdate is the value of account_update. Event names the kind, and the kind
// says which of the other fields it carries: ACCOUNT_RESTRICTION restriction_info,
// ACCOUNT_VIOLATION violation_info, DISABLED_UPDATE ban_info, PARTNER_ADDED waba_info,
// BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE country, VOLUME_BASED_PRICING_TIER_UPDATE
// volume_tier_info, AUTH_INTL_PRICE_ELIGIBILITY_UPDATE
// auth_international_rate_eligibility; ACCOUNT_DELETED, ACCOUNT_OFFBOARDED and
// ACCOUNT_RECONNECTED carry none.
type AccountUpdate struct {
	PhoneNumber     string            `json:"phone_number,omitempty"`
	Event           string            `json:"event"`
	RestrictionInfo []RestrictionInfo `json:"restriction_info,omitempty"`
	BanInfo         *BanInfo          `json:"ban_info,omitempty"`
	ViolationInfo   *ViolationInfo    `json:"violation_info,omitempty"`
	VolumeTierInfo  *VolumeTierInfo   `json:"volume_tier_info,omitempty"`
	WabaInfo        *WabaInfo         `json:"waba_info,omitempty"`
	Country         string            `json:"country,omitempty"`
	// AuthIntlRate says from when authentication-international rates apply to the
	// account, and in which countries they start at another time.
	AuthIntlRate *AuthIntlRateEligibility `json:"auth_international_rate_eligibility,omitempty"`
}

// WabaInfo names the account a partner was added to (PARTNER_ADDED).
type WabaInfo struct {
	WabaID          FlexString `json:"waba_id"`
	OwnerBusinessID FlexString `json:"owner_business_id,omitempty"`
	PartnerAppID    FlexString `json:"partner_app_id,omitempty"`
}

// AuthIntlRateEligibility is the value of AUTH_INTL_PRICE_ELIGIBILITY_UPDATE.
type AuthIntlRateEligibility struct {
	StartTime          FlexInt            `json:"start_time,omitempty"`
	ExceptionCountries []CountryStartTime `json:"exception_countries,omitempty"`
}

// CountryStartTime is one country whose authentication-international rate starts at
// its own time.
type CountryStartTime struct {
	CountryCode string  `json:"country_code"`
	StartTime   FlexInt `json:"start_time,omitempty"`
}

// AccountReviewUpdate is the value of account_review_update: the outcome of the
// account's policy review (APPROVED, REJECTED, PENDING, DEFERRED).
type AccountReviewUpdate struct {
	Decision string `json:"decision"`
}

// PhoneNumberNameUpdate is the value of phone_number_name_update: the review of a
// number's display name (decision APPROVED, REJECTED or DEFERRED).
type PhoneNumberNameUpdate struct {
	DisplayPhoneNumber    string `json:"display_phone_number"`
	Decision              string `json:"decision"`
	RequestedVerifiedName string `json:"requested_verified_name"`
	RejectionReason       string `json:"rejection_reason,omitempty"`
}

// SecurityUpdate is the value of security: a change to a number's two-step
// verification (event PIN_CHANGED, PIN_RESET_REQUEST, PIN_RESET_SUCCESS, ...), with who
// asked for it.
type SecurityUpdate struct {
	DisplayPhoneNumber string     `json:"display_phone_number"`
	Event              string     `json:"event"`
	Requester          FlexString `json:"requester,omitempty"`
}

type RestrictionInfo struct {
	RestrictionType string  `json:"restriction_type"`
	Expiration      FlexInt `json:"expiration,omitempty"`
}

// BanInfo says what happens to a disabled or banned account. Meta documents
// waba_ban_state as a list (["SCHEDULE_FOR_DISABLE"]); older payloads sent one string.
type BanInfo struct {
	WabaBanState StringList `json:"waba_ban_state"`
	WabaBanDate  string     `json:"waba_ban_date,omitempty"`
}

type ViolationInfo struct {
	ViolationType string `json:"violation_type"`
}

type VolumeTierInfo struct {
	TierUpdateTime  FlexInt `json:"tier_update_time,omitempty"`
	PricingCategory string  `json:"pricing_category,omitempty"`
	Tier            string  `json:"tier,omitempty"`
	EffectiveMonth  string  `json:"effective_month,omitempty"`
	Region          string  `json:"region,omitempty"`
}

// AccountAlert is the value of account_alerts. Meta's current payload nests the
// alert under alert_info; older ones had it flat. Decoding fills the flat fields from
// either, so callers read only those.
type AccountAlert struct {
	EntityType       string     `json:"entity_type"`
	EntityID         string     `json:"entity_id"`
	AlertSeverity    string     `json:"alert_severity"`
	AlertStatus      string     `json:"alert_status"`
	AlertType        string     `json:"alert_type"`
	AlertDescription string     `json:"alert_description"`
	AlertInfo        *AlertInfo `json:"alert_info,omitempty"`
}

// AlertInfo is the nested alert of an account_alerts value.
type AlertInfo struct {
	AlertSeverity    string `json:"alert_severity"`
	AlertStatus      string `json:"alert_status"`
	AlertType        string `json:"alert_type"`
	AlertDescription string `json:"alert_description"`
}

// UnmarshalJSON decodes either shape and lifts alert_info into the flat fields.
func (a *AccountAlert) UnmarshalJSON(b []byte) error {
	type plain AccountAlert
	var raw struct {
		plain
		EntityID FlexString `json:"entity_id"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*a = AccountAlert(raw.plain)
	a.EntityID = string(raw.EntityID)
	if in := a.AlertInfo; in != nil {
		a.AlertSeverity = firstNonEmpty(a.AlertSeverity, in.AlertSeverity)
		a.AlertStatus = firstNonEmpty(a.AlertStatus, in.AlertStatus)
		a.AlertType = firstNonEmpty(a.AlertType, in.AlertType)
		a.AlertDescription = firstNonEmpty(a.AlertDescription, in.AlertDescription)
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
