package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/store"
)

// The benchmarks' store: 100k pairs, 100 businesses × 1000 Indian numbers.
const benchBusinesses, benchUsers = 100, 1000

func benchBusiness(i int) string { return strconv.Itoa(105_550_000_000_000 + i) }
func benchUser(j int) string     { return strconv.Itoa(919_800_000_000 + j) }

// openBenchLedger opens a store with opts in b.TempDir and a ledger on it whose clock stands at
// now, records one user message at at for each pair (id(i, j) its message id, one Record per
// business) and flushes them into the B-tree, so that no flush of the fixture runs while the
// benchmark is timed.
func openBenchLedger(b *testing.B, opts store.Options, now time.Time, at *timestamppb.Timestamp, id func(i, j int) string) (*store.DB, *ledger.Ledger) {
	b.Helper()
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	l := ledger.New(db, ledger.Config{Now: func() time.Time { return now }})
	facts := make([]*convstatev1.Fact, benchUsers)
	for i := range benchBusinesses {
		for j := range facts {
			facts[j] = userMessage(benchBusiness(i), benchUser(j), id(i, j), at)
		}
		if err := recordAll(l, facts); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	return db, l
}

// recordAll records facts; it fails unless every one of them was recorded. (It returns the
// error rather than failing b: RunParallel's goroutines may not call b.Fatal.)
func recordAll(l *ledger.Ledger, facts []*convstatev1.Fact) error {
	res, err := l.Record(context.Background(), facts)
	if err != nil {
		return err
	}
	for i, r := range res {
		if e := r.GetError(); e != nil {
			return fmt.Errorf("fact %d: %s", i, e.GetMessage())
		}
	}
	return nil
}

func userMessage(business, user, id string, at *timestamppb.Timestamp) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
		BusinessId: business, UserId: user, MessageId: id, Timestamp: at,
	}}}
}
