package ledger_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/store"
)

// BenchmarkRecordBatch records batches of 1,000 user messages with fresh, wamid-shaped ids
// for random pairs of a store holding 100k of them, from 4 goroutines, as convstate bench's
// batch workload does minus gRPC and validation. Besides the time per batch it reports the
// process's CPU time per fact (cpu-µs/fact), which counts the log writer and the flusher
// too: on a 2-core machine that, not the wall time, is what bounds ingestion.
func BenchmarkRecordBatch(b *testing.B) {
	const batch = 1000
	var seq atomic.Int64
	wamid := func(r *rand.Rand, user string) string {
		id := binary.BigEndian.AppendUint64([]byte(user), r.Uint64())
		id = strconv.AppendInt(id, seq.Add(1), 10)
		return "wamid." + base64.RawURLEncoding.EncodeToString(id)
	}
	now := time.Now()
	at := timestamppb.New(now.Add(-3 * time.Hour))
	fixture := rand.New(rand.NewPCG(1, 1))
	db, l := openBenchLedger(b, store.Options{}, now, at, func(_, j int) string { return wamid(fixture, benchUser(j)) })
	var worker atomic.Uint64
	b.SetParallelism(2) // 4 goroutines on 2 CPUs, as bench's --batch-concurrency
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(worker.Add(1), 2))
		facts := make([]*convstatev1.Fact, batch)
		for pb.Next() {
			for k := range facts {
				user := benchUser(r.IntN(benchUsers))
				facts[k] = userMessage(benchBusiness(r.IntN(benchBusinesses)), user, wamid(r, user), at)
			}
			if err := recordAll(l, facts); err != nil {
				b.Error(err)
				return
			}
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

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
