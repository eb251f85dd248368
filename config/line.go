package config

import (
	"strconv"
	"strings"
)

// writtenKey is a key or a table header as written in the file, with the index of
// each array-of-tables entry in its path ("numbers", "1", "alias").
type writtenKey struct {
	line  int
	path  []string
	table bool
}

// scanKeys lists the keys and table headers of a TOML file, line by line. It reads
// the common shapes (headers, key = value, dotted keys) and skips what it cannot
// place, such as the continuation lines of a multi-line array.
func scanKeys(lines []string) []writtenKey {
	var out []writtenKey
	var table []string // current table path, with indexes for arrays of tables
	counts := map[string]int{}
	for i, raw := range lines {
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
			out = append(out, writtenKey{line: i + 1, path: table, table: true})
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		full := append(append([]string{}, table...), splitKey(strings.TrimSpace(k))...)
		out = append(out, writtenKey{line: i + 1, path: full})
	}
	return out
}

// findLine returns the 1-based line of key in src, or 0 when it is not written there
// (a default, or a missing key, in which case the line of the table or value holding it
// is returned if that is written). key may hold array indexes ("numbers", "1", "alias").
func findLine(src []byte, key []string) int {
	if len(key) == 0 {
		return 0
	}
	best := 0
	for _, w := range scanKeys(strings.Split(string(src), "\n")) {
		if !w.table && matchKey(w.path, key, true) {
			return w.line
		}
		// The table, or the inline table or array, that holds the key.
		if matchKey(w.path, key, false) {
			best = w.line
		}
	}
	return best
}

// keyAt finds key (without indexes, as the TOML decoder names it) written on line n or,
// for a value over several lines, above it, the nearest; it returns that line and the
// key's path with indexes, or a nil path when the key is not written there.
func keyAt(lines []string, n int, key string) (int, []string) {
	line, path := 0, []string(nil)
	for _, w := range scanKeys(lines) {
		if w.line > n {
			break
		}
		if !w.table && plainKey(w.path) == key {
			line, path = w.line, w.path
		}
	}
	return line, path
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
