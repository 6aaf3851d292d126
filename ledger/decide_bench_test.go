package ledger_test

import (
	"context"
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
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	_, l := openBenchLedger(b, opts, now, timestamppb.New(now.Add(-3*time.Hour)), func(i, j int) string {
		return "wamid." + benchBusiness(i) + "." + benchUser(j)
	})
	qs := make([]ledger.Question, 4096)
	for k := range qs {
		qs[k] = ledger.Question{Business: benchBusiness(k * 7 % benchBusinesses), User: benchUser(k * 13 % benchUsers), Margin: -1}
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
