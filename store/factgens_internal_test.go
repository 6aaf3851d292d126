package store

import (
	"encoding/binary"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
)

// TestFactTime: the timestamp read without decoding the fact is the one proto.Unmarshal
// decodes, and a fact that does not decode reads as older than any.
func TestFactTime(t *testing.T) {
	marshal := func(f *storagev1.Fact) []byte {
		v, err := proto.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	full := marshal(&storagev1.Fact{UserId: "u", Timestamp: 1_764_000_000_000_000_000, Kind: &storagev1.Fact_Outbound{
		Outbound: &storagev1.Outbound{Template: 2, UserPhone: "4915112345678", WindowExpiresAt: 9}}})
	for _, tc := range []struct {
		name string
		v    []byte
		want int64
	}{
		{"empty", nil, 0},
		{"no timestamp", marshal(&storagev1.Fact{UserId: "u"}), 0},
		{"negative", marshal(&storagev1.Fact{Timestamp: -5}), -5},
		{"with a kind", full, 1_764_000_000_000_000_000},
		{"repeated: the last wins", append(marshal(&storagev1.Fact{Timestamp: 7}), marshal(&storagev1.Fact{Timestamp: 3})...), 3},
		{"truncated", full[:len(full)-1], math.MinInt64},
		{"a bad tag", []byte{0x80}, math.MinInt64},
		{"a bad varint", protowire.AppendTag(nil, 2, protowire.VarintType), math.MinInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := factTime(tc.v); got != tc.want {
				t.Errorf("factTime = %d, want %d", got, tc.want)
			}
			var f storagev1.Fact
			if err := proto.Unmarshal(tc.v, &f); err == nil && f.GetTimestamp() != tc.want {
				t.Errorf("proto.Unmarshal decodes %d, factTime %d", f.GetTimestamp(), tc.want)
			}
		})
	}
}

// TestBloomMarshal: a sealed generation's filter read back from the file answers as it did,
// and a damaged one is refused (Open then scans the generation) without allocating what a
// damaged capacity says.
func TestBloomMarshal(t *testing.T) {
	b := newBloom(1000)
	for i := range uint64(1000) {
		b.add(i * 0x9e3779b97f4a7c15)
	}
	v := b.marshal()
	got := unmarshalBloom(v)
	if got == nil {
		t.Fatal("a marshalled filter was refused")
	}
	for i := range uint64(2000) {
		h := i * 0x9e3779b97f4a7c15
		if got.mayContain(h) != b.mayContain(h) {
			t.Fatalf("hash %d: %v read back, %v before", i, got.mayContain(h), b.mayContain(h))
		}
	}
	huge := append([]byte(nil), v...)
	binary.BigEndian.PutUint64(huge, 1<<39) // would be 640 GiB of blocks
	for name, v := range map[string][]byte{
		"empty": nil, "truncated": v[:len(v)-1], "longer": append(append([]byte(nil), v...), 0), "damaged capacity": huge,
		"zero capacity": append(make([]byte, 8), v[8:]...),
	} {
		if unmarshalBloom(v) != nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestMayHoldBefore: a generation is read for a cutoff after its oldest time; by a reader
// whose transaction predates a raise of that time, for a cutoff after the time before the
// raise; and always when its times are unknown (a reader that lists the generation after its
// drop committed, in a transaction from before the drop) or for allFacts.
func TestMayHoldBefore(t *testing.T) {
	in := func(buckets ...int64) *genTimes {
		counts := map[int64]int64{}
		for _, b := range buckets {
			counts[b]++
		}
		return newGenTimes(1, counts)
	}
	raised := func(gt *genTimes, tx uint64, was int64) *genTimes {
		gt.raised.Store(&raise{tx: tx, was: was})
		return gt
	}
	for i, tc := range []struct {
		times  *genTimes
		cutoff int64
		want   bool
	}{
		{raised(in(5), 8, 2<<timeShift), 3 << timeShift, true}, // the reader (7) predates the raise
		{raised(in(5), 7, 2<<timeShift), 3 << timeShift, false},
		{in(3, 5), 3<<timeShift + 1, true},
		{in(3, 5), 3 << timeShift, false},
		{in(), allFacts, true},
		{in(), 1 << 62, false},
		{nil, math.MinInt64, true},
	} {
		h := genHandle{times: tc.times}
		if got := h.mayHoldBefore(tc.cutoff, 7); got != tc.want {
			t.Errorf("case %d, cutoff %d: mayHoldBefore = %v, want %v", i, tc.cutoff, got, tc.want)
		}
	}
}
