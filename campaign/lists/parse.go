package lists

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"kirim/phone"
)

// Formats of an import.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

const (
	// sniffBytes is how much of a CSV file is read to pick its separator.
	sniffBytes = 64 << 10
	// csvBuffer is the read buffer under the CSV reader.
	csvBuffer = 64 << 10
	// xlsxInMemory is the largest worksheet (or shared strings) part kept in memory;
	// bigger ones are unzipped to a temporary file and streamed from there.
	xlsxInMemory = 4 << 20
	// xlsxDatePattern renders date cells: ISO, so "03/04" is never read the wrong way round.
	xlsxDatePattern = "yyyy-mm-dd"
)

var (
	zipMagic = []byte("PK\x03\x04")
	// oleMagic starts legacy .xls workbooks, and also encrypted .xlsx ones.
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// source yields a file's rows.
type source interface {
	// next returns the next row's spreadsheet row number (1-based, blank rows
	// counted), its cells as shown, and, for workbooks, the cells' raw values (numbers
	// unformatted) or nil. io.EOF ends the file. The slices are valid until the next call.
	next() (row int64, cells, raw []string, err error)
	// progress is the share of the file read so far, and whether it is known.
	progress() (float64, bool)
	// estimate is the number of rows the file declares (header included), or 0.
	estimate() int64
	close() error
}

// sniffFormat picks the reader from the file's first bytes, then its name.
func sniffFormat(head []byte, filename string) (string, error) {
	ext := strings.ToLower(filename)
	if i := strings.LastIndexByte(ext, '.'); i >= 0 {
		ext = ext[i:]
	} else {
		ext = ""
	}
	switch {
	case bytes.HasPrefix(head, oleMagic):
		return "", fmt.Errorf("%w (or the workbook is password-protected: remove the password)", ErrLegacyFormat)
	case bytes.HasPrefix(head, zipMagic):
		return FormatXLSX, nil
	case ext == ".xls":
		return "", ErrLegacyFormat
	case ext == ".xlsx" || ext == ".xlsm":
		return "", fmt.Errorf("%w: %s is not a valid .xlsx workbook", ErrBadHeader, filename)
	}
	return FormatCSV, nil
}

// csvSource reads a CSV file: any of ',', ';' or tab as separator (picked from the
// header line), a UTF-8 byte order mark, quoted cells with line breaks, bare quotes.
type csvSource struct {
	f    *os.File
	size int64
	cr   *countingReader
	r    *csv.Reader
	row  int64 // row number of the last record
	line int   // line the last record started on
	span int   // lines the last record covered
}

func openCSV(f *os.File, size int64) (*csvSource, error) {
	cr := &countingReader{r: f}
	br := bufio.NewReaderSize(cr, csvBuffer)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\uFEFF")) {
		_, _ = br.Discard(3)
	}
	head, _ := br.Peek(sniffBytes)
	r := csv.NewReader(br)
	r.Comma = sniffSeparator(head)
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	return &csvSource{f: f, size: size, cr: cr, r: r, span: 1}, nil
}

// sniffSeparator returns the separator that occurs most often, outside quotes, in the
// first line: Excel in Indonesian (and most European) locales writes ';'.
func sniffSeparator(head []byte) rune {
	var comma, semi, tab int
	quoted := false
	for _, c := range head {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if c == '\n' {
			break
		}
		switch c {
		case ',':
			comma++
		case ';':
			semi++
		case '\t':
			tab++
		}
	}
	switch {
	case semi > comma && semi >= tab:
		return ';'
	case tab > comma && tab > semi:
		return '\t'
	}
	return ','
}

