package sandbox

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"kirim/provider"
)

// statusesByID groups statuses per wamid, in arrival order.
func statusesByID(sts []provider.Status) map[string][]string {
	out := map[string][]string{}
	for _, s := range sts {
		out[s.ID] = append(out[s.ID], s.Status)
	}
	return out
}

func TestStatusOrderAndContent(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1, ReadRate: 0.5, SentDelay: time.Second, DeliveredDelay: 2 * time.Second,
		ReadDelay: 3 * time.Second}, true)
	ids := map[string]string{}
	for i := 0; i < 4; i++ {
		m := helloMsg(fmt.Sprintf("6281300000%03d", i))
		m.BizOpaqueCallbackData = fmt.Sprintf("ledger-%d", i)
		resp := e.mustSend(m)
		ids[resp.Messages[0].ID] = m.BizOpaqueCallbackData
	}
	e.clk.Advance(time.Second)
	e.catcher.waitStatuses(4)
	e.clk.Advance(2 * time.Second)
	e.catcher.waitStatuses(8)
	e.clk.Advance(3 * time.Second)
	sts := e.catcher.waitStatuses(10) // 4 sent, 4 delivered, 2 read: ReadRate 0.5 is exact
	reads := 0
	for id, seq := range statusesByID(sts) {
		want := []string{"sent", "delivered"}
		if len(seq) == 3 {
			want = append(want, "read")
			reads++
		}
		if fmt.Sprint(seq) != fmt.Sprint(want) {
			t.Fatalf("%s: statuses %v, want %v", id, seq, want)
		}
	}
	if reads != 2 {
		t.Fatalf("%d messages read, want 2 of 4 at ReadRate 0.5", reads)
	}
	for _, s := range sts {
		if ids[s.ID] == "" || s.BizOpaqueCallbackData != ids[s.ID] {
			t.Fatalf("status %+v: callback data %q, want %q", s, s.BizOpaqueCallbackData, ids[s.ID])
		}
		wantTS := t0.Unix() + map[string]int64{"sent": 1, "delivered": 3, "read": 6}[s.Status]
		if int64(s.Timestamp) != wantTS || s.RecipientID == "" {
			t.Fatalf("status %+v: timestamp %d, want %d", s, s.Timestamp, wantTS)
		}
		if (s.Pricing != nil) != (s.Status != "read") {
			t.Fatalf("status %s: pricing %+v; want it on sent and delivered only", s.Status, s.Pricing)
		}
	}
	if bad := e.catcher.badSignatures(); bad != 0 {
		t.Fatalf("%d webhooks failed signature verification", bad)
	}
	posts := e.catcher.waitPosts(1)
	var n provider.Notification
	if err := json.Unmarshal(posts[0], &n); err != nil || n.Entry[0].ID != DefaultWABAID || n.Entry[0].Changes[0].Field != "messages" {
		t.Fatalf("envelope %s: %v", posts[0], err)
	}
	v := decode[provider.MessagesValue](t, n.Entry[0].Changes[0].Value)
	if v.Metadata.PhoneNumberID != DefaultPhoneNumberID || v.Metadata.DisplayPhoneNumber != DefaultDisplayPhoneNumber {
		t.Fatalf("metadata %+v", v.Metadata)
	}
}

func TestWebhookBatching(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1, ReadRate: -1, WebhookBatch: 3, SentDelay: time.Second}, true)
	att := watchAttempts(t, e.sb)
	for i := 0; i < 7; i++ {
		e.mustSend(helloMsg(fmt.Sprintf("6281300000%03d", i)))
	}
	e.clk.Advance(time.Second) // 7 sent + 7 delivered due at once
	e.catcher.waitStatuses(14)
	att.wait(5)
	posts := e.catcher.waitPosts(5)
	if len(posts) != 5 {
		t.Fatalf("%d posts, want 5 (14 statuses in batches of 3)", len(posts))
	}
	if st := e.sb.Stats().Webhooks; st.StatusesPosted != 14 || st.Posted != 5 || st.Pending != 0 {
		t.Fatalf("webhook stats %+v", st)
	}
}

