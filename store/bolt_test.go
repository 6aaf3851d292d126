package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
	"github.com/convstate/convstate/store/storetest"
)

// openTemp opens a store in a fresh directory. At cleanup it runs the consistency check (a
// store the test closed is skipped) and closes the store.
func openTemp(t *testing.T, opts store.Options) *store.DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "convstate.db"), opts)
}

func openAt(t *testing.T, path string, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Check: %v", err)
		}
		if err := db.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t, store.Options{}) })
}

func TestConformanceNoGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t, store.Options{NoGroupCommit: true}) })
}

func TestConformanceMaxBatch1(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t, store.Options{MaxBatch: 1}) })
}

// TestConformanceSmallFlushes flushes after every few writes, each flush in transactions of
// two, so the suite's reads and scans run against B-trees that hold partial flushes.
func TestConformanceSmallFlushes(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTemp(t, store.WithFlushTx(store.Options{MaxPending: 5}, 2, nil))
	})
}

var (
	testPair = &storagev1.Pair{BusinessId: "b1", UserId: "u1", Region: "IN", Activity: []int64{1, 2}, CswIndexed: 500}
	testFact = &storagev1.Fact{UserId: "u1", Timestamp: 7,
		Kind: &storagev1.Fact_Outbound{Outbound: &storagev1.Outbound{Template: 2, Charge: &storagev1.Charge{AmountNanos: 9}}}}
	testBusiness = &storagev1.Business{BusinessId: "b1", TimeZone: "UTC", Currency: "USD"}
	testCounter  = store.CounterKey{Kind: "tier", ID: "p1", Month: "2025-07", Market: "IN", Category: 2}
	testUsageKey = store.UsageKey{Scope: store.ScopePortfolio, ID: "p1", Month: "2025-07", Market: "IN", Category: 2, PricingType: 1}
	testUsage    = &storagev1.Usage{Volume: 3, CostNanos: 30, Currency: "USD"}
)

