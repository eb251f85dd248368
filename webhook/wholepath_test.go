package webhook

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"kirim/clock"
	"kirim/engine"
	"kirim/provider"
	"kirim/storage"
)

const testPhoneID = "100000000000001"

// realApplier applies to a real engine on db, as serve wires it.
func realApplier(tb testing.TB, db *storage.DB, clk clock.Clock) (Applier, *engine.Engine) {
	tb.Helper()
	a, eng, err := newRealApplier(db, clk)
	if err != nil {
		tb.Fatal(err)
	}
	return a, eng
}

func newRealApplier(db *storage.DB, clk clock.Clock) (Applier, *engine.Engine, error) {
	eng, err := engine.New(engine.Options{DB: db, Clock: clk, Logger: quietLogger(),
		// The engine is not started: nothing is sent, so the sender is never called.
		Numbers: []engine.Number{{Alias: "main", PhoneNumberID: testPhoneID, MPS: 80,
			Sender: provider.New(provider.Config{BaseURL: "http://127.0.0.1:9", PhoneNumberID: testPhoneID})}}})
	if err != nil {
		return Applier{}, nil, err
	}
	return Applier{
		Statuses: func(ctx context.Context, u []engine.StatusUpdate) error {
			_, err := eng.ApplyStatuses(ctx, u)
			return err
		},
		Inbound:     func(ctx context.Context, in []engine.Inbound) error { _, err := eng.RecordInbound(ctx, in); return err },
		Preferences: eng.ApplyPreferences,
	}, eng, nil
}

func inboundBody(from, id string, at time.Time) []byte {
	return fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"200000000000001","changes":[{"field":"messages","value":`+
		`{"messaging_product":"whatsapp","metadata":{"phone_number_id":%q},"contacts":[{"profile":{"name":"Budi"},"wa_id":%q}],`+
		`"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":"Halo"}}]}}]}]}`, testPhoneID, from, from, id, at.Unix())
}

func drain(tb testing.TB, rc *Receiver) {
	tb.Helper()
	for {
		n, err := rc.ApplyPending(context.Background())
		if err != nil {
			tb.Fatalf("apply: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// FuzzWholePath posts any signed body to the receiver, applies it to a real engine on
// a real store, then posts a good inbound message: whatever the first body held, the
// second opens its window in the same pass.
func FuzzWholePath(f *testing.F) {
	entries, _ := os.ReadDir(fixtureDir)
	for _, e := range entries {
		f.Add(fixture(f, e.Name()))
	}
	f.Add(inboundBody(strings.Repeat("6", 4100), "wamid.x", t0))
	f.Add(inboundBody("6281234567890", strings.Repeat("w", 70_000), t0))
	clk := clock.NewFake(t0)
	db := openDB(f, "")
	apply, eng := realApplier(f, db, clk)
	rc := New(Options{DB: db, Clock: clk, Logger: quietLogger(), AppSecret: testSecret, Apply: apply})
	n := 0
	f.Fuzz(func(t *testing.T, body []byte) {
		n++
		postSigned(rc, body)
		drain(t, rc)
		// Due retries of a change the engine refused come after their delays.
		for range MaxAttempts {
			clk.Advance(retryMax)
			drain(t, rc)
		}
		wa := fmt.Sprintf("62899%08d", n)
		postSigned(rc, inboundBody(wa, fmt.Sprintf("wamid.follow.%d", n), clk.Now()))
		drain(t, rc)
		c, err := eng.ContactOf(testPhoneID, wa)
		if err != nil || !c.WindowOpen(clk.Now()) {
			t.Fatalf("the good message after %q was not applied: %+v %v", body, c, err)
		}
	})
}

// TestCrashDuringApply kills a process applying a mixed inbox of good and poison
// bodies with SIGKILL, then applies the rest here: every good message is recorded once
// (its window open, no duplicate), every poison change is dead-lettered once.
func TestCrashDuringApply(t *testing.T) {
	if os.Getenv("KIRIM_WEBHOOK_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	const goods, poisons = 600, 60
	// Fill the inbox first, in this process, then close the store.
	db := openDB(t, dir)
	rc := New(Options{DB: db, Clock: clock.Real{}, Logger: quietLogger(), AppSecret: testSecret})
	now := time.Now()
	for i := range goods {
		postSigned(rc, inboundBody(fmt.Sprintf("62811%08d", i), fmt.Sprintf("wamid.good.%d", i), now))
		if i%10 == 0 {
			postSigned(rc, inboundBody(strings.Repeat("6", 4000+i), fmt.Sprintf("wamid.poison.%d", i), now))
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The child applies one body per batch and says so; it is killed mid-way.
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDuringApply$")
	cmd.Env = append(os.Environ(), "KIRIM_WEBHOOK_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	for applied := 0; applied < (goods+poisons)/2; {
		if _, err := out.Read(buf); err != nil {
			t.Fatalf("child ended early: %v", err)
		}
		if buf[0] == '.' {
			applied++
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	db = openDB(t, dir)
	apply, eng := realApplier(t, db, clock.Real{})
	rc = New(Options{DB: db, Clock: clock.Real{}, Logger: quietLogger(), AppSecret: testSecret, Apply: apply})
	drain(t, rc)
	for i := range goods {
		c, err := eng.ContactOf(testPhoneID, fmt.Sprintf("62811%08d", i))
		if err != nil || !c.WindowOpen(time.Now()) {
			t.Fatalf("good message %d not applied after the crash: %+v %v", i, c, err)
		}
	}
	var dead []DeadLetter
	cursor := ""
	for {
		page, next, err := rc.DeadLetters(500, cursor)
		if err != nil {
			t.Fatal(err)
		}
		dead = append(dead, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	seen := map[string]bool{}
	for _, d := range dead {
		if seen[d.BodyID] {
			t.Fatalf("body %s dead-lettered twice", d.BodyID)
		}
		seen[d.BodyID] = true
		if !strings.Contains(d.Reason, "more than 32") {
			t.Fatalf("dead letter %s: %s", d.ID, d.Reason)
		}
	}
	if len(dead) != poisons {
		t.Fatalf("%d dead letters, want %d", len(dead), poisons)
	}
	if n := inboxDepth(t, rc); n != 0 {
		t.Fatalf("inbox holds %d", n)
	}
}

// crashChild applies the inbox one body at a time, printing a dot after each, until
// it is killed.
func crashChild() {
	dir := os.Getenv("KIRIM_WEBHOOK_CRASH_CHILD")
	db, err := storage.Open(storage.Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	apply, _, err := newRealApplier(db, clock.Real{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rc := New(Options{DB: db, Clock: clock.Real{}, Logger: quietLogger(), AppSecret: testSecret, Apply: apply, Batch: 1})
	for {
		n, err := rc.ApplyPending(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if n == 0 {
			select {} // wait for the kill
		}
		os.Stdout.WriteString(".")
	}
}
