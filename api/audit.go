package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"kirim/audit"
	"kirim/logging"
)

// auditActions names the administrative actions: each call of these routes by a key
// (refused ones included, so an attempt leaves a trace) is appended to the audit log.
// Sends, reads and quotes are not audited (their rows say so with ""); a route that
// changes money, keys, accounts, templates, lists, campaigns, endpoints or opt-outs
// is, and TestEveryChangeHasAnAuditRow holds every route but a GET to a row here.
var auditActions = map[string]string{
	"POST /v1/accounts":                              "account.create",
	"POST /v1/keys":                                  "key.create",
	"DELETE /v1/keys/:id":                            "key.revoke",
	"POST /v1/topups":                                "topup.create",
	"POST /v1/topups/:id/confirm":                    "topup.confirm",
	"POST /v1/topups/:id/reject":                     "topup.reject",
	"POST /v1/adjustments":                           "adjustment.create",
	"POST /v1/templates":                             "template.create",
	"DELETE /v1/templates/:name":                     "template.delete",
	"POST /v1/templates/sync":                        "template.sync",
	"POST /v1/templates/:name/clone":                 "template.clone",
	"POST /v1/lists":                                 "list.import",
	"DELETE /v1/lists/:id":                           "list.delete",
	"POST /v1/campaigns":                             "campaign.create",
	"POST /v1/campaigns/:id/launch":                  "campaign.launch",
	"POST /v1/campaigns/:id/pause":                   "campaign.pause",
	"POST /v1/campaigns/:id/resume":                  "campaign.resume",
	"POST /v1/campaigns/:id/cancel":                  "campaign.cancel",
	"POST /v1/campaigns/:id/retry":                   "campaign.retry",
	"POST /v1/messages/:id/resolve":                  "message.resolve",
	"POST /v1/numbers/:alias/resume-marketing":       "number.resume_marketing",
	"POST /v1/contacts/:phone/opt-out":               "contact.opt_out",
	"POST /v1/contacts/:phone/opt-in":                "contact.opt_in",
	"POST /v1/webhooks/dead/:id/replay":              "webhook.replay",
	"GET /v1/admin/backup":                           "backup.take",
	"GET /v1/admin/ledger/verify":                    "ledger.verify",
	"GET /v1/export":                                 "account.export",
	"POST /v1/callbacks/endpoints":                   "endpoint.create",
	"PATCH /v1/callbacks/endpoints/:id":              "endpoint.update",
	"DELETE /v1/callbacks/endpoints/:id":             "endpoint.delete",
	"POST /v1/callbacks/endpoints/:id/rotate-secret": "endpoint.rotate_secret",
	"POST /v1/callbacks/endpoints/:id/test":          "endpoint.test",
	"POST /v1/callbacks/endpoints/:id/replay":        "endpoint.replay",
	"POST /v1/callbacks/deliveries/:id/replay":       "delivery.replay",
	"POST /v1/users":                                 "user.create",
	"PATCH /v1/users/:id":                            "user.update",
	"DELETE /v1/users/:id":                           "user.delete",
	"POST /v1/users/:id/sign-out":                    "user.sign_out",
	// Not audited: quotes, sends and lint change nothing an administrator answers for.
	"POST /v1/campaigns/:id/quote": "",
	"POST /v1/messages":            "",
	"POST /v1/messages/:id/cancel": "",
	"POST /v1/templates/lint":      "",
}

// audited appends the outcome of an audited route to the log. It runs after the
// answer is decided and before it is written: an action the caller is told of is in
// the log, and a failure to log is an error logged, never a changed answer.
func (s *Server) audited(r *http.Request, rt route, p httprouter.Params, c *caller, status int, v any, aerr *Error) {
	action := auditActions[rt.method+" "+rt.path]
	if action == "" || s.opts.Audit == nil || c == nil {
		return
	}
	rec := audit.Record{Key: c.key.Name, KeyID: c.key.ID, Account: c.account.ID, Operator: c.key.Operator,
		Action: action, Target: auditTarget(p, v), RequestID: logging.RequestID(r.Context()), Status: status, Result: "ok"}
	if rec.Account == "" && !c.key.Operator {
		rec.Account = c.key.Account
	}
	if aerr != nil {
		rec.Status, rec.Result = aerr.Status, aerr.Code
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if _, err := s.opts.Audit.Append(ctx, rec); err != nil {
		s.log.ErrorContext(r.Context(), "api: audit append", "action", action, "err", err)
	}
}

// auditTarget is what an action acted on: the route's id, name or phone, else the id
// of what it created.
func auditTarget(p httprouter.Params, v any) string {
	for _, name := range []string{"id", "name", "phone", "alias"} {
		if t := p.ByName(name); t != "" {
			return t
		}
	}
	switch x := v.(type) {
	case map[string]any:
		if id, ok := x["id"].(string); ok {
			return id
		}
	case nil, streamResponse, json.RawMessage:
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		var probe struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(b, &probe) == nil {
			return probe.ID
		}
	}
	return ""
}

// listAudit pages the audit log: an operator sees every account's records (or one
// account's with ?account=), an account admin its own account's.
func (s *Server) listAudit(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	if s.opts.Audit == nil {
		return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no audit log here"}
	}
	q := r.URL.Query()
	limit, aerr := queryLimit(r, 100, audit.MaxLimit)
	if aerr != nil {
		return 0, nil, aerr
	}
	f := audit.Filter{Account: c.account.ID, Action: q.Get("action"), Cursor: q.Get("cursor"), Limit: limit}
	for _, b := range []struct {
		field string
		to    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(b.field); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return 0, nil, invalid(b.field, "%q is not an RFC 3339 time", v)
			}
			*b.to = t
		}
	}
	recs, next, err := s.opts.Audit.List(f)
	if errors.Is(err, audit.ErrInvalid) {
		field := "action"
		if strings.HasPrefix(err.Error(), "cursor") {
			field = "cursor"
		}
		return 0, nil, &Error{Status: http.StatusBadRequest, Code: "invalid_field", Field: field, Message: err.Error()}
	}
	if err != nil {
		return 0, nil, err
	}
	out := make([]audit.View, 0, len(recs))
	for _, rec := range recs {
		out = append(out, rec.View())
	}
	var nc any
	if next != "" {
		nc = next
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": nc}, nil
}