func writeTestData(t *testing.T, db store.Store) {
	t.Helper()
	if err := db.Update(t.Context(), func(tx store.Tx) error {
		for _, err := range []error{
			tx.PutBusiness(testBusiness), tx.PutPair(testPair), tx.PutFact("b1", "wamid.1", testFact),
			tx.AddExpiry(store.Expiry{At: 500, Kind: store.ExpiryCSW, BusinessID: "b1", UserID: "u1"}),
			tx.AddUsage(testUsageKey, testUsage),
		} {
			if err != nil {
				return err
			}
		}
		_, err := tx.AddCounter(testCounter, 42)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func checkTestData(t *testing.T, db store.Store) {
	t.Helper()
	if err := db.View(t.Context(), func(r store.ReadTx) error {
		b, err := r.Business("b1")
		if err != nil {
			return err
		}
		p, err := r.Pair("b1", "u1")
		if err != nil {
			return err
		}
		f, err := r.Fact("b1", "wamid.1")
		if err != nil {
			return err
		}
		for _, c := range []struct {
			what      string
			want, got any
		}{{"Business", testBusiness, b}, {"Pair", testPair, p}, {"Fact", testFact, f}} {
			if d := cmp.Diff(c.want, c.got, protocmp.Transform()); d != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", c.what, d)
			}
		}
		if n, err := r.Counter(testCounter); n != 42 || err != nil {
			t.Errorf("Counter = %d, %v; want 42", n, err)
		}
		rows := 0
		if err := r.Usage(testUsageKey.Scope, testUsageKey.ID, testUsageKey.Month, func(k store.UsageKey, u *storagev1.Usage) error {
			rows++
			if k != testUsageKey {
				t.Errorf("usage key = %+v, want %+v", k, testUsageKey)
			}
			if d := cmp.Diff(testUsage, u, protocmp.Transform()); d != "" {
				t.Errorf("Usage mismatch (-want +got):\n%s", d)
			}
			return nil
		}); err != nil {
			return err
		}
		if rows != 1 {
			t.Errorf("%d usage rows, want 1", rows)
		}
		var expiring []string
		if err := r.Expiring(0, 1000, func(e store.Expiry) error {
			expiring = append(expiring, fmt.Sprint(e.BusinessID, "/", e.UserID, "@", e.At))
			return nil
		}); err != nil {
			return err
		}
		if d := cmp.Diff([]string{"b1/u1@500"}, expiring); d != "" {
			t.Errorf("Expiring mismatch (-want +got):\n%s", d)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convstate.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeTestData(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, store.Options{})
	checkTestData(t, db)
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("file mode = %v, want 0600", mode)
	}
}

func TestOpenMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	_, err := store.Open(filepath.Join(dir, "convstate.db"), store.Options{})
	if err == nil || !strings.Contains(err.Error(), "directory "+dir+" does not exist") {
		t.Fatalf("Open in a missing directory = %v, want a 'does not exist' error", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created the directory (stat: %v)", err)
	}
}

// TestSecondOpenFailsWhileLocked relies on bbolt's flock being taken on the file description,
// so a second Open in the same process conflicts just as another process would.
func TestSecondOpenFailsWhileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convstate.db")
	db := openAt(t, path, store.Options{})
	start := time.Now()
	db2, err := store.Open(path, store.Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		db2.Close()
		t.Fatal("second Open of a file in use succeeded")
	}
	t.Logf("second Open failed after %v: %v", time.Since(start), err)
	want := "open " + path + ": the database is in use by another process (lock not acquired within 100ms)"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	// The first store is unaffected, and once it is closed the file opens again.
	writeTestData(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	checkTestData(t, openAt(t, path, store.Options{LockTimeout: 100 * time.Millisecond}))
}

func TestBackupOpens(t *testing.T) {
	db := openTemp(t, store.Options{})
	writeTestData(t, db)
	backup := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.OpenFile(backup, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.Backup(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Size() != n {
		t.Fatalf("backup file: %v, %v; Backup reported %d bytes", fi, err, n)
	}
	// The backup is independent of the store it came from.
	if err := db.Update(t.Context(), func(tx store.Tx) error { return tx.DeletePair("b1", "u1") }); err != nil {
		t.Fatal(err)
	}
	restored := openAt(t, backup, store.Options{})
	if err := restored.Check(); err != nil {
		t.Fatalf("Check of the backup: %v", err)
	}
	checkTestData(t, restored)
}

func TestNewerFormatVersionRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convstate.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetFormatVersion(store.FormatVersion + 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(path, store.Options{})
	want := fmt.Sprintf("file format version %d is newer than this build supports (%d)", store.FormatVersion+1, store.FormatVersion)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a newer file = %v, want an error containing the path and %q", err, want)
	}
	// The refused Open released the file.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	openAt(t, path, store.Options{LockTimeout: 100 * time.Millisecond})
}

func TestNULInKeyRejected(t *testing.T) {
	db := openTemp(t, store.Options{})
	writes := map[string]func(store.Tx) error{
		"PutPair": func(tx store.Tx) error { return tx.PutPair(&storagev1.Pair{BusinessId: "b\x00", UserId: "u"}) },
		"PutFact": func(tx store.Tx) error { return tx.PutFact("b", "m\x00", &storagev1.Fact{}) },
		"PutBusiness": func(tx store.Tx) error {
			return tx.PutBusiness(&storagev1.Business{BusinessId: "b\x00x"})
		},
		"DeletePair": func(tx store.Tx) error { return tx.DeletePair("b", "u\x00") },
		"AddCounter": func(tx store.Tx) error {
			_, err := tx.AddCounter(store.CounterKey{Kind: "k", Market: "I\x00N"}, 1)
			return err
		},
		"AddUsage": func(tx store.Tx) error {
			return tx.AddUsage(store.UsageKey{Scope: store.ScopeBusiness, ID: "b\x00"}, &storagev1.Usage{})
		},
		"AddUsage with an unknown scope": func(tx store.Tx) error {
			return tx.AddUsage(store.UsageKey{Scope: 0, ID: "b"}, &storagev1.Usage{})
		},
		"Pair": func(tx store.Tx) error { _, err := tx.Pair("b\x00u", "x"); return err },
		"Usage": func(tx store.Tx) error {
			return tx.Usage(store.ScopeBusiness, "b", "2025-07\x00", func(store.UsageKey, *storagev1.Usage) error { return nil })
		},
	}
	for name, fn := range writes {
		err := db.Update(t.Context(), fn)
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s with a bad key part = %v, want an error", name, err)
		}
	}
}

// blockCommitter starts an Update whose fn waits until release is called, so that Updates
// started meanwhile queue up behind it and go into the next batch together.
func blockCommitter(t *testing.T, db *store.DB) (release func()) {
	t.Helper()
	running, unblock := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := db.Update(context.Background(), func(store.Tx) error {
			close(running)
			<-unblock
			return nil
		}); err != nil {
			t.Errorf("blocking Update: %v", err)
		}
	})
	<-running
	return func() { close(unblock); wg.Wait() }
}

// waitQueued waits until n Updates are queued. It yields instead of sleeping: the goroutines
// it waits for are runnable.
func waitQueued(db *store.DB, n int) {
	for db.Queued() < n {
		runtime.Gosched()
	}
}

func TestGroupCommitBatches(t *testing.T) {
	db := openTemp(t, store.Options{})
	const n = 64
	release := blockCommitter(t, db)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := db.Update(t.Context(), func(tx store.Tx) error {
				_, err := tx.AddCounter(testCounter, 1)
				return err
			}); err != nil {
				t.Errorf("Update %d: %v", i, err)
			}
		})
	}
	waitQueued(db, n)
	release()
	wg.Wait()
	st := db.Stats()
	t.Logf("%+v", st)
	if st.Updates != n+1 || st.Commits >= st.Updates {
		t.Errorf("Stats = %+v; want %d updates in fewer commits", st, n+1)
	}
	if st.Commits > 2 {
		t.Errorf("Commits = %d, want at most 2 (the blocking Update, then everything queued behind it)", st.Commits)
	}
}

