package sandbox

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzFlagValues: the delay and code-rate flag readers refuse what they cannot use
// and never accept a negative delay, a fraction outside 0..1 or a mix above 1.
func FuzzFlagValues(f *testing.F) {
	for _, s := range []string{"2s", "1s..5s", "0", "5s..1s", "-1s", "1s..", "..", "131026=0.05", "131026=0.03,131000=0.01",
		"131026=1.5", "x=0.1", "131026=NaN", "1=0.6,2=0.6", "", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var lo, jit time.Duration
		if (delayFlag{&lo, &jit}).Set(v) == nil && (lo < 0 || jit < 0) {
			t.Fatalf("%q accepted as %v + %v", v, lo, jit)
		}
		var m map[int]float64
		if (codeRatesFlag{&m}).Set(v) == nil {
			sum := 0.0
			for c, r := range m {
				if c <= 0 || r < 0 || r > 1 || r != r {
					t.Fatalf("%q accepted with %d=%v", v, c, r)
				}
				sum += r
			}
			if sum > 1 {
				t.Fatalf("%q accepted with fractions adding up to %v", v, sum)
			}
		}
	})
}

// FuzzStateFile: whatever state.json holds, Open either refuses it with an error or
// starts a sandbox whose templates all have an id, a name and a language.
func FuzzStateFile(f *testing.F) {
	for _, s := range []string{
		`{"version":1,"wamid_reserved":65537,"next_template_id":1000000000000002,"next_media_id":3000000000000002,"wabas":["200000000000001"],` +
			`"templates":[{"id":"1000000000000000","waba":"200000000000001","status":"APPROVED","category":"UTILITY","quality":"GREEN",` +
			`"definition":{"name":"hello_world","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"Hi"}]}}],` +
			`"media":[{"id":"3000000000000001","mime_type":"image/png","sha256":"x","file_size":3}]}`,
		`{"version":1,"templates":[{"id":"7","waba":"9","status":"PENDING","definition":{"name":"a","language":"id"}}]}`,
		`{"version":1}`, `{}`, `null`, `[]`, `{"version":1,"templates":[null]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, stateFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		sb, err := Open(Options{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return
		}
		defer sb.Close()
		for _, d := range sb.Templates() {
			if d.ID == "" || d.Name == "" || d.Language == "" {
				t.Fatalf("template restored without id, name or language: %+v", d)
			}
		}
		if sb.nextWamid() == 0 {
			t.Fatal("wamid 0 handed out")
		}
	})
}
