package lists

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"kirim/phone"
)

func TestImportFiles(t *testing.T) {
	lostDigits := `phone number "6.28123E+12" lost digits in scientific notation: format the column as text in the spreadsheet and export again`
	cases := []struct {
		file       string
		format     string
		imported   int64
		duplicates int64
		errors     []RowError
		columns    []string
		members    []Member
	}{
		{
			file: "excel_id_semicolon.csv", format: FormatCSV, imported: 6, duplicates: 1,
			errors: []RowError{
				{Row: 7, Column: "phone", Message: lostDigits},
				{Row: 8, Column: "phone", Message: `invalid phone number "12345"`},
				{Row: 10, Column: "phone", Message: "empty phone number"},
				{Row: 11, Column: "E", Message: "too many columns: the row has a value in column E, the header has 4 columns"},
			},
			columns: []string{"kota", "catatan"},
			members: []Member{
				// The quoted line break is a space; the later row for the same number
				// (row 9) is a duplicate and the first one wins.
				{Phone: "+6281234567890", Name: "Budi Santoso", Vars: map[string]string{"kota": "Jakarta", "catatan": "Pelanggan lama"}},
				{Phone: "+6281298765430", Name: "Siti Aminah", Vars: map[string]string{"kota": "Bandung"}},
				{Phone: "+6281311112222", Name: "Andi", Vars: map[string]string{"kota": "Surabaya", "catatan": "VIP"}},
				{Phone: "+6281355556666", Name: "Lina", Vars: map[string]string{"kota": "Makassar"}},
				{Phone: "+6285711112222", Name: "Eko", Vars: map[string]string{"kota": "Yogyakarta", "catatan": "lots of spaces"}},
				{Phone: "+6285712345678", Name: "Dewi", Vars: map[string]string{"kota": "Denpasar"}},
			},
		},
		{
			file: "comma_quoted.csv", format: FormatCSV, imported: 3, duplicates: 1,
			errors:  []RowError{{Row: 5, Column: "phone", Message: `invalid phone number "abc"`}},
			columns: []string{"first_name", "voucher_code", "e_mail"},
			members: []Member{
				{Phone: "+14155550100", Vars: map[string]string{"first_name": "Tom Smith", "voucher_code": "V-005", "e_mail": "tom@example.com"}},
				{Phone: "+6281211110001", Vars: map[string]string{"first_name": "Ani", "voucher_code": "V-001", "e_mail": "ani@example.com"}},
				{Phone: "+6281211110002", Vars: map[string]string{"first_name": `Bayu "B" Putra`, "voucher_code": "V-002, promo", "e_mail": "bayu@example.com"}},
			},
		},
		{
			file: "tabs.tsv", format: FormatCSV, imported: 2, errors: []RowError{}, columns: []string{"kota"},
			members: []Member{
				{Phone: "+6281277770001", Name: "Wati", Vars: map[string]string{"kota": "Padang"}},
				{Phone: "+6281277770002", Name: "Yusuf", Vars: map[string]string{"kota": "Palu"}},
			},
		},
		{
			// Numeric phone cells (one shown as 6.28E+12), dates shown as ISO dates, a
			// blank row 5 that still counts, and a second sheet that is ignored.
			file: "contacts.xlsx", format: FormatXLSX, imported: 5, duplicates: 1,
			errors: []RowError{
				{Row: 8, Column: "phone", Message: `invalid phone number "bukan nomor"`},
				{Row: 9, Column: "phone", Message: `invalid phone number "62811"`},
			},
			columns: []string{"tanggal_daftar", "poin", "catatan"},
			members: []Member{
				{Phone: "+6281234567890", Name: "Budi", Vars: map[string]string{"tanggal_daftar": "2026-01-15", "poin": "120", "catatan": "pelanggan lama"}},
				{Phone: "+6281298765430", Name: "Siti", Vars: map[string]string{"tanggal_daftar": "2026-02-15", "poin": "75.5"}},
				{Phone: "+6281311112222", Name: "Andi", Vars: map[string]string{"tanggal_daftar": "2026-03-18", "poin": "0"}},
				{Phone: "+6281399990000", Name: "Eko", Vars: map[string]string{"poin": "12", "catatan": "pelanggan lama"}},
				{Phone: "+6285712345678", Name: "Dewi", Vars: map[string]string{"catatan": "baris kedua"}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			s := newStore(t)
			im, err := importFile(t, s, "acct_a", "Pelanggan", tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if im.Status != StatusDone || im.Error != "" {
				t.Fatalf("status %s (%s), want done", im.Status, im.Error)
			}
			if im.Format != tc.format {
				t.Errorf("format %s, want %s", im.Format, tc.format)
			}
			rows := tc.imported + tc.duplicates + int64(len(tc.errors))
			if im.Imported != tc.imported || im.Duplicates != tc.duplicates || im.ErrorsTotal != int64(len(tc.errors)) ||
				im.RowsTotal != rows || im.RowsDone != rows || im.Progress != 1 {
				t.Errorf("imported %d duplicates %d errors %d rows %d/%d progress %v, want %d %d %d %d",
					im.Imported, im.Duplicates, im.ErrorsTotal, im.RowsDone, im.RowsTotal, im.Progress,
					tc.imported, tc.duplicates, len(tc.errors), rows)
			}
			if !reflect.DeepEqual(im.Errors, tc.errors) {
				t.Errorf("row errors\n got %+v\nwant %+v", im.Errors, tc.errors)
			}
			stored, err := s.GetImport("acct_a", im.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stored, im) {
				t.Errorf("stored import %+v differs from the returned one %+v", stored, im)
			}
			l, err := s.List("acct_a", im.ListID)
			if err != nil {
				t.Fatal(err)
			}
			if l.Name != "Pelanggan" || l.Count != tc.imported || l.ImportID != im.ID || !reflect.DeepEqual(l.Columns, tc.columns) {
				t.Errorf("list %+v, want count %d columns %v", l, tc.imported, tc.columns)
			}
			if got := members(t, s, im.ListID); !reflect.DeepEqual(got, tc.members) {
				t.Errorf("members\n got %+v\nwant %+v", got, tc.members)
			}
		})
	}
}

func TestImportRefusesWholeFile(t *testing.T) {
	cases := []struct {
		file string
		want error
		msg  string
	}{
		{"no_phone.csv", ErrNoPhoneColumn, "headers seen: Nama, Email, Kota"},
		{"duplicate_header.csv", ErrBadHeader, `columns C ("First Name") and D ("first-name") both become first_name`},
		{"two_phone_columns.csv", ErrBadHeader, `columns A ("No HP") and B ("WhatsApp") are both read as the phone column`},
		{"legacy.xls", ErrLegacyFormat, "save the file as .xlsx"},
		{"empty.csv", ErrBadHeader, "the file is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			s := newStore(t)
			_, err := importFile(t, s, "acct_a", "Pelanggan", tc.file)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want %v containing %q", err, tc.want, tc.msg)
			}
			if ls, err := s.Lists("acct_a"); err != nil || len(ls) != 0 {
				t.Fatalf("lists %v %v, want none created", ls, err)
			}
		})
	}
}

