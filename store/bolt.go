package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

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
	// MaxBatch caps the Updates run together before their log record is handed to the log
	// writer (default 1024).
	MaxBatch int
	// CommitInterval is how often acknowledged writes are flushed into the bbolt file
	// (default 1s). Updates are durable in the write-ahead log before; the interval bounds
	// the log's size and the work Open replays after a crash.
	CommitInterval time.Duration
	// MaxPending flushes early once this many writes wait in memory for the bbolt file
	// (default 200,000), which bounds the memory they and the flush hold.
	MaxPending int
	// SyncDelay is the least time between two fdatasyncs of the log (default 500µs; negative:
	// none): under load, batches handed off within it wait and share the next one. A write
	// after a quiet spell is synced at once.
	SyncDelay time.Duration
	// PairCache is how many decoded pair records ReadTx.PairView keeps in memory (default 0:
	// none). A hit skips the B-tree search and the decoding (40% of the ledger's decision in
	// isolation), but the records are pointers the collector marks on every cycle: end to end
	// it measured a fifth more decisions a second at 100,000 pairs one day and 5% fewer on
	// another, and fewer at a million pairs with 131,072 cached (docs/BENCHMARKS.md). Ignored
	// without group commit.
	PairCache int
	// FactGeneration is how many new facts a generation of the facts index takes before it is
	// sealed and a new one begins (default 262,144; factgens.go). Smaller generations make a
	// flush's B-tree writes cheaper and a lookup of an older fact probe more filters.
	FactGeneration int

	// For tests (export_test.go): writes per flush or replay transaction (default flushTxOps),
	// and a hook called after each of a flush's or a replay's transactions but the last.
	flushTxOps   int
	afterFlushTx func(txs int)
	// For tests: called on the log writer between the fact filter's two publishing steps.
	betweenPublishing func()
	// For tests: the fewest keys a fact filter is sized for (default minFilterKeys), and the
	// keys its builds read per transaction (default filterScanKeys).
	filterKeys, filterChunk int
}

const (
	defaultLockTimeout    = time.Second
	defaultMaxBatch       = 1024
	defaultCommitInterval = time.Second
	defaultMaxPending     = 200_000
	defaultSyncDelay      = 500 * time.Microsecond
	initialMmapSize       = 1 << 30
)

// Stats counts the work of Update since Open.
type Stats struct {
	Commits  uint64 // durable commits holding Updates: log syncs (bbolt commits without group commit)
	Updates  uint64 // Updates committed (so Updates/Commits is the batch size)
	Flushes  uint64 // bbolt commits of logged writes (flushes)
	Replayed int    // log batches Open replayed into the B-tree
	// FlushTime is how long the flushes took, and FlushWait how long the committer waited for
	// one to end before it could hand over the next memtable (or answer a Flush, Check or
	// Close): no Update runs meanwhile, so a growing FlushWait says the file is not keeping up.
	FlushTime, FlushWait time.Duration
	// FactFilterBuilds counts the fact filters built (factfilter.go), and FactFilterKeys is how
	// many keys the one in use holds, deleted facts' included (0: none built yet, so duplicate
	// checks search the facts index).
	FactFilterBuilds uint64
	FactFilterKeys   int64
	// FactGenerations is how many generations the facts index has (factgens.go), and
	// FactGenerationsCounted how many of them Open read to count their facts by time, once, as
	// a file of an older build lacks the counts (gentimes.go).
	FactGenerations        int
	FactGenerationsCounted int
}

// DB is the bbolt implementation of Store: one file, a write-ahead log next to it, one
// committer goroutine that group-commits Updates (commit.go), Views on bbolt with the
// overlay of logged writes in front.
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

	queue    chan *request // nil with NoGroupCommit
	stopped  chan struct{} // closed when the committer has answered its last request
	overlay  *overlay      // nil with NoGroupCommit
	closeErr error         // the committer's last commit, for Close

	// flushing is held exclusively by the flusher for all of a flush's bbolt transactions, and
	// shared by snapshot while it begins one: between two of them the B-tree holds part of a
	// memtable, which is no state any sequence of Updates produced.
	flushing sync.RWMutex

	// facts filters the duplicate checks' searches of the facts index (factfilter.go); nil
	// with NoGroupCommit.
	facts *factFilter
	// gens are the facts index's generations (factgens.go).
	gens *factGens
	// alone makes Updates without group commit exclusive (updateAlone).
	alone sync.Mutex

	commits, updates, flushes atomic.Uint64
	flushTime, flushWait      atomic.Int64 // nanoseconds
	replayed                  int
}

