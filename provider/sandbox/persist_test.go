package sandbox

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kirim/provider"
)

func templateStatuses(sb *Sandbox) map[string]string {
	out := map[string]string{}
	for _, d := range sb.Templates() {
		out[d.Name+"/"+d.Language] = d.Status
	}
	return out
}

func bodyTemplate(name, text string) *provider.TemplateDefinition {
	return &provider.TemplateDefinition{Name: name, Language: "en_US", Category: "UTILITY",
		Components: []provider.TemplateComponentDef{{Type: "BODY", Text: text,
			Example: &provider.TemplateExample{BodyText: [][]string{{"INV-1"}}}}}}
}

// TestRestartKeepsTemplatesMediaAndCounters: with a data directory, a restarted
// sandbox still has its templates (approved, paused, and one still pending, which is
// reviewed after the restart), its media, and never repeats a wamid or template id,
// even with the same seed.
func TestRestartKeepsTemplatesMediaAndCounters(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	opts := Options{DataDir: dir, PairGap: -1, ReadRate: -1, ReviewDelay: time.Hour, Seed: 3}

	a := newEnv(t, opts, false)
	_, err := a.client(0).CreateTemplate(ctx, bodyTemplate("order_ready", "Your order {{1}} is ready for pickup."))
	mustOK(t, err)
	a.clk.Advance(time.Hour)
	waitUntil(t, func() bool { return templateStatuses(a.sb)["order_ready/en_US"] == "APPROVED" })
	_, err = a.client(0).CreateTemplate(ctx, bodyTemplate("order_late", "Your order {{1}} is running late today."))
	mustOK(t, err)
	mustOK(t, a.sb.SetTemplateStatus("hello_world", "en_US", "PAUSED"))
	file := bytes.Repeat([]byte("pdf "), 100)
	mediaID, err := a.client(0).UploadMedia(ctx, "a.pdf", "application/pdf", bytes.NewReader(file))
	mustOK(t, err)
	gone, err := a.client(0).UploadMedia(ctx, "b.pdf", "application/pdf", bytes.NewReader(file))
	mustOK(t, err)
	mustOK(t, a.sb.DeleteMedia(gone))
	before := a.mustSend(tmplMsg(budi, "order_ready", "INV-1")).Messages[0].ID
	idsBefore := map[string]bool{}
	for _, d := range a.sb.Templates() {
		idsBefore[d.ID] = true
	}
	a.srv.Close()
	a.sb.Close()

	b := newEnv(t, opts, false)
	want := map[string]string{"hello_world/en_US": "PAUSED", "order_ready/en_US": "APPROVED", "order_late/en_US": "PENDING"}
	if got := templateStatuses(b.sb); len(got) != 3 || got["hello_world/en_US"] != want["hello_world/en_US"] ||
		got["order_ready/en_US"] != want["order_ready/en_US"] || got["order_late/en_US"] != want["order_late/en_US"] {
		t.Fatalf("templates after restart %v, want %v", got, want)
	}
	after := b.mustSend(tmplMsg(budi, "order_ready", "INV-2")).Messages[0].ID
	if after == before {
		t.Fatalf("wamid %s repeated after the restart", after)
	}
	b.clk.Advance(time.Hour) // the pending one is reviewed again
	waitUntil(t, func() bool { return templateStatuses(b.sb)["order_late/en_US"] == "APPROVED" })
	created, err := b.client(0).CreateTemplate(ctx, bodyTemplate("order_new", "Your order {{1}} has a new date."))
	mustOK(t, err)
	if idsBefore[created.ID] {
		t.Fatalf("template id %s reused after the restart", created.ID)
	}
	info, err := b.client(0).MediaInfo(ctx, mediaID)
	mustOK(t, err)
	rc, _, _, err := b.client(0).DownloadMedia(ctx, info.URL)
	mustOK(t, err)
	var got bytes.Buffer
	_, _ = got.ReadFrom(rc)
	rc.Close()
	if !bytes.Equal(got.Bytes(), file) || info.MimeType != "application/pdf" {
		t.Fatalf("media after restart: %d bytes %s", got.Len(), info.MimeType)
	}
	if _, err := b.client(0).MediaInfo(ctx, gone); err == nil {
		t.Fatal("deleted media came back after the restart")
	}
	if _, err := os.Stat(filepath.Join(dir, mediaDir, gone)); err == nil {
		t.Fatal("deleted media's file is still on disk")
	}

	// Reset empties the directory too: the next start has only hello_world.
	b.sb.Reset()
	b.srv.Close()
	b.sb.Close()
	c := newEnv(t, opts, false)
	if got := templateStatuses(c.sb); len(got) != 1 || got["hello_world/en_US"] != "APPROVED" {
		t.Fatalf("templates after reset and restart %v", got)
	}
	if _, err := c.client(0).MediaInfo(ctx, mediaID); err == nil {
		t.Fatal("media survived the reset")
	}
	if w := c.mustSend(helloMsg(sari)).Messages[0].ID; w == before || w == after {
		t.Fatalf("wamid %s repeated after reset and restart", w)
	}
}

