package provider

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const (
	fxWABA    = "1203948571629384"
	fxPhoneID = "114872936104527"
	fxWaID    = "6281234567890"
	fxBizData = "msg_01J2Z8A1B2C3"
	fxTmplID  = "1689556908129832"
)

// decodeFixture parses a webhook fixture and decodes its changes, failing on any error.
func decodeFixture(t *testing.T, name string) (*Notification, []any) {
	t.Helper()
	n, err := ParseNotification(readFixture(t, "webhooks", name))
	if err != nil {
		t.Fatalf("ParseNotification: %v", err)
	}
	var vals []any
	for _, e := range n.Entry {
		if e.ID != fxWABA {
			t.Errorf("entry id = %q", e.ID)
		}
		for _, c := range e.Changes {
			v, err := DecodeChange(c)
			if err != nil {
				t.Fatalf("DecodeChange(%s): %v", c.Field, err)
			}
			vals = append(vals, v)
		}
	}
	return n, vals
}

// only returns the single decoded value of a fixture as T.
func only[T any](t *testing.T, vals []any) T {
	t.Helper()
	if len(vals) != 1 {
		t.Fatalf("%d changes, want 1", len(vals))
	}
	v, ok := vals[0].(T)
	if !ok {
		var zero T
		t.Fatalf("value is %T, want %T", vals[0], zero)
	}
	return v
}

func oneStatus(t *testing.T, vals []any) Status {
	t.Helper()
	mv := only[*MessagesValue](t, vals)
	if mv.Metadata.PhoneNumberID != fxPhoneID || mv.MessagingProduct != "whatsapp" {
		t.Errorf("metadata = %+v", mv.Metadata)
	}
	if len(mv.Statuses) != 1 || len(mv.Messages) != 0 {
		t.Fatalf("%d statuses, %d messages; want 1, 0", len(mv.Statuses), len(mv.Messages))
	}
	return mv.Statuses[0]
}

func oneMessage(t *testing.T, vals []any, typ string) InboundMessage {
	t.Helper()
	mv := only[*MessagesValue](t, vals)
	if len(mv.Messages) != 1 || len(mv.Statuses) != 0 {
		t.Fatalf("%d messages, %d statuses; want 1, 0", len(mv.Messages), len(mv.Statuses))
	}
	m := mv.Messages[0]
	if m.Type != typ {
		t.Fatalf("type = %q, want %q", m.Type, typ)
	}
	if m.Timestamp != 1784012340 || !strings.HasPrefix(m.ID, "wamid.") {
		t.Errorf("id/timestamp = %q/%d", m.ID, m.Timestamp)
	}
	return m
}

func wantPricing(t *testing.T, p *Pricing, billable bool, model, typ, category string) {
	t.Helper()
	if p == nil {
		t.Fatal("no pricing")
	}
	if p.Billable == nil || *p.Billable != billable || p.PricingModel != model || p.Type != typ || p.Category != category {
		t.Errorf("pricing = %+v (billable %v), want %v %s %s %s", *p, p.Billable, billable, model, typ, category)
	}
}

func wantFailed(t *testing.T, s Status, code int, class Class) {
	t.Helper()
	if s.Status != DeliveryFailed || len(s.Errors) != 1 || s.Errors[0].Code != code {
		t.Fatalf("status = %+v", s)
	}
	e := s.Errors[0]
	if e.Title == "" || e.ErrorData == nil || e.ErrorData.Details == "" || !strings.HasPrefix(e.Href, "https://") {
		t.Errorf("error lacks title/details/href: %+v", e)
	}
	if Classify(e.Code) != class {
		t.Errorf("Classify(%d) = %v, want %v", e.Code, Classify(e.Code), class)
	}
	if s.Pricing != nil {
		t.Errorf("a failed status carries pricing %+v", *s.Pricing)
	}
}

