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

// TestCrashDuringApply kills a process applying a mixed inbox with SIGKILL, then
// applies the rest here. The inbox holds bodies of one good message, and bodies of four
// changes: good, over a limit, good, refused by the engine until its attempts run out.
// Afterwards every good message is recorded exactly once, every bad change is
// dead-lettered exactly once, and nothing is left in the inbox or the retry set.
func TestCrashDuringApply(t *testing.T) {
	if os.Getenv("KIRIM_WEBHOOK_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	const singles, every = 600, 10
	mixed := singles / every
	// Fill the inbox first, in this process, then close the store.
	db := openDB(t, dir)
	rc := New(Options{DB: db, Clock: clock.NewFake(t0), Logger: quietLogger(), AppSecret: testSecret})
	var good []string
	for i := range singles {
		good = append(good, fmt.Sprintf("62811%08d", i))
		postSigned(rc, inboundBody(good[len(good)-1], fmt.Sprintf("wamid.good.%d", i), t0))
		if i%every == 0 {
			a, b := fmt.Sprintf("62812%08d", i), fmt.Sprintf("62813%08d", i)
			good = append(good, a, b)
			postSigned(rc, changesBody(inboundChange(a, "wamid.a."+a, t0), inboundChange(strings.Repeat("6", 4000+i), fmt.Sprintf("wamid.poison.%d", i), t0),
				inboundChange(b, "wamid.b."+b, t0), inboundChange(fmt.Sprintf("62814%08d", i), fmt.Sprintf("wamid.fail.%d", i), t0)))
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The child applies one body or retry per pass and prints a dot after each; it is
	// killed half-way.
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
	for passes := 0; passes < (singles+mixed)/2; {
		if _, err := out.Read(buf); err != nil {
			t.Fatalf("child ended early: %v", err)
		}
		if buf[0] == '.' {
			passes++
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	// Here, later than any retry the child recorded.
	clk := clock.NewFake(t0.Add(1000 * time.Hour))
	db = openDB(t, dir)
	apply, eng := realApplier(t, db, clk)
	rc = New(Options{DB: db, Clock: clk, Logger: quietLogger(), AppSecret: testSecret, Apply: failing(apply, "wamid.fail.")})
	for round := 0; ; round++ {
		drain(t, rc)
		if n, err := rc.RetryCount(); err != nil || n == 0 {
			break
		} else if round > MaxAttempts {
			t.Fatalf("%d retries left after %d rounds", n, round)
		}
		clk.Advance(retryMax)
	}
	for _, wa := range good {
		c, err := eng.ContactOf(testPhoneID, wa)
		if err != nil || c.Inbound != 1 || !c.LastInbound.Equal(t0) {
			t.Fatalf("good message from %s recorded %d times after the crash (%v)", wa, c.Inbound, err)
		}
	}
	dead := allDead(t, rc)
	seen := map[string]bool{}
	poisons, refused := 0, 0
	for _, d := range dead {
		if seen[d.ID] {
			t.Fatalf("%s dead-lettered twice", d.ID)
		}
		seen[d.ID] = true
		switch {
		case d.Index == 1 && strings.Contains(d.Reason, "more than 32"):
			poisons++
		case d.Index == 3 && d.Attempts == MaxAttempts && strings.Contains(d.Reason, "engine refused wamid.fail."):
			refused++
		default:
			t.Fatalf("dead letter %s: %q after %d attempts", d.ID, d.Reason, d.Attempts)
		}
	}
	if poisons != mixed || refused != mixed {
		t.Fatalf("%d poison and %d refused changes dead-lettered, want %d of each", poisons, refused, mixed)
	}
	if n := inboxDepth(t, rc); n != 0 || heldCount(t, rc) != mixed {
		t.Fatalf("inbox holds %d, %d bodies held; want 0 and %d", n, heldCount(t, rc), mixed)
	}
	if n, _ := rc.count(pendKey("")); n != 0 {
		t.Fatalf("%d retry markers left", n)
	}
}

// crashChild applies the inbox one body or retry at a time, printing a dot after each
// and moving its clock so retries fall due, until it is killed.
func crashChild() {
	dir := os.Getenv("KIRIM_WEBHOOK_CRASH_CHILD")
	db, err := storage.Open(storage.Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	clk := clock.NewFake(t0)
	apply, _, err := newRealApplier(db, clk)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rc := New(Options{DB: db, Clock: clk, Logger: quietLogger(), AppSecret: testSecret, Apply: failing(apply, "wamid.fail."), Batch: 1})
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
		clk.Advance(retryMax / 4)
	}
}
