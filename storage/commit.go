package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/dgraph-io/badger/v4"
)

// badgerInternalPrefix is reserved by Badger for its own keys.
const badgerInternalPrefix = "!badger!"

type commitReq struct {
	ctx  context.Context
	fn   func(Txn) error
	done chan error
}

// Commit runs fn in a read-write transaction and returns once its writes are synced to
// disk, or with the error that kept them out.
//
// All Commits go through one committer goroutine, which takes whatever requests are
// waiting (up to Options.MaxBatch; it never waits for more), runs their fns one after
// another in one Badger transaction, commits, syncs once and then answers them all. So
// concurrent callers share a sync, and there are no write conflicts to retry.
//
// Inside fn:
//   - Set and Delete go to fn's own overlay; they reach the store only if fn returns
//     nil, and an error from fn (returned to this caller alone) discards them.
//   - Get sees fn's overlay, then the writes of fns that ran before it in the same group,
//     then committed data.
//   - Iterate sees committed data plus the writes of earlier fns in the group, but NOT
//     fn's own overlay: read your own writes with Get.
//   - Keys and values passed to Set are copied; callers may reuse their buffers.
//   - A panic is recovered and returned as this caller's error.
//   - fn must not call Commit (the committer would wait on itself) and must not keep
//     the Txn after returning.
//
// fn runs on the committer goroutine, so it should be quick: read, decide, write.
// If ctx is done before fn runs, Commit returns ctx.Err() and fn never runs. Once fn
// has run, Commit waits for the outcome regardless of ctx, so a nil error always means
// durable and an error always means nothing of fn's was written.
func (d *DB) Commit(ctx context.Context, fn func(Txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.enter(); err != nil {
		return err
	}
	req := &commitReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case d.reqs <- req:
		d.exit()
	case <-ctx.Done():
		d.exit()
		return ctx.Err()
	}
	return <-req.done
}

// committer runs the commit functions group by group. It hands each committed group to
// the syncer and goes on with the next one while the disk syncs, so a group's functions
// run during the previous group's sync: the two costs overlap instead of adding up.
func (d *DB) committer() {
	synced := make(chan *group, 4)
	syncerDone := make(chan struct{})
	go d.syncer(synced, syncerDone)
	defer func() {
		close(synced)
		<-syncerDone
		close(d.committerDone)
	}()
	for req := range d.reqs {
		batch := make([]*commitReq, 0, 16)
		batch = append(batch, req)
	gather:
		for len(batch) < d.opts.MaxBatch {
			select {
			case r, ok := <-d.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		synced <- d.runGroup(batch)
	}
}

// syncer makes committed groups durable and answers their callers, in order: one sync
// covers every group committed before it started, so groups that queued up while a sync
// ran share the next one.
func (d *DB) syncer(in <-chan *group, done chan<- struct{}) {
	defer close(done)
	var groups []*group
	for g := range in {
		groups = append(groups[:0], g)
	more:
		for {
			select {
			case g2, ok := <-in:
				if !ok {
					break more
				}
				groups = append(groups, g2)
			default:
				break more
			}
		}
		wrote := false
		for _, g := range groups {
			wrote = wrote || g.wrote
		}
		if wrote {
			if err := d.sync(); err != nil {
				err = fmt.Errorf("storage: commit: sync: %w", err)
				d.log.Error("storage: sync failed", "err", err)
				for _, g := range groups {
					for i := range g.results {
						if g.results[i] == nil {
							g.results[i] = err
						}
					}
				}
			}
			d.stats.syncs.Add(1)
		}
		for _, g := range groups {
			d.answer(g)
		}
		clear(groups)
	}
}

// group is one round of the committer: the current Badger transaction and the overlays
// applied to it but not yet committed.
type group struct {
	d       *DB
	batch   []*commitReq
	txn     *badger.Txn
	pending []*overlay // applied to txn, in order
	results []error
	wrote   bool  // some transaction of this group committed writes
	broken  error // a transaction commit failed: the rest of the group is refused
}

// runGroup runs the batch's functions and commits their writes, unsynced; the syncer
// makes them durable and answers.
func (d *DB) runGroup(batch []*commitReq) *group {
	g := &group{d: d, batch: batch, txn: d.bdb.NewTransaction(true), results: make([]error, len(batch))}
	for i, req := range batch {
		if g.broken != nil {
			g.results[i] = g.broken
			continue
		}
		if err := req.ctx.Err(); err != nil {
			g.results[i] = err
			continue
		}
		ov := &overlay{g: g, idx: i}
		err := runFn(d, req.fn, ov)
		ov.done = true
		if err != nil {
			g.results[i] = err
			continue
		}
		g.apply(ov)
	}
	if g.broken == nil {
		g.commitPending()
	}
	// The transaction left over (fresh after the last commit, or abandoned) still holds a
	// read mark, which would keep Badger from ever dropping old versions.
	g.txn.Discard()
	// Every transaction of the group has committed or been discarded: Badger holds no
	// reference to the copies any more.
	d.slab.reset()
	return g
}

// answer counts a group and tells its callers the outcome.
func (d *DB) answer(g *group) {
	batch := g.batch
	// Counters first, so a caller that reads Stats after Commit returns sees its commit.
	n := int64(len(batch))
	d.stats.commits.Add(n)
	d.stats.groups.Add(1)
	if n > d.stats.largest.Load() {
		d.stats.largest.Store(n)
	}
	for i, req := range batch {
		req.done <- g.results[i]
	}
}

func runFn(d *DB, fn func(Txn) error, ov *overlay) (err error) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("storage: commit fn panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("storage: commit fn panicked: %v", r)
		}
	}()
	return fn(ov)
}

