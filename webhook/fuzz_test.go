package webhook

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"kirim/engine"
	"kirim/provider"
)

// FuzzNotify: any signed body is answered without a panic, and once the applier has
// run, every stored body has been applied or dead-lettered: the inbox is empty.
func FuzzNotify(f *testing.F) {
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			f.Add(fixture(f, e.Name()))
		}
	}
	for _, s := range []string{
		"", "null", "{}", "[]", `{"object":"whatsapp_business_account"}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":null}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"system"}],"statuses":[{}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"user_preferences","value":{"user_preferences":[{}]}}]}]}`,
		`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"account_alerts","value":{"alert_info":[]}}]}]}`,
		"\xff\xfe", `{"object":"whatsapp_business_account","entry":[null]}`,
	} {
		f.Add([]byte(s))
	}

	// One store for the whole run: opening Badger per input would dominate the time.
	db := openDB(f, "")
	rc := New(Options{DB: db, Logger: quietLogger(), AppSecret: testSecret, MaxBody: 64 << 10, Apply: Applier{
		Statuses:    func(context.Context, []engine.StatusUpdate) error { return nil },
		Inbound:     func(context.Context, []engine.Inbound) error { return nil },
		Preferences: func(context.Context, string, []provider.UserPreference) error { return nil },
		Other:       func(context.Context, string, string, any) error { return nil },
	}})
	f.Fuzz(func(t *testing.T, body []byte) {
		before := rc.Stats()
		w := postSigned(rc, body)
		switch {
		case len(body) > 64<<10:
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("oversize body: status %d", w.Code)
			}
			return
		case w.Code != http.StatusOK:
			t.Fatalf("signed body: status %d", w.Code)
		}
		taken := 0
		for {
			n, err := rc.ApplyPending(context.Background())
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if n == 0 {
				break
			}
			taken += n
		}
		if n := inboxDepth(t, rc); n != 0 {
			t.Fatalf("inbox holds %d bodies after apply", n)
		}
		after := rc.Stats()
		if stored := after.Received - before.Received; int64(taken) != stored || after.Retried != before.Retried {
			t.Fatalf("%d bodies stored, %d taken, %d retries", stored, taken, after.Retried-before.Retried)
		}
	})
}
