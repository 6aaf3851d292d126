package store

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	bolt "go.etcd.io/bbolt"
)

// Facts are kept in generations: B-trees of at most Options.FactGeneration new keys each.
//
// Message ids are random, so the facts one flush writes land all over their index. A flush of F
// facts into an index of L leaves rewrites about min(F, L) leaves, and once L passes F (~70,000
// facts a flush under batch load) every new fact costs a whole 4 KiB leaf: read, rebuilt,
// written, synced. Batch ingestion fell from 102,000 facts/s with 0.6 M facts to 34,000–44,000
// with 3 M (docs/BENCHMARKS.md), and production keeps facts 35 days. So new facts go into the
// current generation, a B-tree small enough that a flush rewrites each of its leaves for
// several facts. Once it has taken FactGeneration keys it is sealed: its Bloom filter is
// written to the file, and a new generation becomes current. A sealed generation only ever
// loses keys (garbage collection) or has a fact rewritten in place (a later status), so the
// filter written when it was sealed stays true, and Open reads it instead of scanning.
//
// A key is in at most one generation: a write goes to the generation that holds the key,
// found newest first through the filters (a filter never says "absent" for a key its
// generation holds, and says "maybe" for ~1% of the others), and only a key none holds goes
// into the current one. So a lookup stops at the first generation holding the key, and a scan
// merges the generations by key. A sealed generation left empty is dropped.
//
// What costs a probe per generation: a new fact would, to prove no generation holds it, but
// the duplicate check has already proved that through the fact filter (op.fresh), which so
// must never say "absent" for a key the memtables or the file hold: a fact marked fresh
// wrongly would end up in two generations (Check reports it; nothing repairs it). A lookup of
// an old fact does, but statuses and duplicates follow their message within days, so they
// stop at the newest generations; and deletions search oldest first, since garbage
// collection deletes the oldest facts.
//
// Generation 0 is the facts bucket of format 2, so an older file is read as it is; the others
// are buckets in bucketFactGens named be32(generation).
var (
	// bucketFactGens: be32(generation) → a bucket of business\x00message_id → Fact, for
	// generations from 1 on.
	bucketFactGens = []byte("fact_generations")
	// bucketFactGenFilters: be32(generation) → the Bloom filter of a sealed generation
	// (bloom.marshal).
	bucketFactGenFilters = []byte("fact_generation_filters")
)

// defaultFactGeneration is how many new keys a generation takes before it is sealed. At ~30
// facts a leaf its B-tree has ~9,000 leaves, so a flush of 70,000 facts rewrites each leaf for
// ~8 of them; at 10 bits a key its filter is 320 KiB (1.25 bytes a fact, in memory and in the
// file). 35 days of 1 M facts a day are 134 generations.
const defaultFactGeneration = 1 << 18

// factGens is the store's view of its generations that lives beyond a transaction: their
// filters, and the writer's count of the current generation's keys.
type factGens struct {
	size int // keys a generation takes before it is sealed
	// filters maps a generation to its filter; it is replaced, never modified (though the
	// filters in it are added to). A generation without one is searched.
	filters atomic.Pointer[map[uint32]*bloom]
	// times maps a generation to its facts' counts by time (gentimes.go); replaced, never
	// modified. Every generation has them once Open has loaded them.
	times atomic.Pointer[map[uint32]*genTimes]

	// The writer's: there is one bbolt writer at a time (Open, the flusher, or an Update
	// without group commit). A transaction rolled back (an Update without group commit that
	// failed) restores them (rollback); after a failed flush the store refuses writes.
	curID   uint32 // the generation curKeys counts
	curKeys int    // keys put into it since it became current (or found there at Open)
	scanned int    // generations Open scanned for their filter or counts (for tests)
	counted int    // generations Open scanned for their counts by time (Stats)

	freshPuts atomic.Uint64 // fresh facts put without a search (for tests)
}

// factHash is the hash the filters use: a stable one, since sealed generations' filters are
// kept in the file.
func factHash(key []byte) uint64 { return xxhash.Sum64(key) }

