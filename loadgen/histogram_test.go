package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// relErr is the histogram's promised bound on a percentile's relative error.
const relErr = 1.0 / subCount

func TestBucketsAreContiguousAndOrdered(t *testing.T) {
	next := uint64(0)
	for i := range numBuckets {
		low, width := bucketRange(i)
		if low != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, low, next)
		}
		for _, v := range []uint64{low, low + width - 1} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		if i >= 2*subCount && float64(width)/float64(low) > relErr {
			t.Fatalf("bucket %d: width %d is more than %.2f%% of %d", i, width, relErr*100, low)
		}
		next = low + width
	}
	if next != 1<<maxBits {
		t.Fatalf("buckets end at %d, want 2^%d", next, maxBits)
	}
	if got := bucketOf(math.MaxUint64); got != numBuckets-1 {
		t.Fatalf("bucketOf(max) = %d, want the last bucket", got)
	}
}

func TestQuantilesSmallValuesExact(t *testing.T) {
	var h Histogram
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v))
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0, 1}, {0.01, 1}, {0.5, 50}, {0.99, 99}, {0.995, 100}, {1, 100}} {
		if got := h.Quantile(c.q); got != c.want {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if h.Count() != 100 || h.Max() != 100 || h.Mean() != 50 {
		t.Errorf("count %d max %v mean %v, want 100, 100ns, 50ns", h.Count(), h.Max(), h.Mean())
	}
}

// TestQuantilesAgainstSorted compares with the exact percentiles of samples spread
// over five decades (log-normal, like latencies).
func TestQuantilesAgainstSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	samples := make([]time.Duration, 200_000)
	for i := range samples {
		d := time.Duration(math.Exp(r.NormFloat64()*1.5 + 13)) // median e^13 ns ≈ 0.44 ms
		samples[i] = d
		h.Record(d)
	}
	slices.Sort(samples)
	for _, q := range []float64{0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1} {
		want := samples[max(int(math.Ceil(q*float64(len(samples))))-1, 0)]
		got := h.Quantile(q)
		if e := math.Abs(float64(got-want)) / float64(want); e > relErr {
			t.Errorf("Quantile(%v) = %v, exact %v: %.3f%% off, more than %.2f%%", q, got, want, e*100, relErr*100)
		}
	}
	if h.Max() != samples[len(samples)-1] {
		t.Errorf("Max = %v, want %v", h.Max(), samples[len(samples)-1])
	}
}

func TestMergeAndEdges(t *testing.T) {
	var a, b, all Histogram
	for v := range 1000 {
		d := time.Duration(v) * time.Microsecond
		all.Record(d)
		if v%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(new(Histogram))
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged Quantile(%v) = %v, want %v", q, m.Quantile(q), all.Quantile(q))
		}
	}
	if m.Count() != 1000 || m.Max() != 999*time.Microsecond || m.Mean() != all.Mean() {
		t.Errorf("merged count %d max %v mean %v", m.Count(), m.Max(), m.Mean())
	}

	var empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 {
		t.Error("an empty histogram reports non-zero")
	}
	var big Histogram
	big.Record(time.Hour) // beyond the range: counted in the last bucket, reported as itself
	big.Record(-time.Second)
	if got := big.Quantile(1); got != time.Hour {
		t.Errorf("Quantile(1) of an out-of-range value = %v, want 1h", got)
	}
	if got := big.Quantile(0.5); got != 0 {
		t.Errorf("a negative duration counts as 0, got %v", got)
	}
}
