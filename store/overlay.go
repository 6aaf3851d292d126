package store

import (
	"bytes"
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
type overlay struct {
	mu    sync.RWMutex
	tree  *btree.BTreeG[entry]
	pairs *pairCache // nil if disabled
}

// entry is one key's latest value; deleted marks a removed key (the B-tree may still hold it).
type entry struct {
	bucket  uint8 // index in allBuckets
	key     []byte
	val     []byte
	deleted bool
}

func entryLess(a, b entry) bool {
	if a.bucket != b.bucket {
		return a.bucket < b.bucket
	}
	return bytes.Compare(a.key, b.key) < 0
}

func newOverlay(pairs *pairCache) *overlay {
	return &overlay{tree: btree.NewG(32, entryLess), pairs: pairs}
}

// publish adds a durable batch's writes; later ops win.
func (o *overlay) publish(ops []op) {
	o.mu.Lock()
	for _, w := range ops {
		o.tree.ReplaceOrInsert(entry{bucket: w.bucket, key: w.key, val: w.val, deleted: w.deleted})
	}
	o.mu.Unlock()
}

// reset drops everything: the B-tree now holds it. The cached pairs it wrote are stale now.
func (o *overlay) reset() {
	o.mu.Lock()
	if o.pairs != nil {
		b := bucketIndex(bucketPairs)
		o.tree.AscendGreaterOrEqual(entry{bucket: b}, func(e entry) bool {
			if e.bucket != b {
				return false
			}
			o.pairs.drop(e.key)
			return true
		})
	}
	o.tree.Clear(false)
	o.mu.Unlock()
}

// get returns the overlay's entry for key, if it has one. The caller holds mu.
func (o *overlay) get(bucket uint8, key []byte) (entry, bool) {
	if o.tree.Len() == 0 {
		return entry{}, false
	}
	return o.tree.Get(entry{bucket: bucket, key: key})
}

// from returns the bucket's entries with key >= start while in(key) holds, in key order. The
// caller holds mu.
func (o *overlay) from(bucket uint8, start []byte, in func([]byte) bool) []entry {
	if o.tree.Len() == 0 {
		return nil
	}
	var out []entry
	o.tree.AscendGreaterOrEqual(entry{bucket: bucket, key: start}, func(e entry) bool {
		if e.bucket != bucket || !in(e.key) {
			return false
		}
		out = append(out, e)
		return true
	})
	return out
}
