package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
)

// readTx implements ReadTx on a bbolt transaction. Values bbolt returns are only valid while
// the transaction is open, so every record is decoded (copied) before it is handed out.
type readTx struct {
	btx *bolt.Tx
	// mem are the writes read before the B-tree, newest first: for a View, the overlay's
	// memtables (whose lock the View holds); for an Update, the pending writes of its batch
	// (its own among them) and of the batches the log writer has not published yet.
	mem layers
	// ov, for an Update, is the overlay, read after mem and locked for each read.
	ov *overlay
	// pairs is the cache PairView reads through; nil if none (and in Updates).
	pairs *pairCache
	// facts, if not nil, says which fact keys the overlay's memtables and the B-tree
	// certainly lack.
	facts *factFilter
	// buckets caches the transaction's bucket handles: bbolt re-opens a bucket (a
	// seek in the root) on every Tx.Bucket of a read-only transaction.
	buckets [len(allBucketsArray)]*bolt.Bucket
	// cursors, for an Update, are the cursors its batch's lookups seek with, one per bucket,
	// shared by the batch's Updates (they run one after the other on the batch's bbolt read
	// transaction). A cursor keeps its search stack from one seek to the next, where a fresh
	// one allocates it again, level by level: three allocations per lookup. nil: fresh ones.
	cursors *[len(allBucketsArray)]*bolt.Cursor
	// gens are the facts index's generations, and gt this transaction's (nil until the first
	// fact is searched for; for an Update with group commit, its batch's).
	gens *factGens
	gt   *genTx
	// absent is the last fact key lookup found absent through the fact filter (op.fresh).
	absent []byte
}

func (t *readTx) genTx() *genTx {
	if t.gt == nil {
		t.gt = t.gens.tx(t.btx)
	}
	return t.gt
}

// bucket returns the handle of one of allBuckets.
func (t *readTx) bucket(name []byte) *bolt.Bucket {
	i := bucketIndex(name)
	if t.buckets[i] == nil {
		t.buckets[i] = t.btx.Bucket(name)
	}
	return t.buckets[i]
}

// writeTx adds the writes. View hands out a *readTx, so a ReadTx cannot be type-asserted
// into a Tx.
type writeTx struct {
	readTx
	// pend takes the writes with group commit (the committer keeps them only if the Update
	// succeeds); nil when writes go straight to bbolt (no group commit).
	pend *pending
}

var (
	_ ReadTx = (*readTx)(nil)
	_ Tx     = (*writeTx)(nil)
)

// lookup returns the value under key and whether the key exists. It seeks with a cursor
// instead of calling Bucket.Get because Get cannot tell a missing key from an empty value,
// and a record whose fields are all default marshals to zero bytes.
func lookup(b *bolt.Bucket, key []byte) ([]byte, bool) { return seek(b.Cursor(), key) }

func seek(c *bolt.Cursor, key []byte) ([]byte, bool) {
	k, v := c.Seek(key)
	return v, k != nil && bytes.Equal(k, key)
}

// lookup is the package lookup with the writes bbolt does not hold yet in front.
//
// The fact filter covers the overlay's memtables and the B-tree, not an Update's batch nor the
// batches not yet published: so a View asks it first, an Update after its own layers.
func (t *readTx) lookup(bucket, key []byte) ([]byte, bool) {
	b := bucketIndex(bucket)
	var h uint64
	if b == factsBucket {
		h = factHash(key)
	}
	absent := func() bool { return b == factsBucket && t.facts != nil && !t.facts.mayContainHash(h) }
	if t.ov == nil && absent() {
		return nil, false
	}
	if e, ok := t.mem.get(b, key); ok {
		return e.val, !e.deleted
	}
	if t.ov != nil {
		if absent() {
			t.absent = key
			return nil, false
		}
		t.ov.mu.RLock()
		e, ok := t.ov.layers().get(b, key)
		t.ov.mu.RUnlock()
		if ok {
			return e.val, !e.deleted
		}
	}
	if b == factsBucket {
		return t.genTx().lookup(key, h)
	}
	if t.cursors == nil {
		return lookup(t.bucket(bucket), key)
	}
	c := t.cursors[b]
	if c == nil {
		c = t.bucket(bucket).Cursor()
		t.cursors[b] = c
	}
	return seek(c, key)
}

func (t *readTx) get(bucket, key []byte, m proto.Message) error {
	v, ok := t.lookup(bucket, key)
	if !ok {
		return ErrNotFound
	}
	if err := proto.Unmarshal(v, m); err != nil {
		return fmt.Errorf("store: decoding %s record %q: %w", bucket, key, err)
	}
	return nil
}

