package ledger

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestStampsMatchTs: the shared allocator gives what timestamppb.New gives, for times on
// both sides of the epoch and across several of its buffers.
func TestStampsMatchTs(t *testing.T) {
	var st stamps
	for _, n := range []int64{0, 1, -1, 999_999_999, 1e9, -1e9, -1e9 - 1, 1_751_536_800_123_456_789, math.MaxInt64, math.MinInt64 + 1, 7, 8, 9, 10} {
		got, want := st.ts(n), ts(n)
		if !proto.Equal(got, want) {
			t.Errorf("stamps.ts(%d) = %v, want %v", n, got, want)
		}
	}
	first := st.ts(42)
	for range 20 { // fill several buffers: earlier stamps must not move or change
		st.ts(1)
	}
	if first.GetSeconds() != 0 || first.GetNanos() != 42 {
		t.Errorf("a stamp changed when later ones were allocated: %v", first)
	}
}
