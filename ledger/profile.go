package ledger

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/store"
)

// Profile defaults (design.md §2).
const (
	DefaultTimeZone = "UTC"
	DefaultCurrency = "USD"
)

// profile is a business profile with its defaults applied and its zone loaded.
type profile struct {
	rec *storagev1.Business
	loc *time.Location
	// today memoizes day and month for the last local day asked about: every decision
	// needs them, and formatting a time costs more than the rest of the pricing input.
	today atomic.Pointer[localDay]
}

// localDay is one local day of a profile: [start, end) in Unix nanoseconds.
type localDay struct {
	start, end int64
	day, month string
}

// withDefaults fills the unset fields of a profile record.
func withDefaults(b *storagev1.Business) *storagev1.Business {
	if b.TimeZone == "" {
		b.TimeZone = DefaultTimeZone
	}
	if b.Currency == "" {
		b.Currency = DefaultCurrency
	}
	if b.WabaId == "" {
		b.WabaId = b.BusinessId
	}
	if b.PortfolioId == "" {
		b.PortfolioId = b.BusinessId
	}
	return b
}

// loadProfile reads a business's profile, or the defaults.
func (l *Ledger) loadProfile(tx store.ReadTx, business string) (*profile, bool, error) {
	rec, err := tx.Business(business)
	stored := err == nil
	if notFound(err) {
		rec, err = &storagev1.Business{BusinessId: business}, nil
	}
	if err != nil {
		return nil, false, err
	}
	withDefaults(rec)
	loc, err := l.location(rec.TimeZone)
	if err != nil {
		// Validated when set; a zone that stopped loading is an operator problem,
		// so fall back to UTC rather than refusing every fact of the business.
		loc = time.UTC
	}
	return &profile{rec: rec, loc: loc}, stored, nil
}

// cachedProfile is loadProfile for the read paths, through a cache: decisions
// need the profile on every call and it changes only through SetProfile, which
// refreshes the cache once its write is durable.
func (l *Ledger) cachedProfile(tx store.ReadTx, business string) (*profile, error) {
	if v, ok := l.profiles.Load(business); ok {
		return v.(*profile), nil
	}
	p, _, err := l.loadProfile(tx, business)
	if err != nil {
		return nil, err
	}
	l.profiles.Store(business, p)
	return p, nil
}

// day and month of t in the business's zone.
func (p *profile) day(t int64) string   { return p.localDay(t).day }
func (p *profile) month(t int64) string { return p.localDay(t).month }

func (p *profile) localDay(t int64) *localDay {
	if d := p.today.Load(); d != nil && d.start <= t && t < d.end {
		return d
	}
	lt := time.Unix(0, t).In(p.loc)
	y, m, dd := lt.Date()
	start := time.Date(y, m, dd, 0, 0, 0, 0, p.loc)
	d := &localDay{start: start.UnixNano(), end: time.Date(y, m, dd+1, 0, 0, 0, 0, p.loc).UnixNano(),
		day: lt.Format("2006-01-02"), month: lt.Format("2006-01")}
	if d.start <= t && t < d.end { // a zone whose midnight is skipped starts its day later
		p.today.Store(d)
	}
	return d
}

// authIntlEligible reports whether the business was eligible for
// authentication-international rates at t.
func (p *profile) authIntlEligible(t int64) bool {
	s := p.rec.AuthInternationalStart
	return s != 0 && s <= t
}

func profileToAPI(b *storagev1.Business) *convstatev1.BusinessProfile {
	p := &convstatev1.BusinessProfile{
		BusinessId:     b.BusinessId,
		TimeZone:       b.TimeZone,
		Currency:       b.Currency,
		WabaId:         b.WabaId,
		PortfolioId:    b.PortfolioId,
		PrimaryCountry: b.PrimaryCountry,
	}
	if b.AuthInternationalStart != 0 {
		p.AuthInternationalStart = timestamppb.New(time.Unix(0, b.AuthInternationalStart))
	}
	return p
}

// SetProfile validates and stores a business profile, defaults filled in.
func (l *Ledger) SetProfile(ctx context.Context, p *convstatev1.BusinessProfile) (*convstatev1.BusinessProfile, error) {
	rec := &storagev1.Business{
		BusinessId:     p.GetBusinessId(),
		TimeZone:       p.GetTimeZone(),
		Currency:       strings.ToUpper(p.GetCurrency()),
		WabaId:         p.GetWabaId(),
		PortfolioId:    p.GetPortfolioId(),
		PrimaryCountry: strings.ToUpper(p.GetPrimaryCountry()),
	}
	if ts := p.GetAuthInternationalStart(); ts != nil {
		rec.AuthInternationalStart = ts.AsTime().UnixNano()
	}
	withDefaults(rec)
	if _, err := l.location(rec.TimeZone); err != nil || rec.TimeZone == "Local" {
		return nil, &Error{
			Code:   codes.InvalidArgument,
			Reason: convstatev1.ErrorReason_ERROR_REASON_INVALID_TIME_ZONE,
			Msg:    fmt.Sprintf("time_zone %q is not an IANA time zone name (e.g. \"America/Sao_Paulo\")", rec.TimeZone),
			Field:  "time_zone",
		}
	}
	for _, id := range []struct{ field, v string }{{"waba_id", rec.WabaId}, {"portfolio_id", rec.PortfolioId}} {
		if strings.ContainsAny(id.v, "\x00") {
			return nil, invalidField(id.field, "%s must not contain NUL", id.field)
		}
	}
	err := l.st.Update(ctx, func(tx store.Tx) error { return tx.PutBusiness(rec) })
	if err != nil {
		return nil, err
	}
	l.profiles.Delete(rec.BusinessId)
	return profileToAPI(rec), nil
}

// GetProfile returns a business's profile (the defaults if never set).
func (l *Ledger) GetProfile(ctx context.Context, business string) (*convstatev1.BusinessProfile, bool, error) {
	var (
		p      *profile
		stored bool
	)
	err := l.view(ctx, func(tx store.ReadTx) error {
		var err error
		p, stored, err = l.loadProfile(tx, business)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return profileToAPI(p.rec), stored, nil
}