func genName(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

func (g *factGens) filterMap() map[uint32]*bloom { return *g.filters.Load() }

// setFilter makes b generation id's filter (nil: none).
func (g *factGens) setFilter(id uint32, b *bloom) {
	old := g.filterMap()
	fs := make(map[uint32]*bloom, len(old)+1)
	for k, v := range old {
		fs[k] = v
	}
	if b == nil {
		delete(fs, id)
	} else {
		fs[id] = b
	}
	g.filters.Store(&fs)
}

// generations returns the number of generations, for Stats: those with a filter, and
// generation 0 (the facts bucket) once emptied, when it has none.
func (g *factGens) generations() int {
	fs := g.filterMap()
	if fs[0] == nil {
		return len(fs) + 1
	}
	return len(fs)
}

// genHandle is a generation in one transaction.
type genHandle struct {
	id     uint32
	parent *bolt.Bucket // bucketFactGens; nil for generation 0
	b      *bolt.Bucket // opened on first use
	f      *bloom       // its filter when listed (nil: none, search it); filters only gain keys
	times  *genTimes    // its counts by time (nil: unknown, read it)
	c      *bolt.Cursor // for lookups; nil until the first
}

func (h *genHandle) bucket() *bolt.Bucket {
	if h.b == nil {
		h.b = h.parent.Bucket(genName(h.id))
	}
	return h.b
}

func (h *genHandle) seek(key []byte) ([]byte, bool) {
	if h.c == nil {
		h.c = h.bucket().Cursor()
	}
	return seek(h.c, key)
}

// genTx is one transaction's generations, listed from the file on first use, newest first.
type genTx struct {
	g       *factGens
	btx     *bolt.Tx
	listed  bool
	gens    []genHandle
	version int // bumped when a seal, a drop or a lowered oldest time changes gens, for scans that write

	// For a writable transaction: what to undo in memory if it is rolled back (rollback),
	// and the filters to forget once it has committed (the generations it dropped).
	wrote           bool
	curID           uint32
	curKeys         int
	sealed, dropped []uint32
	// counted are the counts by time t changed, and what they were before; txid is its bbolt
	// transaction's id (finish).
	counted map[*genTimes]map[int64]int64
	txid    uint64
}

// tx returns btx's generations.
func (g *factGens) tx(btx *bolt.Tx) *genTx { return &genTx{g: g, btx: btx} }

func (t *genTx) list() []genHandle {
	if !t.listed {
		t.gens, t.listed = generations(t.btx, t.g.filterMap()), true
		times := t.g.timesMap()
		for i := range t.gens {
			t.gens[i].times = times[t.gens[i].id]
		}
	}
	return t.gens
}

// generations lists tx's generations newest first: bucketFactGens' buckets, then bucketFacts,
// each with its filter in fs. Buckets are opened when first searched.
func generations(tx *bolt.Tx, fs map[uint32]*bloom) []genHandle {
	gs := make([]genHandle, 0, len(fs)+1) // as many as there are filters, but for a seal since
	if parent := tx.Bucket(bucketFactGens); parent != nil {
		c := parent.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			if v == nil && len(k) == 4 { // a bucket
				id := binary.BigEndian.Uint32(k)
				gs = append(gs, genHandle{id: id, parent: parent, f: fs[id]})
			}
		}
	}
	return append(gs, genHandle{id: 0, b: tx.Bucket(bucketFacts), f: fs[0]})
}

