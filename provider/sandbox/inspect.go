package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kirim/provider"
)

// routes builds the handler. Graph API paths and /_sandbox/ live on two muxes: one
// mux would see "/_sandbox/numbers/{id}" and "/{version}/{id}/messages" as conflicting
// patterns.
func (s *Sandbox) routes() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /{version}/{id}/messages", s.handleSend)
	api.HandleFunc("POST /{version}/{id}/message_templates", s.handleCreateTemplate)
	api.HandleFunc("GET /{version}/{id}/message_templates", s.handleListTemplates)
	api.HandleFunc("DELETE /{version}/{id}/message_templates", s.handleDeleteTemplate)
	api.HandleFunc("POST /{version}/{id}/media", s.handleUpload)
	api.HandleFunc("GET /{version}/{id}", s.handleGetObject)
	api.HandleFunc("DELETE /{version}/{id}", s.handleDeleteObject)
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "unsupported request: "+r.Method+" "+quoteShort(r.URL.Path)))
	})

	sb := http.NewServeMux()
	sb.HandleFunc("GET /_sandbox/messages", s.handleMessages)
	sb.HandleFunc("GET /_sandbox/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Stats()) })
	sb.HandleFunc("GET /_sandbox/recipients/{wa_id}", s.handleRecipient)
	sb.HandleFunc("GET /_sandbox/callbacks/{data...}", s.handleCallback)
	sb.HandleFunc("POST /_sandbox/inbound", s.handleInbound)
	sb.HandleFunc("POST /_sandbox/preferences", s.handlePreferences)
	sb.HandleFunc("POST /_sandbox/unreachable", s.handleUnreachable)
	sb.HandleFunc("POST /_sandbox/numbers/{id}", s.handleUpdateNumber)
	sb.HandleFunc("GET /_sandbox/templates", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Templates()) })
	sb.HandleFunc("POST /_sandbox/templates/{name}/{language}", s.handleUpdateTemplate)
	sb.HandleFunc("GET /_sandbox/webhooks", s.handleWebhooks)
	sb.HandleFunc("GET /_sandbox/chaos", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Chaos()) })
	sb.HandleFunc("PUT /_sandbox/chaos", s.handlePutChaos)
	sb.HandleFunc("POST /_sandbox/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
	sb.HandleFunc("POST /_sandbox/clock/advance", s.handleAdvance)
	sb.HandleFunc("POST /_sandbox/tiers/simulate", func(w http.ResponseWriter, r *http.Request) {
		s.SimulateTiers()
		writeJSON(w, http.StatusOK, map[string]bool{"simulating": true})
	})
	sb.HandleFunc("GET /_sandbox/media/{id}", s.handleMediaDownload)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sandbox/") {
			sb.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// decodeJSON reads a JSON request body into v, answering 400 on failure.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// answerErr maps a driving-API error to its HTTP status.
func answerErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errNotFound):
		writeProblem(w, http.StatusNotFound, err.Error())
	case errors.Is(err, errRealClock):
		writeProblem(w, http.StatusConflict, err.Error())
	default:
		writeProblem(w, http.StatusBadRequest, err.Error())
	}
}

func (s *Sandbox) handleMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := ReceivedFilter{To: q.Get("to"), CallbackData: q.Get("callback_data")}
	if !parsePaging(w, q.Get("limit"), q.Get("after"), &f) {
		return
	}
	s.writeReceived(w, f)
}

func parsePaging(w http.ResponseWriter, limit, after string, f *ReceivedFilter) bool {
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n <= 0 {
			writeProblem(w, http.StatusBadRequest, "limit must be a positive integer")
			return false
		}
		f.Limit = n
	}
	if after != "" {
		n, err := strconv.ParseUint(after, 10, 64)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "after must be a record id")
			return false
		}
		f.After = n
	}
	return true
}

// receivedPage is the answer of the message listings.
type receivedPage struct {
	Data []Received `json:"data"`
	// After is the cursor of the next page, when there may be one.
	After uint64 `json:"after,omitempty"`
}

