package api

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// walker reads a JSON body once, checking its syntax, its encoding and its keys
// against a shape. It keeps the path to where it is so that a refusal names the key;
// on the way it allocates nothing for ordinary bodies.
type walker struct {
	data    []byte
	i       int
	path    []pathSeg
	pathBuf [12]pathSeg // path's storage while requests nest as usual
}

// pathSeg is one step of a key path: a key, or an array index (index >= 0).
type pathSeg struct {
	key   []byte
	index int
}

// document walks the whole body as one JSON value of shape sh, with nothing after it.
func (w *walker) document(sh *shape) *bodyError {
	w.path = w.pathBuf[:0]
	w.skipSpace()
	if w.i == len(w.data) {
		return &bodyError{what: "body is empty: send a JSON object"}
	}
	if sh.kind == shapeStruct && w.data[w.i] != '{' {
		if err := w.value(freeShape, 0); err != nil {
			return err
		}
		return &bodyError{what: "body must be a JSON object"}
	}
	if err := w.value(sh, 0); err != nil {
		return err
	}
	w.skipSpace()
	if w.i < len(w.data) {
		return &bodyError{offset: w.i, what: fmt.Sprintf("body has more after its JSON value (at byte %d): send one JSON object", w.i)}
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (w *walker) skipSpace() {
	for w.i < len(w.data) && isSpace(w.data[w.i]) {
		w.i++
	}
}

func (w *walker) value(sh *shape, depth int) *bodyError {
	w.skipSpace()
	if w.i == len(w.data) {
		return w.syntax("the body ends early")
	}
	switch c := w.data[w.i]; {
	case c == '{':
		return w.object(sh, depth+1)
	case c == '[':
		return w.array(sh, depth+1)
	case c == '"':
		_, err := w.str(false)
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return w.number()
	case c == 't':
		return w.literal("true")
	case c == 'f':
		return w.literal("false")
	case c == 'n':
		return w.literal("null")
	}
	return w.unexpected("a value")
}

func (w *walker) object(sh *shape, depth int) *bodyError {
	if depth > maxJSONDepth {
		return w.fail(fmt.Sprintf("nested deeper than %d levels", maxJSONDepth))
	}
	w.i++ // {
	w.skipSpace()
	if w.i < len(w.data) && w.data[w.i] == '}' {
		w.i++
		return nil
	}
	if sh.kind == shapeStruct {
		return w.structObject(sh, depth)
	}
	child := freeShape
	if sh.kind == shapeMap {
		child = sh.elem
	}
	var seen keySet
	for {
		keyAt := w.i
		key, err := w.key()
		if err != nil {
			return err
		}
		if !seen.add(key) {
			return w.duplicate(keyAt)
		}
		if err := w.member(child, depth); err != nil {
			return err
		}
		if done, err := w.objectNext(); done || err != nil {
			return err
		}
	}
}

// structObject walks the members of an object decoded into a struct: every key must
// name one of its fields exactly, once.
func (w *walker) structObject(sh *shape, depth int) *bodyError {
	var seen uint64  // fields by index, the first 64
	var more *keySet // the others, in structs that have more
	for {
		keyAt := w.i
		key, err := w.key()
		if err != nil {
			return err
		}
		idx, ok := sh.fields[string(key)]
		if !ok {
			return w.unknownKey(sh, key, keyAt)
		}
		if idx < 64 {
			if seen&(1<<idx) != 0 {
				return w.duplicate(keyAt)
			}
			seen |= 1 << idx
		} else {
			if more == nil {
				more = &keySet{}
			}
			if !more.add(key) {
				return w.duplicate(keyAt)
			}
		}
		if err := w.member(sh.shapes[idx], depth); err != nil {
			return err
		}
		if done, err := w.objectNext(); done || err != nil {
			return err
		}
	}
}

// key reads a member's key and adds it to the path.
func (w *walker) key() ([]byte, *bodyError) {
	w.skipSpace()
	if w.i == len(w.data) || w.data[w.i] != '"' {
		return nil, w.unexpected("a key in quotes")
	}
	key, err := w.str(true)
	if err != nil {
		return nil, err
	}
	w.path = append(w.path, pathSeg{key: key, index: -1})
	return key, nil
}

// member reads the colon and the value of the member whose key is last on the path,
// and takes the key off the path.
func (w *walker) member(sh *shape, depth int) *bodyError {
	w.skipSpace()
	if w.i == len(w.data) || w.data[w.i] != ':' {
		return w.unexpected("':' after the key")
	}
	w.i++
	if err := w.value(sh, depth); err != nil {
		return err
	}
	w.path = w.path[:len(w.path)-1]
	return nil
}

// objectNext steps over the comma before the next member, or the end of the object
// (done).
func (w *walker) objectNext() (done bool, err *bodyError) {
	w.skipSpace()
	if w.i < len(w.data) {
		switch w.data[w.i] {
		case ',':
			w.i++
			return false, nil
		case '}':
			w.i++
			return true, nil
		}
	}
	return true, w.unexpected("',' or '}'")
}

func (w *walker) duplicate(keyAt int) *bodyError {
	w.i = keyAt
	return w.fail("duplicate key: give each key once")
}

func (w *walker) unknownKey(sh *shape, key []byte, at int) *bodyError {
	w.i = at
	if name, ok := sh.folded[foldKey(key)]; ok {
		return w.fail(fmt.Sprintf("unknown key: keys are case-sensitive, did you mean %q?", name))
	}
	if len(sh.names) <= maxKeysNamed {
		return w.fail(fmt.Sprintf("unknown key: the keys here are %s", strings.Join(sh.names, ", ")))
	}
	return w.fail("unknown key")
}

// maxKeysNamed is how many keys an unknown-key refusal lists at most.
const maxKeysNamed = 16

func (w *walker) array(sh *shape, depth int) *bodyError {
	if depth > maxJSONDepth {
		return w.fail(fmt.Sprintf("nested deeper than %d levels", maxJSONDepth))
	}
	elem := freeShape
	if sh.kind == shapeArray {
		elem = sh.elem
	}
	w.i++ // [
	w.skipSpace()
	if w.i < len(w.data) && w.data[w.i] == ']' {
		w.i++
		return nil
	}
	w.path = append(w.path, pathSeg{})
	for n := 0; ; n++ {
		w.path[len(w.path)-1].index = n
		if err := w.value(elem, depth); err != nil {
			return err
		}
		w.skipSpace()
		if w.i < len(w.data) {
			switch w.data[w.i] {
			case ',':
				w.i++
				continue
			case ']':
				w.i++
				w.path = w.path[:len(w.path)-1]
				return nil
			}
		}
		return w.unexpected("',' or ']'")
	}
}

// str reads a string. As a key (wantKey) it returns the key's text, escapes decoded:
// a slice of the body unless it has escapes.
func (w *walker) str(wantKey bool) ([]byte, *bodyError) {
	w.i++ // "
	start := w.i
	escaped := false
	for w.i < len(w.data) {
		c := w.data[w.i]
		switch {
		case c == '"':
			s := w.data[start:w.i]
			w.i++
			if wantKey && escaped {
				return unescape(s), nil
			}
			return s, nil
		case c == '\\':
			escaped = true
			if err := w.escape(); err != nil {
				return nil, err
			}
		case c < 0x20:
			return nil, w.syntax("a control character in a string must be escaped")
		case c < utf8.RuneSelf:
			w.i++
		default:
			r, n := utf8.DecodeRune(w.data[w.i:])
			if r == utf8.RuneError && n == 1 {
				return nil, w.fail(fmt.Sprintf("body is not valid UTF-8 (at byte %d)", w.i))
			}
			w.i += n
		}
	}
	return nil, w.syntax("a string is not closed")
}

// escape checks the escape at w.i and steps over it. A \u escape of half a UTF-16
// surrogate pair must be followed by the other half: alone it is no character, and
// encoding/json would quietly make it U+FFFD.
func (w *walker) escape() *bodyError {
	if w.i+1 >= len(w.data) {
		return w.syntax("a string is not closed")
	}
	switch w.data[w.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		w.i += 2
		return nil
	case 'u':
	default:
		return w.syntax("invalid escape in a string")
	}
	r, ok := w.hex4(w.i + 2)
	if !ok {
		return w.syntax("invalid \\u escape in a string")
	}
	if utf16.IsSurrogate(r) {
		lo, ok := w.hex4(w.i + 8)
		if r >= 0xDC00 || !ok || w.data[w.i+6] != '\\' || w.data[w.i+7] != 'u' || utf16.DecodeRune(r, lo) == utf8.RuneError {
			return w.fail(fmt.Sprintf("body is not valid UTF-8: an unpaired surrogate escape (at byte %d)", w.i))
		}
		w.i += 12
		return nil
	}
	w.i += 6
	return nil
}

func (w *walker) hex4(at int) (rune, bool) {
	if at+4 > len(w.data) {
		return 0, false
	}
	return hexRune(w.data[at : at+4])
}

func hexRune(h []byte) (rune, bool) {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// unescape decodes the escapes of a string the walk has checked.
func unescape(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			out = append(out, s[i])
			i++
			continue
		}
		switch c := s[i+1]; c {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, _ := hexRune(s[i+2 : i+6])
			if utf16.IsSurrogate(r) {
				lo, _ := hexRune(s[i+8 : i+12])
				r = utf16.DecodeRune(r, lo)
				i += 6
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default: // " \ /
			out = append(out, c)
		}
		i += 2
	}
	return out
}

// number steps over a number as JSON writes them: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (w *walker) number() *bodyError {
	if w.data[w.i] == '-' {
		w.i++
	}
	switch {
	case w.i < len(w.data) && w.data[w.i] == '0':
		w.i++
	case w.digits() == 0:
		return w.unexpected("a digit")
	}
	if w.i < len(w.data) && w.data[w.i] == '.' {
		w.i++
		if w.digits() == 0 {
			return w.unexpected("a digit after '.'")
		}
	}
	if w.i < len(w.data) && (w.data[w.i] == 'e' || w.data[w.i] == 'E') {
		w.i++
		if w.i < len(w.data) && (w.data[w.i] == '+' || w.data[w.i] == '-') {
			w.i++
		}
		if w.digits() == 0 {
			return w.unexpected("a digit in the exponent")
		}
	}
	return nil
}

func (w *walker) digits() int {
	start := w.i
	for w.i < len(w.data) && w.data[w.i] >= '0' && w.data[w.i] <= '9' {
		w.i++
	}
	return w.i - start
}

func (w *walker) literal(lit string) *bodyError {
	if !bytes.HasPrefix(w.data[w.i:], []byte(lit)) {
		return w.unexpected("a value")
	}
	w.i += len(lit)
	return nil
}

// unexpected reports the byte at w.i where want was expected.
func (w *walker) unexpected(want string) *bodyError {
	if w.i == len(w.data) {
		return w.syntax("the body ends early")
	}
	if c := w.data[w.i]; c >= utf8.RuneSelf {
		if r, _ := utf8.DecodeRune(w.data[w.i:]); r == utf8.RuneError {
			return w.fail(fmt.Sprintf("body is not valid UTF-8 (at byte %d)", w.i))
		}
	}
	r, _ := utf8.DecodeRune(w.data[w.i:])
	return w.syntax(fmt.Sprintf("expected %s, found %q", want, r))
}

func (w *walker) syntax(what string) *bodyError {
	return w.fail(fmt.Sprintf("body is not valid JSON: %s (at byte %d)", what, w.i))
}

// fail is a refusal at w.i, under the current path.
func (w *walker) fail(what string) *bodyError {
	return &bodyError{offset: w.i, path: w.pathString(), what: what}
}

// pathString writes the path as the API names fields: template.buttons[0].type.
func (w *walker) pathString() string {
	var b strings.Builder
	for _, s := range w.path {
		if s.index >= 0 {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.Write(s.key)
	}
	return b.String()
}

// keySet finds a key given twice in one object: a few keys are compared in place,
// more go to a map.
type keySet struct {
	few  [8][]byte
	n    int
	many map[string]struct{}
}

// add records key and reports whether it was new.
func (s *keySet) add(key []byte) bool {
	if s.many != nil {
		if _, ok := s.many[string(key)]; ok {
			return false
		}
		s.many[string(key)] = struct{}{}
		return true
	}
	for _, k := range s.few[:s.n] {
		if bytes.Equal(k, key) {
			return false
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = key
		s.n++
		return true
	}
	s.many = make(map[string]struct{}, 2*len(s.few))
	for _, k := range s.few {
		s.many[string(k)] = struct{}{}
	}
	s.many[string(key)] = struct{}{}
	return true
}
