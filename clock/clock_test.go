package clock

import (
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)

func TestFakeFiresInOrderAndOnlyWhenDue(t *testing.T) {
	f := NewFake(t0)
	var got []string
	f.AfterFunc(3*time.Second, func() { got = append(got, "c") })
	f.AfterFunc(time.Second, func() { got = append(got, "a") })
	f.AfterFunc(time.Second, func() { got = append(got, "b") }) // same instant: in order of scheduling
	stop := f.AfterFunc(2*time.Second, func() { got = append(got, "stopped") })
	if !stop.Stop() || stop.Stop() {
		t.Fatal("Stop must report true once, then false")
	}
	f.Advance(999 * time.Millisecond)
	if len(got) != 0 {
		t.Fatalf("fired early: %v", got)
	}
	f.Advance(time.Millisecond)
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("at 1s: %v, want [a b]", got)
	}
	f.Advance(5 * time.Second)
	if len(got) != 3 || got[2] != "c" {
		t.Fatalf("after 6s: %v", got)
	}
	if !f.Now().Equal(t0.Add(6 * time.Second)) {
		t.Fatalf("now %v", f.Now())
	}
}

func TestFakeTimerSeesItsOwnTime(t *testing.T) {
	f := NewFake(t0)
	var at time.Time
	f.AfterFunc(2*time.Second, func() { at = f.Now() })
	f.Advance(10 * time.Second)
	if !at.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("callback saw %v, want the timer's own instant", at)
	}
}

func TestFakeTimerScheduledByTimerFiresInSameAdvance(t *testing.T) {
	f := NewFake(t0)
	n := 0
	var tick func()
	tick = func() {
		n++
		f.AfterFunc(time.Second, tick)
	}
	f.AfterFunc(time.Second, tick)
	f.Advance(10 * time.Second)
	if n != 10 {
		t.Fatalf("%d ticks in 10 s, want 10", n)
	}
}

func TestFakeAfterAndBlockUntil(t *testing.T) {
	f := NewFake(t0)
	var wg sync.WaitGroup
	wg.Add(1)
	var got time.Time
	go func() {
		defer wg.Done()
		got = <-f.After(time.Minute)
	}()
	f.BlockUntil(1) // the goroutine is waiting on the clock now
	if at, ok := f.NextAt(); !ok || !at.Equal(t0.Add(time.Minute)) {
		t.Fatalf("next timer %v %v", at, ok)
	}
	f.Advance(time.Minute)
	wg.Wait()
	if !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("After delivered %v", got)
	}
	if f.Pending() != 0 {
		t.Fatalf("%d timers left", f.Pending())
	}
}

func TestFakeNeverMovesBackwards(t *testing.T) {
	f := NewFake(t0)
	f.Set(t0.Add(-time.Hour))
	if !f.Now().Equal(t0) {
		t.Fatalf("moved back to %v", f.Now())
	}
	fired := false
	f.AfterFunc(0, func() { fired = true })
	if !fired {
		t.Fatal("a zero-delay timer fires at once")
	}
}