func (t *writeTx) put(bucket, key []byte, m proto.Message) error {
	v, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: encoding %s record %q: %w", bucket, key, err)
	}
	return t.set(bucket, key, v)
}

// set and del are the only writes. With group commit they go to the Update's pending writes
// (the committer logs them and adds them to its memtable if the Update succeeds); otherwise
// straight to bbolt. bbolt keeps key and val until the commit, so neither may be reused.
func (t *writeTx) set(bucket, key, val []byte) error {
	if t.pend != nil {
		b := bucketIndex(bucket)
		fresh := b == factsBucket && t.absent != nil && bytes.Equal(key, t.absent)
		t.pend.add(op{bucket: b, key: key, val: val, fresh: fresh})
		return nil
	}
	return t.genTx().write(bucketIndex(bucket), key, val, false, false)
}

func (t *writeTx) del(bucket, key []byte) error {
	if t.pend != nil {
		// A deletion of a missing key is logged too: applying it is a no-op, and finding
		// out would cost a B-tree search.
		t.pend.add(op{bucket: bucketIndex(bucket), deleted: true, key: key})
		return nil
	}
	return t.genTx().write(bucketIndex(bucket), key, nil, true, false)
}

// scan calls fn for each key from start on while in(key) holds, reading through the cursor
// cursor returns. In a writable transaction fn may have written to the bucket, which leaves a
// bbolt cursor pointing at stale nodes (and may have sealed or dropped a fact generation), so
// a new cursor is positioned after the last key seen instead of the old one advanced.
func scan(cursor func() kvCursor, writable bool, start []byte, in func(k []byte) bool, fn func(k, v []byte) error) error {
	c := cursor()
	for k, v := c.Seek(start); k != nil && in(k); {
		var last []byte
		if writable {
			last = bytes.Clone(k)
		}
		if err := fn(k, v); err != nil {
			return err
		}
		if !writable {
			k, v = c.Next()
			continue
		}
		c = cursor()
		if k, v = c.Seek(last); k != nil && bytes.Equal(k, last) {
			k, v = c.Next()
		}
	}
	return nil
}

// cursor returns a cursor over a bucket; the facts' merges their generations, those that may
// hold a fact timestamped before cutoff (allFacts: all).
func (t *readTx) cursor(bucket []byte, cutoff int64) kvCursor {
	if bucketIndex(bucket) == factsBucket {
		return t.genTx().cursor(cutoff)
	}
	return t.bucket(bucket).Cursor()
}

// cursorVersion changes when a cursor from cursor(bucket, cutoff) may no longer see every key
// it should: a fact generation sealed, dropped, or its oldest time lowered below a scan's
// cutoff.
func (t *readTx) cursorVersion(bucket []byte) int {
	if bucketIndex(bucket) == factsBucket {
		return t.genTx().version
	}
	return 0
}

// scanWindow is how many of the writes bbolt does not hold yet a scan takes at a time.
const scanWindow = 512

// scan is the package scan with the writes bbolt does not hold yet merged in: their entries
// replace bbolt's under the same key, and their deletions hide them.
func (t *readTx) scan(bucket, start []byte, in func(k []byte) bool, fn func(k, v []byte) error) error {
	return t.scanBefore(bucket, allFacts, start, in, fn)
}

