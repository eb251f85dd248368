package cli

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kirim/api"
	"kirim/campaign/lists"
	"kirim/clock"
	"kirim/storage"
)

// TestCmdImport runs `kirim import` against the API over HTTP: the file is streamed
// up, the import followed to its end, and the row errors and list printed.
func TestCmdImport(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	db, err := storage.Open(storage.Options{InMemory: true, MemTableSize: 8 << 20, NumMemtables: 2, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := lists.Open(db, clock.Real{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const key = "kirim_test_import_key"
	server, err := api.New(api.Options{Lists: st, Logger: quiet,
		Accounts: []api.Account{{ID: "acct_a", Currency: "IDR", DefaultRegion: "ID"}},
		Keys:     []api.Key{{Name: "c", Account: "acct_a", Scopes: []string{api.ScopeCampaigns, api.ScopeSend}, SHA256: api.HashKey(key)}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.Handler())
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	file := filepath.Join("..", "campaign", "lists", "testdata", "excel_id_semicolon.csv")
	err = Run(context.Background(), []string{"import", file, "--list", "Pelanggan", "--server", srv.URL, "--key", key}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		`row 7, phone: phone number "6.28123E+12" lost digits`,
		"row 11, E: too many columns",
		`import: done: 6 imported, 1 duplicates, 4 errors of 11 rows into list lst_`,
		`("Pelanggan")`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(stderr.String(), "import [########################] 100% 11/11 rows: 6 imported, 1 duplicates, 4 errors") {
		t.Errorf("stderr lacks the final progress line:\n%s", stderr.String())
	}
	if ls, _ := st.Lists("acct_a"); len(ls) != 1 || ls[0].Count != 6 {
		t.Fatalf("lists %+v", ls)
	}

	// A refused file: the server's message, nothing created.
	noPhone := filepath.Join(t.TempDir(), "no_phone.csv")
	if err := os.WriteFile(noPhone, []byte("Nama,Kota\nBudi,Jakarta\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), []string{"import", noPhone, "--list", "Other", "--server", srv.URL, "--key", key}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "no phone column") || !strings.Contains(err.Error(), "missing_phone_column") {
		t.Fatalf("refused import: %v", err)
	}
	if err := Run(context.Background(), []string{"import", file}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "--list") {
		t.Fatalf("without --list: %v", err)
	}
}
