package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ObjectWhatsAppBusinessAccount is the object every Cloud API webhook names.
const ObjectWhatsAppBusinessAccount = "whatsapp_business_account"

// MaxNotificationBytes is the largest webhook body Meta sends (3 MB); anything larger
// is not a Cloud API notification.
const MaxNotificationBytes = 3 << 20

// UnknownChange is a change whose field Kirim does not handle. It is kept (the raw
// value is in the inbox anyway) and skipped rather than treated as an error, so a new
// field subscribed in the app dashboard never blocks the ones Kirim knows.
type UnknownChange struct {
	Field string
	Raw   json.RawMessage
}

// ParseNotification decodes a webhook body into its envelope. It fails when the body is
// not JSON, is too large, names another object, or carries no entry; the changes'
// values stay raw for DecodeChange.
func ParseNotification(body []byte) (*Notification, error) {
	if len(body) > MaxNotificationBytes {
		return nil, fmt.Errorf("provider: notification: body of %d bytes exceeds %d", len(body), MaxNotificationBytes)
	}
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("provider: notification: %w", err)
	}
	if n.Object != ObjectWhatsAppBusinessAccount {
		return nil, fmt.Errorf("provider: notification: object %q is not %q", n.Object, ObjectWhatsAppBusinessAccount)
	}
	if len(n.Entry) == 0 {
		return nil, errors.New("provider: notification: no entry")
	}
	if len(n.Entry) > MaxEntries {
		return nil, fmt.Errorf("provider: notification: %d entries, more than %d", len(n.Entry), MaxEntries)
	}
	changes := 0
	for i, e := range n.Entry {
		changes += len(e.Changes)
		if changes > MaxChanges {
			return nil, fmt.Errorf("provider: notification: entry[%d].changes: more than %d changes in the body", i, MaxChanges)
		}
		if len(e.ID) > MaxIDBytes {
			return nil, fmt.Errorf("provider: notification: entry[%d].id: %d bytes, more than %d", i, len(e.ID), MaxIDBytes)
		}
	}
	return &n, nil
}

// DecodeChange decodes a change's value into the type its field names:
//
//	messages, user_preferences          *MessagesValue
//	message_template_status_update      *TemplateStatusUpdate
//	message_template_quality_update     *TemplateQualityUpdate
//	template_category_update            *TemplateCategoryUpdate
//	phone_number_quality_update         *PhoneNumberQualityUpdate
//	business_capability_update          *BusinessCapabilityUpdate
//	message_template_components_update  *TemplateComponentsUpdate
//	phone_number_name_update            *PhoneNumberNameUpdate
//	account_update                      *AccountUpdate
//	account_review_update               *AccountReviewUpdate
//	account_alerts                      *AccountAlert
//	security                            *SecurityUpdate
//	anything else                       *UnknownChange (not an error)
//
// Unknown keys inside a value are ignored; a known key with the wrong JSON type, a
// value that is not an object, and a missing field name are errors.
func DecodeChange(c Change) (any, error) {
	var v any
	switch c.Field {
	case "":
		return nil, errors.New("provider: change: no field")
	case FieldMessages, FieldUserPreferences:
		v = new(MessagesValue)
	case FieldTemplateStatusUpdate:
		v = new(TemplateStatusUpdate)
	case FieldTemplateQualityUpdate:
		v = new(TemplateQualityUpdate)
	case FieldTemplateCategoryUpdate:
		v = new(TemplateCategoryUpdate)
	case FieldPhoneNumberQualityUpdate:
		v = new(PhoneNumberQualityUpdate)
	case FieldBusinessCapabilityUpdate:
		v = new(BusinessCapabilityUpdate)
	case FieldAccountUpdate:
		v = new(AccountUpdate)
	case FieldAccountAlerts:
		v = new(AccountAlert)
	case FieldTemplateComponentsUpdate:
		v = new(TemplateComponentsUpdate)
	case FieldPhoneNumberNameUpdate:
		v = new(PhoneNumberNameUpdate)
	case FieldAccountReviewUpdate:
		v = new(AccountReviewUpdate)
	case FieldSecurity:
		v = new(SecurityUpdate)
	default:
		return &UnknownChange{Field: c.Field, Raw: c.Value}, nil
	}
	raw := bytes.TrimSpace(c.Value)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("provider: change %s: value is not an object", c.Field)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("provider: change %s: %w", c.Field, err)
	}
	if err := CheckLimits(v); err != nil {
		return nil, fmt.Errorf("provider: change %s: %w", c.Field, err)
	}
	return v, nil
}
