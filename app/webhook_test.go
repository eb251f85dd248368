package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kirim/app"
	"kirim/app/apptest"
	"kirim/config"
	"kirim/internal/kirimtest"
	"kirim/provider"
)

// inboundChange is a messages change with one customer text, as Meta posts it.
func inboundChange(from, id string, at time.Time) string {
	return fmt.Sprintf(`{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"6281100001111","phone_number_id":"100000000000001"},`+
		`"contacts":[{"profile":{"name":"Budi"},"wa_id":%q}],"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":"Halo"}}]}}`,
		from, from, id, at.Unix())
}

func notification(changes ...string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"200000000000001","changes":[` + strings.Join(changes, ",") + `]}]}`)
}

// postWebhook posts body to Kirim's /webhook signed with the example's app secret.
func postWebhook(t *testing.T, base string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/webhook", bytes.NewReader(body))
	req.Header.Set(provider.SignatureHeader, provider.Sign("sandbox-app-secret", body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
}

func windowOpen(a *kirimtest.API, phone string) bool {
	var c struct {
		Windows []struct {
			WindowOpen bool `json:"window_open"`
		} `json:"numbers"`
	}
	a.Must(http.StatusOK, "GET", "/v1/contacts/"+phone, nil, &c)
	return len(c.Windows) > 0 && c.Windows[0].WindowOpen
}

type deadList struct {
	Data []struct {
		ID     string `json:"id"`
		BodyID string `json:"body_id"`
		Index  int    `json:"index"`
		Reason string `json:"reason"`
	} `json:"data"`
}

// TestPoisonWebhookIsolated is the receiver's acceptance on a running Kirim: a signed
// body whose from is 4,100 characters, then a normal inbound message: the normal one
// opens the window at once and the poison is dead-lettered with its reason, also after
// a restart; a body of three changes with a malformed middle one has the first and
// third applied and only the middle dead-lettered.
func TestPoisonWebhookIsolated(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(apptest.ExamplePath())
	if err != nil {
		t.Fatal(err)
	}
	load := func() *config.Config {
		cfg, err := config.Parse("config.example.toml", src, []string{"KIRIM_SERVER_LISTEN=127.0.0.1:0",
			"KIRIM_SERVER_DATA_DIR=" + filepath.Join(dir, "data"), "KIRIM_SANDBOX_LISTEN=127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	m, a := apptest.Start(t, load(), "kirim_demo_key_change_me")
	base := "http://" + m.APIAddr
	now := time.Now()

	postWebhook(t, base, notification(inboundChange(strings.Repeat("6", 4100), "wamid.poison", now)))
	start := time.Now()
	postWebhook(t, base, notification(inboundChange("6281200000001", "wamid.good1", now)))
	kirimtest.WaitFor(t, "the window after the poison", 10*time.Second, func() bool { return windowOpen(a, "+6281200000001") })
	t.Logf("window opened %v after the normal message was posted", time.Since(start).Round(time.Millisecond))

	postWebhook(t, base, notification(
		inboundChange("6281200000002", "wamid.first", now),
		`{"field":"messages","value":{"messages":"not a list"}}`,
		inboundChange("6281200000003", "wamid.third", now)))
	kirimtest.WaitFor(t, "the first and third changes", 10*time.Second, func() bool {
		return windowOpen(a, "+6281200000002") && windowOpen(a, "+6281200000003")
	})

	checkDead := func() {
		t.Helper()
		var dl deadList
		// The engine commits a change's effect before the applier records the batch.
		kirimtest.WaitFor(t, "the dead letters", 10*time.Second, func() bool {
			a.As(app.DemoOperatorKey, "").Must(http.StatusOK, "GET", "/v1/webhooks/dead", nil, &dl)
			return len(dl.Data) >= 2
		})
		if len(dl.Data) != 2 {
			t.Fatalf("dead letters %+v, want the poison and the middle change", dl.Data)
		}
		if d := dl.Data[0]; d.Index != 0 || !strings.Contains(d.Reason, "4100 bytes, more than 32") {
			t.Errorf("poison: %+v", d)
		}
		// Index 1 of its body; 0 of the body a replay puts it in.
		if d := dl.Data[1]; !strings.Contains(d.Reason, "cannot unmarshal") || d.ID != fmt.Sprintf("%s.%d", d.BodyID, d.Index) {
			t.Errorf("middle change: %+v", d)
		}
	}
	checkDead()
	// A replay puts the middle change back in the inbox; still malformed, it returns.
	var dl deadList
	a.As(app.DemoOperatorKey, "").Must(http.StatusOK, "GET", "/v1/webhooks/dead", nil, &dl)
	var replay struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	a.As(app.DemoOperatorKey, "").Must(http.StatusAccepted, "POST", "/v1/webhooks/dead/"+dl.Data[1].ID+"/replay", nil, &replay)
	if replay.Status != "requeued" {
		t.Fatalf("replay %+v", replay)
	}
	kirimtest.WaitFor(t, "the replayed change back in the dead letters", 10*time.Second, func() bool {
		var again deadList
		a.As(app.DemoOperatorKey, "").Must(http.StatusOK, "GET", "/v1/webhooks/dead", nil, &again)
		return len(again.Data) == 2 && again.Data[1].ID != dl.Data[1].ID
	})
	checkDead()

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m, a = apptest.Start(t, load(), "kirim_demo_key_change_me")
	checkDead()
	for _, p := range []string{"+6281200000001", "+6281200000002", "+6281200000003"} {
		if !windowOpen(a, p) {
			t.Errorf("%s: window closed after the restart", p)
		}
	}
	// After the restart a normal message still goes through at once.
	postWebhook(t, "http://"+m.APIAddr, notification(inboundChange("6281200000004", "wamid.good4", now)))
	kirimtest.WaitFor(t, "a window after the restart", 10*time.Second, func() bool { return windowOpen(a, "+6281200000004") })
}
