package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

// Key layout under storage.PrefixCampaignRun ("cn/"):
//
//	cn/s/<campaign>          schedule record: spec, next instant, last handled instant
//	cn/r/<campaign><at>      run record, one per handled instant
//	cn/f/<campaign><at>      present while a run is "firing"; Start scans only these
//
// <campaign> is storage.Str, <at> the instant's unix nanoseconds as storage.U64, so a
// campaign's runs sort by time. Instants are bounded by MaxAhead and the five-year
// horizon of cron, far inside the range of UnixNano.
const (
	subSchedule = "s/"
	subRun      = "r/"
	subFiring   = "f/"
)

func scheduleKey(id string) []byte {
	return storage.Key(storage.PrefixCampaignRun, []byte(subSchedule), storage.Str(id))
}

func runKey(id string, at time.Time) []byte {
	return storage.Key(storage.PrefixCampaignRun, []byte(subRun), storage.Str(id), storage.U64(uint64(at.UnixNano())))
}

func runPrefix(id string) []byte {
	return storage.Key(storage.PrefixCampaignRun, []byte(subRun), storage.Str(id))
}

func firingKey(id string, at time.Time) []byte {
	return storage.Key(storage.PrefixCampaignRun, []byte(subFiring), storage.Str(id), storage.U64(uint64(at.UnixNano())))
}

func parseFiringKey(k []byte) (id string, at time.Time, ok bool) {
	rest := k[len(storage.PrefixCampaignRun)+len(subFiring):]
	id, rest, ok = storage.ParseStr(rest)
	if !ok {
		return "", time.Time{}, false
	}
	n, rest, ok := storage.ParseU64(rest)
	if !ok || len(rest) != 0 {
		return "", time.Time{}, false
	}
	return id, time.Unix(0, int64(n)).UTC(), true
}

// record is the stored schedule of one campaign.
type record struct {
	Spec Spec      `json:"spec"`
	Next time.Time `json:"next,omitzero"` // the next instant to handle
	Last time.Time `json:"last,omitzero"` // the last instant handled (fired or skipped)
	// Rev changes on every Set, so the loop can tell that the schedule it was about to
	// fire has been replaced in the meantime.
	Rev string `json:"rev"`
}

func getRecord(r storage.Reader, id string) (record, error) {
	var rec record
	b, err := r.Get(scheduleKey(id))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("schedule: decode schedule %s: %w", id, err)
	}
	return rec, nil
}

func putJSON(tx storage.Txn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Set(key, b)
}

func exists(r storage.Reader, key []byte) (bool, error) {
	_, err := r.Get(key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

func decodeJSON(b []byte, v any) error { return json.Unmarshal(b, v) }

func decodeRun(b []byte) (Run, error) {
	var run Run
	if err := json.Unmarshal(b, &run); err != nil {
		return run, fmt.Errorf("schedule: decode run: %w", err)
	}
	return run, nil
}
