package ledger_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/store"
)

// BenchmarkDecide answers decisions for random pairs of a store holding 100k of
// them (100 businesses × 1000 Indian numbers), alternately for a free-form
// message and a marketing template, as convstate bench's decide workload does
// minus gRPC, without and with the decoded pair cache (serve's --pair-cache). Its
// allocations are what each Decide call adds to the collector.
func BenchmarkDecide(b *testing.B) {
	for _, c := range []struct {
		name  string
		cache int
	}{{"no-cache", 0}, {"pair-cache", 200_000}} {
		b.Run(c.name, func(b *testing.B) { benchDecide(b, store.Options{PairCache: c.cache}) })
	}
}

func benchDecide(b *testing.B, opts store.Options) {
	const businesses, users = 100, 1000
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	l := ledger.New(db, ledger.Config{Now: func() time.Time { return now }})
	bid := func(i int) string { return strconv.Itoa(105_550_000_000_000 + i) }
	uid := func(j int) string { return strconv.Itoa(919_800_000_000 + j) }
	at := timestamppb.New(now.Add(-3 * time.Hour))
	for i := range businesses {
		facts := make([]*convstatev1.Fact, users)
		for j := range users {
			facts[j] = &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
				BusinessId: bid(i), UserId: uid(j), MessageId: "wamid." + bid(i) + "." + uid(j), Timestamp: at,
			}}}
		}
		res, err := l.Record(context.Background(), facts)
		if err != nil {
			b.Fatal(err)
		}
		if res[0].GetError() != nil {
			b.Fatal(res[0].GetError())
		}
	}
	// Move the fixture into the B-tree first, so that no flush runs (and allocates)
	// while the decisions are timed.
	if err := db.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	qs := make([]ledger.Question, 4096)
	for k := range qs {
		qs[k] = ledger.Question{Business: bid(k * 7 % businesses), User: uid(k * 13 % users), Margin: -1}
		if k%2 == 1 {
			qs[k].Template = convstatev1.TemplateCategory_TEMPLATE_CATEGORY_MARKETING
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for k := 0; b.Loop(); k++ {
		resp, err := l.Decide(ctx, qs[k%len(qs)])
		if err != nil {
			b.Fatal(err)
		}
		if k%2 == 0 && !resp.GetFreeFormAllowed() {
			b.Fatalf("decision %d: %v, want free-form allowed (a user message 3 hours ago)", k, resp)
		}
	}
}