// load reads the generations' filters and counts by time when Open has the file open in tx
// (writable): a sealed generation's from the file, the current one's filter by scanning it (it
// holds at most size keys, a file of format 2 excepted, whose facts it all is until the first
// new fact seals it). A generation whose filter (sealed) or counts are missing is scanned, and
// what it lacked written: a file of format 3 has no counts, and generation 0 once garbage
// collection has emptied it no filter.
func (g *factGens) load(tx *bolt.Tx) error {
	fs := make(map[uint32]*bloom)
	ts := make(map[uint32]*genTimes)
	filters, times := tx.Bucket(bucketFactGenFilters), tx.Bucket(bucketFactGenTimes)
	for i, h := range generations(tx, nil) {
		var f *bloom
		if i > 0 {
			f = unmarshalBloom(filters.Get(genName(h.id)))
		}
		counts, known := unmarshalTimes(times.Get(genName(h.id)))
		if f != nil && known {
			fs[h.id], ts[h.id] = f, newGenTimes(h.id, counts)
			continue
		}
		g.scanned++
		var hs []uint64
		scanned := map[int64]int64{}
		c := h.bucket().Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			hs = append(hs, factHash(k))
			scanned[timeBucket(v)]++
		}
		if !known {
			if len(hs) > 0 { // not a new file's empty generation 0
				g.counted++
			}
			counts = scanned
			if err := times.Put(genName(h.id), marshalTimes(counts)); err != nil {
				return fmt.Errorf("writing the counts of fact generation %d: %w", h.id, err)
			}
		}
		ts[h.id] = newGenTimes(h.id, counts)
		if f != nil {
			fs[h.id] = f
			continue
		}
		if i > 0 && len(hs) == 0 {
			continue // an emptied generation 0: nothing to filter
		}
		f = newBloom(max(int64(g.size), int64(len(hs))))
		for _, x := range hs {
			f.add(x)
		}
		fs[h.id] = f
		if i == 0 {
			g.curID, g.curKeys = h.id, len(hs)
			continue
		}
		if err := filters.Put(genName(h.id), f.marshal()); err != nil {
			return fmt.Errorf("writing the filter of fact generation %d: %w", h.id, err)
		}
	}
	g.filters.Store(&fs)
	g.times.Store(&ts)
	return nil
}

// lookup returns the value under key (whose factHash is h) in t's generations.
func (t *genTx) lookup(key []byte, h uint64) ([]byte, bool) {
	gens := t.list()
	for i := range gens {
		if f := gens[i].f; f != nil && !f.mayContain(h) {
			continue
		}
		if v, ok := gens[i].seek(key); ok {
			return v, true
		}
	}
	return nil, false
}

// write applies one logged write to bucket number bucket in t, a writable transaction: a
// fact's through the generations (apply), any other straight to its bucket.
func (t *genTx) write(bucket uint8, key, val []byte, deleted, fresh bool) error {
	if bucket == factsBucket {
		return t.apply(key, val, deleted, fresh)
	}
	b := t.btx.Bucket(allBuckets[bucket])
	if deleted {
		return b.Delete(key)
	}
	return b.Put(key, val)
}

// apply writes one fact write in t, a writable transaction: to the generation holding key,
// or for a new key to the current one, sealing it first if full. fresh says no generation
// holds key (op.fresh), which spares the search. A deletion removes the key from the
// generation holding it and drops a sealed generation it leaves empty.
func (t *genTx) apply(key, val []byte, deleted, fresh bool) error {
	g := t.g
	if !t.wrote { // what rollback restores
		t.wrote, t.curID, t.curKeys = true, g.curID, g.curKeys
	}
	h := factHash(key)
	gens := t.list()
	if deleted {
		// Oldest first: garbage collection deletes old facts, which the oldest generations hold.
		for i := len(gens) - 1; i >= 0; i-- {
			if f := gens[i].f; f != nil && !f.mayContain(h) {
				continue
			}
			old, ok := gens[i].seek(key)
			if !ok {
				continue
			}
			t.count(&gens[i], timeBucket(old), -1)
			if err := gens[i].bucket().Delete(key); err != nil {
				return err
			}
			if i > 0 { // a sealed generation
				if k, _ := gens[i].c.First(); k == nil {
					return t.drop(i)
				}
			}
			return nil
		}
		return nil
	}
	for i := 0; i < len(gens) && !fresh; i++ { // newest first: statuses follow their message soon
		if f := gens[i].f; f != nil && !f.mayContain(h) {
			continue
		}
		if old, ok := gens[i].seek(key); ok {
			if was, now := timeBucket(old), timeBucket(val); was != now { // a status keeps its message's time
				t.count(&gens[i], was, -1)
				t.count(&gens[i], now, +1)
			}
			return gens[i].bucket().Put(key, val)
		}
	}
	if fresh {
		g.freshPuts.Add(1)
	}
	if g.curKeys >= g.size {
		if err := t.seal(); err != nil {
			return err
		}
		gens = t.gens
	}
	if f := gens[0].f; f != nil {
		f.add(h)
	}
	g.curKeys++
	t.count(&gens[0], timeBucket(val), +1)
	return gens[0].bucket().Put(key, val)
}

