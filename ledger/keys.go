package ledger

import (
	"encoding/binary"

	"kirim/storage"
)

// Key layout under the ledger prefixes of storage/keys.go. Parts are joined with '/';
// every variable part is validated to contain none (validID, validName).
const (
	prefixEntry   = storage.PrefixLedgerEntry   // e/<seq> the chain; a/<account>/<at><seq> the statement index
	prefixBalance = storage.PrefixLedgerBalance // <asset>/<posting account> cached balance
	prefixHold    = storage.PrefixLedgerHold    // h/<hold id> hold record; x/<expires><hold id> expiry index; r/<reserve id> campaign reserve
	prefixTopUp   = storage.PrefixLedgerTopUp   // <account>/<top-up id>
	prefixVolume  = storage.PrefixLedgerVolume  // <account>/<category>/<yyyy-mm> monthly volume
	prefixMeta    = storage.PrefixLedgerMeta    // head chain head; acct/<account> flags; conv/... conversations; muv/... unique users
	prefixCredit  = storage.PrefixLedgerCredit  // <account> month of the last credit rollover
)

func key(prefix string, parts ...string) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, prefix...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, p...)
	}
	return b
}

func u64(v uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return string(b[:])
}

// i64 orders signed values (times in nanoseconds) correctly as big-endian bytes.
func i64(v int64) string { return u64(uint64(v) ^ (1 << 63)) }

func entryKey(seq uint64) []byte { return key(prefixEntry, "e", u64(seq)) }
func entryPrefix() []byte        { return key(prefixEntry, "e", "") }

func indexPrefix(account string) []byte { return key(prefixEntry, "a", account, "") }
func indexKey(account string, atNanos int64, seq uint64) []byte {
	return key(prefixEntry, "a", account, i64(atNanos)+u64(seq))
}

func balanceKey(asset, account string) []byte { return key(prefixBalance, asset, account) }
func balancePrefix() []byte                   { return []byte(prefixBalance) }

func holdKey(id string) []byte { return key(prefixHold, "h", id) }
func holdExpiryKey(expiresNanos int64, id string) []byte {
	return key(prefixHold, "x", i64(expiresNanos)+id)
}
func holdExpiryPrefix() []byte { return key(prefixHold, "x", "") }

func reserveKey(id string) []byte { return key(prefixHold, "r", id) }
func reservePrefix() []byte       { return key(prefixHold, "r", "") }

func topUpKey(account, id string) []byte { return key(prefixTopUp, account, id) }
func topUpPrefix(account string) []byte  { return key(prefixTopUp, account, "") }

func volumeKey(account, category, month string) []byte {
	return key(prefixVolume, account, category, month)
}

func headKey() []byte                  { return key(prefixMeta, "head") }
func accountStateKey(id string) []byte { return key(prefixMeta, "acct", id) }
func creditMonthKey(id string) []byte  { return key(prefixCredit, id) }
func conversationKey(account, recipient, category string) []byte {
	return key(prefixMeta, "conv", account, recipient, category)
}

// muvKey marks recipient as charged in month under RulesMUV; its value is the id of the
// hold that charged it.
func muvKey(account, month, recipient string) []byte {
	return key(prefixMeta, "muv", account, month, recipient)
}
