package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
)

// TestPairRecordsWithoutIDs: a pair's record in the file leaves out the ids its key holds, and
// every way of reading it puts them back; a record an older build wrote, with them, reads the
// same.
func TestPairRecordsWithoutIDs(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts store.Options
	}{
		{"group commit", store.Options{}},
		{"no group commit", store.Options{NoGroupCommit: true}},
		{"pair cache", store.Options{PairCache: 16}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTemp(t, tc.opts)
			want := func(b, u string) *storagev1.Pair {
				return &storagev1.Pair{BusinessId: b, UserId: u, Region: "IN", Activity: []int64{5, 9}, CswIndexed: 99, LastFact: 9}
			}
			err := db.Update(t.Context(), func(tx store.Tx) error {
				for _, u := range []string{"u1", "u2"} {
					if err := tx.PutPair(want("b1", u)); err != nil {
						return err
					}
					// CheckIndex finds each pair's entry by the ids it reads back.
					if err := tx.AddExpiry(store.Expiry{At: 99, Kind: store.ExpiryCSW, BusinessID: "b1", UserID: u}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			raw := db.RawPair("b1", "u1")
			var stored storagev1.Pair
			if err := proto.Unmarshal(raw, &stored); err != nil {
				t.Fatal(err)
			}
			noIDs := want("", "")
			if diff := cmp.Diff(noIDs, &stored, protocmp.Transform()); diff != "" {
				t.Errorf("the record in the file (-want +got):\n%s", diff)
			}
			full, _ := proto.Marshal(want("b1", "u1"))
			if len(raw) >= len(full)-len("b1u1") {
				t.Errorf("the record is %d bytes, with its ids it would be %d", len(raw), len(full))
			}
			// An older build's record, ids included.
			if err := db.SetRawPair("b1", "u2", func() []byte { v, _ := proto.Marshal(want("b1", "u2")); return v }()); err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{"u1", "u2"} {
				err := db.View(t.Context(), func(tx store.ReadTx) error {
					for _, read := range []func(string, string) (*storagev1.Pair, error){tx.Pair, tx.PairView, tx.PairView} {
						got, err := read("b1", u)
						if err != nil {
							return err
						}
						if diff := cmp.Diff(want("b1", u), got, protocmp.Transform()); diff != "" {
							t.Errorf("pair b1/%s read back (-want +got):\n%s", u, diff)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			var scanned []*storagev1.Pair
			err = db.View(t.Context(), func(tx store.ReadTx) error {
				return tx.Pairs("", "", func(p *storagev1.Pair) error {
					scanned = append(scanned, p)
					return nil
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]*storagev1.Pair{want("b1", "u1"), want("b1", "u2")}, scanned, protocmp.Transform()); diff != "" {
				t.Errorf("pairs scanned (-want +got):\n%s", diff)
			}
			if err := db.CheckIndex(); err != nil {
				t.Error(err)
			}
		})
	}
}
