package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"kirim/clock"
	"kirim/engine"
	"kirim/storage"
)

// inboundChange is a messages change with one text message from from.
func inboundChange(from, id string, at time.Time) string {
	return fmt.Sprintf(`{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":%q},`+
		`"contacts":[{"profile":{"name":"Budi"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":"Halo"}}]}}`,
		testPhoneID, from, from, id, at.Unix())
}

// changesBody is a notification of one entry holding changes, in order.
func changesBody(changes ...string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"200000000000001","changes":[` + strings.Join(changes, ",") + `]}]}`)
}

// failing makes an applier's Inbound fail for every message id with prefix, as a
// storage or engine fault that only an upgrade fixes would.
func failing(a Applier, prefix string) Applier {
	inbound := a.Inbound
	a.Inbound = func(ctx context.Context, in []engine.Inbound) error {
		for _, ib := range in {
			if strings.HasPrefix(ib.MessageID, prefix) {
				return errors.New("engine refused " + ib.MessageID)
			}
		}
		return inbound(ctx, in)
	}
	return a
}

func windowOpen(t *testing.T, eng *engine.Engine, waID string, now time.Time) bool {
	t.Helper()
	c, err := eng.ContactOf(testPhoneID, waID)
	if err != nil {
		t.Fatal(err)
	}
	return c.WindowOpen(now) && c.Inbound == 1
}

func allDead(t *testing.T, rc *Receiver) []DeadLetter {
	t.Helper()
	var all []DeadLetter
	cursor := ""
	for {
		page, next, err := rc.DeadLetters(500, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

func heldCount(t *testing.T, rc *Receiver) int {
	t.Helper()
	n, err := rc.count(storage.Key(storage.PrefixWebhookState, []byte("held/")))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPoisonChangeBetweenGoodOnes: in a body of three changes whose middle one is bad,
// the first and third are applied in the first pass and the middle one alone is
// dead-lettered, with its reason and the change as received.
func TestPoisonChangeBetweenGoodOnes(t *testing.T) {
	tests := []struct {
		name, middle, reason string
		passes               int // passes until it is dead-lettered
	}{
		{"from of 4,100 characters", inboundChange(strings.Repeat("6", 4100), "wamid.mid", t0), "contacts[0].wa_id: 4100 bytes, more than 32", 1},
		{"message id of 70 KB", inboundChange("6281200000002", strings.Repeat("w", 70_000), t0), "messages[0].id: 70000 bytes, more than 256", 1},
		{"value not an object", `{"field":"messages","value":[1]}`, "not an object", 1},
		{"known key of the wrong type", `{"field":"account_update","value":{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":{}}}}`, "field account_update", 1},
		{"refused by the engine", inboundChange("6281200000002", "wamid.fail.1", t0), "5 attempts, last: inbound: engine refused wamid.fail.1", MaxAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			db := openDB(t, t.TempDir())
			apply, eng := realApplier(t, db, clk)
			rc := New(Options{DB: db, Clock: clk, Logger: quietLogger(), AppSecret: testSecret, Apply: failing(apply, "wamid.fail.")})
			postSigned(rc, changesBody(inboundChange("6281200000001", "wamid.first", t0), tt.middle, inboundChange("6281200000003", "wamid.third", t0)))
			if n, err := rc.ApplyPending(context.Background()); err != nil || n != 1 {
				t.Fatalf("apply: %d %v", n, err)
			}
			if !windowOpen(t, eng, "6281200000001", clk.Now()) || !windowOpen(t, eng, "6281200000003", clk.Now()) {
				t.Fatal("the good changes around the bad one were not applied in the first pass")
			}
			for pass := 2; pass <= tt.passes; pass++ {
				clk.Advance(retryMax)
				if _, err := rc.ApplyPending(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			dead := allDead(t, rc)
			if len(dead) != 1 {
				t.Fatalf("%d dead letters, want 1: %+v", len(dead), dead)
			}
			d := dead[0]
			if d.Index != 1 || !strings.HasSuffix(d.ID, ".1") || d.BodyID+".1" != d.ID || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("dead letter %s (body %s, index %d): %q, want the middle change for %q", d.ID, d.BodyID, d.Index, d.Reason, tt.reason)
			}
			if string(d.Change) != tt.middle {
				t.Errorf("change %.200s, want it as received", d.Change)
			}
			if n, _ := rc.RetryCount(); n != 0 || inboxDepth(t, rc) != 0 || heldCount(t, rc) != 1 {
				t.Errorf("%d retries, %d inbox, %d held bodies; want 0, 0, 1", n, inboxDepth(t, rc), heldCount(t, rc))
			}
		})
	}
}

