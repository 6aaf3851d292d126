package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// The write-ahead log makes an Update durable with one small sequential write and one
// fdatasync, instead of a B-tree commit (every dirtied page written, then two fdatasyncs).
// The B-tree is committed in the background (commit.go); the log holds the batches since,
// and Open replays them. This is etcd's split (a WAL acknowledged per batch, bbolt committed
// every 100 ms) without a consensus log.
//
// The log is two files used in turn: when the committer freezes its memtable for the
// flusher, writing moves to the other file, from offset 0. The file written before holds
// what is being flushed, and is reused only after that flush is committed (the next freeze
// waits for it). So the files stop growing once they hold one interval's batches, and
// fdatasync flushes data only. Each record is
//
//	u32 payload length | u32 CRC-32C of (store id, seq, payload) | u64 seq | payload
//
// and the payload is the batch's ops, each
//
//	u8 bucket<<1 | deleted | uvarint key length | key | (unless deleted) uvarint value length | value
//
// Replay reads each file's records from offset 0 while they are intact and their sequence
// numbers consecutive (the first torn record, or a stale one left from an earlier round, ends
// the file), takes those the B-tree does not hold (the meta bucket's keyWALApplied) in
// sequence order, and stops at the first gap.

// walSuffix names the log files next to the store file: convstate.db → convstate.db-wal
// and convstate.db-wal2.
const walSuffix = "-wal"

const walHeader = 16

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// op is one write of an Update: the unit the log records and the overlay publishes.
type op struct {
	bucket  uint8
	deleted bool
	// fresh, for a fact put, says that the Update's duplicate check found the key in no
	// layer through the fact filter, so no generation of the facts index holds it: the
	// flusher puts it in the current one without searching the others. Not logged: a
	// replayed write is searched for.
	fresh bool
	key   []byte
	val   []byte
}

// LogPaths are the write-ahead log files of the store file at path.
func LogPaths(path string) [2]string { return [2]string{path + walSuffix, path + walSuffix + "2"} }

// checksum is the record's CRC: the store id seeds it (see keyStoreID).
func checksum(id, rec []byte) uint32 {
	return crc32.Update(crc32.Checksum(id, crcTable), crcTable, rec[8:])
}

// appendRecord appends the record of batch seq to buf.
func appendRecord(buf []byte, id []byte, seq uint64, ops []op) []byte {
	size := walHeader // grow buf once: a 1,000-fact batch's record is ~400 KB
	for _, w := range ops {
		size += 1 + 2*binary.MaxVarintLen32 + len(w.key) + len(w.val)
	}
	buf = slices.Grow(buf, size)
	start := len(buf)
	buf = append(buf, make([]byte, walHeader)...)
	for _, w := range ops {
		flag := w.bucket << 1
		if w.deleted {
			flag |= 1
		}
		buf = append(buf, flag)
		buf = binary.AppendUvarint(buf, uint64(len(w.key)))
		buf = append(buf, w.key...)
		if !w.deleted {
			buf = binary.AppendUvarint(buf, uint64(len(w.val)))
			buf = append(buf, w.val...)
		}
	}
	rec := buf[start:]
	binary.LittleEndian.PutUint32(rec[0:], uint32(len(rec)-walHeader))
	binary.LittleEndian.PutUint64(rec[8:], seq)
	binary.LittleEndian.PutUint32(rec[4:], checksum(id, rec))
	return buf
}

// walRecord is a decoded record.
type walRecord struct {
	seq uint64
	ops []op
}

