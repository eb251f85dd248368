package storage

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// Every key of the program starts with one of these prefixes, and this is the only place
// they are declared: a new record type adds its prefix here, and TestPrefixesDisjoint
// proves no prefix is a prefix of another, so a prefix scan never strays into another
// record type. Prefixes are short because every key in the LSM tree carries them.
const (
	// PrefixMeta holds store-wide metadata such as the schema version (KeySchemaVersion).
	PrefixMeta = "meta/"

	// PrefixMessage holds message records by message id.
	PrefixMessage = "m/"
	// PrefixMessagePayload holds each message's provider request body until the message
	// is settled, apart from the record so that state changes do not re-encode it.
	PrefixMessagePayload = "mp/"
	// PrefixQueue is the ready queue: number, due time, message id. Kept apart from the
	// payloads so dispatchers scan small keys only.
	PrefixQueue = "mq/"
	// PrefixLease holds in-flight leases: number, lease expiry, message id.
	PrefixLease = "ml/"
	// PrefixWAMID maps the provider's message id (wamid) to our message id.
	PrefixWAMID = "mw/"
	// PrefixIdempotency maps account and idempotency key to the stored result.
	PrefixIdempotency = "mk/"
	// PrefixIdempotencyExpiry indexes the idempotency records by creation time, so
	// those past their retention are dropped without a scan of every record.
	PrefixIdempotencyExpiry = "me/"
	// PrefixMessageIndex holds the secondary indexes used to search messages.
	PrefixMessageIndex = "mx/"

	// PrefixInbox holds raw provider webhook bodies, written before the provider is answered.
	PrefixInbox = "wi/"
	// PrefixDeadLetter holds provider webhooks that could not be applied.
	PrefixDeadLetter = "wd/"
	// PrefixWebhookState holds webhook cursors and dedupe keys.
	PrefixWebhookState = "ws/"
	// PrefixCallback holds outbound callbacks to customer systems and their retry state.
	PrefixCallback = "cb/"

	// PrefixInbound holds customers' messages with their content, by inbound id.
	PrefixInbound = "ib/"
	// PrefixInboundIndex holds the indexes of inbound messages: per account, per
	// account and customer, by media id and by the provider's message id.
	PrefixInboundIndex = "ix/"
	// PrefixEvent is the event outbox (package events): event records by a gapless
	// sequence number assigned in the commit that wrote them, so sequence order is
	// commit order.
	PrefixEvent = "ev/"
	// PrefixEventMeta holds the outbox's next sequence number.
	PrefixEventMeta = "em/"
	// PrefixEventQueue is each endpoint's queue of events not yet attempted: endpoint,
	// sequence. Key only; the event body stays in PrefixEvent.
	PrefixEventQueue = "eq/"
	// PrefixEventEndpoint holds endpoints made through the API, and the state kept for
	// endpoints of the configuration (disabled or not).
	PrefixEventEndpoint = "ee/"
	// PrefixEventCounters holds per-endpoint counters (queued, done, retrying, failed,
	// delivered), the queue's resume point and when the endpoint started failing.
	PrefixEventCounters = "ek/"
	// PrefixDelivery holds the deliveries that needed more than one attempt (retrying,
	// failed, replayed), each with a copy of its event so a replay outlives the log.
	PrefixDelivery = "ed/"
	// PrefixDeliveryRetry is each endpoint's retry set: endpoint, due time, delivery id.
	PrefixDeliveryRetry = "er/"
	// PrefixDeliveryStatus indexes deliveries by status: status, delivery id.
	PrefixDeliveryStatus = "es/"

	// PrefixLedgerEntry holds append-only ledger entries, numbered without gaps.
	PrefixLedgerEntry = "le/"
	// PrefixLedgerBalance holds cached balances (always equal to a replay of the entries).
	PrefixLedgerBalance = "lb/"
	// PrefixLedgerHold holds reservations awaiting capture or release.
	PrefixLedgerHold = "lh/"
	// PrefixLedgerTopUp holds top-ups by id.
	PrefixLedgerTopUp = "lt/"
	// PrefixLedgerVolume holds per-account volume counters for tiered prices.
	PrefixLedgerVolume = "lv/"
	// PrefixLedgerMeta holds ledger bookkeeping: the next entry number, the hash chain head.
	PrefixLedgerMeta = "lm/"
	// PrefixLedgerCredit holds monthly credit grants and their use.
	PrefixLedgerCredit = "lc/"

	// PrefixUser holds console users (package tenant): name, role, password hash.
	PrefixUser = "us/"
	// PrefixSession holds console sign-in sessions by the SHA-256 of their token.
	PrefixSession = "ss/"

	// PrefixTemplate holds message templates.
	PrefixTemplate = "t/"

	// PrefixContact holds contacts.
	PrefixContact = "c/"
	// PrefixList holds contact lists.
	PrefixList = "cl/"
	// PrefixListMember holds list membership: list, contact.
	PrefixListMember = "cm/"
	// PrefixImport holds import jobs and their progress.
	PrefixImport = "ci/"
	// PrefixCampaign holds campaigns.
	PrefixCampaign = "cp/"
	// PrefixCampaignRecipient holds one status row per campaign recipient.
	PrefixCampaignRecipient = "cr/"
	// PrefixCampaignRun holds scheduled and past campaign runs.
	PrefixCampaignRun = "cn/"
	// PrefixWindow holds customer-service window expiries: number, recipient.
	PrefixWindow = "cw/"

	// PrefixNumber holds per-number state: tier, quality, status, counters.
	PrefixNumber = "n/"
	// PrefixNumberRecipient holds the unique recipients per number in the rolling
	// messaging-limit window.
	PrefixNumberRecipient = "nr/"

	// PrefixAccount holds customer accounts.
	PrefixAccount = "a/"
	// PrefixAPIKey holds API keys by their hash.
	PrefixAPIKey = "k/"

	// PrefixAudit holds the audit log: records numbered without gaps, each hash-chained
	// to the one before, and the chain head.
	PrefixAudit = "au/"
)

