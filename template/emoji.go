package template

import "unicode/utf8"

// Code points that shape emoji sequences.
const (
	zwj               = 0x200D
	variationText     = 0xFE0E
	variationEmoji    = 0xFE0F
	combiningKeycap   = 0x20E3
	skinToneFirst     = 0x1F3FB
	skinToneLast      = 0x1F3FF
	regionalFirst     = 0x1F1E6
	regionalLast      = 0x1F1FF
	tagFirst          = 0xE0020
	tagLast           = 0xE007F
	suppPictFirst     = 0x1F000
	suppPictLast      = 0x1FAFF
	miscSymbolsFirst  = 0x2600
	dingbatsLast      = 0x27BF
	maxEmojiScanBytes = 1 << 20
)

// emojiPresentationBMP lists the Basic Multilingual Plane pictographs that show as
// emoji without a variation selector (Unicode's Emoji_Presentation property).
var emojiPresentationBMP = [][2]rune{
	{0x231A, 0x231B}, {0x23E9, 0x23EC}, {0x23F0, 0x23F0}, {0x23F3, 0x23F3},
	{0x25FD, 0x25FE}, {0x2614, 0x2615}, {0x2648, 0x2653}, {0x267F, 0x267F},
	{0x2693, 0x2693}, {0x26A1, 0x26A1}, {0x26AA, 0x26AB}, {0x26BD, 0x26BE},
	{0x26C4, 0x26C5}, {0x26CE, 0x26CE}, {0x26D4, 0x26D4}, {0x26EA, 0x26EA},
	{0x26F2, 0x26F3}, {0x26F5, 0x26F5}, {0x26FA, 0x26FA}, {0x26FD, 0x26FD},
	{0x2705, 0x2705}, {0x270A, 0x270B}, {0x2728, 0x2728}, {0x274C, 0x274C},
	{0x274E, 0x274E}, {0x2753, 0x2755}, {0x2757, 0x2757}, {0x2795, 0x2797},
	{0x27B0, 0x27B0}, {0x27BF, 0x27BF}, {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50},
	{0x2B55, 0x2B55},
}

// textPictographBMP lists pictographs that default to text presentation (©, ™,
// arrows, ☀, ❤ ...): they are emoji only when a U+FE0F or a skin tone follows, so
// "PT Acme™" has no emoji while "❤️" has one.
var textPictographBMP = [][2]rune{
	{0x00A9, 0x00A9}, {0x00AE, 0x00AE}, {0x203C, 0x203C}, {0x2049, 0x2049},
	{0x2122, 0x2122}, {0x2139, 0x2139}, {0x2194, 0x2199}, {0x21A9, 0x21AA},
	{0x2328, 0x2328}, {0x23CF, 0x23CF}, {0x23ED, 0x23EF}, {0x23F1, 0x23F2},
	{0x23F8, 0x23FA}, {0x24C2, 0x24C2}, {0x25AA, 0x25AB}, {0x25B6, 0x25B6},
	{0x25C0, 0x25C0}, {0x25FB, 0x25FC}, {miscSymbolsFirst, dingbatsLast},
	{0x2934, 0x2935}, {0x2B05, 0x2B07}, {0x3030, 0x3030}, {0x303D, 0x303D},
	{0x3297, 0x3297}, {0x3299, 0x3299},
}

func inRanges(r rune, rs [][2]rune) bool {
	for _, x := range rs {
		if r < x[0] {
			return false
		}
		if r <= x[1] {
			return true
		}
	}
	return false
}

func isRegional(r rune) bool { return r >= regionalFirst && r <= regionalLast }
func isSkinTone(r rune) bool { return r >= skinToneFirst && r <= skinToneLast }
func isTag(r rune) bool      { return r >= tagFirst && r <= tagLast }
func isKeycapBase(r rune) bool {
	return r >= '0' && r <= '9' || r == '#' || r == '*'
}

// pictograph classifies a rune that can start an emoji: emojiDefault shows as
// emoji on its own, textDefault only with U+FE0F.
func pictograph(r rune) (emojiDefault, textDefault bool) {
	switch {
	case r >= suppPictFirst && r <= suppPictLast:
		return true, false
	case r < 0xA9:
		return false, false
	case inRanges(r, emojiPresentationBMP):
		return true, false
	case inRanges(r, textPictographBMP):
		return false, true
	}
	return false, false
}

func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return utf8.RuneError, 0
	}
	return utf8.DecodeRuneInString(s[i:])
}

// nextEmoji finds the first emoji grapheme at or after byte offset from and returns
// its byte range. A flag (two regional indicators), a keycap, a skin-toned or
// ZWJ-joined sequence (a family, a profession) and a tag sequence (a subdivision
// flag) are each one emoji; a lone skin tone or regional indicator is one too.
func nextEmoji(s string, from int) (start, end int, ok bool) {
	i := from
	for i < len(s) {
		r, n := runeAt(s, i)
		start = i
		switch {
		case isRegional(r):
			j := i + n
			if r2, n2 := runeAt(s, j); isRegional(r2) {
				j += n2
			}
			return start, j, true
		case isKeycapBase(r):
			j := i + n
			if r2, n2 := runeAt(s, j); r2 == variationEmoji {
				j += n2
			}
			if r2, n2 := runeAt(s, j); r2 == combiningKeycap {
				return start, j + n2, true
			}
			i += n
			continue
		}
		emojiDefault, textDefault := pictograph(r)
		if !emojiDefault && !textDefault {
			i += n
			continue
		}
		j := i + n
		next, nn := runeAt(s, j)
		if next == variationText {
			i = j + nn
			continue
		}
		if textDefault && next != variationEmoji && !isSkinTone(next) {
			i = j
			continue
		}
		return start, extendEmoji(s, j), true
	}
	return 0, 0, false
}

// extendEmoji consumes the modifiers and ZWJ-joined parts that follow an emoji base.
func extendEmoji(s string, j int) int {
	for j < len(s) {
		r, n := runeAt(s, j)
		switch {
		case r == variationEmoji || isSkinTone(r) || isTag(r) || r == combiningKeycap:
			j += n
		case r == zwj:
			r2, n2 := runeAt(s, j+n)
			if ed, td := pictograph(r2); !ed && !td {
				return j
			}
			j += n + n2
		default:
			return j
		}
	}
	return j
}

// countEmoji counts emoji graphemes in s. Texts longer than maxEmojiScanBytes are
// counted over their first part only; no template field comes near it.
func countEmoji(s string) int {
	if len(s) > maxEmojiScanBytes {
		s = s[:maxEmojiScanBytes]
	}
	n := 0
	for i := 0; ; {
		_, end, ok := nextEmoji(s, i)
		if !ok {
			return n
		}
		n++
		i = end
	}
}

// firstEmoji returns the first emoji in s, or "".
func firstEmoji(s string) string {
	if start, end, ok := nextEmoji(s, 0); ok {
		return s[start:end]
	}
	return ""
}

// nthEmoji returns the n-th (1-based) emoji in s, or "".
func nthEmoji(s string, n int) string {
	for i, k := 0, 0; ; {
		start, end, ok := nextEmoji(s, i)
		if !ok {
			return ""
		}
		k++
		if k == n {
			return s[start:end]
		}
		i = end
	}
}
