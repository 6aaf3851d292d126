package store

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSortKeyed checks the abbreviated sort against a plain one on keys built to hit its
// edge cases: a long shared prefix, keys that are prefixes of others, ties within the 8-byte
// abbreviation, NUL and 0xff bytes (which the zero padding must not confuse), and repeats.
func TestSortKeyed(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{0, 1, 'a', 'b', 0xfe, 0xff}
	gen := map[string]func(n int) [][]byte{
		"shared prefix, random tails": func(n int) [][]byte {
			var ks [][]byte
			for range n {
				k := []byte("106540352242922\x00wamid.")
				for range r.IntN(20) {
					k = append(k, alphabet[r.IntN(len(alphabet))])
				}
				ks = append(ks, k)
			}
			return ks
		},
		"prefixes of each other": func(n int) [][]byte {
			base := bytes.Repeat([]byte{'x', 0}, 20)
			var ks [][]byte
			for range n {
				ks = append(ks, base[:r.IntN(len(base)+1)])
			}
			return ks
		},
		"no shared prefix": func(n int) [][]byte {
			var ks [][]byte
			for range n {
				k := make([]byte, r.IntN(12))
				for i := range k {
					k[i] = alphabet[r.IntN(len(alphabet))]
				}
				ks = append(ks, k)
			}
			return ks
		},
	}
	for name, g := range gen {
		for _, n := range []int{0, 1, 63, 64, 65, 1000} {
			ks := g(n)
			want := slices.Clone(ks)
			slices.SortFunc(want, bytes.Compare)
			got := sortKeyed(slices.Clone(ks), func(k []byte) []byte { return k })
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s, %d keys: (-want +got)\n%s", name, n, diff)
			}
		}
	}
}