// TestOpenRefusesBadData: a state file that cannot be read is an error naming it, and
// New falls back to memory.
func TestOpenRefusesBadData(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"not JSON", "{", "state.json"},
		{"other version", `{"version":99}`, "version 99"},
		{"template without name", `{"version":1,"templates":[{"id":"5","waba":"1","definition":{}}]}`, "without id, name or language"},
		{"template twice", `{"version":1,"templates":[{"id":"5","waba":"1","definition":{"name":"a","language":"id"}},` +
			`{"id":"6","waba":"1","definition":{"name":"a","language":"id"}}]}`, "listed twice"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			mustOK(t, os.WriteFile(filepath.Join(dir, stateFile), []byte(c.body), 0o600))
			_, err := Open(Options{DataDir: dir})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v, want an error with %q", err, c.want)
			}
			sb := New(Options{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
			defer sb.Close()
			if sb.Options().DataDir != "" || len(sb.Templates()) != 1 {
				t.Fatalf("New with bad data: data dir %q, %d templates", sb.Options().DataDir, len(sb.Templates()))
			}
		})
	}
}

// TestWamidsUniqueWithoutData: two unseeded sandboxes (a restart without a data
// directory) draw different wamid prefixes; seeded ones repeat theirs.
func TestWamidsUniqueWithoutData(t *testing.T) {
	first := func(o Options) string { return New(o).wamid(1) }
	if a, b := first(Options{}), first(Options{}); a == b {
		t.Fatalf("two unseeded sandboxes both began with %s", a)
	}
	if a, b := first(Options{Seed: 9}), first(Options{Seed: 9}); a != b {
		t.Fatalf("two sandboxes with one seed began with %s and %s", a, b)
	}
}

// TestWamidReservation: crossing the reserved mark writes the next block before the
// number is handed out, so a sandbox killed without Close restarts past every wamid
// it gave.
func TestWamidReservation(t *testing.T) {
	dir := t.TempDir()
	sb, err := Open(Options{DataDir: dir})
	mustOK(t, err)
	mark := sb.persist.reserved.Load()
	sb.seq.Store(mark - 2)
	var last uint64
	for range 3 {
		last = sb.nextWamid() // mark-1, mark (crosses), mark+1
	}
	if got := sb.persist.reserved.Load(); got != mark+wamidBlock {
		t.Fatalf("reserved %d after handing out %d, want %d", got, last, mark+wamidBlock)
	}
	// No Close: the process dies here.
	again, err := Open(Options{DataDir: dir})
	mustOK(t, err)
	if n := again.nextWamid(); n <= last {
		t.Fatalf("after a crash the first wamid is %d, at most the %d handed out before", n, last)
	}
}
