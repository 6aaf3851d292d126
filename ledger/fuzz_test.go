package ledger

import (
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// FuzzValidation runs arbitrary requests through the server's two validation
// layers (protovalidate's declared rules, then the ledger's user id, phone and
// clock checks): neither panics, and a fact both accept has a normalized user and
// a region, a Meta timestamp not in the future, and ids the store can key.
func FuzzValidation(f *testing.F) {
	seed := []*convstatev1.Fact{
		{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{BusinessId: "1065", UserId: "5511987654321", MessageId: "wamid.1", Timestamp: timestamppb.New(time.Unix(1751536800, 0))}}},
		{Kind: &convstatev1.Fact_BusinessMessage{BusinessMessage: &convstatev1.BusinessMessage{BusinessId: "1065", UserId: "US.134912", MessageId: "m", Timestamp: timestamppb.New(time.Unix(1751536800, 0)), UserPhone: "14155550123", Template: 2}}},
		{Kind: &convstatev1.Fact_Status{Status: &convstatev1.StatusUpdate{BusinessId: "1065", MessageId: "m", Status: 4, ErrorCode: 131047, Timestamp: timestamppb.New(time.Unix(1751536800, 0))}}},
	}
	for _, s := range seed {
		b, _ := proto.Marshal(s)
		f.Add(b)
	}
	v, err := protovalidate.New()
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	l := New(nil, Config{Now: func() time.Time { return now }})
	f.Fuzz(func(t *testing.T, data []byte) {
		fact := &convstatev1.Fact{}
		if proto.Unmarshal(data, fact) != nil {
			return
		}
		if v.Validate(fact) != nil {
			return
		}
		p := l.prepare(fact, now)
		if p.err != nil {
			if p.err.Msg == "" || p.err.Code == 0 {
				t.Fatalf("empty error for %v", fact)
			}
			return
		}
		if p.business == "" || p.id == "" {
			t.Fatalf("accepted without business or id: %v", fact)
		}
		if fact.GetStatus() == nil && (p.user == "" || p.region == "") {
			t.Fatalf("accepted without a normalized user and region: %v", fact)
		}
		if time.Unix(0, p.at).After(now.Add(DefaultMaxSkew)) {
			t.Fatalf("accepted a future timestamp: %v", fact)
		}
	})
}
