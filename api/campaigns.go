package api

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"kirim/campaign"
	"kirim/campaign/schedule"
	"kirim/ledger"
)

// campaignRoutes serves campaigns.
func (s *Server) campaignRoutes() []route {
	return []route{
		{"POST", "/v1/campaigns", ScopeCampaigns, s.createCampaign},
		{"GET", "/v1/campaigns", ScopeCampaigns, s.listCampaigns},
		{"GET", "/v1/campaigns/:id", ScopeCampaigns, s.getCampaign},
		{"GET", "/v1/campaigns/:id/runs", ScopeCampaigns, s.campaignRuns},
		{"GET", "/v1/campaigns/:id/recipients", ScopeCampaigns, s.campaignRecipients},
		{"POST", "/v1/campaigns/:id/quote", ScopeCampaigns, s.quoteCampaign},
		{"POST", "/v1/campaigns/:id/launch", ScopeCampaigns, s.campaignVerb((*campaign.Service).Launch)},
		{"POST", "/v1/campaigns/:id/pause", ScopeCampaigns, s.campaignVerb((*campaign.Service).Pause)},
		{"POST", "/v1/campaigns/:id/resume", ScopeCampaigns, s.campaignVerb((*campaign.Service).Resume)},
		{"POST", "/v1/campaigns/:id/cancel", ScopeCampaigns, s.campaignVerb((*campaign.Service).Cancel)},
		{"POST", "/v1/campaigns/:id/retry", ScopeCampaigns, s.retryCampaign},
	}
}

func (s *Server) campaignService() (*campaign.Service, error) {
	if s.opts.Campaigns == nil {
		return nil, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "campaigns are not enabled"}
	}
	return s.opts.Campaigns, nil
}

type campaignRequest struct {
	Name     string                 `json:"name"`
	Template campaign.TemplateRef   `json:"template"`
	From     string                 `json:"from"`
	ListIDs  []string               `json:"list_ids"`
	Filters  []campaign.Filter      `json:"filters"`
	Header   string                 `json:"header"`
	Body     []string               `json:"body"`
	Buttons  []campaign.ButtonValue `json:"buttons"`
	Schedule *scheduleRequest       `json:"schedule"`
}

type scheduleRequest struct {
	At       string `json:"at"`
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
}

func (s *Server) createCampaign(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	svc, err := s.campaignService()
	if err != nil {
		return 0, nil, err
	}
	var req campaignRequest
	if aerr := decodeStrict(c.body, &req); aerr != nil {
		return 0, nil, aerr
	}
	cr := campaign.CreateRequest{Account: c.account.ID, Name: req.Name, Template: req.Template, From: req.From,
		ListIDs: req.ListIDs, Filters: req.Filters, Header: req.Header, Body: req.Body, Buttons: req.Buttons}
	if sr := req.Schedule; sr != nil {
		spec := &schedule.Spec{Cron: sr.Cron, Timezone: sr.Timezone}
		if sr.At != "" {
			at, err := time.Parse(time.RFC3339, sr.At)
			if err != nil {
				return 0, nil, invalid("schedule.at", "%q is not an RFC 3339 time", sr.At)
			}
			spec.At = at.UTC()
		}
		cr.Schedule = spec
	}
	return s.idempotent(r, c, func() (int, any, error) {
		cp, err := svc.Create(r.Context(), cr)
		if err != nil {
			return 0, nil, campaignError(err)
		}
		p, err := svc.Progress(c.account.ID, cp.ID)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, s.progressView(p), nil
	})
}