// seal writes the current generation's filter to the file and makes a new generation current.
// Its filter is published at once: until the transaction commits, no reader sees its bucket.
func (t *genTx) seal() error {
	g, cur := t.g, t.gens[0]
	if cur.f != nil { // always, but for a bug: Open would scan it then
		if err := t.btx.Bucket(bucketFactGenFilters).Put(genName(cur.id), cur.f.marshal()); err != nil {
			return fmt.Errorf("writing the filter of fact generation %d: %w", cur.id, err)
		}
	}
	id := cur.id + 1
	parent := t.btx.Bucket(bucketFactGens)
	b, err := parent.CreateBucket(genName(id))
	if err != nil {
		return fmt.Errorf("creating fact generation %d: %w", id, err)
	}
	// Its counts, none yet: the put that sealed it counts in them, and finish writes them.
	f, times := newBloom(int64(g.size)), newGenTimes(id, map[int64]int64{})
	g.setFilter(id, f)
	g.setTimes(id, times)
	t.gens = append([]genHandle{{id: id, parent: parent, b: b, f: f, times: times}}, t.gens...)
	t.sealed = append(t.sealed, id)
	t.version++
	g.curID, g.curKeys = id, 0
	// Deletions may have emptied it since it filled: then it goes, as a sealed generation
	// emptied later would.
	if k, _ := t.gens[1].bucket().Cursor().First(); k == nil {
		return t.drop(1)
	}
	return nil
}

// drop deletes t's sealed generation at index i, which is empty (generation 0, the facts
// bucket, stays: only its filter goes). Its filter is forgotten once the transaction has
// committed (committed): a reader that began before still sees its keys, and searches them.
func (t *genTx) drop(i int) error {
	id := t.gens[i].id
	if id > 0 {
		if err := t.btx.Bucket(bucketFactGens).DeleteBucket(genName(id)); err != nil {
			return fmt.Errorf("dropping fact generation %d: %w", id, err)
		}
	}
	if err := t.btx.Bucket(bucketFactGenFilters).Delete(genName(id)); err != nil {
		return fmt.Errorf("dropping fact generation %d: %w", id, err)
	}
	if id > 0 {
		if err := t.btx.Bucket(bucketFactGenTimes).Delete(genName(id)); err != nil {
			return fmt.Errorf("dropping fact generation %d: %w", id, err)
		}
	}
	t.dropped = append(t.dropped, id)
	if id > 0 {
		t.gens = append(t.gens[:i:i], t.gens[i+1:]...)
	} else {
		t.gens[i].f = nil // searched, and empty
	}
	t.version++
	return nil
}

// committed forgets the filters of the generations t dropped and shows readers the oldest
// times its deletions raised; the writer calls it once t's transaction has committed (t nil:
// it read no fact).
func (t *genTx) committed() {
	if t == nil {
		return
	}
	t.published()
	for _, id := range t.dropped {
		t.g.setFilter(id, nil)
		if id > 0 {
			t.g.setTimes(id, nil)
		}
	}
}

// rollback undoes in memory what t did, its transaction having been rolled back (an Update
// without group commit that failed). Its keys stay in the filters: a filter may hold more
// keys than its generation, never fewer. The counts by time it changed are restored, and with
// them the oldest times it lowered.
func (t *genTx) rollback() {
	if t == nil || !t.wrote {
		return
	}
	t.restored()
	for _, id := range t.sealed {
		t.g.setFilter(id, nil)
		t.g.setTimes(id, nil)
	}
	t.g.curID, t.g.curKeys = t.curID, t.curKeys
}

// kvCursor is what a scan reads: a bbolt cursor, or factCursor over the generations.
type kvCursor interface {
	Seek(key []byte) ([]byte, []byte)
	Next() ([]byte, []byte)
}

