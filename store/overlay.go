package store

import (
	"bytes"
	"slices"
	"sync"

	"github.com/google/btree"
)

// overlay holds the writes that are durable in the write-ahead log but not yet committed to
// the B-tree, so that readers see every acknowledged write. Entries are added when a log
// batch is on disk and dropped all at once when the B-tree commit holding them is done.
//
// A View holds mu shared for its whole length and the writers hold it exclusively, so a View
// reads one consistent state: the overlay cannot change under it, and the B-tree commit
// that makes the overlay redundant is either before the View's bbolt transaction (which then
// sees the same values) or after it.
//
// Each bucket's entries are in a map: readers mostly look keys up, and a map insert costs a
// fifth of an ordered insert on the write path. Scans sort the bucket's entries in their
// range, except in the expiry index, which the watch stream scans by time ranges all the
// time; it is kept ordered instead.
type overlay struct {
	mu      sync.RWMutex
	buckets [len(allBucketsArray)]map[string]entry
	expiry  *btree.BTreeG[entry] // the expiry bucket's entries, in key order
	pairs   *pairCache           // nil if disabled
}

// entry is one key's latest value; deleted marks a removed key (the B-tree may still hold it).
type entry struct {
	key     []byte
	val     []byte
	deleted bool
}

var expiryBucket = bucketIndex(bucketExpiry)

func entryLess(a, b entry) bool { return bytes.Compare(a.key, b.key) < 0 }

func newOverlay(pairs *pairCache) *overlay {
	return &overlay{expiry: btree.NewG(32, entryLess), pairs: pairs}
}

// publish adds a durable batch's writes; later ops win.
func (o *overlay) publish(ops []op) {
	o.mu.Lock()
	for _, w := range ops {
		e := entry{key: w.key, val: w.val, deleted: w.deleted}
		m := o.buckets[w.bucket]
		if m == nil {
			m = make(map[string]entry)
			o.buckets[w.bucket] = m
		}
		m[string(w.key)] = e
		if w.bucket == expiryBucket {
			o.expiry.ReplaceOrInsert(e)
		}
	}
	o.mu.Unlock()
}

// reset drops everything: the B-tree now holds it. The cached pairs it wrote are stale now.
func (o *overlay) reset() {
	o.mu.Lock()
	if o.pairs != nil {
		for _, e := range o.buckets[bucketIndex(bucketPairs)] {
			o.pairs.drop(e.key)
		}
	}
	for i := range o.buckets {
		clear(o.buckets[i])
	}
	o.expiry.Clear(false)
	o.mu.Unlock()
}

// get returns the overlay's entry for key, if it has one. The caller holds mu.
func (o *overlay) get(bucket uint8, key []byte) (entry, bool) {
	m := o.buckets[bucket]
	if len(m) == 0 {
		return entry{}, false
	}
	e, ok := m[string(key)]
	return e, ok
}

// from returns the bucket's entries with key >= start while in(key) holds, in key order. in
// holds for a contiguous run of keys from start (a prefix, an upper bound), as scan's callers
// use it, so filtering by it is the same as stopping at the first key it refuses. The caller
// holds mu.
func (o *overlay) from(bucket uint8, start []byte, in func([]byte) bool) []entry {
	if len(o.buckets[bucket]) == 0 {
		return nil
	}
	var out []entry
	if bucket == expiryBucket {
		o.expiry.AscendGreaterOrEqual(entry{key: start}, func(e entry) bool {
			if !in(e.key) {
				return false
			}
			out = append(out, e)
			return true
		})
		return out
	}
	for _, e := range o.buckets[bucket] {
		if bytes.Compare(e.key, start) >= 0 && in(e.key) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
	return out
}
