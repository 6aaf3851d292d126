package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
)

// The file's layout. Every bucket name is here, and so is every key encoding: changing any of
// them is a format change (bump formatVersion and migrate).
var (
	// bucketMeta holds keyFormatVersion and keyWALApplied.
	bucketMeta = []byte("meta")
	// bucketBusinesses: business_id → Business.
	bucketBusinesses = []byte("businesses")
	// bucketPairs: business\x00user → Pair, without its business_id and user_id (from format 6:
	// the key holds them; stripPairIDs).
	bucketPairs = []byte("pairs")
	// bucketFacts: business\x00message_id → Fact; generation 0 of the facts (factgens.go),
	// whose later generations are in bucketFactGens.
	bucketFacts = []byte("facts")
	// bucketExpiry: be64(at) kind business\x00user → empty. An index over bucketPairs,
	// maintained by the ledger (AddExpiry, RemoveExpiry); the watch stream reads it.
	bucketExpiry = []byte("expiry")
	// bucketCounters: kind\x00id\x00month\x00market\x00 be32(category) → be64 value.
	bucketCounters = []byte("counters")
	// bucketUsage: scope id\x00month\x00 market\x00 be32(category) be32(pricing_type) → Usage.
	bucketUsage = []byte("usage")
	// bucketTemplates: waba\x00template_name → TemplateHistory.
	bucketTemplates = []byte("templates")
	// bucketDiscrepancies: business\x00month\x00message_id → Discrepancy.
	bucketDiscrepancies = []byte("discrepancies")

	// allBuckets are created on Open (also in files made by builds that lacked some:
	// adding a bucket is not a format change).
	allBuckets = allBucketsArray[:]

	allBucketsArray = [...][]byte{bucketMeta, bucketBusinesses, bucketPairs, bucketFacts, bucketExpiry, bucketCounters, bucketUsage,
		bucketTemplates, bucketDiscrepancies}

	// keyFormatVersion in bucketMeta holds be32(formatVersion) of the build that created the file.
	keyFormatVersion = []byte("format_version")
	// keyStoreID in bucketMeta holds 16 random bytes chosen when the file was created. Log
	// records are checksummed with it, so a log left next to another store (a restored
	// backup, a copied file) reads as empty instead of being replayed into it.
	keyStoreID = []byte("store_id")
	// keyWALApplied in bucketMeta holds be64 of the last write-ahead log batch the B-tree
	// holds; Open replays the log's later batches.
	keyWALApplied = []byte("wal_applied")
)

// factsBucket is bucketFacts' index in allBuckets.
var factsBucket = bucketIndex(bucketFacts)

// bucketIndex is name's index in allBuckets, the bucket number the log and the overlay use.
// Callers pass the bucket variables themselves, so comparing addresses is enough.
func bucketIndex(name []byte) uint8 {
	for i, n := range allBuckets {
		if &n[0] == &name[0] {
			return uint8(i)
		}
	}
	panic(fmt.Sprintf("store: unknown bucket %q", name))
}

// formatVersion is the layout above. Open refuses files with a larger one, because an older
// build would misread (and then corrupt) a layout it does not know. Version 2 added the
// write-ahead log: a version 1 build would ignore the log and lose acknowledged writes, so
// Open raises older files to 2. Version 3 keeps facts in generations (factgens.go), which a
// version 2 build would not search; a version 2 file is generation 0 of version 3 as it is.
// Version 6 keeps each generation's count of its facts by time, which garbage collection skips
// generations by and a version 3 build would not keep up to date; Open works out a version 3
// file's (factGens.load). It also leaves a pair's ids out of its record, as the key holds them;
// a version 3 file's pairs, with them, read the same. (Versions 4 and 5 were development
// builds': 4 kept only each generation's oldest time, and neither reads a pair without its ids.)
const formatVersion uint32 = 6

// sep separates the string parts of a key. Ids never contain it (the API rejects them), and
// checkPart makes sure of it, so prefixes cannot collide ("b1" vs "b10": "b1\x00" is not a
// prefix of "b10\x00").
const sep = 0

func checkPart(what, s string) error {
	if strings.IndexByte(s, sep) >= 0 {
		return fmt.Errorf("store: %s %q contains a NUL byte, which the store uses to separate key parts", what, s)
	}
	return nil
}

func checkID(what, s string) error {
	if s == "" {
		return fmt.Errorf("store: empty %s", what)
	}
	return checkPart(what, s)
}

// joinKey returns a\x00b, the key of pairs and facts.
func joinKey(whatA, a, whatB, b string) ([]byte, error) {
	if err := checkPart(whatA, a); err != nil {
		return nil, err
	}
	if err := checkPart(whatB, b); err != nil {
		return nil, err
	}
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, sep)
	return append(k, b...), nil
}

// splitKey splits a\x00b.
func splitKey(k []byte) (a, b string, ok bool) {
	i := bytes.IndexByte(k, sep)
	if i < 0 {
		return "", "", false
	}
	return string(k[:i]), string(k[i+1:]), true
}

func pairKey(businessID, userID string) ([]byte, error) {
	return joinKey("business id", businessID, "user id", userID)
}

func factKey(businessID, messageID string) ([]byte, error) {
	return joinKey("business id", businessID, "message id", messageID)
}