var _ Store = (*DB)(nil)

// Open opens (creating if needed) the store file at path. The directory must exist.
func Open(path string, opts Options) (*DB, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = defaultLockTimeout
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = defaultMaxBatch
	}
	if opts.CommitInterval <= 0 {
		opts.CommitInterval = defaultCommitInterval
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = defaultMaxPending
	}
	if opts.SyncDelay == 0 {
		opts.SyncDelay = defaultSyncDelay
	}
	if opts.flushTxOps <= 0 {
		opts.flushTxOps = flushTxOps
	}
	if opts.FactGeneration <= 0 {
		opts.FactGeneration = defaultFactGeneration
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
		// bbolt maps the file and must map it again whenever it outgrows the mapping: the
		// commit that grows it then waits for every read transaction to end, and copies every
		// key and value its nodes hold out of the old mapping (a flush's tens of thousands of
		// nodes: millions of allocations). Mapping 1 GiB from the start, address space only,
		// spares a store that size any remapping; etcd maps 10 GiB for the same reason.
		InitialMmapSize: initialMmapSize,
	})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, &lockError{path: path, timeout: opts.LockTimeout}
	case errors.As(err, new(*fs.PathError)):
		return nil, err // already "open <path>: ..."
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var id []byte // the store id, which seeds the log's checksums
	gens := &factGens{size: opts.FactGeneration}
	if err := bdb.Update(func(tx *bolt.Tx) error {
		if err := initFile(tx); err != nil {
			return err
		}
		id = bytes.Clone(tx.Bucket(bucketMeta).Get(keyStoreID))
		return gens.load(tx)
	}); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	d := &DB{bolt: bdb, path: bdb.Path(), opts: opts, gens: gens}
	// The log is replayed whatever the options: it may hold acknowledged writes of a run
	// that crashed.
	w, records, err := openWAL(d.path, id)
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	seq, replayed, err := replay(bdb, gens, records, opts.flushTxOps, opts.afterFlushTx)
	if err != nil {
		w.abandon()
		_ = bdb.Close()
		return nil, fmt.Errorf("open %s: replaying its write-ahead log: %w", path, err)
	}
	d.replayed = replayed
	if opts.NoGroupCommit {
		if err := w.close(); err != nil { // replayed: the B-tree holds all of it
			_ = bdb.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		return d, nil
	}
	if err := w.empty(); err != nil {
		w.abandon()
		_ = bdb.Close()
		return nil, fmt.Errorf("open %s: emptying the replayed write-ahead log: %w", path, err)
	}
	// A full batch can queue up while the previous one is run.
	d.queue = make(chan *request, opts.MaxBatch)
	d.stopped = make(chan struct{})
	var pairs *pairCache
	if opts.PairCache > 0 {
		pairs = newPairCache(opts.PairCache)
	}
	d.overlay = newOverlay(pairs)
	d.facts = newFactFilter(d.overlay, opts.filterKeys, opts.filterChunk)
	d.overlay.facts, d.overlay.betweenPublishing = d.facts, opts.betweenPublishing
	if err := d.facts.open(bdb, &d.flushing, d.closed.Load); err != nil {
		w.abandon()
		_ = bdb.Close()
		return nil, fmt.Errorf("open %s: reading the facts index: %w", path, err)
	}
	c := &committer{d: d, wal: w, id: id, seq: seq, pend: new(pending), log: make(chan *logBatch, 64), logDone: make(chan struct{})}
	go d.commitLoop(c)
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
	case v != nil && len(v) != 4:
		return fmt.Errorf("malformed format version %x; is this a convstate store?", v)
	case v != nil && binary.BigEndian.Uint32(v) > formatVersion:
		return fmt.Errorf("file format version %d is newer than this build supports (%d); use a newer convstate",
			binary.BigEndian.Uint32(v), formatVersion)
	case v == nil || binary.BigEndian.Uint32(v) < formatVersion:
		// New, or older: version 1 differs only in having no log, which older builds ignore.
		if err := meta.Put(keyFormatVersion, binary.BigEndian.AppendUint32(nil, formatVersion)); err != nil {
			return err
		}
	}
	if meta.Get(keyStoreID) == nil {
		if err := meta.Put(keyStoreID, []byte(rand.Text()[:16])); err != nil {
			return err
		}
	}
	for _, name := range append(allBuckets[:len(allBuckets):len(allBuckets)], bucketFactGens, bucketFactGenFilters, bucketFactGenTimes) {
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
	s := Stats{Commits: d.commits.Load(), Updates: d.updates.Load(), Flushes: d.flushes.Load(), Replayed: d.replayed,
		FlushTime: time.Duration(d.flushTime.Load()), FlushWait: time.Duration(d.flushWait.Load()),
		FactGenerations: d.gens.generations(), FactGenerationsCounted: d.gens.counted}
	if d.facts != nil {
		s.FactFilterBuilds = d.facts.builds.Load()
		if b := d.facts.cur.Load(); b != nil {
			s.FactFilterKeys = b.added.Load()
		}
	}
	return s
}

