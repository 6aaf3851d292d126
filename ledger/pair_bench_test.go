package ledger

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
)

// BenchmarkPairDecode is what reading a pair costs (every decision and every fact
// reads one) as it remembers more deliveries: they are kept encoded, so a pair with
// 20 costs a decision ~0.3 µs more, not the ~3 µs of decoding them as messages.
func BenchmarkPairDecode(b *testing.B) {
	for _, n := range []int{0, 5, 20, maxDeliveries} {
		p := &storagev1.Pair{UserPhone: "5511987654321", Region: "BR", Activity: []int64{1, 2, 3, 4}, LastFact: 9, CswIndexed: 7}
		for i := range n {
			if err := noteDelivery(p, fmt.Sprintf("wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQ%020d", i), int64(i)*1e9); err != nil {
				b.Fatal(err)
			}
		}
		buf, err := proto.Marshal(p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("deliveries=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				var q storagev1.Pair
				if err := proto.Unmarshal(buf, &q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
