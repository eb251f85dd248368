package phone

import (
	"regexp"
	"unicode"
)

// reExtension finds the ways an extension is written at the end of a number, as the
// parser knows them: ";ext=12", "ext. 12", "extension 12", "x12", "#12", ",12", "~12",
// and "12#".
var reExtension = regexp.MustCompile(`(?i)(?:(?:;\s*ext\s*=|ext(?:ension|n)?\.?|xtn\.?|[x#,~\x{FF03}\x{FF58}])\s*[:.]?\s*\d{1,7}|[-\s]\d{1,7}\s*#)\s*#?\s*$`)

// screen refuses what the parser would read its way around: an extension, which it
// drops; letters, which it turns into keypad digits; anything else it skips over. It
// runs only where the E.164 fast path has not decided: such input never reaches it.
func screen(s string) error {
	plain := true
	for _, r := range s {
		if !numberRune(r) {
			plain = false
			break
		}
	}
	if plain {
		return nil
	}
	if reExtension.MatchString(s) {
		return ErrExtension
	}
	for _, r := range s {
		if unicode.IsLetter(r) {
			return ErrLetters
		}
	}
	return ErrCharacter
}

// numberRune is a character numbers are written with: digits (in any script the
// parser reads), "+", spaces, dashes, dots, slashes and brackets.
func numberRune(r rune) bool {
	switch {
	case r >= '0' && r <= '9':
		return true
	case r < 0x80:
		switch r {
		case '+', ' ', '\t', '-', '.', '/', '(', ')', '[', ']':
			return true
		}
		return false
	case unicode.IsDigit(r), unicode.Is(unicode.Zs, r):
		return true
	}
	switch r {
	case '\uFF0B', // fullwidth +
		'\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\uFF0D', // dashes and minus
		'\uFF0E', '\uFF0F', '\uFF08', '\uFF09', '\uFF3B', '\uFF3D': // fullwidth . / ( ) [ ]
		return true
	}
	return false
}
