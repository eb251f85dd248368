package provider

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// errorCase is one recorded Graph API error answer and what ParseError must make of it.
type errorCase struct {
	file        string
	status      int
	code        int
	subcode     int
	title       string
	details     string
	fbtrace     string
	transient   bool
	userTitle   string
	userMessage string
	class       Class
}

var errorCases = []errorCase{
	{"auth_190_expired.json", 401, 190, 463, "Error validating access token: Session has expired on Tuesday, 14-Jul-26 03:00:00 PDT. The current time is Tuesday, 14-Jul-26 05:12:09 PDT.", "", "AwiE7NTvxuaHvpd88cRuBkP", false, "", "", StopAndAlert},
	{"auth_190_invalid.json", 401, 190, 0, "Invalid OAuth access token - Cannot parse access token", "", "A5cYNRU7bNL2EJywdzbsFrn", false, "", "", StopAndAlert},
	{"permission_10.json", 403, 10, 0, "(#10) Application does not have permission for this action", "The app is missing the whatsapp_business_messaging permission.", "AU5_MzVuRsZXRZ8aUjmc6oC", false, "", "", StopAndAlert},
	{"permission_200.json", 403, 200, 0, "(#200) You do not have the necessary permissions required to send messages on behalf of this WhatsApp Business Account", "", "AQRr0nJHpZT_PhZi7HZWEvv", false, "", "", StopAndAlert},
	{"capability_3.json", 400, 3, 0, "(#3) Application does not have the capability to make this API call.", "", "AeZR0_TredwNjKENewNm_GZ", false, "", "", StopAndAlert},
	{"app_rate_4.json", 400, 4, 0, "(#4) Application request limit reached", "", "ASNGu2H-tR06cEVd1r2Ss0W", true, "", "", Throttled},
	{"waba_rate_80007.json", 400, 80007, 0, "(#80007) Rate limit issue", "The WhatsApp Business Account has reached its rate limit.", "ATu3OoUDJhHvc2JDzbXO2dO", true, "", "", Throttled},
	{"throughput_130429.json", 400, 130429, 0, "(#130429) Rate limit hit", "Cloud API message throughput has been reached.", "APcrTHvouEmU4WfwSgN7GZo", false, "", "", Throttled},
	{"pair_rate_131056.json", 400, 131056, 0, "(#131056) (Business Account, Consumer Account) pair rate limit hit", "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.", "ARvRJQFyE9L5aQSmwFl-zgt", false, "", "", Throttled},
	{"spam_rate_131048.json", 400, 131048, 0, "(#131048) Spam rate limit hit", "Message failed to send because there are restrictions on how many messages can be sent from this phone number. This may be because too many previous messages were blocked or flagged as spam.", "AzhxHBU-d-KLPr5seBgk9QX", false, "", "", StopAndAlert},
	{"ecosystem_131049.json", 400, 131049, 0, "(#131049) This message was not delivered to maintain healthy ecosystem engagement.", "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.", "Ayc1PUzyB_Ebb0hZMJL-Lko", false, "", "", RetryAfter24h},
	{"marketing_stopped_131050.json", 400, 131050, 0, "(#131050) Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.", "This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.", "ABxYPmyHABK9GImjo2_1bZj", false, "", "", Fatal},
	{"reengagement_131047.json", 400, 131047, 2494010, "(#131047) Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number.", "AfYlQyS0WpE6kL06uT4Tpab", false, "", "", Fatal},
	{"undeliverable_131026.json", 400, 131026, 0, "(#131026) Message undeliverable", "Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number; the recipient has not accepted our new Terms of Service and Privacy Policy; the recipient is using an old WhatsApp version.", "AkRjqTfR6uH8XlPGTTNpLi5", false, "", "", Fatal},
	{"unsupported_type_131051.json", 400, 131051, 0, "(#131051) Unsupported message type", "Message type is not currently supported.", "AjYv-XfTdC36wYGtIW-VyJQ", false, "", "", FixRequest},
	{"media_download_131052.json", 400, 131052, 0, "(#131052) Media download error", "Unable to download the media sent by the user.", "Ap8_ud6C-iKlFTiDrntnTtt", false, "", "", FixRequest},
	{"media_upload_131053.json", 400, 131053, 0, "(#131053) Media upload error", "Unable to upload the media used in the message. Downloaded media's MIME type (text/html) does not match the expected MIME type (image/jpeg).", "AJH8GHlBLImtQF2dLigaGZp", false, "", "", FixRequest},
	{"generic_131000.json", 500, 131000, 0, "(#131000) Something went wrong", "Message failed to send due to an unknown error.", "ADWKF6je3b3bHTJUaofKYA7", true, "", "", RetryLater},
	{"service_unavailable_131016.json", 503, 131016, 0, "(#131016) Service unavailable", "A service is temporarily unavailable. Please retry your request later.", "Ak8KJHawQL15sadxNf5xB2o", true, "", "", RetryLater},
	{"unknown_1.json", 500, 1, 0, "An unknown error occurred", "", "AqBE1ZFAoHOwBvl8NQKUEDd", true, "", "", RetryLater},
	{"service_2.json", 503, 2, 0, "(#2) Service temporarily unavailable", "", "Axbwbj8jduLU44FGRlvCw06", true, "", "", RetryLater},
	{"server_unavailable_133004.json", 503, 133004, 0, "(#133004) Server temporarily unavailable", "Server is temporarily unavailable. Please retry after 5 minutes.", "AlgRyPBMLWRh9rdkZwRzrq0", false, "", "", RetryLater},
	{"maintenance_131057.json", 503, 131057, 0, "(#131057) Account in maintenance mode", "The business account is in maintenance mode. This can happen during a throughput upgrade.", "ArUZVahUBDFgWG-CzR2iEEL", false, "", "", RetryLater},
	{"invalid_param_100.json", 400, 100, 0, "(#100) Invalid parameter", "Parameter 'text.body' must be at most 4096 characters long.", "Ac_caRpw7d7N0oVFzqQKUrA", false, "", "", FixRequest},
	{"object_missing_100_33.json", 400, 100, 33, "Unsupported post request. Object with ID '106540352242922' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", "", "AFENlisJggrKKU5lUA7QXPC", false, "", "", FixRequest},
	{"template_create_2388299.json", 400, 100, 2388299, "Invalid parameter", "", "AFvJQiSmnznUvKDKGA-EJ7D", false, "Variables can't be at the start or end of the template", "Variables can't be at the start or end of the template.", FixRequest},
	{"transient_param_100.json", 500, 100, 0, "(#100) Invalid parameter", "Unable to validate the request at this time.", "AmCpW8gnG65FUCxxzAfF2h3", true, "", "", RetryLater},
	{"missing_param_131008.json", 400, 131008, 0, "(#131008) Required parameter is missing", "The parameter template.language.code is required.", "A74pseXT_x8m1LN1JVnIdjd", false, "", "", FixRequest},
	{"invalid_value_131009.json", 400, 131009, 0, "(#131009) Parameter value is not valid", "Button at index 0 of type Url does not require parameters.", "AGNZn3t5I2xxTC_4_OJ-DL2", false, "", "", FixRequest},
	{"param_count_132000.json", 400, 132000, 0, "(#132000) Number of parameters does not match the expected number of params", "body: number of localizable_params (1) does not match the expected number of params (2)", "APBkJUKxm6aKNy0KCMuPtiJ", false, "", "", FixRequest},
	{"template_missing_132001.json", 404, 132001, 0, "(#132001) Template name does not exist in the translation", "template name (order_update) does not exist in id", "AnxX-IVhhQrVCU49PWwPF3q", false, "", "", FixRequest},
	{"param_format_132012.json", 400, 132012, 0, "(#132012) Parameter format does not match format in the created template", "header: Format mismatch, expected IMAGE, received UNKNOWN", "AtrE8L8gofxcDBH5rD4Kpo6", false, "", "", FixRequest},
	{"template_paused_132015.json", 400, 132015, 0, "(#132015) Template is Paused", "Template is paused due to low quality so it cannot be sent in a template message.", "AbyYVi7iZg6M-wLo6o03CSJ", false, "", "", Fatal},
	{"template_disabled_132016.json", 400, 132016, 0, "(#132016) Template is disabled", "Template has been paused too many times due to low quality and is now permanently disabled.", "AYfBHVu-75p3xIeGK0UHYNu", false, "", "", Fatal},
	{"account_locked_131031.json", 400, 131031, 0, "(#131031) Business Account locked", "Business Account has been locked.", "APQty9qWa28jydGiGEzqcME", false, "", "", StopAndAlert},
	{"payment_131042.json", 400, 131042, 0, "(#131042) Business eligibility payment issue", "Message failed to send because there were one or more errors related to your payment method.", "ARyHuLqijcK3yDagMGl6dzL", false, "", "", StopAndAlert},
	{"certificate_131045.json", 400, 131045, 0, "(#131045) Incorrect certificate", "Message failed to send due to a phone number registration error.", "AdXUDVhWACumVwRbrcOKCCj", false, "", "", StopAndAlert},
	{"policy_block_368.json", 403, 368, 0, "(#368) Temporarily blocked for policies violations", "The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy.", "AJq5DW8hj3QXQ-2jszX3cfV", false, "", "", StopAndAlert},
	{"not_registered_133010.json", 400, 133010, 0, "(#133010) Account not registered", "The phone number has not been registered on the WhatsApp Business Platform.", "AsRzm5ERI5frFukycDV1ZxX", false, "", "", Fatal},
	{"experiment_130472.json", 400, 130472, 0, "(#130472) User's number is part of an experiment", "Failed to send message because this user's phone number is part of an experiment.", "A6ZGDnCQ0LugD86K9VMjfqt", false, "", "", Fatal},
	{"recipient_is_sender_131021.json", 400, 131021, 0, "(#131021) Recipient cannot be sender.", "Sender and recipient phone number is the same.", "A5RLeotds5y4NHQ-Wdp9FvR", false, "", "", Fatal},
	{"not_allowed_131030.json", 400, 131030, 0, "(#131030) Recipient phone number not in allowed list", "Recipient phone number not in allowed list: Add recipient phone number to recipient list and try again.", "AqYqMpelpoIqSGQcK2fD8Fv", false, "", "", Fatal},
	{"limit_classification_131064.json", 400, 131064, 0, "(#131064) Template classification violation limit reached", "Too many template messages were sent in violation of template classification guidelines.", "ASwRLLWreMeTM6J4Qmh5yO7", false, "", "", Fatal},
}