// apply moves ov's writes into the group transaction, committing the transaction so far
// and starting another when it would grow too big.
func (g *group) apply(ov *overlay) {
	if len(ov.ops) == 0 {
		return
	}
	err := ov.applyTo(g.txn)
	if err == nil {
		g.pending = append(g.pending, ov)
		return
	}
	// ov is half applied and Badger cannot take writes back: rebuild the transaction from
	// the overlays before it.
	if !g.rebuild() {
		g.results[ov.idx] = g.broken
		return
	}
	if !errors.Is(err, badger.ErrTxnTooBig) {
		g.results[ov.idx] = fmt.Errorf("storage: commit: %w", err)
		return
	}
	if len(g.pending) > 0 {
		g.d.stats.splits.Add(1)
		if !g.commitPending() {
			g.results[ov.idx] = g.broken
			return
		}
		if err = ov.applyTo(g.txn); err == nil {
			g.pending = append(g.pending, ov)
			return
		}
		if !g.rebuild() {
			g.results[ov.idx] = g.broken
			return
		}
	}
	g.results[ov.idx] = fmt.Errorf("%w (%d writes, %d bytes of keys and values)", ErrTxnTooBig, len(ov.ops), ov.bytes)
}

// rebuild replaces the transaction with a fresh one holding the pending overlays. They
// fitted before in the same order, so they fit again.
func (g *group) rebuild() bool {
	g.txn.Discard()
	g.txn = g.d.bdb.NewTransaction(true)
	for _, p := range g.pending {
		if err := p.applyTo(g.txn); err != nil {
			g.fail(fmt.Errorf("storage: commit: rebuild transaction: %w", err))
			return false
		}
	}
	return true
}

// commitPending commits the transaction (without syncing: the group syncs once at the
// end) and starts the next one.
func (g *group) commitPending() bool {
	err := g.txn.Commit()
	g.txn = g.d.bdb.NewTransaction(true)
	if err != nil {
		g.fail(fmt.Errorf("storage: commit: %w", err))
		return false
	}
	if len(g.pending) > 0 {
		g.wrote = true
	}
	for _, p := range g.pending {
		for _, o := range p.ops {
			g.d.written.add(o.key, len(o.key)+len(o.value))
		}
	}
	g.pending = g.pending[:0]
	return true
}

// fail answers every pending fn with err and refuses the rest of the group: later fns may
// have read writes that are now lost.
func (g *group) fail(err error) {
	g.d.log.Error("storage: group commit failed", "err", err)
	for _, p := range g.pending {
		g.results[p.idx] = err
	}
	g.pending = g.pending[:0]
	g.broken = err
}

// overlay is the Txn a commit fn sees: its writes stay here until it returns nil.
type overlay struct {
	g     *group
	idx   int
	ops   []op
	index map[string]int // key -> position in ops, once ops outgrow a linear search
	// reads remembers what Get found in the store (del: not found). Nothing else writes
	// while fn runs, so a second read of a key fn has not written answers the same: the
	// ledger reads a balance in its check and again in its posting, and each read of
	// the store walks every memtable and level.
	reads []op
	bytes int
	done  bool
}

