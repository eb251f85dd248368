// Package phone owns phone-number normalisation: any common written form of a number
// becomes E.164 (+6281234567890), using the account's default region for local forms
// such as 081234567890, and the digits-only form the provider calls wa_id.
package phone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// MaxInputLength bounds what is parsed; no real number is longer.
const MaxInputLength = 64

// ErrInvalid is wrapped by every normalisation failure.
var ErrInvalid = errors.New("not a valid phone number")

// Refusals of what the parser would read its way around, wrapped with ErrInvalid.
var (
	// ErrLetters: the parser reads letters as keypad digits, so 0812-ABCD-7890 would
	// reach 0812-2223-7890, a number nobody wrote.
	ErrLetters = errors.New("it contains letters: write the number in digits")
	// ErrExtension: the parser drops an extension (ext. 12, x12, #12, ;ext=12), and
	// WhatsApp reaches a whole number, never an extension behind it.
	ErrExtension = errors.New("it has an extension, which WhatsApp cannot reach: leave the extension out")
	// ErrCharacter: a character that is neither a digit nor the punctuation numbers
	// are written with ("+", spaces, "-", ".", "/", brackets).
	ErrCharacter = errors.New("it contains a character that is not part of a phone number")
)

// Normalize returns raw as E.164. region ("ID") applies to numbers written without a
// country code; a number written with "+" or "00" ignores it. Numbers written as
// digits that already start with the region's country code ("6281234567890") are
// accepted as international when that reading is valid and the local reading is not.
// Input with letters (ErrLetters), an extension (ErrExtension) or any other character
// not used to write numbers (ErrCharacter) is refused rather than guessed at.
func Normalize(raw, region string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(s) > MaxInputLength {
		return "", fmt.Errorf("%w: longer than %d characters", ErrInvalid, MaxInputLength)
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if valid, decided := fastE164(s); decided {
		if !valid {
			return "", fmt.Errorf("%w: %q", ErrInvalid, raw)
		}
		return s, nil
	}
	if err := screen(s); err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrInvalid, raw, err)
	}
	if !strings.HasPrefix(s, "+") {
		// Spreadsheets drop the "+" (6281234567890) or keep the trunk zero (0812...).
		if n, err := phonenumbers.Parse(s, region); err == nil && phonenumbers.IsValidNumber(n) {
			return phonenumbers.Format(n, phonenumbers.E164), nil
		}
		if n, err := phonenumbers.Parse("+"+s, ""); err == nil && phonenumbers.IsValidNumber(n) {
			return phonenumbers.Format(n, phonenumbers.E164), nil
		}
		return "", fmt.Errorf("%w: %q", ErrInvalid, raw)
	}
	n, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", fmt.Errorf("%w: %q", ErrInvalid, raw)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// fastE164 validates a number already written as "+" and digits without parsing it
// as free text: the parser's extension and punctuation patterns cost most of a send's
// validation, and API clients mostly send E.164 already. Anything else falls through to
// the full parser.
func fastE164(s string) (valid, decided bool) {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false, false
		}
	}
	for ccLen := 1; ccLen <= 3 && ccLen < len(s)-1; ccLen++ {
		cc, _ := strconv.Atoi(s[1 : 1+ccLen])
		if phonenumbers.GetRegionCodeForCountryCode(cc) == "ZZ" {
			continue
		}
		national := s[1+ccLen:]
		if national[0] == '0' {
			return false, false // leading zeros (Italy) need the full parser
		}
		if r := rulesFor(cc); r != nil {
			return r.check(national)
		}
		nn, err := strconv.ParseUint(national, 10, 64)
		if err != nil {
			return false, false
		}
		n := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(int32(cc)), NationalNumber: proto.Uint64(nn)}
		return phonenumbers.IsValidNumber(n), true
	}
	return false, false
}

// WaID is the provider's form of an E.164 number: digits only.
func WaID(e164 string) string { return strings.TrimPrefix(e164, "+") }

// CallingCode returns the country calling code of an E.164 number ("62"), the market
// rate cards price by; "" if it cannot be read.
func CallingCode(e164 string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	return fmt.Sprint(n.GetCountryCode())
}
