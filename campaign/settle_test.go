package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"kirim/engine"
	"kirim/provider"
)

// lostSends answers the first send to each of the given recipients with an error that
// leaves its outcome unknown, without passing it on: a send under way when Kirim died,
// which the provider never received.
type lostSends struct {
	next engine.Sender
	mu   sync.Mutex
	lose map[string]bool
}

func (l *lostSends) SendMessageJSON(ctx context.Context, body []byte) (*provider.SendResponse, error) {
	var m provider.Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	l.mu.Lock()
	lose := l.lose[m.To]
	delete(l.lose, m.To)
	l.mu.Unlock()
	if lose {
		return nil, &provider.TransportError{Op: "send", Err: errors.New("connection reset by peer")}
	}
	return l.next.SendMessageJSON(ctx, body)
}

// TestUnknownMessagesSettleAndRunCompletes: messages whose outcome is unknown show in
// the progress with the time they settle; with no status, the unknown policy fails them
// then, the run completes, and a retry sends them again with a warning.
func TestUnknownMessagesSettleAndRunCompletes(t *testing.T) {
	lost := &lostSends{lose: map[string]bool{"+628120000001": true, "+628120000004": true, "+628120000007": true}}
	e := newEnv(t, envOptions{balance: 1_000_000 * idr, wrap: func(s engine.Sender) engine.Sender { lost.next = s; return lost }})
	c := e.create(CreateRequest{ListIDs: []string{e.importCSV("a", phones(0, 20)...)}})
	svc := e.svc.Load()
	if _, err := svc.Launch(e.ctx, testAccount, c.ID); err != nil {
		t.Fatal(err)
	}
	p := e.waitRun(c.ID, "three unknown, the rest sent", func(_ *Campaign, r *Run) bool {
		return r.Counts[string(engine.Unknown)] == 3 && settledCount(r) == 17
	})
	if p.Campaign.State != StateRunning || p.Unknown != 3 {
		t.Fatalf("with unknown messages: campaign %s, unknown %d; want running with 3", p.Campaign.State, p.Unknown)
	}
	if want := t0.Add(engine.DefaultUnknownTimeout); !p.UnknownSettleAt.Equal(want) {
		t.Fatalf("unknown_settle_at %v, want %v", p.UnknownSettleAt, want)
	}
	// No status names them; their window ends.
	e.clk.Advance(engine.DefaultUnknownTimeout)
	p = e.waitRun(c.ID, "the run to complete", func(c *Campaign, _ *Run) bool { return c.State == StateCompleted })
	if p.Run.Counts[string(engine.Failed)] != 3 || p.Unknown != 0 || !p.UnknownSettleAt.IsZero() {
		t.Fatalf("completed with counts %v, unknown %d at %v", p.Run.Counts, p.Unknown, p.UnknownSettleAt)
	}
	var failed []*Row
	if _, err := svc.Recipients(testAccount, c.ID, RecipientFilter{Status: string(engine.Failed)}, func(r *Row) error {
		failed = append(failed, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(failed) != 3 {
		t.Fatalf("%d failed rows, want 3", len(failed))
	}
	for _, r := range failed {
		if r.Error == nil || r.Error.Code != engine.CodeUnknownTimeout || r.Error.Class != "unknown" {
			t.Errorf("%s failed with %+v, want the unknown policy's error", r.Phone, r.Error)
		}
	}
	res, err := svc.Retry(e.ctx, testAccount, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requeued != 3 || res.Unconfirmed != 3 {
		t.Fatalf("retry %+v, want 3 requeued, 3 unconfirmed", res)
	}
	e.waitRun(c.ID, "the retried run to complete", func(c *Campaign, r *Run) bool {
		return c.State == StateCompleted && r.Counts[string(engine.Failed)] == 0
	})
	sends := e.sandboxSends()
	if len(sends) != 20 {
		t.Fatalf("the sandbox received %d recipients, want 20", len(sends))
	}
	for to, n := range sends {
		if n != 1 {
			t.Errorf("%s received %d times", to, n)
		}
	}
}