// KeySchemaVersion is the key of the stored schema version.
var KeySchemaVersion = []byte(PrefixMeta + "schema")

// Prefixes lists every prefix above; tests and tools (per-prefix statistics) range over it.
var Prefixes = []string{
	PrefixMeta,
	PrefixMessage, PrefixMessagePayload, PrefixQueue, PrefixLease, PrefixWAMID, PrefixIdempotency, PrefixIdempotencyExpiry, PrefixMessageIndex,
	PrefixInbox, PrefixDeadLetter, PrefixWebhookState, PrefixCallback,
	PrefixInbound, PrefixInboundIndex,
	PrefixEvent, PrefixEventMeta, PrefixEventQueue, PrefixEventEndpoint, PrefixEventCounters,
	PrefixDelivery, PrefixDeliveryRetry, PrefixDeliveryStatus,
	PrefixLedgerEntry, PrefixLedgerBalance, PrefixLedgerHold, PrefixLedgerTopUp,
	PrefixLedgerVolume, PrefixLedgerMeta, PrefixLedgerCredit,
	PrefixTemplate,
	PrefixContact, PrefixList, PrefixListMember, PrefixImport, PrefixCampaign,
	PrefixCampaignRecipient, PrefixCampaignRun, PrefixWindow,
	PrefixNumber, PrefixNumberRecipient,
	PrefixAccount, PrefixAPIKey,
	PrefixAudit,
}

// Key concatenates prefix and parts into a new slice. Parts come from U64, Str or raw
// fixed-width bytes, so the result sorts part by part.
func Key(prefix string, parts ...[]byte) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, prefix...)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// U64 encodes v as 8 bytes big-endian, so numbers and unix times sort numerically.
func U64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v)
}

// ParseU64 decodes a U64 part at the start of b and returns the rest.
func ParseU64(b []byte) (v uint64, rest []byte, ok bool) {
	if len(b) < 8 {
		return 0, b, false
	}
	return binary.BigEndian.Uint64(b), b[8:], true
}

