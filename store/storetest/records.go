package storetest

// The contracts of the records: what is put is what is read, keys are distinct, the expiry
// index follows the pairs.

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
)

func testGetMissing(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutPair(pair("b1", "u1", 100)); err != nil {
			return err
		}
		return tx.PutBusiness(business("b1"))
	})
	check := func(r store.ReadTx) error {
		_, err := r.Business("b2")
		wantNotFound(t, "Business(b2)", err)
		_, err = r.Pair("b1", "u2")
		wantNotFound(t, "Pair(b1, u2)", err)
		_, err = r.Pair("b2", "u1")
		wantNotFound(t, "Pair(b2, u1)", err)
		// Facts are not pairs: the same ids find nothing.
		_, err = r.Fact("b1", "u1")
		wantNotFound(t, "Fact(b1, u1)", err)
		if n, err := r.Counter(store.CounterKey{Kind: "tier", ID: "p1", Month: "2025-07"}); n != 0 || err != nil {
			t.Errorf("Counter of a new key = %d, %v; want 0, nil", n, err)
		}
		if err := r.Usage(store.ScopeBusiness, "b1", "2025-07", func(k store.UsageKey, _ *storagev1.Usage) error {
			t.Errorf("Usage of an empty store yielded %+v", k)
			return nil
		}); err != nil {
			t.Errorf("Usage: %v", err)
		}
		return nil
	}
	view(t, s, check)
	// The getters of a write transaction follow the same contract.
	update(t, s, func(tx store.Tx) error { return check(tx) })
}

func testPutGet(t *testing.T, s store.Store) {
	b, p, f1, f2 := business("b1"), pair("b1", "u1", 100), activityFact("u1"), outboundFact("u1")
	empty := &storagev1.Fact{} // marshals to zero bytes, and must still be found
	check := func(what string, r store.ReadTx) error {
		gotB, err := r.Business("b1")
		if err != nil {
			return fmt.Errorf("Business: %w", err)
		}
		diff(t, what+" Business", b, gotB)
		gotP, err := r.Pair("b1", "u1")
		if err != nil {
			return fmt.Errorf("Pair: %w", err)
		}
		diff(t, what+" Pair", p, gotP)
		for id, want := range map[string]*storagev1.Fact{"wamid.1": f1, "wamid.2": f2, "wamid.empty": empty} {
			got, err := r.Fact("b1", id)
			if err != nil {
				return fmt.Errorf("Fact(%s): %w", id, err)
			}
			diff(t, what+" Fact "+id, want, got)
		}
		return nil
	}
	update(t, s, func(tx store.Tx) error {
		for _, err := range []error{
			tx.PutBusiness(b), tx.PutPair(p),
			tx.PutFact("b1", "wamid.1", f1), tx.PutFact("b1", "wamid.2", f2), tx.PutFact("b1", "wamid.empty", empty),
		} {
			if err != nil {
				return err
			}
		}
		return check("inside Update:", tx) // an Update reads its own writes
	})
	view(t, s, func(r store.ReadTx) error { return check("after commit:", r) })
}

func testPutReplaces(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutBusiness(business("b1")); err != nil {
			return err
		}
		if err := tx.PutPair(pair("b1", "u1", 100)); err != nil {
			return err
		}
		return tx.PutFact("b1", "wamid.1", activityFact("u1"))
	})
	b2 := business("b1")
	b2.TimeZone, b2.PortfolioId = "America/Sao_Paulo", "" // cleared fields must stay cleared
	p2 := &storagev1.Pair{BusinessId: "b1", UserId: "u1", Activity: []int64{9_000}}
	f2 := outboundFact("u1")
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutBusiness(b2); err != nil {
			return err
		}
		if err := tx.PutPair(p2); err != nil {
			return err
		}
		return tx.PutFact("b1", "wamid.1", f2)
	})
	view(t, s, func(r store.ReadTx) error {
		gotB, err := r.Business("b1")
		if err != nil {
			return err
		}
		diff(t, "Business", b2, gotB)
		gotP, err := r.Pair("b1", "u1")
		if err != nil {
			return err
		}
		diff(t, "Pair", p2, gotP)
		gotF, err := r.Fact("b1", "wamid.1")
		if err != nil {
			return err
		}
		diff(t, "Fact", f2, gotF)
		return nil
	})
}

