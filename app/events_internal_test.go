package app

import (
	"slices"
	"testing"

	"kirim/engine"
)

func TestMessageEventTypes(t *testing.T) {
	cases := []struct {
		prev, state engine.State
		want        []string
	}{
		{"", engine.Queued, []string{"message.queued"}},
		{engine.Queued, engine.Dispatching, nil},
		{engine.Dispatching, engine.Sent, []string{"message.sent"}},
		{engine.Sent, engine.Delivered, []string{"message.delivered"}},
		{engine.Dispatching, engine.Delivered, []string{"message.sent", "message.delivered"}},
		{engine.Unknown, engine.Read, []string{"message.sent", "message.delivered", "message.read"}},
		{engine.Delivered, engine.Read, []string{"message.read"}},
		{engine.Dispatching, engine.Failed, []string{"message.failed"}},
		{engine.Sent, engine.Failed, []string{"message.failed"}},
		{engine.Queued, engine.Cancelled, nil},
	}
	for _, c := range cases {
		if got := messageEventTypes(c.prev, c.state); !slices.Equal(got, c.want) {
			t.Errorf("%q -> %q: %q, want %q", c.prev, c.state, got, c.want)
		}
	}
}
