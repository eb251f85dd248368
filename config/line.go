package config

import (
	"strconv"
	"strings"
)

// findLine returns the 1-based line of key in src, or 0 when it is not written there
// (a default, or a missing key, in which case the line of its table is returned if the
// table is written). key may hold array indexes ("numbers", "1", "alias").
func findLine(src []byte, key []string) int {
	if len(key) == 0 {
		return 0
	}
	var table []string // current table path, with indexes for arrays of tables
	counts := map[string]int{}
	best := 0
	for i, raw := range strings.Split(string(src), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' {
			continue
		}
		if strings.HasPrefix(line, "[") {
			array := strings.HasPrefix(line, "[[")
			name := strings.TrimSpace(strings.Trim(strings.SplitN(line, "#", 2)[0], " []"))
			parts := splitKey(name)
			if array {
				table = append(expandArrays(parts[:len(parts)-1], counts), parts[len(parts)-1])
				base := strings.Join(table, ".")
				idx := counts[base]
				counts[base] = idx + 1
				table = append(table, strconv.Itoa(idx))
			} else {
				table = expandArrays(parts, counts)
			}
			if matchKey(table, key, false) {
				best = i + 1
			}
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		full := append(append([]string{}, table...), splitKey(strings.TrimSpace(k))...)
		if matchKey(full, key, true) {
			return i + 1
		}
	}
	return best
}

// expandArrays adds the current index after each array-of-tables name in a dotted
// header such as [accounts.keys] inside [[accounts]].
func expandArrays(parts []string, counts map[string]int) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p)
		if n := counts[strings.Join(out, ".")]; n > 0 {
			out = append(out, strconv.Itoa(n-1))
		}
	}
	return out
}

func splitKey(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ".") {
		out = append(out, strings.Trim(strings.TrimSpace(p), `"'`))
	}
	return out
}

// matchKey compares a written path (with indexes) to a wanted key; the wanted key may
// omit indexes (toml.Key does). exact requires the whole key to match; otherwise the
// written path may be a table that contains the key.
func matchKey(have, want []string, exact bool) bool {
	wi := 0
	for _, h := range have {
		if wi < len(want) && h == want[wi] {
			wi++
			continue
		}
		if isIndex(h) && (wi >= len(want) || !isIndex(want[wi])) {
			continue // an index the wanted key does not name
		}
		return false
	}
	if exact {
		return wi == len(want)
	}
	return wi > 0
}

func isIndex(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