func testCopies(t *testing.T, s store.Store) {
	wantP, wantF := pair("b1", "u1", 100), outboundFact("u1")
	update(t, s, func(tx store.Tx) error {
		p, f := pair("b1", "u1", 100), outboundFact("u1") // fresh on every run of fn
		if err := tx.PutPair(p); err != nil {
			return err
		}
		if err := tx.PutFact("b1", "wamid.1", f); err != nil {
			return err
		}
		// Changing what was put, before the commit, does not change what is stored.
		p.Region, p.Activity[0] = "BR", -1
		f.GetOutbound().Statuses[0].Status = 99
		// Nor does changing what a getter returned.
		got, err := tx.Pair("b1", "u1")
		if err != nil {
			return err
		}
		got.Activity = append(got.Activity, 7)
		got.Conversations[0].End = 1
		return nil
	})
	for i := range 2 {
		view(t, s, func(r store.ReadTx) error {
			gotP, err := r.Pair("b1", "u1")
			if err != nil {
				return err
			}
			diff(t, fmt.Sprintf("Pair (read %d)", i), wantP, gotP)
			gotF, err := r.Fact("b1", "wamid.1")
			if err != nil {
				return err
			}
			diff(t, fmt.Sprintf("Fact (read %d)", i), wantF, gotF)
			gotP.Activity[0], gotP.UserPhone = -5, "x"
			gotF.GetOutbound().Charge.AmountNanos = 1
			return nil
		})
	}
}

func testDelete(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for _, err := range []error{
			putIndexed(tx, pair("b1", "u1", 100)), putIndexed(tx, pair("b1", "u2", 200)),
			tx.PutFact("b1", "wamid.1", activityFact("u1")), tx.PutFact("b1", "wamid.2", activityFact("u2")),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeletePair("b1", "u1"); err != nil {
			return err
		}
		if err := tx.DeleteFact("b1", "wamid.1"); err != nil {
			return err
		}
		_, err := tx.Pair("b1", "u1")
		wantNotFound(t, "Pair after DeletePair in the same Update", err)
		return nil
	})
	view(t, s, func(r store.ReadTx) error {
		_, err := r.Pair("b1", "u1")
		wantNotFound(t, "deleted Pair", err)
		_, err = r.Fact("b1", "wamid.1")
		wantNotFound(t, "deleted Fact", err)
		if _, err := r.Pair("b1", "u2"); err != nil {
			t.Errorf("other Pair: %v", err)
		}
		if _, err := r.Fact("b1", "wamid.2"); err != nil {
			t.Errorf("other Fact: %v", err)
		}
		return nil
	})
	// DeletePair leaves the index to the caller.
	diff(t, "Expiring after DeletePair", []expiry{csw("b1", "u1", 100), csw("b1", "u2", 200)}, expiring(t, s, 0, math.MaxInt64))
}

func testDeleteAbsent(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error { return putIndexed(tx, pair("b1", "u1", 100)) })
	update(t, s, func(tx store.Tx) error {
		if err := tx.RemoveExpiry(csw("b1", "nobody", 100).entry()); err != nil {
			return fmt.Errorf("RemoveExpiry of an absent entry: %w", err)
		}
		if err := tx.DeletePair("b1", "nobody"); err != nil {
			return fmt.Errorf("DeletePair of an absent pair: %w", err)
		}
		if err := tx.DeletePair("nobusiness", "u1"); err != nil {
			return fmt.Errorf("DeletePair of an absent pair: %w", err)
		}
		if err := tx.DeleteFact("b1", "wamid.none"); err != nil {
			return fmt.Errorf("DeleteFact of an absent fact: %w", err)
		}
		return nil
	})
	view(t, s, func(r store.ReadTx) error {
		_, err := r.Pair("b1", "u1")
		return err
	})
	diff(t, "Expiring", []expiry{csw("b1", "u1", 100)}, expiring(t, s, 0, math.MaxInt64))
}

