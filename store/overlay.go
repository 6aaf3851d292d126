package store

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/google/btree"
)

// memtable holds writes that are in the write-ahead log but not in the B-tree yet: the
// latest value of each key, or its deletion. Each bucket is a map, because lookups are what
// Updates and readers mostly do and a map insert costs a fifth of an ordered one; a scan
// sorts the bucket's entries in its range. The expiry index, which the watch stream scans by
// time range all the time, is also kept ordered.
//
// The overlay's lock guards the active memtable; once frozen (handed to the flusher) a
// memtable is only read.
type memtable struct {
	buckets [len(allBucketsArray)]map[string]entry
	expiry  *btree.BTreeG[entry] // the expiry bucket's entries, in key order
	n       int                  // ops applied, for Options.MaxPending

	// factHashes are the fact filter's hashes of the fact keys published into the memtable
	// (repeats included, deletions not), for a filter build; only ever appended to.
	factHashes []uint64

	// The other buckets' keys are ordered lazily, for range scans: apply appends each key it
	// writes to fresh (a slice append, where an ordered insert would cost the hot path five
	// times a map's), and a scan first sorts fresh into ordered. Scans of a shared memtable run
	// concurrently under the overlay's read lock, hence idx; apply runs under its write lock.
	idx     sync.Mutex
	ordered [len(allBucketsArray)][][]byte // distinct keys in order; replaced, never modified
	fresh   [len(allBucketsArray)][][]byte // keys written since, in any order, repeats allowed
}

// entry is one key's latest value; deleted marks a removed key (the B-tree may still hold it).
type entry struct {
	key     []byte
	val     []byte
	deleted bool
	fresh   bool // op.fresh
}

var expiryBucket = bucketIndex(bucketExpiry)

func entryLess(a, b entry) bool { return bytes.Compare(a.key, b.key) < 0 }

// newMemtable returns an empty memtable sized like an earlier one (nil: small), so that a busy
// store's maps do not grow step by step.
func newMemtable(like *memtable) *memtable {
	m := &memtable{expiry: btree.NewG(32, entryLess)}
	if like != nil {
		m.factHashes = make([]uint64, 0, len(like.factHashes))
		for i, b := range like.buckets {
			if len(b) > 0 {
				m.buckets[i] = make(map[string]entry, len(b))
			}
		}
	}
	return m
}

// apply adds writes; later ops win.
func (m *memtable) apply(ops []op) {
	for _, w := range ops {
		e := entry{key: w.key, val: w.val, deleted: w.deleted, fresh: w.fresh}
		b := m.buckets[w.bucket]
		if b == nil {
			b = make(map[string]entry)
			m.buckets[w.bucket] = b
		}
		b[keyString(w.key)] = e
		if w.bucket == expiryBucket {
			m.expiry.ReplaceOrInsert(e)
		} else {
			m.fresh[w.bucket] = append(m.fresh[w.bucket], w.key)
		}
	}
	m.n += len(ops)
}

// keyString is key as a map key without copying it. A logged write's key and value are never
// modified once made (bbolt, which the writes end in, requires the same of them until its
// commit), so the map may share the key's bytes: one allocation and copy less per write, in
// the batch's pending writes and in the memtable both.
func keyString(key []byte) string { return unsafe.String(unsafe.SliceData(key), len(key)) }

func (m *memtable) get(bucket uint8, key []byte) (entry, bool) {
	b := m.buckets[bucket]
	if len(b) == 0 {
		return entry{}, false
	}
	e, ok := b[string(key)]
	return e, ok
}

// from returns the first limit of the bucket's entries with key >= start while in(key) holds,
// in key order. in holds for a contiguous run of keys from start (a prefix, an upper bound), as
// scan's callers use it, so filtering by it is the same as stopping at the first key it refuses.
func (m *memtable) from(bucket uint8, start []byte, in func([]byte) bool, limit int) []entry {
	if len(m.buckets[bucket]) == 0 {
		return nil
	}
	var out []entry
	if bucket == expiryBucket {
		m.expiry.AscendGreaterOrEqual(entry{key: start}, func(e entry) bool {
			if len(out) == limit || !in(e.key) {
				return false
			}
			out = append(out, e)
			return true
		})
		return out
	}
	keys, b := m.keys(bucket), m.buckets[bucket]
	i, _ := slices.BinarySearchFunc(keys, start, bytes.Compare)
	for ; i < len(keys) && len(out) < limit && in(keys[i]); i++ {
		out = append(out, b[string(keys[i])])
	}
	return out
}

// keys returns the bucket's keys in order, first sorting in those written since the last call.
func (m *memtable) keys(bucket uint8) [][]byte {
	m.idx.Lock()
	defer m.idx.Unlock()
	if fresh := m.fresh[bucket]; len(fresh) > 0 {
		fresh = sortKeyed(fresh, func(k []byte) []byte { return k })
		fresh = slices.CompactFunc(fresh, bytes.Equal)
		m.ordered[bucket] = merge(m.ordered[bucket], fresh, bytes.Compare)
		m.fresh[bucket] = nil
	}
	return m.ordered[bucket]
}

// sorted returns all of the bucket's entries in key order, for the flusher.
func (m *memtable) sorted(bucket uint8) []entry {
	b := m.buckets[bucket]
	if len(b) == 0 {
		return nil
	}
	out := make([]entry, 0, len(b))
	if bucket == expiryBucket { // already in order
		m.expiry.Ascend(func(e entry) bool {
			out = append(out, e)
			return true
		})
		return out
	}
	for _, e := range b {
		out = append(out, e)
	}
	return sortByKey(out)
}

