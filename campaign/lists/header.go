package lists

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PhoneAliases are the normalized headers read as the phone column. Indonesian sheets
// say "No HP", "Nomor WA", "Telepon"; exports from other tools say "msisdn", "mobile".
var PhoneAliases = []string{
	"phone", "phone_number", "phone_no", "phonenumber", "mobile", "mobile_number", "mobile_phone", "cell", "cellphone",
	"whatsapp", "whatsapp_number", "wa", "wa_number", "msisdn", "wa_id",
	"hp", "no_hp", "nohp", "nomor_hp", "nomer_hp", "handphone", "no_handphone", "nomor_handphone",
	"nomor", "nomer", "no_wa", "nowa", "nomor_wa", "nomer_wa", "nomor_whatsapp", "no_whatsapp",
	"telepon", "telpon", "telp", "no_telp", "no_telepon", "nomor_telepon", "tel", "telephone",
}

// NameAliases are the normalized headers read as the contact's name.
var NameAliases = []string{"name", "nama", "nama_lengkap", "full_name", "fullname", "customer_name", "nama_pelanggan", "contact_name"}

var (
	phoneAlias = toSet(PhoneAliases)
	nameAlias  = toSet(NameAliases)
)

func toSet(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// NormalizeHeader turns a header cell into a variable name: a UTF-8 byte order mark and
// surrounding space removed, lower case, and every run of characters other than
// letters and digits (spaces, dashes, dots, brackets...) made one underscore, with none
// at either end. "First Name" is first_name, "No. HP" no_hp, "E-mail" e_mail.
func NormalizeHeader(h string) string {
	h = strings.TrimPrefix(h, "\uFEFF")
	h = strings.ToValidUTF8(h, "")
	var b strings.Builder
	b.Grow(len(h))
	sep := false
	for _, r := range h {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			sep = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		sep = true
	}
	return b.String()
}

// header is a file's first non-blank row, resolved.
type header struct {
	phone int   // cell index of the phone column
	name  int   // cell index of the name column, -1 when absent
	vars  []int // cell index -> position in the file's columns, -1 for phone, name and blank headers
	cols  []string
	width int // cells in the header row, blank trailing ones included
}

// parseHeader resolves a header row. A blank header cell's column is ignored. Two
// cells that normalize to the same name, or two phone (or name) columns, are refused
// naming both.
func parseHeader(cells []string) (*header, error) {
	h := &header{phone: -1, name: -1, width: len(cells), vars: make([]int, len(cells))}
	seen := map[string]int{}
	used := 0
	for i, raw := range cells {
		h.vars[i] = -1
		if len(raw) > MaxCellBytes {
			return nil, fmt.Errorf("%w: column %s: header longer than %d bytes", ErrBadHeader, columnLetter(i), MaxCellBytes)
		}
		n := NormalizeHeader(raw)
		if n == "" {
			continue
		}
		key := n
		switch {
		case phoneAlias[n]:
			key = "phone"
		case nameAlias[n]:
			key = "name"
		}
		if j, dup := seen[key]; dup {
			what := "both become " + key
			if key == "phone" || key == "name" {
				what = "are both read as the " + key + " column"
			}
			return nil, fmt.Errorf("%w: columns %s (%q) and %s (%q) %s", ErrBadHeader,
				columnLetter(j), clip(cells[j]), columnLetter(i), clip(raw), what)
		}
		seen[key] = i
		used++
		if used > MaxColumns {
			return nil, fmt.Errorf("%w: more than %d columns", ErrBadHeader, MaxColumns)
		}
		switch key {
		case "phone":
			h.phone = i
		case "name":
			h.name = i
		default:
			h.vars[i] = len(h.cols)
			h.cols = append(h.cols, n)
		}
	}
	if used == 0 {
		return nil, fmt.Errorf("%w: the file is empty", ErrBadHeader)
	}
	if h.phone < 0 {
		return nil, fmt.Errorf("%w (headers seen: %s): head it phone, No HP, WhatsApp or another accepted name", ErrNoPhoneColumn,
			clip(strings.Join(nonBlank(cells), ", ")))
	}
	return h, nil
}

func nonBlank(xs []string) []string {
	var out []string
	for _, x := range xs {
		if strings.TrimSpace(x) != "" {
			out = append(out, strings.TrimSpace(x))
		}
	}
	return out
}

// columnLetter is the spreadsheet name of the 0-based column i: A, B, ..., Z, AA.
func columnLetter(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append([]byte{byte('A' + (i-1)%26)}, b...)
	}
	return string(b)
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 64
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
