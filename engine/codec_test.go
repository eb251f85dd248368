package engine

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"kirim/provider"
)

func fullMessage() *Message {
	yes := true
	at := time.Date(2026, 11, 21, 8, 30, 0, 123456789, time.UTC)
	return &Message{
		ID: "msg_01", AccountID: "acme", Number: "main", To: "+6281234567890", WaID: "6281234567890", Type: "template",
		Template: &TemplateRef{Name: "order_update", Language: "id"}, Category: "utility", CallbackData: "order-42 ✓",
		CampaignID: "cmp_1", CampaignRun: 3, IdempotencyKey: "k1", Price: 514_000_000, Currency: "IDR", HoldID: "msg_01", Charged: 514_000_000,
		Settled: true, State: Read, History: []StateChange{{Queued, at}, {Dispatching, at.Add(time.Second)}, {Read, at.Add(time.Minute)}},
		Attempts: 2, Throttled: 1, NextAttemptAt: at.Add(2 * time.Second), LeaseUntil: at.Add(time.Hour), WAMID: "wamid.X",
		Error:         &MessageError{Code: 131000, Title: "Something went wrong", Detail: "d", Class: "retry_later"},
		WaitingReason: "tier_limit", ETA: at.Add(24 * time.Hour),
		Pricing:   &provider.Pricing{Billable: &yes, PricingModel: "PMP", Type: "regular", Category: "utility"},
		CreatedAt: at, UpdatedAt: at.Add(time.Minute),
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for name, m := range map[string]*Message{"full": fullMessage(), "empty": {}, "minimal": {ID: "msg_2", State: Queued}} {
		var got Message
		if err := decodeMessage(encodeMessage(m), &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(&got, m) {
			t.Fatalf("%s: round trip changed the message:\n got %+v\nwant %+v", name, got, *m)
		}
	}
}

func TestCodecReadsJSONRecords(t *testing.T) {
	m := fullMessage()
	b, _ := json.Marshal(m)
	var got Message
	if err := decodeMessage(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID || !got.History[2].At.Equal(m.History[2].At) || got.Pricing.Category != "utility" {
		t.Fatalf("JSON record decoded as %+v", got)
	}
}

func TestCodecRejectsTruncated(t *testing.T) {
	b := encodeMessage(fullMessage())
	for i := 0; i < len(b); i++ {
		var m Message
		err := decodeMessage(b[:i], &m)
		if i == len(b)-1 && err == nil && m.CampaignRun == 0 {
			continue // a record from before the trailing campaign run existed
		}
		if err == nil {
			t.Fatalf("a record cut at %d of %d bytes decoded", i, len(b))
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeMessage(fullMessage()))
	f.Add(encodeMessage(&Message{}))
	f.Add([]byte{1, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := decodeMessage(b, &m); err != nil || (len(b) > 0 && b[0] == '{') {
			return
		}
		// What decodes must encode back to the same bytes.
		var again Message
		if err := decodeMessage(encodeMessage(&m), &again); err != nil || !reflect.DeepEqual(&m, &again) {
			t.Fatalf("re-encoding a decoded record changed it: %v", err)
		}
	})
}

func BenchmarkCodec(b *testing.B) {
	m := fullMessage()
	b.Run("binary", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var got Message
			if err := decodeMessage(encodeMessage(m), &got); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			buf, _ := json.Marshal(m)
			var got Message
			if err := json.Unmarshal(buf, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}