func testCounters(t *testing.T, s store.Store) {
	base := store.CounterKey{Kind: "tier", ID: "p1", Month: "2025-07", Market: "IN", Category: 2}
	// Keys that differ from base in one field each, and two whose parts would run together
	// without a separator.
	others := []store.CounterKey{
		{Kind: "cbp-free", ID: "p1", Month: "2025-07", Market: "IN", Category: 2},
		{Kind: "tier", ID: "p2", Month: "2025-07", Market: "IN", Category: 2},
		{Kind: "tier", ID: "p1", Month: "2025-08", Market: "IN", Category: 2},
		{Kind: "tier", ID: "p1", Month: "2025-07", Market: "BR", Category: 2},
		{Kind: "tier", ID: "p1", Month: "2025-07", Market: "", Category: 2},
		{Kind: "tier", ID: "p1", Month: "2025-07", Market: "IN", Category: 3},
		{Kind: "tier", ID: "p1", Month: "2025-07", Market: "IN", Category: 0},
		{Kind: "tie", ID: "rp1", Month: "2025-07", Market: "IN", Category: 2},
		{Kind: "tier", ID: "p12025-07", Month: "", Market: "IN", Category: 2},
	}
	add := func(tx store.Tx, k store.CounterKey, delta, want int64) error {
		got, err := tx.AddCounter(k, delta)
		if err != nil {
			return fmt.Errorf("AddCounter(%+v, %d): %w", k, delta, err)
		}
		if got != want {
			t.Errorf("AddCounter(%+v, %d) = %d, want %d", k, delta, got, want)
		}
		return nil
	}
	update(t, s, func(tx store.Tx) error {
		if err := add(tx, base, 0, 0); err != nil {
			return err
		}
		if err := add(tx, base, 5, 5); err != nil {
			return err
		}
		return add(tx, base, -2, 3)
	})
	update(t, s, func(tx store.Tx) error {
		if err := add(tx, base, 10, 13); err != nil {
			return err
		}
		for i, k := range others {
			if err := add(tx, k, int64(100+i), int64(100+i)); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return add(tx, others[0], -300, -200) })
	view(t, s, func(r store.ReadTx) error {
		want := map[store.CounterKey]int64{base: 13}
		for i, k := range others {
			want[k] = int64(100 + i)
		}
		want[others[0]] = -200
		for k, w := range want {
			if got, err := r.Counter(k); got != w || err != nil {
				t.Errorf("Counter(%+v) = %d, %v; want %d", k, got, err, w)
			}
		}
		return nil
	})
}

func testUsage(t *testing.T, s store.Store) {
	const id, month = "b1", "2025-07"
	key := func(market string, category, pricingType int32) store.UsageKey {
		return store.UsageKey{Scope: store.ScopeBusiness, ID: id, Month: month, Market: market, Category: category, PricingType: pricingType}
	}
	// The rows asked for, in the order Usage must yield them.
	var want []usageRow
	for _, market := range []string{"BR", "IN", "INX", "US"} {
		for _, category := range []int32{1, 2, 3, 300} {
			for _, pricingType := range []int32{1, 2} {
				n := int64(len(want) + 1)
				want = append(want, usageRow{key(market, category, pricingType), &storagev1.Usage{
					Volume: 2 * n, Conversations: n, CostNanos: 3 * n, RateUnknownVolume: n % 2, Currency: "EUR",
				}})
			}
		}
	}
	// Rows that must not be yielded: neighbouring months, ids, and the other scope.
	noise := []store.UsageKey{
		{Scope: store.ScopeBusiness, ID: id, Month: "2025-06", Market: "IN", Category: 1, PricingType: 1},
		{Scope: store.ScopeBusiness, ID: id, Month: "2025-08", Market: "IN", Category: 1, PricingType: 1},
		{Scope: store.ScopeBusiness, ID: "b10", Month: month, Market: "IN", Category: 1, PricingType: 1},
		{Scope: store.ScopeBusiness, ID: "b", Month: month, Market: "IN", Category: 1, PricingType: 1},
		{Scope: store.ScopeBusiness, ID: "a", Month: month, Market: "IN", Category: 1, PricingType: 1},
		{Scope: store.ScopePortfolio, ID: id, Month: month, Market: "IN", Category: 1, PricingType: 1},
	}
	update(t, s, func(tx store.Tx) error {
		// Each row is added in two halves, the first with another currency, in an order
		// unrelated to the key order.
		for pass := range 2 {
			for i := range want {
				r := want[(i*7+3)%len(want)]
				half := func(v int64) int64 { return v / 2 }
				currency := "USD"
				if pass == 1 {
					half = func(v int64) int64 { return v - v/2 }
					currency = "EUR"
				}
				delta := &storagev1.Usage{
					Volume: half(r.Usage.Volume), Conversations: half(r.Usage.Conversations),
					CostNanos: half(r.Usage.CostNanos), RateUnknownVolume: half(r.Usage.RateUnknownVolume),
					Currency: currency,
				}
				if err := tx.AddUsage(r.Key, delta); err != nil {
					return err
				}
			}
		}
		for _, k := range noise {
			if err := tx.AddUsage(k, &storagev1.Usage{Volume: 1000, Currency: "BRL"}); err != nil {
				return err
			}
		}
		return nil
	})
	diff(t, "Usage(b, b1, 2025-07)", want, usageRows(t, s, store.ScopeBusiness, id, month))

	// Adding to an existing row in a later Update sums onto it.
	update(t, s, func(tx store.Tx) error {
		return tx.AddUsage(want[0].Key, &storagev1.Usage{Volume: 1, Conversations: 1, CostNanos: 1, RateUnknownVolume: 1, Currency: "GBP"})
	})
	u := want[0].Usage
	want[0].Usage = &storagev1.Usage{
		Volume: u.Volume + 1, Conversations: u.Conversations + 1, CostNanos: u.CostNanos + 1,
		RateUnknownVolume: u.RateUnknownVolume + 1, Currency: "GBP",
	}
	diff(t, "Usage after a later add", want, usageRows(t, s, store.ScopeBusiness, id, month))

	for _, k := range noise {
		want := []usageRow{{k, &storagev1.Usage{Volume: 1000, Currency: "BRL"}}}
		diff(t, fmt.Sprintf("Usage(%c, %s, %s)", k.Scope, k.ID, k.Month), want, usageRows(t, s, k.Scope, k.ID, k.Month))
	}
	if got := usageRows(t, s, store.ScopePortfolio, id, "2025-06"); len(got) != 0 {
		t.Errorf("Usage of an empty month = %v", got)
	}
}

func testExpiringRange(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for _, e := range []expiry{
			csw("b2", "u1", 300), csw("b1", "u3", 200), csw("b1", "u1", 100), fep("b1", "u1", 200),
			csw("b1", "u2", 200), csw("b0", "u9", 1<<40),
		} {
			if err := tx.AddExpiry(e.entry()); err != nil {
				return err
			}
		}
		return nil
	})
	all := []expiry{csw("b1", "u1", 100), csw("b1", "u2", 200), csw("b1", "u3", 200), fep("b1", "u1", 200), csw("b2", "u1", 300), csw("b0", "u9", 1<<40)}
	for _, tc := range []struct {
		from, to int64
		want     []expiry
	}{
		{0, math.MaxInt64, all},
		{math.MinInt64, math.MaxInt64, all},
		{100, 300, all[:4]}, // from is inclusive, to exclusive
		{101, 301, all[1:5]},
		{200, 201, all[1:4]},
		{150, 150, nil},
		{300, 100, nil},
		{301, 1 << 40, nil},
		{1 << 40, 1<<40 + 1, all[5:]},
	} {
		diff(t, fmt.Sprintf("Expiring(%d, %d)", tc.from, tc.to), tc.want, expiring(t, s, tc.from, tc.to))
	}
	// A write transaction sees the index as it stands, its own writes included.
	update(t, s, func(tx store.Tx) error {
		if err := tx.AddExpiry(csw("b3", "u1", 150).entry()); err != nil {
			return err
		}
		want := []expiry{all[0], csw("b3", "u1", 150), all[1], all[2], all[3]}
		diff(t, "Expiring inside Update", want, expiringIn(t, tx, 0, 250))
		return nil
	})
}