// TestPoisonDoesNotBlockAcrossRestart: a body whose from is 4,100 characters, then a
// normal inbound message: the normal one is applied in the same pass and the poison is
// dead-lettered; after the store is closed and opened again it is still there (and
// only there), and the next message is applied at once.
func TestPoisonDoesNotBlockAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(t0)
	db := openDB(t, dir)
	apply, eng := realApplier(t, db, clk)
	rc := New(Options{DB: db, Clock: clk, Logger: quietLogger(), AppSecret: testSecret, Apply: apply})
	postSigned(rc, inboundBody(strings.Repeat("6", 4100), "wamid.poison", t0))
	postSigned(rc, inboundBody("6281200000001", "wamid.normal", t0))
	if n, err := rc.ApplyPending(context.Background()); err != nil || n != 2 {
		t.Fatalf("apply: %d %v", n, err)
	}
	if !windowOpen(t, eng, "6281200000001", clk.Now()) {
		t.Fatal("the message behind the poison was not applied in the same pass")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	apply, eng = realApplier(t, db, clk)
	rc = New(Options{DB: db, Clock: clk, Logger: quietLogger(), AppSecret: testSecret, Apply: apply})
	dead := allDead(t, rc)
	if len(dead) != 1 || !strings.Contains(dead[0].Reason, "wa_id: 4100 bytes, more than 32") ||
		!strings.Contains(string(dead[0].Change), strings.Repeat("6", 4100)) {
		t.Fatalf("%d dead letters after the restart, want the poison", len(dead))
	}
	if n, err := rc.ApplyPending(context.Background()); err != nil || n != 0 {
		t.Fatalf("after the restart the applier took %d (%v): the poison is back in its way", n, err)
	}
	postSigned(rc, inboundBody("6281200000002", "wamid.next", t0))
	if n, err := rc.ApplyPending(context.Background()); err != nil || n != 1 || !windowOpen(t, eng, "6281200000002", clk.Now()) {
		t.Fatalf("the next message: %d %v", n, err)
	}
	if len(allDead(t, rc)) != 1 {
		t.Fatal("the poison was dead-lettered again")
	}
}

