package store

import (
	"bytes"
	"testing"
)

// FuzzReadRecords feeds arbitrary bytes to the log reader, which runs on whatever a crash
// left on disk: it must not panic, and what it accepts must re-encode to the same bytes
// (so it never applies a record it misparsed).
func FuzzReadRecords(f *testing.F) {
	id := []byte("0123456789abcdef")
	ops := []op{
		{bucket: bucketIndex(bucketPairs), key: []byte("b\x00u"), val: []byte("pair")},
		{bucket: bucketIndex(bucketExpiry), key: []byte("k"), deleted: true},
		{bucket: bucketIndex(bucketFacts), key: []byte("b\x00m"), val: []byte{}},
	}
	two := appendRecord(appendRecord(nil, id, 7, ops), id, 8, ops[:1])
	f.Add(two)
	f.Add(two[:len(two)-3])              // torn
	f.Add(appendRecord(nil, id, 1, nil)) // empty batch
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var again []byte
		for _, r := range readRecords(data, id) {
			again = appendRecord(again, id, r.seq, r.ops)
		}
		if !bytes.HasPrefix(data, again) {
			t.Fatalf("accepted records do not re-encode to a prefix of the input")
		}
	})
}
