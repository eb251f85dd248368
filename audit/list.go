package audit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"kirim/storage"
)

// Page sizes and the scan bound of List.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// MaxScan is the most records one List call reads. Records are keyed by seq only,
	// so a filter by account or action reads every record in the time range to find
	// its matches; the bound keeps one call's cost fixed however rare the matches are.
	MaxScan = 100_000
)

// Filter selects records for List. Zero fields select everything.
type Filter struct {
	Account string // exact; "" for every account, instance-wide records included
	// Action is an exact action, or a prefix when it ends in "*": "topup.*" selects
	// "topup.confirm" and "topup.reject", "*" selects every action.
	Action string
	From   time.Time // records at or after From; zero is unbounded
	To     time.Time // records before To; zero is unbounded
	Cursor string    // the next value of the previous page; "" starts at the oldest
	Limit  int       // records per page: 0 means DefaultLimit, more than MaxLimit means MaxLimit
}

// List returns the records f selects, oldest first (by Seq), and the cursor of the
// next page, "" when there is none. A page can hold fewer than Limit records, even
// none, and still carry a cursor: the call stopped after MaxScan records, and the
// caller continues from the cursor until it comes back "". The cursor is opaque.
//
// From skips by binary search on time and To ends the scan, both trusting that At
// never decreases with Seq, which Append guarantees; a store edited to break that is
// what Verify reports.
func (l *Log) List(f Filter) ([]Record, string, error) {
	limit, start, err := f.check()
	if err != nil {
		return nil, "", fmt.Errorf("audit: list: %w", err)
	}
	var (
		out  []Record
		next string
	)
	err = l.db.View(func(r storage.Reader) error {
		out, next = nil, ""
		h, err := readHead(r)
		if err != nil {
			return err
		}
		if start > h.seq || (!f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From)) {
			return nil
		}
		if !f.From.IsZero() {
			if start, err = firstAtOrAfter(r, start, h.seq, f.From.UnixNano()); err != nil {
				return err
			}
			if start > h.seq {
				return nil
			}
		}
		scanned := 0
		return r.Iterate(recordPrefix, storage.IterOptions{Start: recordKey(start)}, func(k, v []byte) (bool, error) {
			rec, _, err := decodeValue(v)
			if err != nil {
				return false, fmt.Errorf("record %d: %w", keySeq(k), err)
			}
			if !f.To.IsZero() && !rec.At.Before(f.To) {
				return false, nil
			}
			scanned++
			if f.matches(&rec) {
				out = append(out, rec)
			}
			if rec.Seq >= h.seq {
				return false, nil
			}
			if len(out) >= limit || scanned >= l.maxScan {
				next = strconv.FormatUint(rec.Seq+1, 10)
				return false, nil
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("audit: list: %w", err)
	}
	return out, next, nil
}

// check validates f and returns the page size and the first seq to read.
func (f *Filter) check() (limit int, start uint64, err error) {
	switch {
	case f.Limit < 0:
		return 0, 0, fmt.Errorf("limit: %d is negative: %w", f.Limit, ErrInvalid)
	case f.Limit == 0:
		limit = DefaultLimit
	default:
		limit = min(f.Limit, MaxLimit)
	}
	if f.Action != "" {
		if err := checkAction("action", f.Action, true); err != nil {
			return 0, 0, err
		}
	}
	start = 1
	if f.Cursor != "" {
		if start, err = strconv.ParseUint(f.Cursor, 10, 64); err != nil || start == 0 {
			return 0, 0, fmt.Errorf("cursor: %q is not one List returned: %w", f.Cursor, ErrInvalid)
		}
	}
	return limit, start, nil
}

func (f *Filter) matches(r *Record) bool {
	if f.Account != "" && r.Account != f.Account {
		return false
	}
	if f.Action == "" {
		return true
	}
	if p, ok := strings.CutSuffix(f.Action, "*"); ok {
		return strings.HasPrefix(r.Action, p)
	}
	return r.Action == f.Action
}

// firstAtOrAfter returns the first seq in [lo, hi] whose record is at or after t, or
// hi+1 when there is none, reading about log2(hi-lo) record headers.
func firstAtOrAfter(r storage.Reader, lo, hi uint64, t int64) (uint64, error) {
	hi++
	for lo < hi {
		mid := lo + (hi-lo)/2
		at, err := readAt(r, mid)
		if err != nil {
			return 0, err
		}
		if at < t {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func readAt(r storage.Reader, seq uint64) (int64, error) {
	v, err := r.Get(recordKey(seq))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, fmt.Errorf("record %d: missing: %w", seq, errCorrupt)
	}
	if err != nil {
		return 0, fmt.Errorf("record %d: %w", seq, err)
	}
	body, _, _, err := splitValue(v)
	if err != nil {
		return 0, fmt.Errorf("record %d: %w", seq, err)
	}
	d := storage.Decoder{B: body}
	got, at, err := decodeHeader(&d)
	if err != nil {
		return 0, fmt.Errorf("record %d: %w", seq, err)
	}
	if got != seq {
		return 0, fmt.Errorf("record %d: says %d: %w", seq, got, errCorrupt)
	}
	return at, nil
}
