package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// sortKeyed returns xs's items in bytes.Compare order of key(x). It may reorder xs itself.
//
// A flush sorts a memtable's entries: tens of thousands of keys with long shared parts (the
// business id, "wamid." and the start of the user's number; a business's pairs share all but
// the user id). A plain comparison sort reads deep into two keys behind two pointers at every
// step, cache misses mostly. This sorts (chunk, index) pairs by the keys' next 8 bytes after
// the prefix all of them share, then each run of equal chunks by the 8 bytes after that, and
// so on: every key is read once per level it needs, and comparisons touch no key at all.
// About three times faster than slices.SortFunc on production-shaped keys
// (BenchmarkMemtableSorted).
func sortKeyed[T any](xs []T, key func(T) []byte) []T {
	if len(xs) < 64 {
		slices.SortFunc(xs, func(a, b T) int { return bytes.Compare(key(a), key(b)) })
		return xs
	}
	first := key(xs[0])
	shared := len(first)
	for _, x := range xs[1:] {
		shared = commonPrefix(first[:shared], key(x))
	}
	cs := make([]chunked, len(xs))
	for i, x := range xs {
		cs[i] = chunked{i: int32(i), n: int32(len(key(x)))}
	}
	sortChunks(cs, shared, func(i int32) []byte { return key(xs[i]) })
	out := make([]T, len(xs))
	for j, c := range cs {
		out[j] = xs[c.i]
	}
	return out
}

// chunked is an item being sorted: 8 bytes of its key, from the depth being sorted on, its
// index and its key's length.
type chunked struct {
	chunk uint64
	i, n  int32
}

// sortChunks sorts cs by their keys, all of which are equal before depth.
func sortChunks(cs []chunked, depth int, key func(int32) []byte) {
	for j := range cs {
		cs[j].chunk = chunk8(key(cs[j].i), depth)
	}
	// A smaller chunk means a smaller key: chunks are the keys' next 8 bytes, zero-padded, and
	// a key that ends first sorts first anyway.
	slices.SortFunc(cs, func(a, b chunked) int { return cmp.Compare(a.chunk, b.chunk) })
	for lo := 0; lo < len(cs); {
		hi := lo + 1
		for hi < len(cs) && cs[hi].chunk == cs[lo].chunk {
			hi++
		}
		short := false // a key ends within these 8 bytes
		for _, c := range cs[lo:hi] {
			short = short || int(c.n) <= depth+8
		}
		switch run := cs[lo:hi]; {
		case len(run) == 1:
		case short:
			// Padding may have made a key that ends here equal to a longer one with zeros
			// (or one of its own repeats): compare these few whole.
			slices.SortFunc(run, func(a, b chunked) int { return bytes.Compare(key(a.i), key(b.i)) })
		default:
			sortChunks(run, depth+8, key)
		}
		lo = hi
	}
}

// chunk8 is the 8 bytes of k from depth on as a big-endian number, zero-padded.
func chunk8(k []byte, depth int) uint64 {
	if len(k) >= depth+8 {
		return binary.BigEndian.Uint64(k[depth:])
	}
	var buf [8]byte
	if depth < len(k) {
		copy(buf[:], k[depth:])
	}
	return binary.BigEndian.Uint64(buf[:])
}

// commonPrefix is the length of the prefix a and b share.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}
