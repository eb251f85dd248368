package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Defaults, sized for a 1-2 GB VPS that also runs the rest of Kirim.
const (
	DefaultMemTableSize     = 16 << 20
	MinMemTableSize         = 4 << 20
	DefaultTableSize        = 2 << 20
	MinTableSize            = 256 << 10
	DefaultNumMemtables     = 3
	DefaultBlockCacheSize   = 32 << 20 // with compressed tables only
	DefaultIndexCacheSize   = 16 << 20
	DefaultValueLogFileSize = 128 << 20
	DefaultGCInterval       = 10 * time.Minute
	DefaultGCDiscardRatio   = 0.5
	DefaultMaxBatch         = 1024
)

// level0Tables is how many tables (flushed memtables) level 0 gathers before they are
// compacted into the level below, and level0Stall how many stop writes until that is
// done. Badger's defaults (5 and 15) suit reads; Kirim mostly writes, and a compaction
// merges all of level 0 with what it overlaps below, so gathering more per compaction
// rewrites the level below less often. Measured with kirim bench, 300,000 accepts in one
// run each: 231 µs of CPU per accept and a p99 of 74 ms with 5 tables, 189 µs and
// 36 ms with 12, 181 µs and 40 ms with 16, 183 µs and 29 ms with 20. A lookup checks the bloom filter of each
// level-0 table, a fraction of a microsecond each; dispatch CPU per message did not
// move (499 and 497 µs with 5 and 16).
const (
	level0Tables = 16
	level0Stall  = 2 * level0Tables
)

// numCompactors matches the two cores of the machines Kirim is sized for; Badger wants
// at least two (the first one prioritises level 0).
const numCompactors = 2

// maxGCRounds bounds one GC tick, so a store with a lot of garbage is reclaimed over
// several ticks instead of one long burst of rewrites.
const maxGCRounds = 64

// MaxKeySize is the longest key Set and Delete accept. Real keys are a prefix, a few ids
// and numbers; anything longer is a bug worth reporting where it happens.
const MaxKeySize = 4096

// ErrClosed is returned by every operation on a closed DB.
var ErrClosed = errors.New("storage: closed")

// ErrTxnTooBig is returned by Commit when the writes of a single fn do not fit in one
// transaction (about 15 % of MemTableSize). Split the work, or use a Batch.
var ErrTxnTooBig = errors.New("storage: writes of one commit exceed a transaction")

// Compression names how table blocks are compressed.
type Compression string

// The compressions Open knows; the empty name is none too.
const (
	CompressionNone   Compression = "none"
	CompressionSnappy Compression = "snappy"
	CompressionZstd   Compression = "zstd"
)