func TestParseErrorFixtures(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.file, func(t *testing.T) {
			body := readFixture(t, "errors", tc.file)
			e := ParseError(tc.status, body)
			if e.HTTPStatus != tc.status {
				t.Errorf("HTTPStatus = %d, want %d", e.HTTPStatus, tc.status)
			}
			if e.Code != tc.code {
				t.Errorf("Code = %d, want %d", e.Code, tc.code)
			}
			if e.Subcode != tc.subcode {
				t.Errorf("Subcode = %d, want %d", e.Subcode, tc.subcode)
			}
			if e.Title != tc.title {
				t.Errorf("Title = %q, want %q", e.Title, tc.title)
			}
			if e.Details != tc.details {
				t.Errorf("Details = %q, want %q", e.Details, tc.details)
			}
			if e.FBTraceID != tc.fbtrace {
				t.Errorf("FBTraceID = %q, want %q", e.FBTraceID, tc.fbtrace)
			}
			if e.IsTransient != tc.transient {
				t.Errorf("IsTransient = %v, want %v", e.IsTransient, tc.transient)
			}
			if e.UserTitle != tc.userTitle || e.UserMessage != tc.userMessage {
				t.Errorf("user title/message = %q/%q, want %q/%q", e.UserTitle, e.UserMessage, tc.userTitle, tc.userMessage)
			}
			if got := e.Class(); got != tc.class {
				t.Errorf("Class() = %v, want %v", got, tc.class)
			}
			if !strings.Contains(e.Error(), fmt.Sprintf("error %d", tc.code)) {
				t.Errorf("Error() = %q does not name code %d", e.Error(), tc.code)
			}
		})
	}
}

