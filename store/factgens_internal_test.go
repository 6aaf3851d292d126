package store

import (
	"encoding/binary"
	"testing"
)

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
