package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDecodeStrictRefuses: every kind of hostile body is refused with invalid_json (or
// invalid_field for a value of the wrong type) naming the key path in field and in the
// message.
func TestDecodeStrictRefuses(t *testing.T) {
	deep := strings.Repeat("[", 70) + strings.Repeat("]", 70)
	cases := []struct {
		name   string
		target func() any
		body   string
		code   string
		field  string
		msg    string // part of the message
	}{
		{"unknown key", send, `{"to":"x","priority":"high"}`, "invalid_json", "priority", "priority: unknown key"},
		{"unknown key lists the known ones", send, `{"template":{"name":"x","colour":"red"}}`, "invalid_json", "template.colour", "name, language, header, body"},
		{"key in another case", send, `{"TO":"x"}`, "invalid_json", "TO", `did you mean "to"`},
		{"nested key in another case", send, `{"template":{"Name":"x"}}`, "invalid_json", "template.Name", `template.Name: unknown key: keys are case-sensitive, did you mean "name"?`},
		{"key folded by Unicode (Kelvin sign)", send, "{\"callbac\u212A_data\":\"x\"}", "invalid_json", "callbac\u212A_data", `did you mean "callback_data"`},
		{"duplicate key", send, `{"to":"a","to":"b"}`, "invalid_json", "to", "to: duplicate key"},
		{"duplicate key written with an escape", send, `{"to":"a","t\u006f":"b"}`, "invalid_json", "to", "duplicate key"},
		{"duplicate key in an array element", send, `{"contacts":[{"name":{"formatted_name":"a"}},{"name":{"formatted_name":"a","formatted_name":"b"}}]}`, "invalid_json", "contacts[1].name.formatted_name", "duplicate key"},
		{"duplicate key in a free-form value", send, `{"template":{"body":{"name":"a","name":"b"}}}`, "invalid_json", "template.body.name", "duplicate key"},
		{"duplicate key deep in a free-form value", send, `{"template":{"body":[{"k":{"y":1,"z":2,"y":3}}]}}`, "invalid_json", "template.body[0].k.y", "duplicate key"},
		{"duplicate among many keys", send, `{"template":{"body":{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1,"g":1,"h":1,"i":1,"j":1,"c":2}}}`, "invalid_json", "template.body.c", "duplicate key"},
		{"invalid UTF-8 in a value", send, "{\"text\":{\"body\":\"caf\xe9\"}}", "invalid_json", "text.body", "not valid UTF-8"},
		{"invalid UTF-8 in a key", send, "{\"\xff\":1}", "invalid_json", "", "not valid UTF-8"},
		{"invalid UTF-8 outside strings", send, "{\"to\":\"x\"}\xff", "invalid_json", "", "more after its JSON value"},
		{"invalid UTF-8 where a value goes", send, "{\"to\":\xff}", "invalid_json", "to", "not valid UTF-8"},
		{"overlong UTF-8", send, "{\"to\":\"\xc0\xaf\"}", "invalid_json", "to", "not valid UTF-8"},
		{"UTF-8 of a surrogate", send, "{\"to\":\"\xed\xa0\x80\"}", "invalid_json", "to", "not valid UTF-8"},
		{"unpaired high surrogate escape", send, `{"text":{"body":"\ud83d"}}`, "invalid_json", "text.body", "unpaired surrogate"},
		{"unpaired low surrogate escape", send, `{"text":{"body":"\ude00\ud83d"}}`, "invalid_json", "text.body", "unpaired surrogate"},
		{"high surrogate before a letter", send, `{"text":{"body":"\ud83d\u0041"}}`, "invalid_json", "text.body", "unpaired surrogate"},
		{"second value", send, `{"to":"x"} {}`, "invalid_json", "", "more after its JSON value"},
		{"trailing bracket", send, `{"to":"x"}]`, "invalid_json", "", "more after its JSON value"},
		{"trailing garbage", send, `{"to":"x"}garbage`, "invalid_json", "", "more after its JSON value"},
		{"empty body", send, ``, "invalid_json", "", "empty"},
		{"blank body", send, " \n\t ", "invalid_json", "", "empty"},
		{"an array", send, `[{"to":"x"}]`, "invalid_json", "", "must be a JSON object"},
		{"null", send, `null`, "invalid_json", "", "must be a JSON object"},
		{"a string", send, `"to"`, "invalid_json", "", "must be a JSON object"},
		{"not closed", send, `{"to":"x"`, "invalid_json", "", "ends early"},
		{"string not closed", send, `{"to":"x`, "invalid_json", "to", "not closed"},
		{"missing value", send, `{"to":}`, "invalid_json", "to", "expected a value"},
		{"trailing comma", send, `{"to":"x",}`, "invalid_json", "", "expected a key"},
		{"missing colon", send, `{"to" "x"}`, "invalid_json", "to", "':'"},
		{"bad literal", send, `{"to":tru}`, "invalid_json", "to", "expected a value"},
		{"leading zero", send, `{"to":01}`, "invalid_json", "", "',' or '}'"},
		{"bare decimal point", send, `{"to":1.}`, "invalid_json", "to", "a digit after '.'"},
		{"control character", send, "{\"to\":\"a\x01\"}", "invalid_json", "to", "control character"},
		{"bad escape", send, `{"to":"\x41"}`, "invalid_json", "to", "invalid escape"},
		{"short unicode escape", send, `{"to":"\u12"}`, "invalid_json", "to", `invalid \u escape`},
		{"nested too deep", send, `{"template":{"body":` + deep + `}}`, "invalid_json", "template.body" + strings.Repeat("[0]", 62), "nested deeper than 64"},
		{"wrong type", send, `{"to":6281234567890}`, "invalid_field", "to", "to: must be a JSON string"},
		{"wrong type deeper", send, `{"template":{"buttons":[{"index":"0"}]}}`, "invalid_field", "template.buttons.index", "must be a JSON number"},
		{"unknown key in a template button", tplBody, `{"name":"x","components":[{"type":"BUTTONS","buttons":[{"type":"URL","url":"https://x","colour":1}]}]}`, "invalid_json", "components[0].buttons[0].colour", "unknown key"},
		{"duplicate key in a template button", tplBody, `{"name":"x","components":[{"type":"BUTTONS","buttons":[{"type":"URL","type":"PHONE_NUMBER"}]}]}`, "invalid_json", "components[0].buttons[0].type", "duplicate key"},
		{"key in another case in a campaign", campaignBody, `{"name":"x","List_IDs":["lst_1"]}`, "invalid_json", "List_IDs", `did you mean "list_ids"`},
		{"a body where none is taken", empty, `{"reason":"x"}`, "invalid_json", "reason", "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeStrict([]byte(tc.body), tc.target())
			if err == nil {
				t.Fatalf("accepted %q", tc.body)
			}
			if err.Status != http.StatusBadRequest || err.Code != tc.code || err.Field != tc.field || !strings.Contains(err.Message, tc.msg) {
				t.Errorf("got %d %s field %q: %q\nwant %s field %q: ...%q...", err.Status, err.Code, err.Field, err.Message, tc.code, tc.field, tc.msg)
			}
			if tc.field != "" && !strings.HasPrefix(err.Message, tc.field+": ") {
				t.Errorf("message %q does not start with the field", err.Message)
			}
		})
	}
}

