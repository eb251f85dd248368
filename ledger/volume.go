package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"

	"kirim/storage"
)

// Volume is one month's message count of one category for one account: captured
// (charged) messages, and money holds still open. Only charged messages count, so holds
// backed by a credit or priced free do not.
type Volume struct {
	Captured int64
	Held     int64
}

func readVolume(r storage.Reader, account, category, month string) (Volume, error) {
	v, err := r.Get(volumeKey(account, category, month))
	if errors.Is(err, storage.ErrNotFound) {
		return Volume{}, nil
	}
	if err != nil {
		return Volume{}, fmt.Errorf("read volume %s %s %s: %w", account, category, month, err)
	}
	if len(v) != 16 {
		return Volume{}, fmt.Errorf("read volume %s %s %s: %d bytes: %w", account, category, month, len(v), errCorrupt)
	}
	return Volume{Captured: int64(binary.BigEndian.Uint64(v)), Held: int64(binary.BigEndian.Uint64(v[8:]))}, nil
}

func writeVolume(tx storage.Txn, account, category, month string, vol Volume) error {
	b := make([]byte, 0, 16)
	b = binary.BigEndian.AppendUint64(b, uint64(vol.Captured))
	b = binary.BigEndian.AppendUint64(b, uint64(vol.Held))
	if err := tx.Set(volumeKey(account, category, month), b); err != nil {
		return fmt.Errorf("write volume %s %s %s: %w", account, category, month, err)
	}
	return nil
}

// addVolume changes one month's counters by the given deltas.
func addVolume(tx storage.Txn, account, category, month string, captured, held int64) error {
	vol, err := readVolume(tx, account, category, month)
	if err != nil {
		return err
	}
	vol.Captured += captured
	vol.Held += held
	if vol.Held < 0 {
		// Cannot happen while every hold decrements the month it incremented; clamp
		// rather than poison later quotes.
		vol.Held = 0
	}
	return writeVolume(tx, account, category, month, vol)
}

// MonthVolume reports one month's volume counters ("2006-01" in the account's
// timezone) of a category, or with category VolumeTotal of the counter of every
// category that total-volume cards keep.
func (l *Ledger) MonthVolume(r storage.Reader, account, category, month string) (Volume, error) {
	if _, err := l.account(account); err != nil {
		return Volume{}, fmt.Errorf("ledger: volume: %w", err)
	}
	if category == VolumeTotal {
		category = volumeAll
	}
	vol, err := readVolume(r, account, category, month)
	if err != nil {
		return Volume{}, fmt.Errorf("ledger: %w", err)
	}
	return vol, nil
}
