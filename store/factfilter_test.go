package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
	"github.com/convstate/convstate/store/storetest"
)

// TestConformanceSmallFactFilter runs the suite with fact filters so small that every
// flush fills the one in use and starts a new build, against small flushes.
func TestConformanceSmallFactFilter(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTemp(t, store.WithFactFilter(store.WithFlushTx(store.Options{MaxPending: 5}, 2, nil), 4, 3))
	})
}

// TestFactFilter checks that the filter never hides a fact the file holds (it only ever
// skips searches for facts the file lacks), through flushes, deletions, the new builds they
// start, and a reopen, and that it does skip them.
func TestFactFilter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convstate.db")
	opts := store.WithFactFilter(store.Options{}, 64, 100) // reopened, the file holds 1,500
	db := openAt(t, path, opts)
	db.WaitFactFilter()
	if !db.FactFilterBuilt() {
		t.Fatal("no fact filter after the first build")
	}
	live := map[string]bool{}
	id := func(i int) string { return fmt.Sprintf("wamid.%07d", i) }
	const rounds, perRound = 6, 300
	for r := range rounds {
		// Each round adds perRound facts and deletes every third of the previous round's,
		// then flushes, which fills the small filter and starts a new build.
		err := db.Update(t.Context(), func(tx store.Tx) error {
			for i := r * perRound; i < (r+1)*perRound; i++ {
				if err := tx.PutFact("b1", id(i), &storagev1.Fact{UserId: id(i)}); err != nil {
					return err
				}
			}
			for i := (r - 1) * perRound; r > 0 && i < r*perRound; i += 3 {
				if err := tx.DeleteFact("b1", id(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := r * perRound; i < (r+1)*perRound; i++ {
			live[id(i)] = true
		}
		for i := (r - 1) * perRound; r > 0 && i < r*perRound; i += 3 {
			delete(live, id(i))
		}
		if err := db.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		db.WaitFactFilter()
		checkFacts(t, db, live, (rounds+1)*perRound, fmt.Sprintf("after round %d", r))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, opts)
	db.WaitFactFilter()
	checkFacts(t, db, live, (rounds+1)*perRound, "after reopening")
}

// checkFacts checks that db finds exactly the live facts among the ids below n, both in a
// View and in an Update (which read through different paths), and that the filter skips
// the search for most of the missing ones.
func checkFacts(t *testing.T, db *store.DB, live map[string]bool, n int, when string) {
	t.Helper()
	found := func(tx store.ReadTx, id string) bool {
		_, err := tx.Fact("b1", id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: Fact(%s): %v", when, id, err)
		}
		return err == nil
	}
	var wrong []string
	check := func(tx store.ReadTx) error {
		for i := range n {
			id := fmt.Sprintf("wamid.%07d", i)
			if found(tx, id) != live[id] {
				wrong = append(wrong, id)
			}
		}
		return nil
	}
	if err := db.View(t.Context(), check); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(t.Context(), func(tx store.Tx) error { return check(tx) }); err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Fatalf("%s: %d lookups wrong, first %s (live: %v)", when, len(wrong), wrong[0], live[wrong[0]])
	}
	skipped, absent := 0, 0
	for i := n; i < 2*n; i++ { // never written
		absent++
		if db.FactFilterAbsent("b1", fmt.Sprintf("wamid.%07d", i)) {
			skipped++
		}
	}
	if skipped < absent*9/10 {
		t.Errorf("%s: the filter skipped the search for %d of %d missing facts, want at least 90%%", when, skipped, absent)
	}
}

// TestFactFilterUnderWrites builds filters while Updates and flushes go on, which is when a
// fact could slip between a build's scan and the filter flushes add to.
func TestFactFilterUnderWrites(t *testing.T) {
	db := openTemp(t, store.WithFactFilter(store.WithFlushTx(store.Options{MaxPending: 50}, 16, nil), 8, 7))
	const writers, each = 4, 400
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("wamid.%d.%04d", w, i)
				err := db.Update(t.Context(), func(tx store.Tx) error {
					return tx.PutFact("b1", id, &storagev1.Fact{UserId: id})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	db.WaitFactFilter()
	err := db.View(t.Context(), func(tx store.ReadTx) error {
		for w := range writers {
			for i := range each {
				id := fmt.Sprintf("wamid.%d.%04d", w, i)
				if _, err := tx.Fact("b1", id); err != nil {
					return fmt.Errorf("Fact(%s): %w", id, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFactFilterBuiltWhilePublishing builds a filter between the two steps by which the log
// writer adds a batch's fact keys to the filters: after the first (which added them to the
// filters of the time) and before the batch reaches the memtable (which the build copies).
// Only the second step puts them in the new filter, and a View, which asks the filter before
// the memtables, must still find the facts, before any flush and after one.
func TestFactFilterBuiltWhilePublishing(t *testing.T) {
	var db *store.DB
	var build atomic.Bool
	opts := store.WithPublishHook(store.WithFactFilter(store.Options{}, 64, 100), func() {
		if build.Swap(false) {
			db.BuildFactFilter()
		}
	})
	db = openTemp(t, opts)
	db.WaitFactFilter()
	ids := []string{"wamid.a", "wamid.b", "wamid.c"}
	build.Store(true)
	err := db.Update(t.Context(), func(tx store.Tx) error {
		for _, id := range ids {
			if err := tx.PutFact("b1", id, &storagev1.Fact{UserId: "u1"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if build.Load() {
		t.Fatal("the log writer published without calling the hook")
	}
	for _, when := range []string{"in the memtable", "flushed"} {
		err := db.View(t.Context(), func(tx store.ReadTx) error {
			for _, id := range ids {
				if _, err := tx.Fact("b1", id); err != nil {
					return fmt.Errorf("%s: Fact(%s): %w", when, id, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFactFilterBuiltOverMemtable builds a filter while facts published before it began are
// still in the active memtable: only the memtable's record of their keys puts them in it.
func TestFactFilterBuiltOverMemtable(t *testing.T) {
	db := openTemp(t, store.WithFactFilter(store.Options{}, 64, 100))
	db.WaitFactFilter()
	ids := []string{"wamid.a", "wamid.b", "wamid.c"}
	for _, id := range ids {
		err := db.Update(t.Context(), func(tx store.Tx) error {
			return tx.PutFact("b1", id, &storagev1.Fact{UserId: "u1"})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	db.BuildFactFilter()
	for _, when := range []string{"in the memtable", "flushed"} {
		for _, id := range ids {
			if db.FactFilterAbsent("b1", id) {
				t.Errorf("%s: the new filter hides %s", when, id)
			}
		}
		if err := db.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}
