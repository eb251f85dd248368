package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"kirim/clock"
	"kirim/engine"
	"kirim/provider"
)

// fixtureDir holds real Meta-shaped webhook bodies, shared with the provider package.
var fixtureDir = filepath.Join("..", "provider", "testdata", "webhooks")

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// calls records what ApplyPending handed to the Applier, in order.
type calls struct {
	statuses []engine.StatusUpdate
	inbound  []engine.Inbound
	prefs    []prefCall
	other    []otherCall
	order    []string
}

type prefCall struct {
	phoneNumberID string
	prefs         []provider.UserPreference
}

type otherCall struct {
	entryID, field string
	value          any
}

func (c *calls) applier() Applier {
	return Applier{
		Statuses: func(_ context.Context, u []engine.StatusUpdate) error {
			c.statuses = append(c.statuses, u...)
			c.order = append(c.order, "statuses")
			return nil
		},
		Inbound: func(_ context.Context, in []engine.Inbound) error {
			c.inbound = append(c.inbound, in...)
			c.order = append(c.order, "inbound")
			return nil
		},
		Preferences: func(_ context.Context, pid string, p []provider.UserPreference) error {
			c.prefs = append(c.prefs, prefCall{pid, p})
			c.order = append(c.order, "preferences")
			return nil
		},
		Other: func(_ context.Context, entryID, field string, v any) error {
			c.other = append(c.other, otherCall{entryID, field, v})
			c.order = append(c.order, "other")
			return nil
		},
	}
}

const (
	fixtureWABA = "1203948571629384"
	fixturePID  = "114872936104527"
	budi        = "6281234567890"
)

func billable(b bool) *bool { return &b }

