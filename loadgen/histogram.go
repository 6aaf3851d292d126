package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets, as HdrHistogram does: values
// below 2^subBits ns are exact, and every power of two above is split into 2^subBits
// equal buckets, so a reported percentile is within 1/2^subBits (0.8%) of the
// recorded value. It holds durations up to 2^maxBits ns (about 4.6 min); longer ones
// count in the last bucket. The zero value is ready to use; it is not safe for
// concurrent use (give each goroutine its own and Merge them).
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	sum      uint64
	min, max uint64
}

const (
	subBits    = 7
	subCount   = 1 << subBits
	maxBits    = 38
	numBuckets = (maxBits - subBits + 1) * subCount
)

// bucketOf returns the index of v's bucket. Index i < 2*subCount is v itself; above,
// the bucket's top subBits+1 bits of v are the low part of the index and the shift
// that dropped the rest is the high part, so indexes increase with v.
func bucketOf(v uint64) int {
	if v < 2*subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	i := shift*subCount + int(v>>shift)
	return min(i, numBuckets-1)
}

// bucketRange returns the smallest value of bucket i and the bucket's width.
func bucketRange(i int) (low, width uint64) {
	if i < 2*subCount {
		return uint64(i), 1
	}
	shift := i/subCount - 1
	m := uint64(i%subCount + subCount)
	return m << shift, 1 << shift
}

// Record adds one duration (negative counts as 0).
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	h.max = max(h.max, v)
	h.n++
	h.sum += v
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count returns the number of recorded durations.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest recorded duration (exact).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the mean of the recorded durations (exact).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Quantile returns the duration at or below which a fraction q (0..1) of the recorded
// durations lie: the middle of the bucket holding the ceil(q·n)-th smallest, clamped
// to the recorded min and max (the max for the last bucket, which also holds the
// durations beyond the range). 0 when nothing is recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(max(0, min(q, 1)) * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			if i == numBuckets-1 { // also holds everything beyond the range
				return time.Duration(h.max)
			}
			low, width := bucketRange(i)
			return time.Duration(min(max(low+(width-1)/2, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
