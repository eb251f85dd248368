package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"kirim/events"
)

// The callback routes act on the caller's account; an operator without ?account=
// manages the operator's own endpoints, which receive every account's events, and sees
// every endpoint and delivery.
func (s *Server) callbackRoutes() []route {
	return []route{
		{"POST", "/v1/callbacks/endpoints", ScopeAdmin, s.createEndpoint},
		{"GET", "/v1/callbacks/endpoints", ScopeAdmin, s.listEndpoints},
		{"GET", "/v1/callbacks/endpoints/:id", ScopeAdmin, s.getEndpoint},
		{"PATCH", "/v1/callbacks/endpoints/:id", ScopeAdmin, s.updateEndpoint},
		{"DELETE", "/v1/callbacks/endpoints/:id", ScopeAdmin, s.deleteEndpoint},
		{"POST", "/v1/callbacks/endpoints/:id/rotate-secret", ScopeAdmin, s.rotateEndpointSecret},
		{"POST", "/v1/callbacks/endpoints/:id/test", ScopeAdmin, s.testEndpoint},
		{"POST", "/v1/callbacks/endpoints/:id/replay", ScopeAdmin, s.replayEndpoint},
		{"GET", "/v1/callbacks/deliveries", ScopeAdmin, s.listDeliveries},
		{"POST", "/v1/callbacks/deliveries/:id/replay", ScopeAdmin, s.replayDelivery},
	}
}

var errCallbacksOff = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "callbacks are not set up here"}

