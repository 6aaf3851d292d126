// Package storetest holds the conformance suite every store.Store implementation passes.
// It knows nothing of any backend: it uses only the store.Store interface.
package storetest

import (
	"cmp"
	"errors"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
)

// Run runs the suite. newStore must return an empty store independent of every other one; it
// is called once per subtest, and the caller cleans the store up (t.Cleanup), tolerating
// store.ErrClosed from a store the subtest already closed.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"GetMissingIsNotFound", testGetMissing},
		{"PutThenGetRoundTrips", testPutGet},
		{"PutReplaces", testPutReplaces},
		{"ReturnedRecordsAreCopies", testCopies},
		{"DeleteRemoves", testDelete},
		{"DeleteAbsentIsNoOp", testDeleteAbsent},
		{"CountersAddPerDistinctKey", testCounters},
		{"UsageAddsAndIteratesInKeyOrder", testUsage},
		{"ExpiringInTimeOrderWithinRange", testExpiringRange},
		{"ExpiryAddRemove", testExpiryAddRemove},
		{"Templates", testTemplates},
		{"Discrepancies", testDiscrepancies},
		{"ScanPairsAndFacts", testScanPairsAndFacts},
		{"OldFactsHasEveryOldFact", testOldFacts},
		{"IterationStopsAtCallbackError", testIterationError},
		{"FailedUpdateKeepsNothing", testFailedUpdate},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdates},
		{"ViewSeesOnlyCommittedData", testViewIsolation},
		{"CancelledContextRunsNothing", testCancelled},
		{"BackupReportsBytesWritten", testBackup},
		{"CloseWaitsForRunningUpdate", testCloseWaits},
		{"ClosedStoreReturnsErrClosed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s store.Store, fn func(store.ReadTx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := gocmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

func business(id string) *storagev1.Business {
	return &storagev1.Business{
		BusinessId: id, TimeZone: "Asia/Kolkata", Currency: "INR", WabaId: "waba-" + id,
		PortfolioId: "port-1", PrimaryCountry: "IN", AuthInternationalStart: 1_717_200_000_000_000_000,
	}
}

// pair is a full pair record; indexed is what it records as its CSW index time
// (the store does not interpret it; see putIndexed).
func pair(businessID, userID string, indexed int64) *storagev1.Pair {
	return &storagev1.Pair{
		BusinessId: businessID, UserId: userID, UserPhone: "919800000001", Region: "IN",
		Activity:    []int64{1_000, 2_000},
		Closures:    []int64{1_500},
		EntryPoints: []*storagev1.EntryPointVisit{{At: 1_000, EntryPoint: 2, Used: true}},
		FepWindows:  []*storagev1.Interval{{Start: 1_000, End: 3_000}},
		Conversations: []*storagev1.Conversation{
			{Category: 3, Start: 1_000, End: 5_000, PricingType: 2, Rules: "2023-06-01"},
		},
		CswIndexed: indexed,
		LastFact:   2_000,
	}
}

func activityFact(userID string) *storagev1.Fact {
	return &storagev1.Fact{
		UserId: userID, Timestamp: 2_000,
		Kind: &storagev1.Fact_UserActivity{UserActivity: &storagev1.UserActivity{
			EntryPoint: 2, WindowExpiresAt: 86_402_000, FepEligibleUntil: 86_401_000,
		}},
	}
}

func outboundFact(userID string) *storagev1.Fact {
	return &storagev1.Fact{
		UserId: userID, Timestamp: 3_000,
		Kind: &storagev1.Fact_Outbound{Outbound: &storagev1.Outbound{
			Template: 2, UserPhone: "919800000001", InWindow: true, WindowExpiresAt: 86_402_000,
			Warnings: []int32{4, 7},
			Statuses: []*storagev1.Status{{Status: 2, Timestamp: 3_100}, {Status: 3, Timestamp: 3_200, Discrepancy: true}},
			Charge: &storagev1.Charge{
				AmountNanos: 107_000_000, Currency: "INR", Market: "IN", Category: 2, PricingType: 1,
				Model: 2, Rules: "2025-07-01", Tier: 1, ChargedAt: 3_100, Month: "2025-07",
				RateCard: "2025-07-01", Explanation: "marketing template, PMP",
			},
			ChargeStatus: 2,
		}},
	}
}

// expiry is an index entry as the tests compare it.
type expiry struct {
	Business, User string
	Kind           store.ExpiryKind
	At             int64
}

// csw and fep build index entries.
func csw(b, u string, at int64) expiry { return expiry{b, u, store.ExpiryCSW, at} }
func fep(b, u string, at int64) expiry { return expiry{b, u, store.ExpiryFEP, at} }

func (e expiry) entry() store.Expiry {
	return store.Expiry{At: e.At, Kind: e.Kind, BusinessID: e.Business, UserID: e.User}
}

// putIndexed stores a pair and indexes its CSW time, as the ledger does.
func putIndexed(tx store.Tx, p *storagev1.Pair) error {
	if err := tx.PutPair(p); err != nil {
		return err
	}
	if p.GetCswIndexed() == 0 {
		return nil
	}
	return tx.AddExpiry(store.Expiry{At: p.GetCswIndexed(), Kind: store.ExpiryCSW, BusinessID: p.GetBusinessId(), UserID: p.GetUserId()})
}

func expiringIn(t *testing.T, r store.ReadTx, from, to int64) []expiry {
	t.Helper()
	var got []expiry
	if err := r.Expiring(from, to, func(e store.Expiry) error {
		got = append(got, expiry{e.BusinessID, e.UserID, e.Kind, e.At})
		return nil
	}); err != nil {
		t.Fatalf("Expiring(%d, %d): %v", from, to, err)
	}
	return got
}

// expiring returns Expiring's entries after checking they come in (time, kind,
// business, user) order.
func expiring(t *testing.T, s store.Store, from, to int64) []expiry {
	t.Helper()
	var got []expiry
	view(t, s, func(r store.ReadTx) error {
		got = expiringIn(t, r, from, to)
		return nil
	})
	if !slices.IsSortedFunc(got, func(a, b expiry) int {
		return cmp.Or(cmp.Compare(a.At, b.At), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Business, b.Business), cmp.Compare(a.User, b.User))
	}) {
		t.Errorf("Expiring(%d, %d) not in (time, kind, business, user) order: %v", from, to, got)
	}
	return got
}

type usageRow struct {
	Key   store.UsageKey
	Usage *storagev1.Usage
}

func usageRows(t *testing.T, s store.Store, scope store.Scope, id, month string) []usageRow {
	t.Helper()
	var got []usageRow
	view(t, s, func(r store.ReadTx) error {
		return r.Usage(scope, id, month, func(k store.UsageKey, u *storagev1.Usage) error {
			got = append(got, usageRow{k, u})
			return nil
		})
	})
	return got
}
