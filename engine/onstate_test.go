package engine

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"kirim/storage"
)

// TestOnStateSeesEveryChange: the hook sees a message's acceptance and each change of
// state after it, in order, inside the transaction that writes it; a hook that fails
// at acceptance refuses the send and nothing is queued.
func TestOnStateSeesEveryChange(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	refuse := false
	e := newEnv(t, nil, nil, alwaysAccept, func(o *Options) {
		o.OnState = func(_ storage.Txn, m *Message, prev State) error {
			if refuse {
				return errors.New("outbox unavailable")
			}
			mu.Lock()
			seen = append(seen, string(prev)+">"+string(m.State))
			mu.Unlock()
			return nil
		}
	}).start()
	m := e.submit("+6281234567890", nil)
	e.rec.waitState(t, m.ID, Sent, 1)
	if _, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{
		{WAMID: wamidFor(m.ID), CallbackData: m.ID, Status: "delivered", At: t0.Add(time.Second), RecipientID: "6281234567890", Pricing: regular("marketing")},
		{WAMID: wamidFor(m.ID), CallbackData: m.ID, Status: "delivered", At: t0.Add(2 * time.Second), RecipientID: "6281234567890"},
	}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := slices.Clone(seen)
	mu.Unlock()
	want := []string{">queued", "queued>dispatching", "dispatching>sent", "sent>delivered"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes %q, want %q", got, want)
	}
	refuse = true
	if _, err := e.eng.Submit(context.Background(), e.request("+6281234567891", nil)); err == nil {
		t.Fatal("a send whose hook failed was accepted")
	}
	if n := e.rec.count(func(m Message) bool { return m.To == "+6281234567891" }); n != 0 {
		t.Fatalf("the refused send was reported %d times", n)
	}
}
