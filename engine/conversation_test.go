package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"kirim/provider"
	"kirim/storage"
)

const (
	convPID   = "100000000000001"
	convWa    = "6281234567890"
	convPhone = "+6281234567890"
)

// convEnv is an engine whose number belongs to testAccount, with a second number of
// another account.
func convEnv(t *testing.T, mutate func(*Options)) *env {
	return newEnv(t, nil, nil, alwaysAccept, func(o *Options) {
		o.Numbers[0].Account = testAccount
		o.Numbers = append(o.Numbers, Number{Alias: "other", Account: "acct_other", PhoneNumberID: "100000000000002",
			WABAID: "200000000000002", Sender: o.Numbers[0].Sender, MPS: 80})
		if mutate != nil {
			mutate(o)
		}
	})
}

// wire decodes a provider message written as JSON, as the webhook receiver does.
func wire(t *testing.T, pid, raw string) Inbound {
	t.Helper()
	var m provider.InboundMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	return InboundOf(pid, "Budi", &m)
}

func TestInboundStoredWithContent(t *testing.T) {
	e := convEnv(t, nil).start()
	ctx := context.Background()
	sent := e.submit(convPhone, nil)
	*sent = e.rec.waitState(t, sent.ID, Sent, 1)
	ts := t0.Unix()
	tests := []struct {
		name, pid, raw string
		check          func(t *testing.T, r *InboundRecord, m *provider.InboundMessage)
	}{
		{"text", convPID, `{"from":"6281234567890","id":"wamid.t1","timestamp":"%d","type":"text","text":{"body":"halo"}}`,
			func(t *testing.T, r *InboundRecord, m *provider.InboundMessage) {
				if m.Text == nil || m.Text.Body != "halo" || r.Context != nil {
					t.Errorf("text %+v, context %+v", m.Text, r.Context)
				}
			}},
		{"image with caption", convPID, `{"from":"6281234567890","id":"wamid.t2","timestamp":"%d","type":"image","image":{"id":"media-1","mime_type":"image/jpeg","sha256":"abc","caption":"struk"}}`,
			func(t *testing.T, r *InboundRecord, m *provider.InboundMessage) {
				if r.MediaID != "media-1" || m.Image == nil || m.Image.Caption != "struk" || m.Image.MimeType != "image/jpeg" {
					t.Errorf("media %q image %+v", r.MediaID, m.Image)
				}
			}},
		{"location", convPID, `{"from":"6281234567890","id":"wamid.t3","timestamp":"%d","type":"location","location":{"latitude":-6.2,"longitude":106.8,"name":"Kantor"}}`,
			func(t *testing.T, r *InboundRecord, m *provider.InboundMessage) {
				if m.Location == nil || m.Location.Latitude != -6.2 || m.Location.Name != "Kantor" {
					t.Errorf("location %+v", m.Location)
				}
			}},
		{"button reply with context", convPID, `{"from":"6281234567890","id":"wamid.t4","timestamp":"%d","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Ya"}},"context":{"from":"6280000","id":"` + sent.WAMID + `"}}`,
			func(t *testing.T, r *InboundRecord, m *provider.InboundMessage) {
				if m.Interactive == nil || m.Interactive.ButtonReply.Title != "Ya" {
					t.Errorf("interactive %+v", m.Interactive)
				}
				if r.Context == nil || r.Context.WAMID != sent.WAMID || r.Context.MessageID != sent.ID {
					t.Errorf("context %+v, want %s / %s", r.Context, sent.WAMID, sent.ID)
				}
			}},
		{"reaction to an inbound message", convPID, `{"from":"6281234567890","id":"wamid.t5","timestamp":"%d","type":"reaction","reaction":{"message_id":"wamid.t1","emoji":"👍"}}`,
			func(t *testing.T, r *InboundRecord, m *provider.InboundMessage) {
				first, _, _ := e.eng.InboundList(testAccount, "", "", 500)
				if m.Reaction == nil || m.Reaction.Emoji != "👍" || r.Reaction == nil || r.Reaction.MessageID != first[len(first)-1].ID {
					t.Errorf("reaction %+v ref %+v", m.Reaction, r.Reaction)
				}
			}},
		{"context of another account's message", "100000000000002", `{"from":"6281234567890","id":"wamid.t6","timestamp":"%d","type":"text","text":{"body":"x"},"context":{"id":"` + sent.WAMID + `"}}`,
			func(t *testing.T, r *InboundRecord, _ *provider.InboundMessage) {
				if r.Account != "acct_other" || r.Number != "other" || r.Context == nil || r.Context.MessageID != "" {
					t.Errorf("record %+v context %+v: another account's message must not be named", r, r.Context)
				}
			}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ib := wire(t, tt.pid, fmt.Sprintf(tt.raw, ts+int64(i)))
			fresh, err := e.eng.RecordInbound(ctx, []Inbound{ib})
			if err != nil || len(fresh) != 1 {
				t.Fatalf("record: %v, %d fresh", err, len(fresh))
			}
			acct := testAccount
			if tt.pid != convPID {
				acct = "acct_other"
			}
			recs, _, err := e.eng.InboundList(acct, convPhone, "", 1)
			if err != nil || len(recs) != 1 {
				t.Fatalf("list: %v %d", err, len(recs))
			}
			r := recs[0]
			if r.WAMID != ib.MessageID || r.From != convPhone || r.WaID != convWa || r.Name != "Budi" || r.Type != ib.Type ||
				!r.At.Equal(time.Unix(ts+int64(i), 0)) || r.Account != acct {
				t.Errorf("record %+v", r)
			}
			m, err := r.Decoded()
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r, m)
			// Redelivered, it stores nothing twice.
			if fresh, err := e.eng.RecordInbound(ctx, []Inbound{ib}); err != nil || len(fresh) != 0 {
				t.Fatalf("redelivered: %v, %d fresh", err, len(fresh))
			}
		})
	}
	all, _, err := e.eng.InboundList(testAccount, "", "", 500)
	if err != nil || len(all) != 5 {
		t.Fatalf("account's inbound: %v, %d, want 5", err, len(all))
	}
	other, _, _ := e.eng.InboundList("acct_other", "", "", 500)
	if len(other) != 1 {
		t.Fatalf("other account's inbound: %d, want 1", len(other))
	}
	if r, err := e.eng.InboundByMedia(testAccount, "media-1"); err != nil || r.WAMID != "wamid.t2" {
		t.Errorf("by media: %v %+v", err, r)
	}
	if _, err := e.eng.InboundByMedia("acct_other", "media-1"); !errors.Is(err, ErrInboundNotFound) {
		t.Errorf("another account's media: %v, want not found", err)
	}
	if _, err := e.eng.Inbound("acct_other", all[0].ID); !errors.Is(err, ErrInboundNotFound) {
		t.Errorf("another account's inbound: %v, want not found", err)
	}
}

