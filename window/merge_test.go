package window

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMerge(t *testing.T) {
	conv := Conversation{Category: 1, Start: 10, End: 20, Rules: "2022-02"}
	for _, tc := range []struct {
		name string
		p, o Pair
		want Pair
	}{{
		name: "into an empty clock",
		o:    Pair{Activity: []int64{1, 5}, Closures: []int64{3}, EntryPoints: []EntryPoint{{At: 1, Kind: 1, Used: true}}, FEPWindows: []Interval{{2, 9}}, Conversations: []Conversation{conv}},
		want: Pair{Activity: []int64{1, 5}, Closures: []int64{3}, EntryPoints: []EntryPoint{{At: 1, Kind: 1, Used: true}}, FEPWindows: []Interval{{2, 9}}, Conversations: []Conversation{conv}},
	}, {
		name: "interleaved and shared history",
		p:    Pair{Activity: []int64{2, 6}, Closures: []int64{4}, EntryPoints: []EntryPoint{{At: 1, Kind: 1}}, FEPWindows: []Interval{{2, 9}}, Conversations: []Conversation{conv}},
		o:    Pair{Activity: []int64{1, 6, 7}, Closures: []int64{3, 4}, EntryPoints: []EntryPoint{{At: 1, Kind: 1, Used: true}, {At: 5, Kind: 2}}, FEPWindows: []Interval{{2, 9}, {20, 30}}, Conversations: []Conversation{conv}},
		want: Pair{Activity: []int64{1, 2, 6, 7}, Closures: []int64{3, 4}, EntryPoints: []EntryPoint{{At: 1, Kind: 1, Used: true}, {At: 5, Kind: 2}}, FEPWindows: []Interval{{2, 9}, {20, 30}}, Conversations: []Conversation{conv}},
	}, {
		name: "the newest kept within the bounds",
		p:    Pair{Activity: seq(100, MaxActivity)},
		o:    Pair{Activity: seq(0, 10)},
		want: Pair{Activity: seq(100, MaxActivity)},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			before := cmp.Diff(Pair{}, o)
			tc.p.Merge(&o)
			if d := cmp.Diff(tc.want, tc.p); d != "" {
				t.Errorf("merged (-want +got):\n%s", d)
			}
			if after := cmp.Diff(Pair{}, o); after != before {
				t.Errorf("the merged-in clock changed")
			}
		})
	}
}

func seq(from int64, n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = from + int64(i)
	}
	return s
}
