package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The write path with group commit is a pipeline of three goroutines:
//
//   - the committer runs queued Updates one after the other. An Update writes only to the
//     batch's pending writes (an Update that fails is rolled back there: no undo in bbolt,
//     no rerun of the others) and reads them first, then the batches handed to the log
//     writer but not yet published, then the overlay, then bbolt;
//   - the log writer appends each batch's record to the write-ahead log, fdatasyncs it
//     (batches queued meanwhile share the fdatasync), publishes the writes to the overlay's
//     active memtable, which readers see, and answers the callers;
//   - the flusher writes a frozen memtable to bbolt: every Options.CommitInterval (or after
//     Options.MaxPending writes, or when Backup, Check or Close ask) the committer waits for
//     the log writer to catch up, freezes the overlay's active memtable, switches the log to
//     its other file and goes on, while the flusher applies the frozen memtable in key order
//     in bbolt transactions of up to flushTxOps writes. Once the last has committed, the
//     frozen memtable and the log file it came from are no longer needed.
//
// So no caller is answered before its writes are on disk, the committer runs the next batch
// while the previous one is synced, and B-tree pages are written once per flush rather than
// once per batch. Writing bbolt only in key order also matters: bbolt splits a node only at
// commit, so a long transaction inserting around the same keys (a second's expiry entries,
// which sort by user) would shift an ever larger node on every insert.

// request is one queued Update, or a flush.
type request struct {
	ctx  context.Context
	fn   func(Tx) error
	done chan error // buffered, so neither goroutine ever waits for a caller

	flush bool                 // commit the B-tree now (fn is nil)
	raw   func(*bolt.Tx) error // with flush: then run this in its own bbolt transaction (tests)

	err error // what fn returned, when it failed: answered by the log writer, in order
}

// logBatch is what the committer hands to the log writer.
type logBatch struct {
	seq     uint64 // the record's sequence number
	record  []byte // the encoded log record; nil when the batch wrote nothing
	ops     []op
	reqs    []*request    // answered once record is durable
	barrier chan struct{} // closed once everything handed before it is durable
}

// pending holds the writes of the batch being run: the latest op of each key (for reads) and
// all ops in order (for the log). An Update that fails is rolled back to the mark set when it
// began: each op remembers the op it shadowed.
type pending struct {
	idx  [len(allBucketsArray)]map[string]int // key → index in ops
	ops  []op
	prev []int // for each op, the index idx held before it (-1: none)
	mark int
}

func (p *pending) add(w op) {
	m := p.idx[w.bucket]
	if m == nil {
		m = make(map[string]int)
		p.idx[w.bucket] = m
	}
	k := keyString(w.key)
	prev, ok := m[k]
	if !ok {
		prev = -1
	}
	m[k] = len(p.ops)
	p.ops = append(p.ops, w)
	p.prev = append(p.prev, prev)
}

// begin marks where the next Update's writes start.
func (p *pending) begin() { p.mark = len(p.ops) }

// rollback forgets the writes since the mark.
func (p *pending) rollback() {
	for i := len(p.ops) - 1; i >= p.mark; i-- {
		w := p.ops[i]
		if p.prev[i] < 0 {
			delete(p.idx[w.bucket], string(w.key))
		} else {
			p.idx[w.bucket][keyString(w.key)] = p.prev[i]
		}
	}
	p.ops, p.prev = p.ops[:p.mark], p.prev[:p.mark]
}

func (p *pending) get(bucket uint8, key []byte) (entry, bool) {
	m := p.idx[bucket]
	if len(m) == 0 {
		return entry{}, false
	}
	i, ok := m[string(key)]
	if !ok {
		return entry{}, false
	}
	w := p.ops[i]
	return entry{key: w.key, val: w.val, deleted: w.deleted}, true
}

// from is memtable.from for the pending writes: few enough to sort on every call.
func (p *pending) from(bucket uint8, start []byte, in func([]byte) bool, limit int) []entry {
	var out []entry
	for _, i := range p.idx[bucket] {
		w := p.ops[i]
		if bytes.Compare(w.key, start) >= 0 && in(w.key) {
			out = append(out, entry{key: w.key, val: w.val, deleted: w.deleted})
		}
	}
	return firstN(sortByKey(out), limit)
}

