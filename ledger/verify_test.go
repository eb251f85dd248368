package ledger

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"kirim/storage"
)

// ledgerWithHistory returns a fixture with a few of every kind of entry and one open hold.
func ledgerWithHistory(t *testing.T) *fixture {
	f := newFixture(t, Config{Accounts: []Account{{ID: "acme", Currency: "IDR", Package: Package{Credits: map[string]int64{CategoryService: 1}}}}})
	f.topUp("acme", "T1", 5000*idr)
	f.mustHold(marketing("a"))
	f.capture("a", "")
	f.mustHold(marketing("b"))
	f.release("b")
	f.mustHold(marketing("c"))
	f.commit(func(tx storage.Txn) error { _, err := f.l.Adjust(tx, "acme", 10*idr, "rounding"); return err })
	f.mustVerify()
	return f
}

func TestVerifyFindsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(tx storage.Txn, h head) error
		kind   string
	}{
		{"entry amount rewritten", func(tx storage.Txn, h head) error {
			return rewriteEntry(tx, 3, func(e *Entry) { e.Legs[0].Amount--; e.Legs[1].Amount++ })
		}, ProblemHash},
		{"entry rewritten and rehashed", func(tx storage.Txn, h head) error {
			return rewriteEntry(tx, 3, func(e *Entry) {
				e.Legs[0].Amount--
				e.Legs[1].Amount++
				prev, _ := readEntry(tx, 2)
				e.Hash = chainHash(prev.Hash, encodeEntry(e))
			})
		}, ProblemHash}, // the next entry no longer chains
		{"entry deleted", func(tx storage.Txn, h head) error { return tx.Delete(entryKey(4)) }, ProblemGap},
		{"last entry deleted", func(tx storage.Txn, h head) error { return tx.Delete(entryKey(h.Seq)) }, ProblemHead},
		{"entry garbled", func(tx storage.Txn, h head) error { return tx.Set(entryKey(2), []byte("garbage")) }, ProblemCorrupt},
		{"cached balance edited", func(tx storage.Txn, h head) error {
			return putInt(tx, balanceKey("IDR", availableAccount("acme")), 1)
		}, ProblemBalanceMismatch},
		{"cached balance removed", func(tx storage.Txn, h head) error {
			return tx.Delete(balanceKey("IDR", providerAccount("acme")))
		}, ProblemBalanceMismatch},
		{"open hold record resolved behind the chain's back", func(tx storage.Txn, h head) error {
			hd, err := readHold(tx, "c")
			if err != nil {
				return err
			}
			hd.Status = HoldReleased
			return writeHold(tx, &hd)
		}, ProblemOpenHold},
		{"open hold record amount edited", func(tx storage.Txn, h head) error {
			hd, err := readHold(tx, "c")
			if err != nil {
				return err
			}
			hd.Amount = 1
			return writeHold(tx, &hd)
		}, ProblemOpenHold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ledgerWithHistory(t)
			h := f.head()
			f.commit(func(tx storage.Txn) error { return tt.tamper(tx, h) })
			rep := f.verify()
			if rep.OK() {
				t.Fatal("Verify passed a tampered ledger")
			}
			found := false
			for _, p := range rep.Problems {
				found = found || p.Kind == tt.kind
			}
			if !found {
				t.Fatalf("want a %s problem, got %v", tt.kind, rep.Problems)
			}
		})
	}
}

func rewriteEntry(tx storage.Txn, seq uint64, edit func(*Entry)) error {
	v, err := tx.Get(entryKey(seq))
	if err != nil {
		return err
	}
	e, _, err := decodeEntry(v)
	if err != nil {
		return err
	}
	edit(&e)
	return tx.Set(entryKey(seq), append(encodeEntry(&e), e.Hash[:]...))
}

