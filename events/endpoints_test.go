package events

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestURLValidation(t *testing.T) {
	cases := []struct {
		url          string
		allowPrivate bool
		want         string // "" accepted, else a fragment of the error
	}{
		{"https://hooks.example.com/kirim", false, ""},
		{"http://hooks.example.com:8080/x?token=1", false, ""},
		{"https://10.1.2.3/x", true, ""},
		{"http://127.0.0.1:9000/x", true, ""},
		{"http://[::1]:9000/x", true, ""},
		{"http://localhost:9000/x", true, ""},
		{"ftp://hooks.example.com/x", true, "scheme"},
		{"hooks.example.com/x", true, "scheme"},
		{"https:///x", true, "host required"},
		{"https://user:pass@hooks.example.com/x", true, "credentials"},
		{"http://169.254.169.254/latest/meta-data", true, "link-local"},
		{"http://169.254.10.1/x", true, "link-local"},
		{"http://[fe80::1]/x", true, "link-local"},
		{"http://[::ffff:169.254.169.254]/x", true, "link-local"},
		{"http://100.100.100.200/x", true, "metadata"},
		{"http://[fd00:ec2::254]/x", true, "metadata"},
		{"http://metadata.google.internal/x", true, "metadata"},
		{"http://224.0.0.1/x", true, "link-local"},
		{"http://239.1.2.3/x", true, "multicast"},
		{"http://127.0.0.1:9000/x", false, "private"},
		{"http://10.0.0.5/x", false, "private"},
		{"http://172.16.3.4/x", false, "private"},
		{"http://192.168.1.1/x", false, "private"},
		{"http://[fd12::1]/x", false, "private"},
		{"http://0.0.0.0/x", false, "private"},
		{"http://localhost/x", false, "loopback"},
		{"", true, "required"},
	}
	for _, c := range cases {
		o := &Outbox{allowPrivate: c.allowPrivate}
		err := o.checkURL(c.url)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q (private %v): %v", c.url, c.allowPrivate, err)
		case c.want != "" && (err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "url: ")):
			t.Errorf("%q (private %v) = %v, want an ErrInvalid naming url and %q", c.url, c.allowPrivate, err, c.want)
		}
	}
}

func TestDialRefusesWhatValidationCannotSee(t *testing.T) {
	// On 127.0.0.1: where a public name could be rebound to.
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	req := func(c *http.Client) error {
		resp, err := c.Post(srv.URL, "application/json", strings.NewReader("{}"))
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := req(NewHTTPClient(false, 1)); err == nil || !strings.Contains(err.Error(), "private") {
		t.Fatalf("dial to loopback without AllowPrivate = %v, want refused", err)
	}
	if err := req(NewHTTPClient(true, 1)); err != nil {
		t.Fatalf("dial to loopback with AllowPrivate: %v", err)
	}
	if err := dialControl(true)("tcp", "169.254.169.254:80", nil); err == nil {
		t.Fatalf("dial to the metadata address allowed")
	}
	if err := dialControl(true)("tcp6", "[fe80::1%eth0]:80", nil); err == nil {
		t.Fatalf("dial to link-local IPv6 allowed")
	}
}

func TestFilters(t *testing.T) {
	match := []struct {
		filter, typ string
		want        bool
	}{
		{"*", "message.sent", true},
		{"message.*", "message.sent", true},
		{"message.*", "template.status", false},
		{"message.sent", "message.sent", true},
		{"message.sent", "message.sent2", false},
		{"template.*", "template.quality", true},
	}
	for _, c := range match {
		if got := matchFilter(c.filter, c.typ); got != c.want {
			t.Errorf("matchFilter(%q, %q) = %v", c.filter, c.typ, got)
		}
	}
	check := []struct {
		filters []string
		want    string
	}{
		{[]string{"*"}, ""},
		{[]string{"message.*", "balance.low", "endpoint.*"}, ""},
		{nil, "at least one"},
		{[]string{"message.sent", "nope"}, "events[1]"},
		{[]string{"message.sent", "bogus.*"}, "events[1]"},
		{[]string{"message*"}, "events[0]"},
	}
	for _, c := range check {
		err := checkFilters(c.filters)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("checkFilters(%q) = %v, want %q", c.filters, err, c.want)
		}
	}
}

