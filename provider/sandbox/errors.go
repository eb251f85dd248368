package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"

	"kirim/provider"
)

// apiError is a refusal answered in Meta's error envelope.
type apiError struct {
	code    int
	details string
}

func refuse(code int, details string) *apiError { return &apiError{code: code, details: details} }

// Error codes the sandbox answers beyond those named in package provider.
const (
	codeParamValue       = 131009
	codeAccountLocked    = 131031
	codeMediaUpload      = 131053
	codeRecipientUnknown = provider.CodeUndeliverable
)

// errorTitles are Meta's titles for the codes the sandbox answers.
var errorTitles = map[int]string{
	provider.CodeInvalidParameter:     "Invalid parameter",
	provider.CodeAuth:                 "Invalid OAuth access token - Cannot parse access token",
	provider.CodeThroughput:           "Rate limit hit",
	provider.CodeGeneric:              "Something went wrong",
	provider.CodeServiceUnavailable:   "Service unavailable",
	codeParamValue:                    "Parameter value is not valid",
	provider.CodeUnsupportedType:      "Message type unknown",
	provider.CodeUndeliverable:        "Message undeliverable",
	provider.CodeParamCount:           "Number of parameters does not match the expected number of params",
	provider.CodeTemplateMissing:      "Template name does not exist in the translation",
	provider.CodeTemplateParamFormat:  "Parameter format does not match format in the created template",
	provider.CodeTemplatePaused:       "Template is Paused",
	provider.CodeTemplateDisabled:     "Template is Disabled",
	provider.CodeReEngagement:         "Re-engagement message",
	provider.CodeUserStoppedMarketing: "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business",
	provider.CodePairRate:             "(Business Account, Consumer Account) pair rate limit hit",
	provider.CodeSpamRate:             "Spam rate limit hit",
	provider.CodeMarketingUserLimit:   "This message was not delivered to maintain healthy ecosystem engagement",
	provider.CodeMaintenance:          "Account in maintenance mode",
	codeAccountLocked:                 "Access denied",
	codeMediaUpload:                   "Media upload error",
}

func errorTitle(code int) string {
	if t, ok := errorTitles[code]; ok {
		return t
	}
	return "Error " + strconv.Itoa(code)
}

// errorHTTPStatus is 401 for auth failures and 400 for everything else: Meta answers
// throughput errors with 400, not 429.
func errorHTTPStatus(code int) int {
	if code == provider.CodeAuth {
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// writeAPIError answers e in Meta's envelope.
func (s *Sandbox) writeAPIError(w http.ResponseWriter, e *apiError) {
	body := provider.NewErrorBody(e.code, errorTitle(e.code), e.details, s.traceID())
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.WriteHeader(errorHTTPStatus(e.code))
	_, _ = w.Write(b)
}

// traceID imitates fbtrace_id: an opaque token per answer.
func (s *Sandbox) traceID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	v := s.rng.uint64()
	var b [11]byte
	for i := range b {
		b[i] = alphabet[v&63]
		v >>= 6
	}
	return string(b[:])
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeProblem answers an inspection-API error as {"error": message}.
func writeProblem(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
