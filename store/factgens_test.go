package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
	"github.com/convstate/convstate/store/storetest"
)

// TestConformanceFactGenerations runs the suite with generations of three facts, so that
// its facts are spread over several, with small flushes and without group commit.
func TestConformanceFactGenerations(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTemp(t, store.WithFlushTx(store.Options{MaxPending: 5, FactGeneration: 3}, 2, nil))
	})
}

func TestConformanceFactGenerationsNoGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTemp(t, store.Options{NoGroupCommit: true, FactGeneration: 3})
	})
}

func factID(i int) string { return fmt.Sprintf("wamid.%07d", i) }

// putFacts writes the facts ids[i] with user id mark in one Update, and returns an error if
// fail (after writing them).
func putFacts(t *testing.T, db *store.DB, from, to, step int, mark string, fail bool) error {
	t.Helper()
	return db.Update(t.Context(), func(tx store.Tx) error {
		for i := from; i < to; i += step {
			if err := tx.PutFact("b1", factID(i), &storagev1.Fact{UserId: mark}); err != nil {
				return err
			}
		}
		if fail {
			return errFailed
		}
		return nil
	})
}

var errFailed = errors.New("failed on purpose")

// wantFacts checks that db holds exactly want (message id → user id) among the ids below n:
// looked up in a View and in an Update (different paths), and scanned in key order.
func wantFacts(t *testing.T, db *store.DB, want map[string]string, n int, when string) {
	t.Helper()
	got := map[string]string{}
	lookups := func(tx store.ReadTx) error {
		clear(got)
		for i := range n {
			f, err := tx.Fact("b1", factID(i))
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			default:
				got[factID(i)] = f.GetUserId()
			}
		}
		return nil
	}
	if err := db.View(t.Context(), lookups); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s: facts looked up in a View (-want +got):\n%s", when, diff)
	}
	if err := db.Update(t.Context(), func(tx store.Tx) error { return lookups(tx) }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%s: facts looked up in an Update (-want +got):\n%s", when, diff)
	}
	scanned := scanFacts(t, db)
	var inOrder []string
	for i := range n {
		if m, ok := want[factID(i)]; ok {
			inOrder = append(inOrder, factID(i)+"="+m)
		}
	}
	if diff := cmp.Diff(inOrder, scanned); diff != "" {
		t.Fatalf("%s: facts scanned (-want +got):\n%s", when, diff)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("%s: %v", when, err)
	}
}

