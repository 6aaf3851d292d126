package store_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
)

func openBench(b *testing.B, opts store.Options) *store.DB {
	b.Helper()
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// benchPair is a pair record of realistic size: a few activity times, a window, a conversation.
func benchPair(businessID, userID string, i int) *storagev1.Pair {
	t := int64(1_750_000_000_000_000_000 + i*1_000_000)
	return &storagev1.Pair{
		BusinessId: businessID, UserId: userID, UserPhone: "9198" + userID, Region: "IN",
		Activity:      []int64{t - 7_200e9, t - 3_600e9, t},
		FepWindows:    []*storagev1.Interval{{Start: t, End: t + 259_200e9}},
		Conversations: []*storagev1.Conversation{{Category: 3, Start: t, End: t + 86_400e9, PricingType: 1, Rules: "2023-06-01"}},
		CswIndexed:    t + 86_400e9,
		LastFact:      t,
	}
}

// BenchmarkPairView reads random pairs of a store holding 100k of them (100 businesses × 1000
// users), from one goroutine and from GOMAXPROCS.
func BenchmarkPairView(b *testing.B) {
	const businesses, users = 100, 1000
	bids, uids := make([]string, businesses), make([]string, users)
	for i := range bids {
		bids[i] = "1555000" + strconv.Itoa(1000+i)
	}
	for i := range uids {
		uids[i] = "91980000" + strconv.Itoa(10000+i)
	}
	db := openBench(b, store.Options{})
	// One transaction for the whole fixture: one fsync instead of 100k.
	if err := db.Update(context.Background(), func(tx store.Tx) error {
		for i, bid := range bids {
			for j, uid := range uids {
				if err := tx.PutPair(benchPair(bid, uid, i*users+j)); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	get := func(r *rand.Rand) error {
		bid, uid := bids[r.IntN(businesses)], uids[r.IntN(users)]
		return db.View(context.Background(), func(tx store.ReadTx) error {
			_, err := tx.Pair(bid, uid)
			return err
		})
	}
	b.Run("serial", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			if err := get(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var seed atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 2))
			for pb.Next() {
				if err := get(r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkUpdateGroupCommit: about 64 concurrent writers, each Update recording a fact and
// adding to a counter, as ingestion does.
func BenchmarkUpdateGroupCommit(b *testing.B) { benchUpdates(b, store.Options{}) }

// BenchmarkUpdateFsyncEach is the same load with one fsync'd transaction per Update.
func BenchmarkUpdateFsyncEach(b *testing.B) { benchUpdates(b, store.Options{NoGroupCommit: true}) }

func benchUpdates(b *testing.B, opts store.Options) {
	const writers = 64
	db := openBench(b, opts)
	fact := &storagev1.Fact{
		UserId: "919800012345", Timestamp: 1_750_000_000_000_000_000,
		Kind: &storagev1.Fact_Outbound{Outbound: &storagev1.Outbound{
			Template: 2, UserPhone: "919800012345", InWindow: true, WindowExpiresAt: 1_750_086_400_000_000_000,
			Charge: &storagev1.Charge{AmountNanos: 107_000_000, Currency: "INR", Market: "IN", Category: 2, PricingType: 1, Month: "2025-07"},
		}},
	}
	markets := []string{"IN", "BR", "ID", "US"}
	var seq atomic.Uint64
	before := db.Stats()
	b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			msg := "wamid." + strconv.FormatUint(n, 10)
			counter := store.CounterKey{Kind: "tier", ID: "p1", Month: "2025-07", Market: markets[n%uint64(len(markets))], Category: 2}
			if err := db.Update(context.Background(), func(tx store.Tx) error {
				if err := tx.PutFact("15550001000", msg, fact); err != nil {
					return err
				}
				_, err := tx.AddCounter(counter, 1)
				return err
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	st := db.Stats()
	updates, commits := st.Updates-before.Updates, st.Commits-before.Commits
	b.ReportMetric(float64(updates)/float64(max(commits, 1)), "updates/commit")
	b.ReportMetric(float64(updates)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkScanChunk is one chunk of a garbage collection pass (an Update reading the next
// 2,000 facts) while the memtable holds 100,000 facts not yet flushed to the B-tree, as it
// does under write load, from the start of the facts and from their middle.
func BenchmarkScanChunk(b *testing.B) {
	const facts, chunk = 100_000, 2000
	db := openBench(b, store.Options{CommitInterval: time.Hour, MaxPending: 1 << 30})
	fact := &storagev1.Fact{UserId: "919800012345", Timestamp: 1_750_000_000_000_000_000}
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, facts)
	for i := 0; i < facts; i += 1000 {
		if err := db.Update(context.Background(), func(tx store.Tx) error {
			for j := i; j < i+1000; j++ {
				ids[j] = "wamid." + strconv.FormatUint(r.Uint64(), 36)
				if err := tx.PutFact("15550001000", ids[j], fact); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(ids)
	for _, c := range []struct {
		name  string
		after string
	}{{"start", ""}, {"middle", ids[facts/2]}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				n := 0
				errFull := errors.New("chunk full")
				err := db.Update(context.Background(), func(tx store.Tx) error {
					return tx.Facts("15550001000", c.after, func(string, string, *storagev1.Fact) error {
						if n++; n == chunk {
							return errFull
						}
						return nil
					})
				})
				if !errors.Is(err, errFull) {
					b.Fatalf("scan: %v after %d facts", err, n)
				}
			}
		})
	}
}

// BenchmarkFactAcrossGenerations looks facts up in a store whose 131,072 facts fill 1, 16 or
// 128 generations (FactGeneration 131,072, 8,192 or 1,024), in a View: the newest
// generation's, the oldest's (which probes every newer generation's filter first), and
// absent ones (which the fact filter answers). What a generation costs a lookup of an older
// fact is the difference between oldest and newest.
func BenchmarkFactAcrossGenerations(b *testing.B) {
	const facts = 1 << 17
	id := func(i int) string { return "wamid.HBgM" + strconv.Itoa(1_000_000+i) }
	for _, gens := range []int{1, 16, 128} {
		b.Run("generations="+strconv.Itoa(gens), func(b *testing.B) {
			db := openBench(b, store.Options{FactGeneration: facts / gens})
			for from := 0; from < facts; from += 8192 {
				if err := db.Update(context.Background(), func(tx store.Tx) error {
					for i := from; i < from+8192; i++ {
						if err := tx.PutFact("b1", id(i), &storagev1.Fact{UserId: "u", Timestamp: int64(i)}); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				if err := db.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			db.WaitFactFilter()
			if got := db.Stats().FactGenerations; got != gens {
				b.Fatalf("%d generations, want %d", got, gens)
			}
			per := facts / gens
			for _, tc := range []struct {
				name     string
				from, n  int
				wantFind bool
			}{
				{"newest", facts - per, per, true},
				{"oldest", 0, per, true},
				{"absent", facts, facts, false},
			} {
				b.Run(tc.name, func(b *testing.B) {
					r := rand.New(rand.NewPCG(1, 2))
					for b.Loop() {
						m := id(tc.from + r.IntN(tc.n))
						err := db.View(context.Background(), func(tx store.ReadTx) error {
							_, err := tx.Fact("b1", m)
							return err
						})
						if found := err == nil; found != tc.wantFind || err != nil && !errors.Is(err, store.ErrNotFound) {
							b.Fatalf("Fact(%s): %v", m, err)
						}
					}
				})
			}
		})
	}
}
