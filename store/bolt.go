package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
)

// Options tune Open. The zero value is the production setting.
type Options struct {
	// LockTimeout is how long Open waits for another process to release the file (default 1s).
	// bbolt would wait forever without one.
	LockTimeout time.Duration
	// NoGroupCommit gives every Update its own fsync'd transaction: the naive baseline for
	// benchmarks, and nothing else.
	NoGroupCommit bool
	// MaxBatch caps the Updates that share one commit (default 1024), which bounds the work
	// lost and redone when a batch member fails.
	MaxBatch int
}

const (
	defaultLockTimeout = time.Second
	defaultMaxBatch    = 1024
)

// Stats counts the work of Update since Open.
type Stats struct {
	Commits uint64 // durable bbolt commits holding Updates
	Updates uint64 // Updates committed (so Updates/Commits is the batch size)
}

// DB is the bbolt implementation of Store: one file, one committer goroutine that
// group-commits Updates, Views straight on bbolt.
type DB struct {
	bolt *bolt.DB
	path string
	opts Options

	// mu makes closing and enqueueing exclusive: Update holds it shared while it checks closed
	// and sends on queue, Close holds it exclusively while it sets closed and closes queue, so
	// nothing is ever sent on a closed queue and nothing is queued after the committer's last
	// batch. With NoGroupCommit, Update holds it for its whole transaction instead.
	mu     sync.RWMutex
	closed atomic.Bool

	queue   chan *request // nil with NoGroupCommit
	stopped chan struct{} // closed when the committer has answered its last request

	commits, updates atomic.Uint64
}

var _ Store = (*DB)(nil)

// request is one queued Update.
type request struct {
	ctx  context.Context
	fn   func(Tx) error
	done chan error // buffered, so the committer never waits for a caller
}

// Open opens (creating if needed) the store file at path. The directory must exist.
func Open(path string, opts Options) (*DB, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = defaultMaxBatch
	}
	// bbolt would report a missing directory as "open x.db: no such file or directory", which
	// reads as if the file were missing; say what is wrong instead of creating it.
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open %s: directory %s does not exist", path, dir)
	} else if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("open %s: %s is not a directory", path, dir)
	}

	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		// etcd's settings: the hashmap freelist allocates in O(1), and not writing the
		// freelist makes every commit cheaper; the price is a page scan when the file opens.
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, &lockError{path: path, timeout: opts.LockTimeout}
	case errors.As(err, new(*fs.PathError)):
		return nil, err // already "open <path>: ..."
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := bdb.Update(initFile); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	d := &DB{bolt: bdb, path: bdb.Path(), opts: opts}
	if !opts.NoGroupCommit {
		// A full batch can queue up while the previous one commits.
		d.queue = make(chan *request, opts.MaxBatch)
		d.stopped = make(chan struct{})
		go d.commitLoop()
	}
	return d, nil
}

// lockError reads as what the operator needs to know and still matches bbolt's ErrTimeout.
type lockError struct {
	path    string
	timeout time.Duration
}

func (e *lockError) Error() string {
	return fmt.Sprintf("open %s: the database is in use by another process (lock not acquired within %v)", e.path, e.timeout)
}

func (e *lockError) Unwrap() error { return bolterrors.ErrTimeout }

