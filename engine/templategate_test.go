package engine

import (
	"sync"
	"testing"
)

// templateStatuses is a settable TemplateStatus hook.
type templateStatuses struct {
	mu sync.Mutex
	s  string
}

func (ts *templateStatuses) set(s string) {
	ts.mu.Lock()
	ts.s = s
	ts.mu.Unlock()
}

func (ts *templateStatuses) get(_, _, _ string) string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.s
}

// TestPausedTemplateWaits: a queued send of a paused template is not sent into the
// pause; it waits with a reason and goes once the template is approved again.
func TestPausedTemplateWaits(t *testing.T) {
	ts := &templateStatuses{s: "PAUSED"}
	e := newEnv(t, nil, nil, alwaysAccept, func(o *Options) { o.TemplateStatus = ts.get }).start()
	m := e.submit("+6281234567890", nil)
	w := e.rec.waitState(t, m.ID, Waiting, 1)
	if w.WaitingReason != ReasonTemplatePaused {
		t.Fatalf("waiting for %q, want %q", w.WaitingReason, ReasonTemplatePaused)
	}
	if n := e.sender.calls(); n != 0 {
		t.Fatalf("%d provider calls while the template is paused", n)
	}
	ts.set("APPROVED")
	e.tick(pauseRecheck)
	e.rec.waitState(t, m.ID, Sent, 1)
	if n := e.sender.calls(); n != 1 {
		t.Fatalf("%d provider calls, want 1", n)
	}
}

// TestDisabledTemplateFails: a queued send of a disabled template fails at once, without
// a provider call, and its hold is released.
func TestDisabledTemplateFails(t *testing.T) {
	ts := &templateStatuses{s: "DISABLED"}
	e := newEnv(t, nil, nil, alwaysAccept, func(o *Options) { o.TemplateStatus = ts.get }).start()
	m := e.submit("+6281234567890", nil)
	f := e.rec.waitState(t, m.ID, Failed, 1)
	if f.Error == nil || f.Error.Code != CodeTemplateUnusable {
		t.Fatalf("failed with %+v, want code %d", f.Error, CodeTemplateUnusable)
	}
	if n := e.sender.calls(); n != 0 {
		t.Fatalf("%d provider calls for a disabled template", n)
	}
	if r := e.biller.released(m.ID); len(r) != 1 {
		t.Fatalf("releases %v, want exactly one", r)
	}
}