// View runs fn in a read-only bbolt transaction. fn must not wait for an Update: when a commit
// has to grow the memory map, bbolt waits for every open read transaction first.
func (d *DB) View(ctx context.Context, fn func(ReadTx) error) error {
	// bbolt takes no context; a View is short, so checking before it starts is enough.
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.overlay == nil {
		return d.view(func(btx *bolt.Tx) error { return fn(&readTx{btx: btx, gens: d.gens}) })
	}
	// The bbolt transaction begins before the overlay's lock is taken, never while it is held:
	// beginning waits while a flush grows the file's mapping, which waits for every open
	// bbolt transaction, among them the committer's, which may be waiting for this lock. A
	// transaction that began before a flush whose memtable has left the overlay is retried.
	for {
		retry := false
		err := d.view(func(btx *bolt.Tx) error {
			d.overlay.mu.RLock()
			defer d.overlay.mu.RUnlock()
			if uint64(btx.ID()) < d.overlay.minTx {
				retry = true
				return nil
			}
			return fn(&readTx{btx: btx, mem: d.overlay.layers(), pairs: d.overlay.pairs, facts: d.facts, gens: d.gens})
		})
		if !retry {
			return err
		}
	}
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
// log record holding its writes is on disk. fn runs on the committer goroutine: it must not block
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
	// bbolt releases its writer lock before Update returns; the fact generations' state in
	// memory is restored or published after, so the next writer waits for that too.
	d.alone.Lock()
	defer d.alone.Unlock()
	var tx *writeTx
	err := d.bolt.Update(func(btx *bolt.Tx) error {
		tx = &writeTx{readTx: readTx{btx: btx, gens: d.gens}}
		if err := runFn(fn, tx); err != nil {
			return err
		}
		return tx.gt.finish()
	})
	if err != nil {
		if tx != nil {
			tx.gt.rollback()
		}
		return err
	}
	tx.gt.committed()
	d.commits.Add(1)
	d.updates.Add(1)
	return nil
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

// Backup writes a consistent snapshot of the file (bbolt's tx.WriteTo inside a View).
// Writers keep committing meanwhile, but a long backup holds its pages, so the file may grow.
func (d *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// The snapshot is of the B-tree alone (the overlay is not held: a long backup must not
	// hold up writers), so commit it first for the backup to hold every acknowledged write.
	if err := d.flush(ctx, nil); err != nil {
		return 0, err
	}
	var n int64
	err := d.snapshot(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	return n, err
}

// snapshot runs fn in a bbolt read transaction of the B-tree alone, begun between flushes, so
// that it sees the state after some sequence of Updates. The overlay's readers need not wait:
// the memtable being flushed stays in front of the B-tree until the flush has finished.
func (d *DB) snapshot(fn func(*bolt.Tx) error) error {
	return d.snapshotFiltered(func(btx *bolt.Tx, _ *bloom) error { return fn(btx) })
}

// snapshotFiltered is snapshot that also hands fn the fact filter lookups used when the
// transaction began (nil if none), which holds every fact key the transaction sees: a filter
// built later may lack the keys of facts deleted since.
func (d *DB) snapshotFiltered(fn func(*bolt.Tx, *bloom) error) error {
	d.flushing.RLock()
	unlock := sync.OnceFunc(d.flushing.RUnlock)
	defer unlock() // if the transaction never began
	return d.view(func(btx *bolt.Tx) error {
		var facts *bloom
		if d.facts != nil {
			facts = d.facts.cur.Load() // filters are installed holding flushing
		}
		unlock() // the transaction has begun: later flushes are not in it
		return fn(btx, facts)
	})
}

// Check runs bbolt's consistency check, verifies the expiry index's keys, that no fact is in
// two generations, that no filter hides a fact the file holds, and that each generation's
// counts of its facts by time are right (in the file, and the oldest time readers are told);
// it returns the first problem found (nil if none). It is for a store no one writes to
// meanwhile (tests, an offline backup): bbolt's checker reads the free page list, which
// flushes change.
func (d *DB) Check() error {
	if err := d.flush(context.Background(), nil); err != nil {
		return err
	}
	if err := d.checkOverlayFacts(); err != nil {
		return err
	}
	return d.snapshotFiltered(func(btx *bolt.Tx, facts *bloom) error {
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
		err := btx.Bucket(bucketExpiry).ForEach(func(k, _ []byte) error {
			if _, ok := parseExpiryKey(k); !ok {
				return fmt.Errorf("store: consistency check: malformed expiry key %q", k)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return d.checkFacts(btx, facts)
	})
}

// checkFacts verifies that no fact is in two generations, that neither the fact filter (facts,
// if not nil) nor its generation's filter hides a fact the file holds, and that each
// generation's counts by time are its facts'.
func (d *DB) checkFacts(btx *bolt.Tx, facts *bloom) error {
	gt := d.gens.tx(btx)
	if m, ok := gt.cursor(allFacts).(*factCursor); ok {
		for k, _ := m.Seek(nil); k != nil; k, _ = m.Next() {
		}
		if m.dups > 0 {
			return fmt.Errorf("store: consistency check: %d facts are in more than one generation", m.dups)
		}
	}
	stored := btx.Bucket(bucketFactGenFilters)
	listed := map[uint32]bool{}
	for _, g := range gt.list() {
		listed[g.id] = true
	}
	times := btx.Bucket(bucketFactGenTimes)
	for what, b := range map[string]*bolt.Bucket{"filter": stored, "count by time": times} {
		err := b.ForEach(func(k, _ []byte) error {
			if len(k) != 4 || !listed[binary.BigEndian.Uint32(k)] {
				return fmt.Errorf("store: consistency check: a stored fact generation %s (%x) outlived its generation", what, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for i, g := range gt.list() {
		// A sealed generation's filter in the file, which the next Open reads instead of
		// scanning the generation: it must be there (but in an emptied generation 0) and
		// hide none of its facts, like the one in memory.
		var kept *bloom
		if v := stored.Get(genName(g.id)); i > 0 && v != nil {
			if kept = unmarshalBloom(v); kept == nil {
				return fmt.Errorf("store: consistency check: the stored filter of fact generation %d is damaged", g.id)
			}
		}
		// Its counts by time, which garbage collection skips it by: the file's must be its
		// facts', and the oldest time readers see no later than its oldest fact's bucket.
		kepttimes, ok := unmarshalTimes(times.Get(genName(g.id)))
		if !ok || g.times == nil {
			return fmt.Errorf("store: consistency check: fact generation %d has no counts by time (in the file: %x)", g.id, times.Get(genName(g.id)))
		}
		counted := map[int64]int64{}
		n := 0
		err := g.bucket().ForEach(func(k, v []byte) error {
			n++
			counted[timeBucket(v)]++
			h := factHash(k)
			if facts != nil && !facts.mayContain(h) {
				return fmt.Errorf("store: consistency check: the fact filter hides fact %q, which the file holds", k)
			}
			if g.f != nil && !g.f.mayContain(h) {
				return fmt.Errorf("store: consistency check: the filter of fact generation %d hides fact %q, which it holds", g.id, k)
			}
			if kept != nil && !kept.mayContain(h) {
				return fmt.Errorf("store: consistency check: the stored filter of fact generation %d hides fact %q, which it holds", g.id, k)
			}
			return nil
		})
		inMemory, told := g.times.countsNow(), g.times.oldest.Load()
		switch {
		case err != nil:
		case !maps.Equal(counted, kepttimes):
			err = fmt.Errorf("store: consistency check: fact generation %d holds facts by time bucket %v, its counts in the file say %v", g.id, counted, kepttimes)
		case !maps.Equal(counted, inMemory):
			err = fmt.Errorf("store: consistency check: fact generation %d holds facts by time bucket %v, its counts in memory say %v", g.id, counted, inMemory)
		case told > earliest(counted):
			err = fmt.Errorf("store: consistency check: fact generation %d holds facts from %d on, readers are told from %d", g.id, earliest(counted), told)
		case i > 0 && n > 0 && kept == nil:
			err = fmt.Errorf("store: consistency check: sealed fact generation %d has no stored filter", g.id)
		case i > 0 && n == 0 && g.id > 0:
			err = fmt.Errorf("store: consistency check: sealed fact generation %d is empty but was not dropped", g.id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkOverlayFacts verifies that the fact filter hides no fact in the overlay's memtables.
func (d *DB) checkOverlayFacts() error {
	if d.overlay == nil || d.facts == nil {
		return nil
	}
	d.overlay.mu.RLock()
	defer d.overlay.mu.RUnlock()
	for _, m := range []*memtable{d.overlay.active, d.overlay.frozen} {
		if m == nil {
			continue
		}
		for k, e := range m.buckets[factsBucket] {
			if !e.deleted && !d.facts.mayContain([]byte(k)) {
				return fmt.Errorf("store: consistency check: the fact filter hides fact %q, which the memtables hold", k)
			}
		}
	}
	return nil
}

// CheckIndex verifies the ledger's invariant over the expiry index: every entry
// names a pair that records being indexed at that time for that kind, and every
// such record has its entry. It returns the first problem found.
func (d *DB) CheckIndex() error {
	if err := d.flush(context.Background(), nil); err != nil {
		return err
	}
	return d.snapshot(func(btx *bolt.Tx) error {
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
		p, err := decodePair(k, v)
		if err != nil {
			return err
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
	if d.facts != nil {
		<-d.facts.idle() // a build stops at its next chunk
	}
	return errors.Join(d.closeErr, d.bolt.Close()) // bolt.Close waits for running Views
}

// Flush commits the B-tree now, so that the file alone holds every acknowledged write.
func (d *DB) Flush(ctx context.Context) error { return d.flush(ctx, nil) }

// flush commits the B-tree now, so that it holds every acknowledged write, and then runs raw
// (if not nil) in a bbolt transaction of its own. Without group commit the B-tree is always
// current.
func (d *DB) flush(ctx context.Context, raw func(*bolt.Tx) error) error {
	if d.queue == nil {
		if raw == nil {
			return nil
		}
		return d.updateAlone(func(t Tx) error { return raw(t.(*writeTx).btx) })
	}
	r := &request{ctx: ctx, flush: true, raw: raw, done: make(chan error, 1)}
	d.mu.RLock()
	if d.closed.Load() {
		d.mu.RUnlock()
		return ErrClosed
	}
	d.queue <- r
	d.mu.RUnlock()
	return <-r.done
}