var webhookCases = []struct {
	file  string
	check func(t *testing.T, n *Notification, vals []any)
}{
	// --- statuses ---
	{"status_sent_marketing.json", func(t *testing.T, _ *Notification, vals []any) {
		s := oneStatus(t, vals)
		if s.Status != DeliverySent || s.RecipientID != fxWaID || s.BizOpaqueCallbackData != fxBizData || s.Timestamp != 1784012345 {
			t.Errorf("status = %+v", s)
		}
		wantPricing(t, s.Pricing, true, "PMP", PricingRegular, "marketing")
		if c := s.Conversation; c == nil || c.Origin.Type != "marketing" || c.ExpirationTimestamp != 1784098800 || c.ID == "" {
			t.Errorf("conversation = %+v", c)
		}
	}},
	{"status_delivered.json", func(t *testing.T, _ *Notification, vals []any) {
		s := oneStatus(t, vals)
		if s.Status != DeliveryDelivered || s.BizOpaqueCallbackData != fxBizData || s.Conversation != nil {
			t.Errorf("status = %+v", s)
		}
		wantPricing(t, s.Pricing, true, "PMP", PricingRegular, "marketing")
	}},
	{"status_read.json", func(t *testing.T, _ *Notification, vals []any) {
		s := oneStatus(t, vals)
		if s.Status != DeliveryRead || s.Pricing != nil || s.Timestamp != 1784012410 {
			t.Errorf("status = %+v", s)
		}
	}},
	{"status_played.json", func(t *testing.T, _ *Notification, vals []any) {
		if s := oneStatus(t, vals); s.Status != DeliveryPlayed {
			t.Errorf("status = %q", s.Status)
		}
	}},
	{"status_failed_131049.json", func(t *testing.T, _ *Notification, vals []any) {
		wantFailed(t, oneStatus(t, vals), 131049, RetryAfter24h)
	}},
	{"status_failed_131026.json", func(t *testing.T, _ *Notification, vals []any) {
		s := oneStatus(t, vals)
		wantFailed(t, s, 131026, Fatal)
		if s.RecipientID != "6289900001111" {
			t.Errorf("recipient = %q", s.RecipientID)
		}
	}},
	{"status_failed_132015.json", func(t *testing.T, _ *Notification, vals []any) {
		wantFailed(t, oneStatus(t, vals), 132015, Fatal)
	}},
	{"status_free_customer_service.json", func(t *testing.T, _ *Notification, vals []any) {
		s := oneStatus(t, vals)
		wantPricing(t, s.Pricing, false, "PMP", PricingFreeCustomerService, "service")
		if s.BizOpaqueCallbackData != "" {
			t.Errorf("callback data = %q", s.BizOpaqueCallbackData)
		}
	}},
	{"status_utility_in_window.json", func(t *testing.T, _ *Notification, vals []any) {
		wantPricing(t, oneStatus(t, vals).Pricing, false, "PMP", PricingFreeCustomerService, "utility")
	}},
	{"status_free_entry_point.json", func(t *testing.T, _ *Notification, vals []any) {
		s := oneStatus(t, vals)
		wantPricing(t, s.Pricing, false, "PMP", PricingFreeEntryPoint, "marketing")
		if s.Conversation == nil || s.Conversation.Origin.Type != "referral_conversion" || s.Conversation.ExpirationTimestamp != 1784271545 {
			t.Errorf("conversation = %+v", s.Conversation)
		}
	}},
	{"status_legacy_cbp.json", func(t *testing.T, _ *Notification, vals []any) {
		s := oneStatus(t, vals)
		wantPricing(t, s.Pricing, true, "CBP", "", "utility")
		if s.Conversation == nil || s.Conversation.Origin.Type != "utility" || s.Timestamp != 1718000000 {
			t.Errorf("status = %+v", s)
		}
	}},
	{"status_cbp_delivered.json", func(t *testing.T, _ *Notification, vals []any) {
		s := oneStatus(t, vals)
		wantPricing(t, s.Pricing, true, "CBP", "", "marketing")
		if s.Conversation == nil || s.Conversation.Origin.Type != "marketing" || s.Conversation.ExpirationTimestamp != 0 || s.Status != DeliveryDelivered {
			t.Errorf("status = %+v", s)
		}
	}},
	{"status_cbp_free.json", func(t *testing.T, _ *Notification, vals []any) {
		ss := vals[0].(*MessagesValue).Statuses
		if len(ss) != 2 {
			t.Fatalf("%d statuses", len(ss))
		}
		wantPricing(t, ss[0].Pricing, false, "CBP", "", "service")
		wantPricing(t, ss[1].Pricing, false, "CBP", "", "referral_conversion")
		if c := ss[1].Conversation; c == nil || c.Origin.Type != "referral_conversion" || c.ExpirationTimestamp != 1718259395 {
			t.Errorf("conversation = %+v", c)
		}
	}},
	{"status_batch.json", func(t *testing.T, n *Notification, vals []any) {
		if len(n.Entry) != 2 || len(vals) != 2 {
			t.Fatalf("%d entries, %d changes", len(n.Entry), len(vals))
		}
		var got []string
		for _, v := range vals {
			for _, s := range v.(*MessagesValue).Statuses {
				got = append(got, s.Status+":"+s.BizOpaqueCallbackData)
			}
		}
		want := []string{"delivered:msg_B1", "read:msg_B2", "sent:msg_B3", "failed:msg_B4"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("statuses = %v, want %v", got, want)
		}
		first := vals[0].(*MessagesValue).Statuses
		wantPricing(t, first[0].Pricing, true, "PMP", PricingRegular, "utility")
		wantPricing(t, first[2].Pricing, true, "PMP", PricingRegular, "authentication")
		if n.Entry[1].Time != 1784012501 {
			t.Errorf("entry time = %d", n.Entry[1].Time)
		}
	}},

	// --- inbound messages ---
	{"inbound_text.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeText)
		if m.Text == nil || m.Text.Body != "Halo kak, paket saya sudah sampai belum ya? Terima kasih \U0001F64F\U0001F60A" {
			t.Errorf("text = %+v", m.Text)
		}
		mv := vals[0].(*MessagesValue)
		if m.From != fxWaID || len(mv.Contacts) != 1 || mv.Contacts[0].Profile.Name != "Budi Santoso" || mv.Contacts[0].WaID != fxWaID {
			t.Errorf("from/contacts = %q %+v", m.From, mv.Contacts)
		}
	}},
	{"inbound_image.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeImage)
		if m.Image == nil || m.Image.ID != "1479537139650973" || m.Image.MimeType != "image/jpeg" || m.Image.Caption != "Bukti transfer Rp150.000" || m.Image.SHA256 == "" {
			t.Errorf("image = %+v", m.Image)
		}
	}},
	{"inbound_video.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeVideo)
		if m.Video == nil || m.Video.MimeType != "video/mp4" || m.Video.ID != "1166846181421424" {
			t.Errorf("video = %+v", m.Video)
		}
	}},
	{"inbound_audio_voice.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeAudio)
		if m.Audio == nil || !m.Audio.Voice || m.Audio.MimeType != "audio/ogg; codecs=opus" {
			t.Errorf("audio = %+v", m.Audio)
		}
	}},
	{"inbound_document.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeDocument)
		if m.Document == nil || m.Document.Filename != "ktp-budi.pdf" || m.Document.MimeType != "application/pdf" {
			t.Errorf("document = %+v", m.Document)
		}
	}},
	{"inbound_sticker.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeSticker)
		if m.Sticker == nil || m.Sticker.MimeType != "image/webp" || m.Sticker.Animated {
			t.Errorf("sticker = %+v", m.Sticker)
		}
	}},
	{"inbound_location.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeLocation)
		if l := m.Location; l == nil || l.Latitude != -6.2245712 || l.Longitude != 106.8093518 || l.Name != "Pacific Place" {
			t.Errorf("location = %+v", l)
		}
	}},
	{"inbound_contacts.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeContacts)
		if len(m.Contacts) != 1 || m.Contacts[0].Name.FormattedName != "Siti Rahayu" || m.Contacts[0].Phones[0].WaID != "6281322223333" || m.Contacts[0].Org.Company != "CV Maju Jaya" {
			t.Errorf("contacts = %+v", m.Contacts)
		}
	}},
	{"inbound_reaction.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeReaction)
		if m.Reaction == nil || m.Reaction.Emoji != "\u2764\ufe0f" || !strings.HasPrefix(m.Reaction.MessageID, "wamid.") {
			t.Errorf("reaction = %+v", m.Reaction)
		}
	}},
	{"inbound_button.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, "button")
		if m.Button == nil || m.Button.Payload != "STOP" || m.Button.Text != "Berhenti" {
			t.Errorf("button = %+v", m.Button)
		}
		if m.Context == nil || m.Context.From != "6281511223344" || m.Context.ID == "" {
			t.Errorf("context = %+v", m.Context)
		}
	}},
	{"inbound_interactive_button_reply.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeInteractive)
		if i := m.Interactive; i == nil || i.Type != "button_reply" || i.ButtonReply == nil || i.ButtonReply.ID != "pay_inv9" || i.ButtonReply.Title != "Bayar" {
			t.Errorf("interactive = %+v", m.Interactive)
		}
	}},
	{"inbound_interactive_list_reply.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeInteractive)
		if i := m.Interactive; i == nil || i.Type != "list_reply" || i.ListReply == nil || i.ListReply.ID != "p_plus" || i.ListReply.Description != "Rp 400.000 per bulan" {
			t.Errorf("interactive = %+v", m.Interactive)
		}
	}},
	{"inbound_order.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, "order")
		var order struct {
			CatalogID    string `json:"catalog_id"`
			ProductItems []struct {
				ID       string `json:"product_retailer_id"`
				Quantity int    `json:"quantity"`
				Price    int64  `json:"item_price"`
				Currency string `json:"currency"`
			} `json:"product_items"`
		}
		if err := json.Unmarshal(m.Order, &order); err != nil {
			t.Fatal(err)
		}
		if order.CatalogID != "354160437058781" || len(order.ProductItems) != 2 || order.ProductItems[0].Price != 85000 || order.ProductItems[0].Currency != "IDR" {
			t.Errorf("order = %+v", order)
		}
	}},
	{"inbound_system_changed_number.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, "system")
		if s := m.System; s == nil || s.Type != "user_changed_number" || s.WaID != "6281298765432" || !strings.Contains(s.Body, "changed from") {
			t.Errorf("system = %+v", m.System)
		}
		if len(vals[0].(*MessagesValue).Contacts) != 0 {
			t.Error("a system message carries contacts")
		}
	}},
	{"inbound_unsupported.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, "unsupported")
		if len(m.Errors) != 1 || m.Errors[0].Code != CodeUnsupportedType || m.Errors[0].ErrorData.Details == "" {
			t.Errorf("errors = %+v", m.Errors)
		}
	}},
	{"inbound_text_reply.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeText)
		if m.Context == nil || m.Context.ID == "" || m.Context.From != "6281511223344" || m.Context.Forwarded {
			t.Errorf("context = %+v", m.Context)
		}
	}},
	{"inbound_text_referral.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeText)
		r := m.Referral
		if r == nil || r.SourceType != "ad" || r.SourceID != "120212345678900123" || r.MediaType != "image" || !strings.HasPrefix(r.CtwaClid, "ARAk") {
			t.Fatalf("referral = %+v", r)
		}
		if r.SourceURL != "https://fb.me/3cr4Wqqkv" {
			t.Errorf("escaped slashes not decoded: %q", r.SourceURL)
		}
	}},
	{"inbound_text_username.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeText)
		if m.From != "" || m.FromUserID != "ID.1349120865530274" {
			t.Errorf("from/from_user_id = %q/%q", m.From, m.FromUserID)
		}
		c := vals[0].(*MessagesValue).Contacts
		if len(c) != 1 || c[0].UserID != "ID.1349120865530274" || c[0].WaID != "" || c[0].Profile.Name != "Rina" {
			t.Errorf("contacts = %+v", c)
		}
	}},
	{"inbound_system_error.json", func(t *testing.T, _ *Notification, vals []any) {
		m := oneMessage(t, vals, TypeInteractive)
		if m.Interactive != nil {
			t.Errorf("interactive = %+v", m.Interactive)
		}
		errs := vals[0].(*MessagesValue).Errors
		if len(errs) != 1 || errs[0].Code != CodeGeneric {
			t.Errorf("value errors = %+v", errs)
		}
	}},
}

