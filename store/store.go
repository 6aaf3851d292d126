// Package store persists convstate's records: business profiles, pair clocks,
// recorded facts (for idempotency and audit), counters for free tiers and volume
// tiers, and monthly usage.
//
// The Store interface is what the rest of convstate needs; the bbolt file (Open) is
// the implementation, and store/storetest is the conformance suite every
// implementation passes. Records are storage protos (convstate.storage.v1), never
// API messages, so the disk format evolves on its own.
package store

import (
	"context"
	"errors"
	"io"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
)

var (
	// ErrNotFound is returned by the getters of ReadTx when there is no record.
	ErrNotFound = errors.New("store: not found")
	// ErrClosed is returned by every method once Close has been called.
	ErrClosed = errors.New("store: closed")
)

// Store is a transactional record store.
//
// Update group-commits: concurrent callers' functions run one after the other and share
// one durable write, and each Update returns only after the write holding its changes is
// on disk (or with the error that kept it from being written). An implementation may run
// fn more than once (to retry a batch without a failing member, say): fn must communicate
// only through tx and through variables it resets on every run.
type Store interface {
	// View runs fn in a read-only transaction. Views run concurrently.
	View(ctx context.Context, fn func(ReadTx) error) error
	// Update runs fn in a read-write transaction and returns once it is durable.
	// If fn returns an error nothing it wrote is kept and Update returns that error.
	Update(ctx context.Context, fn func(Tx) error) error
	// Backup writes a consistent snapshot of the whole store (a file Open can use)
	// and returns the number of bytes written.
	Backup(ctx context.Context, w io.Writer) (int64, error)
	// Close waits for pending updates and releases the store.
	Close() error
}

// ReadTx reads records. Returned records are the caller's to modify, except PairView's.
type ReadTx interface {
	// Business returns a business's profile, or ErrNotFound.
	Business(businessID string) (*storagev1.Business, error)
	// Pair returns a pair's clock, or ErrNotFound.
	Pair(businessID, userID string) (*storagev1.Pair, error)
	// PairView is Pair for a caller that does not modify the record: it may be shared
	// with other readers (a cache), which saves decoding it.
	PairView(businessID, userID string) (*storagev1.Pair, error)
	// Fact returns the fact recorded under a business's message id, or ErrNotFound.
	Fact(businessID, messageID string) (*storagev1.Fact, error)
	// Counter returns a counter's value; 0 if it was never added to.
	Counter(key CounterKey) (int64, error)
	// Usage calls fn for every usage row of scope/id/month in key order
	// (market, category, pricing type).
	Usage(scope Scope, id, month string, fn func(UsageKey, *storagev1.Usage) error) error
	// Pairs calls fn for every pair in key order (business, user), starting after
	// (afterBusiness, afterUser); ("", "") starts at the first.
	Pairs(afterBusiness, afterUser string, fn func(*storagev1.Pair) error) error
	// Facts calls fn for every fact in key order (business, message id), starting
	// after (afterBusiness, afterID); ("", "") starts at the first.
	Facts(afterBusiness, afterID string, fn func(businessID, messageID string, f *storagev1.Fact) error) error
	// OldFacts is Facts for garbage collection: it calls fn for every fact timestamped
	// before cutoff (Unix nanoseconds), and for some of the others, which fn tells apart.
	// It skips the facts the file keeps in generations whose facts are all at or after
	// cutoff, so it reads ~all of them only when most are old.
	OldFacts(cutoff int64, afterBusiness, afterID string, fn func(businessID, messageID string, f *storagev1.Fact) error) error
	// Template returns a template's category history, or ErrNotFound.
	Template(wabaID, name string) (*storagev1.TemplateHistory, error)
	// Discrepancies calls fn for a business's discrepancies of a month, in message
	// id order, starting after the message id after ("" for the first).
	Discrepancies(businessID, month, after string, fn func(messageID string, d *storagev1.Discrepancy) error) error
	// Expiring calls fn for every expiry index entry with At in [from, to) (Unix
	// nanoseconds), in (At, Kind, BusinessID, UserID) order. fn may not modify the
	// store.
	Expiring(from, to int64, fn func(Expiry) error) error
}

// Tx reads and writes records.
type Tx interface {
	ReadTx
	// PutBusiness stores a profile under its business_id.
	PutBusiness(b *storagev1.Business) error
	// PutPair stores a pair under (business_id, user_id).
	PutPair(p *storagev1.Pair) error
	// DeletePair removes a pair; no error if absent. Its expiry entries are the
	// caller's to remove.
	DeletePair(businessID, userID string) error
	// AddExpiry adds an entry to the expiry index (a no-op if present).
	AddExpiry(e Expiry) error
	// RemoveExpiry removes an entry from the expiry index; no error if absent.
	RemoveExpiry(e Expiry) error
	// PutFact stores a fact under a business's message id.
	PutFact(businessID, messageID string, f *storagev1.Fact) error
	// DeleteFact removes a fact; no error if absent.
	DeleteFact(businessID, messageID string) error
	// PutTemplate stores a template's category history.
	PutTemplate(wabaID, name string, h *storagev1.TemplateHistory) error
	// PutDiscrepancy stores a discrepancy of a message in a business's month.
	PutDiscrepancy(businessID, month, messageID string, d *storagev1.Discrepancy) error
	// DeleteDiscrepancy removes one; no error if absent.
	DeleteDiscrepancy(businessID, month, messageID string) error
	// AddCounter adds delta to a counter and returns the new value.
	AddCounter(key CounterKey, delta int64) (int64, error)
	// AddUsage adds delta's counts to a usage row (creating it), and sets its currency.
	AddUsage(key UsageKey, delta *storagev1.Usage) error
}

// ExpiryKind is what expires at an expiry index entry.
type ExpiryKind byte

const (
	// ExpiryCSW is a customer service window closing.
	ExpiryCSW ExpiryKind = 'c'
	// ExpiryFEP is a free entry point window closing.
	ExpiryFEP ExpiryKind = 'f'
)

// Expiry is an entry of the expiry index, which the watch stream reads: the time
// something of a pair expires. The pair records the times it is indexed under
// (Pair.csw_indexed, Pair.fep_indexed) so the entry can be moved.
type Expiry struct {
	At         int64 // Unix nanoseconds, >= 0
	Kind       ExpiryKind
	BusinessID string
	UserID     string
}

// Scope is whose usage a row counts.
type Scope byte

const (
	// ScopeBusiness counts one business phone number.
	ScopeBusiness Scope = 'b'
	// ScopePortfolio counts a business portfolio.
	ScopePortfolio Scope = 'p'
)

// UsageKey identifies a usage row.
type UsageKey struct {
	Scope       Scope
	ID          string // business id or portfolio id
	Month       string // "YYYY-MM", business-local
	Market      string
	Category    int32 // convstate.v1.ChargeCategory
	PricingType int32 // convstate.v1.PricingType
}

// CounterKey identifies a monthly counter: free tiers per WABA, volume tiers per
// portfolio × market × category, the service allowance per business number.
type CounterKey struct {
	Kind     string // what is counted, e.g. "tier", "cbp-free", "service-free"
	ID       string // the WABA, portfolio or business id it counts for
	Month    string // "YYYY-MM", business-local
	Market   string // empty when not per market
	Category int32  // 0 when not per category
}
