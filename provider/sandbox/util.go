package sandbox

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

var (
	errRealClock = errors.New("the clock is real; only a manual clock can be advanced")
	errNotFound  = errors.New("not found")
	errInvalid   = errors.New("invalid")
)

// ratioScale is the denominator rates are reduced to, so hit counting is integer-exact.
const ratioScale = 1_000_000_000

// ratio applies a fraction deterministically: the k-th eligible event is hit iff
// floor(k*rate) > floor((k-1)*rate), so n events at rate r give exactly floor(n*r) hits
// whatever the interleaving of callers.
type ratio struct {
	parts int64 // rate * ratioScale
	n     atomic.Int64
}

func (r *ratio) set(rate float64) {
	r.n.Store(0)
	switch {
	case rate <= 0 || math.IsNaN(rate):
		r.parts = 0
	case rate >= 1:
		r.parts = ratioScale
	default:
		r.parts = int64(math.Round(rate * ratioScale))
	}
}

// hit counts one eligible event and reports whether it is hit.
func (r *ratio) hit() bool {
	if r.parts == 0 {
		return false
	}
	k := r.n.Add(1)
	return k*r.parts/ratioScale > (k-1)*r.parts/ratioScale
}

// lockedRand is the sandbox's seeded random source, shared by handlers.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) init(seed int64) {
	l.r = rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}

func (l *lockedRand) uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Uint64()
}

// int64n returns a uniform draw in [0, n).
func (l *lockedRand) int64n(n int64) int64 {
	if n <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Int64N(n)
}

// normalizePhone turns a `to` value (digits with an optional leading +, spaces, dashes
// and parentheses) into its wa_id digits. It reports false for anything else or for a
// digit count outside E.164's range.
func normalizePhone(to string) (uint64, bool) {
	const minDigits, maxDigits = 7, 15
	var v uint64
	digits := 0
	for i := 0; i < len(to); i++ {
		c := to[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			if digits > maxDigits {
				return 0, false
			}
			v = v*10 + uint64(c-'0')
		case c == '+':
			if digits > 0 {
				return 0, false
			}
		case c == ' ' || c == '-' || c == '(' || c == ')':
		default:
			return 0, false
		}
	}
	if digits < minDigits {
		return 0, false
	}
	return v, true
}

// waString renders a wa_id; 0 means unknown.
func waString(wa uint64) string {
	if wa == 0 {
		return ""
	}
	return strconv.FormatUint(wa, 10)
}

// parseWaID parses a wa_id given to the inspection API (same forms as `to`).
func parseWaID(s string) (uint64, bool) { return normalizePhone(s) }

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. Everything outside printable ASCII is
// \u-escaped, as Meta does in webhook bodies, so the bytes are pure ASCII and
// receivers that re-encode before verifying the signature fail as they would with Meta.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = appendU(b, rune(c))
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r > 0xFFFF {
			r -= 0x10000
			b = appendU(b, 0xD800+(r>>10))
			b = appendU(b, 0xDC00+(r&0x3FF))
			continue
		}
		b = appendU(b, r) // utf8.RuneError for invalid bytes, like encoding/json
	}
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}

// asciiJSON rewrites marshalled JSON so every non-ASCII character is \u-escaped. Only
// strings can hold such characters in valid JSON, so a byte-level pass is safe.
func asciiJSON(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < utf8.RuneSelf {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	out = append(out, b[:i]...)
	for i < len(b) {
		if b[i] < utf8.RuneSelf {
			out = append(out, b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r > 0xFFFF {
			r -= 0x10000
			out = appendU(out, 0xD800+(r>>10))
			out = appendU(out, 0xDC00+(r&0x3FF))
			continue
		}
		out = appendU(out, r)
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