// reset empties p for reuse. The log writer has published its ops by then, and the
// overlay keeps their keys and values, not the array.
func (p *pending) reset() {
	for i := range p.idx {
		clear(p.idx[i])
	}
	p.ops, p.prev, p.mark = p.ops[:0], p.prev[:0], 0
}

// flushResult is what a flush reports: its error, or the bbolt transaction id of its commit.
type flushResult struct {
	txid uint64
	err  error
}

// unsynced is a batch the committer's Updates must see although readers do not yet.
type unsynced struct {
	seq uint64
	p   *pending
}

// committer is the state of the committer goroutine. The log writer shares log, wal (only
// while the committer waits on a barrier) and the failure; the flusher, flushDone.
type committer struct {
	d   *DB
	wal *wal
	id  []byte // the store id, which seeds the log's checksums

	rtx         *bolt.Tx                           // the bbolt read transaction of the batch being run
	cursors     [len(allBucketsArray)]*bolt.Cursor // rtx's, for the batch's lookups
	gt          *genTx                             // rtx's fact generations, for the same
	pend        *pending                           // the writes of the batch being run
	unsynced    []unsynced                         // batches handed to the log writer and not published yet, oldest first
	spare       []*pending                         // retired ones, for reuse
	sinceFreeze int                                // ops since the last freeze, for Options.MaxPending
	flushDone   chan flushResult                   // while a flush runs
	seq         uint64                             // last log record handed to the log writer
	published   atomic.Uint64                      // last log record the log writer has published to the overlay

	log     chan *logBatch
	logDone chan struct{}
	failed  atomic.Pointer[error] // the first write or commit failure; the store then refuses Updates
}

func (c *committer) failure() error {
	if p := c.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *committer) fail(err error) {
	c.failed.CompareAndSwap(nil, &err)
}

// commitLoop is the committer. It takes the first queued request, then whatever else is
// already queued, without waiting for more: no timer caps throughput, and while the log
// writer syncs one batch the next one accumulates.
func (d *DB) commitLoop(c *committer) {
	defer close(d.stopped)
	go c.logLoop()
	tick := time.NewTicker(d.opts.CommitInterval)
	defer tick.Stop()
	batch := make([]*request, 0, d.opts.MaxBatch)
	for {
		select {
		case r, ok := <-d.queue:
			if !ok { // Close: the queue is drained
				err := c.sync()
				close(c.log)
				<-c.logDone
				if err == nil {
					err = c.wal.close()
				} else {
					c.wal.abandon() // keep the log: Open replays it
				}
				d.closeErr = err
				return
			}
			batch = appendQueued(append(batch, r), d.queue, d.opts.MaxBatch)
			c.run(batch)
			clear(batch) // let answered requests be collected
			batch = batch[:0]
		case <-tick.C:
			c.reap(false)
			if c.sinceFreeze > 0 && c.flushDone == nil {
				_ = c.freeze() // a failure is kept in c.failed and reported to Updates
			}
		}
	}
}

// appendQueued appends to dst what ch holds already, without waiting for more, until dst
// holds max (0: no limit).
func appendQueued[T any](dst []T, ch <-chan T, max int) []T {
	for max == 0 || len(dst) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return dst
			}
			dst = append(dst, v)
		default:
			return dst
		}
	}
	return dst
}

// run runs a batch of requests and hands the successful Updates to the log writer.
func (c *committer) run(batch []*request) {
	c.reap(false)
	// Published batches are in the overlay now.
	pub := c.published.Load()
	n := 0
	for n < len(c.unsynced) && c.unsynced[n].seq <= pub {
		n++
	}
	c.retire(n)
	var reqs []*request // in order; those whose fn failed carry its error
	for _, r := range batch {
		if r.flush {
			c.endRead() // before anything that may wait: see DB.View
			c.handOff(reqs)
			reqs = nil
			err := c.sync()
			if err == nil && r.raw != nil {
				var txid uint64
				err = c.d.bolt.Update(func(btx *bolt.Tx) error {
					txid = uint64(btx.ID())
					return r.raw(btx)
				})
				if err == nil {
					c.d.overlay.rawWritten(txid)
				}
			}
			r.done <- err
			continue
		}
		// A caller whose context ended while queued is told so instead of run: nothing of
		// its fn has been written yet, so the failure is truthful.
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		if err := c.beginRead(); err != nil {
			r.done <- err
			continue
		}
		tx := &writeTx{readTx{btx: c.rtx, mem: c.layers(), ov: c.d.overlay, facts: c.d.facts, cursors: &c.cursors, gens: c.d.gens, gt: c.gt}, c.pend}
		c.pend.begin()
		if err := runFn(r.fn, tx); err != nil {
			c.pend.rollback() // nothing of it is kept
			// Its error may rest on what it read from a batch still being synced: it is
			// answered after that batch, like a success.
			r.err = err
		}
		reqs = append(reqs, r)
	}
	c.endRead() // before anything that may wait: see DB.View
	c.handOff(reqs)
	if c.sinceFreeze >= c.d.opts.MaxPending {
		_ = c.freeze()
	}
}

