package pricing

import (
	"strings"
	"sync/atomic"
)

// numbers memoizes the numbers parseNumber accepts: libphonenumber's parse costs
// about 8 µs (regular expressions), and every fact and decision needs its
// recipient's region. The result depends only on the input, so a cache is safe.
//
// An accepted number has at most 15 digits, so its digits and their count fit in
// 54 bits, and its region ("BR") in 10 more: each entry is one uint64 in an open-
// addressing table, read and written atomically. A lookup costs one cache miss and
// no allocation; sync.Map, which this replaced, walked a hash trie of pointers
// (five cache misses at 100,000 numbers, 2% of a decision's CPU under load) and
// handed out interfaces. The table is not scanned by the collector. Rejected
// numbers are not memoized: they cost the parse each time, and are rare.
var numbers = new(numberTable)

const (
	numberTableBits = 18 // 262,144 entries, 2 MiB
	numberProbes    = 8  // entries a number may occupy, from its hash on (one cache line)
	regionBits      = 10
)

type numberTable [1 << numberTableBits]atomic.Uint64

// numberKey packs digits (1 to 15 ASCII digits) and their count; ok is false for
// anything else, which is not memoized.
func numberKey(digits string) (key uint64, ok bool) {
	if len(digits) == 0 || len(digits) > 15 {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		key = key*10 + uint64(c-'0')
	}
	return key<<4 | uint64(len(digits)), true // the count tells "0044" from "44"
}

// regionIndex numbers the two-letter regions from 1; 0 for any other ("001",
// libphonenumber's region for non-geographic calling codes), which is not memoized.
func regionIndex(region string) uint64 {
	if len(region) != 2 || region[0] < 'A' || region[0] > 'Z' || region[1] < 'A' || region[1] > 'Z' {
		return 0
	}
	return uint64(region[0]-'A')*26 + uint64(region[1]-'A') + 1
}

// regionNames[regionIndex(r)] == r, so that a lookup returns a string without
// allocating one.
var regionNames = func() (names [26*26 + 1]string) {
	for a := byte('A'); a <= 'Z'; a++ {
		for b := byte('A'); b <= 'Z'; b++ {
			r := string([]byte{a, b})
			names[regionIndex(r)] = r
		}
	}
	return names
}()

func (t *numberTable) slot(key uint64) uint64 {
	return (key * 0x9E3779B97F4A7C15) >> (64 - numberTableBits) // Fibonacci hashing
}

// get returns the region memoized for key.
func (t *numberTable) get(key uint64) (string, bool) {
	i := t.slot(key)
	for range numberProbes {
		e := t[i].Load()
		if e == 0 {
			return "", false
		}
		if e>>regionBits == key {
			return regionNames[e&(1<<regionBits-1)], true
		}
		i = (i + 1) & (1<<numberTableBits - 1)
	}
	return "", false
}

// put memoizes region for key in the first free entry from its hash on, or, if
// those are all taken, in place of the one at its hash: entries are never emptied,
// so the other numbers' lookups still find theirs.
func (t *numberTable) put(key uint64, region string) {
	r := regionIndex(region)
	if r == 0 {
		return
	}
	e := key<<regionBits | r
	first := t.slot(key)
	i := first
	for range numberProbes {
		switch old := t[i].Load(); {
		case old>>regionBits == key:
			return // another caller memoized it
		case old == 0 && t[i].CompareAndSwap(0, e):
			return
		}
		i = (i + 1) & (1<<numberTableBits - 1)
	}
	t[first].Store(e)
}

// parseNumber validates s as the digits of an E.164 number (one leading "+"
// tolerated) and returns the bare digits and the region. The error says why
// the number is rejected, without repeating the input.
func parseNumber(s string) (digits, region string, err error) {
	digits = strings.TrimPrefix(s, "+")
	key, ok := numberKey(digits)
	if ok {
		if region, hit := numbers.get(key); hit {
			return digits, region, nil
		}
	}
	digits, region, err = parseNumberUncached(s)
	if err == nil && ok {
		numbers.put(key, region)
	}
	return digits, region, err
}
