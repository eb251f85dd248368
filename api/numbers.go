package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"kirim/engine"
	"kirim/phone"
)

// maxQueueDepthCount bounds the queue entries counted for one number's queue_depth;
// beyond it the answer says "at least".
const maxQueueDepthCount = 100000

// limitView writes a messaging limit as api.md does: a count, or "unlimited".
func limitView(limit int) any {
	if limit == engine.Unlimited {
		return "unlimited"
	}
	return limit
}

// listNumbers answers GET /v1/numbers: each number's standing, its messaging-limit
// usage and the tier forecast.
func (s *Server) listNumbers(_ *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	out := []map[string]any{}
	for _, n := range s.accountNumbers(c) {
		v, err := s.numberView(n)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, v)
	}
	return http.StatusOK, map[string]any{"data": out}, nil
}

// numberView is a number as the API shows it.
func (s *Server) numberView(n engine.Number) (map[string]any, error) {
	f, err := s.opts.Engine.ForecastTier(n.Alias)
	if err != nil {
		return nil, err
	}
	ns, err := s.opts.Engine.NumberStatusOf(n.Alias)
	if err != nil {
		return nil, err
	}
	depth, capped, err := s.opts.Engine.QueueDepth(n.Alias, maxQueueDepthCount)
	if err != nil {
		return nil, err
	}
	v := map[string]any{
		"alias": n.Alias, "phone": n.Phone, "phone_number_id": n.PhoneNumberID, "waba_id": n.WABAID,
		"status": ns.Status, "quality": ns.Quality, "messaging_limit": limitView(f.Limit),
		"used_24h": f.Used24h, "frees_at": timeOrNil(f.FreesAt), "throughput_mps": n.MPS,
		"queue_depth": depth, "queue_depth_capped": capped, "pair_gap_seconds": max(0, n.PairGap.Seconds()),
		"rules": f.Rules, "limit_scope": f.Scope, "limit_since": timeOrNil(f.Since), "used_7d": f.Used7d,
		"forecast": map[string]any{"next_limit": limitView(f.NextLimit), "next_tier_at": timeOrNil(f.NextTierAt), "daily_pace": f.DailyPace},
	}
	if ns.Restriction != "" {
		v["restriction"] = ns.Restriction
		v["restricted_until"] = timeOrNil(ns.RestrictedT)
	}
	if ns.MarketingPause != "" {
		v["marketing_pause"] = map[string]any{"reason": ns.MarketingPause, "since": timeOrNil(ns.MarketingPausedAt),
			"until": timeOrNil(ns.MarketingPauseUntil)}
	}
	return v, nil
}

// resumeMarketing answers POST /v1/numbers/{alias}/resume-marketing: the number's
// marketing pause (after a 131048, spam rate limit) ends now, the marketing messages it
// held go and the campaigns it paused resume. 409 not_paused when there is none.
func (s *Server) resumeMarketing(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	alias := p.ByName("alias")
	for _, n := range s.accountNumbers(c) {
		if n.Alias != alias {
			continue
		}
		err := s.opts.Engine.ResumeMarketing(r.Context(), alias)
		if errors.Is(err, engine.ErrNotPaused) {
			return 0, nil, &Error{Status: http.StatusConflict, Code: "not_paused", Message: "the number's marketing is not paused"}
		}
		if err != nil {
			return 0, nil, err
		}
		v, err := s.numberView(n)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, v, nil
	}
	return 0, nil, &Error{Status: http.StatusNotFound, Code: "not_found", Field: "alias", Message: fmt.Sprintf("alias: no number %q", alias)}
}