func send() any         { return &sendRequest{} }
func tplBody() any      { return &templateBody{} }
func campaignBody() any { return &campaignRequest{} }
func empty() any        { return &struct{}{} }

// TestDecodeStrictAccepts: well-formed bodies decode exactly as encoding/json decodes
// them.
func TestDecodeStrictAccepts(t *testing.T) {
	cases := []struct {
		target func() any
		body   string
	}{
		{send, `{"to":"+6281234567890","template":{"name":"order_update","language":"id","body":["Budi","INV-42"]}}`},
		{send, " \r\n\t{ \"to\" : \"x\" , \"text\" : { \"body\" : \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\" } } \n"},
		{send, `{"to":"x","text":{"body":"emoji \ud83d\ude00 and \u00e9 and é 😀"}}`},
		{send, `{"t\u006f":"x","callback_data":"\u0000"}`},
		{send, `{"to":"x","location":{"latitude":-6.2e0,"longitude":1.068E+2,"name":"0"}}`},
		{send, `{"to":"x","template":{"name":"t","language":"id","body":{"name":"Budi","Name":"budi"},"header":null}}`},
		{send, `{"to":"x","template":{"name":"t","body":[[[{"a":{"a":{"a":1}}}]]],"buttons":[]}}`},
		{send, `{}`},
		{tplBody, `{"name":"x","components":[{"type":"BUTTONS","buttons":[{"type":"COPY_CODE","example":"CODE1"},{"type":"URL","url":"https://x/{{1}}","example":["a"]}]}]}`},
		{campaignBody, `{"name":"x","template":{"name":"t","language":"id"},"list_ids":["lst_1"],"schedule":{"at":"2026-12-01T02:00:00Z"}}`},
		{empty, `{}`},
	}
	for _, tc := range cases {
		got, want := tc.target(), tc.target()
		if err := decodeStrict([]byte(tc.body), got); err != nil {
			t.Errorf("%s: refused: %v", tc.body, err)
			continue
		}
		if err := json.Unmarshal([]byte(tc.body), want); err != nil {
			t.Fatalf("%s: encoding/json: %v", tc.body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded %+v, encoding/json %+v", tc.body, got, want)
		}
	}
}

type embeddedInner struct {
	A string `json:"a"`
	B string
	C string `json:"c"`
}

type embeddedOther struct {
	C string `json:"c"`
	D string
}

type embeddedOuter struct {
	embeddedInner
	*embeddedOther
	B       string `json:"b"`
	Skipped string `json:"-"`
	bad     string //lint:ignore U1000 an unexported field is never decoded
	Odd     string `json:",omitempty"`
	Named   embeddedInner
}

// TestShapeFollowsEncodingJSON: the keys a struct takes are exactly those encoding/json
// decodes into it, for embedded structs, tags and names that cancel out.
func TestShapeFollowsEncodingJSON(t *testing.T) {
	sh := shapeOf(reflect.TypeFor[embeddedOuter]())
	for _, key := range []string{"a", "A", "b", "B", "c", "C", "D", "d", "Skipped", "-", "bad", "Odd", "odd", "Named", "embeddedInner", "embeddedOther"} {
		body, _ := json.Marshal(map[string]any{key: nil})
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		stdOK := dec.Decode(&embeddedOuter{}) == nil
		_, exact := sh.fields[key]
		// encoding/json also takes a key in another case; the shape does not.
		if exact && !stdOK {
			t.Errorf("key %q: the shape takes it, encoding/json does not", key)
		}
		if !exact && stdOK && sh.folded[foldKey([]byte(key))] == "" {
			t.Errorf("key %q: encoding/json takes it, the shape knows no such field", key)
		}
	}
	if strings.Join(sh.names, " ") != "b Odd Named a B" {
		t.Errorf("fields %v", sh.names)
	}
}

// TestContentType: only application/json, in any case and with a utf-8 charset if
// any, carries a body; an empty body needs none.
func TestContentType(t *testing.T) {
	cases := []struct {
		ct, body string
		ok       bool
	}{
		{"application/json", `{}`, true},
		{"Application/JSON", `{}`, true},
		{"application/json; charset=utf-8", `{}`, true},
		{"application/json;charset=UTF-8", `{}`, true},
		{"application/json; boundary=x", `{}`, true},
		{"", ``, true},
		{"", " \n", true},
		{"text/plain", ``, true},
		{"", `{}`, false},
		{"text/plain", `{}`, false},
		{"application/x-www-form-urlencoded", `{}`, false},
		{"application/json; charset=iso-8859-1", `{}`, false},
		{"application/jsonp", `{}`, false},
		{"application/merge-patch+json", `{}`, false},
		{"application/json; charset", `{}`, false},
		{"json", `{}`, false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("POST", "/v1/messages", strings.NewReader(tc.body))
		if tc.ct != "" {
			r.Header.Set("Content-Type", tc.ct)
		}
		err := checkContentType(r, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("Content-Type %q with %q: %v", tc.ct, tc.body, err)
			continue
		}
		if err != nil && (err.Status != http.StatusUnsupportedMediaType || err.Code != "unsupported_media_type" || err.Field != "Content-Type") {
			t.Errorf("Content-Type %q: %+v", tc.ct, err)
		}
	}
}

// FuzzDecodeStrict: the strict decoder never panics, accepts nothing encoding/json
// refuses, decodes what it accepts exactly as encoding/json does, and accepts only
// valid UTF-8 without duplicate keys. Into a free-form target it refuses nothing else.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{"to":"+6281234567890","template":{"name":"order_update","language":"id","body":["Budi","INV-42"]}}`,
		`{"to":"x","text":{"body":"\ud83d\ude00"}}`, `{"to":"a","TO":"b"}`, `{"to":"a","to":"b"}`,
		`{"template":{"body":{"a":1,"a":2}}}`, `{"contacts":[{"name":{"formatted_name":"x"}}]}`,
		"{\"to\":\"\xff\"}", `{"to":"\ud800"}`, `{} {}`, `[1,2,{"a":[]}]`, `-0.5e-3`, `"\u0000"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var strict, std sendRequest
		aerr := decodeStrict(data, &strict)
		if aerr != nil && (aerr.Status != http.StatusBadRequest || aerr.Message == "" ||
			(aerr.Code != "invalid_json" && aerr.Code != "invalid_field")) {
			t.Fatalf("%q: refusal %+v", data, aerr)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		stdErr := dec.Decode(&std)
		if aerr == nil {
			if stdErr != nil {
				t.Fatalf("%q: accepted, but encoding/json refuses: %v", data, stdErr)
			}
			if !reflect.DeepEqual(strict, std) {
				t.Fatalf("%q: decoded %+v, encoding/json %+v", data, strict, std)
			}
			checkAccepted(t, data)
		}

		// Into any: strict refuses exactly what encoding/json refuses, invalid UTF-8,
		// duplicate keys, unpaired surrogates and too deep a nesting.
		var free, stdFree any
		ferr := decodeStrict(data, &free)
		stdFreeErr := json.Unmarshal(data, &stdFree)
		if ferr == nil {
			if stdFreeErr != nil {
				t.Fatalf("%q: accepted as free-form, but encoding/json refuses: %v", data, stdFreeErr)
			}
			if !reflect.DeepEqual(free, stdFree) {
				t.Fatalf("%q: decoded %#v, encoding/json %#v", data, free, stdFree)
			}
			checkAccepted(t, data)
			return
		}
		if stdFreeErr == nil && utf8.Valid(data) && !bytes.Contains(bytes.ToLower(data), []byte(`\ud`)) &&
			!hasDuplicateKeys(t, data) && depthOf(data) <= maxJSONDepth {
			t.Fatalf("%q: refused as free-form (%v), though encoding/json takes it and it is clean", data, ferr)
		}
	})
}

// checkAccepted holds of every accepted body: valid UTF-8, no key given twice.
func checkAccepted(t *testing.T, data []byte) {
	t.Helper()
	if !utf8.Valid(data) {
		t.Fatalf("%q: accepted invalid UTF-8", data)
	}
	if hasDuplicateKeys(t, data) {
		t.Fatalf("%q: accepted a duplicate key", data)
	}
}

// hasDuplicateKeys reads a valid JSON document with encoding/json's tokens and
// reports whether an object anywhere has a key twice.
func hasDuplicateKeys(t *testing.T, data []byte) bool {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		keys     map[string]bool
		inObject bool
		wantKey  bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			return false // not valid JSON: no keys to compare
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				if top >= 0 && stack[top].inObject {
					stack[top].wantKey = true
				}
				stack = append(stack, frame{keys: map[string]bool{}, inObject: true, wantKey: true})
			case '[':
				if top >= 0 && stack[top].inObject {
					stack[top].wantKey = true
				}
				stack = append(stack, frame{})
			default:
				stack = stack[:top]
			}
			continue
		}
		if top >= 0 && stack[top].inObject {
			if stack[top].wantKey {
				k := tok.(string)
				if stack[top].keys[k] {
					return true
				}
				stack[top].keys[k] = true
				stack[top].wantKey = false
			} else {
				stack[top].wantKey = true
			}
		}
	}
}

// depthOf is the deepest nesting of objects and arrays in data.
func depthOf(data []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// typicalSend is a template send as API clients write it.
var typicalSend = []byte(`{"to": "+6281234567890", "from": "main",
 "template": {"name": "order_update", "language": "id", "body": ["Budi", "INV-42"],
  "buttons": [{"index": 0, "type": "url", "text": "INV-42"}]},
 "callback_data": "order-42"}`)

// BenchmarkDecodeSend compares the strict decoder, and its walk alone, with what it
// replaced (encoding/json with DisallowUnknownFields) on a typical send body.
func BenchmarkDecodeSend(b *testing.B) {
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req sendRequest
			if err := decodeStrict(typicalSend, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("walk-only", func(b *testing.B) {
		sh := shapeOfTarget(&sendRequest{})
		b.ReportAllocs()
		for b.Loop() {
			w := walker{data: typicalSend}
			if err := w.document(sh); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req sendRequest
			dec := json.NewDecoder(bytes.NewReader(typicalSend))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil || dec.More() {
				b.Fatal(err)
			}
		}
	})
}
