package engine

import (
	"fmt"

	"kirim/storage"
)

// MaxListLimit caps one page of a message search.
const MaxListLimit = 500

// ListFilter selects messages of one account, newest first.
type ListFilter struct {
	AccountID  string
	State      State
	To         string
	CampaignID string
	Limit      int    // default 50, at most MaxListLimit
	Cursor     string // the last id of the previous page
}

// List returns one page of messages and the cursor of the next page ("" at the end).
func (e *Engine) List(f ListFilter) ([]*Message, string, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, MaxListLimit)
	var prefix []byte
	switch {
	case f.CampaignID != "":
		prefix = ixCampaignPrefix(f.CampaignID)
	case f.State != "":
		prefix = ixStatePrefix(f.AccountID, f.State)
	case f.To != "":
		prefix = ixToPrefix(f.AccountID, f.To)
	default:
		prefix = storage.Key(storage.PrefixMessageIndex+ixAll, storage.Str(f.AccountID))
	}
	opts := storage.IterOptions{Reverse: true, KeysOnly: true}
	if f.Cursor != "" {
		opts.Start = storage.Key(string(prefix), []byte(f.Cursor))
	}
	var out []*Message
	next := ""
	err := e.db.View(func(r storage.Reader) error {
		return r.Iterate(prefix, opts, func(k, _ []byte) (bool, error) {
			id := string(k[len(prefix):])
			if id == f.Cursor {
				return true, nil
			}
			if len(out) == f.Limit {
				next = out[len(out)-1].ID
				return false, nil
			}
			m, err := loadMessage(r, id)
			if err != nil {
				return false, fmt.Errorf("engine: list: %w", err)
			}
			if m.AccountID != f.AccountID || (f.State != "" && m.State != f.State) || (f.To != "" && m.To != f.To) {
				return true, nil
			}
			out = append(out, m)
			return true, nil
		})
	})
	return out, next, err
}
