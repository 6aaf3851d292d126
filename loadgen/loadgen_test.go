package loadgen_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/convstate/convstate/loadgen"
)

func TestRunAgainstHealth(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(lis)
	defer s.Stop()

	conns, err := loadgen.Dial(t.Context(), lis.Addr().String(), 2)
	if err != nil {
		t.Fatal(err)
	}
	ccs := make([]grpc.ClientConnInterface, len(conns))
	for i, c := range conns {
		defer c.Close()
		ccs[i] = c
	}
	var progress atomic.Int32
	var workers atomic.Int32
	r, err := loadgen.Run(t.Context(), loadgen.Config{
		Name: "health", Conns: ccs, Concurrency: 4, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond,
		ProgressEvery: 100 * time.Millisecond,
		Progress:      func(loadgen.Progress) { progress.Add(1) },
		NewCall: func(w *loadgen.Worker) loadgen.Call {
			workers.Add(1)
			hc := healthpb.NewHealthClient(w.Conn)
			req := &healthpb.HealthCheckRequest{}
			n := 0
			return func(ctx context.Context) error {
				n++
				if w.ID == 0 && n%10 == 0 {
					return errors.New("every tenth call of worker 0 fails")
				}
				_, err := hc.Check(ctx, req)
				return err
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if workers.Load() != 4 {
		t.Errorf("NewCall ran %d times, want once per worker", workers.Load())
	}
	if r.Calls == 0 || r.Errors == 0 || r.Errors >= r.Calls || r.FirstError == nil {
		t.Fatalf("calls %d errors %d first error %v: want some calls and some errors", r.Calls, r.Errors, r.FirstError)
	}
	if r.Latency.Count() != r.Calls-r.Errors {
		t.Errorf("%d latencies recorded for %d successful calls", r.Latency.Count(), r.Calls-r.Errors)
	}
	if r.Throughput() <= 0 || r.P50() <= 0 || r.P99() < r.P50() {
		t.Errorf("throughput %.0f p50 %v p99 %v", r.Throughput(), r.P50(), r.P99())
	}
	if r.Elapsed < 300*time.Millisecond {
		t.Errorf("elapsed %v, shorter than the duration", r.Elapsed)
	}
	if runtime.GOOS == "linux" && (r.CPU <= 0 || r.CPUPerCall() <= 0) {
		t.Errorf("CPU %v, %v per call: not measured", r.CPU, r.CPUPerCall())
	}
	if progress.Load() == 0 {
		t.Error("no progress reported")
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := loadgen.Run(ctx, loadgen.Config{
		Conns: []grpc.ClientConnInterface{nil}, Concurrency: 2, Duration: time.Hour,
		NewCall: func(*loadgen.Worker) loadgen.Call {
			return func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}