func TestVerifyUnbalancedAndDoubleResolution(t *testing.T) {
	// Entries written past post's checks, chained correctly, must still be caught by the
	// replay: an unbalanced entry, a second capture of one hold, a negative account.
	f := ledgerWithHistory(t)
	f.commit(func(tx storage.Txn) error {
		h, err := readHead(tx)
		if err != nil {
			return err
		}
		bad := []Entry{
			{Kind: KindAdjustment, Account: "acme", Legs: []Leg{{Account: worldAccount("acme"), Asset: "IDR", Amount: -5}}},
			{Kind: KindCapture, Account: "acme", HoldID: "a", Legs: []Leg{
				{Account: heldAccount("acme"), Asset: "IDR", Amount: -514 * idr}, {Account: providerAccount("acme"), Asset: "IDR", Amount: 514 * idr}}},
			{Kind: KindAdjustment, Account: "acme", Reason: "overdraw", Legs: []Leg{
				{Account: availableAccount("acme"), Asset: "IDR", Amount: -1_000_000 * idr}, {Account: worldAccount("acme"), Asset: "IDR", Amount: 1_000_000 * idr}}},
		}
		for i := range bad {
			e := &bad[i]
			e.Seq, e.At = h.Seq+1, time.Unix(0, 0)
			body := encodeEntry(e)
			e.Hash = chainHash(h.Hash, body)
			if err := tx.Set(entryKey(e.Seq), append(body, e.Hash[:]...)); err != nil {
				return err
			}
			h = head{Seq: e.Seq, Hash: e.Hash}
		}
		return writeHead(tx, h)
	})
	rep := f.verify()
	kinds := map[string]bool{}
	for _, p := range rep.Problems {
		kinds[p.Kind] = true
	}
	for _, k := range []string{ProblemUnbalanced, ProblemHold, ProblemNegative} {
		if !kinds[k] {
			t.Errorf("no %s problem in %v", k, rep.Problems)
		}
	}
	if kinds[ProblemHash] || kinds[ProblemHead] {
		t.Errorf("chain itself was intact: %v", rep.Problems)
	}
}

func TestEntryEncodingRoundTrip(t *testing.T) {
	e := Entry{
		Seq: 42, Kind: KindCapture, At: time.Date(2025, 7, 1, 1, 2, 3, 4, time.UTC), Account: "acme",
		HoldID: "h1", MessageID: "m1", CampaignID: "c1", Reference: "r", Reason: "why", Category: "marketing",
		CreditKind: "", Amount: -7,
		Legs: []Leg{{Account: heldAccount("acme"), Asset: "IDR", Amount: -7}, {Account: providerAccount("acme"), Asset: "IDR", Amount: 7}},
	}
	body := encodeEntry(&e)
	e.Hash = chainHash([32]byte{1}, body)
	got, gotBody, err := decodeEntry(append(bytes.Clone(body), e.Hash[:]...))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) || !bytes.Equal(gotBody, body) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
	}
}

// FuzzDecodeEntry feeds stored-entry bytes (which Verify reads from a possibly damaged
// or altered store) to the decoder: it must never panic, and whatever it accepts must
// re-encode to exactly the bytes it was given, so the hash covers one meaning only.
func FuzzDecodeEntry(f *testing.F) {
	seeds := []Entry{
		{Seq: 1, Kind: KindTopUp, At: time.Unix(1, 0), Account: "acme", Reference: "T1", Amount: 5,
			Legs: []Leg{{Account: World, Asset: "IDR", Amount: -5}, {Account: availableAccount("acme"), Asset: "IDR", Amount: 5}}},
		{Seq: 2, Kind: KindCreditGrant, At: time.Unix(0, -1), Account: "a", CreditKind: "service", Amount: 1000,
			Legs: []Leg{{Account: worldAccount("a"), Asset: "credit:service", Amount: -1000}, {Account: creditAccount("a", "service"), Asset: "credit:service", Amount: 1000}}},
		{Seq: 3, Kind: KindAdjustment},
	}
	for _, e := range seeds {
		f.Add(append(encodeEntry(&e), make([]byte, hashSize)...))
	}
	f.Add([]byte{})
	f.Add([]byte{entryVersion})
	f.Add(append([]byte{entryVersion, 0, 0, 0, 0, 0, 0, 0, 1}, bytes.Repeat([]byte{0xff}, 60)...))
	f.Fuzz(func(t *testing.T, v []byte) {
		e, body, err := decodeEntry(v)
		if err != nil {
			return
		}
		if re := encodeEntry(&e); !bytes.Equal(re, body) {
			t.Fatalf("decoded entry re-encodes differently:\n in %x\nout %x", body, re)
		}
		if _, err := json.Marshal(e); err != nil {
			t.Fatalf("decoded entry does not marshal: %v", err)
		}
	})
}

