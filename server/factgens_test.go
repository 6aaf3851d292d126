package server_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/store"
)

// TestFactsAcrossGenerations records messages into a store whose facts index seals a
// generation every 20 new facts, so that the messages spread over six generations, and
// checks through the API that facts in older generations are found: a message recorded again
// is a duplicate, its statuses charge it once, GetCharge finds it. Garbage collection then
// empties the sealed generations, which are dropped.
func TestFactsAcrossGenerations(t *testing.T) {
	hs := newHarnessOn(t, store.Options{FactGeneration: 20})
	hs.clock.Set(t0.Add(100 * h))
	const n = 120
	id := func(i int) string { return fmt.Sprintf("wamid.m%03d", i) }
	batch := func(f func(i int) *convstatev1.Fact) []*convstatev1.FactResult {
		t.Helper()
		var out []*convstatev1.FactResult
		for from := 0; from < n; from += 30 {
			var facts []*convstatev1.Fact
			for i := from; i < from+30; i++ {
				facts = append(facts, f(i))
			}
			r, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: facts})
			if err != nil || r.GetFailed() != 0 {
				t.Fatalf("RecordFacts: %d failed (%v), %v", r.GetFailed(), r.GetResults(), err)
			}
			out = append(out, r.GetResults()...)
			if err := hs.db.Flush(hs.ctx); err != nil { // into the file, generation after generation
				t.Fatal(err)
			}
		}
		return out
	}
	sendAt := func(d time.Duration) func(int) *convstatev1.Fact {
		return func(i int) *convstatev1.Fact { return send(id(i), brUser, d, marketing) }
	}
	for i, r := range batch(sendAt(h)) {
		if r.GetBusinessMessage().GetDuplicate() {
			t.Fatalf("first recording of %s: duplicate", id(i))
		}
	}
	if got := hs.db.Stats().FactGenerations; got != n/20 {
		t.Errorf("%d fact generations after %d messages, want %d", got, n, n/20)
	}
	for i, r := range batch(sendAt(2 * h)) {
		if !r.GetBusinessMessage().GetDuplicate() {
			t.Errorf("%s recorded again: not a duplicate", id(i))
		}
	}
	deliveredAt := func(i int) *convstatev1.Fact { return statusFact(id(i), delivered, h, 0) }
	first := batch(deliveredAt)
	for i, r := range first {
		if r.GetStatus().GetDuplicate() || r.GetStatus().GetCharge() == nil {
			t.Fatalf("first delivered status of %s: %v", id(i), r.GetStatus())
		}
	}
	for i, r := range batch(deliveredAt) {
		if !r.GetStatus().GetDuplicate() || r.GetStatus().GetCharge().GetAmount() != first[i].GetStatus().GetCharge().GetAmount() {
			t.Errorf("delivered status of %s again: %v, want the first result marked duplicate", id(i), r.GetStatus())
		}
	}
	if got := hs.db.Stats().FactGenerations; got != n/20 {
		t.Errorf("%d fact generations after statuses, want %d: statuses rewrite facts where they are", got, n/20)
	}
	c, err := hs.bill.GetCharge(hs.ctx, &convstatev1.GetChargeRequest{BusinessId: biz, MessageId: id(0)})
	if err != nil || c.GetCharge().GetAmount() != first[0].GetStatus().GetCharge().GetAmount() {
		t.Errorf("GetCharge of the oldest generation's first message: %v, %v", c, err)
	}
	u, err := hs.bill.GetUsage(hs.ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_BusinessId{BusinessId: biz}, Month: "2025-09"})
	if err != nil || u.GetTotalVolume() != n {
		t.Errorf("usage volume %d (%v), want %d: each message charged once", u.GetTotalVolume(), err, n)
	}

	hs.clock.Set(t0.Add(ledger.DefaultRetention + 24*h))
	r, err := hs.admin.CollectGarbage(hs.ctx, &convstatev1.CollectGarbageRequest{})
	if err != nil || r.GetFactsDeleted() != n {
		t.Fatalf("CollectGarbage: %v %v, want %d facts deleted", r, err, n)
	}
	if err := hs.db.Flush(hs.ctx); err != nil {
		t.Fatal(err)
	}
	// Left: generation 0 (the facts bucket of older files, kept) and the current one.
	if got := hs.db.Stats().FactGenerations; got != 2 {
		t.Errorf("%d fact generations once all facts are collected, want 2", got)
	}
	if _, err := hs.bill.GetCharge(hs.ctx, &convstatev1.GetChargeRequest{BusinessId: biz, MessageId: id(0)}); status.Code(err) != codes.NotFound {
		t.Errorf("GetCharge of a collected message: %v, want NotFound", err)
	}
	hs.clock.Set(t0.Add(ledger.DefaultRetention + 25*h))
	if r := hs.record(send(id(0), brUser, ledger.DefaultRetention+24*h, marketing)); r[0].GetBusinessMessage().GetDuplicate() {
		t.Errorf("a collected message's id recorded again: duplicate")
	}
}

