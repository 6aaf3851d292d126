package pricing

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestNumberCache checks that a memoized number gives what parsing it gives, the
// first time and the next, for every shape of input: numbers of shared calling
// codes, Kazakh numbers under +7, a "+" prefix, leading zeros, non-geographic
// codes (not memoized) and rejected numbers (not memoized).
func TestNumberCache(t *testing.T) {
	for _, in := range []string{
		"5511987654321", "+5511987654321", "14155550123", "16135550123", "18095550123",
		"77012345678", "79161234567", "76012345678", "447911123456", "4915112345678",
		"919876543210", "971501234567", "263771234567", "80012345678", "+80012345678",
		"05511987654321", "0", "1", "999123", "+", "", "55 11 98765", "1234567890123456",
		"882345678901", "12025550123",
	} {
		wantDigits, wantRegion, wantErr := parseNumberUncached(in)
		for _, pass := range []string{"first", "memoized"} {
			digits, region, err := parseNumber(in)
			if digits != wantDigits || region != wantRegion || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Errorf("%s parse of %q = %q, %q, %v; want %q, %q, %v", pass, in, digits, region, err, wantDigits, wantRegion, wantErr)
			}
		}
	}
}

// TestNumberTableFull fills the entries one hash may use and more: a later
// number takes the first entry's place, and no lookup ever returns another
// number's region.
func TestNumberTableFull(t *testing.T) {
	tab := new(numberTable)
	var keys []uint64 // keys that share one hash slot
	for k := uint64(1); len(keys) < numberProbes+2; k++ {
		if tab.slot(k) == tab.slot(1) {
			keys = append(keys, k)
		}
	}
	regions := []string{"BR", "US", "IN", "KZ", "RU", "DE", "GB", "AE", "ZW", "CA"}
	for i, k := range keys {
		tab.put(k, regions[i])
	}
	hits := 0
	for i, k := range keys {
		r, ok := tab.get(k)
		if ok && r != regions[i] {
			t.Errorf("key %d: region %q, want %q", i, r, regions[i])
		}
		if ok {
			hits++
		}
	}
	if last, ok := tab.get(keys[len(keys)-1]); !ok || last != regions[len(keys)-1] {
		t.Errorf("the latest number is not memoized: %q, %v", last, ok)
	}
	if hits != numberProbes { // the first entry was taken twice
		t.Errorf("%d of %d numbers memoized, want %d", hits, len(keys), numberProbes)
	}
	// libphonenumber's "001" (non-geographic codes) is not memoized.
	tab.put(keys[len(keys)-1]+1, "001")
	if r, ok := tab.get(keys[len(keys)-1] + 1); ok {
		t.Errorf("non-geographic region memoized as %q", r)
	}
}

// TestNumberCacheConcurrent parses numbers from many goroutines at once (run with
// -race): every answer matches the parse's.
func TestNumberCacheConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type want struct{ in, digits, region string }
	var ws []want
	for range 2000 {
		in := fmt.Sprintf("%s%08d", []string{"55119", "1415", "4479", "7701", "91987"}[rng.IntN(5)], rng.IntN(1e8))
		d, r, err := parseNumberUncached(in)
		if err != nil {
			continue
		}
		ws = append(ws, want{in, d, r})
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 4 * len(ws) {
				w := ws[(i*7+g*131)%len(ws)]
				if d, r, err := parseNumber(w.in); err != nil || d != w.digits || r != w.region {
					t.Errorf("parseNumber(%q) = %q, %q, %v; want %q, %q", w.in, d, r, err, w.digits, w.region)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkParseNumber looks up 100,000 memoized numbers at random from all CPUs,
// as decisions and facts do.
func BenchmarkParseNumber(b *testing.B) {
	ins := make([]string, 100_000)
	for i := range ins {
		ins[i] = fmt.Sprintf("55119%08d", i*997%100_000_000)
		if _, _, err := parseNumber(ins[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			if _, _, err := parseNumber(ins[rng.IntN(len(ins))]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
