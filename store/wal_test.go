package store_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
)

// noTreeCommit keeps every write in the log and the overlay until a flush (Check, Backup,
// Close): the B-tree on disk is what it was at the last one.
var noTreeCommit = store.Options{CommitInterval: time.Hour}

// crashCopy copies the store file and its log while the store is open, which is what a
// crash leaves on disk: the B-tree as of its last commit, the log as synced.
func crashCopy(t *testing.T, db *store.DB) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "crashed.db")
	copyFile(t, db.Path(), dst)
	copyLogs(t, db.Path(), dst)
	return dst
}

// copyLogs copies the log files of the store at src to be those of the store at dst.
func copyLogs(t *testing.T, src, dst string) {
	t.Helper()
	for i, log := range store.LogPaths(src) {
		copyFile(t, log, store.LogPaths(dst)[i])
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func putPairs(t *testing.T, db store.Store, users ...string) {
	t.Helper()
	for _, u := range users {
		if err := db.Update(t.Context(), func(tx store.Tx) error {
			return tx.PutPair(&storagev1.Pair{BusinessId: "b1", UserId: u, Activity: []int64{1}})
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func pairUsers(t *testing.T, db store.Store) []string {
	t.Helper()
	var users []string
	if err := db.View(t.Context(), func(r store.ReadTx) error {
		return r.Pairs("", "", func(p *storagev1.Pair) error {
			users = append(users, p.GetUserId())
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return users
}

// checkPairs checks that db's pairs (of business b1) are want's users, in order.
func checkPairs(t *testing.T, what string, db store.Store, want ...string) {
	t.Helper()
	if d := cmp.Diff(want, pairUsers(t, db)); d != "" {
		t.Errorf("%s: pairs (-want +got):\n%s", what, d)
	}
}

func TestCrashReplaysTheLog(t *testing.T) {
	db := openTemp(t, noTreeCommit)
	putPairs(t, db, "u1")
	if err := db.Check(); err != nil { // commits the B-tree: u1 is in the file
		t.Fatal(err)
	}
	writeTestData(t, db) // only in the log
	putPairs(t, db, "u2", "u3")
	path := crashCopy(t, db)

	crashed := openAt(t, path, store.Options{})
	if got := crashed.Stats().Replayed; got != 3 {
		t.Errorf("Replayed = %d log batches, want 3", got)
	}
	checkTestData(t, crashed)
	checkPairs(t, "after replay", crashed, "u1", "u2", "u3")
	if err := crashed.CheckIndex(); err != nil {
		t.Error(err)
	}
}

func TestTornLogTailIsIgnored(t *testing.T) {
	db := openTemp(t, noTreeCommit)
	putPairs(t, db, "u1", "u2")
	path := crashCopy(t, db)
	// A torn last record: its tail never reached the disk.
	log := store.LogPaths(path)[0]
	fi, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(log, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	crashed := openAt(t, path, store.Options{})
	checkPairs(t, "after replaying a torn log", crashed, "u1")
}

func TestRewoundLogReplaysOnlyNewBatches(t *testing.T) {
	db := openTemp(t, noTreeCommit)
	// A long first round, then a B-tree commit and a shorter second round written over it:
	// the first round's remaining records must not be replayed (u1 would come back).
	for i := range 20 {
		putPairs(t, db, fmt.Sprintf("old%02d", i))
	}
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		for i := range 20 {
			if err := tx.DeletePair("b1", fmt.Sprintf("old%02d", i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	putPairs(t, db, "new")
	crashed := openAt(t, crashCopy(t, db), store.Options{})
	if got := crashed.Stats().Replayed; got != 1 {
		t.Errorf("Replayed = %d log batches, want 1", got)
	}
	checkPairs(t, "after a rewound log", crashed, "new")
}

func TestLogOfAnotherStoreIgnored(t *testing.T) {
	db := openTemp(t, noTreeCommit)
	putPairs(t, db, "u1")
	other := filepath.Join(t.TempDir(), "other.db")
	copyLogs(t, db.Path(), other) // batch 1 next to a new store
	o := openAt(t, other, store.Options{})
	if got := o.Stats().Replayed; got != 0 || len(pairUsers(t, o)) != 0 {
		t.Errorf("a new store replayed %d batches of another store's log", got)
	}
}

func TestOlderCopyWithItsLogRefused(t *testing.T) {
	db := openTemp(t, noTreeCommit)
	putPairs(t, db, "u1")
	older := filepath.Join(t.TempDir(), "older.db")
	f, err := os.Create(older)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Backup(t.Context(), f); err != nil { // holds batch 1
		t.Fatal(err)
	}
	f.Close()
	// Batches 2, 3 and 4, each followed by a B-tree commit, which moves the log to its
	// other file: batch 4 overwrites batch 2, so the log no longer follows the copy.
	for _, u := range []string{"u2", "u3"} {
		putPairs(t, db, u)
		if err := db.Check(); err != nil {
			t.Fatal(err)
		}
	}
	putPairs(t, db, "u4")
	copyLogs(t, db.Path(), older)
	_, err = store.Open(older, store.Options{})
	if err == nil || !strings.Contains(err.Error(), "move the log away") {
		t.Fatalf("Open of an older copy with a later log = %v, want a refusal", err)
	}
}

func TestCleanCloseRemovesTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convstate.db")
	db, err := store.Open(path, noTreeCommit)
	if err != nil {
		t.Fatal(err)
	}
	putPairs(t, db, "u1")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, log := range store.LogPaths(path) {
		if _, err := os.Stat(log); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("log %s after Close: %v; want it removed", log, err)
		}
	}
	db = openAt(t, path, store.Options{})
	checkPairs(t, "after reopening", db, "u1")
}

// TestScansMergeLogAndTree reads keys some of which the B-tree holds, some the overlay of
// logged writes, some both (overwritten) and some deleted in the overlay only, and checks
// scans and lookups see the latest of each, before and after the B-tree commit.
func TestScansMergeLogAndTree(t *testing.T) {
	db := openTemp(t, noTreeCommit)
	putPairs(t, db, "a", "c", "e", "g")
	for _, at := range []int64{10, 30, 50} {
		if err := db.Update(t.Context(), func(tx store.Tx) error {
			return tx.AddExpiry(store.Expiry{At: at, Kind: store.ExpiryCSW, BusinessID: "b1", UserID: "x"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	putPairs(t, db, "b", "e", "h") // new, overwritten, new at the end
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.DeletePair("b1", "c"); err != nil {
			return err
		}
		if err := tx.RemoveExpiry(store.Expiry{At: 30, Kind: store.ExpiryCSW, BusinessID: "b1", UserID: "x"}); err != nil {
			return err
		}
		return tx.AddExpiry(store.Expiry{At: 20, Kind: store.ExpiryCSW, BusinessID: "b1", UserID: "x"})
	}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		checkPairs(t, when, db, "a", "b", "e", "g", "h")
		var ats []int64
		var after []string
		if err := db.View(t.Context(), func(r store.ReadTx) error {
			if _, err := r.Pair("b1", "c"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: deleted pair c: %v, want ErrNotFound", when, err)
			}
			if err := r.Pairs("b1", "b", func(p *storagev1.Pair) error {
				after = append(after, p.GetUserId())
				return nil
			}); err != nil {
				return err
			}
			return r.Expiring(15, 60, func(e store.Expiry) error {
				ats = append(ats, e.At)
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{"e", "g", "h"}, after); d != "" {
			t.Errorf("%s: Pairs after b (-want +got):\n%s", when, d)
		}
		if d := cmp.Diff([]int64{20, 50}, ats); d != "" {
			t.Errorf("%s: Expiring [15, 60) (-want +got):\n%s", when, d)
		}
	}
	check("from the overlay")
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	check("from the B-tree")
}

// TestCachedPairIsCurrent reads a pair with PairView (so the cache holds it), overwrites it, commits the
// B-tree, and reads it again: each read sees the latest write.
func TestCachedPairIsCurrent(t *testing.T) {
	db := openTemp(t, store.Options{CommitInterval: time.Hour, PairCache: 16})
	region := func() string {
		t.Helper()
		var got string
		if err := db.View(t.Context(), func(r store.ReadTx) error {
			p, err := r.PairView("b1", "u1")
			if err != nil {
				return err
			}
			if q, err := r.Pair("b1", "u1"); err != nil || q.GetRegion() != p.GetRegion() {
				t.Errorf("Pair = %v, %v; PairView = %v", q, err, p)
			}
			got = p.GetRegion()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	put := func(region string) {
		t.Helper()
		if err := db.Update(t.Context(), func(tx store.Tx) error {
			return tx.PutPair(&storagev1.Pair{BusinessId: "b1", UserId: "u1", Region: region})
		}); err != nil {
			t.Fatal(err)
		}
	}
	put("IN")
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"BR", "US", "MX"} {
		if got := region(); i > 0 && got == want {
			t.Fatalf("precondition: already %s", want)
		}
		region() // from the B-tree or the cache
		put(want)
		if got := region(); got != want {
			t.Errorf("before the commit: region %q, want %q", got, want)
		}
		if err := db.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := region(); got != want {
			t.Errorf("after the commit: region %q, want %q", got, want)
		}
	}
}

// TestUpdateScansSeeEverything scans inside an Update: the B-tree's pairs, the memtable's
// (an earlier Update not yet flushed) and the Update's own writes, deletions hidden.
func TestUpdateScansSeeEverything(t *testing.T) {
	db := openTemp(t, noTreeCommit)
	putPairs(t, db, "a", "d")
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	putPairs(t, db, "b", "e")
	var got []string
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		got = nil
		for _, err := range []error{
			tx.PutPair(&storagev1.Pair{BusinessId: "b1", UserId: "c"}),
			tx.DeletePair("b1", "d"),
			tx.DeletePair("b1", "e"),
			tx.PutPair(&storagev1.Pair{BusinessId: "b1", UserId: "e"}), // deleted, then written again
		} {
			if err != nil {
				return err
			}
		}
		return tx.Pairs("", "", func(p *storagev1.Pair) error {
			got = append(got, p.GetUserId())
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a", "b", "c", "e"}, got); d != "" {
		t.Errorf("Pairs inside the Update (-want +got):\n%s", d)
	}
	checkPairs(t, "after the Update", db, "a", "b", "c", "e")
}

// TestFlushesUnderLoad runs writers, readers and frequent flushes that grow the file (so
// bbolt remaps it, which waits for every open transaction) together, and checks that every
// acknowledged write is visible to a View right after, and that nothing deadlocks.
func TestFlushesUnderLoad(t *testing.T) {
	for _, c := range []struct {
		name string
		opts store.Options
	}{
		{"one transaction a flush", store.Options{MaxPending: 50}},
		{"7 writes a transaction", store.WithFlushTx(store.Options{MaxPending: 50}, 7, nil)},
	} {
		t.Run(c.name, func(t *testing.T) { flushUnderLoad(t, c.opts) })
	}
}

func flushUnderLoad(t *testing.T, opts store.Options) {
	db := openTemp(t, opts)
	const writers, perWriter = 4, 300
	big := make([]int64, 200) // ~1.6 KB a pair: the file grows, and bbolt remaps it
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				user := fmt.Sprintf("w%d-%04d", w, i)
				if err := db.Update(t.Context(), func(tx store.Tx) error {
					return tx.PutPair(&storagev1.Pair{BusinessId: "b1", UserId: user, Activity: big})
				}); err != nil {
					t.Error(err)
					return
				}
				if err := db.View(t.Context(), func(r store.ReadTx) error {
					_, err := r.Pair("b1", user)
					return err
				}); err != nil {
					t.Errorf("pair %s right after its Update: %v", user, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(pairUsers(t, db)); n != writers*perWriter {
		t.Errorf("%d pairs, want %d", n, writers*perWriter)
	}
	if st := db.Stats(); st.Flushes < 10 {
		t.Errorf("only %d flushes: the test did not exercise them", st.Flushes)
	}
}

// corruptRecord flips a byte inside the n-th record (0-based) of a log file written by
// putPairs with one-letter users (every record the same length).
func corruptRecord(t *testing.T, log string, n int) {
	t.Helper()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	size := int(binary.LittleEndian.Uint32(data)) + 16 // payload length + header
	data[n*size+size-1] ^= 0xff
	if err := os.WriteFile(log, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRecordsOfAnEarlierRunAreNotReplayed: a crash tore the first record but left the next
// two; after the restart, a new first record must not make them replayable.
func TestRecordsOfAnEarlierRunAreNotReplayed(t *testing.T) {
	db := openTemp(t, noTreeCommit)
	putPairs(t, db, "a", "b", "c") // records 1-3, none acknowledged once 1 is torn
	path := crashCopy(t, db)
	corruptRecord(t, store.LogPaths(path)[0], 0)

	second, err := store.Open(path, noTreeCommit)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pairUsers(t, second)); n != 0 {
		t.Fatalf("%d pairs replayed from a log whose first record is torn", n)
	}
	putPairs(t, second, "x") // record 1 again, as long as the torn one
	again := crashCopy(t, second)
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	third := openAt(t, again, store.Options{})
	checkPairs(t, "after the second crash", third, "x")
}

// TestDamagedLogRefused: a record in the middle of the older log file is unreadable while the
// newer file holds later batches. That is damage, not a torn tail: Open refuses rather than
// drop acknowledged writes.
func TestDamagedLogRefused(t *testing.T) {
	db := openTemp(t, noTreeCommit)
	putPairs(t, db, "a", "b", "c") // records 1-3 in the first file
	before := filepath.Join(t.TempDir(), "before.db")
	copyFile(t, db.Path(), before) // the file as the flush below had not reached the disk
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	putPairs(t, db, "d", "e") // records 4-5 in the second file
	copyLogs(t, db.Path(), before)
	corruptRecord(t, store.LogPaths(before)[0], 1)
	_, err := store.Open(before, store.Options{})
	if err == nil || !strings.Contains(err.Error(), "the write-ahead log is damaged: batch 2 cannot be read") {
		t.Fatalf("Open with a damaged log = %v, want a refusal", err)
	}
}

// flushPause holds the next flush it is armed for after that flush's first bbolt transaction,
// until resumed. Arm it only with a store opened with its hook, and call releaseAtEnd after
// opening, so that a failing test does not leave the flusher waiting while the store closes.
type flushPause struct {
	armed  atomic.Bool
	mid    chan struct{}
	resume chan struct{}
	once   sync.Once
}

func newFlushPause() *flushPause {
	return &flushPause{mid: make(chan struct{}), resume: make(chan struct{})}
}

func (p *flushPause) hook(txs int) {
	if txs != 1 || !p.armed.CompareAndSwap(true, false) {
		return
	}
	select {
	case p.mid <- struct{}{}:
	case <-p.resume:
		return
	}
	<-p.resume
}

func (p *flushPause) release() { p.once.Do(func() { close(p.resume) }) }

// releaseAtEnd releases the flusher before the store's own cleanup (Cleanup runs last in,
// first out) closes it.
func (p *flushPause) releaseAtEnd(t *testing.T) { t.Cleanup(p.release) }

// TestCrashBetweenFlushTransactions: a flush split into several bbolt transactions is cut
// off after the first; the file then holds part of the flushed writes under the previous
// log position, and Open must replay the log over them to the full state.
func TestCrashBetweenFlushTransactions(t *testing.T) {
	pause := newFlushPause()
	pause.armed.Store(true)
	db := openTemp(t, store.WithFlushTx(noTreeCommit, 2, pause.hook))
	pause.releaseAtEnd(t)
	putPairs(t, db, "u1")
	writeTestData(t, db) // seven writes in five buckets
	putPairs(t, db, "u2", "u3")
	flushed := make(chan error, 1)
	go func() { flushed <- db.Flush(t.Context()) }()
	<-pause.mid
	if !db.Flushing() {
		t.Error("Flushing() = false between two transactions of a flush: Backup and Check could begin on a partial B-tree")
	}
	path := crashCopy(t, db)
	pause.release()
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if db.Flushing() {
		t.Error("Flushing() = true after the flush returned")
	}
	// Flush waited for the paused flush: the metrics of a file not keeping up count it.
	if st := db.Stats(); st.FlushTime <= 0 || st.FlushWait <= 0 {
		t.Errorf("Stats after a paused flush: FlushTime %v, FlushWait %v; want both counted", st.FlushTime, st.FlushWait)
	}
	checkTestData(t, db)
	checkPairs(t, "after the flush", db, "u1", "u2", "u3")

	crashed := openAt(t, path, store.Options{})
	if got := crashed.Stats().Replayed; got != 4 {
		t.Errorf("Replayed = %d log batches, want 4 (the whole flush)", got)
	}
	checkTestData(t, crashed)
	checkPairs(t, "after replay", crashed, "u1", "u2", "u3")
}

// TestReplayInChunks: Open replays a long log in several transactions, each recording how far
// it got, so that a crash during the replay resumes after the last one instead of starting over.
func TestReplayInChunks(t *testing.T) {
	db := openTemp(t, noTreeCommit)
	putPairs(t, db, "u1")
	writeTestData(t, db) // seven writes in one batch
	putPairs(t, db, "u2", "u3", "u4")
	path := crashCopy(t, db)

	// Two writes a transaction: {u1, the test data}, {u2, u3}, {u4}. Copy the files as a crash
	// after the first would leave them.
	midReplay := filepath.Join(t.TempDir(), "mid-replay.db")
	copied := false
	replayed := openAt(t, path, store.WithFlushTx(store.Options{}, 2, func(txs int) {
		if txs == 1 {
			copyFile(t, path, midReplay)
			copyLogs(t, path, midReplay)
			copied = true
		}
	}))
	if !copied {
		t.Fatal("the replay ran in one transaction")
	}
	if got := replayed.Stats().Replayed; got != 5 {
		t.Errorf("Replayed = %d log batches, want 5", got)
	}
	checkTestData(t, replayed)
	checkPairs(t, "after replay", replayed, "u1", "u2", "u3", "u4")

	resumed := openAt(t, midReplay, store.Options{})
	if got := resumed.Stats().Replayed; got != 3 {
		t.Errorf("after a crash during the replay, Replayed = %d log batches, want 3 (those after the first transaction)", got)
	}
	checkTestData(t, resumed)
	checkPairs(t, "after the resumed replay", resumed, "u1", "u2", "u3", "u4")
}

// TestScansAcrossWindows: scans read the writes bbolt does not hold yet a window at a time.
// Here a range spans several windows of an active memtable, a frozen one whose flush is paused
// after its first transaction (so the B-tree holds part of it), and the B-tree, with updates,
// deletions and new keys interleaved; Views and Updates, from the start and from the middle,
// must see exactly the latest state.
func TestScansAcrossWindows(t *testing.T) {
	pause := newFlushPause()
	db := openTemp(t, store.WithFlushTx(store.Options{CommitInterval: time.Hour, MaxPending: 900}, 300, pause.hook))
	pause.releaseAtEnd(t)
	want := map[string]int64{}
	user := func(i int) string { return fmt.Sprintf("u%05d", i) }
	update := func(fn func(tx store.Tx) error) {
		t.Helper()
		if err := db.Update(t.Context(), fn); err != nil {
			t.Fatal(err)
		}
	}
	put := func(tx store.Tx, u string, v int64) error {
		want[u] = v
		return tx.PutPair(&storagev1.Pair{BusinessId: "b1", UserId: u, Activity: []int64{v}})
	}
	// In the B-tree: 1,500 pairs (even users).
	update(func(tx store.Tx) error {
		for i := range 1500 {
			if err := put(tx, user(2*i), 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The memtable that will be frozen (900 writes: the flush starts after this batch):
	// 500 updates and 400 new users between the old ones.
	pause.armed.Store(true)
	update(func(tx store.Tx) error {
		for i := 0; i < 1500; i += 3 {
			if err := put(tx, user(2*i), 2); err != nil {
				return err
			}
		}
		for i := range 400 {
			if err := put(tx, user(2*i+1), 2); err != nil {
				return err
			}
		}
		return nil
	})
	<-pause.mid // the flusher has committed 300 of those 900 writes
	// The active memtable: 300 deletions and 300 new users.
	update(func(tx store.Tx) error {
		for i := 1; i < 1500; i += 5 {
			delete(want, user(2*i))
			if err := tx.DeletePair("b1", user(2*i)); err != nil {
				return err
			}
		}
		for i := 400; i < 700; i++ {
			if err := put(tx, user(2*i+1), 3); err != nil {
				return err
			}
		}
		return nil
	})

	check := func(when string) {
		t.Helper()
		users := make([]string, 0, len(want))
		for u := range want {
			users = append(users, u)
		}
		slices.Sort(users)
		for _, after := range []string{"", users[len(users)/3]} {
			wantRange := users
			if after != "" {
				wantRange = users[len(users)/3+1:]
			}
			scan := func(r store.ReadTx) ([]string, error) {
				var got []string
				err := r.Pairs("b1", after, func(p *storagev1.Pair) error {
					if v := p.GetActivity()[0]; v != want[p.GetUserId()] {
						return fmt.Errorf("pair %s: activity %d, want %d", p.GetUserId(), v, want[p.GetUserId()])
					}
					got = append(got, p.GetUserId())
					return nil
				})
				return got, err
			}
			var inView, inUpdate []string
			if err := db.View(t.Context(), func(r store.ReadTx) (err error) { inView, err = scan(r); return err }); err != nil {
				t.Fatalf("%s, View from %q: %v", when, after, err)
			}
			update(func(tx store.Tx) (err error) { inUpdate, err = scan(tx); return err })
			if d := cmp.Diff(wantRange, inView); d != "" {
				t.Errorf("%s, View from %q: users (-want +got):\n%s", when, after, d)
			}
			if d := cmp.Diff(wantRange, inUpdate); d != "" {
				t.Errorf("%s, Update from %q: users (-want +got):\n%s", when, after, d)
			}
		}
	}
	check("during a flush")
	pause.release()
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("after the flushes")
}
