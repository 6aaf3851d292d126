package ledger

import (
	"time"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
)

// deliveredAfterRead handles a delivered status that arrives after the message was
// charged at its read, with an earlier timestamp. A charge is decided at delivery
// (or at read when no delivered status came, design.md §2), and the two can differ:
// a utility template delivered inside the customer service window and read after it
// closed, or delivered on the last day of a month and read on the first of the next.
//
// Under per-message pricing the charge read decided is undone (its usage and the
// counters it incremented) and decided again at the delivery. It is not when the read
// opened a free entry point window (which entry points it used is not recorded),
// under conversation-based pricing (later messages joined the conversations it
// opened), or for a charge stored before its effects were recorded: the message is
// then listed by ListDiscrepancies, saying why its charge stands.
func (a *applier) deliveredAfterRead(p *prepared, f *storagev1.Fact, out *storagev1.Outbound) error {
	old := out.Charge
	prof, err := a.profile(p.business)
	if err != nil {
		return err
	}
	var stands string
	switch {
	case !old.EffectsRecorded:
		stands = "it was decided before convstate recorded what a charge changes"
	case old.FepWindowEnd != 0:
		stands = "the read opened a free entry point window"
	case pricing.Rules(old.Rules).Model() != pricing.PMP || pricing.RulesOn(prof.day(p.at)).Model() != pricing.PMP:
		stands = "conversation-based charges are not decided again"
	}
	if stands != "" {
		return a.tx.PutDiscrepancy(p.business, old.Month, p.id, &storagev1.Discrepancy{
			UserId: f.UserId, ChargedAt: old.ChargedAt,
			Differences: append(reportedDifferences(out), "time: charged when read at "+rfc3339(old.ChargedAt)+
				"; the earlier delivery's status ("+rfc3339(p.at)+") arrived later, and the charge stands: "+stands),
		})
	}

	if err := a.addUsage(prof, old, -1); err != nil {
		return err
	}
	// The message keeps its place in the counters it was counted in, if the new charge
	// counts it there again (the same month): the deliveries decided since did not
	// take it. A counter it is no longer counted in gives its place back.
	counts := txCounts{tx: a.tx, prof: prof, month: old.Month}
	held := map[store.CounterKey]int64{}
	for _, inc := range old.Increments {
		held[counts.key(pricing.CounterKind(inc.Kind), inc.Market, pricing.Category(inc.Category))] = inc.Position
	}
	// reconcile files a discrepancy under the month of the new charge.
	if err := a.tx.DeleteDiscrepancy(p.business, old.Month, p.id); err != nil {
		return err
	}
	out.Charge, out.ChargeStatus = nil, 0
	n := len(a.ev.charges)
	if err := a.charge(p, f, out, statusDelivered, held); err != nil {
		return err
	}
	a.ev.charges = a.ev.charges[:n] // the metrics counted the message's charge when read decided it
	kept := map[store.CounterKey]bool{}
	for _, inc := range out.Charge.Increments {
		kept[txCounts{prof: prof, month: out.Charge.Month}.key(pricing.CounterKind(inc.Kind), inc.Market, pricing.Category(inc.Category))] = true
	}
	for k := range held {
		if !kept[k] {
			if _, err := a.tx.AddCounter(k, -1); err != nil {
				return err
			}
		}
	}
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