func sortByKey(es []entry) []entry {
	return sortKeyed(es, func(e entry) []byte { return e.key })
}

// layer is a set of writes the B-tree does not hold yet: a memtable, or a batch's pending
// writes.
type layer interface {
	get(bucket uint8, key []byte) (entry, bool)
	from(bucket uint8, start []byte, in func([]byte) bool, limit int) []entry
}

// layers are read newest first, then the B-tree.
type layers []layer

func (ls layers) get(bucket uint8, key []byte) (entry, bool) {
	for _, m := range ls {
		if e, ok := m.get(bucket, key); ok {
			return e, true
		}
	}
	return entry{}, false
}

// from merges the layers' ranges, newer entries replacing older ones under the same key, and
// returns the first limit. Each of those is among the first limit of every layer that has it,
// so the layers need give no more.
func (ls layers) from(bucket uint8, start []byte, in func([]byte) bool, limit int) []entry {
	var out []entry
	for i := len(ls) - 1; i >= 0; i-- { // oldest first
		newer := ls[i].from(bucket, start, in, limit)
		if len(out) == 0 {
			out = newer
			continue
		}
		out = firstN(mergeEntries(out, newer), limit)
	}
	return out
}

func firstN(es []entry, n int) []entry {
	if len(es) > n {
		return es[:n]
	}
	return es
}

// mergeEntries merges two sorted runs; b's entry wins a tie.
func mergeEntries(a, b []entry) []entry {
	return merge(a, b, func(x, y entry) int { return bytes.Compare(x.key, y.key) })
}

// merge merges two runs ordered by cmp, each without repeats, into a new slice; b's item wins
// a tie.
func merge[T any](a, b []T, cmp func(x, y T) int) []T {
	out := make([]T, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch c := cmp(a[0], b[0]); {
		case c < 0:
			out, a = append(out, a[0]), a[1:]
		case c > 0:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, b[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// overlay is what readers see on top of the B-tree: the active memtable, which the log
// writer fills as batches become durable, and the frozen one the flusher is committing to
// the B-tree. Entries leave when the flusher's commit holds them.
//
// A View holds mu shared for its whole length and the writers hold it exclusively, so a View
// reads one consistent state: the overlay cannot change under it, and the flush commit that
// makes the frozen memtable redundant is either before the View's bbolt transaction (which
// then sees the same values) or after it, in which case the frozen memtable is still here
// (minTx tells a View that began its transaction before a flush whose memtable is gone).
type overlay struct {
	mu     sync.RWMutex
	active *memtable
	frozen *memtable   // nil when no flush is running
	pairs  *pairCache  // nil if disabled
	facts  *factFilter // told of the fact keys before they are published
	// minTx is the id of the last flush's bbolt transaction: a reader whose bbolt
	// transaction is older began before that flush committed, and no longer finds the
	// flushed writes in the overlay.
	minTx uint64
	// betweenPublishing, for tests, runs in publish between the filter's two steps.
	betweenPublishing func()
}

func newOverlay(pairs *pairCache) *overlay {
	return &overlay{active: newMemtable(nil), pairs: pairs}
}

// publish adds the writes of a group of durable batches, their fact keys to the fact filter
// first.
func (o *overlay) publish(group []*logBatch) {
	if o.facts != nil {
		o.facts.publishing(group)
	}
	if o.betweenPublishing != nil {
		o.betweenPublishing()
	}
	o.mu.Lock()
	if o.facts != nil {
		o.active.factHashes = append(o.active.factHashes, o.facts.published()...)
	}
	for _, b := range group {
		o.active.apply(b.ops)
	}
	o.mu.Unlock()
}

// installing makes b the filter being built, next, and returns the hashes of the fact keys
// the memtables hold: b lacks them, having been installed after their publishing. Holding mu,
// no publish is half done. The hashes are the memtables' own append-only lists, safe to read
// after mu is released: later publishes only append.
func (o *overlay) installing(next *atomic.Pointer[bloom], b *bloom) (active, frozen []uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	next.Store(b)
	if o.frozen != nil {
		frozen = o.frozen.factHashes
	}
	return o.active.factHashes, frozen
}

// freeze makes active, which holds every batch since the last freeze once all are published,
// the frozen one that the flusher writes to bbolt, and starts an empty active one.
func (o *overlay) freeze() *memtable {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.frozen, o.active = o.active, newMemtable(o.active)
	return o.frozen
}

// flushed drops the frozen memtable: the B-tree holds it now. The cached pairs it wrote are
// stale. The committer calls it between batches (not the flusher, when its commit is done),
// because an Update's bbolt transaction, opened at its batch's start, may predate the commit.
func (o *overlay) flushed(txid uint64) {
	o.mu.Lock()
	o.minTx = txid
	if o.pairs != nil && o.frozen != nil {
		for _, e := range o.frozen.buckets[bucketIndex(bucketPairs)] {
			o.pairs.drop(e.key)
		}
	}
	o.frozen = nil
	o.mu.Unlock()
}

// rawWritten notes a bbolt transaction that wrote outside the memtables (test hooks, after a
// flush): readers whose transaction is older retry, and cached pairs may be stale.
func (o *overlay) rawWritten(txid uint64) {
	o.mu.Lock()
	o.minTx = txid
	if o.pairs != nil {
		o.pairs.clear()
	}
	o.mu.Unlock()
}

// layers returns what a reader holding mu reads before the B-tree.
func (o *overlay) layers() layers {
	if o.frozen == nil {
		return layers{o.active}
	}
	return layers{o.active, o.frozen}
}
