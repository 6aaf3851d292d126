// Package loadgen is a small closed-loop load generator: a fixed number of workers
// each call a function back to back for a duration, over a few shared gRPC
// connections, and record every call's latency in a histogram. It is what
// `convstate bench` drives the server with; it costs the client side as little as a
// gRPC client can, so that on a small machine most of the CPU goes to the server.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
)

// Worker is what a worker's call function may use: its index, its connection
// (workers are spread round robin over Config.Conns) and its own random source.
type Worker struct {
	ID   int
	Conn grpc.ClientConnInterface
	Rand *rand.Rand
}

// Call makes one call. It is only ever called by one goroutine at a time.
type Call func(ctx context.Context) error

// Config describes a run.
type Config struct {
	// Name labels the progress reports.
	Name string
	// Conns are the connections the workers share (at least one).
	Conns []grpc.ClientConnInterface
	// Concurrency is the number of workers, each with one call in flight (default 1).
	Concurrency int
	// Duration is how long calls are started for, after the warm-up.
	Duration time.Duration
	// Warmup runs the same load first without recording it (connections, HTTP/2
	// windows, caches and the heap settle).
	Warmup time.Duration
	// NewCall returns worker w's call function; it runs once per worker, before the
	// warm-up.
	NewCall func(w *Worker) Call
	// Progress, if set, is called about every ProgressEvery (default 1 s) while the
	// measured part runs, from one goroutine.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Progress is a snapshot of a running measurement.
type Progress struct {
	Name    string
	Elapsed time.Duration
	Calls   uint64 // completed, successful or not
	Errors  uint64
}

// Rate returns calls per second so far.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Calls) / p.Elapsed.Seconds()
}

// Result is a run's outcome.
type Result struct {
	Name    string
	Calls   uint64        // completed calls, errors included
	Errors  uint64        // calls that returned an error
	Elapsed time.Duration // from the end of the warm-up to the last call finished
	// Latency holds the latencies of the successful calls.
	Latency *Histogram
	// FirstError is the first error a call returned, for the report.
	FirstError error
	// CPU is the CPU time (user + system) the whole process used while measuring,
	// whatever else runs in it (0 where it is not measured). CPU/Elapsed below
	// GOMAXPROCS on a CPU-bound load means something else took the CPUs.
	CPU time.Duration
}

// Add adds o, a run of the same load at another time, to r: calls, errors, measured time,
// CPU time and latencies are summed.
func (r *Result) Add(o *Result) {
	r.Calls += o.Calls
	r.Errors += o.Errors
	r.Elapsed += o.Elapsed
	r.CPU += o.CPU
	r.Latency.Merge(o.Latency)
	if r.FirstError == nil {
		r.FirstError = o.FirstError
	}
}

// CPUPerCall returns the process's CPU time per completed call.
func (r *Result) CPUPerCall() time.Duration {
	if r.Calls == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Calls)
}

// Throughput returns successful calls per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Calls-r.Errors) / r.Elapsed.Seconds()
}

// P50 and P99 return latency percentiles of the successful calls.
func (r *Result) P50() time.Duration { return r.Latency.Quantile(0.50) }
func (r *Result) P99() time.Duration { return r.Latency.Quantile(0.99) }

// Run runs the load described by c. Every call that completes after the warm-up is
// counted, and calls in flight when the duration ends are let finish (and counted),
// so stopping causes no errors. If ctx ends first, the calls
// are cancelled and Run returns ctx's error.
func Run(ctx context.Context, c Config) (*Result, error) {
	if len(c.Conns) == 0 || c.NewCall == nil {
		return nil, errors.New("loadgen: Conns and NewCall are required")
	}
	n := max(c.Concurrency, 1)
	every := c.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	calls := make([]Call, n)
	for i := range calls {
		calls[i] = c.NewCall(&Worker{ID: i, Conn: c.Conns[i%len(c.Conns)], Rand: rand.New(rand.NewPCG(uint64(i)+1, 0x10ad9e))})
	}

	// phase: 0 warm-up, 1 measuring, 2 stopped. Workers read it before each call.
	var (
		phase          atomic.Int32
		started, ended atomic.Int64 // ns since epoch: the measured window
		callsN, errsN  atomic.Uint64
		firstErr       error
		errOnce        sync.Once
	)
	hists := make([]*Histogram, n)
	var wg sync.WaitGroup
	for i := range n {
		h := new(Histogram)
		hists[i] = h
		call := calls[i]
		wg.Go(func() {
			for {
				p := phase.Load()
				if p == 2 || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := call(ctx)
				if p == 0 && phase.Load() == 0 {
					continue // warm-up
				}
				if err != nil && ctx.Err() != nil {
					return // cancelled by the caller, not a failure of the call
				}
				d := time.Since(t0)
				if err != nil {
					errsN.Add(1)
					errOnce.Do(func() { firstErr = err })
				} else {
					h.Record(d)
				}
				callsN.Add(1)
				ended.Store(time.Now().UnixNano())
			}
		})
	}

	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	wait := func(d time.Duration) bool { // false when ctx ended
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	if c.Warmup > 0 && !wait(c.Warmup) {
		<-stopped
		return nil, ctx.Err()
	}
	// What completes from here on is measured, including calls started in the
	// warm-up (so that even calls longer than the duration give a result).
	cpu0 := processCPU()
	start := time.Now()
	started.Store(start.UnixNano())
	phase.Store(1)
	deadline := start.Add(c.Duration)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for cancelled := false; !cancelled; {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
		case now := <-tick.C:
			if c.Progress != nil {
				c.Progress(Progress{Name: c.Name, Elapsed: now.Sub(start), Calls: callsN.Load(), Errors: errsN.Load()})
			}
		case <-ctx.Done():
			cancelled = true
		}
		t.Stop()
	}
	phase.Store(2)
	<-stopped
	cpu := processCPU() - cpu0
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	r := &Result{Name: c.Name, Calls: callsN.Load(), Errors: errsN.Load(), Latency: new(Histogram), FirstError: firstErr, CPU: cpu}
	for _, h := range hists {
		r.Latency.Merge(h)
	}
	if e := ended.Load(); e > 0 {
		r.Elapsed = time.Duration(e - started.Load())
	}
	return r, nil
}

// Dial opens n plaintext connections to target ("host:port") with gRPC's defaults and
// nothing else (no retries, no interceptors): the cost of a bare client. Each is
// connected before Dial returns, so no run pays for connecting.
func Dial(ctx context.Context, target string, n int) ([]*grpc.ClientConn, error) {
	conns := make([]*grpc.ClientConn, 0, n)
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	for range max(n, 1) {
		cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			closeAll()
			return nil, err
		}
		conns = append(conns, cc)
		cc.Connect()
		if err := waitReady(ctx, cc); err != nil {
			closeAll()
			return nil, fmt.Errorf("loadgen: connecting to %s: %w", target, err)
		}
	}
	return conns, nil
}

// waitReady waits until cc is READY; a connection that fails to connect keeps
// retrying, so the caller's ctx (or a 10 s cap) bounds the wait.
func waitReady(ctx context.Context, cc *grpc.ClientConn) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		s := cc.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if !cc.WaitForStateChange(ctx, s) {
			return fmt.Errorf("still %s: %w", s, ctx.Err())
		}
	}
}