// TestGarbageCollectionReadsOnlyOldGenerations: a collection pass reads only the fact
// generations that hold a fact older than the retention, so its examined count covers the
// old generations' facts and not the young ones'. A message that arrived weeks late makes
// its young generation old until a pass has collected it, and no longer.
func TestGarbageCollectionReadsOnlyOldGenerations(t *testing.T) {
	hs := newHarnessOn(t, store.Options{FactGeneration: 20})
	id := func(i int) string { return fmt.Sprintf("wamid.g%03d", i) }
	record := func(from, to int, d time.Duration) {
		t.Helper()
		var facts []*convstatev1.Fact
		for i := from; i < to; i++ {
			facts = append(facts, send(id(i), brUser, d, marketing))
		}
		r, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: facts})
		if err != nil || r.GetFailed() != 0 {
			t.Fatalf("RecordFacts: %d failed (%v), %v", r.GetFailed(), r.GetResults(), err)
		}
		if err := hs.db.Flush(hs.ctx); err != nil {
			t.Fatal(err)
		}
	}
	hs.clock.Set(t0.Add(2 * h))
	record(0, 40, h) // generations 0 and 1
	young := ledger.DefaultRetention + h
	hs.clock.Set(t0.Add(young + h))
	record(40, 70, young)  // generations 2 and 3
	record(100, 101, h)    // 35 days late, into generation 3
	record(70, 100, young) // generations 3–5

	gc := func() *convstatev1.CollectGarbageResponse {
		t.Helper()
		r, err := hs.admin.CollectGarbage(hs.ctx, &convstatev1.CollectGarbageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if err := hs.db.Flush(hs.ctx); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Examined also counts the pair and the expiry index entries collected: a few.
	first := gc()
	if first.GetFactsDeleted() != 41 || first.GetExamined() > 60+5 {
		t.Errorf("first pass: %d facts deleted, %d records examined; want 41 deleted, ~60 examined (generations 0, 1 and 3)",
			first.GetFactsDeleted(), first.GetExamined())
	}
	second := gc()
	if second.GetFactsDeleted() != 0 || second.GetExamined() > 5 {
		t.Errorf("second pass: %d facts deleted, %d records examined; want none deleted, ~none examined",
			second.GetFactsDeleted(), second.GetExamined())
	}
	if got, want := counterValue(t, hs.reg, "convstate_gc_examined_total"), float64(first.GetExamined()+second.GetExamined()); got != want {
		t.Errorf("convstate_gc_examined_total = %v, want %v (the passes' examined)", got, want)
	}
	if got := hs.db.Stats().FactGenerations; got != 5 {
		t.Errorf("%d fact generations after the collection, want 5 (0, emptied but kept, and 2–5)", got)
	}
	if r := hs.record(send(id(99), brUser, young, marketing)); !r[0].GetBusinessMessage().GetDuplicate() {
		t.Errorf("a young message recorded again: not a duplicate")
	}
	if r := hs.record(send(id(0), brUser, young, marketing)); r[0].GetBusinessMessage().GetDuplicate() {
		t.Errorf("a collected message's id recorded again: duplicate")
	}
}