// Options configure Open. A zero field takes the default named in its comment.
type Options struct {
	// Dir is the data directory. Required unless InMemory.
	Dir string
	// InMemory keeps everything in memory (tests). Nothing survives Close; GC is off.
	InMemory bool
	// MemTableSize is the size of one memtable. Default 16 MiB, at least 4 MiB. Each
	// memtable's arena reserves about 1.3 times this (room for one more full
	// transaction), resident as it fills. A transaction is capped at 15 % of it (about
	// 2.4 MiB by default). Values over a sixteenth of it (at most 1 MiB) go to the value
	// log instead of the tree. A flush builds one table from a whole memtable, so its
	// builder holds about the memtable's size (twice that with Compression).
	MemTableSize int64
	// TableSize is the size of every table file, at every level. Default 2 MiB, at least
	// 256 KiB. A table builder holds its raw blocks, and with compression a compressed
	// copy of each too; Badger keeps the buffers of up to eight builders for reuse and
	// runs up to a dozen per compaction. With compression Badger fills a table up to
	// TableSize of compressed bytes, so a builder holds the compression ratio (about 4
	// with Zstandard) times TableSize twice over: with Zstandard and 1 MiB tables the
	// builders held 86 MiB of the heap at the peak of a 100,000-recipient campaign, with
	// 256 KiB tables 55 MiB of a smaller heap. With Badger's own default (tables
	// doubling per level, 8 MiB at the bottom) the kept buffers alone reached 128 MiB
	// under a sustained dispatch.
	TableSize int64
	// NumMemtables is how many memtables may be in memory (one active, the rest waiting to
	// be flushed). Default 3: about 3 x 21 MiB at the peak of a write burst.
	NumMemtables int
	// Compression compresses table blocks. Default none: a table builder holds every
	// compressed block beside the raw ones, so compactions and flushes hold more heap.
	// Off, tables take more disk and blocks are read straight from the mapped files (page
	// cache, not heap); on, fewer table pages are mapped and resident. The live tables of
	// a 100,000-recipient campaign take 202 MB uncompressed, 63 MB with Snappy and 46 MB
	// with Zstandard, which costs more CPU per block.
	Compression Compression
	// BlockCacheSize caches decompressed table blocks, with compression only (without it
	// a cache only copies what the mapped file already holds). Default 32 MiB, resident
	// once warm.
	BlockCacheSize int64
	// IndexCacheSize caches table indexes and bloom filters. Default 16 MiB; Badger's own
	// default (0) keeps every index in memory, which grows with the data.
	IndexCacheSize int64
	// ValueLogFileSize is the size of one value-log file. Default 128 MiB. It costs
	// address space and sparse file size, not resident memory; smaller files let GC
	// reclaim space in smaller steps.
	ValueLogFileSize int64
	// GCInterval is how often value-log GC runs. Default 10 minutes; negative disables.
	GCInterval time.Duration
	// GCDiscardRatio is the share of a value-log file that must be garbage before GC
	// rewrites it. Default 0.5.
	GCDiscardRatio float64
	// MaxBatch is the most Commit calls grouped into one sync. Default 1024. The queue
	// of waiting commits holds this many requests.
	MaxBatch int
	// Logger receives Badger's warnings and errors. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MemTableSize == 0 {
		o.MemTableSize = DefaultMemTableSize
	}
	if o.TableSize == 0 {
		o.TableSize = DefaultTableSize
	}
	if o.NumMemtables == 0 {
		o.NumMemtables = DefaultNumMemtables
	}
	if o.Compression == "" {
		o.Compression = CompressionNone
	}
	if o.BlockCacheSize == 0 && o.Compression != CompressionNone {
		o.BlockCacheSize = DefaultBlockCacheSize
	}
	if o.Compression == CompressionNone {
		o.BlockCacheSize = 0
	}
	if o.IndexCacheSize == 0 {
		o.IndexCacheSize = DefaultIndexCacheSize
	}
	if o.ValueLogFileSize == 0 {
		o.ValueLogFileSize = DefaultValueLogFileSize
	}
	if o.GCInterval == 0 {
		o.GCInterval = DefaultGCInterval
	}
	if o.GCDiscardRatio == 0 {
		o.GCDiscardRatio = DefaultGCDiscardRatio
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

func (o Options) validate() error {
	switch {
	case !o.InMemory && o.Dir == "":
		return errors.New("storage: options: Dir is required unless InMemory")
	case o.MemTableSize < 0, o.NumMemtables < 0, o.BlockCacheSize < 0, o.IndexCacheSize < 0,
		o.ValueLogFileSize < 0, o.MaxBatch < 0, o.TableSize < 0:
		return errors.New("storage: options: sizes and counts must not be negative")
	case o.MemTableSize < MinMemTableSize:
		return fmt.Errorf("storage: options: MemTableSize %d is under the minimum %d", o.MemTableSize, MinMemTableSize)
	case o.TableSize < MinTableSize:
		return fmt.Errorf("storage: options: TableSize %d is under the minimum %d", o.TableSize, MinTableSize)
	case o.Compression != CompressionNone && o.Compression != CompressionSnappy && o.Compression != CompressionZstd:
		return fmt.Errorf("storage: options: unknown Compression %q", o.Compression)
	case o.GCDiscardRatio < 0 || o.GCDiscardRatio >= 1:
		return fmt.Errorf("storage: options: GCDiscardRatio %v must be in (0, 1)", o.GCDiscardRatio)
	}
	return nil
}

func (o Options) badger() badger.Options {
	dir := o.Dir
	if o.InMemory {
		dir = ""
	}
	compression := options.None
	switch o.Compression {
	case CompressionSnappy:
		compression = options.Snappy
	case CompressionZstd:
		compression = options.ZSTD
	}
	bo := badger.DefaultOptions(dir)
	// One table size at every level: see Options.TableSize.
	bo.TableSizeMultiplier = 1
	bo.NumLevelZeroTables = level0Tables
	bo.NumLevelZeroTablesStall = level0Stall
	return bo.
		WithBaseTableSize(o.TableSize).
		WithValueThreshold(min(1<<20, o.MemTableSize/16)).
		WithCompression(compression).
		WithInMemory(o.InMemory).
		WithMemTableSize(o.MemTableSize).
		WithNumMemtables(o.NumMemtables).
		WithBlockCacheSize(o.BlockCacheSize).
		WithIndexCacheSize(o.IndexCacheSize).
		WithValueLogFileSize(o.ValueLogFileSize).
		WithNumCompactors(numCompactors).
		WithDetectConflicts(false).
		WithSyncWrites(false).
		WithLogger(badgerLogger{o.Logger})
}

// DB is the store: a Badger database, one committer goroutine that groups concurrent
// Commits into one sync, and a value-log GC loop.
type DB struct {
	bdb  *badger.DB
	opts Options
	log  *slog.Logger

	reqs chan *commitReq

	mu     sync.Mutex // guards closed and the Add side of active
	closed bool
	// active counts calls that may touch Badger (enqueueing Commits, Views, open Batches,
	// Backups); Close waits for them before closing Badger.
	active sync.WaitGroup

	committerDone chan struct{}
	gcStop        chan struct{}
	gcDone        chan struct{}
	closeOnce     sync.Once
	closeErr      error

	stats struct {
		commits, groups, syncs, splits, largest, gcRewrites atomic.Int64
	}
	written *writeCounter
	logs    *rotatedLogs // nil in memory
	slab    slab         // the committer's copies; see slab
}

// Open opens (or creates) the store described by opts.
func Open(opts Options) (*DB, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	bdb, err := badger.Open(opts.badger())
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", opts.Dir, err)
	}
	var logs *rotatedLogs
	if !opts.InMemory {
		if logs, err = newRotatedLogs(opts.Dir); err != nil {
			_ = bdb.Close()
			return nil, err
		}
	}
	d := &DB{
		logs:          logs,
		bdb:           bdb,
		opts:          opts,
		log:           opts.Logger,
		reqs:          make(chan *commitReq, opts.MaxBatch),
		committerDone: make(chan struct{}),
		gcStop:        make(chan struct{}),
		gcDone:        make(chan struct{}),
		written:       newWriteCounter(),
	}
	go d.committer()
	if opts.GCInterval > 0 && !opts.InMemory {
		go d.gcLoop(opts.GCInterval)
	} else {
		close(d.gcDone)
	}
	return d, nil
}