// campaignError maps the service's errors to the envelope.
func campaignError(err error) error {
	var ie *campaign.InvalidError
	switch {
	case errors.As(err, &ie):
		code, status := "invalid_field", http.StatusBadRequest
		if ie.Code != "" {
			code, status = ie.Code, http.StatusUnprocessableEntity
		}
		return &Error{Status: status, Code: code, Field: ie.Field, Message: ie.Error()}
	case errors.Is(err, campaign.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such campaign"}
	case errors.Is(err, campaign.ErrState):
		return &Error{Status: http.StatusConflict, Code: "invalid_state", Message: err.Error()}
	case errors.Is(err, campaign.ErrNumberNotOwned):
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Field: "from", Message: "from: " + errNumberNotOwned}
	case errors.Is(err, campaign.ErrInsufficient):
		return &Error{Status: http.StatusPaymentRequired, Code: "insufficient_balance", Message: err.Error()}
	}
	return err
}

// campaignView is a campaign as the API shows it, with its current run's progress.
type campaignView struct {
	ID        string                 `json:"id"`
	Name      string                 `json:"name"`
	State     string                 `json:"state"`
	Reason    string                 `json:"reason,omitempty"`
	Template  campaign.TemplateRef   `json:"template"`
	Category  string                 `json:"category"`
	From      string                 `json:"from"`
	ListIDs   []string               `json:"list_ids"`
	Filters   []campaign.Filter      `json:"filters,omitempty"`
	Header    string                 `json:"header,omitempty"`
	Body      []string               `json:"body,omitempty"`
	Buttons   []campaign.ButtonValue `json:"buttons,omitempty"`
	Schedule  any                    `json:"schedule,omitempty"`
	NextRun   any                    `json:"next_run"`
	Run       uint64                 `json:"run"`
	Progress  *progressView          `json:"progress,omitempty"`
	CreatedAt time.Time              `json:"created_at"`
	UpdatedAt time.Time              `json:"updated_at"`
}

type progressView struct {
	Run        uint64           `json:"run"`
	State      string           `json:"state"`
	Reason     string           `json:"reason,omitempty"`
	Resolved   bool             `json:"resolved"`
	Recipients int64            `json:"recipients"`
	Skipped    map[string]int64 `json:"skipped,omitempty"`
	Counts     map[string]int64 `json:"counts"`
	Quoted     Money            `json:"quoted"`
	Spend      Money            `json:"spend"`
	Rate       float64          `json:"rate_per_second"`
	ETA        any              `json:"eta"`
	// Unknown counts messages in flight at a crash whose outcome is not known yet;
	// UnknownSettleAt is when the last is settled by the unknown policy (null: none).
	Unknown         int64     `json:"unknown"`
	UnknownSettleAt any       `json:"unknown_settle_at"`
	StartedAt       time.Time `json:"started_at"`
	FinishedAt      any       `json:"finished_at"`
}

