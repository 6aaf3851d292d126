package ledger_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/store"
)

// BenchmarkRecordBatch records batches of 1,000 user messages with fresh, wamid-shaped ids
// for random pairs of a store holding 100k of them, from 4 goroutines, as convstate bench's
// batch workload does minus gRPC and validation. Besides the time per batch it reports the
// process's CPU time per fact (cpu-µs/fact), which counts the log writer and the flusher
// too: on a 2-core machine that, not the wall time, is what bounds ingestion.
func BenchmarkRecordBatch(b *testing.B) {
	const businesses, users, batch = 100, 1000, 1000
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now()
	l := ledger.New(db, ledger.Config{Now: func() time.Time { return now }})
	bid := func(i int) string { return strconv.Itoa(105_550_000_000_000 + i) }
	uid := func(j int) string { return strconv.Itoa(919_800_000_000 + j) }
	at := timestamppb.New(now.Add(-3 * time.Hour))
	var seq atomic.Int64
	wamid := func(r *rand.Rand, user string) string {
		id := binary.BigEndian.AppendUint64([]byte(user), r.Uint64())
		id = strconv.AppendInt(id, seq.Add(1), 10)
		return "wamid." + base64.RawURLEncoding.EncodeToString(id)
	}
	record := func(facts []*convstatev1.Fact) {
		res, err := l.Record(context.Background(), facts)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if e := r.GetError(); e != nil {
				b.Fatal(e)
			}
		}
	}
	fixture := rand.New(rand.NewPCG(1, 1))
	for i := range businesses {
		facts := make([]*convstatev1.Fact, users)
		for j := range users {
			facts[j] = userMessage(bid(i), uid(j), wamid(fixture, uid(j)), at)
		}
		record(facts)
	}
	if err := db.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	var worker atomic.Uint64
	b.SetParallelism(2) // 4 goroutines on 2 CPUs, as bench's --batch-concurrency
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(worker.Add(1), 2))
		facts := make([]*convstatev1.Fact, batch)
		for pb.Next() {
			for k := range facts {
				i, j := r.IntN(businesses), r.IntN(users)
				facts[k] = userMessage(bid(i), uid(j), wamid(r, uid(j)), at)
			}
			record(facts)
		}
	})
	// What is still to be flushed is part of the cost.
	if err := db.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*batch), "cpu-µs/fact")
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "facts/s")
}

func userMessage(business, user, id string, at *timestamppb.Timestamp) *convstatev1.Fact {
	return &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
		BusinessId: business, UserId: user, MessageId: id, Timestamp: at,
	}}}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
