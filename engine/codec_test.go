package engine

import (
	"bytes"
	"encoding/json"
	"os"
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
		if err := decodeMessage(m.ID, encodeMessage(m), &got); err != nil {
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
	if err := decodeMessage(m.ID, b, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID || !got.History[2].At.Equal(m.History[2].At) || got.Pricing.Category != "utility" {
		t.Fatalf("JSON record decoded as %+v", got)
	}
}

// testdata/message-v1.bin is fullMessage as version 1 wrote it.
func TestCodecReadsVersion1(t *testing.T) {
	b, err := os.ReadFile("testdata/message-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	var got Message
	if err := decodeMessage("ignored: version 1 stores the id", b, &got); err != nil {
		t.Fatal(err)
	}
	if want := fullMessage(); !reflect.DeepEqual(&got, want) {
		t.Fatalf("version 1 record decoded as\n%+v\nwant\n%+v", got, *want)
	}
	v2 := encodeMessage(&got)
	if v2[0] != codecV2 || len(v2) > len(b)-60 {
		t.Errorf("rewritten as version %d in %d bytes; version 1 took %d", v2[0], len(v2), len(b))
	}
	t.Logf("the same message: version 1 %d bytes, version 2 %d", len(b), len(v2))
}

func TestCodecStates(t *testing.T) {
	for _, s := range []State{Queued, Waiting, Dispatching, Unknown, Held, Sent, Delivered, Read, Failed, Cancelled, "paused_by_a_later_version"} {
		m := &Message{ID: "msg_s", State: s, History: []StateChange{{State: s}}}
		var got Message
		if err := decodeMessage(m.ID, encodeMessage(m), &got); err != nil || got.State != s || got.History[0].State != s {
			t.Errorf("state %q decoded as %q, %v", s, got.State, err)
		}
	}
	// A code no version wrote is corrupt, not a state.
	b := encodeMessage(&Message{ID: "msg_s", State: Read})
	var m Message
	i := bytes.IndexByte(b, 8) // Read's code
	b[i] = byte(len(stateCodes))
	if err := decodeMessage("msg_s", b, &m); err == nil {
		t.Errorf("unknown state code decoded as %q", m.State)
	}
}

func TestCodecTimesAroundCreation(t *testing.T) {
	at := time.Date(2026, 11, 21, 8, 30, 0, 1, time.UTC)
	m := &Message{ID: "msg_t", CreatedAt: at, UpdatedAt: at, NextAttemptAt: at.Add(-time.Nanosecond),
		LeaseUntil: at.Add(30 * 24 * time.Hour), ETA: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)}
	var got Message
	if err := decodeMessage(m.ID, encodeMessage(m), &got); err != nil || !reflect.DeepEqual(&got, m) {
		t.Fatalf("times decoded as %+v, %v", got, err)
	}
	// Derived fields are stored in full when they do not repeat another.
	m = &Message{ID: "msg_u", To: "6281", WaID: "+6281", HoldID: "hold_other"}
	got = Message{}
	if err := decodeMessage(m.ID, encodeMessage(m), &got); err != nil || !reflect.DeepEqual(&got, m) {
		t.Fatalf("decoded as %+v, %v", got, err)
	}
}

func TestCodecRejectsTruncated(t *testing.T) {
	b := encodeMessage(fullMessage())
	for i := 0; i < len(b); i++ {
		var m Message
		if err := decodeMessage("msg_01", b[:i], &m); err == nil {
			t.Fatalf("a record cut at %d of %d bytes decoded", i, len(b))
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add(encodeMessage(fullMessage()))
	f.Add(encodeMessage(&Message{}))
	f.Add([]byte{1, 200, 1})
	f.Add([]byte{2, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := decodeMessage("msg_f", b, &m); err != nil || (len(b) > 0 && b[0] == '{') {
			return
		}
		// What decodes must encode back to the same message.
		var again Message
		if err := decodeMessage(m.ID, encodeMessage(&m), &again); err != nil || !reflect.DeepEqual(&m, &again) {
			t.Fatalf("re-encoding a decoded record changed it: %v", err)
		}
	})
}

func BenchmarkCodec(b *testing.B) {
	m := fullMessage()
	b.Run("binary", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var got Message
			if err := decodeMessage(m.ID, encodeMessage(m), &got); err != nil {
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

func TestIdempotencyRecord(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 30, 0, 123, time.UTC)
	rec := idemRecord{Hash: bytes.Repeat([]byte{0xab}, 32), MessageID: "msg_01M80E435XCGHEVB79XFK3NAM8", Response: []byte(`{"id":"msg_01M80E435XCGHEVB79XFK3NAM8","status":"accepted"}`), CreatedAt: at}
	stored, err := json.Marshal(rec) // the form written before the binary one
	if err != nil {
		t.Fatal(err)
	}
	bin := encodeIdem(rec)
	cases := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"binary", bin, true},
		{"JSON written before", stored, true},
		{"empty", nil, false},
		{"unknown form", append([]byte{9}, bin[1:]...), false},
		{"cut short", bin[:len(bin)-3], false},
		{"trailing bytes", append(bin[:len(bin):len(bin)], 0), false},
		{"broken JSON", stored[:len(stored)-1], false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeIdem(tc.b)
			if !tc.ok {
				if err == nil {
					t.Fatalf("decoded %+v from a bad record", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, rec) {
				t.Fatalf("got %+v, want %+v", got, rec)
			}
		})
	}
	if len(bin) >= len(stored)*3/4 {
		t.Fatalf("binary record %d bytes, JSON %d", len(bin), len(stored))
	}
	// One allocation per send that names a key: the record, sized up front.
	if n := testing.AllocsPerRun(100, func() { encodeIdem(rec) }); n != 1 {
		t.Fatalf("encodeIdem made %v allocations, want 1", n)
	}
}

func FuzzDecodeIdempotencyRecord(f *testing.F) {
	f.Add(encodeIdem(idemRecord{Hash: []byte{1, 2}, MessageID: "msg_1", Response: []byte("{}"), CreatedAt: time.Unix(5, 0).UTC()}))
	f.Add([]byte(`{"hash":"AQI=","message_id":"msg_1"}`))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeIdem(b)
		if err != nil || b[0] == '{' {
			return
		}
		again, err := decodeIdem(encodeIdem(rec))
		if err != nil || !reflect.DeepEqual(normIdem(rec), normIdem(again)) {
			t.Fatalf("re-encoding a decoded record changed it: %v", err)
		}
	})
}

// normIdem makes empty and nil byte slices alike: the binary form does not tell them apart.
func normIdem(r idemRecord) idemRecord {
	if len(r.Hash) == 0 {
		r.Hash = nil
	}
	if len(r.Response) == 0 {
		r.Response = nil
	}
	return r
}
