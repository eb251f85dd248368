package lists

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"kirim/clock"
	"kirim/storage"
)

// rowsReader generates a CSV file of n rows without holding it: phones in a scrambled
// order (a permutation of 0..n-1), every 50th row repeating the previous phone.
type rowsReader struct {
	n, i int
	buf  []byte
}

func (r *rowsReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) && r.i <= r.n {
		if r.i == 0 {
			r.buf = append(r.buf, "No HP;Nama;Kota;Kode Voucher\r\n"...)
		} else {
			k := r.i - 1
			if k%50 == 49 {
				k--
			}
			v := (k*7919 + 13) % r.n
			r.buf = fmt.Appendf(r.buf, "0812%08d;Pelanggan %d;Jakarta Selatan;VC-%07d\r\n", v, v, v)
		}
		r.i++
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = r.buf[:copy(r.buf, r.buf[n:])]
	return n, nil
}

// heapPeaks samples the heap until stop is closed and returns the highest live heap
// (what the last GC found reachable: the memory an import really holds) and the
// highest heap in use (live plus garbage not yet collected, which GOGC lets grow to
// about twice the live heap).
func heapPeaks(stop <-chan struct{}) func() (live, inuse uint64) {
	var (
		mu          sync.Mutex
		live, inuse uint64
		done        = make(chan struct{})
	)
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			mu.Lock()
			live = max(live, samples[0].Value.Uint64())
			inuse = max(inuse, samples[1].Value.Uint64())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return live, inuse
	}
}

// BenchmarkImport imports generated CSV files into an on-disk store and reports rows
// per second and the peak heap during the import:
//
//	go test -run '^$' -bench Import -benchtime 1x ./campaign/lists
//
// The import itself holds one chunk (heap profiles at the peak attribute about 10 MiB
// to it at 100,000, 1,000,000 and 2,000,000 rows alike). The process peak grows with
// the data all the same: it is Badger's compaction, whose table builders work on more
// tables as the levels fill, not anything the import keeps.
func BenchmarkImport(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			// Badger sized like a small VPS (docs/dependencies: 8 MiB memtables), so
			// the peak shows the import's own footprint more than Badger's caches.
			db, err := storage.Open(storage.Options{Dir: b.TempDir(), MemTableSize: 8 << 20, NumMemtables: 2,
				BlockCacheSize: 8 << 20, IndexCacheSize: 4 << 20, GCInterval: -1, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s, err := Open(db, clock.Real{}, quietLogger())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			runtime.GC()
			stop := make(chan struct{})
			peaks := heapPeaks(stop)
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				im, err := s.ImportSync(context.Background(), ImportRequest{Account: "a", ListName: fmt.Sprint("bench ", i), Body: &rowsReader{n: n}})
				if err != nil {
					b.Fatal(err)
				}
				if im.Status != StatusDone || im.RowsTotal != int64(n) || im.Imported+im.Duplicates != int64(n) {
					b.Fatalf("import %+v", im)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			close(stop)
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "rows/s")
			live, inuse := peaks()
			b.ReportMetric(float64(live)/(1<<20), "peak-live-MiB")
			b.ReportMetric(float64(inuse)/(1<<20), "peak-heap-MiB")
		})
	}
}