// TestErrorFixturesCovered keeps the fixture directory and the tables in step: a fixture
// nobody asserts on is a fixture that can rot.
func TestErrorFixturesCovered(t *testing.T) {
	known := map[string]bool{}
	for _, tc := range errorCases {
		known[tc.file] = true
	}
	for _, tc := range rawErrorCases {
		if tc.file != "" {
			known[tc.file] = true
		}
	}
	entries, err := os.ReadDir(filepath.Join("testdata", "errors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !known[e.Name()] {
			t.Errorf("testdata/errors/%s has no test case", e.Name())
		}
	}
	if len(entries) < 40 {
		t.Errorf("only %d error fixtures", len(entries))
	}
}

// rawErrorCases are answers that are not Meta's envelope: a proxy's page, an empty body,
// some other JSON.
var rawErrorCases = []struct {
	name      string
	file      string // under testdata/errors, or "" for body
	body      string
	status    int
	code      int
	class     Class
	transient bool
	titleHas  string
	notSent   bool
}{
	{name: "nginx 502 page", file: "html_502.html", status: 502, code: CodeGeneric, class: RetryLater, transient: true, titleHas: "502 Bad Gateway"},
	{name: "empty 503", body: "", status: 503, code: CodeGeneric, class: RetryLater, transient: true},
	{name: "empty 504", body: "   \n", status: 504, code: CodeGeneric, class: RetryLater, transient: true},
	{name: "empty 400", body: "", status: 400, code: CodeNoEnvelope, class: FixRequest, notSent: true},
	{name: "plain 429", file: "text_429.txt", status: 429, code: CodeAPIRate, class: Throttled, transient: true, titleHas: "Too Many Requests", notSent: true},
	{name: "html 401", body: "<html><body>Unauthorized</body></html>", status: 401, code: CodeAuth, class: StopAndAlert, titleHas: "Unauthorized", notSent: true},
	{name: "other JSON 400", file: "not_envelope_400.json", status: 400, code: CodeNoEnvelope, class: FixRequest, titleHas: "upstream request timeout", notSent: true},
	{name: "error is a string", body: `{"error":"bad token"}`, status: 400, code: CodeNoEnvelope, class: FixRequest, titleHas: "bad token", notSent: true},
	{name: "envelope with code 0", body: `{"error":{"code":0,"message":""}}`, status: 500, code: CodeGeneric, class: RetryLater, transient: true},
	{name: "no status", body: "connection reset", status: 0, code: CodeGeneric, class: RetryLater, transient: true},
}

