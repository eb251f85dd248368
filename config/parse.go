package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Error is a configuration problem, naming the key and its source: the file and, when
// known, the line, or the environment variable that set it.
type Error struct {
	File string
	Line int
	Env  string // the KIRIM_... variable the value came from, if it did
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	switch {
	case e.Env != "":
		loc = e.Env
	case e.Line > 0:
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("config: %s: %s: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("config: %s: %s", loc, e.Msg)
}

// Errors are every problem of a configuration, reported at once, one per line: the
// file's from top to bottom, then the environment's by variable name.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sort orders the errors as a reader fixes them: the file's by line (those without a
// line, such as a missing section, after them), then the environment's by variable.
func (es Errors) sort() {
	rank := func(e *Error) (int, int, string) {
		switch {
		case e.Env != "":
			return 2, 0, e.Env
		case e.Line == 0:
			return 1, 0, ""
		}
		return 0, e.Line, ""
	}
	sort.SliceStable(es, func(i, j int) bool {
		ai, al, ae := rank(es[i])
		bi, bl, be := rank(es[j])
		if ai != bi {
			return ai < bi
		}
		if al != bl {
			return al < bl
		}
		return ae < be
	})
}

// Load reads, overrides from the environment, defaults and validates the file at path.
// Its error is Errors unless the file cannot be read.
func Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, src, os.Environ())
}

// Parse is Load on bytes with an explicit environment (KEY=VALUE strings); name is the
// file's name in messages. Its error is Errors: every problem found, each with its
// source. Parse has no effect outside the Config it returns, so a reload (SIGHUP) may
// call it and keep the running configuration when it fails.
func Parse(name string, src []byte, environ []string) (*Config, error) {
	d, errs := decode(name, src)
	if d == nil {
		return nil, errs
	}
	c := &d.cfg
	c.path = name
	errs = append(errs, unknownKeys(name, d.src, d.md)...)
	set := setKeys{tree: d.tree, env: map[string]string{}}
	badEnv := map[string]bool{}
	for _, e := range applyEnv(c, environ, set.env) {
		e.File = name
		errs = append(errs, e)
		badEnv[e.Key] = true
	}
	c.setDefaults(set.has)
	for _, e := range c.validate() {
		// A value refused while decoding (its type) or from its variable was not set:
		// what validation says of the field is about nothing the operator wrote.
		if badEnv[e.Key] || d.blanked[plainKey(e.path)] {
			continue
		}
		e.File = name
		if env, ok := set.envOf(e.path); ok {
			e.Env = env
		} else {
			e.Line = findLine(d.src, e.path)
		}
		errs = append(errs, &e.Error)
	}
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	return c, nil
}

// maxTypeErrors bounds the values of the wrong type reported from one file.
const maxTypeErrors = 50

// decoded is a file decoded into a Config.
type decoded struct {
	cfg  Config
	md   toml.MetaData
	tree map[string]any // the file as written, to tell a key written as 0 from one absent
	src  []byte         // the file as decoded: lines holding a value of the wrong type blanked
	// blanked are the keys (without array indexes) whose line was blanked.
	blanked map[string]bool
}

// decode decodes src. The TOML decoder stops at the first value of the wrong type, so
// to report them all each one's lines are blanked and the file decoded again, as long
// as they hold a whole key = value of their own; line numbers stay as they were. decode
// returns nil when the file cannot be decoded at all (a syntax error), with errs saying
// why.
func decode(name string, src []byte) (*decoded, Errors) {
	d := &decoded{src: src, blanked: map[string]bool{}}
	// Syntax first: decoding into a tree refuses only what is not TOML.
	if _, err := toml.Decode(string(src), &d.tree); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, Errors{{File: name, Line: syntaxLine(src, pe.Position), Key: pe.LastKey, Msg: pe.Message}}
		}
		return nil, Errors{{File: name, Msg: err.Error()}}
	}
	lines := strings.Split(string(src), "\n")
	var errs Errors
	for {
		d.cfg = Config{}
		md, err := toml.Decode(strings.Join(lines, "\n"), &d.cfg)
		if err == nil {
			d.md = md
			break
		}
		e := decodeError(name, err)
		plain := e.Key
		if line, path := keyAt(lines, e.Line, e.Key); path != nil {
			e.Line, e.Key = line, keyString(path)
		}
		errs = append(errs, e)
		n := 0
		if e.Line > 0 && e.Line <= len(lines) {
			n = valueLines(lines, e.Line-1)
		}
		if n == 0 || len(errs) >= maxTypeErrors {
			errs.sort()
			return nil, errs
		}
		for i := range n {
			lines[e.Line-1+i] = ""
		}
		d.blanked[plain] = true
	}
	if len(errs) > 0 {
		d.src = []byte(strings.Join(lines, "\n"))
		d.tree = nil
		_, _ = toml.Decode(string(d.src), &d.tree)
	}
	return d, errs
}

