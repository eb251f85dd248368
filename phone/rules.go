package phone

import (
	"regexp"
	"slices"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// rules are one region's number patterns from the library's metadata, compiled once.
// The library decides validity by building each pattern's anchored form as a new
// string and looking it up in a shared cache, for each of up to eleven number types,
// matching each pattern twice: about 7 us of every accepted send. A number is valid
// when it matches the general pattern and the pattern of any one type, so these
// check mobile numbers, WhatsApp's usual case, first.
type rules struct {
	general desc
	types   []desc
	// prefix is the region's national prefix for parsing. The parser strips or rewrites
	// a national number that begins with it (Norfolk Island's 5-digit numbers gain a 3),
	// even after a country code, so such numbers go through the parser.
	prefix *regexp.Regexp
}

type desc struct {
	lengths []int32 // possible national lengths; none means the general ones apply
	re      *regexp.Regexp
}

func (d desc) match(national string) bool {
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(national))) {
		return false
	}
	return d.re.MatchString(national)
}

// check answers whether national is valid; decided is false when only the parser can
// tell.
func (r *rules) check(national string) (valid, decided bool) {
	if r.prefix != nil && r.prefix.MatchString(national) {
		return false, false
	}
	if !r.general.match(national) {
		return false, true
	}
	for _, d := range r.types {
		if d.match(national) {
			return true, true
		}
	}
	return false, true
}

// compiled maps a calling code to its *rules; a nil *rules means the code has no single
// region and the library answers.
var compiled sync.Map

// rulesFor returns the compiled rules of the calling code's region, or nil when the
// code is shared by several regions (+1, +7, +44...) or is not geographic: the library
// first picks the region there, and those numbers go through it.
func rulesFor(code int) *rules {
	if r, ok := compiled.Load(code); ok {
		return r.(*rules)
	}
	r, _ := compiled.LoadOrStore(code, compileRules(code))
	return r.(*rules)
}

func compileRules(code int) *rules {
	regions := phonenumbers.GetRegionCodesForCountryCode(code)
	if len(regions) != 1 || regions[0] == "001" {
		return nil
	}
	m := regionMetadata(regions[0])
	if m == nil {
		return nil
	}
	general, ok := compileDesc(m.GetGeneralDesc())
	if !ok {
		return nil
	}
	r := &rules{general: general}
	if p := m.GetNationalPrefixForParsing(); p != "" {
		r.prefix = regexp.MustCompile("^(?:" + p + ")")
	}
	// The library tests mobile only when its pattern differs from fixed line's; when
	// they are the same, fixed line's test answers for both.
	typeDescs := []*phonenumbers.PhoneNumberDesc{m.GetFixedLine(), m.GetPremiumRate(), m.GetTollFree(), m.GetSharedCost(),
		m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail()}
	if !m.GetSameMobileAndFixedLinePattern() {
		typeDescs = append([]*phonenumbers.PhoneNumberDesc{m.GetMobile()}, typeDescs...)
	}
	for _, d := range typeDescs {
		if c, ok := compileDesc(d); ok {
			r.types = append(r.types, c)
		}
	}
	return r
}

// regionMetadata is the library's metadata of one region, nil if it has none.
func regionMetadata(region string) *phonenumbers.PhoneMetadata {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil
	}
	for _, m := range coll.GetMetadata() {
		if m.GetId() == region {
			return m
		}
	}
	return nil
}

// compileDesc anchors a number type's pattern as the library does; a type without one
// matches no number, as in the library.
func compileDesc(d *phonenumbers.PhoneNumberDesc) (desc, bool) {
	p := d.GetNationalNumberPattern()
	if p == "" {
		return desc{}, false
	}
	return desc{lengths: d.GetPossibleLength(), re: regexp.MustCompile("^(?:" + p + ")$")}, true
}
