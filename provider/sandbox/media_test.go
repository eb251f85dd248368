package sandbox

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"testing"

	"kirim/provider"
)

// TestUploadMessagingProduct: messaging_product may come as a form field or in the
// query string, as Meta takes it; a form field other than whatsapp is refused even
// when the query says whatsapp.
func TestUploadMessagingProduct(t *testing.T) {
	e := newEnv(t, Options{}, false)
	cases := []struct {
		name, query, field string
		fieldSet           bool
		wantCode           int // 0: accepted
	}{
		{name: "form field", field: "whatsapp", fieldSet: true},
		{name: "query string", query: "whatsapp"},
		{name: "both", query: "whatsapp", field: "whatsapp", fieldSet: true},
		{name: "neither", wantCode: provider.CodeInvalidParameter},
		{name: "wrong query", query: "sms", wantCode: provider.CodeInvalidParameter},
		{name: "wrong form field wins", query: "whatsapp", field: "sms", fieldSet: true, wantCode: provider.CodeInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			if c.fieldSet {
				mustOK(t, mw.WriteField("messaging_product", c.field))
			}
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="file"; filename="a.png"`)
			h.Set("Content-Type", "image/png")
			fw, err := mw.CreatePart(h)
			mustOK(t, err)
			_, _ = fw.Write([]byte("\x89PNG fake"))
			mustOK(t, mw.Close())
			url := e.srv.URL + "/v25.0/" + DefaultPhoneNumberID + "/media"
			if c.query != "" {
				url += "?messaging_product=" + c.query
			}
			req, _ := http.NewRequest("POST", url, &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := http.DefaultClient.Do(req)
			mustOK(t, err)
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if c.wantCode == 0 {
				if resp.StatusCode != http.StatusOK || !bytes.Contains(data, []byte(`"id":"`)) {
					t.Fatalf("upload: %d %s", resp.StatusCode, data)
				}
				return
			}
			if pe := provider.ParseError(resp.StatusCode, data); pe.Code != c.wantCode || !bytes.Contains(data, []byte("messaging_product")) {
				t.Fatalf("upload: %d %s, want error %d naming messaging_product", resp.StatusCode, data, c.wantCode)
			}
		})
	}
}