// TestOneStatusPerPost: by default every POST carries one entry, one change and one
// status, so a consumer that reads only statuses[0] (as whatsapp-api-js does; see
// wajs_test.go for the library itself) still sees every status.
func TestOneStatusPerPost(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1, ReadRate: 0.5, Chaos: Chaos{AsyncFailures: map[int]float64{131026: 0.25}}}, true)
	for i := 0; i < 8; i++ {
		e.mustSend(helloMsg(fmt.Sprintf("6281300000%03d", i)))
	}
	posts := e.catcher.waitPosts(19) // 8 sent, 6 delivered, 3 read, 2 failed
	firsts := map[string]int{}
	for _, p := range posts {
		var n provider.Notification
		mustOK(t, json.Unmarshal(p, &n))
		if len(n.Entry) != 1 || len(n.Entry[0].Changes) != 1 {
			t.Fatalf("post with %d entries: %s", len(n.Entry), p)
		}
		v := decode[provider.MessagesValue](t, n.Entry[0].Changes[0].Value)
		if len(v.Statuses) != 1 {
			t.Fatalf("post with %d statuses, want 1: %s", len(v.Statuses), p)
		}
		firsts[v.Statuses[0].Status]++
	}
	want := map[string]int{"sent": 8, "delivered": 6, "read": 3, "failed": 2}
	if fmt.Sprint(firsts) != fmt.Sprint(want) || len(posts) != 19 {
		t.Fatalf("first statuses of %d posts: %v, want %v", len(posts), firsts, want)
	}
	// The sandbox counts a POST once its answer is read, after the catcher has it.
	waitUntil(t, func() bool { return e.sb.Stats().Webhooks.Pending == 0 })
	if st := e.sb.Stats().Webhooks; st.Posted != 19 || st.StatusesPosted != 19 {
		t.Fatalf("webhook stats %+v", st)
	}
}

func TestWebhookRetryAndDrop(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1, ReadRate: -1, WebhookMaxAttempts: 3, WebhookBatch: 50}, true)
	att := watchAttempts(t, e.sb)
	e.catcher.setFail(1)
	e.mustSend(helloMsg(budi))
	att.wait(1)
	e.clk.BlockUntil(1) // the retry timer
	e.clk.Advance(webhookBackoffBase)
	posts := e.catcher.waitPosts(2)
	if string(posts[0]) != string(posts[1]) {
		t.Fatalf("retry body differs:\n%s\n%s", posts[0], posts[1])
	}
	e.catcher.waitStatuses(2)

	// Three failures in a row: dropped after the third attempt (backoff 1 s, 2 s).
	e.catcher.setFail(3)
	e.mustSend(helloMsg(sari))
	att.wait(3)
	e.clk.BlockUntil(1)
	e.clk.Advance(webhookBackoffBase)
	att.wait(4)
	e.clk.BlockUntil(1)
	e.clk.Advance(2*webhookBackoffBase - time.Millisecond)
	if e.clk.Pending() != 1 {
		t.Fatalf("retry fired before its backoff")
	}
	e.clk.Advance(time.Millisecond)
	att.wait(5)
	st := e.sb.Stats().Webhooks
	if st.FailedAttempts != 4 || st.Posted != 1 || st.Dropped != 1 || st.Pending != 0 {
		t.Fatalf("webhook stats %+v, want 4 failed attempts, 1 posted, 1 dropped", st)
	}
}

// attempts counts finished webhook POST attempts; its wait returns once n are done.
type attempts struct {
	t  *testing.T
	ch chan bool
	n  int
}

func watchAttempts(t *testing.T, sb *Sandbox) *attempts {
	a := &attempts{t: t, ch: make(chan bool, 1024)}
	f := func(ok bool) { a.ch <- ok }
	sb.out.afterAttempt.Store(&f)
	return a
}

func (a *attempts) wait(n int) {
	a.t.Helper()
	deadline := time.After(waitFor)
	for a.n < n {
		select {
		case <-a.ch:
			a.n++
		case <-deadline:
			a.t.Fatalf("waited for %d webhook attempts, saw %d", n, a.n)
		}
	}
}

