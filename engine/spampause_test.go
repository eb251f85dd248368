package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"kirim/clock"
	"kirim/provider"
)

// fixtureError is the client's error for a Graph API error fixture
// (provider/testdata/errors).
func fixtureError(t *testing.T, name string) error {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "provider", "testdata", "errors", name))
	if err != nil {
		t.Fatal(err)
	}
	return provider.ParseError(400, body)
}

// TestSpamRateLimitPausesMarketing: a 131048 pauses the number's marketing: the
// message waits with the reason, so do later marketing sends without a provider call,
// utility still goes; the pause ends after engine.spam_pause, or when an operator
// resumes it, and then every held message goes at once.
func TestSpamRateLimitPausesMarketing(t *testing.T) {
	for _, tt := range []struct {
		name      string
		spamPause time.Duration
		// end ends the pause; it returns when the held messages must have been sent.
		end func(t *testing.T, e *env) time.Time
	}{
		{"after the configured pause", 6 * time.Hour, func(t *testing.T, e *env) time.Time {
			e.tick(6*time.Hour - time.Second)
			if n := e.sender.calls(); n != 2 {
				t.Fatalf("%d provider calls before the pause ended", n)
			}
			e.tick(time.Second)
			return t0.Add(6 * time.Hour)
		}},
		{"by the operator", 6 * time.Hour, func(t *testing.T, e *env) time.Time {
			e.tick(time.Minute)
			if err := e.eng.ResumeMarketing(context.Background(), "main"); err != nil {
				t.Fatal(err)
			}
			if err := e.eng.ResumeMarketing(context.Background(), "main"); !errors.Is(err, ErrNotPaused) {
				t.Fatalf("a second resume: %v, want ErrNotPaused", err)
			}
			return t0.Add(time.Minute)
		}},
		{"only by the operator", -1, func(t *testing.T, e *env) time.Time {
			e.tick(7 * 24 * time.Hour)
			if n := e.sender.calls(); n != 2 {
				t.Fatalf("%d provider calls a week into a pause without end", n)
			}
			if err := e.eng.ResumeMarketing(context.Background(), "main"); err != nil {
				t.Fatal(err)
			}
			return t0.Add(7 * 24 * time.Hour)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var refused atomic.Bool
			spam := fixtureError(t, "spam_rate_131048.json")
			e := newEnv(t, nil, nil, func(_ context.Context, n int, body []byte) (*provider.SendResponse, error) {
				if n == 1 {
					refused.Store(true)
					return nil, spam
				}
				return accepted(body)
			}, func(o *Options) { o.SpamPause, o.Numbers[0].MPS = tt.spamPause, 100000 }).start()
			first := e.submit("+6281234567001", nil)
			w := e.rec.waitState(t, first.ID, Waiting, 1)
			wantUntil := time.Time{}
			if tt.spamPause > 0 {
				wantUntil = t0.Add(tt.spamPause)
			}
			if w.WaitingReason != ReasonSpamRateLimit || !w.ETA.Equal(wantUntil) || w.Error == nil || w.Error.Code != provider.CodeSpamRate {
				t.Fatalf("after 131048: %s %q eta %v error %+v", w.State, w.WaitingReason, w.ETA, w.Error)
			}
			st, _ := e.eng.NumberStatusOf("main")
			if st.MarketingPause != ReasonSpamRateLimit || !st.MarketingPauseUntil.Equal(wantUntil) {
				t.Fatalf("number %+v, want its marketing paused until %v", st.NumberState, wantUntil)
			}
			if r, until := e.eng.SendHold("main", "marketing"); r != ReasonSpamRateLimit || !until.Equal(wantUntil) {
				t.Fatalf("SendHold marketing %q %v", r, until)
			}
			if r, _ := e.eng.SendHold("main", "utility"); r != "" {
				t.Fatalf("SendHold utility %q, want none", r)
			}
			second := e.submit("+6281234567002", nil)
			if w := e.rec.waitState(t, second.ID, Waiting, 1); w.WaitingReason != ReasonSpamRateLimit {
				t.Fatalf("a later marketing send waits for %q", w.WaitingReason)
			}
			util := e.submit("+6281234567003", func(r *SubmitRequest) { r.Message.Category = "utility" })
			e.rec.waitState(t, util.ID, Sent, 1)
			if n := e.sender.calls(); n != 2 {
				t.Fatalf("%d provider calls, want the refused one and the utility one", n)
			}
			at := tt.end(t, e)
			for _, id := range []string{first.ID, second.ID} {
				s := e.rec.waitState(t, id, Sent, 1)
				if !sentAt(&s).Equal(at) {
					t.Errorf("%s sent at %v, want %v", id, sentAt(&s), at)
				}
			}
			if st, _ := e.eng.NumberStatusOf("main"); st.MarketingPause != "" {
				t.Fatalf("still paused: %+v", st.NumberState)
			}
		})
	}
}

// TestSpamPauseSurvivesRestart: the pause is stored; one that ran out while Kirim was
// stopped ends at the next start.
func TestSpamPauseSurvivesRestart(t *testing.T) {
	db, clk := openDB(t), clock.NewFake(t0)
	spam := fixtureError(t, "spam_rate_131048.json")
	mutate := func(o *Options) { o.SpamPause, o.Numbers[0].MPS = time.Hour, 100000 }
	e := newEnv(t, db, clk, func(_ context.Context, n int, body []byte) (*provider.SendResponse, error) {
		if n == 1 {
			return nil, spam
		}
		return accepted(body)
	}, mutate).start()
	m := e.submit("+6281234567001", nil)
	e.rec.waitState(t, m.ID, Waiting, 1)
	if err := e.eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Minute)
	e2 := newEnv(t, db, clk, alwaysAccept, mutate)
	if r, _ := e2.eng.SendHold("main", "marketing"); r != ReasonSpamRateLimit {
		t.Fatalf("after a restart the hold is %q", r)
	}
	if err := e2.eng.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	e3 := newEnv(t, db, clk, alwaysAccept, mutate).start()
	e3.rec.waitState(t, m.ID, Sent, 1)
	if r, _ := e3.eng.SendHold("main", "marketing"); r != "" {
		t.Fatalf("after the pause ran out the hold is %q", r)
	}
}

// TestSpamRateLimitOnUtility: a 131048 for a utility template pauses marketing and
// retries the utility one with the transient backoff.
func TestSpamRateLimitOnUtility(t *testing.T) {
	spam := fixtureError(t, "spam_rate_131048.json")
	e := newEnv(t, nil, nil, func(_ context.Context, n int, body []byte) (*provider.SendResponse, error) {
		if n == 1 {
			return nil, spam
		}
		return accepted(body)
	}, nil).start()
	m := e.submit("+6281234567001", func(r *SubmitRequest) { r.Message.Category = "utility" })
	q := e.rec.waitState(t, m.ID, Queued, 1)
	if q.Attempts != 1 || q.Error == nil || q.Error.Code != provider.CodeSpamRate {
		t.Fatalf("utility after 131048: attempts %d error %+v", q.Attempts, q.Error)
	}
	if r, _ := e.eng.SendHold("main", "marketing"); r != ReasonSpamRateLimit {
		t.Fatalf("marketing hold %q after a utility 131048", r)
	}
	e.tick(5 * time.Second)
	e.rec.waitState(t, m.ID, Sent, 1)
}