func TestDecodeWebhookFixtures(t *testing.T) {
	for _, tc := range append(webhookCases, updateCases...) {
		t.Run(tc.file, func(t *testing.T) {
			n, vals := decodeFixture(t, tc.file)
			tc.check(t, n, vals)
		})
	}
}

func TestWebhookFixturesCovered(t *testing.T) {
	known := map[string]bool{}
	for _, tc := range append(webhookCases, updateCases...) {
		known[tc.file] = true
	}
	names, err := fixtureNames("webhooks")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !known[name] {
			t.Errorf("testdata/webhooks/%s has no test case", name)
		}
	}
	if len(names) < 45 {
		t.Errorf("only %d webhook fixtures", len(names))
	}
}

// TestWebhookFixturesAsMetaSendsThem checks the fixtures keep Meta's byte form: ASCII
// only (non-ASCII text \u-escaped) and escaped slashes, so signature tests over them
// exercise the raw-bytes rule.
func TestWebhookFixturesAsMetaSendsThem(t *testing.T) {
	names, err := fixtureNames("webhooks")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		b := readFixture(t, "webhooks", name)
		for i, c := range b {
			if c >= 0x80 {
				t.Errorf("%s: raw non-ASCII byte at %d", name, i)
				break
			}
		}
		if strings.Contains(string(b), "://") {
			t.Errorf("%s: unescaped slash in a URL", name)
		}
	}
}
