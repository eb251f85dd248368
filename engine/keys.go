package engine

import (
	"time"

	"kirim/storage"
)

// Key layout of the engine (prefixes are declared in storage/keys.go):
//
//	m/<id>                                   message JSON
//	mq/<number>\0<due ns BE8><id>            ready queue, oldest due first
//	ml/<number>\0<lease expiry ns BE8><id>   leases: value "c" claimed, "f" (or empty) in flight
//	mw/<wamid>                               provider message id -> message id
//	mk/<account>\0<idempotency key>          idempotency record
//	me/<created ns BE8><account>\0<key>       idempotency records by age
//	mx/a/<account>\0<id>                     every message of an account
//	mx/s/<account>\0<state>\0<id>            by state
//	mx/t/<account>\0<to>\0<id>               by recipient
//	mx/c/<campaign>\0<id>                    by campaign
//	mx/u/<id>                                unknown outcome, awaiting settlement

func msgKey(id string) []byte { return storage.Key(storage.PrefixMessage, []byte(id)) }

func payloadKey(id string) []byte { return storage.Key(storage.PrefixMessagePayload, []byte(id)) }

func queuePrefix(number string) []byte { return storage.Key(storage.PrefixQueue, storage.Str(number)) }

func queueKey(number string, due time.Time, id string) []byte {
	return storage.Key(storage.PrefixQueue, storage.Str(number), storage.U64(uint64(due.UnixNano())), []byte(id))
}

func leasePrefix(number string) []byte { return storage.Key(storage.PrefixLease, storage.Str(number)) }

func leaseKey(number string, until time.Time, id string) []byte {
	return storage.Key(storage.PrefixLease, storage.Str(number), storage.U64(uint64(until.UnixNano())), []byte(id))
}

// Lease values. A claimed message waits for a throughput token and has not been handed
// to the provider: after a crash it is queued again. One marked in flight is about to be
// sent or was: after a crash its outcome is unknown. A lease written without a value (by
// an earlier version, which marked every claimed message in flight) counts as in flight.
var (
	leaseClaimed  = []byte("c")
	leaseInFlight = []byte("f")
)

// leaseIsClaimedOnly reports whether a lease's value says its message never left.
func leaseIsClaimedOnly(v []byte) bool { return string(v) == string(leaseClaimed) }

func wamidKey(wamid string) []byte { return storage.Key(storage.PrefixWAMID, []byte(wamid)) }

func idemKey(account, key string) []byte {
	return storage.Key(storage.PrefixIdempotency, storage.Str(account), []byte(key))
}

// idemExpiryKey orders the idempotency records by creation; the part after the time is
// the record key's own tail (account, key).
func idemExpiryKey(created time.Time, account, key string) []byte {
	return storage.AgeKey(storage.PrefixIdempotencyExpiry, created, storage.Str(account), []byte(key))
}

const (
	ixAll      = "a/"
	ixState    = "s/"
	ixTo       = "t/"
	ixCampaign = "c/"
	ixUnknown  = "u/"
)

func ixAllKey(account, id string) []byte {
	return storage.Key(storage.PrefixMessageIndex+ixAll, storage.Str(account), []byte(id))
}

func ixStatePrefix(account string, s State) []byte {
	return storage.Key(storage.PrefixMessageIndex+ixState, storage.Str(account), storage.Str(string(s)))
}

func ixToPrefix(account, to string) []byte {
	return storage.Key(storage.PrefixMessageIndex+ixTo, storage.Str(account), storage.Str(to))
}

func ixCampaignPrefix(campaign string) []byte {
	return storage.Key(storage.PrefixMessageIndex+ixCampaign, storage.Str(campaign))
}

func ixUnknownKey(id string) []byte {
	return storage.Key(storage.PrefixMessageIndex+ixUnknown, []byte(id))
}

var ixUnknownPrefix = []byte(storage.PrefixMessageIndex + ixUnknown)

// splitTimeID reads the "<ns BE8><id>" tail of a queue or lease key.
func splitTimeID(rest []byte) (time.Time, string, bool) {
	ns, id, ok := storage.ParseU64(rest)
	if !ok || len(id) == 0 {
		return time.Time{}, "", false
	}
	return time.Unix(0, int64(ns)), string(id), true
}