func TestParseErrorNotEnvelope(t *testing.T) {
	for _, tc := range rawErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			if tc.file != "" {
				body = readFixture(t, "errors", tc.file)
			}
			e := ParseError(tc.status, body)
			if e.Code != tc.code {
				t.Errorf("Code = %d, want %d", e.Code, tc.code)
			}
			if e.Class() != tc.class {
				t.Errorf("Class() = %v, want %v", e.Class(), tc.class)
			}
			if e.IsTransient != tc.transient {
				t.Errorf("IsTransient = %v, want %v", e.IsTransient, tc.transient)
			}
			if !strings.Contains(e.Title, tc.titleHas) {
				t.Errorf("Title = %q, want it to contain %q", e.Title, tc.titleHas)
			}
			if got := IsNotSent(e); got != tc.notSent {
				t.Errorf("IsNotSent = %v, want %v", got, tc.notSent)
			}
		})
	}
}

func TestParseErrorLongBodyTruncatedToValidUTF8(t *testing.T) {
	// 199 ASCII bytes, then a 4-byte emoji that the 200-byte cut splits.
	body := strings.Repeat("x", maxRawErrorTitle-1) + "\U0001F600 tail"
	e := ParseError(502, []byte(body))
	if len(e.Title) > maxRawErrorTitle {
		t.Fatalf("title is %d bytes, cap %d", len(e.Title), maxRawErrorTitle)
	}
	if !strings.HasPrefix(e.Title, strings.Repeat("x", maxRawErrorTitle-1)) || strings.ContainsRune(e.Title, '\uFFFD') {
		t.Fatalf("title %q is not the valid start of the body", e.Title)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		class Class
		codes []int
	}{
		{Throttled, []int{4, 80007, 130429, 131056}},
		{RetryAfter24h, []int{131049}},
		{RetryLater, []int{1, 2, 131000, 131016, 133004, 131057}},
		{StopAndAlert, []int{0, 3, 10, 190, 200, 250, 299, 131048, 131031, 368, 131042, 131045}},
		{Fatal, []int{131050, 131047, 131026, 130472, 131021, 131030, 130497, 133010, 131064, 132015, 132016}},
		{FixRequest, []int{100, 131008, 131009, 33, 135000, 131051, 131052, 131053, 132000, 132001, 132005, 132007, 132008, 132012, 132068, 2388299, -1, 999999}},
	}
	for _, tt := range tests {
		for _, code := range tt.codes {
			if got := Classify(code); got != tt.class {
				t.Errorf("Classify(%d) = %v, want %v", code, got, tt.class)
			}
		}
	}
}

