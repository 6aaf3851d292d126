package store

import (
	"bytes"
	"math/bits"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// Most facts recorded carry a message id the store has never seen, and the duplicate check
// has to prove that: a search of every layer the key could be in, in the committer, which
// every write waits for. The memtables are maps of up to Options.MaxPending keys and the
// B-tree is larger still, so each of those searches is a cache miss or more, and a disk read
// once the index no longer fits in memory. factFilter answers "in neither the memtables nor
// the B-tree" for almost all of those ids from one cache line, with a Bloom filter over the
// fact keys (RocksDB and LevelDB keep one per table for the same reason).
//
// The filter must never say "absent" for a key the overlay's memtables or the B-tree hold;
// everything below serves that. A key is added before it can be found there: the log writer
// adds a batch's fact keys before it publishes them to the active memtable (publishing), and
// the memtables are the only way into the B-tree but for Open's replay, which a build then
// scans. Keys are never removed, so a deleted fact only costs a search. A build installs its
// filter (next) holding the overlay's lock, so that no publish is half done, then adds the
// keys the memtables hold (each keeps their hashes; they leave it only for the B-tree), then
// scans the B-tree; each later publish adds its keys to the new filter too. Lookups use the
// filter only once a build has finished. As garbage collection deletes old facts, a filter
// fills with keys that are gone; once more keys have been added than it was sized for, the
// flusher starts a new build.
type factFilter struct {
	cur  atomic.Pointer[bloom] // the filter lookups use; nil until the first build ends
	next atomic.Pointer[bloom] // the filter being built; publishes add to it too

	building atomic.Bool
	builds   atomic.Uint64 // filters built, for Stats
	deleted  atomic.Int64  // fact deletions flushed since the current filter's build began
	min      int           // the fewest keys a filter is sized for
	chunk    int           // keys a build reads per bbolt read transaction
	ov       *overlay      // whose memtables a build's filter starts with
	hashes   []uint64      // the keys publishing added, for published
	addedTo  [2]*bloom     // the filters publishing added them to

	mu   sync.Mutex
	done chan struct{} // closed when the last build started has ended
}

// minFilterKeys is the smallest filter built: 2^20 keys, 1.25 MiB.
const minFilterKeys = 1 << 20

// filterScanKeys is how many keys a build reads per bbolt read transaction (scanChunk): a long
// transaction delays the reuse of freed pages.
const filterScanKeys = 1 << 16

// newFactFilter returns a filter of the fact keys of ov and of a B-tree, sized for at least
// min keys (0: minFilterKeys), whose builds read chunk keys per transaction (0: filterScanKeys).
func newFactFilter(ov *overlay, min, chunk int) *factFilter {
	if min <= 0 {
		min = minFilterKeys
	}
	if chunk <= 0 {
		chunk = filterScanKeys
	}
	done := make(chan struct{})
	close(done)
	return &factFilter{min: min, chunk: chunk, ov: ov, done: done}
}

// open makes the filter of what db's facts bucket holds when Open has it open: at once if
// the bucket holds fewer keys than a chunk (a new or small store; a few milliseconds),
// and otherwise on a goroutine, during which lookups search the B-tree as before.
func (f *factFilter) open(db *bolt.DB, lock sync.Locker, closed func() bool) error {
	var hs []uint64
	n, _, err := f.scanChunk(db, filterPos{}, func(k []byte) { hs = append(hs, factHash(k)) })
	if err != nil {
		return err
	}
	if n == f.chunk { // there may be more
		f.start(db, lock, closed)
		return nil
	}
	b := newBloom(max(int64(f.min), 2*int64(len(hs))))
	for _, h := range hs {
		b.add(h)
	}
	f.cur.Store(b) // no flush or publish runs yet
	f.builds.Add(1)
	return nil
}

// mayContain reports whether the overlay's memtables or the B-tree may hold key: false is
// certain, true may be wrong (about 1% of absent keys). Before the first build ends,
// everything may be there.
func (f *factFilter) mayContain(key []byte) bool { return f.mayContainHash(factHash(key)) }

// mayContainHash is mayContain for a key whose factHash is h.
func (f *factFilter) mayContainHash(h uint64) bool {
	b := f.cur.Load()
	return b == nil || b.mayContain(h)
}

// publishing adds the fact keys of a group of batches that the log writer is about to publish
// to the active memtable, before it takes the overlay's lock; published adds them again,
// under the lock, to a filter a build installed or finished in between. Both run on the log
// writer only. A build changes cur and next only holding the overlay's lock too, so the pair
// published reads is one that held; publishing's two loads may straddle a build's end (cur
// still the old filter, next already nil), which published then makes up for.
func (f *factFilter) publishing(group []*logBatch) {
	f.hashes = f.hashes[:0]
	for _, b := range group {
		for _, w := range b.ops {
			if w.bucket == factsBucket && !w.deleted { // a deleted key need not be found
				f.hashes = append(f.hashes, factHash(w.key))
			}
		}
	}
	f.addedTo = [2]*bloom{f.cur.Load(), f.next.Load()}
	for _, b := range f.addedTo {
		b.addAll(f.hashes)
	}
}

// published also returns the hashes, which the active memtable keeps for later builds.
func (f *factFilter) published() []uint64 {
	for _, b := range [2]*bloom{f.cur.Load(), f.next.Load()} {
		if b != f.addedTo[0] && b != f.addedTo[1] {
			b.addAll(f.hashes)
		}
	}
	return f.hashes
}

// flushing notes the fact writes of a memtable about to be written to the B-tree (their keys
// were added when published). The flusher calls it holding DB.flushing, before its first
// transaction. It reports whether the current filter is full, so that a new one should be
// built.
func (f *factFilter) flushing(es []entry) (full bool) {
	var deleted int64
	for _, e := range es {
		if e.deleted {
			deleted++
		}
	}
	f.deleted.Add(deleted)
	cur := f.cur.Load()
	return cur != nil && cur.added.Load() > cur.capacity
}

// build builds a filter of what db's facts bucket holds and makes it the one lookups use.
// It runs on its own goroutine; lock is DB.flushing, closed reports the store closed (the
// build then stops where it is), and done is closed at the end. At most one build runs at a
// time (f.building).
func (f *factFilter) build(db *bolt.DB, lock sync.Locker, closed func() bool, done chan struct{}) {
	defer close(done)
	defer f.building.Store(false)
	// Sized for twice the keys the current filter holds, less the deleted ones, which
	// overestimates rather than fills up early. The first build does not know how many keys
	// the file holds: when a scan finds more than its filter was sized for, it counts the
	// rest and starts again with the right size.
	want := int64(f.min)
	if cur := f.cur.Load(); cur != nil {
		want = max(want, 2*(cur.added.Load()-f.deleted.Load()))
	}
	for {
		b := newBloom(want)
		lock.Lock() // the flusher counts deletions holding it
		active, frozen := f.ov.installing(&f.next, b)
		f.deleted.Store(0)
		lock.Unlock()
		// The memtables' keys: those published before b was installed are among them, and
		// they leave the memtables only for the B-tree, whose scan begins after. Nothing
		// reads b before the build ends, so no lock is held while they are added.
		b.addAll(active)
		b.addAll(frozen)
		keys, ok := f.scan(db, b, closed)
		if !ok {
			return
		}
		// The memtables' and the publishes' keys count too: a filter full from the start
		// would only start the next build at the next flush.
		added := b.added.Load()
		if keys <= b.capacity && added <= b.capacity {
			lock.Lock()    // Check's snapshots take the filter holding it, shared
			f.ov.mu.Lock() // so a publish, holding it, sees cur and next change together
			f.cur.Store(b)
			f.next.Store(nil)
			f.ov.mu.Unlock()
			lock.Unlock()
			f.builds.Add(1)
			return
		}
		want = 2 * max(keys, added)
	}
}

// scan adds the keys of db's facts bucket to b, a chunk per bbolt read transaction, until b
// holds as many as it was sized for; it counts the rest. It returns how many keys there were,
// and false if the store closed meanwhile.
func (f *factFilter) scan(db *bolt.DB, b *bloom, closed func() bool) (keys int64, ok bool) {
	var pos filterPos
	for {
		if closed() {
			return 0, false
		}
		n, next, err := f.scanChunk(db, pos, func(k []byte) {
			if keys < b.capacity {
				b.add(factHash(k))
			}
			keys++
		})
		if err != nil { // the store closed under the build: nothing reads the filter now
			return 0, false
		}
		if n < f.chunk {
			return keys, true
		}
		pos = next
	}
}

// filterPos is where a build's scan of the facts stopped: after key after of generation gen
// (at its first key if nil). Generations are scanned oldest first; a new one is newer than any
// the scan has begun, and a dropped one is passed over.
type filterPos struct {
	gen   uint32
	after []byte
}

// scanChunk calls fn with up to f.chunk fact keys, the first ones after pos, in one bbolt read
// transaction, so that none stays open for long. It returns how many there were and where
// they end.
func (f *factFilter) scanChunk(db *bolt.DB, pos filterPos, fn func(k []byte)) (n int, next filterPos, err error) {
	next = pos
	err = db.View(func(tx *bolt.Tx) error {
		gens := generations(tx, nil)
		for i := len(gens) - 1; i >= 0 && n < f.chunk; i-- {
			g := gens[i]
			if g.id < pos.gen {
				continue
			}
			c := g.bucket().Cursor()
			k, _ := c.First()
			if g.id == pos.gen && pos.after != nil {
				if k, _ = c.Seek(pos.after); bytes.Equal(k, pos.after) {
					k, _ = c.Next()
				}
			}
			var prev []byte
			for ; k != nil && n < f.chunk; k, _ = c.Next() {
				fn(k)
				prev = k
				n++
			}
			if prev != nil {
				next = filterPos{gen: g.id, after: bytes.Clone(prev)} // bbolt's bytes are only valid in the transaction
			}
		}
		return nil
	})
	return n, next, err
}

// start starts a build unless one is running.
func (f *factFilter) start(db *bolt.DB, lock sync.Locker, closed func() bool) {
	if !f.building.CompareAndSwap(false, true) {
		return
	}
	done := make(chan struct{})
	f.mu.Lock()
	f.done = done
	f.mu.Unlock()
	go f.build(db, lock, closed, done)
}

// idle returns a channel closed once the last build started has ended.
func (f *factFilter) idle() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done
}