func TestWebhookChaos(t *testing.T) {
	t.Run("duplicate and reorder, batched", func(t *testing.T) {
		e := newEnv(t, Options{PairGap: -1, ReadRate: -1, WebhookBatch: 50,
			Chaos: Chaos{WebhookDuplicate: 0.3, WebhookReorder: 0.5}}, true)
		for i := 0; i < 10; i++ {
			e.mustSend(helloMsg(fmt.Sprintf("6281300000%03d", i)))
			// One POST per send, [sent, delivered]: wait for it before the next send.
			e.catcher.wait("send's statuses", func(c *catcher) bool { return len(statusesByID(c.statuses)) == i+1 })
		}
		posts := e.catcher.waitPosts(13)
		reversed := 0
		for _, p := range posts {
			var n provider.Notification
			mustOK(t, json.Unmarshal(p, &n))
			v := decode[provider.MessagesValue](t, n.Entry[0].Changes[0].Value)
			if len(v.Statuses) != 2 {
				t.Fatalf("post with %d statuses, want 2", len(v.Statuses))
			}
			if v.Statuses[0].Status == "delivered" {
				reversed++
			}
		}
		st := e.sb.Stats().Webhooks
		if len(posts) != 13 || st.Duplicated != 3 || st.Reordered != 5 {
			t.Fatalf("%d posts, stats %+v; want 13 posts, 3 duplicated, 5 reordered", len(posts), st)
		}
		// A duplicated body carries the same order twice: 5 reordered batches, some posted twice.
		if reversed < 5 || reversed > 8 {
			t.Fatalf("%d reversed posts, want 5 to 8", reversed)
		}
	})
	t.Run("duplicate and reorder, one status per POST", func(t *testing.T) {
		e := newEnv(t, Options{PairGap: -1, ReadRate: -1,
			Chaos: Chaos{WebhookDuplicate: 0.3, WebhookReorder: 0.5}}, true)
		for i := 0; i < 10; i++ {
			e.mustSend(helloMsg(fmt.Sprintf("6281300000%03d", i)))
			e.catcher.wait("send's statuses", func(c *catcher) bool { return len(statusesByID(c.statuses)) == i+1 })
			e.catcher.wait("send's two statuses", func(c *catcher) bool { return len(c.posts) >= 2*(i+1) })
		}
		// 20 POSTs of one status each; 6 of them (0.3) posted twice.
		posts := e.catcher.waitPosts(26)
		deliveredFirst := 0
		for _, seq := range statusesByID(e.catcher.waitStatuses(26)) {
			if seq[0] == "delivered" {
				deliveredFirst++
			}
		}
		for _, p := range posts {
			var n provider.Notification
			mustOK(t, json.Unmarshal(p, &n))
			if v := decode[provider.MessagesValue](t, n.Entry[0].Changes[0].Value); len(v.Statuses) != 1 {
				t.Fatalf("post with %d statuses, want 1", len(v.Statuses))
			}
		}
		st := e.sb.Stats().Webhooks
		if len(posts) != 26 || st.Duplicated != 6 || st.Reordered != 5 || deliveredFirst != 5 {
			t.Fatalf("%d posts, %d messages delivered before sent, stats %+v; want 26 posts, 6 duplicated, 5 reordered",
				len(posts), deliveredFirst, st)
		}
	})
	t.Run("fail and delay", func(t *testing.T) {
		e := newEnv(t, Options{PairGap: -1, ReadRate: -1, WebhookBatch: 50,
			Chaos: Chaos{WebhookFail: 0.5, WebhookDelay: 5 * time.Second}}, true)
		att := watchAttempts(t, e.sb)
		e.mustSend(helloMsg(budi))
		e.clk.BlockUntil(1)
		e.clk.Advance(5 * time.Second)
		e.catcher.waitPosts(1) // attempt 1 passes, attempt 2 will be failed by chaos
		e.mustSend(helloMsg(sari))
		e.clk.BlockUntil(1)
		e.clk.Advance(5 * time.Second) // delay over; the attempt fails without a POST
		att.wait(2)
		if f := e.sb.Stats().Webhooks.FailedAttempts; f != 1 {
			t.Fatalf("failed attempts %d, want 1", f)
		}
		e.clk.BlockUntil(1)
		e.clk.Advance(webhookBackoffBase)
		e.catcher.waitPosts(2)
		e.catcher.waitStatuses(4)
	})
	t.Run("async failures", func(t *testing.T) {
		e := newEnv(t, Options{PairGap: -1, ReadRate: -1, Chaos: Chaos{AsyncFailures: map[int]float64{131026: 0.5}}}, true)
		for i := 0; i < 4; i++ {
			e.mustSend(helloMsg(fmt.Sprintf("6281300000%03d", i)))
		}
		sts := e.catcher.waitStatuses(8)
		failed := 0
		for id, seq := range statusesByID(sts) {
			if seq[len(seq)-1] == "failed" {
				failed++
				if fmt.Sprint(seq) != "[sent failed]" {
					t.Fatalf("%s: %v, want sent then failed", id, seq)
				}
			}
		}
		for _, s := range sts {
			if s.Status != "failed" {
				continue
			}
			if s.Pricing != nil || len(s.Errors) != 1 || s.Errors[0].Code != 131026 || s.Errors[0].ErrorData == nil ||
				s.Errors[0].Title == "" || s.Errors[0].Href == "" {
				t.Fatalf("failed status %+v: want errors[131026] with title, details and href, no pricing", s)
			}
		}
		if failed != 2 {
			t.Fatalf("%d failed, want 2", failed)
		}
	})
}

