package store

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"
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

// BenchmarkMemtableSorted sorts a flush's worth of keys shaped like production's, as the
// flusher does (sorted), and with a plain comparison sort for reference: fact keys
// (business\x00wamid.<base64 of the user's number and a random part>) and pair keys
// (business\x00user, 100 businesses × 100,000 users).
func BenchmarkMemtableSorted(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	business := func() string { return strconv.Itoa(105_550_000_000_000 + r.IntN(100)) }
	user := func() string { return strconv.Itoa(919_800_000_000 + r.IntN(100_000)) }
	for _, c := range []struct {
		bucket []byte
		key    func(i int) string
	}{
		{bucketFacts, func(i int) string {
			u := user()
			id := strconv.AppendInt(binary.BigEndian.AppendUint64([]byte(u), r.Uint64()), int64(i), 10)
			return business() + "\x00wamid." + base64.RawURLEncoding.EncodeToString(id)
		}},
		{bucketPairs, func(int) string { return business() + "\x00" + user() }},
	} {
		m := newMemtable(nil)
		var ops []op
		for i := range 50_000 {
			ops = append(ops, op{bucket: bucketIndex(c.bucket), key: []byte(c.key(i)), val: make([]byte, 40)})
		}
		m.apply(ops)
		b.Run(string(c.bucket), func(b *testing.B) {
			for b.Loop() {
				m.sorted(bucketIndex(c.bucket))
			}
		})
		b.Run(string(c.bucket)+"/plain", func(b *testing.B) {
			for b.Loop() {
				es := make([]entry, 0, len(ops))
				for _, e := range m.buckets[bucketIndex(c.bucket)] {
					es = append(es, e)
				}
				slices.SortFunc(es, func(x, y entry) int { return bytes.Compare(x.key, y.key) })
			}
		})
	}
}
