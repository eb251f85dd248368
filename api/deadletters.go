package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"kirim/webhook"
)

// deadLetterCursor takes a dead letter's id: a webhook body's id, or "<body id>.<index>"
// for one change of it.
func deadLetterCursor(c string) bool {
	body, index, found := strings.Cut(c, ".")
	if found && (index == "" || strings.Trim(index, "0123456789") != "" || len(index) > 4) {
		return false
	}
	return idCursor("whk")(body)
}

// deadLetters lists the provider webhooks, or single changes of them, that could not
// be applied, oldest first.
func (s *Server) deadLetters(r *http.Request, _ httprouter.Params, _ *caller) (int, any, error) {
	limit, aerr := queryLimit(r, 0, MaxDeadLetterLimit)
	if aerr != nil {
		return 0, nil, aerr
	}
	cursor, aerr := queryCursor(r, deadLetterCursor)
	if aerr != nil {
		return 0, nil, aerr
	}
	if s.opts.Webhook == nil {
		return http.StatusOK, map[string]any{"data": []any{}, "next_cursor": ""}, nil
	}
	ds, next, err := s.opts.Webhook.DeadLetters(limit, cursor)
	if err != nil {
		return 0, nil, err
	}
	out := make([]map[string]any, 0, len(ds))
	for _, d := range ds {
		v := map[string]any{"id": d.ID, "body_id": d.BodyID, "reason": d.Reason, "at": d.At, "attempts": d.Attempts}
		if d.Index >= 0 {
			v["index"], v["entry_id"], v["change"] = d.Index, d.EntryID, json.RawMessage(d.Change)
		} else {
			v["body"] = string(d.Body)
		}
		out = append(out, v)
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}

// replayDeadLetter puts a dead letter back in the webhook inbox, to be applied again
// (after an upgrade fixed what made it fail). It answers 202: the applier takes it
// within a moment, and it returns to the list if it fails again.
func (s *Server) replayDeadLetter(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if err := noBody(c.body); err != nil {
		return 0, nil, err
	}
	id := p.ByName("id")
	if !deadLetterCursor(id) {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such dead letter", Field: "id"}
	}
	if s.opts.Webhook == nil {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no webhook receiver"}
	}
	err := s.opts.Webhook.Replay(r.Context(), id)
	if errors.Is(err, webhook.ErrNotFound) {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such dead letter", Field: "id"}
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, map[string]string{"id": id, "status": "requeued"}, nil
}
