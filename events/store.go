package events

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kirim/storage"
)

var keyNextSeq = []byte(storage.PrefixEventMeta + "seq")

func eventKey(seq uint64) []byte { return storage.Key(storage.PrefixEvent, storage.U64(seq)) }

func queuePrefix(ep string) []byte { return storage.Key(storage.PrefixEventQueue, storage.Str(ep)) }

func queueKey(ep string, seq uint64) []byte {
	return storage.Key(storage.PrefixEventQueue, storage.Str(ep), storage.U64(seq))
}

func endpointKey(id string) []byte {
	return storage.Key(storage.PrefixEventEndpoint, storage.Str(id))
}

func countersKey(ep string) []byte {
	return storage.Key(storage.PrefixEventCounters, storage.Str(ep))
}

func deliveryKey(id string) []byte { return storage.Key(storage.PrefixDelivery, storage.Str(id)) }

func retryPrefix(ep string) []byte {
	return storage.Key(storage.PrefixDeliveryRetry, storage.Str(ep))
}

func retryKey(ep string, due time.Time, id string) []byte {
	return storage.Key(storage.PrefixDeliveryRetry, storage.Str(ep), storage.U64(uint64(due.UnixNano())), storage.Str(id))
}

func statusPrefix(status string) []byte {
	return storage.Key(storage.PrefixDeliveryStatus, storage.Str(status))
}

func statusKey(status, id string) []byte {
	return storage.Key(storage.PrefixDeliveryStatus, storage.Str(status), storage.Str(id))
}

// nextSeq takes the next event sequence number. Commit functions run one at a time,
// so the numbers are gapless and follow commit order.
func nextSeq(tx storage.Txn) (uint64, error) {
	var seq uint64 = 1
	v, err := tx.Get(keyNextSeq)
	switch {
	case err == nil:
		s, _, ok := storage.ParseU64(v)
		if !ok {
			return 0, fmt.Errorf("next sequence: %w", storage.ErrCorruptRecord)
		}
		seq = s
	case !errors.Is(err, storage.ErrNotFound):
		return 0, fmt.Errorf("next sequence: %w", err)
	}
	if err := tx.Set(keyNextSeq, storage.U64(seq+1)); err != nil {
		return 0, err
	}
	return seq, nil
}

// stored is an event as the log keeps it.
type stored struct {
	Event
	Seq  uint64
	Only string // the one endpoint it was meant for (endpoint.test), or ""
}

const eventVersion = 1

func encodeEvent(ev *Event, only string) []byte {
	b := make([]byte, 0, 64+len(ev.ID)+len(ev.Type)+len(ev.Account)+len(ev.Data))
	b = append(b, eventVersion)
	for _, s := range []string{ev.ID, ev.Type, ev.Account, only} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, ev.At.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(ev.Data)))
	return append(b, ev.Data...)
}

func decodeEvent(seq uint64, v []byte) (stored, error) {
	d := storage.Decoder{B: v}
	if ver := d.Byte(); d.Err == nil && ver != eventVersion {
		return stored{}, fmt.Errorf("event %d: version %d: %w", seq, ver, storage.ErrCorruptRecord)
	}
	s := stored{Seq: seq}
	s.ID, s.Type, s.Account, s.Only = d.Str(), d.Str(), d.Str(), d.Str()
	s.At = time.Unix(0, d.Varint()).UTC()
	s.Data = json.RawMessage(append([]byte(nil), d.Bytes()...))
	if d.Err != nil {
		return stored{}, fmt.Errorf("event %d: %w", seq, d.Err)
	}
	return s, nil
}

// counters are one endpoint's numbers, kept in one key that every commit changing
// them reads and rewrites, so Stats reads a few keys instead of counting queues.
type counters struct {
	head      uint64 // events ever queued
	done      uint64 // queue entries taken off (delivered or moved to retries)
	retrying  uint64 // deliveries in the retry set after a failure
	pending   uint64 // deliveries waiting after a replay
	failed    uint64 // deliveries past the last retry, kept
	delivered uint64
	resume    uint64 // every queue entry below this sequence is done: where a scan starts
	failing   int64  // unix ns of the first failure since the last success, 0 if none
}

