package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Class says what a caller should do about a provider error. It is decided by the
// error code (never the HTTP status or the title), per Meta's error table.
type Class int

const (
	// RetryLater: transient (unknown error, service unavailable, maintenance); retry with
	// exponential backoff and spend the retry budget.
	RetryLater Class = iota
	// Throttled: a rate limit (throughput, pair rate, API-call rate); wait and retry
	// without spending the retry budget.
	Throttled
	// RetryAfter24h: the per-user marketing limit; retrying sooner can block the user.
	RetryAfter24h
	// FixRequest: the request is wrong (parameters, template, media); retrying the same
	// request cannot succeed.
	FixRequest
	// Fatal: the message cannot be delivered (not on WhatsApp, opted out, outside the
	// window); fail it and move on.
	Fatal
	// StopAndAlert: the account or token is in trouble (auth, spam limit, policy block,
	// billing); stop sending and tell an operator.
	StopAndAlert
)

var classNames = [...]string{"retry_later", "throttled", "retry_after_24h", "fix_request", "fatal", "stop_and_alert"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Well-known error codes Kirim branches on.
const (
	CodeThroughput           = 130429
	CodePairRate             = 131056
	CodeSpamRate             = 131048
	CodeMarketingUserLimit   = 131049
	CodeUserStoppedMarketing = 131050
	CodeReEngagement         = 131047
	CodeUndeliverable        = 131026
	CodeUnsupportedType      = 131051
	CodeGeneric              = 131000
	CodeServiceUnavailable   = 131016
	CodeParamCount           = 132000
	CodeTemplateMissing      = 132001
	CodeTemplateParamFormat  = 132012
	CodeTemplatePaused       = 132015
	CodeTemplateDisabled     = 132016
	CodeInvalidParameter     = 100
	CodeMaintenance          = 131057
	CodeAPIRate              = 4
	CodeWABARate             = 80007
	CodeAuth                 = 190
)

// Classify maps an error code to what the caller should do about it.
func Classify(code int) Class {
	switch {
	case code == CodeThroughput, code == CodePairRate, code == CodeAPIRate, code == CodeWABARate:
		return Throttled
	case code == CodeMarketingUserLimit:
		return RetryAfter24h
	case code == CodeGeneric, code == CodeServiceUnavailable, code == 1, code == 2,
		code == 133004, code == CodeMaintenance:
		return RetryLater
	case code == 0, code == 3, code == 10, code == CodeAuth, code >= 200 && code <= 299,
		code == CodeSpamRate, code == 131031, code == 368, code == 131042, code == 131045:
		return StopAndAlert
	case code == CodeUserStoppedMarketing, code == CodeReEngagement, code == CodeUndeliverable,
		code == 130472, code == 131021, code == 131030, code == 130497, code == 133010,
		code == 131064, code == CodeTemplatePaused, code == CodeTemplateDisabled:
		return Fatal
	case code == CodeInvalidParameter, code == 131008, code == 131009, code == 33, code == 135000,
		code == CodeUnsupportedType, code == 131052, code == 131053,
		code >= 132000 && code <= 132099:
		return FixRequest
	}
	return FixRequest
}

// Error is an error answered by the Cloud API (or a BSP speaking its format).
type Error struct {
	HTTPStatus  int
	Code        int
	Subcode     int
	Type        string
	Title       string // Meta's message, e.g. "(#131047) Re-engagement message"
	Details     string // error_data.details
	FBTraceID   string
	IsTransient bool
	UserTitle   string
	UserMessage string
	// Enveloped is true when the answer was Meta's error envelope: the API itself
	// refused the request. A bare 5xx from a proxy or load balancer is not enveloped,
	// and the request may still have gone through.
	Enveloped bool
}

func (e *Error) Error() string {
	s := fmt.Sprintf("provider: error %d", e.Code)
	if e.Title != "" {
		s += ": " + e.Title
	}
	if e.Details != "" {
		s += " (" + e.Details + ")"
	}
	return s
}

// Class is what a caller should do about the error. An explicit is_transient flag on an
// otherwise non-retryable code is honoured as RetryLater.
func (e *Error) Class() Class {
	c := Classify(e.Code)
	if e.IsTransient && (c == FixRequest) {
		return RetryLater
	}
	return c
}

// Codes ParseError gives an answer that is not Meta's error envelope (a proxy's HTML
// page, an empty body), chosen from the HTTP status because nothing else is known.
const (
	// CodeNoEnvelope marks a non-envelope answer whose status says nothing useful; it
	// classifies as FixRequest.
	CodeNoEnvelope = -1
)

// maxRawErrorTitle caps how much of a non-envelope answer is kept as the title.
const maxRawErrorTitle = 200

// ParseError decodes a Graph API error response body. It never panics. A body that is
// not the error envelope keeps (the start of) its text as the title and gets a code
// from the HTTP status: 5xx (or no status) -> CodeGeneric, transient (RetryLater);
// 429 -> CodeAPIRate (Throttled); 401 -> CodeAuth (StopAndAlert); anything else ->
// CodeNoEnvelope (FixRequest).
func ParseError(status int, body []byte) *Error {
	var eb ErrorBody
	if err := json.Unmarshal(body, &eb); err == nil && (eb.Error.Code != 0 || eb.Error.Message != "") {
		e := &Error{
			HTTPStatus:  status,
			Code:        eb.Error.Code,
			Subcode:     eb.Error.ErrorSubcode,
			Type:        eb.Error.Type,
			Title:       eb.Error.Message,
			FBTraceID:   eb.Error.FBTraceID,
			UserTitle:   eb.Error.ErrorUserTitle,
			UserMessage: eb.Error.ErrorUserMsg,
			Enveloped:   true,
		}
		if eb.Error.ErrorData != nil {
			e.Details = eb.Error.ErrorData.Details
		}
		if eb.Error.IsTransient != nil {
			e.IsTransient = *eb.Error.IsTransient
		}
		return e
	}
	text := string(body)
	if len(text) > maxRawErrorTitle {
		text = text[:maxRawErrorTitle]
	}
	e := &Error{HTTPStatus: status, Title: strings.ToValidUTF8(strings.TrimSpace(text), "")}
	switch {
	case status >= 500 || status == 0:
		e.Code = CodeGeneric
		e.IsTransient = true
	case status == http.StatusTooManyRequests:
		e.Code = CodeAPIRate
		e.IsTransient = true
	case status == http.StatusUnauthorized:
		e.Code = CodeAuth
	default:
		e.Code = CodeNoEnvelope
	}
	return e
}

// AsError returns the provider error inside err, if any.
func AsError(err error) (*Error, bool) {
	var pe *Error
	if errors.As(err, &pe) {
		return pe, true
	}
	return nil, false
}

// NewErrorBody builds Meta's error JSON for code, as the sandbox answers it.
func NewErrorBody(code int, title, details, traceID string) ErrorBody {
	return ErrorBody{Error: ErrorObject{
		Message:   fmt.Sprintf("(#%d) %s", code, title),
		Type:      "OAuthException",
		Code:      code,
		ErrorData: &ErrorData{MessagingProduct: "whatsapp", Details: details},
		FBTraceID: traceID,
	}}
}