// syntaxLine is the line of a syntax error. The parser counts a newline it did not
// expect as the start of the next line ("[server" then a newline is blamed on the
// line after); the error's offset says where the offending byte is.
func syntaxLine(src []byte, p toml.Position) int {
	if p.Start < 0 || p.Start >= len(src) {
		return p.Line
	}
	return 1 + bytes.Count(src[:p.Start], []byte("\n"))
}

// decodeError converts an error of the TOML decoder (a value of the wrong type or
// refused by its type's own decoding) to an Error with the line and key it names.
func decodeError(name string, err error) *Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: name, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
	}
	if m := reTypeErr.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: name, Line: line, Key: m[2], Msg: typeMessage(m[3])}
	}
	return &Error{File: name, Msg: err.Error()}
}

var (
	reTypeErr  = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)
	reBadType  = regexp.MustCompile(`^incompatible types: TOML value has type (\S+); destination has type (.+)$`)
	reMismatch = regexp.MustCompile(`^type mismatch for \S+: expected table but found (\S+)$`)
)

// typeMessage rewrites the decoder's words for types (Go's) in TOML's.
func typeMessage(msg string) string {
	if m := reBadType.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("must be %s, not %s", tomlType(m[2]), tomlType(m[1]))
	}
	if m := reMismatch.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("must be a table, not %s", tomlType(m[1]))
	}
	return msg
}

func tomlType(t string) string {
	switch {
	case t == "int64" || t == "integer":
		return "an integer"
	case t == "float64" || t == "float":
		return "a number"
	case t == "string":
		return "a string"
	case t == "bool" || t == "boolean":
		return "true or false"
	case t == "time.Time":
		return "a date"
	case strings.HasPrefix(t, "[]") || t == "slice":
		return "an array"
	case strings.HasPrefix(t, "map") || t == "struct":
		return "a table"
	}
	return t
}

// maxValueLines bounds the lines of one value (a multi-line array or string) blanked
// after a type error.
const maxValueLines = 200

// valueLines returns how many lines, from lines[i], hold one whole key = value, valid
// TOML on its own, so that blanking them leaves the rest of the file as it was; 0 when
// lines[i] starts none (a table header).
func valueLines(lines []string, i int) int {
	t := strings.TrimSpace(lines[i])
	if t == "" || t[0] == '[' || t[0] == '#' {
		return 0
	}
	for n := 1; n <= maxValueLines && i+n <= len(lines); n++ {
		var m map[string]any
		if _, err := toml.Decode(strings.Join(lines[i:i+n], "\n"), &m); err == nil {
			if len(m) != 1 {
				return 0
			}
			return n
		}
	}
	return 0
}

// unknownKeys reports every key the Config has no field for, at each line it is
// written on, once for an unknown table rather than for each of its keys.
func unknownKeys(name string, src []byte, md toml.MetaData) Errors {
	var errs Errors
	keys := md.Undecoded()
	unknown := map[string]bool{}
	for _, k := range keys {
		unknown[k.String()] = true
	}
	written := scanKeys(strings.Split(string(src), "\n"))
	lines, elsewhere := map[int]bool{}, map[string]bool{}
outer:
	for _, k := range keys {
		for n := len(k) - 1; n > 0; n-- {
			if unknown[k[:n].String()] {
				continue outer
			}
		}
		found := false
		for _, w := range written {
			if matchKey(w.path, k, true) {
				found = true
				if !lines[w.line] {
					lines[w.line] = true
					errs = append(errs, &Error{File: name, Line: w.line, Key: keyString(w.path), Msg: "unknown key"})
				}
			}
		}
		if !found && !elsewhere[k.String()] {
			// Inside an inline table or an array: named by the line of what holds it.
			elsewhere[k.String()] = true
			errs = append(errs, &Error{File: name, Line: findLine(src, k), Key: k.String(), Msg: "unknown key"})
		}
	}
	return errs
}

// plainKey is a key path without its array indexes, as the TOML decoder names keys.
func plainKey(path []string) string {
	var out []string
	for _, p := range path {
		if !isIndex(p) {
			out = append(out, p)
		}
	}
	return strings.Join(out, ".")
}

// setKeys tells which keys the file or the environment set, so that a value set to 0
// is checked rather than replaced by its default. toml.MetaData.IsDefined cannot tell
// which [[numbers]] entry wrote a key, so the file is read as a tree too.
type setKeys struct {
	tree map[string]any
	env  map[string]string // key path ("numbers.0.throughput_mps") -> the variable that set it
}

// has reports whether the key at path (array entries by index) was set.
func (s setKeys) has(path ...string) bool {
	if _, ok := s.env[strings.Join(path, ".")]; ok {
		return true
	}
	var node any = s.tree
	for _, p := range path {
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[p]
			if !ok {
				return false
			}
			node = v
		case []map[string]any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(n) {
				return false
			}
			node = n[i]
		default:
			return false
		}
	}
	return true
}

// envOf returns the variable that set path, or one of its parents.
func (s setKeys) envOf(path []string) (string, bool) {
	for n := len(path); n > 0; n-- {
		if v, ok := s.env[strings.Join(path[:n], ".")]; ok {
			return v, true
		}
	}
	return "", false
}