func (s *csvSource) next() (int64, []string, []string, error) {
	s.cr.mark()
	rec, err := s.r.Read()
	if err != nil {
		if errors.Is(err, errRecordTooLong) {
			return 0, nil, nil, fmt.Errorf("after row %d: a record longer than %d bytes (an unclosed quote?)", s.row, MaxRecordBytes)
		}
		return 0, nil, nil, err
	}
	line, _ := s.r.FieldPos(0)
	// encoding/csv skips blank lines; a spreadsheet shows each as a row, so they are
	// counted to keep row numbers the ones users see.
	blank := max(line-(s.line+s.span), 0)
	s.row += 1 + int64(blank)
	s.line = line
	s.span = 1
	for _, c := range rec {
		s.span += strings.Count(c, "\n")
	}
	return s.row, rec, nil, nil
}

func (s *csvSource) progress() (float64, bool) {
	if s.size <= 0 {
		return 0, false
	}
	return min(float64(s.cr.n)/float64(s.size), 1), true
}

func (s *csvSource) estimate() int64 { return 0 }
func (s *csvSource) close() error    { return nil }

var errRecordTooLong = errors.New("record too long")

// countingReader counts what is read, and fails once a single record has needed more
// than MaxRecordBytes (plus one read-ahead buffer) since mark.
type countingReader struct {
	r    io.Reader
	n    int64
	from int64
}

func (c *countingReader) mark() { c.from = c.n }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n-c.from > MaxRecordBytes+2*csvBuffer {
		return 0, errRecordTooLong
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// xlsxSource streams the first worksheet of a workbook through two row iterators in
// step: one gives cells as shown (dates as dates), the other raw values, read for the
// phone column so that a number formatted as 6.28E+12 or 6,281,234,567,890 keeps its
// digits.
type xlsxSource struct {
	f        *excelize.File
	shown    *excelize.Rows
	raw      *excelize.Rows
	row      int64
	declared int64
}

func openXLSX(path string) (*xlsxSource, error) {
	f, err := excelize.OpenFile(path, excelize.Options{
		UnzipSizeLimit: MaxUnzipBytes, UnzipXMLSizeLimit: xlsxInMemory, ShortDatePattern: xlsxDatePattern,
	})
	if err != nil {
		if errors.Is(err, excelize.ErrWorkbookFileFormat) || errors.Is(err, excelize.ErrWorkbookPassword) {
			return nil, ErrLegacyFormat
		}
		return nil, fmt.Errorf("%w: not a readable .xlsx workbook (%v)", ErrBadHeader, err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		_ = f.Close()
		return nil, fmt.Errorf("%w: the workbook has no sheet", ErrBadHeader)
	}
	x := &xlsxSource{f: f}
	if dim, err := f.GetSheetDimension(sheets[0]); err == nil {
		if _, last, ok := strings.Cut(dim, ":"); ok {
			if _, r, err := excelize.CellNameToCoordinates(last); err == nil {
				x.declared = int64(r)
			}
		}
	}
	if x.shown, err = f.Rows(sheets[0]); err == nil {
		x.raw, err = f.Rows(sheets[0])
	}
	if err != nil {
		_ = x.close()
		return nil, fmt.Errorf("%w: cannot read sheet %q: %v", ErrBadHeader, sheets[0], err)
	}
	return x, nil
}

func (x *xlsxSource) next() (int64, []string, []string, error) {
	if !x.shown.Next() || !x.raw.Next() {
		if err := x.shown.Error(); err != nil {
			return 0, nil, nil, fmt.Errorf("after row %d: %w", x.row, err)
		}
		return 0, nil, nil, io.EOF
	}
	x.row++
	cells, err := x.shown.Columns()
	if err != nil {
		return 0, nil, nil, fmt.Errorf("row %d: %w", x.row, err)
	}
	raw, err := x.raw.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return 0, nil, nil, fmt.Errorf("row %d: %w", x.row, err)
	}
	return x.row, cells, raw, nil
}

func (x *xlsxSource) progress() (float64, bool) {
	if x.declared <= 0 {
		return 0, false
	}
	return min(float64(x.row)/float64(x.declared), 1), true
}

func (x *xlsxSource) estimate() int64 { return x.declared }

func (x *xlsxSource) close() error {
	if x.shown != nil {
		_ = x.shown.Close()
	}
	if x.raw != nil {
		_ = x.raw.Close()
	}
	return x.f.Close()
}

// cleanValue makes a cell usable as a WhatsApp template parameter, which may not hold
// line breaks, tabs or more than four spaces in a row: every run of white space
// becomes one space, control characters go, invalid UTF-8 becomes U+FFFD, and the
// ends are trimmed.
func cleanValue(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7F || (c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' ')) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || r == '\uFEFF':
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

var reScientific = regexp.MustCompile(`^\+?([0-9])(?:[.,]([0-9]+))?[eE]\+?([0-9]{1,2})$`)

// minScientificDigits is the fewest significant digits a phone number written in
// scientific notation must keep to be read. Excel's General format shows about six
// (6.28123E+12) when the column is narrow, having dropped the rest; a number written
// with more was written in full precision and only its trailing zeros are implied.
const minScientificDigits = 8

// cleanPhone undoes what spreadsheets do to phone numbers before they are parsed: a
// leading apostrophe (Excel's "keep as text"), a trailing ".0" (a number exported as a
// float) and scientific notation. 6.28123456789E+12 is read as 6281234567890;
// 6.28123E+12 lost digits in the spreadsheet and is refused, since expanding it would
// give someone else's number.
func cleanPhone(raw, region string) (string, error) {
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(raw), "'"))
	if s == "" {
		return "", errors.New("empty phone number")
	}
	if m := reScientific.FindStringSubmatch(s); m != nil {
		exp, _ := strconv.Atoi(m[3])
		frac := strings.TrimRight(m[2], "0")
		switch {
		case len(frac) > exp:
			return "", fmt.Errorf("invalid phone number %q", clip(raw))
		case 1+len(frac) < minScientificDigits:
			return "", fmt.Errorf("phone number %q lost digits in scientific notation: format the column as text in the spreadsheet and export again", clip(raw))
		}
		s = m[1] + frac + strings.Repeat("0", exp-len(frac))
	} else if whole, frac, ok := strings.Cut(s, "."); ok && strings.Trim(frac, "0") == "" && isDigits(whole) {
		s = whole
	}
	if e164, ok := fastLocal(s, region); ok {
		return e164, nil
	}
	e164, err := phone.Normalize(s, region)
	if err != nil {
		return "", fmt.Errorf("invalid phone number %q", clip(raw))
	}
	return e164, nil
}