// Str encodes a variable-length part: s followed by a 0x00 separator, so "ab" sorts
// before "abc" and two parts never run into each other. The rare 0x00 and 0x01 bytes
// inside s are escaped (0x01 0x01 and 0x01 0x02), which keeps the encoding injective and
// order-preserving for any input, including idempotency keys chosen by clients.
func Str(s string) []byte {
	if strings.IndexByte(s, 0) < 0 && strings.IndexByte(s, 1) < 0 {
		b := make([]byte, 0, len(s)+1)
		b = append(b, s...)
		return append(b, 0)
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b = append(b, 1, 1)
		case 1:
			b = append(b, 1, 2)
		default:
			b = append(b, c)
		}
	}
	return append(b, 0)
}

// ParseStr decodes a Str part at the start of b and returns the rest.
func ParseStr(b []byte) (s string, rest []byte, ok bool) {
	end := bytes.IndexByte(b, 0)
	if end < 0 {
		return "", b, false
	}
	enc := b[:end]
	if bytes.IndexByte(enc, 1) < 0 {
		return string(enc), b[end+1:], true
	}
	out := make([]byte, 0, len(enc))
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if c != 1 {
			out = append(out, c)
			continue
		}
		if i+1 >= len(enc) {
			return "", b, false
		}
		i++
		switch enc[i] {
		case 1:
			out = append(out, 0)
		case 2:
			out = append(out, 1)
		default:
			return "", b, false
		}
	}
	return string(out), b[end+1:], true
}

// PrefixEnd returns the smallest key greater than every key that starts with prefix, for
// use as an exclusive upper bound; nil when there is none (prefix empty or all 0xFF).
func PrefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// crockford is Crockford's base32 alphabet: no I, L, O or U, so ids survive being read
// aloud or retyped, and its characters are in ASCII order, so encoded ids sort like the
// bytes they encode.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idLen is the length of the encoded part of an id: 128 bits in 5-bit characters.
const idLen = 26

var idState struct {
	sync.Mutex
	ms       uint64
	hi, lo   uint64 // the last id's 128 bits: 48-bit ms, then 80 random bits
	haveLast bool
}

// NewID returns a time-ordered unique id such as "msg_01JB3M1X9Q2W8Y6T4R0V5N7C3E":
// prefix, an underscore, then Crockford base32 of 48 bits of unix milliseconds followed
// by 80 random bits. Within one millisecond of one process the random part is
// incremented instead of drawn again, so ids made in sequence also sort in sequence.
// Ids sort by now: message, hold and entry ids double as time-ordered keys.
func NewID(prefix string, now time.Time) string {
	ms := uint64(now.UnixMilli()) & (1<<48 - 1)

	idState.Lock()
	var hi, lo uint64
	if idState.haveLast && ms == idState.ms {
		// 128-bit increment of the last id; the 48-bit time in the top of hi absorbs an
		// 80-bit overflow, which keeps ids unique and ordered at worst a millisecond ahead.
		hi, lo = idState.hi, idState.lo+1
		if lo == 0 {
			hi++
		}
	} else {
		var r [10]byte
		// crypto/rand.Read never fails on supported platforms (it panics instead).
		_, _ = rand.Read(r[:])
		hi = ms<<16 | uint64(binary.BigEndian.Uint16(r[:2]))
		lo = binary.BigEndian.Uint64(r[2:])
	}
	idState.ms, idState.hi, idState.lo, idState.haveLast = ms, hi, lo, true
	idState.Unlock()

	var out [idLen]byte
	for i := idLen - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	if prefix == "" {
		return string(out[:])
	}
	return prefix + "_" + string(out[:])
}

// IDTime returns the time an id of NewID was made, to the millisecond.
func IDTime(id string) (time.Time, bool) {
	if i := strings.LastIndexByte(id, '_'); i >= 0 {
		id = id[i+1:]
	}
	if len(id) != idLen || strings.Trim(id, crockford) != "" {
		return time.Time{}, false
	}
	// 26 characters carry 130 bits, the first two always zero: the first 10 characters
	// are those two and the 48-bit milliseconds.
	var v uint64
	for i := 0; i < 10; i++ {
		d := strings.IndexByte(crockford, id[i])
		if d < 0 {
			return time.Time{}, false
		}
		v = v<<5 | uint64(d)
	}
	return time.UnixMilli(int64(v)).UTC(), true
}
