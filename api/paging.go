package api

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Pages. Every listing takes ?limit= and ?cursor=, and hands back next_cursor. A
// cursor is opaque to clients but has a form its listing can check: one that is not of
// that form (mistyped, cut short, from another listing) answers 400 invalid_cursor,
// never a page that looks like the end of the list. A cursor of the right form whose
// item is gone still continues from where that item sat.

// MaxDeadLetterLimit caps a page of GET /v1/webhooks/dead (the receiver's own cap).
const MaxDeadLetterLimit = 500

// idLength is the length of the time-ordered part of Kirim's ids (storage.NewID).
const idLength = 26

// errInvalidCursor answers a cursor its listing did not make.
func errInvalidCursor() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_cursor", Field: "cursor",
		Message: "cursor: not a cursor of this listing: pass the previous page's next_cursor unchanged"}
}

// queryLimit reads ?limit=: absent means def; anything but a whole number from 1 to
// max, or the parameter given twice, is refused naming limit.
func queryLimit(r *http.Request, def, max int) (int, *Error) {
	vs := r.URL.Query()["limit"]
	switch {
	case len(vs) == 0 || (len(vs) == 1 && vs[0] == ""):
		return def, nil
	case len(vs) > 1:
		return 0, invalid("limit", "given %d times: give it once", len(vs))
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil || n < 1 || n > max || !allDigits(vs[0]) {
		return 0, invalid("limit", "must be a whole number from 1 to %d", max)
	}
	return n, nil
}

// queryCursor reads ?cursor= ("" for the first page) and checks it with valid.
func queryCursor(r *http.Request, valid func(string) bool) (string, *Error) {
	vs := r.URL.Query()["cursor"]
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", &Error{Status: http.StatusBadRequest, Code: "invalid_cursor", Field: "cursor",
			Message: fmt.Sprintf("cursor: given %d times: give it once", len(vs))}
	case vs[0] == "":
		return "", nil
	case !valid(vs[0]):
		return "", errInvalidCursor()
	}
	return vs[0], nil
}

// idCursor takes an id of the given prefix ("msg" for msg_01J...), the cursor of the
// listings paged by id.
func idCursor(prefix string) func(string) bool {
	return func(c string) bool {
		rest, ok := strings.CutPrefix(c, prefix+"_")
		if !ok || len(rest) != idLength {
			return false
		}
		for i := 0; i < len(rest); i++ {
			if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", rune(rest[i])) {
				return false
			}
		}
		return true
	}
}

// topUpCursor takes a top-up id: "tu_" and 20 hex digits.
func topUpCursor(c string) bool {
	rest, ok := strings.CutPrefix(c, "tu_")
	_, err := hex.DecodeString(rest)
	return ok && len(rest) == 20 && err == nil && strings.ToLower(rest) == rest
}

// statementCursor takes the ledger's statement cursor: 16 bytes in hex.
func statementCursor(c string) bool {
	b, err := hex.DecodeString(c)
	return err == nil && len(b) == 16
}

// phoneCursor makes a page cursor of the last phone of a page: opaque (base64url),
// so a "+" never meets query-string decoding.
func phoneCursor(phone string) string { return base64.RawURLEncoding.EncodeToString([]byte(phone)) }

// parsePhoneCursor reads ?cursor= made by phoneCursor ("" for the first page).
func parsePhoneCursor(r *http.Request) (string, *Error) {
	cur, aerr := queryCursor(r, func(c string) bool {
		b, err := base64.RawURLEncoding.DecodeString(c)
		return err == nil && len(b) >= 2 && len(b) <= 16 && b[0] == '+' && allDigits(string(b[1:]))
	})
	if aerr != nil || cur == "" {
		return "", aerr
	}
	b, _ := base64.RawURLEncoding.DecodeString(cur)
	return string(b), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
