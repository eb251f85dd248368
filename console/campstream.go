package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/julienschmidt/httprouter"
)

// streamAPI passes an API answer straight to the browser (a CSV report): headers,
// status and body as the API writes them, never held in memory. accept, when not
// empty, is the representation asked for.
func (v *visit) streamAPI(w http.ResponseWriter, method, path string, q url.Values, body io.Reader, ctype, accept string) error {
	req, err := v.request(method, path, q, body, ctype)
	if err != nil {
		return err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	v.c.opts.API.ServeAs(w, req, v.principal())
	return nil
}

// campCallKeyed is call with an Idempotency-Key, so a form sent twice (a double click, a
// reload of the answer) makes one campaign, not two.
func (v *visit) campCallKeyed(method, path, key string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("console: encode %s %s: %w", method, path, err)
	}
	req, err := v.request(method, path, nil, bytes.NewReader(b), "application/json")
	if err != nil {
		return err
	}
	req.Header.Set("Idempotency-Key", key)
	rec := &capture{h: http.Header{}}
	v.c.opts.API.ServeAs(rec, req, v.principal())
	return rec.decode(method, path, out)
}

// Live progress. The stream reads the campaign once a second while the client stays
// and the campaign can still change, and sends what changed.
const (
	campPoll = time.Second
	// campHeartbeat keeps proxies from closing a stream that has had nothing to say.
	campHeartbeat = 15 * time.Second
	// campWriteGrace is how long one event may take to reach a client that stopped
	// reading before the connection is cut (the server's write timeout would cut a
	// long stream however well it is read).
	campWriteGrace = 30 * time.Second
)

// campLive reports whether a campaign in state can still change on its own: a run
// going or paused, or one waiting for its schedule.
func campLive(state string) bool {
	return state == "running" || state == "paused" || state == "scheduled"
}

// campEvent is what the progress page shows of a campaign, ready to display.
type campEvent struct {
	State      string           `json:"state"`
	StateText  string           `json:"state_text"`
	Reason     string           `json:"reason"`
	Recipients int64            `json:"recipients"`
	Done       int64            `json:"done"`
	Counts     map[string]int64 `json:"counts"`
	Spend      string           `json:"spend"`
	Quoted     string           `json:"quoted"`
	Rate       string           `json:"rate"`
	ETA        string           `json:"eta"`
	Live       bool             `json:"live"`
}

// campEvents serves GET campaigns/:id/events as Server-Sent Events: "progress" when
// the figures change, then "end" once the campaign can no longer change by itself.
// It stops when the client leaves (the request's context ends) or its session does.
func (c *Console) campEvents(w http.ResponseWriter, r *http.Request, p httprouter.Params, v *visit) error {
	path := "/v1/campaigns/" + url.PathEscape(p.ByName("id"))
	cp, err := v.get(path, nil)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	send := func(s string) bool {
		// A network deadline, not a timing of the program: the wall clock it is.
		_ = rc.SetWriteDeadline(time.Now().Add(campWriteGrace))
		if _, err := io.WriteString(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 3000\n\n") {
		return nil
	}
	last, quiet := "", time.Duration(0)
	for {
		ev := v.campEventOf(cp)
		b, err := json.Marshal(ev)
		if err != nil {
			return nil
		}
		switch {
		case !ev.Live:
			send("event: end\ndata: " + string(b) + "\n\n")
			return nil
		case string(b) != last:
			if !send("event: progress\ndata: " + string(b) + "\n\n") {
				return nil
			}
			last, quiet = string(b), 0
		case quiet >= campHeartbeat:
			if !send(": still here\n\n") {
				return nil
			}
			quiet = 0
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-c.clock.After(campPoll):
		}
		quiet += campPoll
		// A session ended elsewhere (sign-out, the user deleted) ends its streams too.
		if _, _, ok := c.opts.Users.Session(v.token); !ok {
			return nil
		}
		if cp, err = v.get(path, nil); err != nil {
			if r.Context().Err() == nil {
				send("event: gone\ndata: {}\n\n")
			}
			return nil
		}
	}
}

// campEventOf reads a campaign of the API into what the page shows.
func (v *visit) campEventOf(cp obj) campEvent {
	state := str(cp["state"])
	ev := campEvent{State: state, StateText: v.t("camp.state." + state), Reason: v.campReason(str(cp["reason"])),
		Counts: map[string]int64{}, Live: campLive(state)}
	pr, _ := cp["progress"].(obj)
	if pr == nil {
		return ev
	}
	ev.Recipients = int64(toF(pr["recipients"]))
	for k, n := range campObj(pr["counts"]) {
		ev.Counts[k] = int64(toF(n))
	}
	for _, k := range campSettled {
		ev.Done += ev.Counts[k]
	}
	vw := &view{V: v}
	ev.Spend, ev.Quoted = vw.Money(pr["spend"]), vw.Money(pr["quoted"])
	ev.Rate = fmt.Sprintf("%.1f", toF(pr["rate_per_second"]))
	if state == "running" {
		ev.ETA = vw.When(pr["eta"])
	}
	return ev
}

// campSettled are the row statuses whose outcome is known: what the progress bar
// counts as done.
var campSettled = []string{"sent", "delivered", "read", "failed", "held", "cancelled"}

func campObj(v any) obj {
	o, _ := v.(obj)
	return o
}

// campReason is a run's reason in words, or "".
func (v *visit) campReason(reason string) string {
	if reason == "" {
		return ""
	}
	if key := "camp.reason." + reason; known(key) {
		return v.t(key)
	}
	return reason
}

// Max is the progress bar's maximum: the recipients, or 1 before they are known (a
// bar's maximum must be above zero).
func (e campEvent) Max() int64 { return max(e.Recipients, 1) }