func TestPacing(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1, ReadRate: -1, PacingRate: 0.5}, true)
	e.addTemplate("", "promo", "MARKETING", "Big sale on {{1}} today.")
	var held []string
	for i := 0; i < 4; i++ {
		resp := e.mustSend(tmplMsg(fmt.Sprintf("6281300000%03d", i), "promo", "shoes"))
		if resp.Messages[0].MessageStatus == provider.StatusHeldForQualityAssessment {
			held = append(held, resp.Messages[0].ID)
		}
	}
	if len(held) != 2 {
		t.Fatalf("%d held, want 2 of 4", len(held))
	}
	e.mustSend(helloMsg("6281300000100")) // utility: never paced
	e.catcher.waitStatuses(6)
	mustOK(t, e.sb.SetTemplateStatus("promo", "en_US", "PAUSED"))
	e.clk.Advance(DefaultPacingRelease)
	sts := e.catcher.waitStatuses(8)
	byID := statusesByID(sts)
	for _, id := range held {
		if fmt.Sprint(byID[id]) != "[failed]" {
			t.Fatalf("held %s: %v, want one failed status", id, byID[id])
		}
	}
	for _, s := range sts {
		if s.Status == "failed" && s.Errors[0].Code != provider.CodeTemplatePaused {
			t.Fatalf("held send failed with %d, want 132015", s.Errors[0].Code)
		}
	}
	if st := e.sb.Stats(); st.Held != 2 {
		t.Fatalf("held %d, want 2", st.Held)
	}

	// Not paused at release: sent normally.
	mustOK(t, e.sb.SetTemplateStatus("promo", "en_US", "REINSTATED"))
	var again string
	for i := 0; again == ""; i++ {
		resp := e.mustSend(tmplMsg(fmt.Sprintf("6281400000%03d", i), "promo", "shoes"))
		if resp.Messages[0].MessageStatus == provider.StatusHeldForQualityAssessment {
			again = resp.Messages[0].ID
		}
	}
	e.clk.Advance(DefaultPacingRelease)
	e.catcher.wait("released send", func(c *catcher) bool { return len(statusesByID(c.statuses)[again]) == 2 })
}

func TestInboundAndPreferenceWebhooks(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1}, true)
	e.addTemplate("", "promo", "MARKETING", "Big sale on {{1}} today.")
	id, err := e.sb.Inbound(InboundRequest{From: "+" + budi, Name: "Budi", Text: "Halo", Referral: true})
	mustOK(t, err)
	_, err = e.sb.Inbound(InboundRequest{From: budi, Type: "button", ButtonPayload: "STOP"})
	mustOK(t, err)
	msgs := e.catcher.waitField(provider.FieldMessages, 2)
	v := decode[provider.MessagesValue](t, msgs[0].value)
	if len(v.Messages) != 1 || len(v.Contacts) != 1 {
		t.Fatalf("inbound value %s", msgs[0].value)
	}
	m := v.Messages[0]
	if m.ID != id || m.From != budi || m.Type != "text" || m.Text == nil || m.Text.Body != "Halo" ||
		v.Contacts[0].Profile.Name != "Budi" || v.Contacts[0].WaID != budi || int64(m.Timestamp) != t0.Unix() {
		t.Fatalf("inbound %+v contacts %+v", m, v.Contacts)
	}
	if m.Referral == nil || m.Referral.SourceType != "ad" || m.Referral.CtwaClid == "" {
		t.Fatalf("referral %+v", m.Referral)
	}
	b := decode[provider.MessagesValue](t, msgs[1].value).Messages[0]
	if b.Type != "button" || b.Button == nil || b.Button.Payload != "STOP" {
		t.Fatalf("button reply %+v", b)
	}

	mustOK(t, e.sb.SetPreference(budi, "stop"))
	prefs := e.catcher.waitField(provider.FieldUserPreferences, 1)
	pv := decode[provider.MessagesValue](t, prefs[0].value)
	if len(pv.UserPreferences) != 1 || pv.UserPreferences[0].Value != "stop" || pv.UserPreferences[0].WaID != budi ||
		pv.UserPreferences[0].Category != "marketing_messages" {
		t.Fatalf("user_preferences %s", prefs[0].value)
	}
	e.wantCode(0, tmplMsg(budi, "promo", "x"), provider.CodeUserStoppedMarketing)
	e.mustSend(helloMsg(budi)) // utility is not marketing
	mustOK(t, e.sb.SetPreference(budi, "resume"))
	e.mustSend(tmplMsg(budi, "promo", "x"))
	if err := e.sb.SetPreference(budi, "maybe"); err == nil {
		t.Fatal("preference maybe accepted")
	}
}

