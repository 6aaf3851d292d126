package window

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReleaseFEP(t *testing.T) {
	used := func(at int64) EntryPoint { return EntryPoint{At: at, Kind: 1, Used: true} }
	free := func(at int64) EntryPoint { return EntryPoint{At: at, Kind: 1} }
	for _, tc := range []struct {
		name    string
		p       Pair
		w       Interval
		want    Pair
		removed bool
	}{{
		name:    "the latest window gives back the entry points after the one before it",
		p:       Pair{EntryPoints: []EntryPoint{used(1), used(5), used(8)}, FEPWindows: []Interval{{2, 100}, {9, 109}}},
		w:       Interval{9, 109},
		want:    Pair{EntryPoints: []EntryPoint{used(1), free(5), free(8)}, FEPWindows: []Interval{{2, 100}}},
		removed: true,
	}, {
		name:    "a window before another gives back its own; the later one's stay",
		p:       Pair{EntryPoints: []EntryPoint{used(1), used(150)}, FEPWindows: []Interval{{2, 100}, {200, 300}}},
		w:       Interval{2, 100},
		want:    Pair{EntryPoints: []EntryPoint{free(1), used(150)}, FEPWindows: []Interval{{200, 300}}},
		removed: true,
	}, {
		name: "a window whose entry points the clock no longer keeps stays",
		p:    Pair{EntryPoints: []EntryPoint{used(FEPEligibility + 50)}, FEPWindows: []Interval{{10, 110}}},
		w:    Interval{10, 110},
		want: Pair{EntryPoints: []EntryPoint{used(FEPEligibility + 50)}, FEPWindows: []Interval{{10, 110}}},
	}, {
		name: "a window that is not there",
		p:    Pair{EntryPoints: []EntryPoint{used(1)}, FEPWindows: []Interval{{3, 103}}},
		w:    Interval{2, 102},
		want: Pair{EntryPoints: []EntryPoint{used(1)}, FEPWindows: []Interval{{3, 103}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.ReleaseFEP(tc.w); got != tc.removed {
				t.Errorf("ReleaseFEP = %v, want %v", got, tc.removed)
			}
			if d := cmp.Diff(tc.want, tc.p); d != "" {
				t.Errorf("after (-want +got):\n%s", d)
			}
		})
	}
}
