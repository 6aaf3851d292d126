package server_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// TestDecideBatch decides for 1,000 users in one call, more than the ledger decides in one read
// transaction: users with a recent message, users never seen and malformed ids, interleaved.
// Each result must be in the request's order, carry its user, agree with Decide for that user
// at the same time, and the counts must add up.
func TestDecideBatch(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(t0.Add(2 * h))
	user := func(i int) string { return fmt.Sprintf("55119%08d", i) } // Brazilian mobiles
	var facts []*convstatev1.Fact
	for i := 0; i < 1000; i += 3 { // every third user wrote an hour ago
		facts = append(facts, userMsg(fmt.Sprintf("wamid.%d", i), user(i), h))
	}
	resp, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: facts})
	if err != nil || resp.GetFailed() != 0 {
		t.Fatalf("RecordFacts: %v (%d failed)", err, resp.GetFailed())
	}

	users := make([]string, 1000)
	for i := range users {
		users[i] = user(i)
		if i%100 == 50 {
			users[i] = "not-a-number" // an item error, not a failed call
		}
	}
	req := &convstatev1.DecideBatchRequest{BusinessId: biz, UserIds: users, Time: at(2 * h), Template: marketing}
	batch, err := hs.win.DecideBatch(hs.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch.GetResults()) != len(users) {
		t.Fatalf("%d results for %d users", len(batch.GetResults()), len(users))
	}
	var allowed, required int32
	for i, r := range batch.GetResults() {
		if r.GetUserId() != users[i] {
			t.Fatalf("result %d is for %q, want %q (the request's order)", i, r.GetUserId(), users[i])
		}
		if users[i] == "not-a-number" {
			if got := codes.Code(r.GetError().GetCode()); got != codes.InvalidArgument {
				t.Errorf("result %d (%q): error code %v, want InvalidArgument; result %v", i, users[i], got, r)
			}
			continue
		}
		d := r.GetDecision()
		if d == nil {
			t.Fatalf("result %d (%q): no decision: %v", i, users[i], r)
		}
		if want := i%3 == 0; d.GetFreeFormAllowed() != want {
			t.Errorf("result %d (%q): free_form_allowed = %v, want %v", i, users[i], d.GetFreeFormAllowed(), want)
		}
		if d.GetFreeFormAllowed() {
			allowed++
		} else {
			required++
		}
		if i%97 == 0 { // the same answer as Decide's
			one, err := hs.win.Decide(hs.ctx, &convstatev1.DecideRequest{BusinessId: biz, UserId: users[i], Time: at(2 * h), Template: marketing})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(one, d, protocmp.Transform()); diff != "" {
				t.Errorf("result %d (%q) differs from Decide (-Decide +DecideBatch):\n%s", i, users[i], diff)
			}
		}
	}
	if batch.GetFreeFormAllowed() != allowed || batch.GetTemplateRequired() != required {
		t.Errorf("counts: %d allowed, %d template required; want %d and %d",
			batch.GetFreeFormAllowed(), batch.GetTemplateRequired(), allowed, required)
	}
	if allowed+required != 990 {
		t.Errorf("%d decisions, want 990 (10 malformed ids)", allowed+required)
	}
}