func TestEndpointLifecycle(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Config = []ConfigEndpoint{{URL: "https://ops.example.com/x", Secret: "plain secret", Events: []string{"*"}}}
	})
	ctx := context.Background()
	if _, _, err := f.o.CreateEndpoint(ctx, "acme", EndpointSpec{URL: "https://a.example.com", Events: []string{"nope"}}); err == nil || !strings.HasPrefix(err.Error(), "events[0]") {
		t.Fatalf("create with a bad filter = %v", err)
	}
	ep, secret := f.create("acme", "https://a.example.com/hook", "message.*")
	if !strings.HasPrefix(ep.ID, "cbe_") || ep.Source != SourceAPI || ep.Account != "acme" || len(secret) != len("whsec_")+32 {
		t.Fatalf("created %+v, secret %q", ep, secret)
	}
	got, err := f.o.UpdateEndpoint(ctx, "acme", ep.ID, EndpointPatch{Events: &[]string{"balance.low"}, Description: ptr("billing")})
	if err != nil || got.Events[0] != "balance.low" || got.Description != "billing" {
		t.Fatalf("update = %+v, %v", got, err)
	}
	if _, err := f.o.UpdateEndpoint(ctx, "acme", ep.ID, EndpointPatch{URL: ptr("http://169.254.169.254/")}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("update to a metadata URL = %v", err)
	}
	if _, err := f.o.UpdateEndpoint(ctx, "other", ep.ID, EndpointPatch{Description: ptr("x")}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another account updates = %v", err)
	}
	if _, err := f.o.UpdateEndpoint(ctx, "", "config:0", EndpointPatch{URL: ptr("https://b.example.com")}); !errors.Is(err, ErrConfigEndpoint) {
		t.Fatalf("update of a config URL = %v", err)
	}
	if err := f.o.DeleteEndpoint(ctx, "", "config:0"); !errors.Is(err, ErrConfigEndpoint) {
		t.Fatalf("delete of a config endpoint = %v", err)
	}
	if _, _, err := f.o.RotateSecret(ctx, "", "config:0"); !errors.Is(err, ErrConfigEndpoint) {
		t.Fatalf("rotate of a config endpoint = %v", err)
	}
	if got := f.o.Endpoints(""); len(got) != 2 || got[0].ID != "config:0" || got[1].ID != ep.ID {
		t.Fatalf("Endpoints = %+v", got)
	}
	f.reopen()
	got, err = f.o.Endpoint("acme", ep.ID)
	if err != nil || got.Description != "billing" || got.Events[0] != "balance.low" {
		t.Fatalf("after restart = %+v, %v", got, err)
	}
	if err := f.o.DeleteEndpoint(ctx, "other", ep.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another account deletes = %v", err)
	}
	if err := f.o.DeleteEndpoint(ctx, "acme", ep.ID); err != nil {
		t.Fatal(err)
	}
	f.reopen()
	if _, err := f.o.Endpoint("", ep.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted endpoint still there: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	db := openDB(t, t.TempDir())
	defer db.Close()
	for _, c := range []struct {
		cfg  ConfigEndpoint
		want string
	}{
		{ConfigEndpoint{URL: "ftp://x", Secret: "s", Events: []string{"*"}}, "callbacks[0]: url"},
		{ConfigEndpoint{URL: "https://x.example.com", Events: []string{"*"}}, "secret"},
		{ConfigEndpoint{URL: "https://x.example.com", Secret: "whsec_!!", Events: []string{"*"}}, "secret"},
		{ConfigEndpoint{URL: "https://x.example.com", Secret: "s", Events: []string{"x"}}, "events[0]"},
	} {
		_, err := New(Options{DB: db, Config: []ConfigEndpoint{c.cfg}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New with %+v = %v, want %q", c.cfg, err, c.want)
		}
	}
}
