package provider

import (
	"testing"
)

// addFixtureSeeds adds every file of testdata/<dir> to the fuzz corpus.
func addFixtureSeeds(f *testing.F, dir string, add func(b []byte)) {
	f.Helper()
	names, err := fixtureNames(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range names {
		add(readFixture(f, dir, n))
	}
}

func FuzzParseError(f *testing.F) {
	addFixtureSeeds(f, "errors", func(b []byte) {
		f.Add(400, b)
		f.Add(500, b)
	})
	f.Add(429, []byte(""))
	f.Add(0, []byte(`{"error":{"code":131049,"is_transient":true}}`))
	f.Add(401, []byte(`{"error":"x"}`))
	f.Add(502, []byte("\xff\xfe\xf0\x9f"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := ParseError(status, body)
		if e == nil {
			t.Fatal("nil error")
		}
		c := e.Class()
		if c < RetryLater || c > StopAndAlert {
			t.Fatalf("undefined class %d for %+v", c, e)
		}
		if Classify(e.Code) < RetryLater || Classify(e.Code) > StopAndAlert {
			t.Fatalf("Classify(%d) undefined", e.Code)
		}
		if e.HTTPStatus != status {
			t.Fatalf("status %d kept as %d", status, e.HTTPStatus)
		}
		if len(e.Title) > len(body) {
			t.Fatalf("title of %d bytes from a body of %d", len(e.Title), len(body))
		}
		_ = e.Error()
		_ = c.String()
		_ = IsNotSent(e)
	})
}

func FuzzParseNotification(f *testing.F) {
	addFixtureSeeds(f, "webhooks", func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"account_alerts","value":{"alert_info":{}}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"business_capability_update","value":{"max_daily_conversations_per_business":"TIER_2K"}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"message_template_status_update","value":{"disable_info":{"disable_date":null}}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body)
		if err != nil {
			if n != nil {
				t.Fatal("notification returned with an error")
			}
			return
		}
		if n.Object != ObjectWhatsAppBusinessAccount || len(n.Entry) == 0 {
			t.Fatalf("accepted %q with %d entries", n.Object, len(n.Entry))
		}
		for _, e := range n.Entry {
			for _, c := range e.Changes {
				v, err := DecodeChange(c)
				if err != nil {
					if v != nil {
						t.Fatal("value returned with an error")
					}
					continue
				}
				if v == nil {
					t.Fatalf("nil value without error for %q", c.Field)
				}
				if u, ok := v.(*UnknownChange); ok && u.Field != c.Field {
					t.Fatalf("unknown change names %q, want %q", u.Field, c.Field)
				}
			}
		}
	})
}