// endpointView is an endpoint as the API shows it; the secret only when just made.
type endpointView struct {
	ID             string   `json:"id"`
	Account        string   `json:"account"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Description    string   `json:"description"`
	Disabled       bool     `json:"disabled"`
	DisabledReason string   `json:"disabled_reason,omitempty"`
	Source         string   `json:"source"`
	CreatedAt      any      `json:"created_at"`
	Secret         string   `json:"secret,omitempty"`
}

func endpointOf(e events.Endpoint, secret string) endpointView {
	return endpointView{ID: e.ID, Account: e.Account, URL: e.URL, Events: e.Events, Description: e.Description,
		Disabled: e.Disabled, DisabledReason: e.DisabledReason, Source: e.Source, CreatedAt: timeOrNil(e.CreatedAt), Secret: secret}
}

// callbackError maps the outbox's errors to the envelope; an invalid value's message
// starts with the field it names.
func callbackError(err error) error {
	switch {
	case errors.Is(err, events.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint or delivery"}
	case errors.Is(err, events.ErrState):
		return &Error{Status: http.StatusConflict, Code: "invalid_state", Message: "only a failed delivery is replayed; this one is pending or delivered"}
	case errors.Is(err, events.ErrConfigEndpoint):
		return &Error{Status: http.StatusConflict, Code: "config_endpoint",
			Message: "the endpoint is written in the configuration: change it there and restart"}
	case errors.Is(err, events.ErrInvalid):
		msg := err.Error()
		if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "events: ") {
			msg = msg[i+2:]
		}
		field, _, _ := strings.Cut(msg, ":")
		field, _, _ = strings.Cut(field, "[")
		return &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: field, Message: strings.TrimSuffix(msg, ": "+events.ErrInvalid.Error())}
	}
	return err
}

type endpointBody struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Description *string   `json:"description"`
	Disabled    *bool     `json:"disabled"`
}

func (s *Server) createEndpoint(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Events == nil {
		return 0, nil, errCallbacksOff
	}
	return s.idempotent(r, c, func() (int, any, error) {
		var b endpointBody
		if aerr := decodeStrict(c.body, &b); aerr != nil {
			return 0, nil, aerr
		}
		switch {
		case b.URL == nil:
			return 0, nil, invalid("url", "is required")
		case b.Events == nil:
			return 0, nil, invalid("events", `is required: event types, a family like "message.*", or "*"`)
		case b.Disabled != nil:
			return 0, nil, invalid("disabled", "a new endpoint starts enabled")
		}
		spec := events.EndpointSpec{URL: *b.URL, Events: *b.Events}
		if b.Description != nil {
			spec.Description = *b.Description
		}
		e, secret, err := s.opts.Events.CreateEndpoint(r.Context(), c.account.ID, spec)
		if err != nil {
			return 0, nil, callbackError(err)
		}
		return http.StatusCreated, endpointOf(e, secret), nil
	})
}

func (s *Server) listEndpoints(_ *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Events == nil {
		return 0, nil, errCallbacksOff
	}
	out := []endpointView{}
	for _, e := range s.opts.Events.Endpoints(c.account.ID) {
		if c.may(e.Account) == nil || (c.key.Operator && c.account.ID == "") {
			out = append(out, endpointOf(e, ""))
		}
	}
	return http.StatusOK, map[string]any{"data": out}, nil
}

func (s *Server) getEndpoint(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Events == nil {
		return 0, nil, errCallbacksOff
	}
	e, err := s.opts.Events.Endpoint(c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, callbackError(err)
	}
	return http.StatusOK, endpointOf(e, ""), nil
}

func (s *Server) updateEndpoint(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Events == nil {
		return 0, nil, errCallbacksOff
	}
	var b endpointBody
	if aerr := decodeStrict(c.body, &b); aerr != nil {
		return 0, nil, aerr
	}
	e, err := s.opts.Events.UpdateEndpoint(r.Context(), c.account.ID, p.ByName("id"),
		events.EndpointPatch{URL: b.URL, Events: b.Events, Description: b.Description, Disabled: b.Disabled})
	if err != nil {
		return 0, nil, callbackError(err)
	}
	return http.StatusOK, endpointOf(e, ""), nil
}

func (s *Server) deleteEndpoint(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Events == nil {
		return 0, nil, errCallbacksOff
	}
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	id := p.ByName("id")
	if err := s.opts.Events.DeleteEndpoint(r.Context(), c.account.ID, id); err != nil {
		return 0, nil, callbackError(err)
	}
	return http.StatusOK, map[string]any{"id": id, "deleted": true}, nil
}

func (s *Server) rotateEndpointSecret(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Events == nil {
		return 0, nil, errCallbacksOff
	}
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	e, secret, err := s.opts.Events.RotateSecret(r.Context(), c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, callbackError(err)
	}
	return http.StatusOK, endpointOf(e, secret), nil
}

// testEndpoint sends an endpoint.test event to the endpoint now and answers how it went.
func (s *Server) testEndpoint(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Events == nil {
		return 0, nil, errCallbacksOff
	}
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	d, err := s.opts.Events.SendTest(r.Context(), c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, callbackError(err)
	}
	return http.StatusOK, deliveryOf(d), nil
}

// replayEndpoint delivers again every event of the endpoint since ?since=.
func (s *Server) replayEndpoint(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Events == nil {
		return 0, nil, errCallbacksOff
	}
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	raw := r.URL.Query().Get("since")
	if raw == "" {
		return 0, nil, invalid("since", "is required: an RFC 3339 time")
	}
	since, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return 0, nil, invalid("since", "%q is not an RFC 3339 time", raw)
	}
	n, err := s.opts.Events.ReplaySince(r.Context(), c.account.ID, p.ByName("id"), since)
	if err != nil {
		return 0, nil, callbackError(err)
	}
	return http.StatusAccepted, map[string]any{"id": p.ByName("id"), "requeued": n}, nil
}

type deliveryView struct {
	ID          string `json:"id"`
	EndpointID  string `json:"endpoint_id"`
	EventID     string `json:"event_id"`
	EventType   string `json:"event_type"`
	Account     string `json:"account"`
	Status      string `json:"status"`
	Attempts    int    `json:"attempts"`
	LastAttempt any    `json:"last_attempt"`
	NextAttempt any    `json:"next_attempt"`
	LastCode    int    `json:"last_code"`
	LastError   string `json:"last_error,omitempty"`
	LastBody    string `json:"last_body,omitempty"`
}

func deliveryOf(d events.Delivery) deliveryView {
	return deliveryView{ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, EventType: d.EventType, Account: d.Account,
		Status: d.Status, Attempts: d.Attempts, LastAttempt: timeOrNil(d.LastAttempt), NextAttempt: timeOrNil(d.NextAttempt),
		LastCode: d.LastCode, LastError: d.LastError, LastBody: d.LastBody}
}

func (s *Server) listDeliveries(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Events == nil {
		return 0, nil, errCallbacksOff
	}
	q := r.URL.Query()
	status := q.Get("status")
	switch status {
	case "", "pending", "retrying", "delivered", "failed":
	default:
		return 0, nil, invalid("status", "%q is not pending, retrying, delivered or failed", status)
	}
	limit, aerr := queryLimit(r, 100, 500)
	if aerr != nil {
		return 0, nil, aerr
	}
	ds, next, err := s.opts.Events.Deliveries(events.DeliveryFilter{Account: c.account.ID, EndpointID: q.Get("endpoint_id"),
		Status: status, Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		return 0, nil, callbackError(err)
	}
	out := make([]deliveryView, 0, len(ds))
	for _, d := range ds {
		out = append(out, deliveryOf(d))
	}
	var nc any
	if next != "" {
		nc = next
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": nc}, nil
}

func (s *Server) replayDelivery(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Events == nil {
		return 0, nil, errCallbacksOff
	}
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	d, err := s.opts.Events.Replay(r.Context(), c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, callbackError(err)
	}
	return http.StatusAccepted, deliveryOf(d), nil
}
