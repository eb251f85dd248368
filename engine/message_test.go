package engine

import (
	"testing"
	"time"
)

var allStates = []State{Queued, Waiting, Dispatching, Unknown, Held, Sent, Delivered, Read, Failed, Cancelled}

func TestCanMove(t *testing.T) {
	tests := []struct {
		from, to State
		want     bool
		why      string
	}{
		// The forward path.
		{Queued, Dispatching, true, "claimed"},
		{Dispatching, Sent, true, "accepted"},
		{Dispatching, Held, true, "held for quality assessment"},
		{Held, Sent, true, "pacing released"},
		{Sent, Delivered, true, "delivered"},
		{Delivered, Read, true, "read"},
		{Sent, Read, true, "read may skip delivered"},
		{Dispatching, Read, true, "a webhook may beat the send's answer"},
		{Unknown, Sent, true, "an unknown message is settled by its status"},
		{Unknown, Delivered, true, "an unknown message is settled by its status"},

		// Retries go back to the queue only from dispatching.
		{Dispatching, Queued, true, "retry"},
		{Dispatching, Waiting, true, "retry after 24 h"},
		{Queued, Waiting, true, "blocked"},
		{Waiting, Queued, true, "unblocked"},
		{Waiting, Dispatching, true, "claimed after waiting"},
		{Unknown, Queued, false, "never re-sent blindly"},
		{Unknown, Dispatching, false, "never re-sent blindly"},
		{Sent, Queued, false, "backwards"},

		// Never backwards.
		{Sent, Dispatching, false, "backwards"},
		{Delivered, Sent, false, "backwards"},
		{Read, Delivered, false, "read then delivered stays read"},
		{Read, Sent, false, "backwards"},
		{Delivered, Held, false, "backwards"},
		{Sent, Held, false, "backwards"},
		{Sent, Unknown, false, "backwards"},

		// Failures.
		{Queued, Failed, true, "attempts exhausted"},
		{Dispatching, Failed, true, "refused"},
		{Unknown, Failed, true, "unknown timeout"},
		{Held, Failed, true, "pacing failed"},
		{Sent, Failed, true, "failed after sent"},
		{Delivered, Failed, false, "a failure after delivery is noise"},
		{Read, Failed, false, "a failure after read is noise"},

		// Cancel only before the provider call.
		{Queued, Cancelled, true, "not claimed yet"},
		{Waiting, Cancelled, true, "not claimed yet"},
		{Dispatching, Cancelled, false, "in flight"},
		{Unknown, Cancelled, false, "may have been sent"},
		{Held, Cancelled, false, "with the provider"},
		{Sent, Cancelled, false, "with the provider"},
		{Delivered, Cancelled, false, "delivered"},

		// Terminal states stay.
		{Failed, Sent, false, "terminal"},
		{Failed, Delivered, false, "terminal"},
		{Failed, Queued, false, "terminal"},
		{Cancelled, Queued, false, "terminal"},
		{Cancelled, Dispatching, false, "terminal"},
		{Cancelled, Failed, false, "terminal"},
	}
	for _, tt := range tests {
		if got := canMove(tt.from, tt.to); got != tt.want {
			t.Errorf("canMove(%s, %s) = %v, want %v (%s)", tt.from, tt.to, got, tt.want, tt.why)
		}
	}
	for _, s := range allStates {
		if canMove(s, s) {
			t.Errorf("canMove(%s, %s) = true: a duplicate must be a no-op", s, s)
		}
	}
	for _, from := range []State{Read, Failed, Cancelled} {
		for _, to := range allStates {
			if canMove(from, to) {
				t.Errorf("canMove(%s, %s) = true: %s is terminal", from, to, from)
			}
		}
	}
}

// TestMoveNeverBackwards walks every sequence of three statuses from sent and checks
// that the rank of the state never drops.
func TestMoveNeverBackwards(t *testing.T) {
	statuses := []State{Sent, Delivered, Read, Failed}
	for _, a := range statuses {
		for _, b := range statuses {
			for _, c := range statuses {
				m := &Message{State: Dispatching}
				at := t0
				for _, s := range []State{a, b, c} {
					before := m.State
					at = at.Add(time.Second)
					m.move(s, at)
					if m.State != Failed && before != Failed && rank[m.State] < rank[before] {
						t.Fatalf("%s, %s, %s: moved back from %s to %s", a, b, c, before, m.State)
					}
					if before == Failed && m.State != Failed {
						t.Fatalf("%s, %s, %s: left failed for %s", a, b, c, m.State)
					}
				}
			}
		}
	}
}

func TestMoveRecordsHistory(t *testing.T) {
	m := &Message{State: Queued, History: []StateChange{{State: Queued, At: t0}}}
	m.move(Waiting, t0.Add(time.Second))
	m.WaitingReason, m.ETA = "tier_limit", t0.Add(time.Hour)
	if !m.move(Queued, t0.Add(2*time.Second)) {
		t.Fatal("waiting -> queued refused")
	}
	if m.WaitingReason != "" || !m.ETA.IsZero() {
		t.Errorf("leaving waiting kept reason %q and eta %v", m.WaitingReason, m.ETA)
	}
	m.move(Dispatching, t0.Add(3*time.Second))
	m.move(Sent, t0.Add(4*time.Second))
	if m.move(Sent, t0.Add(5*time.Second)) {
		t.Error("a duplicate sent moved the message")
	}
	m.move(Read, t0.Add(6*time.Second))
	if m.move(Delivered, t0.Add(7*time.Second)) {
		t.Error("delivered after read moved the message")
	}
	want := []State{Queued, Waiting, Queued, Dispatching, Sent, Read}
	if len(m.History) != len(want) {
		t.Fatalf("history %v, want states %v", m.History, want)
	}
	for i, s := range want {
		if m.History[i].State != s {
			t.Errorf("history[%d] = %s, want %s", i, m.History[i].State, s)
		}
	}
	if !m.UpdatedAt.Equal(t0.Add(6 * time.Second)) {
		t.Errorf("UpdatedAt = %v, want the time of the last real move", m.UpdatedAt)
	}
}

func TestStatePredicates(t *testing.T) {
	for _, s := range allStates {
		wantTerminal := s == Read || s == Failed || s == Cancelled
		if s.Terminal() != wantTerminal {
			t.Errorf("%s.Terminal() = %v", s, s.Terminal())
		}
		wantSettled := s == Sent || s == Delivered || s == Read || s == Failed || s == Cancelled || s == Held
		if s.Settled() != wantSettled {
			t.Errorf("%s.Settled() = %v", s, s.Settled())
		}
	}
}