// fastLocal reads the Indonesian forms spreadsheets are full of (0812-3456-7890,
// 81234567890, 6281234567890) without the general parser, whose patterns cost most of
// an import's time: it rewrites them to +62 form, which phone.Normalize checks without
// parsing. Indonesia's trunk prefix is a plain 0 with no rewriting rules, so the
// rewrite is what the parser would do (a test compares the two); other regions and
// anything unusual take the general path.
func fastLocal(s, region string) (string, bool) {
	if region != "ID" || len(s) > phone.MaxInputLength {
		return "", false
	}
	var buf [phone.MaxInputLength]byte
	d := buf[:0]
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			d = append(d, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	if len(d) < 8 || len(d) > 15 || (len(d) > 1 && d[0] == '0' && d[1] == '0') {
		return "", false
	}
	var cands []string
	if d[0] == '0' {
		cands = []string{"+62" + string(d[1:])}
	} else {
		// The local reading first, as phone.Normalize does.
		cands = []string{"+62" + string(d), "+" + string(d)}
	}
	for _, c := range cands {
		if e164, err := phone.Normalize(c, ""); err == nil {
			return e164, true
		}
	}
	return "", false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validName checks a list name: printable UTF-8, not blank, at most MaxListNameBytes.
func validName(n string) error {
	switch {
	case strings.TrimSpace(n) == "":
		return errors.New("is required")
	case len(n) > MaxListNameBytes:
		return fmt.Errorf("at most %d bytes", MaxListNameBytes)
	case !utf8.ValidString(n):
		return errors.New("is not valid UTF-8")
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return errors.New("may not contain control characters")
		}
	}
	return nil
}
