package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"kirim/engine"
	"kirim/internal/benchmeter"
	"kirim/ledger"
	"kirim/provider"
	"kirim/provider/sandbox"
	"kirim/provider/sandbox/sandboxtest"
	"kirim/storage"
)

// The stage benchmarks live outside package engine so that the engine is billed by the
// real ledger, as serve wires it (the ledger imports the engine).

const stageAccount = "acme"

// stageWait bounds a benchmark's wait for the engine to finish its work.
const stageWait = 2 * time.Minute

// stageMPS is the number's throughput in the stage benchmarks: far above what two
// cores reach, so the figures are the engine's CPU and syncs, not the limiter's pace.
const stageMPS = 1_000_000

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// stage is an engine on an on-disk store, billed by a ledger whose account can pay for
// every message, with one number that sends through the real client to the sandbox
// over loopback HTTP. The engine is not started.
type stage struct {
	db  *storage.DB
	eng *engine.Engine
	sb  *sandbox.Sandbox
}

func newStage(b *testing.B, onChange func([]*engine.Message)) *stage {
	b.Helper()
	db, err := storage.Open(storage.Options{Dir: b.TempDir(), GCInterval: -1, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	led, err := ledger.New(ledger.Config{
		Accounts: []ledger.Account{{ID: stageAccount, Currency: "IDR"}},
		RateCards: []ledger.RateCard{{Effective: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Currency: "IDR",
			Prices: []ledger.Price{{Market: ledger.MarketDefault, Category: "utility", Micros: []int64{514_000_000}}}}},
		Logger: quietLogger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	err = db.Commit(context.Background(), func(tx storage.Txn) error {
		tu, _, err := led.CreateTopUp(tx, stageAccount, "stage-bench", ledger.MaxAmount)
		if err != nil {
			return err
		}
		_, err = led.ConfirmTopUp(tx, stageAccount, tu.ID, "bench")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	sb := sandbox.New(sandbox.Options{ThroughputMPS: 1 << 30, PairGap: -1, PortfolioLimit: -1, Logger: quietLogger()})
	sb.Start()
	client := sandboxtest.Serve(b, sb)
	eng, err := engine.New(engine.Options{DB: db, Logger: quietLogger(), Biller: ledger.NewBiller(led), PortfolioLimit: engine.Unlimited,
		Numbers: []engine.Number{{Alias: "main", Account: stageAccount, PhoneNumberID: sandbox.DefaultPhoneNumberID, WABAID: sandbox.DefaultWABAID,
			Sender: client, MPS: stageMPS}},
		OnChange: onChange})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = eng.Close(ctx)
	})
	return &stage{db: db, eng: eng, sb: sb}
}

// enqueue queues n utility template messages, each to its own recipient and with its
// hold, 256 to a commit as a campaign feeds them, and returns their ids.
func (s *stage) enqueue(b *testing.B, n int) []string {
	b.Helper()
	ids := make([]string, 0, n)
	for done := 0; done < n; {
		batch := min(256, n-done)
		err := s.db.Commit(context.Background(), func(tx storage.Txn) error {
			ids = ids[:done]
			for i := done; i < done+batch; i++ {
				m := &engine.Message{AccountID: stageAccount, To: fmt.Sprintf("+62812%08d", i), Type: provider.TypeTemplate,
					Category: "utility", Template: &engine.TemplateRef{Name: "hello_world", Language: "en_US"}}
				send := &provider.Message{Type: provider.TypeTemplate,
					Template: &provider.Template{Name: "hello_world", Language: provider.Language{Code: "en_US"}}}
				if err := s.eng.Enqueue(tx, m, send); err != nil {
					return err
				}
				ids = append(ids, m.ID)
			}
			return nil
		})
		if err != nil {
			b.Fatalf("enqueue: %v", err)
		}
		done += batch
	}
	return ids
}

// BenchmarkStageDispatch measures the engine's send path for queued messages: scan the
// queue, claim (a synced commit per batch), take a throughput token, mark in flight (a
// synced group commit), the client's call to the sandbox over loopback HTTP, and the
// batched, synced commit of the outcomes. One op is one message sent; the messages are
// queued (with their holds) before the timer starts, and the engine is started with
// the timer running, so its start-up is in the figures (a small share from b.N of a
// few thousand). The number has 64 workers and a throughput far above what two cores
// reach. The figures are this process's: the engine, the client and the sandbox that
// answers it; BenchmarkStageClientSend in provider has the client and sandbox alone.
func BenchmarkStageDispatch(b *testing.B) {
	want := b.N
	var (
		mu    sync.Mutex
		sent  int
		wrong []string
		done  = make(chan struct{})
	)
	s := newStage(b, func(ms []*engine.Message) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range ms {
			if m.State != engine.Sent {
				wrong = append(wrong, fmt.Sprintf("%s %s %+v", m.ID, m.State, m.Error))
				continue
			}
			if sent++; sent == want {
				close(done)
			}
		}
	})
	s.enqueue(b, want)
	meter := benchmeter.Start(b)
	if err := s.eng.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(stageWait):
		mu.Lock()
		defer mu.Unlock()
		b.Fatalf("timed out: %d of %d sent", sent, want)
	}
	meter.Stop(want, "op")
	mu.Lock()
	defer mu.Unlock()
	if len(wrong) > 0 {
		b.Fatalf("%d messages not sent, e.g. %s", len(wrong), wrong[0])
	}
	if st := s.sb.Stats(); st.Accepted != uint64(want) {
		b.Fatalf("sandbox accepted %d of %d", st.Accepted, want)
	}
}

// applyBatch is how many statuses one ApplyStatuses call gets: one webhook body's worth.
const applyBatch = 50

// BenchmarkStageApply measures the engine applying delivery statuses to stored
// messages, as the webhook applier hands them over: ApplyStatuses with batches of
// applyBatch, one after another from one goroutine (one synced commit each). One op is
// one status. The messages were sent before the timer starts (queued with their holds,
// then moved to sent with their wamid, as the dispatcher leaves them); the statuses
// are, for every message, "sent" with its pricing (a repeat that only records the
// pricing), then "delivered" (a move that captures the hold in the ledger).
func BenchmarkStageApply(b *testing.B) {
	s := newStage(b, nil)
	ids := s.enqueue(b, (b.N+1)/2)
	status := func(id, st string, pricing *provider.Pricing) engine.StatusUpdate {
		return engine.StatusUpdate{WAMID: "wamid." + id, CallbackData: id, Status: st, At: time.Now(), RecipientID: "62812000000", Pricing: pricing}
	}
	var sentOnly []engine.StatusUpdate
	for _, id := range ids {
		sentOnly = append(sentOnly, status(id, provider.DeliverySent, nil))
	}
	applyAll(b, s.eng, sentOnly)
	pricing := &provider.Pricing{PricingModel: "PMP", Type: provider.PricingRegular, Category: "utility"}
	updates := make([]engine.StatusUpdate, 0, b.N)
	for _, st := range []string{provider.DeliverySent, provider.DeliveryDelivered} {
		for _, id := range ids {
			if len(updates) < b.N {
				updates = append(updates, status(id, st, pricing))
			}
		}
	}
	meter := benchmeter.Start(b)
	applied := applyAll(b, s.eng, updates)
	meter.Stop(b.N, "op")
	// Every delivered status moves its message; the sent ones only record pricing.
	if want := b.N - len(ids); applied.Applied != want || applied.Orphan != 0 {
		b.Fatalf("applied %+v, want %d moves and no orphan", applied, want)
	}
}

// applyAll applies updates applyBatch at a time and adds up what was done.
func applyAll(b *testing.B, eng *engine.Engine, updates []engine.StatusUpdate) engine.StatusResult {
	b.Helper()
	var sum engine.StatusResult
	for i := 0; i < len(updates); i += applyBatch {
		res, err := eng.ApplyStatuses(context.Background(), updates[i:min(i+applyBatch, len(updates))])
		if err != nil {
			b.Fatal(err)
		}
		sum.Applied += res.Applied
		sum.Duplicate += res.Duplicate
		sum.Orphan += res.Orphan
	}
	return sum
}