func (s *Sandbox) writeReceived(w http.ResponseWriter, f ReceivedFilter) {
	data := s.Received(f)
	page := receivedPage{Data: data}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultPageLimit
	}
	if len(data) == min(limit, maxPageLimit) && len(data) > 0 {
		page.After = data[len(data)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Sandbox) handleRecipient(w http.ResponseWriter, r *http.Request) {
	f := ReceivedFilter{To: r.PathValue("wa_id")}
	if _, ok := parseWaID(f.To); !ok {
		writeProblem(w, http.StatusBadRequest, "wa_id is not a phone number")
		return
	}
	if !parsePaging(w, r.URL.Query().Get("limit"), r.URL.Query().Get("after"), &f) {
		return
	}
	s.writeReceived(w, f)
}

func (s *Sandbox) handleCallback(w http.ResponseWriter, r *http.Request) {
	f := ReceivedFilter{CallbackData: r.PathValue("data")}
	if !parsePaging(w, r.URL.Query().Get("limit"), r.URL.Query().Get("after"), &f) {
		return
	}
	s.writeReceived(w, f)
}

func metadata(n *number) provider.Metadata {
	return provider.Metadata{DisplayPhoneNumber: n.display, PhoneNumberID: n.id}
}

// SetPreference records a customer's marketing choice ("stop" or "resume") and posts
// a user_preferences webhook. After "stop", marketing templates get 131050.
func (s *Sandbox) SetPreference(waID, value string) error {
	st := s.st.Load()
	wa, ok := parseWaID(waID)
	if !ok {
		return fmt.Errorf("sandbox: preference: wa_id %q: %w", waID, errInvalid)
	}
	detail := ""
	switch value {
	case "stop":
		detail = "User requested to stop marketing messages"
	case "resume":
		detail = "User requested to resume marketing messages"
	default:
		return fmt.Errorf("sandbox: preference: value %q (want stop or resume): %w", value, errInvalid)
	}
	s.setFlag(st, wa, flagStopped, value == "stop")
	num := st.numbers[0]
	v := provider.MessagesValue{MessagingProduct: "whatsapp", Metadata: metadata(num),
		UserPreferences: []provider.UserPreference{{WaID: waString(wa), Detail: detail, Category: "marketing_messages",
			Value: value, Timestamp: provider.FlexInt(s.clk.Now().Unix())}}}
	c := provider.InboundContact{WaID: waString(wa)}
	v.Contacts = []provider.InboundContact{c}
	s.postValue(num, provider.FieldUserPreferences, v)
	return nil
}

func (s *Sandbox) setFlag(st *state, wa uint64, flag uint8, on bool) {
	sh := st.shard(wa)
	sh.mu.Lock()
	f := sh.flags[wa]
	if on {
		f |= flag
	} else {
		f &^= flag
	}
	if f == 0 {
		delete(sh.flags, wa)
	} else {
		sh.flags[wa] = f
	}
	sh.mu.Unlock()
}

func (s *Sandbox) handlePreferences(w http.ResponseWriter, r *http.Request) {
	var in struct {
		WaID  string `json:"wa_id"`
		Value string `json:"value"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if err := s.SetPreference(in.WaID, in.Value); err != nil {
		answerErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// SetUnreachable marks a recipient as not on WhatsApp (sends get 131026), or undoes it.
func (s *Sandbox) SetUnreachable(waID string, unreachable bool) error {
	wa, ok := parseWaID(waID)
	if !ok {
		return fmt.Errorf("sandbox: unreachable: wa_id %q: %w", waID, errInvalid)
	}
	s.setFlag(s.st.Load(), wa, flagUnreachable, unreachable)
	return nil
}

func (s *Sandbox) handleUnreachable(w http.ResponseWriter, r *http.Request) {
	var in struct {
		WaID        string `json:"wa_id"`
		Unreachable *bool  `json:"unreachable,omitempty"` // default true
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	on := in.Unreachable == nil || *in.Unreachable
	if err := s.SetUnreachable(in.WaID, on); err != nil {
		answerErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// NumberUpdate changes a number (or, under 2025 rules, the portfolio's limit); nil or
// empty fields stay.
type NumberUpdate struct {
	Quality        string  `json:"quality,omitempty"`
	Status         string  `json:"status,omitempty"`
	MessagingLimit *int    `json:"messaging_limit,omitempty"` // -1 unlimited
	Throughput     *int    `json:"throughput,omitempty"`
	Restriction    *string `json:"restriction,omitempty"` // RESTRICTED_BIZ_INITIATED_MESSAGING, or "" to lift
}

// UpdateNumber applies u to the number id and posts the webhooks Meta would:
// phone_number_quality_update (2025: ONBOARDING for a limit change, THROUGHPUT_UPGRADE
// when throughput reaches 1,000; legacy: FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE),
// business_capability_update for a 2025 limit change, account_update for a restriction.
func (s *Sandbox) UpdateNumber(id string, u NumberUpdate) error {
	st := s.st.Load()
	num := st.numberByID(id)
	if num == nil {
		return fmt.Errorf("sandbox: update number %s: %w", id, errNotFound)
	}
	u.Quality, u.Status = upper(u.Quality), upper(u.Status)
	switch u.Quality {
	case "", "GREEN", "YELLOW", "RED", "UNKNOWN", "NA":
	default:
		return fmt.Errorf("sandbox: update number %s: quality %q: %w", id, u.Quality, errInvalid)
	}
	if u.MessagingLimit != nil && *u.MessagingLimit < -1 {
		return fmt.Errorf("sandbox: update number %s: messaging_limit %d: %w", id, *u.MessagingLimit, errInvalid)
	}
	if u.Throughput != nil && *u.Throughput <= 0 {
		return fmt.Errorf("sandbox: update number %s: throughput %d: %w", id, *u.Throughput, errInvalid)
	}
	legacy := s.opts.Rules == RulesLegacy
	num.mu.Lock()
	oldStatus, oldThroughput, oldLimit := num.status, num.throughput, num.limit
	if u.Quality != "" {
		num.quality = u.Quality
	}
	if u.Status != "" {
		num.status = u.Status
	}
	if u.Throughput != nil {
		num.throughput = *u.Throughput
	}
	if u.MessagingLimit != nil && legacy {
		num.limit = *u.MessagingLimit
	}
	if u.Restriction != nil {
		num.restriction = upper(*u.Restriction)
		if num.restriction == "NONE" {
			num.restriction = ""
		}
	}
	num.mu.Unlock()

	portfolioLimit := 0
	if u.MessagingLimit != nil && !legacy {
		st.portfolio.mu.Lock()
		oldLimit = st.portfolio.limit
		st.portfolio.limit = *u.MessagingLimit
		st.portfolio.mu.Unlock()
	}
	st.portfolio.mu.Lock()
	portfolioLimit = st.portfolio.limit
	st.portfolio.mu.Unlock()

	if legacy {
		if u.MessagingLimit != nil && *u.MessagingLimit != oldLimit {
			event := "DOWNGRADE"
			if limitAbove(*u.MessagingLimit, oldLimit) {
				event = "UPGRADE"
			}
			s.postValue(num, provider.FieldPhoneNumberQualityUpdate, provider.PhoneNumberQualityUpdate{
				DisplayPhoneNumber: num.display, Event: event, OldLimit: tierName(oldLimit), CurrentLimit: tierName(*u.MessagingLimit)})
		}
		if u.Status == "FLAGGED" && oldStatus != "FLAGGED" {
			s.postValue(num, provider.FieldPhoneNumberQualityUpdate, provider.PhoneNumberQualityUpdate{
				DisplayPhoneNumber: num.display, Event: "FLAGGED", CurrentLimit: tierName(num.limitNow())})
		}
		if u.Status != "" && u.Status != "FLAGGED" && oldStatus == "FLAGGED" {
			s.postValue(num, provider.FieldPhoneNumberQualityUpdate, provider.PhoneNumberQualityUpdate{
				DisplayPhoneNumber: num.display, Event: "UNFLAGGED", CurrentLimit: tierName(num.limitNow())})
		}
	} else {
		if u.MessagingLimit != nil && *u.MessagingLimit != oldLimit {
			s.postValue(num, provider.FieldBusinessCapabilityUpdate, provider.BusinessCapabilityUpdate{
				MaxDailyConversationsPerBusiness: provider.FlexInt(*u.MessagingLimit)})
			s.postValue(num, provider.FieldPhoneNumberQualityUpdate, provider.PhoneNumberQualityUpdate{
				DisplayPhoneNumber: num.display, Event: "ONBOARDING",
				MaxDailyConversationsPerBusiness: provider.FlexString(tierName(*u.MessagingLimit))})
		}
		if u.Throughput != nil && *u.Throughput >= 1000 && oldThroughput < 1000 {
			s.postValue(num, provider.FieldPhoneNumberQualityUpdate, provider.PhoneNumberQualityUpdate{
				DisplayPhoneNumber: num.display, Event: "THROUGHPUT_UPGRADE",
				MaxDailyConversationsPerBusiness: provider.FlexString(tierName(portfolioLimit))})
		}
	}
	if u.Restriction != nil && upper(*u.Restriction) != "" && upper(*u.Restriction) != "NONE" {
		s.postValue(num, provider.FieldAccountUpdate, provider.AccountUpdate{
			PhoneNumber: num.display, Event: "ACCOUNT_RESTRICTION",
			RestrictionInfo: []provider.RestrictionInfo{{RestrictionType: upper(*u.Restriction),
				Expiration: provider.FlexInt(s.clk.Now().Add(24 * time.Hour).Unix())}},
		})
	}
	return nil
}

// limitAbove reports whether limit a is higher than b (-1 is unlimited).
func limitAbove(a, b int) bool {
	switch {
	case a < 0:
		return b >= 0
	case b < 0:
		return false
	}
	return a > b
}

func (n *number) limitNow() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.limit
}

func (s *Sandbox) handleUpdateNumber(w http.ResponseWriter, r *http.Request) {
	var u NumberUpdate
	if !decodeJSON(w, r, &u) {
		return
	}
	if err := s.UpdateNumber(r.PathValue("id"), u); err != nil {
		answerErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.phoneInfo(s.st.Load(), s.st.Load().numberByID(r.PathValue("id"))))
}

func (s *Sandbox) handleUpdateTemplate(w http.ResponseWriter, r *http.Request) {
	var u TemplateUpdate
	if !decodeJSON(w, r, &u) {
		return
	}
	if err := s.UpdateTemplate(r.PathValue("name"), r.PathValue("language"), u); err != nil {
		answerErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// Webhooks returns the last n webhook bodies the sandbox produced, oldest first.
func (s *Sandbox) Webhooks(n int) []KeptWebhook { return s.out.keptBodies(n) }

func (s *Sandbox) handleWebhooks(w http.ResponseWriter, r *http.Request) {
	n := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k <= 0 {
			writeProblem(w, http.StatusBadRequest, "limit must be a positive integer")
			return
		}
		n = k
	}
	writeJSON(w, http.StatusOK, s.Webhooks(n))
}

func (s *Sandbox) handlePutChaos(w http.ResponseWriter, r *http.Request) {
	var c Chaos
	if err := json.NewDecoder(io.LimitReader(r.Body, maxAPIBody)).Decode(&c); err != nil {
		writeProblem(w, http.StatusBadRequest, "invalid chaos: "+err.Error())
		return
	}
	s.SetChaos(c)
	writeJSON(w, http.StatusOK, s.Chaos())
}

func (s *Sandbox) handleAdvance(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Seconds float64 `json:"seconds"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if in.Seconds < 0 || in.Seconds > 400*24*3600 {
		writeProblem(w, http.StatusBadRequest, "seconds must be between 0 and 34560000")
		return
	}
	if err := s.Advance(time.Duration(in.Seconds * float64(time.Second))); err != nil {
		answerErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"now": s.clk.Now().UTC().Format(time.RFC3339Nano)})
}

// phoneInfo renders a number as GET /{phone_number_id} answers it.
func (s *Sandbox) phoneInfo(st *state, n *number) provider.PhoneNumberInfo {
	n.mu.Lock()
	info := provider.PhoneNumberInfo{
		ID: n.id, DisplayPhoneNumber: n.display, VerifiedName: "Kirim Sandbox", Status: n.status,
		QualityRating: n.quality, NameStatus: "APPROVED", Throughput: &provider.Throughput{Level: "STANDARD"},
	}
	if n.throughput >= 1000 {
		info.Throughput.Level = "HIGH"
	}
	limit := n.limit
	n.mu.Unlock()
	if s.opts.Rules != RulesLegacy {
		st.portfolio.mu.Lock()
		limit = st.portfolio.limit
		st.portfolio.mu.Unlock()
	}
	info.MessagingLimit = tierName(limit)
	info.MessagingLimitTier = info.MessagingLimit
	return info
}

// LimitUsage reports unique business-initiated recipients counted now: per portfolio
// under 2025 rules, or for the number id under legacy rules.
func (s *Sandbox) LimitUsage(phoneNumberID string) (used, limit int) {
	st := s.st.Load()
	now := s.now()
	if s.opts.Rules == RulesLegacy {
		n := st.numberByID(phoneNumberID)
		if n == nil {
			return 0, 0
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		return n.limiter.used(now), n.limit
	}
	p := st.portfolio
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limiter.used(now), p.limit
}

func (s *Sandbox) handleGetObject(w http.ResponseWriter, r *http.Request) {
	if e := s.checkAuth(r); e != nil {
		s.writeAPIError(w, e)
		return
	}
	st := s.st.Load()
	id := r.PathValue("id")
	if n := st.numberByID(id); n != nil {
		writeJSON(w, http.StatusOK, s.phoneInfo(st, n))
		return
	}
	if st.wabaKnown(id) {
		limit := st.numbers[0].limitNow()
		if s.opts.Rules != RulesLegacy {
			st.portfolio.mu.Lock()
			limit = st.portfolio.limit
			st.portfolio.mu.Unlock()
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": id, "name": "Kirim Sandbox",
			"whatsapp_business_manager_messaging_limit": tierName(limit)})
		return
	}
	if m, ok := st.media.get(id); ok {
		writeJSON(w, http.StatusOK, m.info(requestBase(r)))
		return
	}
	if t, ok := st.templates.byID(id); ok {
		writeJSON(w, http.StatusOK, t)
		return
	}
	s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "object "+quoteShort(id)+" does not exist"))
}

func (s *Sandbox) handleDeleteObject(w http.ResponseWriter, r *http.Request) {
	if e := s.checkAuth(r); e != nil {
		s.writeAPIError(w, e)
		return
	}
	if !s.removeMedia(s.st.Load(), r.PathValue("id")) {
		s.writeAPIError(w, refuse(provider.CodeInvalidParameter, "object "+quoteShort(r.PathValue("id"))+" does not exist"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}
