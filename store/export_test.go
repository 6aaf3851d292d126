package store

import (
	"bytes"
	"context"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// WithFlushTx returns o with flushes split into bbolt transactions of ops writes, calling
// after (if not nil) on the flusher goroutine once each of a flush's transactions but the
// last has committed.
func WithFlushTx(o Options, ops int, after func(txs int)) Options {
	o.flushTxOps, o.afterFlushTx = ops, after
	return o
}

// Flushing reports whether a flush is between its bbolt transactions (or in one), which
// Backup and Check wait out before they begin theirs.
func (d *DB) Flushing() bool {
	if d.flushing.TryRLock() {
		d.flushing.RUnlock()
		return false
	}
	return true
}

// FormatVersion is the file format this build writes.
const FormatVersion = formatVersion

// SetFormatVersion overwrites the file's format version, to simulate a file from another build.
func (d *DB) SetFormatVersion(v uint32) error {
	return d.flush(context.Background(), func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyFormatVersion, binary.BigEndian.AppendUint32(nil, v))
	})
}

// Queued is the number of Updates waiting for the committer, so tests can line up a batch
// deterministically instead of sleeping.
func (d *DB) Queued() int { return len(d.queue) }

// SetExpiryEntry adds or removes a raw expiry index entry, to damage the index on purpose.
func (d *DB) SetExpiryEntry(at int64, businessID, userID string, present bool) error {
	return d.flush(context.Background(), func(tx *bolt.Tx) error {
		k, err := expiryKey(Expiry{At: at, Kind: ExpiryCSW, BusinessID: businessID, UserID: userID})
		if err != nil {
			return err
		}
		if present {
			return tx.Bucket(bucketExpiry).Put(k, nil)
		}
		return tx.Bucket(bucketExpiry).Delete(k)
	})
}

// WithFactFilter returns o with fact filters sized for as few as keys keys, so that a test's
// flushes fill them and start new builds, and builds that read chunk keys per transaction
// (and build at Open only a file of at most chunk facts; a larger one's, in the background).
func WithFactFilter(o Options, keys, chunk int) Options {
	o.filterKeys, o.filterChunk = keys, chunk
	return o
}

// WaitFactFilter waits until no fact filter build is running.
func (d *DB) WaitFactFilter() { <-d.facts.idle() }

// FactFilterBuilt reports whether lookups use a fact filter yet.
func (d *DB) FactFilterBuilt() bool { return d.facts.cur.Load() != nil }

// FactFilterAbsent reports whether the fact filter says the B-tree lacks the fact: if so,
// a lookup does not search it.
func (d *DB) FactFilterAbsent(businessID, messageID string) bool {
	k, err := factKey(businessID, messageID)
	if err != nil {
		panic(err)
	}
	return !d.facts.mayContain(k)
}

// WithPublishHook returns o with fn called on the log writer each time it publishes a group
// of batches, after adding their fact keys to the fact filter and before the overlay's lock.
func WithPublishHook(o Options, fn func()) Options {
	o.betweenPublishing = fn
	return o
}

// BuildFactFilter starts a fact filter build (unless one is running) and waits for it to end.
func (d *DB) BuildFactFilter() {
	d.facts.start(d.bolt, &d.flushing, d.closed.Load)
	<-d.facts.idle()
}

// FactGenerationsScanned is how many fact generations Open scanned for their filters instead
// of reading them from the file.
func (d *DB) FactGenerationsScanned() int { return d.gens.scanned }

// FreshFactsPut is how many facts flushes put in the current generation without searching the
// others, their Update having proved them new (op.fresh).
func (d *DB) FreshFactsPut() uint64 { return d.gens.freshPuts.Load() }

// ForgetFactGenerationTimes deletes the generations' counts by time from the file and makes it
// format 3, as a build before them wrote it.
func (d *DB) ForgetFactGenerationTimes() error {
	return d.flush(context.Background(), func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketFactGenTimes); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyFormatVersion, binary.BigEndian.AppendUint32(nil, 3))
	})
}

// SetFactGenerationTimes overwrites generation id's counts by time in the file (nil: none), to
// damage them.
func (d *DB) SetFactGenerationTimes(id uint32, counts map[int64]int64) error {
	return d.flush(context.Background(), func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFactGenTimes).Put(genName(id), marshalTimes(counts))
	})
}

// TimeBucket is the time bucket a fact at ts counts in.
func TimeBucket(ts int64) int64 { return ts >> timeShift }

// RawPair returns the pair record the file holds under business and user (nil: none).
func (d *DB) RawPair(businessID, userID string) []byte {
	var v []byte
	_ = d.bolt.View(func(tx *bolt.Tx) error {
		k, _ := pairKey(businessID, userID)
		v = bytes.Clone(tx.Bucket(bucketPairs).Get(k))
		return nil
	})
	return v
}

// SetRawPair writes a pair record as it is, as an older build wrote it.
func (d *DB) SetRawPair(businessID, userID string, v []byte) error {
	return d.flush(context.Background(), func(tx *bolt.Tx) error {
		k, err := pairKey(businessID, userID)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketPairs).Put(k, v)
	})
}
