package template

import "strings"

// maxVarDigits bounds a positional variable's number so parsing cannot overflow;
// no template comes near 999 variables.
const maxVarDigits = 3

// variable is one {{...}} placeholder found in a text.
type variable struct {
	raw        string // as written, e.g. "{{1}}"
	name       string // "1" or "first_name"
	num        int    // > 0 for a positional variable
	start, end int    // byte offsets of raw in the text
	ok         bool   // well formed (positional or named)
}

// scanVars finds every placeholder in text order. An opening "{{" without a closing
// "}}" is reported as a malformed variable running to the end of the text.
func scanVars(s string) []variable {
	var out []variable
	i := 0
	for i < len(s) {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			break
		}
		start := i + j
		k := strings.Index(s[start+2:], "}}")
		if k < 0 {
			out = append(out, variable{raw: s[start:], start: start, end: len(s)})
			break
		}
		end := start + 2 + k + 2
		v := variable{raw: s[start:end], name: s[start+2 : start+2+k], start: start, end: end}
		v.num, v.ok = parseVarName(v.name)
		out = append(out, v)
		i = end
	}
	return out
}

// parseVarName accepts "1".."999" (no leading zero) or a lower-case name starting
// with a letter, as Meta's named parameters are.
func parseVarName(n string) (num int, ok bool) {
	if n == "" {
		return 0, false
	}
	if n[0] >= '0' && n[0] <= '9' {
		if n[0] == '0' || len(n) > maxVarDigits {
			return 0, false
		}
		for i := 0; i < len(n); i++ {
			if n[i] < '0' || n[i] > '9' {
				return 0, false
			}
			num = num*10 + int(n[i]-'0')
		}
		return num, true
	}
	if n[0] < 'a' || n[0] > 'z' {
		return 0, false
	}
	for i := 1; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return 0, false
		}
	}
	return 0, true
}

// hasPlaceholder reports whether s contains anything that looks like a variable.
func hasPlaceholder(s string) bool {
	return strings.Contains(s, "{{")
}
