package ledger

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
	"github.com/convstate/convstate/window"
)

// A charge is decided when its message is delivered (design.md §2), from the facts
// recorded by then. Webhooks arrive out of order, so a fact that changes it can come
// later: the delivered status after the read that decided it, or a user message (or
// entry point) from before the delivery. Under per-message pricing the charge is then
// decided again: what it counted is undone (its usage, and the counters it
// incremented, where the message keeps its place) and the charge is decided anew.
//
// A charge that opened a free entry point window gives it up first (and the entry
// points it used, window.ReleaseFEP); decided again, it opens the window from its new
// time if it is still the first reply. Any decision, first or again, that opens, moves
// or removes a window over deliveries already decided (a late first reply's takes the
// window of a later one) decides those deliveries again, oldest first (followWindows).
//
// It is not decided again under conversation-based pricing (later messages joined the
// conversations it opened), or when it was stored before its effects were recorded.

// Causes of a charge decided again, for the metrics (Config.OnRedecided).
const (
	causeDeliveredAfterRead = "delivered_after_read"
	causeLateActivity       = "late_user_activity"
	causeLateClose          = "late_force_close"
	causeIdentityMerged     = "identity_merged"
	causeLateDelivery       = "late_delivery"
)

const (
	// deliveryHorizon is how long after a user message a delivery can depend on it: a
	// reply within the 24 h of entry-point eligibility opens a 72 h free window.
	deliveryHorizon = window.FEPEligibility + 72*int64(time.Hour)
	// maxDeliveries bounds the deliveries a pair remembers within deliveryHorizon: a
	// late entry point needs the first reply after it, so the bound is set well above
	// what a conversation sends in four days.
	maxDeliveries = 64
)

// cannotRedecide says why the charge old cannot be decided again at a delivery at at
// ("" if it can).
func cannotRedecide(prof *profile, old *storagev1.Charge, at int64) string {
	switch {
	case old.PairUser == "":
		return "it was decided before convstate recorded what a charge changes"
	case pricing.Rules(old.Rules).Model() != pricing.PMP || pricing.RulesOn(prof.day(at)).Model() != pricing.PMP:
		return "conversation-based charges are not decided again"
	}
	return ""
}

// deliveredAfterRead handles a delivered status that arrives after the message was
// charged at its read, with an earlier timestamp: the charge is decided again at the
// delivery, and the two can differ (a utility template delivered inside the customer
// service window and read after it closed; delivered on the last day of a month and
// read on the first of the next). Where it cannot be, the message is listed by
// ListDiscrepancies, saying why its charge stands.
func (a *applier) deliveredAfterRead(p *prepared, f *storagev1.Fact, out *storagev1.Outbound) error {
	old := out.Charge
	prof, err := a.profile(p.business)
	if err != nil {
		return err
	}
	if stands := cannotRedecide(prof, old, p.at); stands != "" {
		return a.tx.PutDiscrepancy(p.business, old.Month, p.id, &storagev1.Discrepancy{
			UserId: f.UserId, ChargedAt: old.ChargedAt,
			Differences: append(reportedDifferences(out), "time: charged when read at "+rfc3339(old.ChargedAt)+
				"; the earlier delivery's status ("+rfc3339(p.at)+") arrived later, and the charge stands: "+stands),
		})
	}
	return a.redecide(prof, p, f, out, statusDelivered, causeDeliveredAfterRead)
}

// redecideDeliveries decides again the charges of a pair's deliveries that a fact at
// from, recorded after them, may change: those in [from, until), oldest first (a late
// entry point's window opens from the first). ds is the pair's deliveries as they were
// before (Pair.deliveries and last_delivery).
func (a *applier) redecideDeliveries(business string, from int64, ds pairDeliveries, until int64, cause string) error {
	if ds.last < from {
		return nil // none as late as the fact: recorded in time order
	}
	deliveries, err := ds.list()
	if err != nil {
		return err
	}
	var prof *profile
	for _, d := range deliveries {
		if d.At < from || d.At >= until || a.deciding[d.MessageId] {
			continue
		}
		f, err := a.tx.Fact(business, d.MessageId)
		if notFound(err) {
			continue // collected
		}
		if err != nil {
			return err
		}
		out := f.GetOutbound()
		if out.GetCharge().GetChargedAt() != d.At || failed(out) {
			continue // not this delivery any more
		}
		if prof == nil {
			if prof, err = a.profile(business); err != nil {
				return err
			}
		}
		if cannotRedecide(prof, out.Charge, d.At) != "" {
			continue
		}
		q := &prepared{business: business, id: d.MessageId, at: d.At}
		if err := a.redecide(prof, q, f, out, out.ChargeStatus, cause); err != nil {
			return err
		}
		if err := a.tx.PutFact(business, d.MessageId, f); err != nil {
			return err
		}
	}
	return nil
}