// TestLargePoisonBodies: signed bodies of about 1 MB whose changes break the limits
// (a text of "<" characters, which JSON encoders escape sixfold) are dead-lettered in
// passes that would not fit one transaction; the applier never stops on them, a good
// message behind them is applied, and a pass, or a page of the list, holds a bounded
// number of them.
func TestLargePoisonBodies(t *testing.T) {
	clk := clock.NewFake(t0)
	db, err := storage.Open(storage.Options{Dir: t.TempDir(), GCInterval: -1, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	apply, eng := realApplier(t, db, clk)
	rc := New(Options{DB: db, Clock: clk, Logger: quietLogger(), AppSecret: testSecret, Apply: apply})
	const bodies = 12
	for i := range bodies {
		big := inboundChange("6281200000009", fmt.Sprintf("wamid.big.%d", i), t0)
		big = strings.Replace(big, `"Halo"`, `"`+strings.Repeat("<", 200_000)+`"`, 1)
		body := changesBody(big, big, big, big, inboundChange("62812000001"+fmt.Sprint(i), fmt.Sprintf("wamid.ok.%d", i), t0))
		if w := postSigned(rc, body); w.Code != 200 {
			t.Fatalf("body %d of %d bytes: %d", i, len(body), w.Code)
		}
	}
	postSigned(rc, inboundBody("6281200000001", "wamid.after", t0))
	// A pass holds at most maxPassBytes of bodies: about ten of these.
	if n, err := rc.ApplyPending(context.Background()); err != nil || n >= bodies || n < 2 {
		t.Fatalf("apply: %d %v", n, err)
	}
	drain(t, rc)
	if !windowOpen(t, eng, "6281200000001", clk.Now()) {
		t.Fatal("the message behind the large poison bodies was not applied")
	}
	for i := range bodies {
		if !windowOpen(t, eng, "62812000001"+fmt.Sprint(i), clk.Now()) {
			t.Fatalf("the good change of body %d was not applied", i)
		}
	}
	// A page stops once it has read maxListBytes of bodies; the next one goes on.
	if page, next, err := rc.DeadLetters(500, ""); err != nil || len(page) >= 4*bodies || next != page[len(page)-1].ID {
		t.Fatalf("first page: %d letters, next %q, %v; want it cut by size", len(page), next, err)
	}
	dead := allDead(t, rc)
	if len(dead) != 4*bodies {
		t.Fatalf("%d dead letters, want %d", len(dead), 4*bodies)
	}
	for _, d := range dead {
		if !strings.Contains(d.Reason, "text.body: 200000 bytes") || len(d.Change) < 200_000 || strings.Contains(string(d.Change), `\u003c`) {
			t.Fatalf("dead letter %s: %q, change of %d bytes", d.ID, d.Reason, len(d.Change))
		}
	}
	if inboxDepth(t, rc) != 0 || heldCount(t, rc) != bodies {
		t.Fatalf("inbox %d, held %d", inboxDepth(t, rc), heldCount(t, rc))
	}
}

// TestHeldBodyReleased: a body is held while one of its changes waits for a retry or
// is dead-lettered, and dropped once the retry succeeded or the last dead letter of it
// was replayed.
func TestHeldBodyReleased(t *testing.T) {
	clk := clock.NewFake(t0)
	db := openDB(t, "")
	apply, eng := realApplier(t, db, clk)
	broken := true
	a := apply
	a.Inbound = func(ctx context.Context, in []engine.Inbound) error {
		for _, ib := range in {
			if broken && strings.HasPrefix(ib.MessageID, "wamid.fail.") {
				return errors.New("engine refused")
			}
		}
		return apply.Inbound(ctx, in)
	}
	rc := New(Options{DB: db, Clock: clk, Logger: quietLogger(), AppSecret: testSecret, Apply: a})
	postSigned(rc, changesBody(inboundChange("6281200000001", "wamid.fail.1", t0), inboundChange("6281200000002", "wamid.fail.2", t0),
		inboundChange(strings.Repeat("6", 40), "wamid.poison", t0)))
	drain(t, rc)
	if n, _ := rc.RetryCount(); n != 2 || heldCount(t, rc) != 1 || len(allDead(t, rc)) != 1 {
		t.Fatalf("after the first pass: %d retries, %d held, %d dead", n, heldCount(t, rc), len(allDead(t, rc)))
	}
	broken = false
	clk.Advance(retryDelay(1))
	drain(t, rc)
	if n, _ := rc.RetryCount(); n != 0 || !windowOpen(t, eng, "6281200000001", clk.Now()) || !windowOpen(t, eng, "6281200000002", clk.Now()) {
		t.Fatalf("the retries: %d left", n)
	}
	if heldCount(t, rc) != 1 {
		t.Fatal("the body was dropped while a dead letter of it remains")
	}
	if err := rc.Replay(context.Background(), allDead(t, rc)[0].ID); err != nil {
		t.Fatal(err)
	}
	if heldCount(t, rc) != 0 {
		t.Fatal("the body is still held after its last dead letter was replayed")
	}
	// The replayed change breaks the limit again, so it is back, with a body of its own.
	drain(t, rc)
	if dead := allDead(t, rc); len(dead) != 1 || !strings.Contains(dead[0].Reason, "40 bytes, more than 32") || heldCount(t, rc) != 1 {
		t.Fatalf("after the replay: %+v, %d held", dead, heldCount(t, rc))
	}
	if err := rc.Replay(context.Background(), "whk_nothing.0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("replay of an unknown id: %v", err)
	}
}

// TestPassWrittenTwice: when a pass recorded a retry but was stopped before its body
// left the inbox, the next pass takes the body again and records nothing twice: one
// retry, with its first attempt counted once.
func TestPassWrittenTwice(t *testing.T) {
	clk := clock.NewFake(t0)
	db := openDB(t, "")
	apply, _ := realApplier(t, db, clk)
	rc := New(Options{DB: db, Clock: clk, Logger: quietLogger(), AppSecret: testSecret, Apply: failing(apply, "wamid.fail.")})
	body := changesBody(inboundChange("6281200000001", "wamid.fail.1", t0), inboundChange(strings.Repeat("6", 40), "wamid.poison", t0))
	postSigned(rc, body)
	var inbox []byte
	_ = db.View(func(r storage.Reader) error {
		return r.Iterate([]byte(storage.PrefixInbox), storage.IterOptions{}, func(k, _ []byte) (bool, error) {
			inbox = append(inbox, k...)
			return false, nil
		})
	})
	drain(t, rc)
	// Put the body back, as if the pass's last part had not been written.
	if err := db.Commit(context.Background(), func(tx storage.Txn) error { return tx.Set(inbox, body) }); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.cursor = nil
	rc.mu.Unlock()
	drain(t, rc)
	if n, _ := rc.RetryCount(); n != 1 || len(allDead(t, rc)) != 1 || inboxDepth(t, rc) != 0 {
		t.Fatalf("%d retries, %d dead letters, %d in the inbox; want 1, 1, 0", n, len(allDead(t, rc)), inboxDepth(t, rc))
	}
	for attempt := 2; attempt <= MaxAttempts; attempt++ {
		clk.Advance(retryDelay(attempt - 1))
		drain(t, rc)
	}
	dead := allDead(t, rc)
	if len(dead) != 2 || dead[0].Index != 0 || dead[0].Attempts != MaxAttempts {
		t.Fatalf("dead letters %+v, want the retried change after exactly %d attempts", dead, MaxAttempts)
	}
}