// TestApplyFixtures applies real webhook bodies and checks what each Applier func got.
func TestApplyFixtures(t *testing.T) {
	tests := []struct {
		file     string
		statuses []engine.StatusUpdate
		inbound  []engine.Inbound
		prefs    []prefCall
		other    []otherCall
	}{
		{file: "status_delivered.json", statuses: []engine.StatusUpdate{{
			WAMID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjS1QkM4RjJFMUQ5QTcwNUMzNgA=", CallbackData: "msg_01J2Z8A1B2C3", Status: "delivered",
			At: unix(1784012350), RecipientID: budi,
			Pricing: &provider.Pricing{Billable: billable(true), PricingModel: "PMP", Type: "regular", Category: "marketing"}}}},
		{file: "status_failed_131026.json", statuses: []engine.StatusUpdate{{
			WAMID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjS1QkM4RjJFMUQ5QTcwNUMzNgA=", CallbackData: "msg_01J2Z9F1", Status: "failed",
			At: unix(1784012345), RecipientID: "6289900001111",
			Errors: []provider.WebhookError{{Code: 131026, Title: "Message undeliverable", Message: "Message undeliverable",
				ErrorData: &provider.ErrorData{Details: "Message Undeliverable."}, Href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}}}},
		// Conversation-based pricing (CBP) names no type: billable is regular, not
		// billable free, at the entry point when the conversation began at an ad.
		{file: "status_legacy_cbp.json", statuses: []engine.StatusUpdate{{
			WAMID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjS5QkM4RjJFMUQ5QTcwNUMzNgA=", Status: "sent", At: unix(1718000000), RecipientID: budi,
			Pricing: &provider.Pricing{Billable: billable(true), PricingModel: "CBP", Type: "regular", Category: "utility"}}}},
		{file: "status_cbp_delivered.json", statuses: []engine.StatusUpdate{{
			WAMID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjS5QkM4RjJFMUQ5QTcwNUMzNgA=", CallbackData: "msg_01J2ZC01", Status: "delivered",
			At: unix(1718000060), RecipientID: budi,
			Pricing: &provider.Pricing{Billable: billable(true), PricingModel: "CBP", Type: "regular", Category: "marketing"}}}},
		{file: "status_cbp_free.json", statuses: []engine.StatusUpdate{{
			WAMID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjS6QkM4RjJFMUQ5QTcwNUMzNgA=", Status: "sent", At: unix(1718000190), RecipientID: budi,
			Pricing: &provider.Pricing{Billable: billable(false), PricingModel: "CBP", Type: "free_customer_service", Category: "service"}}, {
			WAMID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjS7QkM4RjJFMUQ5QTcwNUMzNgA=", Status: "sent", At: unix(1718000195), RecipientID: budi,
			Pricing: &provider.Pricing{Billable: billable(false), PricingModel: "CBP", Type: "free_entry_point", Category: "referral_conversion"}}}},
		{file: "status_played.json", statuses: []engine.StatusUpdate{{
			WAMID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjV9QkM4RjJFMUQ5QTcwNUMzNgA=", Status: "played", At: unix(1784012999), RecipientID: budi}}},
		{file: "inbound_text.json", inbound: []engine.Inbound{{PhoneNumberID: fixturePID, WaID: budi, Name: "Budi Santoso",
			MessageID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjA1QkM4RjJFMUQ5QTcwNUMzNgA=", Type: "text",
			Text: "Halo kak, paket saya sudah sampai belum ya? Terima kasih 🙏😊", At: unix(1784012340)}}},
		{file: "inbound_text_referral.json", inbound: []engine.Inbound{{PhoneNumberID: fixturePID, WaID: budi, Name: "Budi Santoso",
			MessageID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjA1QkM4RjJFMUQ5QTcwNUMzNgA=", Type: "text",
			Text: "Halo, saya mau pesan kopi yang di iklan", At: unix(1784012340), Referral: true}}},
		{file: "inbound_button.json", inbound: []engine.Inbound{{PhoneNumberID: fixturePID, WaID: budi, Name: "Budi Santoso",
			MessageID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjA1QkM4RjJFMUQ5QTcwNUMzNgA=", Type: "button", Text: "STOP", At: unix(1784012340),
			Context: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjT7QkM4RjJFMUQ5QTcwNUMzNgA="}}},
		{file: "inbound_interactive_button_reply.json", inbound: []engine.Inbound{{PhoneNumberID: fixturePID, WaID: budi, Name: "Budi Santoso",
			MessageID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjA1QkM4RjJFMUQ5QTcwNUMzNgA=", Type: "interactive", Text: "pay_inv9", At: unix(1784012340),
			Context: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjI1QkM4RjJFMUQ5QTcwNUMzNgA="}}},
		// A system message (number change) is not a customer writing: no window opens.
		{file: "inbound_system_changed_number.json"},
		{file: "user_preferences_stop.json", prefs: []prefCall{{fixturePID, []provider.UserPreference{{WaID: budi,
			Detail: "User requested to stop marketing messages", Category: "marketing_messages", Value: "stop", Timestamp: 1784012345}}}}},
		{file: "template_approved.json", other: []otherCall{{fixtureWABA, provider.FieldTemplateStatusUpdate, &provider.TemplateStatusUpdate{
			Event: "APPROVED", MessageTemplateID: "1689556908129832", MessageTemplateName: "promo_juli", MessageTemplateLanguage: "id",
			Reason: "NONE", MessageTemplateCategory: "MARKETING"}}}},
		{file: "phone_quality_2025.json", other: []otherCall{{fixtureWABA, provider.FieldPhoneNumberQualityUpdate, &provider.PhoneNumberQualityUpdate{
			DisplayPhoneNumber: "6281511223344", Event: "THROUGHPUT_UPGRADE", CurrentLimit: "TIER_UNLIMITED", MaxDailyConversationsPerBusiness: "TIER_UNLIMITED"}}}},
		// A field Kirim does not know goes to Other as an UnknownChange; the known change
		// next to it is applied.
		{file: "unknown_field.json",
			statuses: []engine.StatusUpdate{{WAMID: "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjK1QkM4RjJFMUQ5QTcwNUMzNgA=", Status: "delivered",
				At: unix(1784012345), RecipientID: budi}},
			other: []otherCall{{fixtureWABA, "flows", &provider.UnknownChange{Field: "flows",
				Raw: []byte(`{"event":"FLOW_STATUS_CHANGE","message":"Flow Pendaftaran changed status from DRAFT to PUBLISHED","flow_id":"3198457120399288","old_status":"DRAFT","new_status":"PUBLISHED"}`)}}}},
		{file: "security.json", other: []otherCall{{fixtureWABA, provider.FieldSecurity, &provider.SecurityUpdate{
			DisplayPhoneNumber: "6281100001111", Event: "PIN_CHANGED", Requester: "998877665544332"}}}},
		{file: "account_update_ban_scheduled.json", other: []otherCall{{fixtureWABA, provider.FieldAccountUpdate, &provider.AccountUpdate{
			Event: "DISABLED_UPDATE", BanInfo: &provider.BanInfo{WabaBanState: provider.StringList{"SCHEDULE_FOR_DISABLE"}, WabaBanDate: "2026-07-21"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var c calls
			rc := newReceiver(t, nil, c.applier())
			if w := postSigned(rc, fixture(t, tt.file)); w.Code != 200 {
				t.Fatalf("status %d", w.Code)
			}
			if n, err := rc.ApplyPending(context.Background()); err != nil || n != 1 {
				t.Fatalf("apply: %d, %v", n, err)
			}
			if !reflect.DeepEqual(c.statuses, tt.statuses) {
				t.Errorf("statuses\n got %+v\nwant %+v", c.statuses, tt.statuses)
			}
			// Each inbound message carries the provider's message object whole; the rest
			// is compared field by field.
			for i := range c.inbound {
				var m provider.InboundMessage
				if err := json.Unmarshal(c.inbound[i].Message, &m); err != nil || m.ID != c.inbound[i].MessageID || m.Type != c.inbound[i].Type {
					t.Errorf("inbound %d: message %s: %v", i, c.inbound[i].Message, err)
				}
				c.inbound[i].Message = nil
			}
			if !reflect.DeepEqual(c.inbound, tt.inbound) {
				t.Errorf("inbound\n got %+v\nwant %+v", c.inbound, tt.inbound)
			}
			if !reflect.DeepEqual(c.prefs, tt.prefs) {
				t.Errorf("preferences\n got %+v\nwant %+v", c.prefs, tt.prefs)
			}
			if !reflect.DeepEqual(c.other, tt.other) {
				t.Errorf("other\n got %#v\nwant %#v", c.other, tt.other)
			}
			if n := inboxDepth(t, rc); n != 0 {
				t.Errorf("inbox holds %d after apply", n)
			}
			if dl, _, _ := rc.DeadLetters(0, ""); len(dl) != 0 {
				t.Errorf("dead-lettered: %+v", dl[0].Reason)
			}
		})
	}
}

func TestApplyStatusBatch(t *testing.T) {
	var c calls
	rc := newReceiver(t, nil, c.applier())
	postSigned(rc, fixture(t, "status_batch.json"))
	if _, err := rc.ApplyPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range c.statuses {
		got = append(got, s.CallbackData+":"+s.Status)
	}
	if want := []string{"msg_B1:delivered", "msg_B2:read", "msg_B3:sent", "msg_B4:failed"}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v in the body's order", got, want)
	}
	if len(c.statuses) == 4 {
		if p := c.statuses[2].Pricing; p == nil || p.Category != "authentication" || p.Type != "regular" {
			t.Errorf("pricing of msg_B3: %+v", p)
		}
		if e := c.statuses[3].Errors; len(e) != 1 || e[0].Code != provider.CodeUserStoppedMarketing {
			t.Errorf("errors of msg_B4: %+v", e)
		}
		if c.statuses[1].Pricing != nil {
			t.Error("a read status without pricing got some")
		}
	}
}

// TestApplyEveryFixture: every stored fixture is applied, none is dead-lettered, and
// inbound messages are applied before statuses.
func TestApplyEveryFixture(t *testing.T) {
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	var c calls
	rc := newReceiver(t, nil, c.applier())
	n, changes := 0, 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		body := fixture(t, e.Name())
		if w := postSigned(rc, body); w.Code != 200 {
			t.Fatalf("%s: status %d", e.Name(), w.Code)
		}
		n++
		parsed, err := provider.ParseNotification(body)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for _, entry := range parsed.Entry {
			changes += len(entry.Changes)
		}
	}
	if n < 40 {
		t.Fatalf("only %d fixtures found in %s", n, fixtureDir)
	}
	applied := 0
	for {
		k, err := rc.ApplyPending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			break
		}
		applied += k
	}
	if int64(applied) != rc.Stats().Received {
		t.Errorf("applied %d of %d stored bodies", applied, rc.Stats().Received)
	}
	if dl, _, _ := rc.DeadLetters(500, ""); len(dl) != 0 {
		t.Errorf("%d fixtures dead-lettered, first: %s", len(dl), dl[0].Reason)
	}
	if st := rc.Stats(); st.Applied != int64(changes) || st.DeadLettered != 0 || st.Retried != 0 {
		t.Errorf("stats %+v, want %d changes applied", st, changes)
	}
	if i, s := slices.Index(c.order, "inbound"), slices.Index(c.order, "statuses"); i < 0 || s < 0 || i > s {
		t.Errorf("call order %v: inbound must come before statuses", c.order)
	}
	if len(c.statuses) < 10 || len(c.inbound) < 10 || len(c.other) < 10 || len(c.prefs) != 2 {
		t.Errorf("%d statuses, %d inbound, %d other, %d preferences: fewer than the fixtures hold",
			len(c.statuses), len(c.inbound), len(c.other), len(c.prefs))
	}
}

func TestDeadLetters(t *testing.T) {
	bad := []struct {
		name, body, reason string
	}{
		{"garbage", `{"object": "whatsapp_business_account", "entry": [`, "notification"},
		{"not json at all", "\x00\x01 hello", "notification"},
		{"another object", `{"object":"page","entry":[{"id":"1","changes":[]}]}`, `object "page"`},
		{"no entry", `{"object":"whatsapp_business_account","entry":[]}`, "no entry"},
		{"value of the wrong type", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":"oops"}]}]}`, "not an object"},
		{"known key of the wrong type", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":"sent"}}]}]}`, "field messages"},
		{"change without a field", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{}}]}]}`, "no field"},
	}
	good := []string{
		// Unknown fields and unknown keys are skipped, not dead-lettered.
		`{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[{"field":"brand_new_field","value":{"x":1}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"id":"9","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"1"},"statuses":[{"id":"wamid.1","status":"sent","timestamp":"1","recipient_id":"62","new_key":{"nested":true}}],"new_top":1}}]}],"new_root":[1]}`,
	}
	var c calls
	rc := newReceiver(t, nil, c.applier())
	for _, b := range bad {
		if w := postSigned(rc, []byte(b.body)); w.Code != 200 {
			t.Fatalf("%s: status %d; a signed body is stored whatever it holds", b.name, w.Code)
		}
	}
	for _, g := range good {
		postSigned(rc, []byte(g))
	}
	if n, err := rc.ApplyPending(context.Background()); err != nil || n != len(bad)+len(good) {
		t.Fatalf("apply: %d, %v", n, err)
	}
	if n := inboxDepth(t, rc); n != 0 {
		t.Errorf("inbox holds %d after apply", n)
	}
	// The good bodies in the same batch were applied.
	if len(c.statuses) != 1 || c.statuses[0].WAMID != "wamid.1" {
		t.Errorf("statuses %+v, want the one of the body with unknown keys", c.statuses)
	}
	if len(c.other) != 1 || c.other[0].field != "brand_new_field" {
		t.Errorf("other %+v, want the unknown field", c.other)
	}

	// Every bad body is listed, oldest first, with its reason and exact bytes; paging
	// with a cursor walks them all once.
	var all []DeadLetter
	cursor := ""
	for page := 0; ; page++ {
		if page > len(bad) {
			t.Fatal("paging does not end")
		}
		dl, next, err := rc.DeadLetters(3, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, dl...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(all), len(bad))
	}
	for i, b := range bad {
		// A body that is no notification is kept whole; a change that cannot be decoded
		// is kept alone, with its body's id and its place in it.
		var ch provider.Change
		if d := all[i]; d.Index < 0 && string(d.Body) != b.body ||
			d.Index >= 0 && (d.Index != 0 || json.Unmarshal(d.Change, &ch) != nil || !strings.Contains(b.body, string(ch.Value))) {
			t.Errorf("dead letter %d %+v, want the body or its change of %q (oldest first)", i, d, b.body)
		}
		if !strings.Contains(all[i].Reason, b.reason) {
			t.Errorf("%s: reason %q, want it to mention %q", b.name, all[i].Reason, b.reason)
		}
		if !all[i].At.Equal(t0) || all[i].ID == "" {
			t.Errorf("%s: at %v id %q", b.name, all[i].At, all[i].ID)
		}
	}
	if st := rc.Stats(); st.DeadLettered != int64(len(bad)) || st.Applied != int64(len(good)) || st.UnknownSkipped != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestApplyFailureRetriesThenDeadLetters: a change whose apply fails leaves the inbox
// like the others, is retried on the backoff schedule without holding up later bodies,
// is applied if a retry succeeds, and is dead-lettered alone after MaxAttempts.
func TestApplyFailureRetriesThenDeadLetters(t *testing.T) {
	failing := map[string]bool{"read": true}
	var got []string
	rc := newReceiver(t, nil, Applier{Statuses: func(_ context.Context, u []engine.StatusUpdate) error {
		for _, s := range u {
			if failing[s.Status] {
				return errors.New("storage busy")
			}
		}
		for _, s := range u {
			got = append(got, s.WAMID+":"+s.Status)
		}
		return nil
	}})
	clk := rc.opts.Clock.(*clock.Fake)
	postSigned(rc, fixture(t, "status_delivered.json"))
	postSigned(rc, fixture(t, "status_read.json"))
	if n, err := rc.ApplyPending(context.Background()); err != nil || n != 2 {
		t.Fatalf("apply: %d %v", n, err)
	}
	if n := inboxDepth(t, rc); n != 0 {
		t.Fatalf("inbox holds %d: a failing change must not hold its body", n)
	}
	good := len(got)
	if st := rc.Stats(); st.Retried != 1 || good != 1 {
		t.Fatalf("after the first pass: applied %v, stats %+v", got, st)
	}
	// Not due yet: nothing to do.
	if n, _ := rc.ApplyPending(context.Background()); n != 0 {
		t.Fatalf("a retry ran before its time: %d", n)
	}
	for attempt := 2; attempt <= MaxAttempts; attempt++ {
		clk.Advance(retryDelay(attempt - 1))
		if n, err := rc.ApplyPending(context.Background()); err != nil || n != 2-good {
			t.Fatalf("retry %d: %d %v", attempt, n, err)
		}
	}
	dl, _, err := rc.DeadLetters(10, "")
	if err != nil || len(dl) != 2-good {
		t.Fatalf("dead letters %+v %v", dl, err)
	}
	if d := dl[0]; d.Attempts != MaxAttempts || d.Index != 0 || !strings.Contains(d.Reason, "storage busy") || len(d.Change) == 0 {
		t.Fatalf("dead letter %+v", d)
	}
	// Replayed once the cause is gone, it is applied.
	clear(failing)
	if err := rc.Replay(context.Background(), dl[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, err := rc.ApplyPending(context.Background()); err != nil || n != 1 {
		t.Fatalf("apply the replay: %d %v", n, err)
	}
	if len(got) != 2 {
		t.Fatalf("applied %v after the replay", got)
	}
	if dl, _, _ := rc.DeadLetters(10, ""); len(dl) != 0 {
		t.Fatalf("dead letters after the replay: %+v", dl)
	}
}

// TestApplyBatches: a full inbox is applied in batches of Options.Batch, oldest first.
func TestApplyBatches(t *testing.T) {
	var c calls
	rc := New(Options{DB: openDB(t, ""), Logger: quietLogger(), AppSecret: testSecret, Apply: c.applier(), Batch: 4})
	for i := range 10 {
		body := fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.%02d","status":"sent","timestamp":"1"}]}}]}]}`, i)
		postSigned(rc, body)
	}
	var sizes []int
	for {
		n, err := rc.ApplyPending(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		sizes = append(sizes, n)
	}
	if !slices.Equal(sizes, []int{4, 4, 2}) {
		t.Errorf("batches %v, want [4 4 2]", sizes)
	}
	for i, s := range c.statuses {
		if want := fmt.Sprintf("wamid.%02d", i); s.WAMID != want {
			t.Errorf("status %d is %s, want %s: applied out of order", i, s.WAMID, want)
		}
	}
}

// TestStartApplies: the background applier picks up what Notify stored.
func TestStartApplies(t *testing.T) {
	got := make(chan []engine.StatusUpdate, 1)
	rc := newReceiver(t, nil, Applier{Statuses: func(_ context.Context, u []engine.StatusUpdate) error {
		got <- u
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	rc.Start(ctx)
	defer func() {
		cancel()
		rc.Wait()
	}()
	postSigned(rc, fixture(t, "status_read.json"))
	select {
	case u := <-got:
		if len(u) != 1 || u[0].Status != "read" {
			t.Errorf("applied %+v", u)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the applier did not apply a stored body")
	}
}