func TestNumberUpdates(t *testing.T) {
	limit := func(n int) *int { return &n }
	t.Run("2025", func(t *testing.T) {
		e := newEnv(t, Options{}, true)
		mustOK(t, e.sb.UpdateNumber(DefaultPhoneNumberID, NumberUpdate{MessagingLimit: limit(2000)}))
		caps := e.catcher.waitField(provider.FieldBusinessCapabilityUpdate, 1)
		if c := decode[provider.BusinessCapabilityUpdate](t, caps[0].value); c.MaxDailyConversationsPerBusiness != 2000 || caps[0].entryID != DefaultWABAID {
			t.Fatalf("business_capability_update %s", caps[0].value)
		}
		mustOK(t, e.sb.UpdateNumber(DefaultPhoneNumberID, NumberUpdate{Throughput: limit(1000), Quality: "yellow"}))
		q := e.catcher.waitField(provider.FieldPhoneNumberQualityUpdate, 2)
		first := decode[provider.PhoneNumberQualityUpdate](t, q[0].value)
		second := decode[provider.PhoneNumberQualityUpdate](t, q[1].value)
		if first.Event != "ONBOARDING" || first.MaxDailyConversationsPerBusiness != "TIER_2K" ||
			second.Event != "THROUGHPUT_UPGRADE" || second.DisplayPhoneNumber != DefaultDisplayPhoneNumber {
			t.Fatalf("quality updates %s %s", q[0].value, q[1].value)
		}
		info, err := e.client(0).GetPhoneNumber(t.Context())
		mustOK(t, err)
		if info.MessagingLimit != "TIER_2K" || info.Throughput.Level != "HIGH" || info.QualityRating != "YELLOW" || info.Status != "CONNECTED" {
			t.Fatalf("phone number %+v", info)
		}
		mustOK(t, e.sb.UpdateNumber(DefaultPhoneNumberID, NumberUpdate{MessagingLimit: limit(-1)}))
		caps = e.catcher.waitField(provider.FieldBusinessCapabilityUpdate, 2)
		if c := decode[provider.BusinessCapabilityUpdate](t, caps[1].value); c.MaxDailyConversationsPerBusiness != -1 {
			t.Fatalf("unlimited: %s", caps[1].value)
		}
		r := RestrictBizInitiated
		mustOK(t, e.sb.UpdateNumber(DefaultPhoneNumberID, NumberUpdate{Restriction: &r}))
		acc := e.catcher.waitField(provider.FieldAccountUpdate, 1)
		if a := decode[provider.AccountUpdate](t, acc[0].value); a.Event != "ACCOUNT_RESTRICTION" || a.RestrictionInfo[0].RestrictionType != r {
			t.Fatalf("account_update %s", acc[0].value)
		}
		if err := e.sb.UpdateNumber("nope", NumberUpdate{}); err == nil {
			t.Fatal("unknown number updated")
		}
	})
	t.Run("legacy", func(t *testing.T) {
		e := newEnv(t, Options{Rules: RulesLegacy}, true)
		mustOK(t, e.sb.UpdateNumber(DefaultPhoneNumberID, NumberUpdate{Status: "FLAGGED"}))
		mustOK(t, e.sb.UpdateNumber(DefaultPhoneNumberID, NumberUpdate{Status: "CONNECTED", MessagingLimit: limit(10000)}))
		mustOK(t, e.sb.UpdateNumber(DefaultPhoneNumberID, NumberUpdate{MessagingLimit: limit(1000)}))
		q := e.catcher.waitField(provider.FieldPhoneNumberQualityUpdate, 4)
		var events []string
		for _, c := range q {
			u := decode[provider.PhoneNumberQualityUpdate](t, c.value)
			events = append(events, u.Event+":"+u.OldLimit+">"+u.CurrentLimit)
		}
		// The limit change and the unflagging come from one update: limit first.
		want := "[FLAGGED:>TIER_1K UPGRADE:TIER_1K>TIER_10K UNFLAGGED:>TIER_10K DOWNGRADE:TIER_10K>TIER_1K]"
		if fmt.Sprint(events) != want {
			t.Fatalf("events %v, want %s", events, want)
		}
	})
}