// readRecords decodes the intact, consecutive records at the start of data. A record that is
// torn, corrupt or not the successor of the one before ends the log: everything after it was
// never acknowledged (a batch is answered only after its record is synced, and records are
// written in order).
func readRecords(data, id []byte) []walRecord {
	var out []walRecord
	for len(data) >= walHeader {
		n := binary.LittleEndian.Uint32(data[0:])
		if uint64(n) > uint64(len(data)-walHeader) {
			break
		}
		rec := data[:walHeader+int(n)]
		if checksum(id, rec) != binary.LittleEndian.Uint32(rec[4:]) {
			break
		}
		seq := binary.LittleEndian.Uint64(rec[8:])
		if len(out) > 0 && seq != out[len(out)-1].seq+1 {
			break
		}
		ops, err := decodeOps(rec[walHeader:])
		if err != nil {
			break // cannot happen for a record with a good checksum, but never apply garbage
		}
		out = append(out, walRecord{seq: seq, ops: ops})
		data = data[len(rec):]
	}
	return out
}

var errMalformedOp = errors.New("malformed op")

func decodeOps(p []byte) ([]op, error) {
	var ops []op
	for len(p) > 0 {
		flag := p[0]
		p = p[1:]
		w := op{bucket: flag >> 1, deleted: flag&1 == 1}
		if int(w.bucket) >= len(allBuckets) {
			return nil, errMalformedOp
		}
		var ok bool
		if w.key, p, ok = readBytes(p); !ok {
			return nil, errMalformedOp
		}
		if !w.deleted {
			if w.val, p, ok = readBytes(p); !ok {
				return nil, errMalformedOp
			}
		}
		ops = append(ops, w)
	}
	return ops, nil
}

func readBytes(p []byte) ([]byte, []byte, bool) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return nil, nil, false
	}
	p = p[k:]
	return p[:n:n], p[n:], true
}

// wal is the open log. Only the log writer goroutine uses it while the store runs, except
// next, which the committer calls while the writer is idle.
type wal struct {
	f   [2]*os.File
	cur int   // the file being written
	off int64 // where the next record goes in it
}

// openWAL opens (creating) the log of the store at dbPath, whose id is id, and returns its
// records in sequence order.
func openWAL(dbPath string, id []byte) (*wal, []walRecord, error) {
	w := &wal{}
	var all []walRecord
	created := false
	for i, path := range LogPaths(dbPath) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			w.abandon()
			return nil, nil, err
		}
		w.f[i] = f
		data, err := io.ReadAll(f)
		if err != nil {
			w.abandon()
			return nil, nil, fmt.Errorf("reading %s: %w", path, err)
		}
		created = created || len(data) == 0
		all = append(all, readRecords(data, id)...)
	}
	if created {
		// A new log file: make its directory entry durable, or a crash could lose the
		// whole file along with acknowledged batches.
		if err := syncDir(filepath.Dir(dbPath)); err != nil {
			w.abandon()
			return nil, nil, err
		}
	}
	slices.SortFunc(all, func(a, b walRecord) int { return cmp.Compare(a.seq, b.seq) })
	return w, all, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// write appends records (already encoded) and makes them durable.
func (w *wal) write(records []byte) error {
	if _, err := w.f[w.cur].WriteAt(records, w.off); err != nil {
		return err
	}
	w.off += int64(len(records))
	return fdatasync(w.f[w.cur])
}

// next moves writing to the other file, from its start: call it only when the B-tree holds,
// or the flush being started will hold, every record in that file.
func (w *wal) next() { w.cur, w.off = 1-w.cur, 0 }

// empty truncates both files, once replay has put their records in the B-tree: a record of
// this run must never be read after one of an earlier run (see replay).
func (w *wal) empty() error {
	for _, f := range w.f {
		if err := f.Truncate(0); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
	}
	w.cur, w.off = 0, 0
	return nil
}

// close removes the log (the B-tree holds all of it after a clean close), like SQLite's
// -wal file, so a closed store is one file again.
func (w *wal) close() error {
	var errs []error
	for _, f := range w.f {
		errs = append(errs, f.Close(), os.Remove(f.Name()))
	}
	return errors.Join(errs...)
}

// abandon closes the files and leaves them for Open to replay.
func (w *wal) abandon() {
	for _, f := range w.f {
		if f != nil {
			_ = f.Close()
		}
	}
}
