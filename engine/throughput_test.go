package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
	"kirim/provider/sandbox"
	"kirim/provider/sandbox/sandboxtest"
)

// TestThroughputAgainstSandbox sends through the real client to the sandbox, which
// counts accepted sends per clock second and refuses the excess with 130429. At the
// number's rate the engine must never be refused, and must send each message exactly
// once. It runs on the real clock: the sandbox measures real seconds.
func TestThroughputAgainstSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("sends for about five seconds")
	}
	const (
		mps   = 80
		total = 400
	)
	sb := sandbox.New(sandbox.Options{ThroughputMPS: mps, PortfolioLimit: -1, Logger: quietLogger(), Seed: 1})
	sb.Start()
	client := sandboxtest.Serve(t, sb)

	rec := newRecorder()
	eng, err := New(Options{DB: openDB(t), Clock: clock.Real{}, Logger: quietLogger(), OnChange: rec.onChange, PortfolioLimit: Unlimited,
		Numbers: []Number{{Alias: "main", PhoneNumberID: sandbox.DefaultPhoneNumberID, WABAID: sandbox.DefaultWABAID, Sender: client, MPS: mps}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eng.Close(ctx)
	})

	start := time.Now()
	ids := make([]string, total)
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += 4 {
				res, err := eng.Submit(context.Background(), SubmitRequest{
					Message: &Message{AccountID: testAccount, To: fmt.Sprintf("+62812%08d", i), Type: provider.TypeTemplate, Category: "utility"},
					Send: &provider.Message{Type: provider.TypeTemplate,
						Template: &provider.Template{Name: "hello_world", Language: provider.Language{Code: "en_US"}}},
				})
				if err != nil {
					errs <- err
					return
				}
				ids[i] = res.Message.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	done := map[string]bool{}
	// The deadline is generous: on a loaded machine (the whole suite under -race on two
	// cores) the sends may take longer than five seconds; what this test proves is that
	// they never go faster than the limit, which load cannot cause.
	rec.waitWithin(t, 2*time.Minute, fmt.Sprintf("%d messages sent", total), func(m Message) bool {
		if !want[m.ID] {
			return false
		}
		if m.State != Sent {
			t.Errorf("%s: %s (error %+v)", m.ID, m.State, m.Error)
		}
		done[m.ID] = true
		return len(done) == total
	})
	elapsed := time.Since(start)

	st := sb.Stats()
	t.Logf("%d sends in %v: %.1f/s accepted, busiest second %d", total, elapsed.Round(time.Millisecond), st.Rate.PerSecond, st.Rate.BusiestSecondAccepted)
	if n := st.RefusedByCode[provider.CodeThroughput]; n != 0 {
		t.Errorf("%d sends refused with 130429: the engine went over %d per second", n, mps)
	}
	if st.Refused != 0 {
		t.Errorf("refusals %v", st.RefusedByCode)
	}
	if st.Received != total || st.Accepted != total {
		t.Errorf("sandbox received %d and accepted %d, want %d each", st.Received, st.Accepted, total)
	}
	if st.Duplicates.Count != 0 {
		t.Errorf("%d duplicate sends, e.g. %v", st.Duplicates.Count, st.Duplicates.Examples)
	}
	if st.UniqueRecipients != total {
		t.Errorf("%d unique recipients, want %d", st.UniqueRecipients, total)
	}
	if st.Rate.BusiestSecondAccepted > mps {
		t.Errorf("busiest second accepted %d, over %d", st.Rate.BusiestSecondAccepted, mps)
	}
	for _, id := range ids {
		got := sb.Received(sandbox.ReceivedFilter{CallbackData: id, Limit: 10})
		if len(got) != 1 {
			t.Errorf("%s reached the sandbox %d times, want once", id, len(got))
		}
	}
	for i := range 20 {
		to := fmt.Sprintf("+62812%08d", i*17)
		if got := sb.Received(sandbox.ReceivedFilter{To: to, Limit: 10}); len(got) != 1 {
			t.Errorf("recipient %s got %d sends, want 1", to, len(got))
		}
	}
	// At 80/s, 400 sends take about five seconds; much less means the limiter let a burst
	// through (which the sandbox would have refused). How much longer they take depends
	// on the machine's load: the dispatch rate is measured by `kirim bench`, not here.
	if elapsed < 4*time.Second {
		t.Errorf("took %v, want at least %v", elapsed, time.Duration(total/mps-1)*time.Second)
	}
}