// redecide undoes the charge of out and decides it again at p.at, for status, on the
// clock that decided it (its pair_user: the phone a status named, though the message
// may be filed under the user's BSUID since). The
// message keeps its place in the counters it was counted in, if the new charge counts
// it there again (the same month): the deliveries decided since did not take it. A
// counter it is no longer counted in gives its place back, for the messages decided
// from now on: those decided since keep theirs, though in time order one of them
// would have taken it (re-deciding them would cross pairs). The metrics counted the
// message when its charge was first decided, and do not again.
func (a *applier) redecide(prof *profile, p *prepared, f *storagev1.Fact, out *storagev1.Outbound, status int32, cause string) error {
	old := out.Charge
	if err := a.addUsage(prof, old, -1); err != nil {
		return err
	}
	held := map[store.CounterKey]int64{}
	for _, inc := range old.Increments {
		held[incrementKey(inc, old.Month)] = inc.Position
	}
	// reconcile files a discrepancy under the month of the new charge.
	if err := a.tx.DeleteDiscrepancy(p.business, old.Month, p.id); err != nil {
		return err
	}
	out.Charge, out.ChargeStatus = nil, 0
	charges, discrepancies := len(a.ev.charges), a.ev.pricingDiscrepancies
	var release *window.Interval
	if old.FepWindowEnd != 0 {
		release = &window.Interval{Start: old.ChargedAt, End: old.FepWindowEnd}
	}
	moved, err := a.charge(p, old.PairUser, f, out, status, held, release)
	if err != nil {
		return err
	}
	a.ev.charges, a.ev.pricingDiscrepancies = a.ev.charges[:charges], discrepancies
	if c := out.Charge; c.AmountNanos != old.AmountNanos || c.PricingType != old.PricingType || c.RateUnknown != old.RateUnknown || c.Month != old.Month {
		a.ev.redecided = append(a.ev.redecided, cause)
	}
	kept := map[store.CounterKey]bool{}
	for _, inc := range out.Charge.Increments {
		kept[incrementKey(inc, out.Charge.Month)] = true
	}
	for k := range held {
		if !kept[k] {
			if _, err := a.tx.AddCounter(k, -1); err != nil {
				return err
			}
		}
	}
	return a.followWindows(p.business, old.PairUser, p.id, moved, cause)
}

// fepChange is the span of the free entry point windows a charge opened, moved or
// removed (ok false: none changed).
type fepChange struct {
	from, until int64
	ok          bool
}

func windowsChange(before, after []window.Interval) fepChange {
	var c fepChange
	add := func(w window.Interval) {
		if !c.ok {
			c = fepChange{from: w.Start, until: w.End, ok: true}
			return
		}
		c.from, c.until = min(c.from, w.Start), max(c.until, w.End)
	}
	for _, w := range before {
		// A window missing from after was removed, unless it fell off the clock's
		// bounded history (window.MaxFEPWindows) as a newer one opened: that changes
		// no charge.
		if !slices.Contains(after, w) && (len(after) < window.MaxFEPWindows || w.Start >= after[0].Start) {
			add(w)
		}
	}
	for _, w := range after {
		if !slices.Contains(before, w) {
			add(w)
		}
	}
	return c
}

// maxCascade bounds nested cascades of charges decided again: each level is a window
// that moved because another did; real conversations need two or three.
const maxCascade = 16

// followWindows decides again, oldest first, the deliveries to user's pair that a
// change of its free entry point windows may change: a window the charge of message
// id opened, gave up or replaced (a late first reply's). Messages whose charges are
// being decided up the call stack, id among them, are left alone: their records in
// the store are not yet the ones being decided.
func (a *applier) followWindows(business, user, id string, c fepChange, cause string) error {
	if !c.ok || a.depth >= maxCascade {
		return nil
	}
	pair, err := pairOf(a.tx, business, user)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if a.deciding == nil {
		a.deciding = map[string]bool{}
	}
	outer := a.deciding[id]
	a.deciding[id] = true
	a.depth++
	err = a.redecideDeliveries(business, c.from, deliveriesOf(pair), c.until, cause)
	a.depth--
	if !outer {
		delete(a.deciding, id)
	}
	return err
}

// incrementKey is the counter a charge of month incremented.
func incrementKey(inc *storagev1.CounterIncrement, month string) store.CounterKey {
	return store.CounterKey{Kind: inc.Kind, ID: inc.ScopeId, Month: month, Market: inc.Market, Category: inc.Category}
}

// pairDeliveries are a pair's remembered deliveries, still encoded.
type pairDeliveries struct {
	raw  []byte
	last int64
}

func deliveriesOf(pair *storagev1.Pair) pairDeliveries {
	return pairDeliveries{raw: pair.Deliveries, last: pair.LastDelivery}
}

func (ds pairDeliveries) list() ([]*storagev1.Delivery, error) {
	var l storagev1.DeliveryList
	if err := proto.Unmarshal(ds.raw, &l); err != nil {
		return nil, fmt.Errorf("ledger: a pair's deliveries: %w", err)
	}
	return l.Items, nil
}

// noteDelivery remembers on the pair a delivery whose charge was decided at at (once:
// a charge decided again moves it), forgetting those too old to depend on a fact
// recorded late, and the oldest beyond maxDeliveries.
func noteDelivery(pair *storagev1.Pair, id string, at int64) error {
	ds, err := deliveriesOf(pair).list()
	if err != nil {
		return err
	}
	ds = slices.DeleteFunc(ds, func(d *storagev1.Delivery) bool {
		return d.MessageId == id || d.At < at-deliveryHorizon
	})
	i, _ := slices.BinarySearchFunc(ds, at, func(d *storagev1.Delivery, t int64) int { return cmp.Compare(d.At, t) })
	ds = slices.Insert(ds, i, &storagev1.Delivery{MessageId: id, At: at})
	if len(ds) > maxDeliveries {
		ds = ds[len(ds)-maxDeliveries:]
	}
	raw, err := proto.Marshal(&storagev1.DeliveryList{Items: ds})
	if err != nil {
		return err
	}
	pair.Deliveries, pair.LastDelivery = raw, ds[len(ds)-1].At
	return nil
}

// reportedDifferences lists where Meta's pricing object disagrees with the charge.
func reportedDifferences(out *storagev1.Outbound) []string {
	if out.Charge == nil || out.Reported == nil {
		return nil
	}
	return differences(out.Charge, out.Reported)
}

func rfc3339(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339) }