// bloom is a blocked Bloom filter: a key's bloomBitsPerSet bits all fall in one 512-bit
// block, one cache line, so a lookup costs one cache miss instead of one per bit; at 10 bits
// a key this gives about 1% false positives. Bits are set and read atomically: flushes and
// a build add while lookups read.
type bloom struct {
	blocks   [][8]uint64
	capacity int64        // the keys it was sized for
	added    atomic.Int64 // keys added (a key added twice counts twice)
}

const (
	bloomBitsPerKey = 10
	bloomBitsPerSet = 7
)

func newBloom(capacity int64) *bloom {
	return &bloom{blocks: make([][8]uint64, bloomBlocks(capacity)), capacity: capacity}
}

// bloomBlocks is how many 512-bit blocks a filter sized for capacity keys has.
func bloomBlocks(capacity int64) int64 { return (capacity*bloomBitsPerKey + 511) / 512 }

// block picks the key's block from the hash's high half and returns the low half, which
// picks the bits within it.
func (b *bloom) block(h uint64) (*[8]uint64, uint32) {
	i := (h >> 32) * uint64(len(b.blocks)) >> 32 // (h>>32)*n/2^32: in [0, n) without a division
	return &b.blocks[i], uint32(h)
}

// addAll adds hs (nothing if b is nil). A key whose bits are all set already is not counted
// again: a fact rewritten by later statuses would otherwise fill the filter early.
func (b *bloom) addAll(hs []uint64) {
	if b == nil {
		return
	}
	for _, h := range hs {
		if !b.mayContain(h) {
			b.add(h)
		}
	}
}

func (b *bloom) add(h uint64) {
	blk, g := b.block(h)
	delta := bits.RotateLeft32(g, 15) | 1
	for range bloomBitsPerSet {
		atomic.OrUint64(&blk[(g>>6)&7], 1<<(g&63))
		g += delta
	}
	b.added.Add(1)
}

func (b *bloom) mayContain(h uint64) bool {
	blk, g := b.block(h)
	delta := bits.RotateLeft32(g, 15) | 1
	for range bloomBitsPerSet {
		if atomic.LoadUint64(&blk[(g>>6)&7])&(1<<(g&63)) == 0 {
			return false
		}
		g += delta
	}
	return true
}
