package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"kirim/storage"
)

// rawRecord reads the stored value of record seq.
func (f *fixture) rawRecord(seq uint64) []byte {
	f.t.Helper()
	var v []byte
	err := f.db.View(func(r storage.Reader) (err error) {
		v, err = r.Get(recordKey(seq))
		return err
	})
	if err != nil {
		f.t.Fatalf("read record %d: %v", seq, err)
	}
	return v
}

// write changes the store directly, as someone with access to the data directory could.
func (f *fixture) write(fn func(tx storage.Txn) error) {
	f.t.Helper()
	if err := f.db.Commit(context.Background(), fn); err != nil {
		f.t.Fatalf("tamper: %v", err)
	}
}

// reencode returns record seq with edit applied, stored with the given hashes, or with
// its own hash recomputed over the edited contents when rehash is set.
func (f *fixture) reencode(seq uint64, rehash bool, edit func(*Record)) []byte {
	f.t.Helper()
	r, _, err := decodeValue(f.rawRecord(seq))
	if err != nil {
		f.t.Fatal(err)
	}
	edit(&r)
	body := encodeBody(&r)
	if rehash {
		r.Hash = chainHash(r.Prev, body)
	}
	return storedValue(body, r.Prev, r.Hash)
}

func TestVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(f *fixture)
		seq    uint64 // the record Verify must name
		detail string
	}{
		{
			name: "target changed",
			tamper: func(f *fixture) {
				v := f.reencode(3, false, func(r *Record) { r.Target = "top_forged" })
				f.write(func(tx storage.Txn) error { return tx.Set(recordKey(3), v) })
			},
			seq: 3, detail: "contents hash to",
		},
		{
			name: "result changed and rehashed",
			tamper: func(f *fixture) {
				v := f.reencode(3, true, func(r *Record) { r.Result = "insufficient_balance"; r.Status = 402 })
				f.write(func(tx storage.Txn) error { return tx.Set(recordKey(3), v) })
			},
			seq: 4, detail: "previous hash",
		},
		{
			name: "one byte flipped",
			tamper: func(f *fixture) {
				v := f.rawRecord(2)
				v[20] ^= 1
				f.write(func(tx storage.Txn) error { return tx.Set(recordKey(2), v) })
			},
			seq: 2, detail: "",
		},
		{
			name: "time moved back",
			tamper: func(f *fixture) {
				v := f.reencode(4, false, func(r *Record) { r.At = r.At.Add(-2 * 60e9) })
				f.write(func(tx storage.Txn) error { return tx.Set(recordKey(4), v) })
			},
			seq: 4, detail: "before the record preceding it",
		},
		{
			name: "record deleted",
			tamper: func(f *fixture) {
				f.write(func(tx storage.Txn) error { return tx.Delete(recordKey(3)) })
			},
			seq: 3, detail: "missing (the next stored record is 4)",
		},
		{
			name: "last record deleted",
			tamper: func(f *fixture) {
				f.write(func(tx storage.Txn) error { return tx.Delete(recordKey(5)) })
			},
			seq: 5, detail: "missing (the chain head says the last record is 5)",
		},
		{
			name: "records swapped",
			tamper: func(f *fixture) {
				a, b := f.rawRecord(2), f.rawRecord(3)
				f.write(func(tx storage.Txn) error {
					if err := tx.Set(recordKey(2), b); err != nil {
						return err
					}
					return tx.Set(recordKey(3), a)
				})
			},
			seq: 2, detail: "says it is record 3",
		},
		{
			name: "record added past the head",
			tamper: func(f *fixture) {
				v := f.reencode(5, true, func(r *Record) {
					r.Seq, r.Prev = 6, r.Hash
				})
				f.write(func(tx storage.Txn) error { return tx.Set(recordKey(6), v) })
			},
			seq: 6, detail: "beyond the chain head",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.seed(rec("acme", "topup.confirm"), rec("acme", "topup.reject"), rec("acme", "topup.confirm"),
				rec("globex", "key.create"), rec("globex", "key.revoke"))
			f.verify(5)
			c.tamper(f)
			n, err := f.log.Verify()
			if !errors.Is(err, ErrBroken) {
				t.Fatalf("Verify = %d, %v; want ErrBroken", n, err)
			}
			if want := fmt.Sprintf("audit: verify: record %d: ", c.seq); !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("Verify error %q does not start %q", err, want)
			}
			if !strings.Contains(err.Error(), c.detail) {
				t.Fatalf("Verify error %q does not say %q", err, c.detail)
			}
			if n != c.seq-1 {
				t.Fatalf("Verify found %d sound records, want %d", n, c.seq-1)
			}
		})
	}
}

func TestVerifyEmptyLog(t *testing.T) {
	newFixture(t).verify(0)
}
