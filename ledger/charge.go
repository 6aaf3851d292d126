package ledger

import (
	"slices"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
	"github.com/convstate/convstate/window"
)

var (
	statusDelivered = int32(convstatev1.MessageStatus_MESSAGE_STATUS_DELIVERED)
	statusRead      = int32(convstatev1.MessageStatus_MESSAGE_STATUS_READ)
	statusFailed    = int32(convstatev1.MessageStatus_MESSAGE_STATUS_FAILED)
)

// status records a status of a business message. The first delivered (or read,
// when delivered never came first) decides the charge; failed messages cost nothing;
// a 131047 for a free-form message force-closes the window.
func (a *applier) status(p *prepared, m *convstatev1.StatusUpdate) (*convstatev1.RecordStatusResponse, error) {
	f, err := a.tx.Fact(p.business, p.id)
	// A status of a message never seen sent can be recorded when it names the
	// recipient and either carries Meta's pricing (its category) or is a failure
	// (which costs nothing whatever the message was).
	standIn := notFound(err) && p.user != "" && (m.GetPricing() != nil || m.GetStatus() == convstatev1.MessageStatus_MESSAGE_STATUS_FAILED)
	switch {
	case notFound(err) && !standIn:
		return nil, unknownMessage(p.business, p.id)
	case err == nil && f.GetOutbound() == nil:
		return nil, idConflict(p.id, kindName(f), "a business message (statuses are for business messages)")
	case err != nil && !standIn:
		return nil, err
	}
	// The status is accepted: learn the identity it teaches before its charge is decided
	// (on the merged clock), and read its message again if the merge decided it again.
	merged, lerr := a.learnIdentity(p)
	switch {
	case lerr != nil:
		return nil, lerr
	case standIn:
		if f, err = a.fromStatus(p, m); err != nil {
			return nil, err
		}
	case merged:
		if f, err = a.tx.Fact(p.business, p.id); err != nil {
			return nil, err
		}
	}
	out := f.GetOutbound()
	var moved fepChange
	code := int32(m.GetStatus())
	for _, s := range out.Statuses {
		if s.Status == code {
			return statusResponse(out, s, true), nil
		}
	}
	s := &storagev1.Status{Status: code, Timestamp: p.at, ErrorCode: m.GetErrorCode()}
	out.Statuses = append(out.Statuses, s)
	// Keep Meta's most final pricing object: delivered/read over sent.
	if r := reported(m.GetPricing(), code); r != nil && (out.Reported == nil || code != int32(convstatev1.MessageStatus_MESSAGE_STATUS_SENT)) {
		out.Reported = r
		if err := a.reconcile(p.business, p.id, f, out); err != nil {
			return nil, err
		}
	}

	switch code {
	case statusFailed:
		if m.GetErrorCode() == ErrReengagement && out.Template == 0 {
			if err := a.forceClose(p, f, s, out); err != nil {
				return nil, err
			}
		}
	case statusDelivered, statusRead:
		switch {
		case failed(out):
		case out.Charge == nil:
			if moved, err = a.charge(p, f.UserId, f, out, code, nil, nil); err != nil {
				return nil, err
			}
		case code == statusDelivered && out.ChargeStatus == statusRead && p.at < out.Charge.ChargedAt:
			if err := a.deliveredAfterRead(p, f, out); err != nil {
				return nil, err
			}
		}
	}
	if err := a.tx.PutFact(p.business, p.id, f); err != nil {
		return nil, err
	}
	// A first decision that moved the windows (a late first reply's replacing a later
	// one's, or opening one over deliveries decided before it): they are decided again.
	if err := a.followWindows(p.business, f.UserId, p.id, moved, causeLateDelivery); err != nil {
		return nil, err
	}
	return statusResponse(out, s, false), nil
}

func failed(out *storagev1.Outbound) bool {
	for _, s := range out.Statuses {
		if s.Status == statusFailed {
			return true
		}
	}
	return false
}

func statusResponse(out *storagev1.Outbound, s *storagev1.Status, dup bool) *convstatev1.RecordStatusResponse {
	r := &convstatev1.RecordStatusResponse{
		Duplicate:         dup,
		WindowForceClosed: s.WindowForceClosed,
		Discrepancy:       s.Discrepancy,
	}
	if out.Charge != nil && out.ChargeStatus == s.Status {
		r.Charge = chargeToAPI(out.Charge)
	}
	return r
}

