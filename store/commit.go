package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The write path with group commit is a pipeline of two goroutines:
//
//   - the committer runs queued Updates one after the other in a bbolt write transaction that
//     stays open across batches, records their writes, and hands each batch to the log writer;
//   - the log writer appends the batch to the write-ahead log, fdatasyncs it (several queued
//     batches share one fdatasync), publishes the writes to the overlay, and answers the
//     callers.
//
// So the committer runs the next batch while the previous one is being synced, and no caller
// is answered before its writes are on disk. Every Options.CommitInterval (or after
// Options.MaxPending writes, or when asked by Backup, Check or Close) the committer waits for
// the log writer to catch up, commits the bbolt transaction (bbolt fsyncs it), empties the
// overlay and rewinds the log.
//
// An Update that fails is undone in the open transaction from the old values its writes
// recorded (recorder), so one failing caller costs neither a rollback nor a rerun of the
// others.

// request is one queued Update, or a flush.
type request struct {
	ctx  context.Context
	fn   func(Tx) error
	done chan error // buffered, so neither goroutine ever waits for a caller

	flush bool                 // commit the B-tree now (fn is nil)
	raw   func(*bolt.Tx) error // with flush: then run this in its own bbolt transaction (tests)
}

// logBatch is what the committer hands to the log writer.
type logBatch struct {
	record  []byte // the encoded log record; nil when the batch wrote nothing
	ops     []op
	reqs    []*request    // answered once record is durable
	barrier chan struct{} // closed once everything handed before it is durable
}

// recorder keeps the current batch's writes and the values the current Update found before
// it touched them, to undo it if it fails.
type recorder struct {
	ops  []op
	mark int // where the current Update's ops start
	undo []undo
	seen map[string]struct{} // bucket index + key of the keys in undo, once undo is long
}

type undo struct {
	bucket, key, old []byte
	existed          bool
}

// seenScan is how many keys known searches by scanning undo before it uses the map: most
// Updates touch a handful of keys, and building map keys allocates.
const seenScan = 16

func (r *recorder) begin() {
	r.mark = len(r.ops)
	r.undo = r.undo[:0]
	clear(r.seen)
}

// known reports whether the current Update has already noted key.
func (r *recorder) known(bucket, key []byte) bool {
	if len(r.undo) <= seenScan {
		for i := range r.undo {
			if &r.undo[i].bucket[0] == &bucket[0] && bytes.Equal(r.undo[i].key, key) {
				return true
			}
		}
		return false
	}
	_, ok := r.seen[seenKey(bucket, key)]
	return ok
}

// note keeps key's value as the current Update first found it.
func (r *recorder) note(bucket, key, old []byte, existed bool) {
	if r.known(bucket, key) {
		return
	}
	r.undo = append(r.undo, undo{bucket: bucket, key: key, old: old, existed: existed})
	switch n := len(r.undo); {
	case n == seenScan+1:
		for _, u := range r.undo {
			r.seen[seenKey(u.bucket, u.key)] = struct{}{}
		}
	case n > seenScan+1:
		r.seen[seenKey(bucket, key)] = struct{}{}
	}
}

func seenKey(bucket, key []byte) string {
	return string(append([]byte{bucketIndex(bucket)}, key...))
}

// rollback restores what the current Update overwrote and forgets its ops.
func (r *recorder) rollback(t *writeTx) error {
	for i := len(r.undo) - 1; i >= 0; i-- {
		u := r.undo[i]
		var err error
		if u.existed {
			err = t.bucket(u.bucket).Put(u.key, u.old)
		} else {
			err = t.bucket(u.bucket).Delete(u.key)
		}
		if err != nil {
			return fmt.Errorf("store: undoing a failed update: %w", err)
		}
	}
	r.ops = r.ops[:r.mark]
	return nil
}

// committer is the state of the committer goroutine; the log writer shares only log, wal
// (while the committer waits on a barrier) and the failure.
type committer struct {
	d       *DB
	wal     *wal
	id      []byte   // the store id, which seeds the log's checksums
	tx      *bolt.Tx // open from the first Update after a B-tree commit until the next
	wtx     *writeTx
	rec     recorder
	seq     uint64 // last log record handed to the log writer
	pending int    // ops in tx

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

// answer answers an Update.
func (c *committer) answer(r *request, err error) { r.done <- err }

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
				err := c.commitTree()
				close(c.log)
				<-c.logDone
				if err == nil && c.failure() == nil {
					err = c.wal.close()
				} else {
					_ = c.wal.f.Close() // keep the log: Open replays it
				}
				d.closeErr = err
				return
			}
			batch = append(batch, r)
		fill:
			for len(batch) < d.opts.MaxBatch {
				select {
				case r, ok := <-d.queue:
					if !ok {
						break fill
					}
					batch = append(batch, r)
				default:
					break fill
				}
			}
			c.run(batch)
			clear(batch) // let answered requests be collected
			batch = batch[:0]
		case <-tick.C:
			if c.tx != nil {
				_ = c.commitTree() // a failure is kept in c.failed and reported to Updates
			}
		}
	}
}