func (s *Server) progressView(p *campaign.Progress) campaignView {
	c := p.Campaign
	v := campaignView{ID: c.ID, Name: c.Name, State: c.State, Reason: c.Reason, Template: c.Template, Category: c.Category,
		From: c.From, ListIDs: c.ListIDs, Filters: c.Filters, Header: c.Header, Body: c.Body, Buttons: c.Buttons,
		NextRun: timeOrNil(p.NextRun), Run: c.Run, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if sp := c.Schedule; sp != nil {
		m := map[string]any{"description": sp.Describe()}
		if !sp.At.IsZero() {
			m["at"] = sp.At
		}
		if sp.Cron != "" {
			m["cron"], m["timezone"] = sp.Cron, sp.Timezone
		}
		v.Schedule = m
	}
	if run := p.Run; run != nil {
		acct := s.account(c.Account)
		cur, locale := run.Currency, acct.Locale
		if cur == "" {
			cur = acct.Currency
		}
		v.Progress = &progressView{Run: run.Seq, State: run.State, Reason: run.Reason, Resolved: run.Resolved,
			Recipients: run.Total, Skipped: run.Skipped, Counts: run.Counts, Quoted: NewMoneyIn(run.Quoted, cur, locale),
			Spend: NewMoneyIn(run.Spend, cur, locale), Rate: p.Rate, ETA: timeOrNil(p.ETA), Unknown: p.Unknown,
			UnknownSettleAt: timeOrNil(p.UnknownSettleAt), StartedAt: run.StartedAt, FinishedAt: timeOrNil(run.FinishedAt)}
	}
	return v
}

func (s *Server) getCampaign(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	svc, err := s.campaignService()
	if err != nil {
		return 0, nil, err
	}
	pr, err := svc.Progress(c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, campaignError(err)
	}
	return http.StatusOK, s.progressView(pr), nil
}

func (s *Server) listCampaigns(r *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	svc, err := s.campaignService()
	if err != nil {
		return 0, nil, err
	}
	limit, aerr := pageLimit(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	cursor, aerr := queryCursor(r, idCursor("cmp"))
	if aerr != nil {
		return 0, nil, aerr
	}
	cs, next, err := svc.List(c.account.ID, cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	out := make([]campaignView, 0, len(cs))
	for _, cp := range cs {
		pr, err := svc.Progress(c.account.ID, cp.ID)
		if err != nil {
			return 0, nil, err
		}
		out = append(out, s.progressView(pr))
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}

func (s *Server) campaignRuns(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	svc, err := s.campaignService()
	if err != nil {
		return 0, nil, err
	}
	runs, err := svc.Runs(c.account.ID, p.ByName("id"), 100)
	if err != nil {
		return 0, nil, campaignError(err)
	}
	if runs == nil {
		runs = []*campaign.Run{}
	}
	return http.StatusOK, map[string]any{"data": runs}, nil
}

// quoteView is a quote as the API shows it.
type quoteView struct {
	Recipients     int64            `json:"recipients"`
	Skipped        map[string]int64 `json:"skipped"`
	Cost           Money            `json:"cost"`
	Bands          []bandView       `json:"bands"`
	Free           int64            `json:"free"`
	Credits        map[string]int64 `json:"credits,omitempty"`
	Available      Money            `json:"available"`
	BalanceAfter   Money            `json:"balance_after"`
	ETA            time.Time        `json:"eta"`
	TierDays       int              `json:"tier_days"`
	MessagingLimit any              `json:"messaging_limit"`
	Used24h        int              `json:"used_24h"`
	ThroughputMPS  int              `json:"throughput_mps"`
	Forecast       any              `json:"forecast"`
	At             time.Time        `json:"at"`
}

type bandView struct {
	Band      int   `json:"band"`
	Count     int64 `json:"count"`
	UnitPrice Money `json:"unit_price"`
	Amount    Money `json:"amount"`
}

func (s *Server) quoteCampaign(_ *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	svc, err := s.campaignService()
	if err != nil {
		return 0, nil, err
	}
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	q, err := svc.Quote(c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, campaignError(err)
	}
	cur := q.Currency
	if cur == "" {
		cur = c.account.Currency
	}
	v := quoteView{Recipients: q.Recipients, Skipped: q.Skipped, Cost: c.money(q.Cost, cur), Free: q.Free, Credits: q.Credits,
		Available: c.money(q.Available, cur), BalanceAfter: c.money(q.BalanceAfter, cur), ETA: q.ETA, TierDays: q.TierDays,
		MessagingLimit: limitView(q.MessagingLimit), Used24h: q.UsedNow, ThroughputMPS: q.ThroughputMPS, Forecast: q.Forecast, At: q.At,
		Bands: []bandView{}}
	for _, b := range q.Bands {
		v.Bands = append(v.Bands, bandView{Band: b.Band, Count: b.Count, UnitPrice: c.money(b.UnitPrice, cur), Amount: c.money(b.Amount, cur)})
	}
	return http.StatusOK, v, nil
}

// campaignVerb serves a state change (launch, pause, resume, cancel) and answers the
// campaign as it then is.
func (s *Server) campaignVerb(verb func(*campaign.Service, context.Context, string, string) (*campaign.Campaign, error)) handler {
	return func(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
		svc, err := s.campaignService()
		if err != nil {
			return 0, nil, err
		}
		if aerr := noBody(c.body); aerr != nil {
			return 0, nil, aerr
		}
		id := p.ByName("id")
		if _, err := verb(svc, r.Context(), c.account.ID, id); err != nil {
			return 0, nil, campaignError(err)
		}
		pr, err := svc.Progress(c.account.ID, id)
		if err != nil {
			return 0, nil, campaignError(err)
		}
		return http.StatusOK, s.progressView(pr), nil
	}
}

func (s *Server) retryCampaign(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	svc, err := s.campaignService()
	if err != nil {
		return 0, nil, err
	}
	if aerr := noBody(c.body); aerr != nil {
		return 0, nil, aerr
	}
	res, err := svc.Retry(r.Context(), c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, campaignError(err)
	}
	pr, err := svc.Progress(c.account.ID, p.ByName("id"))
	if err != nil {
		return 0, nil, campaignError(err)
	}
	out := map[string]any{"requeued": res.Requeued, "campaign": s.progressView(pr)}
	if res.Unconfirmed > 0 {
		// Failed by the unknown policy: in flight at a crash, never confirmed.
		out["unconfirmed"] = res.Unconfirmed
		out["warning"] = fmt.Sprintf("%d of the requeued messages were in flight at a crash and never confirmed: "+
			"the provider may have received some, and their recipients may get them twice", res.Unconfirmed)
	}
	return http.StatusOK, out, nil
}

// recipientView is one recipient row.
type recipientView struct {
	Phone     string `json:"phone"`
	Name      string `json:"name,omitempty"`
	Status    string `json:"status"`
	MessageID string `json:"message_id,omitempty"`
	Error     any    `json:"error,omitempty"`
	Charged   Money  `json:"charged"`
}

// campaignRecipients lists a run's recipients with their status: JSON pages, or the
// whole run as CSV with Accept: text/csv.
func (s *Server) campaignRecipients(r *http.Request, p httprouter.Params, c *caller) (int, any, error) {
	svc, err := s.campaignService()
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	after, aerr := parsePhoneCursor(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	f := campaign.RecipientFilter{Status: q.Get("status"), After: after}
	if v := q.Get("run"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return 0, nil, invalid("run", "must be a run number")
		}
		f.Run = n
	}
	id := p.ByName("id")
	cur := c.account.Currency
	if wantsCSV(r) {
		if _, err := svc.Get(c.account.ID, id); err != nil {
			return 0, nil, campaignError(err)
		}
		return http.StatusOK, streamResponse{contentType: "text/csv; charset=utf-8", filename: id + "-recipients.csv",
			write: func(w io.Writer) error {
				cw := csv.NewWriter(w)
				if err := cw.Write([]string{"phone", "name", "status", "message_id", "error_code", "error_title", "charged"}); err != nil {
					return err
				}
				_, err := svc.Recipients(c.account.ID, id, f, func(row *campaign.Row) error {
					code, title := "", ""
					if row.Error != nil {
						code, title = strconv.Itoa(row.Error.Code), row.Error.Title
					}
					return cw.Write([]string{row.Phone, row.Name, row.Status, row.MessageID, code, title, ledger.FormatMicros(row.Charged)})
				})
				if err != nil {
					return err
				}
				cw.Flush()
				return cw.Error()
			}}, nil
	}
	limit, aerr := pageLimit(r)
	if aerr != nil {
		return 0, nil, aerr
	}
	f.Limit = limit
	out := []recipientView{}
	next, err := svc.Recipients(c.account.ID, id, f, func(row *campaign.Row) error {
		v := recipientView{Phone: row.Phone, Name: row.Name, Status: row.Status, MessageID: row.MessageID, Charged: c.money(row.Charged, cur)}
		if row.Error != nil {
			v.Error = map[string]any{"code": row.Error.Code, "title": row.Error.Title}
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return 0, nil, campaignError(err)
	}
	if next != "" {
		next = phoneCursor(next)
	}
	return http.StatusOK, map[string]any{"data": out, "next_cursor": next}, nil
}