// enter registers a call that uses Badger; it fails once Close has begun.
func (d *DB) enter() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.active.Add(1)
	return nil
}

func (d *DB) exit() { d.active.Done() }

// Close waits for calls in progress (queued Commits are run and answered, Views and
// Backups finish, open Batches must be flushed or cancelled), stops the committer and
// the GC loop, and closes Badger. Calling it again returns the first call's result.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		close(d.gcStop)
		// Every Commit that got past enter has its request in the channel once active
		// drains, so closing it after the wait loses nothing.
		d.active.Wait()
		close(d.reqs)
		<-d.committerDone
		<-d.gcDone
		if err := d.bdb.Close(); err != nil {
			d.closeErr = fmt.Errorf("storage: close: %w", err)
		}
		if d.logs != nil {
			_ = d.logs.close()
		}
	})
	return d.closeErr
}

// CloseContext is Close that stops waiting when ctx ends. Badger's close flushes the
// last memtable to a table, and a flush the disk refuses (full, or the directory gone)
// is retried forever; a process told to stop must still stop. Giving up loses nothing:
// every acknowledged write is already synced in the write-ahead log, which the next
// Open replays, as after a kill. The close goes on in the background.
func (d *DB) CloseContext(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- d.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("storage: close: gave up waiting (acknowledged writes are in the write-ahead log, replayed at the next open): %w", ctx.Err())
	}
}