// checkOptOut refuses a marketing template to a contact who opted out, who had their
// share of marketing (frequency caps) or whom WhatsApp's per-user marketing limit
// refused within the last day.
func (s *Server) checkOptOut(num engine.Number, m *engine.Message) *Error {
	if m.Category != "marketing" {
		return nil
	}
	ct, err := s.opts.Engine.ContactOf(num.PhoneNumberID, phone.WaID(m.To))
	if err != nil {
		return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
	if ct.OptedOut {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "opted_out", Field: "to",
			Message: "to: the contact opted out of marketing messages; utility and authentication templates still go"}
	}
	block, err := s.opts.Engine.MarketingBlock(m.AccountID, num.PhoneNumberID, phone.WaID(m.To))
	if err != nil {
		return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
	}
	switch block {
	case engine.ClassFrequencyCapped:
		return &Error{Status: http.StatusUnprocessableEntity, Code: block, Field: "to",
			Message: "to: the contact had their share of marketing messages (engine.marketing_per_day, marketing_per_week); utility and authentication templates still go"}
	case engine.ClassMarketingUserLimit:
		return &Error{Status: http.StatusUnprocessableEntity, Code: block, Field: "to",
			Message: "to: WhatsApp refused marketing to this contact within the last day (131049, its per-user marketing limit); try after a day"}
	}
	return nil
}

func (s *Server) contactPhone(p httprouter.Params, c *caller) (string, *Error) {
	return normalizePhone("phone", p.ByName("phone"), c.account)
}

// normalizePhone reads the number in field as E.164, or answers 400 invalid_phone
// saying why when the reason is one the client can act on (letters, an extension).
func normalizePhone(field, raw string, acct Account) (string, *Error) {
	e164, err := phone.Normalize(raw, acct.DefaultRegion)
	if err == nil {
		return e164, nil
	}
	msg := fmt.Sprintf("%s: %q is not a valid phone number", field, raw)
	for _, reason := range []error{phone.ErrLetters, phone.ErrExtension, phone.ErrCharacter} {
		if errors.Is(err, reason) {
			msg += ": " + reason.Error()
		}
	}
	return "", &Error{Status: http.StatusBadRequest, Code: "invalid_phone", Field: field, Message: msg}
}

// getContact answers GET /v1/contacts/{phone}: per number, the service window, the
// free entry point, the last inbound message and the marketing opt-in state.
func (s *Server) getContact(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	e164, aerr := s.contactPhone(p, c)
	if aerr != nil {
		return 0, nil, aerr
	}
	now := s.clock.Now()
	var windows []map[string]any
	optedOut := false
	// A contact is the account's own: its windows and opt-outs on the account's numbers.
	for _, n := range s.accountNumbers(c) {
		ct, err := s.opts.Engine.ContactOf(n.PhoneNumberID, phone.WaID(e164))
		if err != nil {
			return 0, nil, err
		}
		w := map[string]any{"from": n.Alias, "window_open": ct.WindowOpen(now), "window_open_until": timeOrNil(ct.WindowUntil),
			"last_inbound": timeOrNil(ct.LastInbound), "free_entry_point_until": timeOrNil(ct.EntryUntil),
			"opted_out": ct.OptedOut, "opt_source": ct.OptSource, "opt_changed_at": timeOrNil(ct.OptChangedAt),
			"marketing_hold_until": timeOrNil(ct.MarketingHoldUntil)}
		if ct.Name != "" {
			w["name"] = ct.Name
		}
		optedOut = optedOut || ct.OptedOut
		windows = append(windows, w)
	}
	listIDs := []string{}
	if s.opts.Lists != nil {
		ids, err := s.opts.Lists.ListsOf(c.account.ID, e164)
		if err != nil {
			return 0, nil, err
		}
		listIDs = append(listIDs, ids...)
	}
	return http.StatusOK, map[string]any{"phone": e164, "wa_id": phone.WaID(e164), "opted_out": optedOut, "numbers": windows, "lists": listIDs}, nil
}

func (s *Server) optOut(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	return s.setOpt(r, p, c, true)
}

func (s *Server) optIn(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	return s.setOpt(r, p, c, false)
}

func (s *Server) setOpt(r *http.Request, p httprouter.Params, c *caller, out bool) (int, any, error) {
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	e164, aerr := s.contactPhone(p, c)
	if aerr != nil {
		return 0, nil, aerr
	}
	if err := s.opts.Engine.SetOptOut(r.Context(), c.account.ID, phone.WaID(e164), out, engine.OptSourceAPI); err != nil {
		return 0, nil, err
	}
	return s.getContact(r, p, c)
}