// forceClose closes the window from the rejected message's send time: Meta says it
// was closed when the message was sent (131047, "more than 24 hours have passed since
// the recipient last replied"), so a user message between the send and the failed
// status reopens it. If convstate had it open then, that is a discrepancy.
func (a *applier) forceClose(p *prepared, f *storagev1.Fact, s *storagev1.Status, out *storagev1.Outbound) error {
	pair, err := pairOf(a.tx, p.business, f.UserId)
	if notFound(err) {
		pair, err = &storagev1.Pair{BusinessId: p.business, UserId: f.UserId}, nil
	}
	if err != nil {
		return err
	}
	clock := clockOf(pair)
	closed := min(f.Timestamp, p.at) // a message convstate never saw sent has its first status's time
	// On the clock as known now, not as at the send (out.InWindow): what was recorded
	// since, late or under the user's other id, counts, whatever order it came in.
	s.Discrepancy = clock.At(closed).Open
	clock.AddClosure(closed)
	s.WindowForceClosed = true
	if s.Discrepancy {
		a.ev.discrepancies = append(a.ev.discrepancies, p.business)
		prof, err := a.profile(p.business)
		if err != nil {
			return err
		}
		if err := a.windowDiscrepancy(prof, p.business, p.id, f.UserId, p.at); err != nil {
			return err
		}
	}
	deliveries := deliveriesOf(pair)
	if err := a.savePair(pair, clock, p.at); err != nil {
		return err
	}
	// Deliveries recorded before the failure but after the close (a template sent
	// when the free-form message failed): the window was closed for them.
	return a.redecideDeliveries(p.business, closed, deliveries, closed+window.CSW, causeLateClose)
}

// charge decides the charge of a message delivered (or read) at p.at, on the clock of
// the pair of user (the message's, or when it is decided again, the pair it was
// decided on). held are the places a charge decided before (and being decided again)
// has in the counters it incremented: read as the counters' values, and not
// incremented again.
func (a *applier) charge(p *prepared, user string, f *storagev1.Fact, out *storagev1.Outbound, status int32, held map[store.CounterKey]int64, release *window.Interval) (fepChange, error) {
	prof, err := a.profile(p.business)
	if err != nil {
		return fepChange{}, err
	}
	pair, err := pairOf(a.tx, p.business, user)
	if notFound(err) {
		// The pair was garbage-collected after the message was sent.
		region, rerr := pricing.Region(user, out.UserPhone)
		if rerr != nil {
			return fepChange{}, rerr
		}
		pair, err = &storagev1.Pair{BusinessId: p.business, UserId: user, UserPhone: out.UserPhone, Region: region}, nil
	}
	if err != nil {
		return fepChange{}, err
	}
	clock := clockOf(pair)
	before := slices.Clone(clock.FEPWindows)
	// The window its charge opened, decided again (unless the clock keeps it as history:
	// ReleaseFEP).
	if release != nil {
		clock.ReleaseFEP(*release)
	}
	in := pricingInput(prof, p.at, pair.Region, templateCategory(convstatev1.TemplateCategory(out.Template)))
	in.Explain = true // a recorded charge says why, for audit
	counts := &placedCounts{txCounts: txCounts{tx: a.tx, prof: prof, month: in.Month}, held: held, seen: map[store.CounterKey]int64{}}
	c, eff, err := a.l.cfg.Engine.Price(in, clock, counts)
	if err != nil {
		return fepChange{}, err
	}
	eff.Apply(clock, p.at, c.Rules)
	var incs []*storagev1.CounterIncrement
	for _, inc := range eff.Increments {
		k := counts.key(inc.Kind, inc.Market, inc.Category)
		if _, kept := held[k]; !kept {
			if _, err := a.tx.AddCounter(k, 1); err != nil {
				return fepChange{}, err
			}
		}
		incs = append(incs, &storagev1.CounterIncrement{Kind: string(inc.Kind), Market: inc.Market, Category: int32(inc.Category),
			Position: counts.seen[k], ScopeId: k.ID})
	}
	c.Explanation += recategorized(out)
	out.Charge = chargeRecord(&c, p.at, in.Month)
	out.Charge.Increments, out.Charge.PortfolioId, out.Charge.PairUser = incs, prof.rec.PortfolioId, user
	if eff.OpenFEP > 0 {
		out.Charge.FepWindowEnd = p.at + eff.OpenFEP
	}
	out.ChargeStatus = status
	if err := a.addUsage(prof, out.Charge, 1); err != nil {
		return fepChange{}, err
	}
	if err := a.reconcile(p.business, p.id, f, out); err != nil {
		return fepChange{}, err
	}
	a.ev.charges = append(a.ev.charges, &c)
	if err := noteDelivery(pair, p.id, p.at); err != nil {
		return fepChange{}, err
	}
	return windowsChange(before, clock.FEPWindows), a.savePair(pair, clock, p.at)
}