func TestImportRefusesRequest(t *testing.T) {
	s := newStore(t)
	cases := []struct {
		name string
		req  ImportRequest
	}{
		{"no account", ImportRequest{ListName: "x", Body: strings.NewReader("phone\n081234567890\n")}},
		{"blank name", ImportRequest{Account: "a", ListName: "  ", Body: strings.NewReader("phone\n081234567890\n")}},
		{"long name", ImportRequest{Account: "a", ListName: strings.Repeat("n", MaxListNameBytes+1), Body: strings.NewReader("phone\n")}},
		{"control in name", ImportRequest{Account: "a", ListName: "a\x00b", Body: strings.NewReader("phone\n")}},
		{"no body", ImportRequest{Account: "a", ListName: "x"}},
	}
	for _, tc := range cases {
		if _, err := s.ImportSync(context.Background(), tc.req); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: err %v, want ErrInvalidRequest", tc.name, err)
		}
	}
}

func TestNormalizeHeader(t *testing.T) {
	cases := map[string]string{
		"First Name":        "first_name",
		"\uFEFFPHONE":       "phone",
		"  No. HP  ":        "no_hp",
		"Nomor--WA":         "nomor_wa",
		"E-mail":            "e_mail",
		"Kode_Voucher 2026": "kode_voucher_2026",
		"(Kota)":            "kota",
		"Município":         "município",
		"   ":               "",
	}
	for in, want := range cases {
		if got := NormalizeHeader(in); got != want {
			t.Errorf("NormalizeHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaderAliases(t *testing.T) {
	for _, h := range []string{"PHONE", "Phone Number", "No HP", "nomor", "WhatsApp", "wa", "MSISDN", "hp", "Telepon", "No. Telp"} {
		hdr, err := parseHeader([]string{"Nama", h, "Kota"})
		if err != nil || hdr.phone != 1 || hdr.name != 0 || !reflect.DeepEqual(hdr.cols, []string{"kota"}) {
			t.Errorf("header %q: %+v %v, want phone at 1, name at 0, columns [kota]", h, hdr, err)
		}
	}
	if _, err := parseHeader(make([]string, 0)); !errors.Is(err, ErrBadHeader) {
		t.Errorf("empty header: %v", err)
	}
	many := []string{"phone"}
	for i := range MaxColumns {
		many = append(many, "c"+strings.Repeat("x", i))
	}
	if _, err := parseHeader(many); !errors.Is(err, ErrBadHeader) || !strings.Contains(err.Error(), "more than 64 columns") {
		t.Errorf("too many columns: %v", err)
	}
}

func TestCleanPhone(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"081234567890", "+6281234567890", ""},
		{"81234567890", "+6281234567890", ""},
		{"6281234567890", "+6281234567890", ""},
		{"+62 812-3456-7890", "+6281234567890", ""},
		{"'081234567890", "+6281234567890", ""},
		{"81234567890.0", "+6281234567890", ""},
		{"6281234567890.00", "+6281234567890", ""},
		{"6.28123456789E+12", "+6281234567890", ""},
		{"6,28123456789E+12", "+6281234567890", ""},
		{"6.281234567E+12", "+6281234567000", ""},
		{"6.28123E+12", "", "lost digits"},
		{"6.2812345678901E+12", "", "invalid phone number"},
		{"", "", "empty phone number"},
		{"0812.5", "", "invalid phone number"},
		{"12345", "", "invalid phone number"},
		// Letters are not keypad digits, and an extension is not dropped.
		{"0812-ABCD-7890", "", `invalid phone number "0812-ABCD-7890"`},
		{"+62 812 3456 7890 ext. 12", "", "invalid phone number"},
		{"081234567890#12", "", "invalid phone number"},
	}
	for _, tc := range cases {
		got, err := cleanPhone(tc.in, "ID")
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("cleanPhone(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestCleanValue(t *testing.T) {
	cases := map[string]string{
		"plain":                 "plain",
		"  trim  ":              "trim",
		"line\r\nbreak":         "line break",
		"tab\there":             "tab here",
		"five     spaces":       "five spaces",
		"ctl\x00\x07char":       "ctlchar",
		"bad \xff utf8":         "bad \uFFFD utf8",
		"nbsp\u00a0\u00a0space": "nbsp space",
	}
	for in, want := range cases {
		if got := cleanValue(in); got != want {
			t.Errorf("cleanValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSniffSeparator(t *testing.T) {
	cases := map[string]rune{
		"phone,name\n":              ',',
		"phone;name;kota\n":         ';',
		"phone\tname\n":             '\t',
		`"a;b",c` + "\n":            ',',
		"phone\n":                   ',',
		"phone;name\na,b,c,d,e,f\n": ';',
	}
	for in, want := range cases {
		if got := sniffSeparator([]byte(in)); got != want {
			t.Errorf("sniffSeparator(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestImportCellLimits: a cell over MaxCellBytes makes its row an error naming the
// column; the rest of the file is imported.
func TestImportCellLimits(t *testing.T) {
	s := newStore(t)
	body := "phone,nama,kode\n081234567890,Budi," + strings.Repeat("x", MaxCellBytes+1) + "\n081234567891," + strings.Repeat("y", MaxCellBytes+1) + ",K1\n081234567892,Ani,K2\n"
	im, err := s.ImportSync(context.Background(), ImportRequest{Account: "a", ListName: "x", Body: strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	want := []RowError{{Row: 2, Column: "kode", Message: "longer than 1024 bytes"}, {Row: 3, Column: "name", Message: "longer than 1024 bytes"}}
	if im.Imported != 1 || !reflect.DeepEqual(im.Errors, want) {
		t.Fatalf("imported %d errors %+v, want 1 and %+v", im.Imported, im.Errors, want)
	}
}

// TestImportUnclosedQuote: a quote left open swallows the file; the import stops once
// the record passes MaxRecordBytes instead of buffering the rest, keeping earlier rows.
func TestImportUnclosedQuote(t *testing.T) {
	s := newStore(t)
	var b strings.Builder
	b.WriteString("phone,nama\n081234567890,Budi\n081234567891,\"Ani\n")
	for b.Len() < 2*MaxRecordBytes+4*csvBuffer {
		b.WriteString("081234567892,Someone\n")
	}
	im, err := s.ImportSync(context.Background(), ImportRequest{Account: "a", ListName: "x", Body: strings.NewReader(b.String())})
	if err != nil {
		t.Fatal(err)
	}
	if im.Status != StatusFailed || !strings.Contains(im.Error, "unclosed quote") || im.Imported != 1 {
		t.Fatalf("import %+v, want failed on the unclosed quote with 1 row kept", im)
	}
	l, err := s.List("a", im.ListID)
	if err != nil || l.Count != 1 {
		t.Fatalf("list %+v %v, want count 1", l, err)
	}
}

// TestFastLocalMatchesNormalize: the Indonesian shortcut answers what the general
// parser would for every form it takes, and declines what it cannot read.
func TestFastLocalMatchesNormalize(t *testing.T) {
	forms := []string{
		"081234567890", "0812-3456-7890", "0812 3456 7890", "(0812) 3456.7890", "81234567890", "6281234567890",
		"62 812 3456 7890", "0215551234", "(021) 555-1234", "215551234", "62215551234", "0361123456", "08123456",
		"0812345678901234", "628", "0", "0000000000", "00628123456789", "6200000000000", "0800123456", "0809123456789",
		"6281234567", "08571234567", "628571234567890", "1234567890", "4155550100", "14155550100", "447700900123",
	}
	for i := range 2000 {
		forms = append(forms, fmt.Sprintf("08%d%09d", i%10, i*7919%1_000_000_000), fmt.Sprintf("%d%08d", 2+i%8, i*104729%100_000_000))
	}
	for _, f := range forms {
		want, werr := phone.Normalize(f, "ID")
		got, ok := fastLocal(f, "ID")
		if ok && (werr != nil || got != want) {
			t.Errorf("fastLocal(%q) = %q, Normalize = %q, %v", f, got, want, werr)
		}
	}
	if _, ok := fastLocal("0812345678", "MY"); ok {
		t.Error("fastLocal took another region")
	}
}

// TestImportTakesOverASpooledFile: a file already received is imported from the start
// and removed afterwards, and removed too when the import is refused, early (the
// request) or late (the header).
func TestImportTakesOverASpooledFile(t *testing.T) {
	s := newStore(t)
	spooled := func(content string) *os.File {
		f, err := os.CreateTemp(t.TempDir(), "upload-*")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(content); err != nil { // left at the end, as a copy leaves it
			t.Fatal(err)
		}
		return f
	}
	gone := func(f *os.File) {
		t.Helper()
		if _, err := os.Stat(f.Name()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", f.Name(), err)
		}
	}
	f := spooled("phone,name\n081211110001,Budi\n081211110002,Ani\n")
	im, err := s.ImportSync(context.Background(), ImportRequest{Account: "acct_a", ListName: "p", Spooled: f})
	if err != nil || im.Imported != 2 {
		t.Fatalf("import %+v, %v; want 2 imported", im, err)
	}
	gone(f)
	f = spooled("nama,email\nBudi,b@x\n")
	if _, err := s.ImportSync(context.Background(), ImportRequest{Account: "acct_a", ListName: "p", Spooled: f}); !errors.Is(err, ErrNoPhoneColumn) {
		t.Fatalf("no phone column: %v", err)
	}
	gone(f)
	f = spooled("phone\n081211110001\n")
	if _, err := s.ImportSync(context.Background(), ImportRequest{ListName: "p", Spooled: f}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("no account: %v", err)
	}
	gone(f)
}
