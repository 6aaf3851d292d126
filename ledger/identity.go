package ledger

import (
	"cmp"
	"math"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
	"github.com/convstate/convstate/window"
)

// One user, two ids. Since 2026 Meta names a user by a business-scoped user id (BSUID,
// "US.1349…") beside, or instead of, the phone number (wa_id). A webhook may name both;
// a sender may know only one. Filed under whichever id a fact happened to name, one
// user's facts would build two clocks: a decision asked by BSUID would miss the window
// the user's messages opened under the phone, and a charge would depend on which id its
// message was sent to.
//
// So a BSUID whose number is known is an alias: its record in the pairs bucket holds
// only alias_of, and the user's pair is the phone's. A fact that names both ids (a
// message with user_id a BSUID and user_phone its number, a status with recipient_id a
// number and recipient_user_id its BSUID) teaches it; from then on every read of the
// BSUID's pair (decisions, facts, charges decided again) reads the phone's. What was
// recorded under the BSUID before is merged into the phone's pair when the alias is
// learned, and the charges of both are decided again on the merged clock, so the
// answers do not depend on which fact arrived first, within the bounds of any late
// fact: the deliveries a pair remembers (deliveryHorizon, maxDeliveries) are those
// decided again, and whether a 131047 was a window discrepancy is decided when it is
// recorded. Facts keep the id they named.
// A BSUID belongs to one number for good (a changed number gets a new BSUID), so the
// first number learned for it stays.

// pairOf reads the pair of user, following a BSUID's alias to its number's pair. A
// BSUID aliased to a number without a pair yet gets a new pair of that number, so
// that a caller creating one creates the number's.
func pairOf(tx store.ReadTx, business, user string) (*storagev1.Pair, error) {
	rec, err := tx.Pair(business, user)
	if err != nil || rec.AliasOf == "" {
		return rec, err
	}
	return numberPair(tx, business, rec.AliasOf)
}

// numberPair reads the pair of a phone number, or a new one with its market.
func numberPair(tx store.ReadTx, business, phone string) (*storagev1.Pair, error) {
	rec, err := tx.Pair(business, phone)
	if !notFound(err) {
		return rec, err
	}
	region, err := pricing.Region(phone, "")
	if err != nil {
		return nil, err
	}
	return &storagev1.Pair{BusinessId: business, UserId: phone, Region: region}, nil
}

// decisionPair is the pair a decision for user reads: the one a fact naming user (and
// phone, the number a question may give for a BSUID) is filed under. The alias when the
// BSUID has one. When it has none yet but the question gives its number, what both ids
// hold, merged as a fact naming both would merge them; the result is the caller's own.
func decisionPair(tx store.ReadTx, business, user, phone string) (*storagev1.Pair, *window.Pair, error) {
	rec, err := tx.PairView(business, user)
	switch {
	case err == nil && rec.AliasOf != "":
		phone := rec.AliasOf
		if rec, err = tx.PairView(business, phone); notFound(err) {
			region, err := pricing.Region(phone, "")
			return &storagev1.Pair{Region: region}, &window.Pair{}, err
		}
	case (err == nil || notFound(err)) && phone != "" && pricing.IsBSUID(user):
		if notFound(err) {
			rec = nil
		}
		num, err := tx.PairView(business, phone)
		if notFound(err) {
			num, err = nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		clock := &window.Pair{}
		region := ""
		for _, r := range []*storagev1.Pair{num, rec} {
			if r != nil {
				clock.Merge(clockOf(r))
				region = cmp.Or(region, r.Region)
			}
		}
		return &storagev1.Pair{Region: region}, clock, nil
	}
	if notFound(err) {
		return &storagev1.Pair{}, &window.Pair{}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return rec, clockOf(rec), nil
}

// learnIdentity learns the alias a fact teaches, if it names a BSUID and its number.
// It is called once the fact is known to be accepted (a rejected fact writes nothing),
// before the fact's pair is read. merged says that what the BSUID held moved and
// charges were decided again: a message record read before may be stale.
func (a *applier) learnIdentity(p *prepared) (merged bool, err error) {
	p.filed = "" // an Update may run again: only what this one read
	switch {
	case p.bsuid != "": // a status's recipient_user_id beside its recipient_id, a number
		_, merged, err = a.alias(p.business, p.bsuid, p.user, p.at)
	case p.phone != "" && pricing.IsBSUID(p.user):
		p.filed, merged, err = a.alias(p.business, p.user, p.phone, p.at)
	}
	return merged, err
}

// alias makes bsuid an alias of phone, unless it is one already, and returns the
// number whose pair bsuid's is (the first one learned). What was recorded
// under bsuid until now moves to the number's pair: its clock merges into the number's,
// its deliveries join the number's, and every charge either remembers is decided again
// on the merged clock (under per-message pricing; see rerate.go for those that are not).
func (a *applier) alias(business, bsuid, phone string, at int64) (number string, merged bool, err error) {
	rec, err := a.tx.Pair(business, bsuid)
	switch {
	case notFound(err):
		rec = nil
	case err != nil:
		return "", false, err
	case rec.AliasOf != "":
		return rec.AliasOf, false, nil // known: the first number stays
	}
	link := &storagev1.Pair{BusinessId: business, UserId: bsuid, AliasOf: phone, LastFact: at}
	if rec == nil {
		return phone, false, a.tx.PutPair(link)
	}
	return phone, true, a.merge(rec, link)
}

// merge moves what the BSUID's pair rec holds into its number's, and leaves link, the
// alias, in its place.
func (a *applier) merge(rec, link *storagev1.Pair) error {
	business, phone := link.BusinessId, link.AliasOf
	num, err := numberPair(a.tx, business, phone)
	if err != nil {
		return err
	}
	clock := clockOf(num)
	clock.Merge(clockOf(rec))
	moved, err := deliveriesOf(rec).list()
	if err != nil {
		return err
	}
	for _, d := range moved {
		if err := noteDelivery(num, d.MessageId, d.At); err != nil {
			return err
		}
	}
	if num.Region == "" {
		num.Region = rec.Region
	}
	// The BSUID's expiry index entries would name a pair that is no longer there.
	if err := unindex(a.tx, rec); err != nil {
		return err
	}
	link.LastFact = max(link.LastFact, rec.LastFact)
	if err := a.savePair(num, clock, rec.LastFact); err != nil {
		return err
	}
	if err := a.tx.PutPair(link); err != nil {
		return err
	}
	return a.redecideDeliveries(business, math.MinInt64, deliveriesOf(num), math.MaxInt64, causeIdentityMerged)
}

// samePerson reports whether the user a fact p names is the one a recorded fact was
// filed under (stored): the same id, the other id p itself names beside it (a BSUID's
// user_phone, a status's recipient_user_id), or ids an alias already joins.
func (a *applier) samePerson(p *prepared, stored string) (bool, error) {
	if stored == p.user || (p.phone != "" && pricing.IsBSUID(p.user) && stored == p.phone) || (p.bsuid != "" && stored == p.bsuid) {
		return true, nil
	}
	cu, err := a.canonical(p.business, stored)
	if err != nil {
		return false, err
	}
	cv, err := a.canonical(p.business, p.user)
	return cu == cv, err
}

// canonical is the id a user's pair is filed under: a BSUID's number if it has one.
func (a *applier) canonical(business, user string) (string, error) {
	if !pricing.IsBSUID(user) {
		return user, nil
	}
	rec, err := a.tx.Pair(business, user)
	switch {
	case notFound(err):
		return user, nil
	case err != nil:
		return "", err
	case rec.AliasOf != "":
		return rec.AliasOf, nil
	}
	return user, nil
}
