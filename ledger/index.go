package ledger

import (
	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
	"github.com/convstate/convstate/window"
)

// indexTime is when an expiry is put in the expiry index, which the watch stream
// reads in time order behind the clock: at the expiry when it is still ahead; at
// now when a pending expiry moved into the past (a 131047 force-close), so the
// "closed" event still fires; and nowhere new for a window that was already over
// when convstate learned of it (historic facts make no events).
func indexTime(expiry, prev, now int64) int64 {
	switch {
	case expiry == 0:
		return 0
	case expiry > now:
		return expiry
	case prev > now:
		return now
	}
	return prev
}

// reindex puts the pair's expiry index entries (customer service window, free
// entry point window) where its clock now puts them. Entries it moves away from
// are left behind, stale: every user message moves the window, and removing the
// old entry would be a third B-tree write per fact. Readers skip stale entries
// (the pair records the current time: Pair.csw_indexed, fep_indexed) and
// garbage collection removes them.
// unindex removes a pair's expiry index entries (it is deleted, or became an alias).
func unindex(tx store.Tx, p *storagev1.Pair) error {
	for kind, at := range map[store.ExpiryKind]int64{store.ExpiryCSW: p.CswIndexed, store.ExpiryFEP: p.FepIndexed} {
		if at == 0 {
			continue
		}
		if err := tx.RemoveExpiry(store.Expiry{At: at, Kind: kind, BusinessID: p.BusinessId, UserID: p.UserId}); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) reindex(pair *storagev1.Pair, clock *window.Pair) error {
	var fepEnd int64
	if w, ok := clock.LatestFEP(); ok {
		fepEnd = w.End
	}
	for _, x := range []struct {
		kind   store.ExpiryKind
		expiry int64
		field  *int64
	}{
		{store.ExpiryCSW, clock.Latest().ExpiresAt, &pair.CswIndexed},
		{store.ExpiryFEP, fepEnd, &pair.FepIndexed},
	} {
		prev := *x.field
		next := indexTime(x.expiry, prev, a.now)
		if next == prev {
			continue
		}
		if next != 0 {
			if err := a.tx.AddExpiry(store.Expiry{At: next, Kind: x.kind, BusinessID: pair.BusinessId, UserID: pair.UserId}); err != nil {
				return err
			}
		}
		*x.field = next
	}
	return nil
}
