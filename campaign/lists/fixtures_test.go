package lists

import (
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

var update = flag.Bool("update", false, "regenerate the .xlsx fixtures in testdata")

// TestGenerateFixtures writes testdata/contacts.xlsx, the workbook TestImportFiles
// reads: numeric phone cells (one formatted in scientific notation), date cells,
// shared strings, a blank row and a second sheet that must be ignored. Run with
// -update after changing it; the file is committed.
func TestGenerateFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata/contacts.xlsx")
	}
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Kontak"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		t.Fatal(err)
	}
	date, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		t.Fatal(err)
	}
	sciFmt := "0.00E+00"
	sci, err := f.NewStyle(&excelize.Style{CustomNumFmt: &sciFmt})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	rows := map[int][]any{
		1:  {"Nama", "Nomor WA", "Tanggal Daftar", "Poin", "Catatan"},
		2:  {"Budi", 6281234567890, day, 120, "pelanggan lama"},
		3:  {"Siti", 81298765430.0, day.AddDate(0, 1, 0), 75.5, nil},
		4:  {"Andi", 6281311112222, day.AddDate(0, 2, 3), 0, nil},
		6:  {"Dewi", "0857-1234-5678", nil, nil, "baris\nkedua"},
		7:  {"Budi lagi", "+6281234567890", nil, nil, nil},
		8:  {"Rudi", "bukan nomor", nil, nil, nil},
		9:  {"Hana", 62811, nil, nil, nil},
		10: {"Eko", "081399990000", nil, 12, "pelanggan lama"},
	}
	for r, cells := range rows {
		for c, v := range cells {
			if v == nil {
				continue
			}
			name, _ := excelize.CoordinatesToCellName(c+1, r)
			if err := f.SetCellValue(sheet, name, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, cellName := range []string{"C2", "C3", "C4"} {
		if err := f.SetCellStyle(sheet, cellName, cellName, date); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SetCellStyle(sheet, "B4", "B4", sci); err != nil {
		t.Fatal(err)
	}
	if _, err := f.NewSheet("Catatan"); err != nil {
		t.Fatal(err)
	}
	if err := f.SetCellValue("Catatan", "A1", "this sheet is not imported"); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(filepath.Join("testdata", "contacts.xlsx")); err != nil {
		t.Fatal(err)
	}
}