// scanBefore is scan reading, of the facts bbolt holds, only the generations that may hold a
// fact timestamped before cutoff; the writes it does not hold yet are all read.
func (t *readTx) scanBefore(bucket []byte, cutoff int64, start []byte, in func(k []byte) bool, fn func(k, v []byte) error) error {
	b := bucketIndex(bucket)
	// The writes bbolt does not hold yet are read scanWindow keys at a time: a range can span
	// most of a memtable, and a garbage collection chunk reads only the next 2,000 keys.
	window := func(from []byte) (es []entry, next []byte) {
		if t.ov != nil {
			t.ov.mu.RLock()
			es = t.ov.layers().from(b, from, in, scanWindow)
			t.ov.mu.RUnlock()
		}
		if mine := t.mem.from(b, from, in, scanWindow); len(mine) > 0 {
			es = firstN(mergeEntries(es, mine), scanWindow)
		}
		// Fewer than a window: every layer has run out. A full one: there may be more, from
		// the key just after its last.
		if len(es) < scanWindow {
			return es, nil
		}
		return es, append(bytes.Clone(es[len(es)-1].key), 0)
	}
	over, next := window(start)
	if len(over) == 0 {
		// A writable scan seeks again after each key: with the same cursor, unless a write
		// sealed or dropped a fact generation.
		var c kvCursor
		version := -1
		return scan(func() kvCursor {
			if v := t.cursorVersion(bucket); c == nil || v != version {
				c, version = t.cursor(bucket, cutoff), v
			}
			return c
		}, t.btx.Writable(), start, in, fn)
	}
	c := t.cursor(bucket, cutoff) // read-only (memtables exist only with group commit): the cursor stays valid
	k, v := c.Seek(start)
	for {
		if len(over) == 0 && next != nil {
			over, next = window(next)
		}
		fromTree := k != nil && in(k)
		switch {
		case len(over) > 0 && (!fromTree || bytes.Compare(over[0].key, k) <= 0):
			e := over[0]
			over = over[1:]
			if fromTree && bytes.Equal(e.key, k) {
				k, v = c.Next()
			}
			if !e.deleted {
				if err := fn(e.key, e.val); err != nil {
					return err
				}
			}
		case fromTree:
			if err := fn(k, v); err != nil {
				return err
			}
			k, v = c.Next()
		default:
			return nil
		}
	}
}

func (t *readTx) Business(businessID string) (*storagev1.Business, error) {
	if err := checkPart("business id", businessID); err != nil {
		return nil, err
	}
	b := new(storagev1.Business)
	if err := t.get(bucketBusinesses, []byte(businessID), b); err != nil {
		return nil, err
	}
	return b, nil
}

func (t *readTx) Pair(businessID, userID string) (*storagev1.Pair, error) {
	k, err := pairKey(businessID, userID)
	if err != nil {
		return nil, err
	}
	return t.pair(k, businessID, userID)
}

// pair reads the pair record under k, whose ids its key holds (stripPairIDs).
func (t *readTx) pair(k []byte, businessID, userID string) (*storagev1.Pair, error) {
	p := new(storagev1.Pair)
	if err := t.get(bucketPairs, k, p); err != nil {
		return nil, err
	}
	p.BusinessId, p.UserId = businessID, userID
	return p, nil
}

func (t *readTx) PairView(businessID, userID string) (*storagev1.Pair, error) {
	if t.pairs == nil {
		return t.Pair(businessID, userID)
	}
	k, err := pairKey(businessID, userID)
	if err != nil {
		return nil, err
	}
	if _, ok := t.mem.get(bucketIndex(bucketPairs), k); ok {
		return t.pair(k, businessID, userID) // written since the last B-tree commit
	}
	if p, ok := t.pairs.get(k); ok {
		return p, nil
	}
	p, err := t.pair(k, businessID, userID)
	if err != nil {
		return nil, err
	}
	t.pairs.add(k, p)
	return p, nil
}

func (t *readTx) Fact(businessID, messageID string) (*storagev1.Fact, error) {
	k, err := factKey(businessID, messageID)
	if err != nil {
		return nil, err
	}
	f := new(storagev1.Fact)
	if err := t.get(bucketFacts, k, f); err != nil {
		return nil, err
	}
	return f, nil
}

func (t *readTx) Counter(key CounterKey) (int64, error) {
	k, err := counterKey(key)
	if err != nil {
		return 0, err
	}
	return t.counter(k)
}