const countersLen = 8 * 8

func (c *counters) encode() []byte {
	b := make([]byte, 0, countersLen)
	for _, v := range []uint64{c.head, c.done, c.retrying, c.pending, c.failed, c.delivered, c.resume, uint64(c.failing)} {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return b
}

func readCounters(r storage.Reader, ep string) (counters, error) {
	v, err := r.Get(countersKey(ep))
	if errors.Is(err, storage.ErrNotFound) {
		return counters{}, nil
	}
	if err != nil {
		return counters{}, fmt.Errorf("counters of %s: %w", ep, err)
	}
	if len(v) != countersLen {
		return counters{}, fmt.Errorf("counters of %s: %w", ep, storage.ErrCorruptRecord)
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(v[8*i:]) }
	return counters{u(0), u(1), u(2), u(3), u(4), u(5), u(6), int64(u(7))}, nil
}

func updateCounters(tx storage.Txn, ep string, fn func(*counters)) error {
	c, err := readCounters(tx, ep)
	if err != nil {
		return err
	}
	fn(&c)
	return tx.Set(countersKey(ep), c.encode())
}

// dec lowers a counter without wrapping: a counter reset by hand (or a bug) must not
// show 18 quintillion failures.
func dec(v *uint64) {
	if *v > 0 {
		*v--
	}
}

// record is a delivery that needed more than one attempt, with a copy of its event so
// it can be replayed after the log has been swept.
type record struct {
	Delivery
	EndpointAccount string          `json:"endpoint_account"`
	Tries           int             `json:"tries"` // attempts since the schedule started over
	Seq             uint64          `json:"seq"`
	At              time.Time       `json:"at"`
	Data            json.RawMessage `json:"data"`
}

func (r *record) event() stored {
	return stored{Seq: r.Seq, Event: Event{ID: r.EventID, Type: r.EventType, Account: r.Account, At: r.At, Data: r.Data}}
}

func readRecord(r storage.Reader, id string) (record, error) {
	v, err := r.Get(deliveryKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return record{}, fmt.Errorf("delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return record{}, fmt.Errorf("delivery %s: %w", id, err)
	}
	var rec record
	if err := json.Unmarshal(v, &rec); err != nil {
		return record{}, fmt.Errorf("delivery %s: %w: %v", id, storage.ErrCorruptRecord, err)
	}
	return rec, nil
}

// writeRecord stores rec and moves its index entries from what old had to what rec
// has: the status index, and the retry set when it waits for an attempt.
func writeRecord(tx storage.Txn, old *record, rec *record) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if old != nil {
		if old.Status != rec.Status {
			if err := tx.Delete(statusKey(old.Status, old.ID)); err != nil {
				return err
			}
		}
		if waiting(old.Status) {
			if err := tx.Delete(retryKey(old.EndpointID, old.NextAttempt, old.ID)); err != nil {
				return err
			}
		}
	}
	if old == nil || old.Status != rec.Status {
		if err := tx.Set(statusKey(rec.Status, rec.ID), nil); err != nil {
			return err
		}
	}
	if waiting(rec.Status) {
		if err := tx.Set(retryKey(rec.EndpointID, rec.NextAttempt, rec.ID), nil); err != nil {
			return err
		}
	}
	return tx.Set(deliveryKey(rec.ID), v)
}

// waiting reports whether a delivery in status s is in its endpoint's retry set.
func waiting(s string) bool { return s == StatusPending || s == StatusRetrying }

// count moves a delivery from one status counter to another ("" for none).
func (c *counters) count(from, to string) {
	for _, s := range []struct {
		st string
		d  int
	}{{from, -1}, {to, 1}} {
		var p *uint64
		switch s.st {
		case StatusPending:
			p = &c.pending
		case StatusRetrying:
			p = &c.retrying
		case StatusFailed:
			p = &c.failed
		case StatusDelivered:
			p = &c.delivered
		default:
			continue
		}
		if s.d < 0 {
			dec(p)
		} else {
			*p++
		}
	}
}