// expiryKey is be64(at), the kind byte and the pair's key, so the index sorts by time, then
// kind, then pair. AddExpiry refuses negative times, so the unsigned big-endian encoding
// sorts them numerically.
func expiryKey(e Expiry) ([]byte, error) {
	if e.At < 0 {
		return nil, fmt.Errorf("store: negative expiry time %d", e.At)
	}
	if e.Kind != ExpiryCSW && e.Kind != ExpiryFEP {
		return nil, fmt.Errorf("store: unknown expiry kind %q", e.Kind)
	}
	pk, err := pairKey(e.BusinessID, e.UserID)
	if err != nil {
		return nil, err
	}
	k := make([]byte, 9, 9+len(pk))
	binary.BigEndian.PutUint64(k, uint64(e.At))
	k[8] = byte(e.Kind)
	return append(k, pk...), nil
}

// parseExpiryKey is the inverse of expiryKey.
func parseExpiryKey(k []byte) (Expiry, bool) {
	if len(k) < 9 {
		return Expiry{}, false
	}
	b, u, ok := splitKey(k[9:])
	return Expiry{At: int64(binary.BigEndian.Uint64(k)), Kind: ExpiryKind(k[8]), BusinessID: b, UserID: u}, ok
}

func be64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func counterKey(c CounterKey) ([]byte, error) {
	for _, p := range [...]struct{ what, s string }{
		{"counter kind", c.Kind}, {"counter id", c.ID}, {"counter month", c.Month}, {"counter market", c.Market},
	} {
		if err := checkPart(p.what, p.s); err != nil {
			return nil, err
		}
	}
	k := make([]byte, 0, len(c.Kind)+len(c.ID)+len(c.Month)+len(c.Market)+4+4)
	for _, s := range [...]string{c.Kind, c.ID, c.Month, c.Market} {
		k = append(k, s...)
		k = append(k, sep)
	}
	return binary.BigEndian.AppendUint32(k, uint32(c.Category)), nil
}

// usagePrefix is the part of a usage key shared by all rows of scope/id/month.
func usagePrefix(scope Scope, id, month string) ([]byte, error) {
	if scope != ScopeBusiness && scope != ScopePortfolio {
		return nil, fmt.Errorf("store: unknown usage scope %q", byte(scope))
	}
	if err := checkPart("usage id", id); err != nil {
		return nil, err
	}
	if err := checkPart("usage month", month); err != nil {
		return nil, err
	}
	k := make([]byte, 0, 1+len(id)+1+len(month)+1+8+8)
	k = append(k, byte(scope))
	k = append(k, id...)
	k = append(k, sep)
	k = append(k, month...)
	return append(k, sep), nil
}

func usageKey(u UsageKey) ([]byte, error) {
	k, err := usagePrefix(u.Scope, u.ID, u.Month)
	if err != nil {
		return nil, err
	}
	if err := checkPart("usage market", u.Market); err != nil {
		return nil, err
	}
	k = append(k, u.Market...)
	k = append(k, sep)
	k = binary.BigEndian.AppendUint32(k, uint32(u.Category))
	return binary.BigEndian.AppendUint32(k, uint32(u.PricingType)), nil
}

// parseUsageRest decodes what follows usagePrefix in a usage key: market\x00 be32 be32.
func parseUsageRest(rest []byte) (market string, category, pricingType int32, ok bool) {
	i := bytes.IndexByte(rest, sep)
	if i < 0 || len(rest)-(i+1) != 8 {
		return "", 0, 0, false
	}
	n := rest[i+1:]
	return string(rest[:i]), int32(binary.BigEndian.Uint32(n)), int32(binary.BigEndian.Uint32(n[4:])), true
}

func templateKey(wabaID, name string) ([]byte, error) {
	return joinKey("WABA id", wabaID, "template name", name)
}

// discrepancyPrefix is business\x00month\x00; the message id follows.
func discrepancyPrefix(businessID, month string) ([]byte, error) {
	k, err := joinKey("business id", businessID, "month", month)
	if err != nil {
		return nil, err
	}
	return append(k, sep), nil
}

// Pair records leave out the ids their key holds: a quarter of a pair's bytes, so the pairs
// bucket has a quarter fewer leaves for a flush to rewrite, and the file and its pages in
// memory are smaller. (Records written before format 6 have them; they decode the same.)
var (
	pairBusinessField = (&storagev1.Pair{}).ProtoReflect().Descriptor().Fields().ByName("business_id").Number()
	pairUserField     = (&storagev1.Pair{}).ProtoReflect().Descriptor().Fields().ByName("user_id").Number()
)

// stripPairIDs removes the business_id and user_id fields from v, an encoded Pair, in place.
func stripPairIDs(v []byte) []byte {
	w := 0
	for r := 0; r < len(v); {
		num, typ, n := protowire.ConsumeTag(v[r:])
		if n < 0 { // never from proto.Marshal: keep the rest as it is
			return append(v[:w], v[r:]...)
		}
		m := protowire.ConsumeFieldValue(num, typ, v[r+n:])
		if m < 0 {
			return append(v[:w], v[r:]...)
		}
		if num != pairBusinessField && num != pairUserField {
			w += copy(v[w:], v[r:r+n+m])
		}
		r += n + m
	}
	return v[:w]
}

// decodePair decodes the pair record v stored under key k, its ids from k.
func decodePair(k, v []byte) (*storagev1.Pair, error) {
	b, u, ok := splitKey(k)
	if !ok {
		return nil, fmt.Errorf("malformed pair key %q", k)
	}
	p := new(storagev1.Pair)
	if err := proto.Unmarshal(v, p); err != nil {
		return nil, fmt.Errorf("decoding pair %q: %w", k, err)
	}
	p.BusinessId, p.UserId = b, u
	return p, nil
}
