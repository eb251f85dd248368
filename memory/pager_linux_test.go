package memory

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestPagerReleasesMappedFile: on the real kernel, the pages of a file mapped and
// written through the mapping leave the resident set, and its contents stay whole.
func TestPagerReleasesMappedFile(t *testing.T) {
	const size = 8 << 20
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "000001.sst"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(data)
	for i := range data {
		data[i] = byte(i % 251)
	}
	before := residentKB(t, filepath.Join(dir, "000001.sst"))
	if before < size>>10/2 {
		t.Fatalf("only %d kB of the mapping resident after writing it", before)
	}

	p := &Pager{Dir: dir, BudgetMB: 1}
	p.defaults()
	asked, err := p.tick()
	if errors.Is(err, errPageOutUnsupported) {
		t.Skip("this kernel cannot page out:", err)
	}
	if err != nil || asked != size {
		t.Fatalf("asked about %d bytes, err %v; want %d", asked, err, size)
	}
	if after := residentKB(t, filepath.Join(dir, "000001.sst")); after > before/4 {
		t.Fatalf("%d kB resident after paging out, %d before", after, before)
	}
	for i := range data {
		if data[i] != byte(i%251) {
			t.Fatalf("byte %d is %d after paging out, want %d", i, data[i], byte(i%251))
		}
	}
}

// residentKB reads the Rss of the mapping of path from /proc/self/smaps.
func residentKB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && strings.Contains(fields[0], "-") {
			in = fields[5] == path
			continue
		}
		if in && len(fields) >= 2 && fields[0] == "Rss:" {
			kb, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal(fmt.Errorf("no mapping of %s in /proc/self/smaps", path))
	return 0
}
