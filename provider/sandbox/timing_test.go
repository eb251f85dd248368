package sandbox

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"kirim/provider"
)

func TestStatusDelayRanges(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1, ReadRate: 1, SentDelay: time.Second, DeliveredDelay: 2 * time.Second,
		DeliveredJitter: 8 * time.Second, ReadDelay: 30 * time.Second, Seed: 7}, true)
	const n = 20
	for i := 0; i < n; i++ {
		e.mustSend(helloMsg(fmt.Sprintf("6281300000%03d", i)))
	}
	for i := 0; i < 45; i++ {
		e.clk.Advance(time.Second)
	}
	sts := e.catcher.waitStatuses(3 * n)
	at := map[string]map[string]int64{}
	for _, s := range sts {
		if at[s.ID] == nil {
			at[s.ID] = map[string]int64{}
		}
		at[s.ID][s.Status] = int64(s.Timestamp)
	}
	gaps := map[int64]bool{}
	for id, m := range at {
		sent, delivered, read := m["sent"]-t0.Unix(), m["delivered"]-m["sent"], m["read"]-m["delivered"]
		if sent != 1 || delivered < 2 || delivered > 10 || read != 30 {
			t.Fatalf("%s: sent after %ds, delivered %ds later, read %ds later; want 1, 2..10, 30", id, sent, delivered, read)
		}
		gaps[delivered] = true
	}
	if len(gaps) < 4 {
		t.Fatalf("delivered gaps %v: the 2s..10s range is not spread", gaps)
	}
	// The draw is a function of the seed and the wamid: the same in another sandbox.
	other := New(Options{Seed: 7, DeliveredDelay: 2 * time.Second, DeliveredJitter: 8 * time.Second})
	for w := uint64(1); w <= 50; w++ {
		if a, b := e.sb.stageDelay(stDelivered, w), other.stageDelay(stDelivered, w); a != b {
			t.Fatalf("wamid %d: %v and %v with the same seed", w, a, b)
		}
	}
}

func TestTimingFlags(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr string
		check   func(o Options) bool
	}{
		{args: []string{"--sent-delay=1s", "--delivered-delay=2s..5s", "--read-delay=1m"}, check: func(o Options) bool {
			return o.SentDelay == time.Second && o.SentJitter == 0 && o.DeliveredDelay == 2*time.Second &&
				o.DeliveredJitter == 3*time.Second && o.ReadDelay == time.Minute
		}},
		{args: []string{"--fail=131026=0.03,131049=0.01", "--send-errors=131000=0.5"}, check: func(o Options) bool {
			return o.Chaos.AsyncFailures[131026] == 0.03 && o.Chaos.AsyncFailures[131049] == 0.01 &&
				len(o.Chaos.AsyncFailures) == 2 && o.Chaos.SendErrors[131000] == 0.5
		}},
		{args: []string{"--webhook-batch=20"}, check: func(o Options) bool { return o.WebhookBatch == 20 }},
		{args: []string{"--delivered-delay=5s..1s"}, wantErr: "delivered-delay"},
		{args: []string{"--read-delay=-1s"}, wantErr: "read-delay"},
		{args: []string{"--sent-delay=soon"}, wantErr: "sent-delay"},
		{args: []string{"--fail=131026"}, wantErr: "fail"},
		{args: []string{"--fail=131026=1.5"}, wantErr: "fail"},
		{args: []string{"--fail=131026=0.7,131000=0.7"}, wantErr: "add up"},
		{args: []string{"--send-errors=abc=0.1"}, wantErr: "send-errors"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.args), func(t *testing.T) {
			var o Options
			fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.RegisterFlags(fs)
			err := fs.Parse(c.args)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, c.wantErr)
				}
				return
			}
			mustOK(t, err)
			if got := New(o).Options(); !c.check(got) {
				t.Fatalf("options %+v", got)
			}
		})
	}
}

// TestFailureMixFromFlags: the --fail mix gives each code its exact share of failed
// statuses.
func TestFailureMixFromFlags(t *testing.T) {
	var o Options
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	o.RegisterFlags(fs)
	mustOK(t, fs.Parse([]string{"--fail=131026=0.1,131000=0.2", "--pair-gap=-1s", "--read-rate=-1"}))
	e := newEnv(t, o, true)
	for i := 0; i < 20; i++ {
		e.mustSend(helloMsg(fmt.Sprintf("6281300000%03d", i)))
	}
	sts := e.catcher.waitStatuses(40)
	codes := map[int]int{}
	for _, s := range sts {
		if s.Status == provider.DeliveryFailed {
			codes[s.Errors[0].Code]++
		}
	}
	// Codes are tried in ascending order: 131000 takes 4 of 20, 131026 1 of the other 16.
	if codes[131000] != 4 || codes[131026] != 1 {
		t.Fatalf("failed statuses by code %v", codes)
	}
}