// TestConversationPaging interleaves sends and replies and pages the conversation by
// twos: every item comes once, newest first, whatever the page boundaries.
func TestConversationPaging(t *testing.T) {
	e := convEnv(t, nil)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		e.clk.Advance(time.Minute)
		if i%3 != 2 {
			want = append(want, e.submit(convPhone, nil).ID)
		}
		at := e.clk.Now().Add(30 * time.Second)
		raw := fmt.Sprintf(`{"from":"%s","id":"wamid.c%d","timestamp":"%d","type":"text","text":{"body":"reply %d"}}`, convWa, i, at.Unix(), i)
		if _, err := e.eng.RecordInbound(ctx, []Inbound{wire(t, convPID, raw)}); err != nil {
			t.Fatal(err)
		}
		in, _, _ := e.eng.InboundList(testAccount, convPhone, "", 1)
		want = append(want, in[0].ID)
		// Another customer's message and another account's are not part of it.
		raw = fmt.Sprintf(`{"from":"6289999999999","id":"wamid.x%d","timestamp":"%d","type":"text","text":{"body":"x"}}`, i, at.Unix())
		if _, err := e.eng.RecordInbound(ctx, []Inbound{wire(t, convPID, raw)}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Reverse(want)
	for _, limit := range []int{1, 2, 3, 50} {
		var got []string
		dirs := map[string]int{}
		cursor := ""
		for page := 0; ; page++ {
			items, next, err := e.eng.Conversation(testAccount, convPhone, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) > limit || page > 20 {
				t.Fatalf("limit %d: page of %d", limit, len(items))
			}
			for _, it := range items {
				got = append(got, it.ID())
				dirs[it.Direction]++
				if (it.Direction == DirectionInbound) != (it.Inbound != nil) || (it.Message == nil) == (it.Inbound == nil) {
					t.Fatalf("item %+v", it)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: got\n%v\nwant\n%v", limit, got, want)
		}
		if dirs[DirectionOutbound] != 5 || dirs[DirectionInbound] != 7 {
			t.Errorf("limit %d: directions %v", limit, dirs)
		}
	}
	// Inbound only, by twos.
	var got []string
	cursor := ""
	for {
		recs, next, err := e.eng.InboundList(testAccount, convPhone, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, r.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(got) != 7 || !slices.IsSortedFunc(got, func(a, b string) int { return -cmpConv(a, b) }) {
		t.Errorf("inbound pages: %v", got)
	}
	if items, _, _ := e.eng.Conversation("acct_other", convPhone, "", 50); len(items) != 0 {
		t.Errorf("another account sees %d items of the conversation", len(items))
	}
}

func cmpConv(a, b string) int {
	switch {
	case convLess(a, b):
		return -1
	case convLess(b, a):
		return 1
	}
	return 0
}

// TestOnInboundInTransaction: the hook sees each stored record inside the transaction;
// its error stores nothing, not even the dedupe mark, so the redelivery is stored.
func TestOnInboundInTransaction(t *testing.T) {
	fail := true
	var seen []string
	e := convEnv(t, func(o *Options) {
		o.OnInbound = func(tx storage.Txn, rec *InboundRecord) error {
			if _, err := tx.Get(inboundKey(rec.ID)); err != nil {
				return fmt.Errorf("the record is not in the hook's transaction: %w", err)
			}
			if fail {
				return errors.New("callback store down")
			}
			seen = append(seen, rec.WAMID)
			return nil
		}
	})
	ctx := context.Background()
	ib := wire(t, convPID, fmt.Sprintf(`{"from":"%s","id":"wamid.h1","timestamp":"%d","type":"text","text":{"body":"halo"}}`, convWa, t0.Unix()))
	if _, err := e.eng.RecordInbound(ctx, []Inbound{ib}); err == nil {
		t.Fatal("a hook error must fail the commit")
	}
	if n := keys(t, e.db, []byte(storage.PrefixInbound)) + keys(t, e.db, []byte(storage.PrefixInboundIndex)); n != 0 {
		t.Fatalf("%d inbound keys stored by a failed commit", n)
	}
	if c, _ := e.eng.ContactOf(convPID, convWa); c.Inbound != 0 {
		t.Fatalf("the failed commit counted the message: %+v", c)
	}
	fail = false
	fresh, err := e.eng.RecordInbound(ctx, []Inbound{ib})
	if err != nil || len(fresh) != 1 || !slices.Equal(seen, []string{"wamid.h1"}) {
		t.Fatalf("after the hook recovers: %v, %d fresh, hook saw %v", err, len(fresh), seen)
	}
}
