package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
)

// TestStripPairIDs: the ids go wherever they are in the record (proto.Marshal puts them
// first, but a record may repeat a field or have them last), and nothing else does.
func TestStripPairIDs(t *testing.T) {
	rest, err := proto.Marshal(&storagev1.Pair{Region: "BR", Activity: []int64{1, 2}, Closures: []int64{3}, LastFact: 7})
	if err != nil {
		t.Fatal(err)
	}
	ids := protowire.AppendString(protowire.AppendTag(nil, pairBusinessField, protowire.BytesType), "b1")
	ids = protowire.AppendString(protowire.AppendTag(ids, pairUserField, protowire.BytesType), "u1")
	for name, v := range map[string][]byte{
		"first":   append(append([]byte{}, ids...), rest...),
		"last":    append(append([]byte{}, rest...), ids...),
		"twice":   append(append(append([]byte{}, ids...), rest...), ids...),
		"without": append([]byte{}, rest...),
	} {
		var got storagev1.Pair
		if err := proto.Unmarshal(stripPairIDs(v), &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := &storagev1.Pair{Region: "BR", Activity: []int64{1, 2}, Closures: []int64{3}, LastFact: 7}
		if diff := cmp.Diff(want, &got, protocmp.Transform()); diff != "" {
			t.Errorf("%s: stripped (-want +got):\n%s", name, diff)
		}
	}
}