// initFile checks the format version (writing it into a new file) and creates the buckets.
// The check comes first so a newer file is refused before anything is written to it.
func initFile(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	switch v := meta.Get(keyFormatVersion); {
	case v == nil:
		if err := meta.Put(keyFormatVersion, binary.BigEndian.AppendUint32(nil, formatVersion)); err != nil {
			return err
		}
	case len(v) != 4:
		return fmt.Errorf("malformed format version %x; is this a convstate store?", v)
	case binary.BigEndian.Uint32(v) > formatVersion:
		return fmt.Errorf("file format version %d is newer than this build supports (%d); use a newer convstate",
			binary.BigEndian.Uint32(v), formatVersion)
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	return nil
}

// Path returns the file's path.
func (d *DB) Path() string { return d.path }

// Stats returns the commit counters.
func (d *DB) Stats() Stats {
	return Stats{Commits: d.commits.Load(), Updates: d.updates.Load()}
}

// View runs fn in a read-only bbolt transaction. fn must not wait for an Update: when a commit
// has to grow the memory map, bbolt waits for every open read transaction first.
func (d *DB) View(ctx context.Context, fn func(ReadTx) error) error {
	// bbolt takes no context; a View is short, so checking before it starts is enough.
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.view(func(btx *bolt.Tx) error { return fn(&readTx{btx: btx}) })
}

// view runs fn in a bbolt View, reporting ErrClosed for a store closed before it began.
func (d *DB) view(fn func(*bolt.Tx) error) error {
	if d.closed.Load() {
		return ErrClosed
	}
	began := false
	err := d.bolt.View(func(btx *bolt.Tx) error {
		began = true
		return fn(btx)
	})
	// Close may win the race after the check above; bbolt then refuses to begin.
	if !began && errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Update runs fn in a write transaction shared with concurrent Updates and returns once the
// commit holding its writes is on disk. fn runs on the committer goroutine: it must not block
// on other Updates (that deadlocks) and must not call runtime.Goexit (t.FailNow); a panic in
// fn is recovered into a *PanicError.
func (d *DB) Update(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.opts.NoGroupCommit {
		return d.updateAlone(fn)
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan error, 1)}
	d.mu.RLock()
	if d.closed.Load() {
		d.mu.RUnlock()
		return ErrClosed
	}
	select {
	case d.queue <- r:
	case <-ctx.Done():
		d.mu.RUnlock()
		return ctx.Err()
	}
	d.mu.RUnlock()
	// Queued: from here on fn may be committed, so wait for the outcome whatever ctx does.
	return <-r.done
}

// updateAlone is Update without group commit: one bbolt transaction and fsync per call.
func (d *DB) updateAlone(fn func(Tx) error) error {
	d.mu.RLock() // Close waits for running transactions
	defer d.mu.RUnlock()
	if d.closed.Load() {
		return ErrClosed
	}
	err := d.bolt.Update(func(btx *bolt.Tx) error { return runFn(fn, &writeTx{readTx{btx: btx}}) })
	if err == nil {
		d.commits.Add(1)
		d.updates.Add(1)
	}
	return err
}

// PanicError is what Update returns when fn panicked. The panic is recovered because fn runs on
// the committer goroutine: left alone it would kill the process with a stack that does not
// show the caller, so the stack is kept here.
type PanicError struct {
	Value any    // what fn panicked with
	Stack []byte // the committer's stack at the panic
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("store: update function panicked: %v", e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func runFn(fn func(Tx) error, tx Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return fn(tx)
}

// commitLoop is the committer. It takes the first queued request, then whatever else is
// already queued, without waiting for more: no timer caps throughput (bbolt's Batch waits
// MaxBatchDelay), and while one batch fsyncs the next one accumulates in the queue.
func (d *DB) commitLoop() {
	defer close(d.stopped)
	batch := make([]*request, 0, d.opts.MaxBatch)
	for r := range d.queue { // Close closes queue; range drains what is left first
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
		d.commit(batch)
		clear(batch) // let answered requests be collected
		batch = batch[:0]
	}
}

// commit runs batch in one transaction and answers every request. A member whose fn fails
// is answered with its error and the rest are run again without it, because bbolt can only
// roll back the whole transaction.
func (d *DB) commit(batch []*request) {
	for {
		// A caller whose context ended while queued is told so instead of run: nothing of
		// its fn has been committed yet, so the failure is truthful.
		batch = slices.DeleteFunc(batch, func(r *request) bool {
			if err := r.ctx.Err(); err != nil {
				r.done <- err
				return true
			}
			return false
		})
		if len(batch) == 0 {
			return
		}
		failed, failErr := -1, error(nil)
		err := d.bolt.Update(func(btx *bolt.Tx) error {
			tx := &writeTx{readTx{btx: btx}}
			for i, r := range batch {
				if err := runFn(r.fn, tx); err != nil {
					failed, failErr = i, err
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			batch[failed].done <- failErr
			batch = slices.Delete(batch, failed, failed+1)
			continue
		}
		if err == nil {
			d.commits.Add(1)
			d.updates.Add(uint64(len(batch)))
		} else {
			err = fmt.Errorf("store: commit: %w", err)
		}
		for _, r := range batch {
			r.done <- err
		}
		return
	}
}

// Backup writes a consistent snapshot of the file (bbolt's tx.WriteTo inside a View).
// Writers keep committing meanwhile, but a long backup holds its pages, so the file may grow.
func (d *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := d.view(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	return n, err
}

// Check runs bbolt's consistency check and verifies the expiry index's keys; it returns the
// first problem found (nil if none).
func (d *DB) Check() error {
	return d.view(func(btx *bolt.Tx) error {
		var first error
		problems := 0
		for err := range btx.Check() { // drain it: the checker goroutine blocks until read
			if first == nil {
				first = err
			}
			problems++
		}
		switch {
		case problems > 1:
			return fmt.Errorf("store: consistency check: %w (and %d more problems)", first, problems-1)
		case problems == 1:
			return fmt.Errorf("store: consistency check: %w", first)
		}
		return btx.Bucket(bucketExpiry).ForEach(func(k, _ []byte) error {
			if _, ok := parseExpiryKey(k); !ok {
				return fmt.Errorf("store: consistency check: malformed expiry key %q", k)
			}
			return nil
		})
	})
}

// CheckIndex verifies the ledger's invariant over the expiry index: every entry
// names a pair that records being indexed at that time for that kind, and every
// such record has its entry. It returns the first problem found.
func (d *DB) CheckIndex() error {
	return d.view(func(btx *bolt.Tx) error {
		if err := checkExpiryIndex(btx); err != nil {
			return fmt.Errorf("store: index check: %w", err)
		}
		return nil
	})
}

// checkExpiryIndex verifies that every index time a pair records has its entry.
// Entries no pair records are allowed: the ledger leaves moved entries behind
// (readers skip them, garbage collection removes them).
func checkExpiryIndex(btx *bolt.Tx) error {
	index := btx.Bucket(bucketExpiry)
	return btx.Bucket(bucketPairs).ForEach(func(k, v []byte) error {
		p := new(storagev1.Pair)
		if err := proto.Unmarshal(v, p); err != nil {
			return fmt.Errorf("decoding pair %q: %w", k, err)
		}
		for _, kind := range []ExpiryKind{ExpiryCSW, ExpiryFEP} {
			at := indexedAt(p, kind)
			if at == 0 {
				continue
			}
			ek, err := expiryKey(Expiry{At: at, Kind: kind, BusinessID: p.GetBusinessId(), UserID: p.GetUserId()})
			if err != nil {
				return err
			}
			if _, ok := lookup(index, ek); !ok {
				return fmt.Errorf("pair %q records expiry %d %c but the index has no such entry", k, at, kind)
			}
		}
		return nil
	})
}

// indexedAt is the time a pair records being indexed under for kind.
func indexedAt(p *storagev1.Pair, kind ExpiryKind) int64 {
	if kind == ExpiryFEP {
		return p.GetFepIndexed()
	}
	return p.GetCswIndexed()
}

// Close stops accepting Updates, lets the queued ones commit, and closes the file.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed.Load() {
		d.mu.Unlock()
		return ErrClosed
	}
	d.closed.Store(true)
	if d.queue != nil {
		close(d.queue)
	}
	d.mu.Unlock()
	if d.stopped != nil {
		<-d.stopped
	}
	return d.bolt.Close() // waits for running Views
}