func TestMaxBatchCapsBatches(t *testing.T) {
	db := openTemp(t, store.Options{MaxBatch: 1})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if err := db.Update(t.Context(), func(tx store.Tx) error {
				_, err := tx.AddCounter(testCounter, 1)
				return err
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if st := db.Stats(); st.Updates != 16 || st.Commits > st.Updates {
		t.Errorf("Stats = %+v with MaxBatch 1; want 16 updates in at most 16 commits", st)
	}
	if err := db.View(t.Context(), func(r store.ReadTx) error {
		if n, err := r.Counter(testCounter); n != 16 || err != nil {
			t.Errorf("Counter = %d, %v; want 16", n, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestFailingMemberIsDroppedFromBatch(t *testing.T) {
	db := openTemp(t, store.Options{})
	errBoom := errors.New("boom")
	var mu sync.Mutex
	runs := map[string]int{}
	fn := func(name string, fail bool) func(store.Tx) error {
		return func(tx store.Tx) error {
			mu.Lock()
			runs[name]++
			mu.Unlock()
			if _, err := tx.AddCounter(testCounter, 1); err != nil {
				return err
			}
			if err := tx.PutFact("b1", name, &storagev1.Fact{UserId: name}); err != nil {
				return err
			}
			if fail {
				return errBoom
			}
			return nil
		}
	}
	release := blockCommitter(t, db)
	errs := map[string]chan error{"a": make(chan error, 1), "bad": make(chan error, 1), "c": make(chan error, 1)}
	for i, name := range []string{"a", "bad", "c"} {
		go func() { errs[name] <- db.Update(t.Context(), fn(name, name == "bad")) }()
		waitQueued(db, i+1) // queue them in this order
	}
	release()
	if err := <-errs["bad"]; !errors.Is(err, errBoom) {
		t.Errorf("failing Update = %v, want its error", err)
	}
	for _, name := range []string{"a", "c"} {
		if err := <-errs[name]; err != nil {
			t.Errorf("Update %s = %v", name, err)
		}
	}
	// The failed Update is undone in place: nobody runs twice.
	if d := cmp.Diff(map[string]int{"a": 1, "bad": 1, "c": 1}, runs); d != "" {
		t.Errorf("runs of each fn (-want +got):\n%s", d)
	}
	if st := db.Stats(); st.Updates != 3 || st.Commits > 2 {
		t.Errorf("Stats = %+v; want the blocking Update, a and c in at most 2 commits", st)
	}
	if err := db.View(t.Context(), func(r store.ReadTx) error {
		if n, err := r.Counter(testCounter); n != 2 || err != nil {
			t.Errorf("Counter = %d, %v; want 2", n, err)
		}
		if _, err := r.Fact("b1", "bad"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("fact of the failed Update: %v, want ErrNotFound", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCancelledWhileQueuedDoesNotRun(t *testing.T) {
	db := openTemp(t, store.Options{})
	release := blockCommitter(t, db)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	var ran atomic.Bool // written on the committer goroutine, if the store is wrong
	go func() {
		errc <- db.Update(ctx, func(store.Tx) error { ran.Store(true); return nil })
	}()
	waitQueued(db, 1)
	cancel()
	release()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled while queued = %v, want context.Canceled", err)
	}
	if ran.Load() {
		t.Error("fn of an Update cancelled while queued ran")
	}
}

func TestPanicInUpdate(t *testing.T) {
	for _, opts := range []store.Options{{}, {NoGroupCommit: true}} {
		t.Run(fmt.Sprintf("NoGroupCommit=%v", opts.NoGroupCommit), func(t *testing.T) {
			db := openTemp(t, opts)
			err := db.Update(t.Context(), func(tx store.Tx) error {
				if _, err := tx.AddCounter(testCounter, 1); err != nil {
					return err
				}
				panic("kaboom")
			})
			var pe *store.PanicError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "kaboom") || len(pe.Stack) == 0 {
				t.Fatalf("Update with a panicking fn = %v, want a *PanicError mentioning kaboom", err)
			}
			// A panic with an error value unwraps to it.
			errBoom := errors.New("boom")
			if err := db.Update(t.Context(), func(store.Tx) error { panic(errBoom) }); !errors.Is(err, errBoom) {
				t.Errorf("Update panicking with an error = %v, want it to unwrap to that error", err)
			}
			// Nothing of it was kept, and the store still works.
			writeTestData(t, db)
			checkTestData(t, db) // the counter is 42, not 43
		})
	}
}

func TestCloseDrainsQueue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convstate.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	release := blockCommitter(t, db)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Update(t.Context(), func(tx store.Tx) error {
				_, err := tx.AddCounter(testCounter, 1)
				return err
			})
		})
	}
	waitQueued(db, n)
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	release()
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued Update %d: %v", i, err)
		}
	}
	if err := db.Update(t.Context(), func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	if err := db.Check(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Check after Close = %v, want ErrClosed", err)
	}
	db = openAt(t, path, store.Options{})
	if err := db.View(t.Context(), func(r store.ReadTx) error {
		if got, err := r.Counter(testCounter); got != n || err != nil {
			t.Errorf("counter after reopen = %d, %v; want %d", got, err, n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFindsIndexDrift(t *testing.T) {
	db := openTemp(t, store.Options{})
	writeTestData(t, db) // pair b1/u1 expires at 500
	for _, c := range []struct {
		name       string
		at         int64
		user       string
		present    bool
		wantInFail string
	}{
		{"pair without its entry", 500, "u1", false, "records expiry 500 c but the index has no such entry"},
	} {
		if err := db.CheckIndex(); err != nil {
			t.Fatalf("Check of a healthy store: %v", err)
		}
		if err := db.SetExpiryEntry(c.at, "b1", c.user, c.present); err != nil {
			t.Fatal(err)
		}
		if err := db.CheckIndex(); err == nil || !strings.Contains(err.Error(), c.wantInFail) {
			t.Errorf("%s: Check = %v, want an error containing %q", c.name, err, c.wantInFail)
		}
		if err := db.SetExpiryEntry(c.at, "b1", c.user, !c.present); err != nil { // repair
			t.Fatal(err)
		}
	}
}