// View runs fn against a read-only snapshot of committed data.
func (d *DB) View(fn func(Reader) error) error {
	if err := d.enter(); err != nil {
		return err
	}
	defer d.exit()
	return d.bdb.View(func(txn *badger.Txn) error {
		return fn(reader{txn})
	})
}

// Stats are counters and sizes for metrics and benchmarks; GET /v1/admin/storage
// serves them as they are.
type Stats struct {
	// Disk space in use, not apparent size: Badger preallocates value-log and memtable
	// files as sparse files of their full size.
	LSMBytes  int64 `json:"lsm_bytes"`  // table files (.sst)
	VLogBytes int64 `json:"vlog_bytes"` // value-log files (.vlog)
	WALBytes  int64 `json:"wal_bytes"`  // memtable write-ahead logs (.mem)

	Commits      int64 `json:"commits"`       // Commit calls answered by the committer
	Groups       int64 `json:"groups"`        // groups of commits run together
	Syncs        int64 `json:"syncs"`         // syncs issued (groups that wrote something)
	Splits       int64 `json:"splits"`        // transactions committed early because a group outgrew one
	LargestGroup int64 `json:"largest_group"` // most commits in one group so far
	GCRewrites   int64 `json:"gc_rewrites"`   // value-log files rewritten by GC
	// LogsSynced counts write-ahead and value-log files synced after Badger moved on to
	// the next one (durable.go).
	LogsSynced int64 `json:"logs_synced"`

	// Written is the bytes of keys and values written since Open, by key prefix
	// (Prefixes; "other" for keys outside them): by Commit once committed, by a Batch
	// once queued. Deletes count their key.
	Written map[string]int64 `json:"written_bytes"`
}

// Stats returns the current counters and on-disk sizes.
func (d *DB) Stats() Stats {
	s := Stats{
		Commits:      d.stats.commits.Load(),
		Groups:       d.stats.groups.Load(),
		Syncs:        d.stats.syncs.Load(),
		Splits:       d.stats.splits.Load(),
		LargestGroup: d.stats.largest.Load(),
		GCRewrites:   d.stats.gcRewrites.Load(),
		Written:      d.written.snapshot(),
	}
	if d.opts.InMemory {
		return s
	}
	s.LogsSynced = d.logs.count()
	// Badger's own Size() is refreshed once a minute; the directory is small enough to
	// list on demand.
	entries, err := os.ReadDir(d.opts.Dir)
	if err != nil {
		return s
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || info.IsDir() {
			continue
		}
		switch filepath.Ext(e.Name()) {
		case ".sst":
			s.LSMBytes += diskUsage(info)
		case ".vlog":
			s.VLogBytes += diskUsage(info)
		case ".mem":
			s.WALBytes += diskUsage(info)
		}
	}
	return s
}

func (d *DB) gcLoop(every time.Duration) {
	defer close(d.gcDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.gcStop:
			return
		case <-t.C:
			if _, err := d.RunGC(); err != nil {
				d.log.Warn("storage: value-log GC", "err", err)
			}
		}
	}
}

// RunGC rewrites value-log files until Badger finds none worth rewriting (at most
// maxGCRounds per call) and returns how many it rewrote. The GC loop calls it on a
// timer; tools may call it directly.
func (d *DB) RunGC() (int, error) {
	if d.opts.InMemory {
		return 0, nil
	}
	if err := d.enter(); err != nil {
		return 0, err
	}
	defer d.exit()
	n := 0
	for n < maxGCRounds {
		select {
		case <-d.gcStop:
			return n, nil
		default:
		}
		err := d.bdb.RunValueLogGC(d.opts.GCDiscardRatio)
		switch {
		case err == nil:
			n++
			d.stats.gcRewrites.Add(1)
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			return n, nil
		default:
			return n, fmt.Errorf("storage: value-log GC: %w", err)
		}
	}
	return n, nil
}

// badgerLogger routes Badger's warnings and errors to slog; its info and debug chatter
// (compaction progress, table flushes) is dropped.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, args ...any) {
	b.l.Error(strings.TrimSpace(fmt.Sprintf(f, args...)), "component", "badger")
}

func (b badgerLogger) Warningf(f string, args ...any) {
	b.l.Warn(strings.TrimSpace(fmt.Sprintf(f, args...)), "component", "badger")
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
