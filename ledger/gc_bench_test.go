package ledger_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/store"
)

// BenchmarkCollectGarbage runs garbage collection passes over a store of 100k pairs and 1M
// facts (four fact generations), none of them old enough to collect: what a pass costs when it
// finds nothing to do. The fact generations' counts by time let it skip every fact, so what
// it examines (examined/op) is the pairs; before them it read all 1.1M records.
func BenchmarkCollectGarbage(b *testing.B) {
	const perPair = 10
	now := time.Now()
	at := timestamppb.New(now.Add(-3 * time.Hour))
	db, l := openBenchLedger(b, store.Options{}, now, at, func(i, j int) string { return "wamid.0." + strconv.Itoa(i) + "." + strconv.Itoa(j) })
	facts := make([]*convstatev1.Fact, benchUsers)
	for k := 1; k < perPair; k++ {
		for i := range benchBusinesses {
			for j := range facts {
				facts[j] = userMessage(benchBusiness(i), benchUser(j), "wamid."+strconv.Itoa(k)+"."+strconv.Itoa(i)+"."+strconv.Itoa(j), at)
			}
			if err := recordAll(l, facts); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := db.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	var examined int64
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		st, err := l.CollectGarbage(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if st.Facts != 0 || st.Pairs != 0 {
			b.Fatalf("collected %+v", st)
		}
		examined += st.Examined
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(examined), "cpu-ns/examined")
	b.ReportMetric(float64(examined)/float64(b.N), "examined/op")
}
