package engine

import (
	"bytes"
	"testing"
	"time"
)

func TestPlainWA(t *testing.T) {
	tests := []struct {
		wa    string
		plain bool
	}{
		{"6281234567890", true},
		{"9", true},
		{"999999999999999999", true},
		{"1000000000000000000", false}, // 19 digits could reach the odd bit
		{"0812345678", false},          // a leading zero would not come back
		{"", false},
		{"62812a", false},
		{"+6281234567890", false},
	}
	for _, tt := range tests {
		n, ok := plainWA(tt.wa)
		if ok != tt.plain {
			t.Errorf("plainWA(%q) ok %v, want %v", tt.wa, ok, tt.plain)
			continue
		}
		if ok && (n&oddWA != 0 || (&tierScope{}).name(n) != tt.wa) {
			t.Errorf("plainWA(%q) = %d, which names %q", tt.wa, n, (&tierScope{}).name(n))
		}
	}
}

// TestScopeKeysSlotsByRecipient: recipients held as numbers count once each, a wa_id
// that is not a number counts as well, and the slot keys dropped after usageKeep name
// every recipient as it was given.
func TestScopeKeysSlotsByRecipient(t *testing.T) {
	s := newScope("portfolio", 2, t0)
	steps := []struct {
		wa          string
		ok, takes   bool
		wantEtaFrom time.Time
	}{
		{"6281200000001", true, true, time.Time{}},
		{"6281200000001", true, false, time.Time{}}, // counted already
		{"wa:odd-id", true, true, time.Time{}},
		{"6281200000002", false, false, t0.Add(LimitWindow)}, // limit reached
	}
	for i, st := range steps {
		ok, taken, eta := s.admit(st.wa, t0)
		if ok != st.ok || taken != st.takes || !eta.Equal(st.wantEtaFrom) {
			t.Fatalf("step %d (%s): ok %v taken %v eta %v, want %v %v %v", i, st.wa, ok, taken, eta, st.ok, st.takes, st.wantEtaFrom)
		}
	}
	s.giveBack("wa:odd-id", t0)
	if ok, taken, _ := s.admit("6281200000002", t0); !ok || !taken {
		t.Fatalf("after giving a slot back: ok %v taken %v", ok, taken)
	}
	if ok, _, _ := s.admit("wa:odd-id", t0.Add(time.Minute)); ok {
		t.Fatal("the given-back recipient passed a full window")
	}
	late := t0.Add(LimitWindow + time.Second)
	if ok, taken, _ := s.admit("wa:odd-id", late); !ok || !taken {
		t.Fatalf("after the window: ok %v taken %v", ok, taken)
	}
	if u := s.usage(late); u.Used24h != 1 || u.Used7d != 3 {
		t.Fatalf("usage %+v, want 1 in the window and 3 over the week", u)
	}

	s.usage(late.Add(usageKeep))
	want := [][]byte{
		slotKey("portfolio", t0.UnixNano(), "6281200000001"),
		slotKey("portfolio", t0.UnixNano(), "6281200000002"),
		slotKey("portfolio", late.UnixNano(), "wa:odd-id"),
	}
	checkStale(t, s, want)
	if len(s.odd) != 0 || len(s.taken) != 0 {
		t.Errorf("after every slot expired: %d odd names, %d taken", len(s.odd), len(s.taken))
	}
}

// TestScopeKeepsAnOddNameWhileASlotUsesIt: a wa_id that is not a number, holding two
// slots a window apart, keeps its name until the second expires, so both stale keys
// name it.
func TestScopeKeepsAnOddNameWhileASlotUsesIt(t *testing.T) {
	s := newScope("portfolio", Unlimited, t0)
	second := t0.Add(LimitWindow + time.Hour)
	for _, at := range []time.Time{t0, second} {
		if ok, taken, _ := s.admit("wa:odd-id", at); !ok || !taken {
			t.Fatalf("admit at %v: ok %v taken %v", at, ok, taken)
		}
	}
	s.usage(t0.Add(usageKeep))
	s.usage(second.Add(usageKeep))
	want := [][]byte{slotKey("portfolio", t0.UnixNano(), "wa:odd-id"), slotKey("portfolio", second.UnixNano(), "wa:odd-id")}
	checkStale(t, s, want)
	if len(s.odd) != 0 {
		t.Errorf("%d odd names kept after every slot expired", len(s.odd))
	}
}

// checkStale checks the keys the scope hands out for deletion.
func checkStale(t *testing.T, s *tierScope, want [][]byte) {
	t.Helper()
	got := s.takeStale()
	if len(got) != len(want) {
		t.Fatalf("%d stale keys, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("stale key %d = %q, want %q", i, got[i], want[i])
		}
	}
}