func testExpiryAddRemove(t *testing.T, s store.Store) {
	do := func(fn func(tx store.Tx) error) {
		t.Helper()
		update(t, s, fn)
	}
	other := csw("b1", "other", 250)
	do(func(tx store.Tx) error { return tx.AddExpiry(other.entry()) })
	do(func(tx store.Tx) error { return tx.AddExpiry(csw("b1", "u1", 100).entry()) })
	diff(t, "after add", []expiry{csw("b1", "u1", 100), other}, expiring(t, s, 0, math.MaxInt64))
	do(func(tx store.Tx) error { return tx.AddExpiry(csw("b1", "u1", 100).entry()) }) // again: still one entry
	diff(t, "after adding the same entry", []expiry{csw("b1", "u1", 100), other}, expiring(t, s, 0, math.MaxInt64))
	do(func(tx store.Tx) error { return tx.AddExpiry(fep("b1", "u1", 100).entry()) }) // another kind: another entry
	diff(t, "after adding another kind", []expiry{csw("b1", "u1", 100), fep("b1", "u1", 100), other}, expiring(t, s, 0, math.MaxInt64))
	// Moving an entry within one Update.
	do(func(tx store.Tx) error {
		if err := tx.RemoveExpiry(csw("b1", "u1", 100).entry()); err != nil {
			return err
		}
		return tx.AddExpiry(csw("b1", "u1", 500).entry())
	})
	diff(t, "after moving", []expiry{fep("b1", "u1", 100), other, csw("b1", "u1", 500)}, expiring(t, s, 0, math.MaxInt64))
	do(func(tx store.Tx) error { return tx.RemoveExpiry(fep("b1", "u1", 100).entry()) })
	diff(t, "after remove", []expiry{other, csw("b1", "u1", 500)}, expiring(t, s, 0, math.MaxInt64))
	// Bad entries are refused and write nothing.
	for _, bad := range []store.Expiry{
		{At: -1, Kind: store.ExpiryCSW, BusinessID: "b1", UserID: "u1"},
		{At: 1, Kind: 'x', BusinessID: "b1", UserID: "u1"},
		{At: 1, Kind: store.ExpiryCSW, BusinessID: "b\x001", UserID: "u1"},
	} {
		err := s.Update(t.Context(), func(tx store.Tx) error { return tx.AddExpiry(bad) })
		if err == nil {
			t.Errorf("AddExpiry(%+v) accepted", bad)
		}
	}
	diff(t, "after refused adds", []expiry{other, csw("b1", "u1", 500)}, expiring(t, s, 0, math.MaxInt64))
}