func TestErrorClassTransientOverride(t *testing.T) {
	tests := []struct {
		code      int
		transient bool
		want      Class
	}{
		{CodeInvalidParameter, true, RetryLater},
		{CodeInvalidParameter, false, FixRequest},
		// A transient flag never turns a terminal or alerting answer into a retry.
		{CodeUndeliverable, true, Fatal},
		{CodeAuth, true, StopAndAlert},
		{CodeThroughput, true, Throttled},
	}
	for _, tt := range tests {
		e := &Error{Code: tt.code, IsTransient: tt.transient}
		if got := e.Class(); got != tt.want {
			t.Errorf("code %d transient %v: Class() = %v, want %v", tt.code, tt.transient, got, tt.want)
		}
	}
}

func TestClassString(t *testing.T) {
	want := map[Class]string{
		RetryLater: "retry_later", Throttled: "throttled", RetryAfter24h: "retry_after_24h",
		FixRequest: "fix_request", Fatal: "fatal", StopAndAlert: "stop_and_alert", Class(42): "class(42)",
	}
	for c, s := range want {
		if c.String() != s {
			t.Errorf("Class(%d).String() = %q, want %q", int(c), c.String(), s)
		}
	}
}

func TestNewErrorBodyRoundTrip(t *testing.T) {
	eb := NewErrorBody(CodeMarketingUserLimit, "This message was not delivered to maintain healthy ecosystem engagement.", "ecosystem", "AtraceX")
	body := mustJSON(t, eb)
	e := ParseError(400, body)
	if e.Code != CodeMarketingUserLimit || e.Details != "ecosystem" || e.FBTraceID != "AtraceX" || e.Type != "OAuthException" {
		t.Fatalf("round trip lost fields: %+v", e)
	}
	if !strings.HasPrefix(e.Title, "(#131049) ") {
		t.Fatalf("Title = %q, want Meta's (#code) prefix", e.Title)
	}
	if e.Class() != RetryAfter24h {
		t.Fatalf("Class() = %v", e.Class())
	}
}

func TestAsError(t *testing.T) {
	pe := &Error{Code: CodeThroughput}
	wrapped := fmt.Errorf("engine: dispatch m1: %w", pe)
	got, ok := AsError(wrapped)
	if !ok || got != pe {
		t.Fatalf("AsError(wrapped) = %v, %v", got, ok)
	}
	if _, ok := AsError(errors.New("plain")); ok {
		t.Fatal("AsError(plain) = true")
	}
}
