package events

import (
	"context"
	"errors"
	"testing"
)

// TestReloadConfig swaps the configuration's endpoints while running: a changed secret
// signs the next delivery, a removed entry gets nothing more, a new one starts, and an
// invalid set changes nothing.
func TestReloadConfig(t *testing.T) {
	one, two := newReceiver(t), newReceiver(t)
	const s1, s2 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_dGVuYW50LWItc2VjcmV0LWZvci1lMmU="
	one.trust(s1)
	f := newFixture(t, func(o *Options) {
		o.Config = []ConfigEndpoint{{URL: one.URL(), Secret: s1, Events: []string{"*"}, Account: "acme"}}
	})
	f.emit(ev("message.sent", "acme", 1))
	one.waitN(1)

	ctx := context.Background()
	if _, err := f.o.ReloadConfig(ctx, []ConfigEndpoint{{URL: "http://169.254.169.254/", Secret: s1, Events: []string{"*"}}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a metadata URL: %v", err)
	}
	f.emit(ev("message.sent", "acme", 2))
	one.waitN(2)

	// The first entry moves to a new secret (the receiver now verifies with it only); a
	// second entry is added for account beta.
	one.mu.Lock()
	one.verifiers = nil
	one.mu.Unlock()
	one.trust(s2)
	two.trust(s2)
	n, err := f.o.ReloadConfig(ctx, []ConfigEndpoint{
		{URL: one.URL(), Secret: s2, Events: []string{"message.*"}, Account: "acme"},
		{URL: two.URL(), Secret: s2, Events: []string{"*"}, Account: "beta"},
	})
	if err != nil || n != 2 {
		t.Fatalf("reload: %d %v", n, err)
	}
	f.emit(ev("message.sent", "acme", 3), ev("topup.confirmed", "beta", 4))
	one.waitN(3)
	two.waitN(1)

	// Removing the first entry stops its deliveries.
	if n, err := f.o.ReloadConfig(ctx, []ConfigEndpoint{{URL: two.URL(), Secret: s2, Events: []string{"*"}, Account: "beta"}}); err != nil || n != 2 {
		t.Fatalf("reload: %d %v", n, err)
	}
	if f.o.Wants("acme", "message.sent") {
		t.Fatal("a removed endpoint is still wanted")
	}
	if eps := f.o.Endpoints(""); len(eps) != 1 || eps[0].URL != two.URL() || eps[0].Account != "beta" {
		t.Fatalf("endpoints after reload: %+v", eps)
	}
}