// FuzzDecodeHold: hold records are read back on every capture and release; a damaged one
// must give an error, never a panic, and what decodes must re-encode identically.
func FuzzDecodeHold(f *testing.F) {
	seeds := []Hold{
		{ID: "h1", Account: "acme", Category: CategoryMarketing, Amount: 514 * idr, Status: HoldHeld, Month: "2025-07",
			At: time.Unix(1, 2).UTC(), ExpiresAt: time.Unix(3, 4).UTC(), HoldSeq: 9},
		{ID: "h2", Account: "acme", Category: CategoryService, CreditKind: "service", CreditMonth: "2025-07", Status: HoldReleased,
			ReleaseReason: "failed", ResolvedAt: time.Unix(5, 0).UTC(), InWindow: true, Free: true, FreeReason: FreeService},
		{ID: "h3", Account: "acme", CampaignID: "cmp1", Category: CategoryMarketing, Amount: 514 * idr, Status: HoldHeld, ReserveID: "run1"},
		{ID: "h4", Account: "acme", Category: CategoryMarketing, Amount: 514 * idr, Status: HoldHeld, Rules: RulesMUV, Volume: volumeAll,
			Template: "promo/id"},
		{ID: "h5", Account: "acme", Category: CategoryService, Status: HoldCaptured, ReserveID: "run1", Rules: RulesPerMessage},
	}
	for _, h := range seeds {
		f.Add(encodeHold(&h))
	}
	f.Add([]byte{recordVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		h, err := decodeHold(v)
		if err != nil {
			return
		}
		if re := encodeHold(&h); !bytes.Equal(re, v) {
			t.Fatalf("hold re-encodes differently:\n in %x\nout %x", v, re)
		}
	})
}

func TestHoldRecordRoundTrip(t *testing.T) {
	h := Hold{ID: "h1", Account: "acme", MessageID: "m", CampaignID: "c", Recipient: "628", Market: "62",
		Category: CategoryUtility, ContentType: "text", InWindow: true, FreeEntryPoint: true, Amount: 3, CreditKind: "k",
		CreditMonth: "2025-01", Free: true, FreeReason: "x", Band: 4, Month: "2025-02", At: time.Unix(10, 1).UTC(),
		ExpiresAt: time.Unix(20, 2).UTC(), Status: HoldCaptured, HoldSeq: 5, Captured: 6, CapturedCategory: "marketing",
		Shortfall: 7, ReleaseReason: "r", ResolvedAt: time.Unix(30, 3).UTC(), ResolveSeq: 8}
	for _, tt := range []struct {
		reserve, rules, volume, template string
		version                          byte
	}{
		{"", "", "", "", recordVersion},
		{"run1", "", "", "", holdRecordReserve},
		{"", RulesLegacy, "", "", holdRecordPricing},
		{"run1", RulesMUV, volumeAll, "promo/id", holdRecordPricing},
		{"", "", "", "otp/en", holdRecordPricing},
	} {
		h.ReserveID, h.Rules, h.Volume, h.Template = tt.reserve, tt.rules, tt.volume, tt.template
		v := encodeHold(&h)
		got, err := decodeHold(v)
		if err != nil || !reflect.DeepEqual(got, h) || v[0] != tt.version {
			t.Fatalf("round trip of version %d: %v\n got %+v\nwant %+v", v[0], err, got, h)
		}
	}
	// Version 3 must carry rules, volume or template: one meaning, one encoding.
	h.ReserveID, h.Rules, h.Volume, h.Template = "run1", "", "", ""
	v2 := encodeHold(&h)
	v3 := append([]byte{holdRecordPricing}, v2[1:]...)
	for range 3 {
		v3 = appendString(v3, "")
	}
	if _, err := decodeHold(v3); err == nil {
		t.Fatal("version 3 without rules, volume or template decoded")
	}
}
