package ledger

import (
	"errors"
	"slices"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// A status of a message convstate never saw sent records a stand-in for it (fromStatus).
// Meta's sent webhook can come before the sender has recorded its send (webhooks are
// at-least-once and out of order, design.md rule 3), so the send recorded after its
// statuses is the same message, completed, not a duplicate and not a conflict.

// standInOf reports whether the send p is the message the stand-in f was recorded for:
// its statuses named the send's user, by the id f is filed under or the BSUID beside it,
// or named the phone number the sender gives for its BSUID user.
func standInOf(f *storagev1.Fact, p *prepared) bool {
	return p.user == f.UserId || p.user == f.GetOutbound().GetRecipientUserId() || (p.phone != "" && p.phone == f.UserId)
}

// completeStandIn records the send of a message known until now from its statuses alone.
// What the sender says replaces what the statuses let convstate guess: the user, the
// template (its name, and its category at the time of use), the send time, the window
// then and the warnings, all as if the send had come first. What the statuses decided
// stays: the statuses, Meta's pricing, and the charge a delivered (or read) status
// decided, at delivery and once (rule 6). The message is then an ordinary one: a status
// that comes later decides its charge if none did, and the same send again is a
// duplicate.
//
// When the statuses named the user by the other identity (the phone, and the send is to
// the BSUID), the message moves to the send's user, and its discrepancy records with it.
// The window state its statuses left on the pair they named stays there: a free entry
// point window or a conversation opened by its delivery, or a 131047 force-close, were
// decided on that pair's clock, where the webhook also files the user's own messages
// (under the phone when it has one); moving them would set that clock against the charge
// it decided, which is never decided again.
func (a *applier) completeStandIn(p *prepared, m *convstatev1.BusinessMessage, f *storagev1.Fact) (*convstatev1.RecordBusinessMessageResponse, error) {
	stand := f.GetOutbound()
	out, err := a.outbound(p, m)
	if err != nil {
		return nil, err
	}
	out.Statuses, out.Reported, out.Charge, out.ChargeStatus = stand.Statuses, stand.Reported, stand.Charge, stand.ChargeStatus
	if err := a.closeAtSend(p, f); err != nil {
		return nil, err
	}
	if f.UserId != p.user {
		if err := a.moveDiscrepancies(p.business, p.id, p.user, out); err != nil {
			return nil, err
		}
	}
	fact := &storagev1.Fact{UserId: p.user, Timestamp: p.at, Kind: &storagev1.Fact_Outbound{Outbound: out}}
	if err := a.tx.PutFact(p.business, p.id, fact); err != nil {
		return nil, err
	}
	return a.outboundResponse(out, false), nil
}

// moveDiscrepancies files a message's discrepancy records (its charge's with Meta's
// pricing, its 131047's with convstate's window) under its new user.
func (a *applier) moveDiscrepancies(business, id, user string, out *storagev1.Outbound) error {
	var months []string
	if out.Charge != nil {
		months = append(months, out.Charge.Month)
	}
	for _, s := range out.Statuses {
		if s.Discrepancy {
			prof, err := a.profile(business)
			if err != nil {
				return err
			}
			months = append(months, prof.month(s.Timestamp))
		}
	}
	slices.Sort(months)
	for _, month := range slices.Compact(months) {
		d, err := a.discrepancy(business, month, id)
		if err != nil {
			return err
		}
		if d == nil || d.UserId == user {
			continue
		}
		d.UserId = user
		if err := a.tx.PutDiscrepancy(business, month, id, d); err != nil {
			return err
		}
	}
	return nil
}

// discrepancy reads a message's discrepancy record of a month (nil if none). The store
// lists a month's records after a message id: after the id less its last byte, the
// record sought comes after the few ids that share that prefix and sort before it.
func (a *applier) discrepancy(business, month, id string) (*storagev1.Discrepancy, error) {
	var found *storagev1.Discrepancy
	err := a.tx.Discrepancies(business, month, id[:len(id)-1], func(mid string, d *storagev1.Discrepancy) error {
		if mid < id {
			return nil
		}
		if mid == id {
			found = d
		}
		return errEnough
	})
	if errors.Is(err, errEnough) {
		err = nil
	}
	return found, err
}

// closeAtSend moves a 131047's force-close, which the failed status put at the
// stand-in's time (its first status), to the send now known to be earlier: Meta says
// the window was closed when the message was sent (forceClose). It stays on the pair
// the statuses named, with the rest of their window state.
func (a *applier) closeAtSend(p *prepared, f *storagev1.Fact) error {
	for _, s := range f.GetOutbound().GetStatuses() {
		if !s.WindowForceClosed {
			continue
		}
		closed := min(f.Timestamp, s.Timestamp)
		if p.at >= closed {
			return nil
		}
		pair, err := pairOf(a.tx, p.business, f.UserId)
		if notFound(err) {
			return nil // collected since: nothing left to move
		}
		if err != nil {
			return err
		}
		clock := clockOf(pair)
		clock.MoveClosure(closed, p.at)
		deliveries := deliveriesOf(pair)
		if err := a.savePair(pair, clock, p.at); err != nil {
			return err
		}
		// Deliveries between the send and the failure's time were after the close.
		return a.redecideDeliveries(p.business, p.at, deliveries, closed, causeLateClose)
	}
	return nil
}
