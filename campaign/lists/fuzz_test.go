package lists

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// FuzzImportCSV: any file is either refused whole before anything is created, or
// imported with every data row accounted for exactly once (imported, duplicate or
// reported), the list's count equal to what was imported, and members in phone order.
func FuzzImportCSV(f *testing.F) {
	for _, name := range []string{"excel_id_semicolon.csv", "comma_quoted.csv", "tabs.tsv", "no_phone.csv", "duplicate_header.csv", "empty.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("phone\n"))
	f.Add([]byte("phone;nama\r\n\"0812\n3456\";\"x\"\"y\"\r\n;;\n081234567890;a;b;c\n"))
	f.Add([]byte("\uFEFFNo HP\tNama\n6.28123456789E+12\tBudi\n'0812-3456-7890\tBudi\n"))
	f.Add([]byte("hp,\"a\nb\",c\n0812345678901,\"unclosed\n"))
	s := newStore(f)
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 1<<20 {
			return
		}
		list := fmt.Sprintf("fuzz %d", n.Add(1))
		im, err := s.ImportSync(context.Background(), ImportRequest{Account: "a", ListName: list, Body: bytes.NewReader(body)})
		if err != nil {
			if !errors.Is(err, ErrNoPhoneColumn) && !errors.Is(err, ErrBadHeader) && !errors.Is(err, ErrLegacyFormat) {
				t.Fatalf("unexpected error %v", err)
			}
			if ls, _ := s.Lists("a"); len(ls) > 0 && ls[len(ls)-1].Name == list {
				t.Fatalf("a refused file created list %s", list)
			}
			return
		}
		if im.Status != StatusDone {
			t.Fatalf("import %s: %s", im.Status, im.Error)
		}
		if im.Imported+im.Duplicates+im.ErrorsTotal != im.RowsTotal || im.RowsDone != im.RowsTotal {
			t.Fatalf("imported %d + duplicates %d + errors %d != rows %d (done %d)", im.Imported, im.Duplicates, im.ErrorsTotal, im.RowsTotal, im.RowsDone)
		}
		if int64(len(im.Errors)) != min(im.ErrorsTotal, MaxRowErrors) {
			t.Fatalf("%d errors kept of %d", len(im.Errors), im.ErrorsTotal)
		}
		var last int64 = 1
		for _, e := range im.Errors {
			if e.Row <= last || e.Column == "" || e.Message == "" {
				t.Fatalf("row error %+v after row %d", e, last)
			}
			last = e.Row
		}
		l, err := s.List("a", im.ListID)
		if err != nil {
			t.Fatal(err)
		}
		ms := members(t, s, im.ListID)
		if l.Count != im.Imported || int64(len(ms)) != im.Imported {
			t.Fatalf("count %d, members %d, imported %d", l.Count, len(ms), im.Imported)
		}
		for i := 1; i < len(ms); i++ {
			if ms[i-1].Phone >= ms[i].Phone {
				t.Fatalf("members out of order: %s, %s", ms[i-1].Phone, ms[i].Phone)
			}
		}
		for _, m := range ms {
			for k, v := range m.Vars {
				if len(v) > MaxCellBytes || bytes.ContainsAny([]byte(v), "\r\n\t") || bytes.Contains([]byte(v), []byte("  ")) {
					t.Fatalf("variable %s = %q not cleaned", k, v)
				}
			}
		}
		// Deleting keeps the store small across iterations, and exercises Delete.
		if err := s.Delete(context.Background(), "a", im.ListID); err != nil {
			t.Fatal(err)
		}
		if ids, _ := s.ListsOf("a", firstPhone(ms)); len(ids) != 0 {
			t.Fatalf("deleted list still indexed: %v", ids)
		}
	})
}

func firstPhone(ms []Member) string {
	if len(ms) == 0 {
		return "+6281234567890"
	}
	return ms[0].Phone
}