// retire drops the n oldest unsynced batches (published by now) and keeps their pending
// writes for reuse.
func (c *committer) retire(n int) {
	for _, u := range c.unsynced[:n] {
		u.p.reset()
		c.spare = append(c.spare, u.p)
	}
	c.unsynced = slices.Delete(c.unsynced, 0, n)
}

// layers are what an Update reads before the overlay, newest first: the batch being run,
// then the unsynced batches.
func (c *committer) layers() layers {
	ls := make(layers, 0, len(c.unsynced)+1)
	ls = append(ls, c.pend)
	for i := len(c.unsynced) - 1; i >= 0; i-- {
		ls = append(ls, c.unsynced[i].p)
	}
	return ls
}

// beginRead opens the batch's bbolt read transaction. It is closed at the end of every batch:
// a commit that grows the file waits for every open read transaction.
func (c *committer) beginRead() error {
	if err := c.failure(); err != nil {
		return err
	}
	if c.rtx != nil {
		return nil
	}
	tx, err := c.d.bolt.Begin(false)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	c.rtx, c.gt = tx, c.d.gens.tx(tx)
	return nil
}

func (c *committer) endRead() {
	if c.rtx != nil {
		_ = c.rtx.Rollback()
		c.rtx, c.gt = nil, nil
		clear(c.cursors[:])
	}
}

// handOff encodes the batch's ops as the next log record and queues it with its callers.
func (c *committer) handOff(reqs []*request) {
	if len(reqs) == 0 {
		return
	}
	b := &logBatch{reqs: reqs}
	if ops := c.pend.ops; len(ops) > 0 {
		c.seq++
		b.seq = c.seq
		b.record = appendRecord(nil, c.id, c.seq, ops)
		b.ops = ops
		c.sinceFreeze += len(ops)
		// The batch's writes stay visible to Updates until they are published.
		c.unsynced = append(c.unsynced, unsynced{seq: c.seq, p: c.pend})
		if n := len(c.spare); n > 0 {
			c.pend, c.spare = c.spare[n-1], c.spare[:n-1]
		} else {
			c.pend = new(pending)
		}
	}
	// Even a batch that wrote nothing goes through the writer: what it read may come from a
	// batch still being synced, so it is answered after that one.
	c.log <- b
}

// reap notes a finished flush (waiting for it if wait), releasing the frozen memtable.
func (c *committer) reap(wait bool) error {
	if c.flushDone == nil {
		return nil
	}
	var r flushResult
	if wait {
		start := time.Now()
		r = <-c.flushDone
		c.d.flushWait.Add(int64(time.Since(start)))
	} else {
		select {
		case r = <-c.flushDone:
		default:
			return nil
		}
	}
	c.flushDone = nil
	if r.err == nil {
		c.d.overlay.flushed(r.txid)
	}
	return r.err
}

// freeze hands the memtable to a new flusher once the previous flush is done and every batch
// in the memtable is durable, and switches the log to its other segment.
func (c *committer) freeze() error {
	if err := c.reap(true); err != nil {
		return err
	}
	if err := c.failure(); err != nil {
		return err
	}
	if c.sinceFreeze == 0 {
		return nil
	}
	done := make(chan struct{})
	c.log <- &logBatch{barrier: done}
	<-done // the log writer is idle now, until the next hand-off
	if err := c.failure(); err != nil {
		return err
	}
	c.wal.next()              // the records from here on are in the next flush
	c.retire(len(c.unsynced)) // all published
	c.sinceFreeze = 0
	m, seq := c.d.overlay.freeze(), c.seq
	flushDone := make(chan flushResult, 1)
	c.flushDone = flushDone
	go func() {
		txid, err := c.flush(m, seq)
		flushDone <- flushResult{txid: txid, err: err}
	}()
	return nil
}

