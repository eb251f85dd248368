package provider

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Limits on what a webhook may carry. Meta's own values are far below them (a wamid is
// about 60 characters, a wa_id at most 15 digits, a text at most 4,096 characters, a
// body at most 1,000 statuses); a value beyond them is not Meta's, and must not reach a
// storage key or fill the store. A change that breaks one is refused as data, with the
// field named, never retried.
const (
	MaxPhoneBytes  = 32     // from, wa_id, recipient_id, phone_number_id, display_phone_number
	MaxIDBytes     = 256    // message, template, media and user ids; template names and languages
	MaxOpaqueBytes = 512    // biz_opaque_callback_data, as Meta caps it
	MaxTextBytes   = 65536  // any other string: texts, captions, names, reasons
	MaxItems       = 1000   // entries of any list: statuses, messages, contacts, errors...
	MaxEntries     = 1000   // entries of one notification
	MaxChanges     = 1000   // changes of one notification, all its entries together
	MaxRawBytes    = 262144 // a value kept raw (an order, an unknown field's value)
)

var (
	phoneFields = map[string]bool{"from": true, "wa_id": true, "recipient_id": true, "phone_number_id": true,
		"display_phone_number": true, "new_wa_id": true, "phone_number": true}
	idFields = map[string]bool{"id": true, "message_template_id": true, "message_template_name": true,
		"message_template_language": true, "user_id": true, "from_user_id": true, "recipient_user_id": true,
		"previous_user_id": true, "message_id": true, "field": true, "event": true, "type": true, "status": true,
		"waba_id": true, "owner_business_id": true, "partner_app_id": true, "flow_id": true, "requester": true,
		"decision": true, "country": true, "country_code": true}
)

// CheckLimits reports the first value in v (a decoded change value) beyond the limits
// above, naming it by its JSON path: "statuses[3].recipient_id: 4100 bytes, more than 32".
func CheckLimits(v any) error {
	var c limitCheck
	return c.value(reflect.ValueOf(v), "")
}

// limitCheck walks a value keeping its path as segments, joined only for an error.
type limitCheck struct{ path []pathSeg }

type pathSeg struct {
	name string
	idx  int // -1: a field
}

func (c *limitCheck) fail(format string, args ...any) error {
	var b strings.Builder
	for _, s := range c.path {
		if s.idx >= 0 {
			b.WriteString("[" + strconv.Itoa(s.idx) + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
	}
	return fmt.Errorf("%s: "+format, append([]any{b.String()}, args...)...)
}

func (c *limitCheck) value(v reflect.Value, name string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return c.value(v.Elem(), name)
	case reflect.String:
		limit := MaxTextBytes
		switch {
		case phoneFields[name]:
			limit = MaxPhoneBytes
		case idFields[name]:
			limit = MaxIDBytes
		case name == "biz_opaque_callback_data":
			limit = MaxOpaqueBytes
		}
		if n := v.Len(); n > limit {
			return c.fail("%d bytes, more than %d", n, limit)
		}
	case reflect.Slice:
		if v.Type() == rawMessageType {
			if n := v.Len(); n > MaxRawBytes {
				return c.fail("%d bytes, more than %d", n, MaxRawBytes)
			}
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		if n := v.Len(); n > MaxItems {
			return c.fail("%d items, more than %d", n, MaxItems)
		}
		for i := 0; i < v.Len(); i++ {
			c.path = append(c.path, pathSeg{idx: i})
			if err := c.value(v.Index(i), name); err != nil {
				return err
			}
			c.path = c.path[:len(c.path)-1]
		}
	case reflect.Struct:
		fields := jsonFields(v.Type())
		for i, tag := range fields {
			if tag == "" {
				continue
			}
			c.path = append(c.path, pathSeg{name: tag, idx: -1})
			if err := c.value(v.Field(i), tag); err != nil {
				return err
			}
			c.path = c.path[:len(c.path)-1]
		}
	}
	return nil
}

// jsonFields returns the JSON name of each field of t ("" to skip), computed once.
func jsonFields(t reflect.Type) []string {
	if f, ok := fieldNames.Load(t); ok {
		return f.([]string)
	}
	names := make([]string, t.NumField())
	for i := range names {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := strings.Split(f.Tag.Get("json"), ",")[0]
		switch tag {
		case "-":
			continue
		case "":
			tag = f.Name
		}
		names[i] = tag
	}
	fieldNames.Store(t, names)
	return names
}

var fieldNames sync.Map // reflect.Type -> []string

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))