// pricingInput describes a message delivered at t to the engine.
func pricingInput(prof *profile, t int64, region string, tmpl pricing.Category) pricing.Input {
	return pricing.Input{
		At:               t,
		Day:              prof.day(t),
		Month:            prof.month(t),
		Currency:         prof.rec.Currency,
		Region:           region,
		Template:         tmpl,
		AuthIntlEligible: prof.authIntlEligible(t),
		PrimaryCountry:   prof.rec.PrimaryCountry,
	}
}

// addUsage counts a charge in the business's and the portfolio's monthly usage
// (sign 1), or takes it out again (sign -1).
func (a *applier) addUsage(prof *profile, c *storagev1.Charge, sign int64) error {
	d := &storagev1.Usage{Volume: sign, Currency: c.Currency}
	if sign < 0 {
		d.Currency = "" // a count-only correction keeps the row's currency
	}
	if c.ConversationOpened {
		d.Conversations = sign
	}
	if c.RateUnknown {
		d.RateUnknownVolume = sign
	} else {
		d.CostNanos = sign * c.AmountNanos
	}
	portfolio := prof.rec.PortfolioId
	if sign < 0 && c.PortfolioId != "" {
		portfolio = c.PortfolioId // where it was counted
	}
	for _, scope := range []struct {
		s  store.Scope
		id string
	}{{store.ScopeBusiness, prof.rec.BusinessId}, {store.ScopePortfolio, portfolio}} {
		k := store.UsageKey{Scope: scope.s, ID: scope.id, Month: c.Month, Market: c.Market, Category: c.Category, PricingType: c.PricingType}
		if err := a.tx.AddUsage(k, d); err != nil {
			return err
		}
	}
	return nil
}

// txCounts reads the engine's counters in a transaction: volume tiers per
// portfolio, free tiers per WABA, the service allowance per business number.
type txCounts struct {
	tx    store.ReadTx
	prof  *profile
	month string
}

func (c txCounts) key(kind pricing.CounterKind, market string, cat pricing.Category) store.CounterKey {
	k := store.CounterKey{Kind: string(kind), Month: c.month, Market: market, Category: int32(cat)}
	switch kind {
	case pricing.CountTier:
		k.ID = c.prof.rec.PortfolioId
	case pricing.CountCBPFree:
		k.ID = c.prof.rec.WabaId
	default:
		k.ID = c.prof.rec.BusinessId
	}
	return k
}

func (c txCounts) Count(kind pricing.CounterKind, market string, cat pricing.Category) (int64, error) {
	return c.tx.Counter(c.key(kind, market, cat))
}

// placedCounts are the counters as one charge sees them: a counter in held reads as
// the place the message already has in it, and every value read is kept in seen (the
// place each increment records).
type placedCounts struct {
	txCounts
	held, seen map[store.CounterKey]int64
}

func (c *placedCounts) Count(kind pricing.CounterKind, market string, cat pricing.Category) (int64, error) {
	k := c.key(kind, market, cat)
	n, ok := c.held[k]
	if !ok {
		var err error
		if n, err = c.txCounts.Count(kind, market, cat); err != nil {
			return 0, err
		}
	}
	c.seen[k] = n
	return n, nil
}

// fromStatus records a business message convstate never saw sent, from a status
// naming its recipient: a template of Meta's reported category (free-form for
// service or none), sent at the status's time. It is filed under the recipient the
// status names (its phone number when it has one) and keeps the BSUID beside it:
// the sender may still record the message, to either.
func (a *applier) fromStatus(p *prepared, m *convstatev1.StatusUpdate) (*storagev1.Fact, error) {
	pair, err := a.pair(p)
	if err != nil {
		return nil, err
	}
	clock := clockOf(pair)
	w := clock.At(p.at)
	out := &storagev1.Outbound{
		Template:        categoryForReported(m.GetPricing()),
		UserPhone:       p.phone,
		InWindow:        w.Open,
		WindowExpiresAt: w.ExpiresAt,
		FromStatus:      true,
		RecipientUserId: p.bsuid,
	}
	if err := a.savePair(pair, clock, p.at); err != nil {
		return nil, err
	}
	return &storagev1.Fact{UserId: p.user, Timestamp: p.at, Kind: &storagev1.Fact_Outbound{Outbound: out}}, nil
}
