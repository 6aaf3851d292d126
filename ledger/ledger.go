// Package ledger applies facts to the store: it validates what the API cannot
// check declaratively (user ids, clock skew), runs the window clock and the pricing
// engine inside store transactions, and keeps charges, counters and usage. The
// gRPC server and the replay command both go through it.
package ledger

import (
	"context"
	"sync"
	"time"

	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
)

// Config is the ledger's configuration; zero fields take the defaults.
type Config struct {
	// Margin closes the window this long before Meta's expiry for decisions. Zero
	// is no margin; DefaultMargin is the documented default.
	Margin time.Duration
	// MaxSkew is how far in the future a fact's timestamp may be. Zero allows
	// none; DefaultMaxSkew is the documented default.
	MaxSkew time.Duration
	// Retention is how long facts are kept (default DefaultRetention).
	Retention time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Engine rates messages (default: embedded cards, default allowance).
	Engine *pricing.Engine
	// OnDiscrepancy is called once per newly recorded discrepancy (a 131047 for a
	// message convstate had inside the window). Optional.
	OnDiscrepancy func(businessID string)
	// OnCharge is called once per newly decided charge. Optional.
	OnCharge func(c *pricing.Charge)
	// OnPricingDiscrepancy is called with the number of charges found (or found
	// again) to disagree with Meta's reported pricing. Optional.
	OnPricingDiscrepancy func(n int)
	// OnRedecided is called once per charge that a fact recorded after it changed
	// when it was decided again, with the cause: "delivered_after_read",
	// "late_user_activity" or "late_force_close". Optional.
	OnRedecided func(cause string)
}

// Defaults.
const (
	DefaultMargin  = 60 * time.Second
	DefaultMaxSkew = 5 * time.Minute
)

// Ledger records facts and answers decisions over a store.
type Ledger struct {
	st       store.Store
	cfg      Config
	tzs      sync.Map // time zone name -> *time.Location
	profiles sync.Map // business id -> *profile, for the read paths
}

// New returns a ledger over st.
func New(st store.Store, cfg Config) *Ledger {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Engine == nil {
		cs := pricing.NewCardSet()
		cs.Add(pricing.Embedded()...)
		cfg.Engine = &pricing.Engine{Cards: cs, ServiceAllowance: pricing.DefaultServiceAllowance}
	}
	return &Ledger{st: st, cfg: cfg}
}

// Margin returns the default safety margin.
func (l *Ledger) Margin() time.Duration { return l.cfg.Margin }

// Engine returns the pricing engine.
func (l *Ledger) Engine() *pricing.Engine { return l.cfg.Engine }

// location returns a cached *time.Location (time.LoadLocation parses the zone file
// on every call).
func (l *Ledger) location(name string) (*time.Location, error) {
	if v, ok := l.tzs.Load(name); ok {
		return v.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	l.tzs.Store(name, loc)
	return loc, nil
}

// view runs fn in a read transaction.
func (l *Ledger) view(ctx context.Context, fn func(store.ReadTx) error) error {
	return l.st.View(ctx, fn)
}