type op struct {
	key, value []byte
	del        bool
}

// overlayLinearOps is how many writes an overlay finds by scanning before it builds a
// map: a send's accept writes about 14 keys, and the map with a string per key cost
// more than the scan.
const overlayLinearOps = 16

// overlayReads bounds the store reads an overlay remembers; a fn that reads more (a
// scan by Gets) reads the rest from the store each time.
const overlayReads = 16

var errTxnDone = errors.New("storage: Txn used after its commit fn returned")

func (o *overlay) Get(key []byte) ([]byte, error) {
	if o.done {
		return nil, errTxnDone
	}
	if i := o.find(key); i >= 0 {
		return o.ops[i].read()
	}
	if i := scan(o.reads, key); i >= 0 {
		return o.reads[i].read()
	}
	v, err := txnGet(o.g.txn, key)
	switch {
	case len(o.reads) >= overlayReads:
	case err == nil:
		k, val := o.g.d.slab.pair(key, v)
		o.remember(op{key: k, value: val})
	case errors.Is(err, ErrNotFound):
		k, _ := o.g.d.slab.pair(key, nil)
		o.remember(op{key: k, del: true})
	}
	return v, err
}

// remember keeps a read of the store for the rest of fn.
func (o *overlay) remember(p op) {
	if o.reads == nil {
		o.reads = o.g.d.slab.opList()
	}
	o.reads = append(o.reads, p)
}

// find returns the position of key's write in ops, or -1.
func (o *overlay) find(key []byte) int {
	if o.index == nil {
		return scan(o.ops, key)
	}
	if i, ok := o.index[string(key)]; ok {
		return i
	}
	return -1
}

// scan returns the position of key in ops, or -1.
func scan(ops []op, key []byte) int {
	for i := range ops {
		if bytes.Equal(ops[i].key, key) {
			return i
		}
	}
	return -1
}

// read answers a Get from a write or a remembered read: a copy, or ErrNotFound.
func (p *op) read() ([]byte, error) {
	if p.del {
		return nil, ErrNotFound
	}
	return bytes.Clone(p.value), nil
}

func (o *overlay) Iterate(prefix []byte, opts IterOptions, fn func(key, value []byte) (bool, error)) error {
	if o.done {
		return errTxnDone
	}
	return txnIterate(o.g.txn, prefix, opts, fn)
}

func (o *overlay) Set(key, value []byte) error {
	if err := o.check(key); err != nil {
		return err
	}
	if err := o.g.d.checkValue(value); err != nil {
		return err
	}
	// A nil value would read back as nil from Get; store an empty one instead.
	k, v := o.g.d.slab.pair(key, value)
	o.put(op{key: k, value: v})
	return nil
}

func (o *overlay) Delete(key []byte) error {
	if err := o.check(key); err != nil {
		return err
	}
	k, _ := o.g.d.slab.pair(key, nil)
	o.put(op{key: k, del: true})
	return nil
}

// pair copies a key and its value into one allocation of their exact size; the value
// is never nil, even when empty.
func pair(key, value []byte) (k, v []byte) {
	b := make([]byte, len(key)+len(value))
	copy(b, key)
	copy(b[len(key):], value)
	return b[:len(key):len(key)], b[len(key):]
}

func (o *overlay) check(key []byte) error {
	if o.done {
		return errTxnDone
	}
	return checkKey(key)
}

func (o *overlay) put(p op) {
	o.bytes += len(p.key) + len(p.value)
	if i := o.find(p.key); i >= 0 {
		o.ops[i] = p
		return
	}
	if o.ops == nil {
		o.ops = o.g.d.slab.opList()
	}
	o.ops = append(o.ops, p)
	switch {
	case o.index != nil:
		o.index[string(p.key)] = len(o.ops) - 1
	case len(o.ops) > overlayLinearOps:
		o.index = make(map[string]int, 2*len(o.ops))
		for i, q := range o.ops {
			o.index[string(q.key)] = i
		}
	}
}

func (o *overlay) applyTo(txn *badger.Txn) error {
	for _, p := range o.ops {
		var err error
		if p.del {
			err = txn.Delete(p.key)
		} else {
			err = txn.Set(p.key, p.value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
