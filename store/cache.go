package store

import (
	"sync"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
)

// pairCache keeps recently read pair records, decoded, as the B-tree holds them, so a
// decision, which reads one pair, skips bbolt's B-tree search and the decoding (ReadTx.PairView). Only
// the group-commit store has one: there the committer is the only writer, and every write
// since the last B-tree commit is in the overlay, which readers consult first. So an entry
// can only go stale at a B-tree commit, and the commit's overlay reset drops the entries of
// the pairs it wrote (dropCommitted) while no reader runs.
type pairCache struct {
	mu  sync.RWMutex
	m   map[string]*storagev1.Pair
	max int
}

func newPairCache(max int) *pairCache {
	return &pairCache{m: make(map[string]*storagev1.Pair), max: max}
}

func (c *pairCache) get(key []byte) (*storagev1.Pair, bool) {
	c.mu.RLock()
	v, ok := c.m[string(key)]
	c.mu.RUnlock()
	return v, ok
}

// add keeps p, which nobody may modify from now on.
func (c *pairCache) add(key []byte, p *storagev1.Pair) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		for k := range c.m { // evict one at random: map iteration starts anywhere
			delete(c.m, k)
			break
		}
	}
	c.m[string(key)] = p
	c.mu.Unlock()
}

func (c *pairCache) drop(key []byte) {
	c.mu.Lock()
	delete(c.m, string(key))
	c.mu.Unlock()
}

func (c *pairCache) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}