func testIterationError(t *testing.T, s store.Store) {
	errStop := errors.New("stop here")
	update(t, s, func(tx store.Tx) error {
		for i := range 3 {
			if err := putIndexed(tx, pair("b1", fmt.Sprint("u", i), int64(100+i))); err != nil {
				return err
			}
			k := store.UsageKey{Scope: store.ScopeBusiness, ID: "b1", Month: "2025-07", Market: "IN", Category: int32(i)}
			if err := tx.AddUsage(k, &storagev1.Usage{Volume: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(r store.ReadTx) error {
		calls := 0
		err := r.Expiring(0, math.MaxInt64, func(store.Expiry) error { calls++; return errStop })
		if !errors.Is(err, errStop) || calls != 1 {
			t.Errorf("Expiring with a failing callback: err = %v after %d calls; want errStop after 1", err, calls)
		}
		calls = 0
		err = r.Usage(store.ScopeBusiness, "b1", "2025-07", func(store.UsageKey, *storagev1.Usage) error { calls++; return errStop })
		if !errors.Is(err, errStop) || calls != 1 {
			t.Errorf("Usage with a failing callback: err = %v after %d calls; want errStop after 1", err, calls)
		}
		return nil
	})
}

func testTemplates(t *testing.T, s store.Store) {
	view(t, s, func(r store.ReadTx) error {
		_, err := r.Template("w1", "order_update")
		wantNotFound(t, "Template", err)
		return nil
	})
	h := &storagev1.TemplateHistory{Changes: []*storagev1.TemplateChange{{At: 100, PreviousCategory: 2, NewCategory: 1}}}
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutTemplate("w1", "order_update", h); err != nil {
			return err
		}
		return tx.PutTemplate("w1", "order_update_2", &storagev1.TemplateHistory{})
	})
	view(t, s, func(r store.ReadTx) error {
		got, err := r.Template("w1", "order_update")
		if err != nil {
			return err
		}
		diff(t, "Template", h, got)
		_, err = r.Template("w2", "order_update")
		wantNotFound(t, "Template of another WABA", err)
		return nil
	})
}

func testDiscrepancies(t *testing.T, s store.Store) {
	d := func(u string) *storagev1.Discrepancy {
		return &storagev1.Discrepancy{UserId: u, ChargedAt: 5, Differences: []string{"category: convstate utility, Meta marketing"}}
	}
	update(t, s, func(tx store.Tx) error {
		for _, k := range [][3]string{{"b1", "2025-07", "m3"}, {"b1", "2025-07", "m1"}, {"b1", "2025-07", "m2"}, {"b1", "2025-08", "m0"}, {"b10", "2025-07", "m9"}} {
			if err := tx.PutDiscrepancy(k[0], k[1], k[2], d(k[2])); err != nil {
				return err
			}
		}
		return nil
	})
	list := func(b, m, after string) []string {
		var ids []string
		view(t, s, func(r store.ReadTx) error {
			return r.Discrepancies(b, m, after, func(id string, x *storagev1.Discrepancy) error {
				if x.GetUserId() != id {
					t.Errorf("discrepancy %s holds %v", id, x)
				}
				ids = append(ids, id)
				return nil
			})
		})
		return ids
	}
	diff(t, "all of b1 2025-07", []string{"m1", "m2", "m3"}, list("b1", "2025-07", ""))
	diff(t, "after m1", []string{"m2", "m3"}, list("b1", "2025-07", "m1"))
	diff(t, "after m3", []string(nil), list("b1", "2025-07", "m3"))
	update(t, s, func(tx store.Tx) error {
		if err := tx.DeleteDiscrepancy("b1", "2025-07", "m2"); err != nil {
			return err
		}
		return tx.DeleteDiscrepancy("b1", "2025-07", "absent")
	})
	diff(t, "after delete", []string{"m1", "m3"}, list("b1", "2025-07", ""))
	diff(t, "another month", []string{"m0"}, list("b1", "2025-08", ""))
}

func testScanPairsAndFacts(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for _, k := range [][2]string{{"b2", "u1"}, {"b1", "u2"}, {"b1", "u1"}, {"b10", "u0"}} {
			if err := tx.PutPair(pair(k[0], k[1], 0)); err != nil {
				return err
			}
			if err := tx.PutFact(k[0], "m-"+k[1], activityFact(k[1])); err != nil {
				return err
			}
		}
		return nil
	})
	pairs := func(b, u string, limit int) []string {
		var got []string
		errStop := errors.New("stop")
		view(t, s, func(r store.ReadTx) error {
			err := r.Pairs(b, u, func(p *storagev1.Pair) error {
				got = append(got, p.GetBusinessId()+"/"+p.GetUserId())
				if len(got) == limit {
					return errStop
				}
				return nil
			})
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		})
		return got
	}
	diff(t, "all pairs", []string{"b1/u1", "b1/u2", "b10/u0", "b2/u1"}, pairs("", "", 0))
	diff(t, "pairs after b1/u1", []string{"b1/u2", "b10/u0", "b2/u1"}, pairs("b1", "u1", 0))
	diff(t, "pairs after b1/u2, two", []string{"b10/u0", "b2/u1"}, pairs("b1", "u2", 2))
	diff(t, "pairs after an absent key", []string{"b10/u0", "b2/u1"}, pairs("b1", "u3", 0))
	var facts []string
	view(t, s, func(r store.ReadTx) error {
		return r.Facts("b1", "m-u1", func(b, id string, f *storagev1.Fact) error {
			facts = append(facts, b+"/"+id+"/"+f.GetUserId())
			return nil
		})
	})
	diff(t, "facts after b1/m-u1", []string{"b1/m-u2/u2", "b10/m-u0/u0", "b2/m-u1/u1"}, facts)
}

