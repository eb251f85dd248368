package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	log, lv, err := New(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "req_1")
	log.With("component", "api").InfoContext(ctx, "served", "status", 200)
	log.Debug("hidden")
	lv.Set(slog.LevelDebug)
	log.Debug("shown")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines %q", lines)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["request_id"] != "req_1" || rec["component"] != "api" || rec["status"] != float64(200) || rec["msg"] != "served" {
		t.Fatalf("record %v", rec)
	}
	buf.Reset()
	text, _, err := New(&buf, "text", "warn")
	if err != nil {
		t.Fatal(err)
	}
	text.InfoContext(ctx, "quiet")
	text.WarnContext(ctx, "loud")
	if got := buf.String(); strings.Contains(got, "quiet") || !strings.Contains(got, "msg=loud request_id=req_1") {
		t.Fatalf("text %q", got)
	}
	for _, bad := range [][2]string{{"xml", "info"}, {"text", "chatty"}} {
		if _, _, err := New(&buf, bad[0], bad[1]); err == nil {
			t.Fatalf("New(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
