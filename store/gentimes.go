package store

import (
	"encoding/binary"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
)

// Garbage collection deletes the facts older than the retention, and a pass used to read every
// fact to find them. Each fact generation counts its facts by the time bucket of their
// timestamps (2^42 ns, ~73 minutes), so a pass reads only the generations whose earliest
// bucket with a fact begins before its cutoff (OldFacts): with 35 days of facts in time order,
// the oldest one or two of ~134. The counts are exact, kept up by every put, rewrite and
// deletion (the writer has a rewritten or deleted fact's old value from its search), so a late
// fact (a webhook Meta retried for a week, a replay of history) makes its generation read
// early only until a pass has deleted it.
//
// Readers see a generation's oldest: the start of its earliest bucket with a fact. A write
// lowers it before its transaction commits, so a reader whose transaction holds the fact finds
// it lowered. A deletion, or a rewrite to a later time, raises it once committed; a reader whose
// transaction began before that commit still holds the fact, and uses the oldest from before
// the raise (genTimes.raised). Outside a transaction it is the counts' earliest bucket.
var (
	// bucketFactGenTimes: be32(generation) → its counts (genTimes.marshal); from format 6.
	bucketFactGenTimes = []byte("fact_generation_times")
)

const (
	// timeShift sizes the time buckets: a fact at ts counts in bucket ts >> timeShift.
	timeShift = 42
	// noFacts is the oldest of a generation without facts.
	noFacts = math.MaxInt64
	// allFacts as OldFacts' cutoff reads every generation.
	allFacts = math.MaxInt64
)

// genTimes is one generation's facts counted by time bucket.
type genTimes struct {
	id     uint32
	oldest atomic.Int64 // what readers see (above)
	// raised is the last raise of oldest, for the readers whose transaction predates it.
	raised atomic.Pointer[raise]

	// mu guards counts, which the writer changes and Check reads.
	mu     sync.Mutex
	counts map[int64]int64 // bucket → facts, none zero
}

// raise is a raise of a generation's oldest by the transaction tx: a reader whose transaction
// is older uses was, the lowest oldest before it (and before the raises that preceded it: a
// lower one is always safe, and old readers are few).
type raise struct {
	tx  uint64
	was int64
}

func newGenTimes(id uint32, counts map[int64]int64) *genTimes {
	gt := &genTimes{id: id, counts: counts}
	gt.oldest.Store(earliest(counts))
	return gt
}

// timeBucket is the time bucket the fact v encodes counts in.
func timeBucket(v []byte) int64 { return factTime(v) >> timeShift }

// earliest is the start of the earliest bucket with a fact in counts, or noFacts.
func earliest(counts map[int64]int64) int64 {
	if len(counts) == 0 {
		return noFacts
	}
	return slices.Min(slices.Collect(maps.Keys(counts))) << timeShift
}

// marshalTimes returns counts as the file keeps them: (varint bucket, uvarint count) pairs in
// bucket order.
func marshalTimes(counts map[int64]int64) []byte {
	out := []byte{}
	for _, b := range slices.Sorted(maps.Keys(counts)) {
		out = binary.AppendUvarint(binary.AppendVarint(out, b), uint64(counts[b]))
	}
	return out
}

// unmarshalTimes returns the counts marshalTimes wrote, or false if v is not such a record.
func unmarshalTimes(v []byte) (map[int64]int64, bool) {
	if v == nil {
		return nil, false
	}
	counts := map[int64]int64{}
	prev := int64(math.MinInt64)
	for first := true; len(v) > 0; first = false {
		b, n := binary.Varint(v)
		if n <= 0 || !first && b <= prev || b < math.MinInt64>>timeShift || b > math.MaxInt64>>timeShift {
			return nil, false
		}
		c, m := binary.Uvarint(v[n:])
		if m <= 0 || c == 0 || c > math.MaxInt64 {
			return nil, false
		}
		counts[b], prev, v = int64(c), b, v[n+m:]
	}
	return counts, true
}

func (g *factGens) timesMap() map[uint32]*genTimes { return *g.times.Load() }

// setTimes makes gt generation id's counts (nil: it has none, being dropped).
func (g *factGens) setTimes(id uint32, gt *genTimes) {
	m := maps.Clone(g.timesMap())
	if gt == nil {
		delete(m, id)
	} else {
		m[id] = gt
	}
	g.times.Store(&m)
}

