package lists

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"kirim/clock"
	"kirim/storage"
)

const waitTimeout = 15 * time.Second

// csvOf builds a CSV body with a phone and a name column and n rows whose phones are
// distinct, in descending order (so sorted output proves the store sorts).
func csvOf(n, from int) string {
	var b strings.Builder
	b.WriteString("phone,name,kode\n")
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "0812%08d,Orang %d,K%d\n", from+i, from+i, from+i)
	}
	return b.String()
}

func importCSV(tb testing.TB, s *Store, account, list, body string) *Import {
	tb.Helper()
	im, err := s.ImportSync(context.Background(), ImportRequest{Account: account, ListName: list, Body: strings.NewReader(body)})
	if err != nil {
		tb.Fatal(err)
	}
	if im.Status != StatusDone {
		tb.Fatalf("import %s: %s", im.Status, im.Error)
	}
	return im
}

func TestMembersOrderAndCursor(t *testing.T) {
	s := newStore(t)
	n := 2*pageSize + 7
	im := importCSV(t, s, "a", "big", csvOf(n, 0))
	all := members(t, s, im.ListID)
	if len(all) != n {
		t.Fatalf("%d members, want %d", len(all), n)
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].Phone >= all[i].Phone {
			t.Fatalf("members out of order at %d: %s then %s", i, all[i-1].Phone, all[i].Phone)
		}
	}
	if all[0].Phone != "+6281200000000" || all[0].Name != "Orang 0" || all[0].Vars["kode"] != "K0" {
		t.Fatalf("first member %+v", all[0])
	}
	// Strictly after: resuming from any member's phone yields exactly the rest.
	for _, at := range []int{0, pageSize - 1, pageSize, n - 2, n - 1} {
		var got []string
		err := s.Members(im.ListID, all[at].Phone, func(m Member) (bool, error) {
			got = append(got, m.Phone)
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n-at-1 || (len(got) > 0 && got[0] != all[at+1].Phone) {
			t.Fatalf("after %d: %d members starting %v, want %d", at, len(got), got[:min(1, len(got))], n-at-1)
		}
	}
	// A phone that is not a member resumes at the next one.
	var first string
	_ = s.Members(im.ListID, "+6281200000000x", func(m Member) (bool, error) { first = m.Phone; return false, nil })
	if first != "+6281200000001" {
		t.Fatalf("after a non-member: %s", first)
	}
	// fn stops the walk, and its error comes back.
	boom := errors.New("boom")
	calls := 0
	err := s.Members(im.ListID, "", func(Member) (bool, error) { calls++; return true, boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	if err := s.Members("lst_missing", "", func(Member) (bool, error) { return true, nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing list: %v", err)
	}
}

// TestAppendToList: importing under an existing name appends, counting numbers already
// on the list as duplicates (the existing member wins) and adding new columns.
func TestAppendToList(t *testing.T) {
	s := newStore(t)
	first := importCSV(t, s, "a", "VIP", "phone,nama,kota\n081234567890,Budi,Jakarta\n081234567891,Ani,Bandung\n")
	second := importCSV(t, s, "a", "VIP", "No HP,Nama,Voucher,Kota\n0812-3456-7890,Budi Baru,V1,Bogor\n081234567892,Caca,V2,Medan\n081234567892,Caca lagi,V3,Medan\n")
	if second.ListID != first.ListID {
		t.Fatalf("second import made list %s, want %s", second.ListID, first.ListID)
	}
	if second.Imported != 1 || second.Duplicates != 2 {
		t.Fatalf("imported %d duplicates %d, want 1 and 2", second.Imported, second.Duplicates)
	}
	l, err := s.List("a", first.ListID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Count != 3 || !reflect.DeepEqual(l.Columns, []string{"kota", "voucher"}) || l.ImportID != second.ID {
		t.Fatalf("list %+v", l)
	}
	want := []Member{
		{Phone: "+6281234567890", Name: "Budi", Vars: map[string]string{"kota": "Jakarta"}},
		{Phone: "+6281234567891", Name: "Ani", Vars: map[string]string{"kota": "Bandung"}},
		{Phone: "+6281234567892", Name: "Caca", Vars: map[string]string{"kota": "Medan", "voucher": "V2"}},
	}
	if got := members(t, s, l.ID); !reflect.DeepEqual(got, want) {
		t.Fatalf("members\n got %+v\nwant %+v", got, want)
	}
	// Another account's list of the same name is its own.
	other := importCSV(t, s, "b", "VIP", "phone\n081234567890\n")
	if other.ListID == first.ListID || other.Imported != 1 {
		t.Fatalf("other account's import %+v", other)
	}
}

func TestAccountsAndNotFound(t *testing.T) {
	s := newStore(t)
	im := importCSV(t, s, "a", "A list", "phone\n081234567890\n")
	if _, err := s.List("b", im.ListID); !errors.Is(err, ErrNotFound) {
		t.Errorf("List from another account: %v", err)
	}
	if _, err := s.GetImport("b", im.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetImport from another account: %v", err)
	}
	if _, err := s.GetImport("a", "imp_missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetImport missing: %v", err)
	}
	if err := s.Delete(context.Background(), "b", im.ListID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete from another account: %v", err)
	}
	if ls, _ := s.Lists("b"); len(ls) != 0 {
		t.Errorf("account b sees %v", ls)
	}
	if ids, _ := s.ListsOf("b", "+6281234567890"); len(ids) != 0 {
		t.Errorf("account b sees the contact on %v", ids)
	}
}

func TestListsOfAndDelete(t *testing.T) {
	s := newStore(t)
	one := importCSV(t, s, "a", "one", csvOf(pageSize+5, 0))
	two := importCSV(t, s, "a", "two", "phone\n081200000003\n081299999999\n")
	ids, err := s.ListsOf("a", "+6281200000003")
	if err != nil || !reflect.DeepEqual(ids, []string{one.ListID, two.ListID}) {
		t.Fatalf("ListsOf %v %v, want [%s %s]", ids, err, one.ListID, two.ListID)
	}
	if ids, _ := s.ListsOf("a", "+628120000000"); len(ids) != 0 {
		t.Fatalf("a prefix of a phone matched %v", ids)
	}
	if err := s.Delete(context.Background(), "a", one.ListID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List("a", one.ListID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted list: %v", err)
	}
	if err := s.Delete(context.Background(), "a", one.ListID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if ids, _ := s.ListsOf("a", "+6281200000003"); !reflect.DeepEqual(ids, []string{two.ListID}) {
		t.Fatalf("ListsOf after delete %v", ids)
	}
	if n, _ := s.countMembers(one.ListID); n != 0 {
		t.Fatalf("%d members left after delete", n)
	}
	if ls, _ := s.Lists("a"); len(ls) != 1 || ls[0].ID != two.ListID {
		t.Fatalf("lists after delete %+v", ls)
	}
	// The name is free again: a new import makes a new list.
	again := importCSV(t, s, "a", "one", "phone\n081200000003\n")
	if again.ListID == one.ListID || again.Imported != 1 {
		t.Fatalf("re-import %+v", again)
	}
}

// TestImportInBackground: Import answers at once with status running, progress is
// committed chunk by chunk, and a list with a running import cannot be deleted or
// imported into.
func TestImportInBackground(t *testing.T) {
	s := newStore(t)
	n := 2*chunkRows + 10
	release := make(chan struct{})
	chunks := make(chan Import, 8)
	var once sync.Once
	s.chunkDone = func(im Import) {
		chunks <- im
		once.Do(func() { <-release })
	}
	im, err := s.Import(context.Background(), ImportRequest{Account: "a", ListName: "bg", Body: strings.NewReader(csvOf(n, 0))})
	if err != nil {
		t.Fatal(err)
	}
	if im.Status != StatusRunning || im.RowsDone != 0 {
		t.Fatalf("Import answered %+v, want running", im)
	}
	first := <-chunks
	if first.Status != StatusRunning || first.RowsDone != chunkRows || first.Imported != chunkRows || first.Progress <= 0 || first.Progress >= 1 {
		t.Fatalf("after the first chunk %+v", first)
	}
	stored, err := s.GetImport("a", im.ID)
	if err != nil || stored.RowsDone != chunkRows || stored.Status != StatusRunning {
		t.Fatalf("GetImport mid-way %+v %v", stored, err)
	}
	if l, _ := s.List("a", im.ListID); l.Count != chunkRows {
		t.Fatalf("list count mid-way %d", l.Count)
	}
	if err := s.Delete(context.Background(), "a", im.ListID); !errors.Is(err, ErrBusy) {
		t.Fatalf("delete during import: %v", err)
	}
	if _, err := s.ImportSync(context.Background(), ImportRequest{Account: "a", ListName: "bg", Body: strings.NewReader("phone\n081234567890\n")}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second import into a busy list: %v", err)
	}
	close(release)
	deadline := time.After(waitTimeout)
	for {
		select {
		case c := <-chunks:
			if c.Status != StatusDone {
				continue
			}
			if c.RowsTotal != int64(n) || c.Imported != int64(n) {
				t.Fatalf("final %+v", c)
			}
			s.wg.Wait()
			if l, _ := s.List("a", im.ListID); l.Count != int64(n) {
				t.Fatalf("list count %d, want %d", l.Count, n)
			}
			if err := s.Delete(context.Background(), "a", im.ListID); err != nil {
				t.Fatalf("delete after the import: %v", err)
			}
			return
		case <-deadline:
			t.Fatal("the import did not finish")
		}
	}
}

// TestInterruptedImport: an import cut short by a stop (here, one whose goroutine never
// finished: a crash) is failed on the next Open with its rows kept and its list
// recounted; a deletion cut short resumes.
func TestInterruptedImport(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	s, err := Open(db, clock.NewFake(t0), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.prepare(context.Background(), ImportRequest{Account: "a", ListName: "crash", Body: strings.NewReader(csvOf(100, 0))})
	if err != nil {
		t.Fatal(err)
	}
	// Write half the file as one chunk, then stop as a crash would: no final record.
	w := &chunkWriter{s: s, j: j, seen: map[string]struct{}{}}
	for range 50 {
		row, cells, raw, err := j.src.next()
		if err != nil {
			t.Fatal(err)
		}
		p, rerr := j.parseRow(row, cells, raw)
		if rerr != nil {
			t.Fatal(rerr)
		}
		w.add(p)
	}
	if err := w.flush(50, false); err != nil {
		t.Fatal(err)
	}
	_ = j.src.close()
	// A count that drifted (members written, progress not committed) is repaired.
	ls, _ := s.Lists("a")
	ls[0].Count = 7
	if err := db.Commit(context.Background(), func(tx storage.Txn) error { return putJSON(tx, listKey(ls[0].ID), &ls[0]) }); err != nil {
		t.Fatal(err)
	}
	// A deletion marked but not carried out.
	other := importCSV(t, s, "a", "half-deleted", csvOf(10, 500))
	ol, _ := s.List("a", other.ListID)
	ol.Deleting = true
	if err := db.Commit(context.Background(), func(tx storage.Txn) error { return putJSON(tx, listKey(ol.ID), ol) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	defer db.Close()
	s, err = Open(db, clock.NewFake(t0), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	im, err := s.GetImport("a", j.imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if im.Status != StatusFailed || !strings.Contains(im.Error, "interrupted") || im.RowsDone != 50 || im.Imported != 50 {
		t.Fatalf("import after restart %+v", im)
	}
	l, err := s.List("a", j.list.ID)
	if err != nil || l.Count != 50 || len(members(t, s, l.ID)) != 50 {
		t.Fatalf("list after restart %+v %v", l, err)
	}
	s.wg.Wait() // the resumed deletion
	if n, _ := s.countMembers(ol.ID); n != 0 {
		t.Fatalf("%d members of the deleted list left", n)
	}
	if ids, _ := s.ListsOf("a", "+6281200000500"); len(ids) != 0 {
		t.Fatalf("deleted list still indexed: %v", ids)
	}
}

// TestImportCancelled: ImportSync stops when its context ends and records it.
func TestImportCancelled(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	s.chunkDone = func(Import) { cancel() }
	im, err := s.ImportSync(ctx, ImportRequest{Account: "a", ListName: "c", Body: strings.NewReader(csvOf(3*chunkRows, 0))})
	if err != nil {
		t.Fatal(err)
	}
	if im.Status != StatusFailed || im.Imported < chunkRows || im.Imported >= 3*chunkRows || im.RowsDone != im.Imported {
		t.Fatalf("cancelled import %+v", im)
	}
	l, _ := s.List("a", im.ListID)
	if l.Count != im.Imported {
		t.Fatalf("list count %d, imported %d", l.Count, im.Imported)
	}
}