// scanFacts returns db's facts as "message id=user id", in scan order.
func scanFacts(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	err := db.View(t.Context(), func(tx store.ReadTx) error {
		return tx.Facts("", "", func(_, id string, f *storagev1.Fact) error {
			out = append(out, id+"="+f.GetUserId())
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantGenerations(t *testing.T, db *store.DB, want int, when string) {
	t.Helper()
	if got := db.Stats().FactGenerations; got != want {
		t.Errorf("%s: %d fact generations, want %d", when, got, want)
	}
}

// TestFactGenerations follows facts through their generations: new facts fill one generation
// after another, rewritten ones stay where they are, a reopen reads the sealed generations'
// filters, and deleting every fact of a sealed generation drops it.
func TestFactGenerations(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts store.Options
	}{
		{"group commit", store.Options{FactGeneration: 50}},
		{"flushes in small transactions", store.WithFlushTx(store.Options{FactGeneration: 50, MaxPending: 64}, 7, nil)},
		{"no group commit", store.Options{FactGeneration: 50, NoGroupCommit: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "convstate.db")
			db := openAt(t, path, tc.opts)
			const n = 600
			want := map[string]string{}
			for r := range 6 { // ids in key order: each generation takes the next 50
				if err := putFacts(t, db, r*100, (r+1)*100, 1, "v1", false); err != nil {
					t.Fatal(err)
				}
				if err := db.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			for i := range n {
				want[factID(i)] = "v1"
			}
			wantGenerations(t, db, n/50, "after 600 facts")
			wantFacts(t, db, want, 2*n, "after 600 facts")

			// Statuses rewrite facts of every generation: each stays in its own.
			if err := putFacts(t, db, 0, n, 7, "v2", false); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i += 7 {
				want[factID(i)] = "v2"
			}
			wantFacts(t, db, want, 2*n, "after rewrites")
			wantGenerations(t, db, n/50, "after rewrites")

			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openAt(t, path, tc.opts)
			if got := db.FactGenerationsScanned(); got != 1 {
				t.Errorf("reopened, Open scanned %d generations, want 1 (the current one)", got)
			}
			wantGenerations(t, db, n/50, "reopened")
			wantFacts(t, db, want, 2*n, "reopened")

			// Deleting facts 0–299 empties generations 0–5: all but 0, the facts bucket, go.
			err := db.Update(t.Context(), func(tx store.Tx) error {
				for i := range n / 2 {
					if err := tx.DeleteFact("b1", factID(i)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for i := range n / 2 {
				delete(want, factID(i))
			}
			if err := db.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			wantGenerations(t, db, n/50-5, "after deleting the first half")
			wantFacts(t, db, want, 2*n, "after deleting the first half")

			// A deleted fact recorded again is new: it goes to the current generation, which
			// is full, so it is sealed and a new one begins.
			if err := putFacts(t, db, 0, 10, 1, "v3", false); err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				want[factID(i)] = "v3"
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openAt(t, path, tc.opts)
			wantGenerations(t, db, n/50-5+1, "reopened after deletions")
			wantFacts(t, db, want, 2*n, "reopened after deletions")

			// Deleting every fact empties the current generation too, filled first: it is
			// kept until the next new fact seals it, and then dropped.
			if err := putFacts(t, db, 1000, 1040, 1, "v1", false); err != nil {
				t.Fatal(err)
			}
			for i := 1000; i < 1040; i++ {
				want[factID(i)] = "v1"
			}
			wantGenerations(t, db, n/50-5+1, "with the current generation full")
			err = db.Update(t.Context(), func(tx store.Tx) error {
				for id := range want {
					if err := tx.DeleteFact("b1", id); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			clear(want)
			if err := db.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			wantGenerations(t, db, 2, "after deleting every fact") // 0, and the current one
			wantFacts(t, db, want, 2*n, "after deleting every fact")
			if err := putFacts(t, db, 1100, 1101, 1, "v1", false); err != nil {
				t.Fatal(err)
			}
			want[factID(1100)] = "v1"
			if err := db.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			wantGenerations(t, db, 2, "after a new fact in an empty store")
			wantFacts(t, db, want, 2*n, "after a new fact in an empty store")
		})
	}
}

// TestFactGenerationsOfAnOlderFile opens a file of format 2, whose facts are all in one
// bucket: it is generation 0 as it is, sealed by the first new fact.
func TestFactGenerationsOfAnOlderFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convstate.db")
	db := openAt(t, path, store.Options{}) // 300 facts take one generation of the default size
	if err := putFacts(t, db, 0, 300, 1, "v1", false); err != nil {
		t.Fatal(err)
	}
	if err := db.SetFormatVersion(2); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	opts := store.Options{FactGeneration: 100}
	db = openAt(t, path, opts)
	want := map[string]string{}
	for i := range 300 {
		want[factID(i)] = "v1"
	}
	wantGenerations(t, db, 1, "opened")
	wantFacts(t, db, want, 400, "opened")
	if err := putFacts(t, db, 300, 310, 1, "v1", false); err != nil {
		t.Fatal(err)
	}
	if err := putFacts(t, db, 0, 300, 30, "v2", false); err != nil { // rewrites stay in generation 0
		t.Fatal(err)
	}
	for i := range 310 {
		want[factID(i)] = "v1"
	}
	for i := 0; i < 300; i += 30 {
		want[factID(i)] = "v2"
	}
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantGenerations(t, db, 2, "after new facts")
	wantFacts(t, db, want, 400, "after new facts")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, opts)
	wantGenerations(t, db, 2, "reopened")
	wantFacts(t, db, want, 400, "reopened")
}

// TestFactGenerationsRolledBack: without group commit an Update is a bbolt transaction, and
// one that fails is rolled back after it may have sealed generations or emptied one. What it
// did to the generations in memory must not make a later write or lookup miss a fact.
func TestFactGenerationsRolledBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convstate.db")
	opts := store.Options{NoGroupCommit: true, FactGeneration: 4}
	db := openAt(t, path, opts)
	want := map[string]string{}
	for i := range 8 { // generations 0 and 1, full
		if err := putFacts(t, db, i, i+1, 1, "v1", false); err != nil {
			t.Fatal(err)
		}
		want[factID(i)] = "v1"
	}
	// Seals generation 1 and fills two more, which the file never gets: generation 1 is still
	// the file's current one, though in memory it is sealed.
	if err := putFacts(t, db, 100, 110, 1, "lost", true); !errors.Is(err, errFailed) {
		t.Fatalf("failing Update: %v", err)
	}
	wantFacts(t, db, want, 200, "after a failed Update that sealed generations")
	wantGenerations(t, db, 2, "after a failed Update that sealed generations")
	for i := 8; i < 14; i++ { // generation 1 is sealed again; 2 and 3 take these
		if err := putFacts(t, db, i, i+1, 1, "v1", false); err != nil {
			t.Fatal(err)
		}
		want[factID(i)] = "v1"
	}
	wantFacts(t, db, want, 200, "after later Updates")
	// Empties generation 1, which is dropped in memory but not in the file.
	err := db.Update(t.Context(), func(tx store.Tx) error {
		for i := 4; i < 8; i++ {
			if err := tx.DeleteFact("b1", factID(i)); err != nil {
				return err
			}
		}
		return errFailed
	})
	if !errors.Is(err, errFailed) {
		t.Fatalf("failing Update: %v", err)
	}
	wantFacts(t, db, want, 200, "after a failed Update that emptied a generation")
	wantGenerations(t, db, 4, "after a failed Update that emptied a generation")
	if err := putFacts(t, db, 0, 14, 3, "v2", false); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 14; i += 3 {
		want[factID(i)] = "v2"
	}
	wantFacts(t, db, want, 200, "after rewrites")
	wantGenerations(t, db, 4, "after rewrites")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, opts)
	wantFacts(t, db, want, 200, "reopened")
}

// TestFactGenerationTimesRolledBack: without group commit, an Update that counted a fact in
// its generation and failed must leave the counts as the file has them: otherwise the next
// Update's counts, written to the file, would count a fact that is not there, and the
// generation would look old for good.
func TestFactGenerationTimesRolledBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convstate.db")
	opts := store.Options{NoGroupCommit: true, FactGeneration: 4}
	db := openAt(t, path, opts)
	day := int64(24 * time.Hour)
	put := func(id string, ts int64, fail bool) error {
		return db.Update(t.Context(), func(tx store.Tx) error {
			if err := tx.PutFact("b1", id, &storagev1.Fact{Timestamp: ts}); err != nil {
				return err
			}
			if fail {
				return errFailed
			}
			return nil
		})
	}
	if err := put("lost", 5*day, true); !errors.Is(err, errFailed) {
		t.Fatalf("failing Update: %v", err)
	}
	if err := put("kept", 10*day, false); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, opts)
	for cutoff, want := range map[int64][]string{8 * day: nil, 11 * day: {"kept"}} {
		var got []string
		err := db.View(t.Context(), func(tx store.ReadTx) error {
			return tx.OldFacts(cutoff, "", "", func(_, id string, _ *storagev1.Fact) error {
				got = append(got, id)
				return nil
			})
		})
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("reopened, OldFacts(day %d) = %q, %v; want %q", cutoff/day, got, err, want)
		}
	}
}

// TestOldFactsInAViewThatPredatesADeletion: without group commit there is no overlay, and a
// View's transaction keeps a fact that an Update deletes or makes young meanwhile. The
// generation's oldest time, raised by that commit, must not make the View's OldFacts skip
// what its Facts returns.
func TestOldFactsInAViewThatPredatesADeletion(t *testing.T) {
	day := int64(24 * time.Hour)
	for _, change := range []string{"delete", "rewrite young"} {
		t.Run(change, func(t *testing.T) {
			db := openTemp(t, store.Options{NoGroupCommit: true, FactGeneration: 50})
			err := db.Update(t.Context(), func(tx store.Tx) error {
				if err := tx.PutFact("b1", "old", &storagev1.Fact{Timestamp: 1 * day}); err != nil {
					return err
				}
				return tx.PutFact("b1", "young", &storagev1.Fact{Timestamp: 100 * day})
			})
			if err != nil {
				t.Fatal(err)
			}
			began, changed := make(chan struct{}), make(chan error)
			go func() {
				<-began
				changed <- db.Update(t.Context(), func(tx store.Tx) error {
					if change == "delete" {
						return tx.DeleteFact("b1", "old")
					}
					return tx.PutFact("b1", "old", &storagev1.Fact{Timestamp: 100 * day})
				})
			}()
			var all, old []string
			err = db.View(t.Context(), func(tx store.ReadTx) error {
				close(began)
				if err := <-changed; err != nil { // committed while this View is open
					return err
				}
				err := tx.Facts("", "", func(_, id string, f *storagev1.Fact) error {
					if f.GetTimestamp() < 50*day {
						all = append(all, id)
					}
					return nil
				})
				if err != nil {
					return err
				}
				return tx.OldFacts(50*day, "", "", func(_, id string, f *storagev1.Fact) error {
					if f.GetTimestamp() < 50*day {
						old = append(old, id)
					}
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(all, []string{"old"}) || !slices.Equal(old, all) {
				t.Errorf("in one View: Facts has old facts %q, OldFacts(day 50) %q; want [old] from both", all, old)
			}
			var after []string
			err = db.View(t.Context(), func(tx store.ReadTx) error {
				return tx.OldFacts(50*day, "", "", func(_, id string, _ *storagev1.Fact) error {
					after = append(after, id)
					return nil
				})
			})
			if err != nil || len(after) != 0 {
				t.Errorf("a View after the change: OldFacts(day 50) read %q, %v; want nothing (the generation is young)", after, err)
			}
		})
	}
}

// TestOldFactsSeesItsOwnWrites: without group commit, a write in an Update is in the file at
// once, and a scan of old facts in the same Update that skipped the write's generation must
// read it once the write has lowered that generation's oldest time (Facts would find it).
func TestOldFactsSeesItsOwnWrites(t *testing.T) {
	db := openTemp(t, store.Options{NoGroupCommit: true, FactGeneration: 3})
	day := int64(24 * time.Hour)
	err := db.Update(t.Context(), func(tx store.Tx) error {
		for i, d := range []int64{1, 1, 1, 100} { // generation 0: m1–m3, full; 1: m4
			if err := tx.PutFact("b1", fmt.Sprint("m", i+1), &storagev1.Fact{Timestamp: d * day}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = db.Update(t.Context(), func(tx store.Tx) error {
		return tx.OldFacts(50*day, "", "", func(_, id string, f *storagev1.Fact) error {
			if f.GetTimestamp() < 50*day {
				got = append(got, id)
			}
			if id == "m1" { // m9 goes to generation 1, which the scan skipped
				return tx.PutFact("b1", "m9", &storagev1.Fact{Timestamp: 5 * day})
			}
			return nil
		})
	})
	if want := []string{"m1", "m2", "m3", "m9"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("OldFacts(day 50) writing m9 at day 5 = %q, %v; want %q", got, err, want)
	}
}

// TestCrashMidFlushAcrossGenerations: a flush that rewrites facts in sealed generations and
// seals new ones is cut off after its first transaction. The file then holds part of it under
// the previous log position; Open replays the log over that part, through the generations,
// and must end with every fact once, in the generation that holds it.
func TestCrashMidFlushAcrossGenerations(t *testing.T) {
	pause := newFlushPause()
	opts := store.WithFlushTx(store.Options{CommitInterval: time.Hour, FactGeneration: 10}, 25, pause.hook)
	db := openTemp(t, opts)
	pause.releaseAtEnd(t)
	want := map[string]string{}
	if err := putFacts(t, db, 0, 60, 1, "v1", false); err != nil { // generations 0–5
		t.Fatal(err)
	}
	if err := db.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	pause.armed.Store(true)
	if err := putFacts(t, db, 0, 60, 5, "v2", false); err != nil { // rewrites in every generation
		t.Fatal(err)
	}
	if err := putFacts(t, db, 100, 160, 1, "v1", false); err != nil { // six more generations
		t.Fatal(err)
	}
	for i := range 60 {
		want[factID(i)], want[factID(100+i)] = "v1", "v1"
	}
	for i := 0; i < 60; i += 5 {
		want[factID(i)] = "v2"
	}
	flushed := make(chan error, 1)
	go func() { flushed <- db.Flush(t.Context()) }()
	<-pause.mid
	path := crashCopy(t, db)
	pause.release()
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	wantFacts(t, db, want, 200, "after the flush")
	wantGenerations(t, db, 12, "after the flush")

	crashed := openAt(t, path, store.Options{FactGeneration: 10})
	if crashed.Stats().Replayed == 0 {
		t.Fatal("nothing replayed: the crash copy holds the whole flush")
	}
	wantFacts(t, crashed, want, 200, "after the replay")
	wantGenerations(t, crashed, 12, "after the replay")
}

// TestFreshFactsUnderChurn runs Updates as the ledger writes facts (look the id up, put it if
// absent, so that the put is marked fresh and its flush skips the search of older
// generations) from several goroutines, with deletions and puts again in the same Update,
// Updates that fail, garbage-collection deletions and blind rewrites, while fact filters are
// rebuilt over and over and tiny generations are sealed and dropped. A fact marked fresh
// wrongly would end up in two generations, which Check reports.
func TestFreshFactsUnderChurn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "convstate.db")
	opts := store.WithFactFilter(store.WithFlushTx(store.Options{FactGeneration: 5, MaxPending: 25, MaxBatch: 8}, 4, nil), 8, 3)
	db := openAt(t, path, opts)
	const keys, writers, updates = 600, 4, 500
	id := func(i int) string { return fmt.Sprintf("wamid.%04d", i) }
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range updates {
				op, k := r.IntN(10), r.IntN(keys)
				err := db.Update(t.Context(), func(tx store.Tx) error {
					switch {
					case op < 5: // look up, put if absent; sometimes delete and put again; sometimes fail
						for j := range 1 + r.IntN(3) {
							m := id((k + 7*j) % keys)
							if _, err := tx.Fact("b1", m); !errors.Is(err, store.ErrNotFound) {
								if err != nil {
									return err
								}
								continue
							}
							if err := tx.PutFact("b1", m, &storagev1.Fact{UserId: "new"}); err != nil {
								return err
							}
							if r.IntN(4) == 0 {
								if err := tx.DeleteFact("b1", m); err != nil {
									return err
								}
								if err := tx.PutFact("b1", m, &storagev1.Fact{UserId: "again"}); err != nil {
									return err
								}
							}
						}
						if r.IntN(8) == 0 {
							return errFailed
						}
					case op < 8: // garbage collection
						for j := range 1 + r.IntN(6) {
							if err := tx.DeleteFact("b1", id((k+j)%keys)); err != nil {
								return err
							}
						}
					default: // a status rewriting the fact, if any
						return tx.PutFact("b1", id(k), &storagev1.Fact{UserId: "status"})
					}
					return nil
				})
				if err != nil && !errors.Is(err, errFailed) {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			db.BuildFactFilter()
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if db.FreshFactsPut() == 0 {
		t.Fatal("no fact was put fresh: the test does not exercise what it is for")
	}
	t.Logf("%d facts put fresh, %d generations", db.FreshFactsPut(), db.Stats().FactGenerations)
	before := scanFacts(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, opts)
	after := scanFacts(t, db)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("facts after reopening (-before +after):\n%s", diff)
	}
}

// TestOldFactsSkipsYoungGenerations: each generation counts its facts by time bucket, and
// OldFacts, garbage collection's scan, reads only the generations with a fact in a bucket that
// begins before its cutoff. The counts survive a reopen, follow a rewrite to an older time and
// its deletion (a late fact makes its generation old only until it is deleted), a file of
// format 3 gets them at Open, and Check catches counts that are wrong.
func TestOldFactsSkipsYoungGenerations(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts store.Options
	}{
		{"group commit", store.Options{FactGeneration: 50}},
		{"no group commit", store.Options{FactGeneration: 50, NoGroupCommit: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "convstate.db")
			db := openAt(t, path, tc.opts)
			if got := db.Stats().FactGenerationsCounted; got != 0 {
				t.Errorf("a new file: Stats().FactGenerationsCounted = %d, want 0", got)
			}
			// Fact i is at at(i): 50 facts a time bucket, so generation g is bucket g.
			at := func(i int) int64 { return int64(i) * (1 << 42) / 50 }
			if store.TimeBucket(at(50)) != 1 || store.TimeBucket(at(99)) != 1 {
				t.Fatal("at(i) does not put 50 facts in a time bucket")
			}
			update := func(fn func(tx store.Tx) error) {
				t.Helper()
				if err := db.Update(t.Context(), fn); err != nil {
					t.Fatal(err)
				}
				if err := db.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			put := func(i int, ts int64) func(tx store.Tx) error {
				return func(tx store.Tx) error {
					return tx.PutFact("b1", factID(i), &storagev1.Fact{UserId: "u", Timestamp: ts})
				}
			}
			for i := range 600 {
				update(put(i, at(i)))
			}
			// The facts OldFacts reads, and how many of them are before the cutoff.
			read := func(cutoff int64) (n, old int) {
				t.Helper()
				err := db.View(t.Context(), func(tx store.ReadTx) error {
					return tx.OldFacts(cutoff, "", "", func(_, _ string, f *storagev1.Fact) error {
						n++
						if f.GetTimestamp() < cutoff {
							old++
						}
						return nil
					})
				})
				if err != nil {
					t.Fatal(err)
				}
				return n, old
			}
			want := func(when string, cutoff int64, wantN, wantOld int) {
				t.Helper()
				if n, old := read(cutoff); n != wantN || old != wantOld {
					t.Errorf("%s: OldFacts(%d) read %d facts, %d of them old; want %d, %d", when, cutoff, n, old, wantN, wantOld)
				}
				if err := db.Check(); err != nil {
					t.Errorf("%s: %v", when, err)
				}
			}
			want("after 600 facts", at(120), 150, 120) // generations 0–2
			want("after 600 facts", 0, 0, 0)
			want("after 600 facts", at(1000), 600, 600)

			update(put(590, at(5))) // a rewrite to an older time: generation 11 now reaches back to 5
			want("after a rewrite to an older time", at(120), 200, 121)
			update(put(590, at(590))) // and back
			want("after a rewrite back", at(120), 150, 120)
			update(put(590, at(5)))

			// reopen closes and opens the file, which Open reads scanned generations of, counted of
			// them for their counts by time.
			reopen := func(when string, scanned, counted int) {
				t.Helper()
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				db = openAt(t, path, tc.opts)
				if got := db.FactGenerationsScanned(); got != scanned {
					t.Errorf("%s: Open scanned %d generations, want %d", when, got, scanned)
				}
				if got := db.Stats().FactGenerationsCounted; got != counted {
					t.Errorf("%s: Stats().FactGenerationsCounted = %d, want %d", when, got, counted)
				}
				want(when, at(120), 200, 121)
			}
			reopen("reopened", 1, 0) // the current generation, for its filter

			// A file of format 3 has no counts: Open reads every generation for them.
			if err := db.ForgetFactGenerationTimes(); err != nil {
				t.Fatal(err)
			}
			reopen("a file of format 3 reopened", 12, 12)

			// Garbage collection deletes the late fact: generation 11 is young again.
			update(func(tx store.Tx) error { return tx.DeleteFact("b1", factID(590)) })
			want("after deleting the late fact", at(120), 150, 120)

			if err := db.SetFactGenerationTimes(3, map[int64]int64{3: 49}); err != nil { // it holds 50
				t.Fatal(err)
			}
			if err := db.Check(); err == nil || !strings.Contains(err.Error(), "fact generation 3 holds facts by time bucket map[3:50], its counts in the file say map[3:49]") {
				t.Errorf("Check of a generation whose counts are wrong: %v", err)
			}
			if err := db.SetFactGenerationTimes(3, map[int64]int64{3: 50}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
