package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var reAuditRow = regexp.MustCompile(`<tr data-seq="(\d+)">\s*<td>[^<]*</td>\s*<td>[^<]*(?:<span[^>]*>[^<]*</span>)?</td>\s*<td><code>([^<]+)</code>`)

// auditRows returns the actions of the audit page's rows, in order.
func auditRows(body string) []string {
	var out []string
	for _, m := range reAuditRow.FindAllStringSubmatch(body, -1) {
		out = append(out, m[2])
	}
	return out
}

var reNext = regexp.MustCompile(`id="audit-next" href="([^"]+)"`)

// TestAuditPage: an admin reads the account's audit log, filtered by exact action,
// prefix and days, a page at a time; a bad filter marks its field.
func TestAuditPage(t *testing.T) {
	k := start(t)
	k.admin.Must(http.StatusCreated, "POST", "/v1/topups", map[string]any{"amount_micros": 5_000_000_000, "reference": "BCA-1"}, nil)
	// 101 refused key creations: enough records for a second page of one action.
	for range 101 {
		if st, _ := k.admin.Call("POST", "/v1/keys", map[string]any{"name": "bad/name", "scopes": []string{"send"}}); st != http.StatusBadRequest {
			t.Fatalf("refused key: %d", st)
		}
	}
	b := k.client(t)
	b.signIn("demo-admin", "kirim-demo-admin")

	st, _, body := b.get("/console/audit")
	today := time.Now().In(mustLoc(t, "Asia/Jakarta"))
	if st != http.StatusOK || !strings.Contains(body, `value="`+today.AddDate(0, 0, -6).Format(time.DateOnly)+`"`) ||
		!strings.Contains(body, "times in Asia/Jakarta") || !strings.Contains(body, "The last 7 days are shown") {
		t.Fatalf("audit: %d %s", st, body)
	}
	if rows := auditRows(body); len(rows) != 100 || rows[0] != "topup.create" {
		t.Fatalf("first page: %d rows, first %v", len(rows), rows[:min(3, len(rows))])
	}

	cases := []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"exact", url.Values{"action": {"topup.create"}}, []string{"topup.create"}},
		{"prefix", url.Values{"action": {"user.*"}}, []string{"user.sign_in"}},
		{"days", url.Values{"action": {"topup.*"}, "from": {today.Format(time.DateOnly)}, "to": {today.Format(time.DateOnly)}}, []string{"topup.create"}},
		{"days before", url.Values{"from": {"2020-01-01"}, "to": {"2020-01-31"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := b.get("/console/audit?" + tc.query.Encode())
			if got := auditRows(body); st != http.StatusOK || strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("%d: rows %v, want %v", st, got, tc.want)
			}
		})
	}

	// Paging: 101 key.create records, 100 and then 1, the filter kept.
	_, _, body = b.get("/console/audit?action=key.create")
	m := reNext.FindStringSubmatch(body)
	if rows := auditRows(body); len(rows) != 100 || m == nil {
		t.Fatalf("page 1: %d rows, next %v", len(rows), m)
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	_, _, body = b.get(next)
	if rows := auditRows(body); len(rows) != 1 || rows[0] != "key.create" || reNext.MatchString(body) || !strings.Contains(body, "First page") {
		t.Fatalf("page 2 (%s): %v", next, rows)
	}

	for _, tc := range []struct{ query, want string }{
		{"from=2025-13-01", `id="a-from" name="from" type="date" value="2025-13-01" aria-invalid="true"`},
		{"action=Top+Up", `id="a-action" name="action" value="Top Up" placeholder="topup.*" autocomplete="off" aria-invalid="true"`},
		{"cursor=bogus", "cursor: "},
	} {
		if st, _, body := b.get("/console/audit?" + tc.query); st != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s", tc.query, st, body)
		}
	}
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