// run runs a batch of requests and hands the successful Updates to the log writer.
func (c *committer) run(batch []*request) {
	var reqs []*request
	for _, r := range batch {
		if r.flush {
			c.handOff(reqs)
			reqs = nil
			err := c.commitTree()
			if err == nil && r.raw != nil {
				err = c.d.bolt.Update(r.raw)
				if c.d.overlay.pairs != nil {
					c.d.overlay.pairs.clear() // raw may have written anything
				}
			}
			r.done <- err
			continue
		}
		// A caller whose context ended while queued is told so instead of run: nothing of
		// its fn has been written yet, so the failure is truthful.
		if err := r.ctx.Err(); err != nil {
			c.answer(r, err)
			continue
		}
		if err := c.begin(); err != nil {
			c.answer(r, err)
			continue
		}
		c.rec.begin()
		if err := runFn(r.fn, c.wtx); err != nil {
			if uerr := c.rec.rollback(c.wtx); uerr != nil {
				c.fail(uerr) // the transaction is in an unknown state: never commit it
			}
			c.answer(r, err)
			continue
		}
		reqs = append(reqs, r)
	}
	c.handOff(reqs)
	if c.pending >= c.d.opts.MaxPending {
		_ = c.commitTree()
	}
}

// begin opens the bbolt transaction if none is open.
func (c *committer) begin() error {
	if err := c.failure(); err != nil {
		return err
	}
	if c.tx != nil {
		return nil
	}
	tx, err := c.d.bolt.Begin(true)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	c.tx = tx
	c.wtx = &writeTx{readTx: readTx{btx: tx, rec: &c.rec}}
	return nil
}

// handOff encodes the recorded ops of reqs as the next log record and queues it.
func (c *committer) handOff(reqs []*request) {
	if len(reqs) == 0 {
		c.rec.ops = c.rec.ops[:0] // failed Updates left nothing
		return
	}
	b := &logBatch{reqs: reqs}
	if ops := c.rec.ops; len(ops) > 0 {
		c.seq++
		b.record = appendRecord(nil, c.id, c.seq, ops)
		b.ops = ops
		c.pending += len(ops)
		c.rec.ops = nil // the batch owns them now (the overlay keeps their slices)
	}
	// Even a batch that wrote nothing goes through the writer: what it read may come from a
	// batch still being synced, so it is answered after that one.
	c.log <- b
}

// commitTree commits the bbolt transaction once every batch in it is durable in the log,
// then empties the overlay and rewinds the log. It returns the store's failure, if any.
func (c *committer) commitTree() error {
	if c.tx == nil {
		return c.failure()
	}
	done := make(chan struct{})
	c.log <- &logBatch{barrier: done}
	<-done // the log writer is idle now, until the next hand-off
	tx := c.tx
	c.tx, c.wtx = nil, nil
	if err := c.failure(); err != nil {
		_ = tx.Rollback() // the overlay and the log keep what was acknowledged
		return err
	}
	err := tx.Bucket(bucketMeta).Put(keyWALApplied, be64(int64(c.seq)))
	if err == nil {
		err = tx.Commit()
	} else {
		_ = tx.Rollback()
	}
	if err != nil {
		err = fmt.Errorf("store: commit: %w", err)
		c.fail(err)
		return err
	}
	c.d.treeCommits.Add(1)
	c.d.overlay.reset()
	c.wal.rewind()
	c.pending = 0
	return nil
}

// logLoop is the log writer.
func (c *committer) logLoop() {
	defer close(c.logDone)
	var group []*logBatch
	var buf []byte
	var lastSync time.Time
	for b := range c.log {
		group = append(group[:0], b)
	fill:
		for {
			select {
			case b, ok := <-c.log:
				if !ok {
					break fill
				}
				group = append(group, b)
			default:
				break fill
			}
		}
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
		answered := 0
		for _, b := range group {
			switch {
			case b.barrier != nil:
				close(b.barrier)
				continue
			case err == nil:
				c.d.overlay.publish(b.ops)
				answered += len(b.reqs)
			}
			for _, r := range b.reqs {
				c.answer(r, err)
			}
		}
		if answered > 0 {
			c.d.commits.Add(1)
			c.d.updates.Add(uint64(answered))
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

// replay applies the log's batches the B-tree does not hold yet, in one bbolt transaction,
// and returns the last batch's sequence number.
func replay(bdb *bolt.DB, records []walRecord) (last uint64, replayed int, err error) {
	err = bdb.Update(func(btx *bolt.Tx) error {
		if v := btx.Bucket(bucketMeta).Get(keyWALApplied); len(v) == 8 {
			last = binary.BigEndian.Uint64(v)
		}
		var todo []walRecord
		for _, r := range records {
			if r.seq > last {
				todo = append(todo, r)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		if todo[0].seq != last+1 {
			return fmt.Errorf("the write-ahead log starts at batch %d but the store holds batches up to %d: "+
				"the file is an older copy of the store the log was written for (a restored backup?); "+
				"move the log away to open the file as it is", todo[0].seq, last)
		}
		t := &writeTx{readTx: readTx{btx: btx}}
		for _, r := range todo {
			for _, w := range r.ops {
				var err error
				if w.deleted {
					err = t.bucket(allBuckets[w.bucket]).Delete(w.key)
				} else {
					err = t.bucket(allBuckets[w.bucket]).Put(w.key, w.val)
				}
				if err != nil {
					return fmt.Errorf("replaying batch %d: %w", r.seq, err)
				}
			}
		}
		last = todo[len(todo)-1].seq
		replayed = len(todo)
		return btx.Bucket(bucketMeta).Put(keyWALApplied, be64(int64(last)))
	})
	return last, replayed, err
}
