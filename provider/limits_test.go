package provider

import (
	"strings"
	"testing"
)

// TestLimitsRefuseOversizeValues: a value beyond the limits is refused at decode time,
// naming its path; Meta-sized values pass.
func TestLimitsRefuseOversizeValues(t *testing.T) {
	msg := func(from, id, text string) Change {
		return Change{Field: FieldMessages, Value: []byte(`{"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000001"},` +
			`"messages":[{"from":"` + from + `","id":"` + id + `","timestamp":"1784012400","type":"text","text":{"body":"` + text + `"}}]}`)}
	}
	status := func(recipient, opaque string) Change {
		return Change{Field: FieldMessages, Value: []byte(`{"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000001"},` +
			`"statuses":[{"id":"wamid.1","status":"sent","timestamp":"1","recipient_id":"` + recipient + `","biz_opaque_callback_data":"` + opaque + `"}]}`)}
	}
	many := `{"messaging_product":"whatsapp","metadata":{"phone_number_id":"1"},"statuses":[` +
		strings.TrimSuffix(strings.Repeat(`{"id":"w","status":"sent","timestamp":"1","recipient_id":"62"},`, MaxItems+1), ",") + `]}`
	cases := []struct {
		name string
		c    Change
		want string // "" accepted
	}{
		{"normal", msg("6281234567890", "wamid.HBgN", strings.Repeat("a", 4096)), ""},
		{"long from", msg(strings.Repeat("6", 4100), "wamid.1", "hi"), "messages[0].from: 4100 bytes, more than 32"},
		{"long id", msg("6281234567890", strings.Repeat("x", 70_000), "hi"), "messages[0].id: 70000 bytes, more than 256"},
		{"long text", msg("6281234567890", "wamid.1", strings.Repeat("a", MaxTextBytes+1)), "messages[0].text.body: 65537 bytes"},
		{"long recipient", status(strings.Repeat("1", 33), ""), "statuses[0].recipient_id: 33 bytes, more than 32"},
		{"long opaque", status("6281234567890", strings.Repeat("o", 513)), "statuses[0].biz_opaque_callback_data: 513 bytes, more than 512"},
		{"too many statuses", Change{Field: FieldMessages, Value: []byte(many)}, "statuses: 1001 items, more than 1000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeChange(tc.c)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	body := `{"object":"whatsapp_business_account","entry":[` + strings.TrimSuffix(strings.Repeat(`{"id":"1","changes":[]},`, MaxEntries+1), ",") + `]}`
	if _, err := ParseNotification([]byte(body)); err == nil || !strings.Contains(err.Error(), "1001 entries") {
		t.Fatalf("entries: %v", err)
	}
	// The changes of all entries count together: two entries of 500 pass, one more
	// change is refused naming the entry where the count went over.
	change := `{"field":"messages","value":{}},`
	entry := `{"id":"1","changes":[` + strings.TrimSuffix(strings.Repeat(change, MaxChanges/2), ",") + `]}`
	body = `{"object":"whatsapp_business_account","entry":[` + entry + `,` + entry + `]}`
	if _, err := ParseNotification([]byte(body)); err != nil {
		t.Fatalf("%d changes refused: %v", MaxChanges, err)
	}
	body = `{"object":"whatsapp_business_account","entry":[` + entry + `,` + entry + `,{"id":"2","changes":[{"field":"messages","value":{}}]}]}`
	if _, err := ParseNotification([]byte(body)); err == nil || !strings.Contains(err.Error(), "entry[2].changes: more than 1000 changes") {
		t.Fatalf("changes: %v", err)
	}
}

func BenchmarkCheckLimitsStatusBatch(b *testing.B) {
	n, err := ParseNotification(readFixture(b, "webhooks", "status_batch.json"))
	if err != nil {
		b.Fatal(err)
	}
	v, err := DecodeChange(n.Entry[0].Changes[0])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := CheckLimits(v); err != nil {
			b.Fatal(err)
		}
	}
}
