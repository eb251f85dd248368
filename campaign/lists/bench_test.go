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

// heapPeak samples the live heap until stop is closed and returns the highest value.
func heapPeak(stop <-chan struct{}) func() uint64 {
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
	)
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// BenchmarkImport imports generated CSV files into an on-disk store and reports rows
// per second and the peak live heap during the import, which should not grow with the
// number of rows:
//
//	go test -run '^$' -bench Import -benchtime 1x ./campaign/lists
func BenchmarkImport(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			db := openDB(b, b.TempDir())
			defer db.Close()
			s, err := Open(db, clock.Real{}, quietLogger())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			runtime.GC()
			stop := make(chan struct{})
			peak := heapPeak(stop)
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
			b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
		})
	}
}