// testOldFacts writes facts timestamped 1–30 over several Updates (over several fact
// generations in the conformance runs whose generations take three facts), rewriting some to
// an older time, deleting some, and checks that OldFacts finds, in a View and in an Update, in
// key order from its position on, every fact older than its cutoff; it may also find younger
// ones.
func testOldFacts(t *testing.T, s store.Store) {
	const day = int64(24 * time.Hour)                                  // times far enough apart for any store to tell them apart
	id := func(i int) string { return fmt.Sprintf("m%02d", (i*7)%30) } // times out of key order
	for from := 0; from < 30; from += 5 {
		update(t, s, func(tx store.Tx) error {
			for i := from; i < from+5; i++ {
				if err := tx.PutFact("b1", id(i), &storagev1.Fact{UserId: "u", Timestamp: int64(i+1) * day}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	at := map[string]int64{}
	for i := range 30 {
		at[id(i)] = int64(i+1) * day
	}
	update(t, s, func(tx store.Tx) error {
		for _, i := range []int{25, 28} { // young facts made old: a rewrite may change a time
			if err := tx.PutFact("b1", id(i), &storagev1.Fact{UserId: "u", Timestamp: 2 * day}); err != nil {
				return err
			}
			at[id(i)] = 2 * day
		}
		for _, i := range []int{0, 3} {
			if err := tx.DeleteFact("b1", id(i)); err != nil {
				return err
			}
			delete(at, id(i))
		}
		return nil
	})
	old := func(r store.ReadTx, cutoff int64, after string) ([]string, error) {
		var got []string
		last := after
		afterBusiness := "b1"
		if after == "" {
			afterBusiness = "" // from the first
		}
		err := r.OldFacts(cutoff, afterBusiness, after, func(b, m string, f *storagev1.Fact) error {
			if m <= last {
				return fmt.Errorf("OldFacts gave %s after %s", m, last)
			}
			if f.GetTimestamp() != at[m] {
				return fmt.Errorf("OldFacts gave %s at %d, want %d", m, f.GetTimestamp(), at[m])
			}
			last = m
			if f.GetTimestamp() < cutoff {
				got = append(got, m)
			}
			return nil
		})
		return got, err
	}
	for _, cutoff := range []int64{0, 3 * day, 11 * day, 26 * day, 31 * day} {
		for _, after := range []string{"", "m10"} {
			var want []string
			for m, ts := range at {
				if ts < cutoff && m > after {
					want = append(want, m)
				}
			}
			slices.Sort(want)
			var inView, inUpdate []string
			view(t, s, func(r store.ReadTx) (err error) { inView, err = old(r, cutoff, after); return err })
			update(t, s, func(tx store.Tx) (err error) { inUpdate, err = old(tx, cutoff, after); return err })
			diff(t, fmt.Sprintf("facts before %d after %q in a View", cutoff, after), want, inView)
			diff(t, fmt.Sprintf("facts before %d after %q in an Update", cutoff, after), want, inUpdate)
		}
	}
}
