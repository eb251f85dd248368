package memory

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kirim/clock"
)

// DefaultPagerInterval is how often a Pager looks at the resident set.
const DefaultPagerInterval = 250 * time.Millisecond

// errPageOutUnsupported is what pageOut returns where the kernel cannot be asked.
var errPageOutUnsupported = errors.New("memory: paging out is not supported here")

// Pager keeps the resident set under a budget by handing the pages of the files Badger
// maps back to the kernel.
//
// Badger writes every table through a shared mapping of its file, and reads tables,
// its write-ahead logs (the memtables' .mem files) and the value log through mappings
// too: every page it wrote or read stays counted in the process's resident set until
// the file is closed, so the resident set grows with the data (in `kirim bench`, 40
// to 90 MB of table pages at the end of 100,000 accepts). While the resident set is
// above BudgetMB, the Pager asks the kernel to reclaim the pages of every file mapped
// from Dir (madvise MADV_PAGEOUT, Linux 5.4 and later): a dirty page is written back
// first and a clean one dropped, so nothing is lost whatever the range holds by then,
// and a page read later is read again from the file. It never touches the process's
// own memory, and it changes nothing about durability: commits are synced as before.
type Pager struct {
	Dir      string // the data directory; only files mapped from under it are paged out
	BudgetMB int    // resident MB above which pages are handed back; 0 or less: never
	Clock    clock.Clock
	Interval time.Duration // default DefaultPagerInterval
	Logger   *slog.Logger

	// rss, maps and pageOut are the process's (RSSMB, /proc/self/maps, madvise) unless a
	// test sets them.
	rss     func() int
	maps    func() (io.ReadCloser, error)
	pageOut func(addr, length uintptr) error
}

func (p *Pager) defaults() {
	if p.Clock == nil {
		p.Clock = clock.Real{}
	}
	if p.Interval <= 0 {
		p.Interval = DefaultPagerInterval
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.rss == nil {
		p.rss = func() int { total, _ := RSSMB(os.Getpid()); return total }
	}
	if p.maps == nil {
		p.maps = func() (io.ReadCloser, error) { return os.Open("/proc/self/maps") }
	}
	if p.pageOut == nil {
		p.pageOut = pageOut
	}
}

// Run looks at the resident set every Interval until ctx is done, or until the kernel
// turns out unable to page out (then it logs why once and returns).
func (p *Pager) Run(ctx context.Context) {
	if p.BudgetMB <= 0 || p.Dir == "" {
		return
	}
	p.defaults()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.Clock.After(p.Interval):
			if _, err := p.tick(); err != nil {
				p.Logger.Info("memory: mapped files are left resident", "err", err)
				return
			}
		}
	}
}

// tick pages out the mapped files under Dir when the resident set is over budget, and
// returns how many bytes of mappings it asked about. An error means it cannot work.
func (p *Pager) tick() (uint64, error) {
	if p.rss() <= p.BudgetMB {
		return 0, nil
	}
	r, err := p.maps()
	if err != nil {
		return 0, fmt.Errorf("memory: read mappings: %w", err)
	}
	defer r.Close()
	ranges, err := mappedUnder(r, p.Dir)
	if err != nil {
		return 0, err
	}
	var asked uint64
	for _, m := range ranges {
		if err := p.pageOut(m.start, m.end-m.start); err != nil {
			return asked, fmt.Errorf("memory: page out %s: %w", m.path, err)
		}
		asked += uint64(m.end - m.start)
	}
	return asked, nil
}

type mapping struct {
	start, end uintptr
	path       string
}

// mappedUnder reads /proc/PID/maps lines ("start-end perms offset dev inode path") and
// returns the mappings of files under dir.
func mappedUnder(r io.Reader, dir string) ([]mapping, error) {
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	var out []mapping
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			continue // anonymous
		}
		path := strings.Join(f[5:], " ")
		if !strings.HasPrefix(path, prefix) {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("memory: mapping %q: no range", sc.Text())
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err := errors.Join(err1, err2); err != nil || end <= start {
			return nil, fmt.Errorf("memory: mapping %q: bad range", sc.Text())
		}
		out = append(out, mapping{start: uintptr(start), end: uintptr(end), path: path})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("memory: read mappings: %w", err)
	}
	return out, nil
}