// sync commits everything acknowledged so far to the B-tree and waits for it.
func (c *committer) sync() error {
	if err := c.freeze(); err != nil {
		return err
	}
	if err := c.reap(true); err != nil {
		return err
	}
	return c.failure()
}

// flushTxOps is how many writes the flusher puts in one bbolt transaction. A transaction
// holds every page it dirtied, and the nodes of those pages, until it commits: with random
// message ids a 200,000-write memtable dirties most leaves of the facts index, and one
// transaction for all of it held ~180 MB of the heap under batch load. Key-ordered chunks touch
// disjoint leaves, so splitting costs only the branch pages rewritten once per chunk.
const flushTxOps = 32768

// flush is the flusher: it writes m to bbolt in key order, in transactions of up to
// flushTxOps writes, the last of which records seq as the last log record the B-tree holds,
// and returns that transaction's id. A crash between two of them leaves part of m in the
// file under an older keyWALApplied: Open then replays m's records over it, which is
// harmless, because a logged write is a blind put or delete of a whole value, and replaying
// the records in order ends in the same state. Readers are unaffected: m stays in the overlay,
// in front of the B-tree, until the last transaction has committed (reap).
func (c *committer) flush(m *memtable, seq uint64) (uint64, error) {
	type run struct {
		bucket  uint8
		entries []entry
	}
	var runs []run
	for i := range allBuckets {
		if es := m.sorted(uint8(i)); len(es) > 0 {
			runs = append(runs, run{uint8(i), es})
		}
	}
	maxOps := c.d.opts.flushTxOps
	c.d.flushing.Lock()
	defer c.d.flushing.Unlock()
	start := time.Now()
	for _, r := range runs {
		if r.bucket == factsBucket && c.d.facts.flushing(r.entries) {
			// Full: build the next filter; it waits for this flush to end before it begins.
			c.d.facts.start(c.d.bolt, &c.d.flushing, c.d.closed.Load)
		}
	}
	var txid uint64
	for txs := 1; ; txs++ {
		var gt *genTx
		err := c.d.bolt.Update(func(btx *bolt.Tx) error {
			txid = uint64(btx.ID())
			gt = c.d.gens.tx(btx)
			for n := 0; len(runs) > 0 && n < maxOps; {
				r := &runs[0]
				k := min(len(r.entries), maxOps-n)
				for _, e := range r.entries[:k] {
					if err := gt.write(r.bucket, e.key, e.val, e.deleted, e.fresh); err != nil {
						return err
					}
				}
				r.entries, n = r.entries[k:], n+k
				if len(r.entries) == 0 {
					runs = runs[1:]
				}
			}
			if err := gt.finish(); err != nil {
				return err
			}
			if len(runs) > 0 {
				return nil
			}
			return btx.Bucket(bucketMeta).Put(keyWALApplied, be64(int64(seq)))
		})
		if err != nil {
			err = fmt.Errorf("store: commit: %w", err)
			c.fail(err)
			return 0, err
		}
		gt.committed()
		if len(runs) == 0 {
			break
		}
		if c.d.opts.afterFlushTx != nil {
			c.d.opts.afterFlushTx(txs)
		}
	}
	c.d.flushes.Add(1)
	c.d.flushTime.Add(int64(time.Since(start)))
	return txid, nil
}

// logLoop is the log writer.
func (c *committer) logLoop() {
	defer close(c.logDone)
	var group []*logBatch
	var buf []byte
	var lastSync time.Time
	for b := range c.log {
		group = appendQueued(append(group[:0], b), c.log, 0)
		group = c.gather(group, lastSync)
		buf = buf[:0]
		for _, b := range group {
			buf = append(buf, b.record...)
		}
		err := c.failure()
		if err == nil && len(buf) > 0 {
			werr := c.wal.write(buf)
			lastSync = time.Now()
			if werr != nil {
				err = fmt.Errorf("store: write-ahead log: %w", werr)
				c.fail(err)
			}
		}
		if err == nil {
			c.d.overlay.publish(group)
			answered := 0
			for _, b := range group {
				if b.seq > 0 {
					c.published.Store(b.seq)
				}
				for _, r := range b.reqs {
					if r.err == nil {
						answered++
					}
				}
			}
			if answered > 0 { // counted before anyone is answered, so callers see it
				c.d.commits.Add(1)
				c.d.updates.Add(uint64(answered))
			}
		}
		for _, b := range group {
			if b.barrier != nil {
				close(b.barrier)
			}
			for _, r := range b.reqs {
				if err != nil {
					r.done <- err // the store failed: that is the answer
				} else {
					r.done <- r.err
				}
			}
		}
		clear(group)
	}
}