func (t *readTx) counter(k []byte) (int64, error) {
	v, ok := t.lookup(bucketCounters, k)
	if !ok {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("store: counter %q holds %d bytes, want 8", k, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func (t *readTx) Usage(scope Scope, id, month string, fn func(UsageKey, *storagev1.Usage) error) error {
	prefix, err := usagePrefix(scope, id, month)
	if err != nil {
		return err
	}
	in := func(k []byte) bool { return bytes.HasPrefix(k, prefix) }
	return t.scan(bucketUsage, prefix, in, func(k, v []byte) error {
		market, category, pricingType, ok := parseUsageRest(k[len(prefix):])
		if !ok {
			return fmt.Errorf("store: malformed usage key %q", k)
		}
		u := new(storagev1.Usage)
		if err := proto.Unmarshal(v, u); err != nil {
			return fmt.Errorf("store: decoding usage record %q: %w", k, err)
		}
		return fn(UsageKey{Scope: scope, ID: id, Month: month, Market: market, Category: category, PricingType: pricingType}, u)
	})
}

// after returns the scan start strictly after the key a\x00b ("" "" = the first key).
func after(whatA, a, whatB, b string) ([]byte, []byte, error) {
	if a == "" && b == "" {
		return nil, nil, nil
	}
	k, err := joinKey(whatA, a, whatB, b)
	if err != nil {
		return nil, nil, err
	}
	return k, k, nil
}

func (t *readTx) Pairs(afterBusiness, afterUser string, fn func(*storagev1.Pair) error) error {
	start, skip, err := after("business id", afterBusiness, "user id", afterUser)
	if err != nil {
		return err
	}
	return t.scan(bucketPairs, start, func([]byte) bool { return true }, func(k, v []byte) error {
		if skip != nil && bytes.Equal(k, skip) {
			return nil
		}
		p, err := decodePair(k, v)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return fn(p)
	})
}

func (t *readTx) Facts(afterBusiness, afterID string, fn func(string, string, *storagev1.Fact) error) error {
	return t.scanFacts(allFacts, afterBusiness, afterID, fn)
}

func (t *readTx) OldFacts(cutoff int64, afterBusiness, afterID string, fn func(string, string, *storagev1.Fact) error) error {
	return t.scanFacts(cutoff, afterBusiness, afterID, fn)
}

func (t *readTx) scanFacts(cutoff int64, afterBusiness, afterID string, fn func(string, string, *storagev1.Fact) error) error {
	start, skip, err := after("business id", afterBusiness, "message id", afterID)
	if err != nil {
		return err
	}
	return t.scanBefore(bucketFacts, cutoff, start, func([]byte) bool { return true }, func(k, v []byte) error {
		if skip != nil && bytes.Equal(k, skip) {
			return nil
		}
		b, id, ok := splitKey(k)
		if !ok {
			return fmt.Errorf("store: malformed fact key %q", k)
		}
		f := new(storagev1.Fact)
		if err := proto.Unmarshal(v, f); err != nil {
			return fmt.Errorf("store: decoding fact %q: %w", k, err)
		}
		return fn(b, id, f)
	})
}

func (t *readTx) Template(wabaID, name string) (*storagev1.TemplateHistory, error) {
	k, err := templateKey(wabaID, name)
	if err != nil {
		return nil, err
	}
	h := new(storagev1.TemplateHistory)
	if err := t.get(bucketTemplates, k, h); err != nil {
		return nil, err
	}
	return h, nil
}

func (t *readTx) Discrepancies(businessID, month, after string, fn func(string, *storagev1.Discrepancy) error) error {
	prefix, err := discrepancyPrefix(businessID, month)
	if err != nil {
		return err
	}
	start := append(bytes.Clone(prefix), after...)
	return t.scan(bucketDiscrepancies, start, func(k []byte) bool { return bytes.HasPrefix(k, prefix) }, func(k, v []byte) error {
		id := string(k[len(prefix):])
		if id == after {
			return nil // strictly after
		}
		d := new(storagev1.Discrepancy)
		if err := proto.Unmarshal(v, d); err != nil {
			return fmt.Errorf("store: decoding discrepancy %q: %w", k, err)
		}
		return fn(id, d)
	})
}

func (t *readTx) Expiring(from, to int64, fn func(Expiry) error) error {
	// Nothing is indexed below 0 (AddExpiry refuses negative times), and clamping keeps
	// the unsigned encoding of from meaningful.
	from = max(from, 0)
	if to <= from {
		return nil
	}
	// Comparing whole keys with the 8-byte be64(to) stops exactly at the first key whose time
	// is >= to: a key with that time prefix is longer, so it sorts after.
	end := be64(to)
	in := func(k []byte) bool { return bytes.Compare(k, end) < 0 }
	return t.scan(bucketExpiry, be64(from), in, func(k, _ []byte) error {
		e, ok := parseExpiryKey(k)
		if !ok {
			return fmt.Errorf("store: malformed expiry key %q", k)
		}
		return fn(e)
	})
}

func (t *writeTx) PutBusiness(b *storagev1.Business) error {
	if b == nil {
		return errors.New("store: PutBusiness: nil business")
	}
	if err := checkID("business id", b.GetBusinessId()); err != nil {
		return err
	}
	return t.put(bucketBusinesses, []byte(b.GetBusinessId()), b)
}

func (t *writeTx) PutPair(p *storagev1.Pair) error {
	if p == nil {
		return errors.New("store: PutPair: nil pair")
	}
	if err := checkID("business id", p.GetBusinessId()); err != nil {
		return err
	}
	if err := checkID("user id", p.GetUserId()); err != nil {
		return err
	}
	k, err := pairKey(p.GetBusinessId(), p.GetUserId())
	if err != nil {
		return err
	}
	v, err := proto.Marshal(p)
	if err != nil {
		return fmt.Errorf("store: encoding pair %q: %w", k, err)
	}
	return t.set(bucketPairs, k, stripPairIDs(v))
}

func (t *writeTx) DeletePair(businessID, userID string) error {
	k, err := pairKey(businessID, userID)
	if err != nil {
		return err
	}
	return t.del(bucketPairs, k)
}

func (t *writeTx) PutTemplate(wabaID, name string, h *storagev1.TemplateHistory) error {
	if h == nil {
		return errors.New("store: PutTemplate: nil history")
	}
	if err := checkID("WABA id", wabaID); err != nil {
		return err
	}
	if err := checkID("template name", name); err != nil {
		return err
	}
	k, err := templateKey(wabaID, name)
	if err != nil {
		return err
	}
	return t.put(bucketTemplates, k, h)
}

func (t *writeTx) PutDiscrepancy(businessID, month, messageID string, d *storagev1.Discrepancy) error {
	if d == nil {
		return errors.New("store: PutDiscrepancy: nil discrepancy")
	}
	if err := checkID("message id", messageID); err != nil {
		return err
	}
	k, err := discrepancyKey(businessID, month, messageID)
	if err != nil {
		return err
	}
	return t.put(bucketDiscrepancies, k, d)
}

func (t *writeTx) DeleteDiscrepancy(businessID, month, messageID string) error {
	k, err := discrepancyKey(businessID, month, messageID)
	if err != nil {
		return err
	}
	return t.del(bucketDiscrepancies, k)
}

func discrepancyKey(businessID, month, messageID string) ([]byte, error) {
	if err := checkID("business id", businessID); err != nil {
		return nil, err
	}
	if err := checkID("month", month); err != nil {
		return nil, err
	}
	if err := checkPart("message id", messageID); err != nil {
		return nil, err
	}
	p, err := discrepancyPrefix(businessID, month)
	if err != nil {
		return nil, err
	}
	return append(p, messageID...), nil
}

func (t *writeTx) AddExpiry(e Expiry) error {
	k, err := expiryKey(e)
	if err != nil {
		return err
	}
	return t.set(bucketExpiry, k, []byte{})
}

func (t *writeTx) RemoveExpiry(e Expiry) error {
	k, err := expiryKey(e)
	if err != nil {
		return err
	}
	return t.del(bucketExpiry, k)
}

func (t *writeTx) PutFact(businessID, messageID string, f *storagev1.Fact) error {
	if f == nil {
		return errors.New("store: PutFact: nil fact")
	}
	if err := checkID("business id", businessID); err != nil {
		return err
	}
	if err := checkID("message id", messageID); err != nil {
		return err
	}
	k, err := factKey(businessID, messageID)
	if err != nil {
		return err
	}
	return t.put(bucketFacts, k, f)
}

func (t *writeTx) DeleteFact(businessID, messageID string) error {
	k, err := factKey(businessID, messageID)
	if err != nil {
		return err
	}
	return t.del(bucketFacts, k)
}

func (t *writeTx) AddCounter(key CounterKey, delta int64) (int64, error) {
	k, err := counterKey(key)
	if err != nil {
		return 0, err
	}
	v, err := t.counter(k)
	if err != nil {
		return 0, err
	}
	v += delta
	if err := t.set(bucketCounters, k, be64(v)); err != nil {
		return 0, err
	}
	return v, nil
}

// AddUsage adds delta's counts to the row and sets its currency to delta's; an empty currency
// in delta leaves the row's currency as it was (a count-only correction must not erase it).
func (t *writeTx) AddUsage(key UsageKey, delta *storagev1.Usage) error {
	if delta == nil {
		return errors.New("store: AddUsage: nil delta")
	}
	k, err := usageKey(key)
	if err != nil {
		return err
	}
	u := new(storagev1.Usage)
	if err := t.get(bucketUsage, k, u); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	u.Volume += delta.GetVolume()
	u.Conversations += delta.GetConversations()
	u.CostNanos += delta.GetCostNanos()
	u.RateUnknownVolume += delta.GetRateUnknownVolume()
	if c := delta.GetCurrency(); c != "" {
		u.Currency = c
	}
	return t.put(bucketUsage, k, u)
}