// cursor returns a cursor in key order over the facts of t's generations that may hold a fact
// timestamped before cutoff (allFacts: all of them).
func (t *genTx) cursor(cutoff int64) kvCursor {
	m, tx := &factCursor{}, uint64(t.btx.ID())
	for i := range t.list() {
		if h := &t.gens[i]; h.mayHoldBefore(cutoff, tx) {
			m.cs = append(m.cs, h.bucket().Cursor())
		}
	}
	if len(m.cs) == 1 {
		return m.cs[0]
	}
	m.heads = make([][2][]byte, len(m.cs))
	return m
}

// factCursor merges the generations' cursors by key. A key in more than one generation (never,
// but Check counts it in dups) is read from the newest.
type factCursor struct {
	cs    []*bolt.Cursor // newest generation first
	heads [][2][]byte    // each cursor's current key and value
	order []int          // the cursors with a current key, a heap by (key, generation newest first)
	dups  int
}

func (m *factCursor) Len() int { return len(m.order) }
func (m *factCursor) Less(a, b int) bool {
	i, j := m.order[a], m.order[b]
	c := bytes.Compare(m.heads[i][0], m.heads[j][0])
	return c < 0 || c == 0 && i < j
}
func (m *factCursor) Swap(a, b int) { m.order[a], m.order[b] = m.order[b], m.order[a] }
func (m *factCursor) Push(x any)    { m.order = append(m.order, x.(int)) }
func (m *factCursor) Pop() any {
	x := m.order[len(m.order)-1]
	m.order = m.order[:len(m.order)-1]
	return x
}

func (m *factCursor) Seek(key []byte) ([]byte, []byte) {
	m.order = m.order[:0]
	for i, c := range m.cs {
		k, v := c.Seek(key)
		m.heads[i] = [2][]byte{k, v}
		if k != nil {
			m.order = append(m.order, i)
		}
	}
	heap.Init(m)
	return m.top()
}

func (m *factCursor) Next() ([]byte, []byte) {
	if len(m.order) == 0 {
		return nil, nil
	}
	k := m.heads[m.order[0]][0]
	m.advance()
	for len(m.order) > 0 && bytes.Equal(m.heads[m.order[0]][0], k) {
		m.dups++
		m.advance()
	}
	return m.top()
}

// advance moves the cursor on top of the heap to its next key.
func (m *factCursor) advance() {
	i := m.order[0]
	k, v := m.cs[i].Next()
	m.heads[i] = [2][]byte{k, v}
	if k == nil {
		heap.Pop(m)
		return
	}
	heap.Fix(m, 0)
}

func (m *factCursor) top() ([]byte, []byte) {
	if len(m.order) == 0 {
		return nil, nil
	}
	h := m.heads[m.order[0]]
	return h[0], h[1]
}

// marshal returns the filter as the file keeps it: be64(capacity), then the blocks' words,
// little-endian.
func (b *bloom) marshal() []byte {
	out := make([]byte, 8, 8+len(b.blocks)*64)
	binary.BigEndian.PutUint64(out, uint64(b.capacity))
	for i := range b.blocks {
		for j := range b.blocks[i] {
			out = binary.LittleEndian.AppendUint64(out, atomic.LoadUint64(&b.blocks[i][j]))
		}
	}
	return out
}

// unmarshalBloom returns the filter marshal wrote, or nil if v is not one.
func unmarshalBloom(v []byte) *bloom {
	if len(v) < 8 {
		return nil
	}
	capacity := int64(binary.BigEndian.Uint64(v))
	if capacity <= 0 || capacity > 1<<40 || int64(len(v)-8) != bloomBlocks(capacity)*64 {
		return nil // checked before allocating: a damaged capacity must not size an allocation
	}
	b := newBloom(capacity)
	v = v[8:]
	for i := range b.blocks {
		for j := range b.blocks[i] {
			b.blocks[i][j] = binary.LittleEndian.Uint64(v)
			v = v[8:]
		}
	}
	b.added.Store(capacity) // what it holds is unknown, but no more than it was sized for
	return b
}