// gather holds the group until Options.SyncDelay has passed since the previous fdatasync,
// adding the batches handed off meanwhile. An fdatasync costs a fixed ~100 µs of CPU however
// little it writes, so under load, syncing every small batch as it comes spends more CPU on
// syncs than on the writes; spacing them makes the groups larger instead. A write that comes
// after a quiet spell is synced at once. (PostgreSQL's commit_delay and MySQL's
// binlog_group_commit_sync_delay do the same, unconditionally.)
func (c *committer) gather(group []*logBatch, lastSync time.Time) []*logBatch {
	wait := c.d.opts.SyncDelay - time.Since(lastSync)
	if wait <= 0 {
		return group
	}
	for _, b := range group {
		if b.barrier != nil {
			return group // the committer waits for this group: sync now
		}
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case b, ok := <-c.log:
			if !ok {
				return group
			}
			group = append(group, b)
			if b.barrier != nil {
				return group
			}
		case <-timer.C:
			return group
		}
	}
}

// replay applies the log's batches the B-tree does not hold yet and returns the last batch's
// sequence number. It commits every maxOps writes or so, at a batch's end, recording that
// batch as applied: a crash log of two memtables in one transaction would hold all their pages
// and nodes in memory at once, and a crash during the replay resumes where it stopped. after,
// if not nil, is called once each of its transactions but the last has committed (for tests).
func replay(bdb *bolt.DB, gens *factGens, records []walRecord, maxOps int, after func(txs int)) (last uint64, replayed int, err error) {
	err = bdb.View(func(btx *bolt.Tx) error {
		if v := btx.Bucket(bucketMeta).Get(keyWALApplied); len(v) == 8 {
			last = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	// records are in sequence order. Those the B-tree lacks must follow last without a gap or
	// a repeat: each file's readable records are consecutive, the newer file starts where the
	// older one ends, every record of the older file was synced before the newer one was
	// begun, and Open empties both files once replay is committed, so no record of an earlier
	// run is left to look like a later batch. A gap is damage. All of it is checked before
	// anything is applied, so that a refused log leaves the file as it was.
	var todo []walRecord
	for _, r := range records {
		if r.seq > last {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return last, 0, nil
	}
	if todo[0].seq != last+1 {
		return 0, 0, fmt.Errorf("the write-ahead log starts at batch %d but the store holds batches up to %d: "+
			"the file is an older copy of the store the log was written for (a restored backup?); "+
			"move the log away to open the file as it is", todo[0].seq, last)
	}
	for i := 1; i < len(todo); i++ {
		if todo[i].seq != todo[i-1].seq+1 {
			return 0, 0, fmt.Errorf("the write-ahead log is damaged: batch %d cannot be read but batches up to %d "+
				"follow it; restore a backup, or move the log away to open the file as of batch %d "+
				"(the acknowledged writes after it are lost)", todo[i-1].seq+1, todo[len(todo)-1].seq, last)
		}
	}
	for txs := 1; len(todo) > 0; txs++ {
		n := 0 // batches this transaction applies
		var gt *genTx
		err := bdb.Update(func(btx *bolt.Tx) error {
			ops := 0
			gt = gens.tx(btx)
			for n < len(todo) && (n == 0 || ops < maxOps) {
				r := todo[n]
				for _, w := range r.ops { // not fresh: a logged write is searched for
					if err := gt.write(w.bucket, w.key, w.val, w.deleted, false); err != nil {
						return fmt.Errorf("replaying batch %d: %w", r.seq, err)
					}
				}
				ops += len(r.ops)
				n++
			}
			if err := gt.finish(); err != nil {
				return err
			}
			return btx.Bucket(bucketMeta).Put(keyWALApplied, be64(int64(todo[n-1].seq)))
		})
		if err != nil {
			return 0, 0, err
		}
		gt.committed()
		last, replayed, todo = todo[n-1].seq, replayed+n, todo[n:]
		if len(todo) > 0 && after != nil {
			after(txs)
		}
	}
	return last, replayed, nil
}
