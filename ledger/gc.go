package ledger

import (
	"context"
	"errors"
	"slices"
	"time"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	"github.com/convstate/convstate/store"
)

const (
	// DefaultRetention is how long facts are kept: the duplicate horizon (Meta
	// retries webhooks for up to 7 days, and a template's statuses can come up to
	// its 30-day time-to-live after the send), and the audit window of GetCharge.
	// Monthly usage is kept regardless.
	DefaultRetention = 35 * 24 * time.Hour
	// WatchHorizon is how long expiry index entries are kept after their time: a
	// watcher can resume from a cursor this old.
	WatchHorizon = 7 * 24 * time.Hour
	// gcChunk bounds the records a collection transaction examines, so writers
	// waiting behind it are never held up long.
	gcChunk = 2000
)

// GCStats counts what a collection did.
type GCStats struct {
	Facts, Pairs, IndexEntries, Examined int64
}

var errChunk = errors.New("chunk full")

// CollectGarbage runs one full pass over the store in short transactions.
func (l *Ledger) CollectGarbage(ctx context.Context) (GCStats, error) {
	var st GCStats
	now := l.cfg.Now()
	factCutoff := now.Add(-l.retention()).UnixNano()
	indexCutoff := now.Add(-WatchHorizon).UnixNano()
	nowN := now.UnixNano()

	for b, id, done := "", "", false; !done; {
		var n, examined int64
		var nb, nid string
		err := l.st.Update(ctx, func(tx store.Tx) error {
			n, examined, nb, nid, done = 0, 0, b, id, true
			var doomed [][2]string
			// OldFacts skips the generations of facts that are all younger than the cutoff:
			// with the default retention and facts in time order, all but the oldest few.
			err := tx.OldFacts(factCutoff, b, id, func(fb, fid string, f *storagev1.Fact) error {
				if examined++; examined > gcChunk {
					done = false
					return errChunk
				}
				nb, nid = fb, fid
				if f.GetTimestamp() < factCutoff {
					doomed = append(doomed, [2]string{fb, fid})
				}
				return nil
			})
			if err != nil && !errors.Is(err, errChunk) {
				return err
			}
			for _, k := range doomed {
				if err := tx.DeleteFact(k[0], k[1]); err != nil {
					return err
				}
			}
			n = int64(len(doomed))
			return nil
		})
		if err != nil {
			return st, err
		}
		st.Facts += n
		st.Examined += min(examined, gcChunk)
		b, id = nb, nid
	}

	for b, u, done := "", "", false; !done; {
		var n, examined int64
		var nb, nu string
		err := l.st.Update(ctx, func(tx store.Tx) error {
			n, examined, nb, nu, done = 0, 0, b, u, true
			var doomed []*storagev1.Pair
			err := tx.Pairs(b, u, func(p *storagev1.Pair) error {
				if examined++; examined > gcChunk {
					done = false
					return errChunk
				}
				nb, nu = p.BusinessId, p.UserId
				switch {
				case p.LastFact >= factCutoff:
				case p.AliasOf != "":
					// A BSUID's alias goes with its number's pair (which sorts before
					// it, digits before letters: collected in this pass, or before).
					if _, err := tx.Pair(p.BusinessId, p.AliasOf); notFound(err) || slices.ContainsFunc(doomed, func(d *storagev1.Pair) bool {
						return d.BusinessId == p.BusinessId && d.UserId == p.AliasOf
					}) {
						doomed = append(doomed, p)
					} else if err != nil {
						return err
					}
				case allPassed(p, nowN):
					doomed = append(doomed, p)
				}
				return nil
			})
			if err != nil && !errors.Is(err, errChunk) {
				return err
			}
			for _, p := range doomed {
				if err := unindex(tx, p); err != nil {
					return err
				}
				if err := tx.DeletePair(p.BusinessId, p.UserId); err != nil {
					return err
				}
			}
			n = int64(len(doomed))
			return nil
		})
		if err != nil {
			return st, err
		}
		st.Pairs += n
		st.Examined += min(examined, gcChunk)
		b, u = nb, nu
	}

	for done := false; !done; {
		var n int64
		err := l.st.Update(ctx, func(tx store.Tx) error {
			n, done = 0, true
			var doomed []store.Expiry
			err := tx.Expiring(0, indexCutoff, func(e store.Expiry) error {
				if len(doomed) == gcChunk {
					done = false
					return errChunk
				}
				doomed = append(doomed, e)
				return nil
			})
			if err != nil && !errors.Is(err, errChunk) {
				return err
			}
			for _, e := range doomed {
				if err := tx.RemoveExpiry(e); err != nil {
					return err
				}
			}
			n = int64(len(doomed))
			return nil
		})
		if err != nil {
			return st, err
		}
		st.IndexEntries += n
		st.Examined += n
	}
	return st, nil
}

// allPassed reports whether everything of a pair has expired by now: its window,
// its free entry point window and eligibility, its conversations.
func allPassed(p *storagev1.Pair, now int64) bool {
	clock := clockOf(p)
	if w := clock.Latest(); w.ExpiresAt > now {
		return false
	}
	if w, ok := clock.LatestFEP(); ok && w.End > now {
		return false
	}
	if clock.EligibleUntil() > now {
		return false
	}
	for _, c := range clock.Conversations {
		if c.End > now {
			return false
		}
	}
	return true
}

func (l *Ledger) retention() time.Duration {
	if l.cfg.Retention <= 0 {
		return DefaultRetention
	}
	return l.cfg.Retention
}