// mayHoldBefore reports whether h may hold a fact timestamped before cutoff for a reader whose
// bbolt transaction has id tx.
func (h *genHandle) mayHoldBefore(cutoff int64, tx uint64) bool {
	if cutoff == allFacts || h.times == nil {
		return true
	}
	oldest := h.times.oldest.Load()
	if r := h.times.raised.Load(); r != nil && tx < r.tx { // loaded after oldest: see published
		oldest = min(oldest, r.was)
	}
	return oldest < cutoff
}

// count counts a fact in time bucket b in or out (delta ±1) of generation h in t, a writable
// transaction: a put into it, or a deletion or rewrite of one of its facts (b its old time's).
func (t *genTx) count(h *genHandle, b, delta int64) {
	gt := h.times
	if gt == nil {
		return // never: load and seal give every generation its counts
	}
	gt.mu.Lock()
	defer gt.mu.Unlock()
	if _, ok := t.counted[gt]; !ok { // what rollback restores, and finish writes
		if t.counted == nil {
			t.counted = map[*genTimes]map[int64]int64{}
		}
		t.counted[gt] = maps.Clone(gt.counts)
	}
	if n := gt.counts[b] + delta; n == 0 {
		delete(gt.counts, b)
	} else {
		gt.counts[b] = n
	}
	if start := b << timeShift; delta > 0 && start < gt.oldest.Load() {
		gt.oldest.Store(start)
		t.version++ // a writable scan of old facts that skipped the generation must now read it
	}
}

// finish writes the counts t changed to the file; the writer calls it last in each
// transaction that wrote facts (t nil: it read none).
func (t *genTx) finish() error {
	if t == nil {
		return nil
	}
	t.txid = uint64(t.btx.ID())
	b := t.btx.Bucket(bucketFactGenTimes)
	for gt := range t.counted {
		if slices.Contains(t.dropped, gt.id) && gt.id > 0 {
			continue // its record went with it
		}
		gt.mu.Lock()
		v := marshalTimes(gt.counts)
		gt.mu.Unlock()
		if err := b.Put(genName(gt.id), v); err != nil {
			return err
		}
	}
	return nil
}

// published shows readers the oldest times t's commit raised; committed calls it.
func (t *genTx) published() {
	for gt := range t.counted {
		gt.mu.Lock()
		now := earliest(gt.counts)
		gt.mu.Unlock()
		if was := gt.oldest.Load(); now > was {
			if r := gt.raised.Load(); r != nil {
				was = min(was, r.was)
			}
			gt.raised.Store(&raise{tx: t.txid, was: was}) // before oldest, which readers load first
		}
		gt.oldest.Store(now)
	}
}

// restored puts back the counts t changed, and with them the oldest times it lowered;
// rollback calls it.
func (t *genTx) restored() {
	for gt, was := range t.counted {
		gt.mu.Lock()
		gt.counts = was
		gt.oldest.Store(earliest(gt.counts))
		gt.mu.Unlock()
	}
}

// countsNow returns a copy of gt's counts, for Check.
func (gt *genTimes) countsNow() map[int64]int64 {
	gt.mu.Lock()
	defer gt.mu.Unlock()
	return maps.Clone(gt.counts)
}

// factTimeField is storagev1.Fact's timestamp field, which factTime reads.
var factTimeField = (&storagev1.Fact{}).ProtoReflect().Descriptor().Fields().ByName("timestamp").Number()

// factTime returns the timestamp of the fact v encodes without decoding the rest (0 when it has
// none, as proto.Unmarshal would), or math.MinInt64 if v is malformed: a generation holding it
// is then always read.
func factTime(v []byte) int64 {
	var ts int64
	for len(v) > 0 {
		num, typ, n := protowire.ConsumeTag(v)
		if n < 0 {
			return math.MinInt64
		}
		v = v[n:]
		if num == factTimeField && typ == protowire.VarintType {
			x, n := protowire.ConsumeVarint(v)
			if n < 0 {
				return math.MinInt64
			}
			ts, v = int64(x), v[n:] // the last one wins, as in proto.Unmarshal
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, v); n < 0 {
			return math.MinInt64
		}
		v = v[n:]
	}
	return ts
}
