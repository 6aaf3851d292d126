package server_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
)

// TestGarbageCollection: facts older than the retention, pairs whose windows have
// all passed, and old expiry index entries are deleted; recent state and monthly
// usage stay.
func TestGarbageCollection(t *testing.T) {
	hs := newHarness(t, withCards(reconcileCards))
	hs.clock.Set(t0.Add(time.Hour))
	hs.record(
		userMsg("u1", brUser, 0), send("m1", brUser, 0, marketing), statusFact("m1", delivered, 0, 0),
		entryMsg("e1", usUser, 0),
	)
	gc := func() *convstatev1.CollectGarbageResponse {
		t.Helper()
		r, err := hs.admin.CollectGarbage(hs.ctx, &convstatev1.CollectGarbageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := gc(); r.GetFactsDeleted()+r.GetPairsDeleted()+r.GetIndexEntriesDeleted() != 0 {
		t.Errorf("nothing is old yet, but %v", r)
	}
	day := 24 * time.Hour
	// A fact of the Brazilian user within the retention keeps that pair.
	hs.clock.Set(t0.Add(30 * day))
	hs.record(userMsg("u2", brUser, 30*day))
	hs.clock.Set(t0.Add(ledger.DefaultRetention + day))
	r := gc()
	// The old facts: u1, m1 (its statuses live in it) and e1; the US pair (its index
	// entry goes with it); the Brazilian pair's index entry of its first window.
	if r.GetFactsDeleted() != 3 || r.GetPairsDeleted() != 1 || r.GetIndexEntriesDeleted() != 1 {
		t.Errorf("collected %v, want 3 facts, 1 pair, 1 index entry", r)
	}
	if _, err := hs.win.GetPair(hs.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: usUser}); status.Code(err) != codes.NotFound {
		t.Errorf("the US pair: %v, want NotFound", err)
	}
	if _, err := hs.win.GetPair(hs.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: brUser}); err != nil {
		t.Errorf("the Brazilian pair (recent fact): %v", err)
	}
	if _, err := hs.bill.GetCharge(hs.ctx, &convstatev1.GetChargeRequest{BusinessId: biz, MessageId: "m1"}); status.Code(err) != codes.NotFound {
		t.Errorf("the old charge: %v, want NotFound", err)
	}
	u, err := hs.bill.GetUsage(hs.ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_BusinessId{BusinessId: biz}, Month: "2025-09"})
	if err != nil || u.GetTotalVolume() != 1 {
		t.Errorf("monthly usage must stay: %v %v", u, err)
	}
	if got := counterValue(t, hs.reg, "convstate_gc_deleted_total"); got != 5 {
		t.Errorf("gc metric = %v", got)
	}
}

// TestFileDoesNotGrowWithoutBound: round after round of new users, each collected
// after the retention, the file stops growing (bbolt reuses the freed pages).
func TestFileDoesNotGrowWithoutBound(t *testing.T) {
	hs := newHarness(t)
	var sizes []int64
	for round := range 6 {
		start := time.Duration(round) * (ledger.DefaultRetention + 24*time.Hour)
		hs.clock.Set(t0.Add(start + time.Hour))
		var facts []*convstatev1.Fact
		for i := range 2000 {
			user := fmt.Sprintf("55119%08d", round*10000+i)
			facts = append(facts, userMsg(fmt.Sprintf("r%d-%d", round, i), user, start))
		}
		if r, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: facts}); err != nil || r.GetRecorded() != 2000 {
			t.Fatalf("round %d: %v %v", round, r.GetFailed(), err)
		}
		// Into the file before they are collected, as in production (where days pass in
		// between); otherwise the writes and their deletion could meet in memory and
		// never reach the file.
		if err := hs.db.Flush(hs.ctx); err != nil {
			t.Fatal(err)
		}
		hs.clock.Set(t0.Add(start + ledger.DefaultRetention + 2*24*time.Hour))
		if _, err := hs.admin.CollectGarbage(hs.ctx, &convstatev1.CollectGarbageRequest{}); err != nil {
			t.Fatal(err)
		}
		if err := hs.db.Check(); err != nil { // also commits the B-tree: the file is current
			t.Fatal(err)
		}
		fi, err := os.Stat(hs.db.Path())
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, fi.Size())
	}
	t.Logf("file sizes by round: %v", sizes)
	if last, early := sizes[len(sizes)-1], sizes[1]; last > early {
		t.Errorf("file sizes by round %v: it keeps growing although every round is collected", sizes)
	}
}
