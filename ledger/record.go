package ledger

import (
	"context"
	"time"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
	"github.com/convstate/convstate/window"
)

// ErrReengagement is Meta's error code for a free-form message sent outside the
// customer service window ("Re-engagement message").
const ErrReengagement = 131047

// earliest is the earliest timestamp accepted: WhatsApp did not exist before, so an
// earlier time is a unit mistake (milliseconds vs seconds) or an unset field.
var earliest = time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC)

// prepared is a fact checked outside the transaction.
type prepared struct {
	fact     *convstatev1.Fact
	business string
	user     string // normalized; empty for statuses
	bsuid    string // a status's recipient BSUID beside its phone recipient (user)
	filed    string // the number a BSUID user's pair is, once learnIdentity has read its alias
	id       string
	phone    string
	region   string
	at       int64
	err      *Error
}

// prepare validates what protovalidate cannot: user ids, phone numbers, and that the
// timestamp is Meta's and not in the future.
func (l *Ledger) prepare(f *convstatev1.Fact, now time.Time) prepared {
	p := prepared{fact: f}
	var (
		user, phone string
		stamp       interface{ AsTime() time.Time }
	)
	switch k := f.GetKind().(type) {
	case *convstatev1.Fact_UserMessage:
		m := k.UserMessage
		p.business, p.id, user, phone, stamp = m.GetBusinessId(), m.GetMessageId(), m.GetUserId(), m.GetUserPhone(), m.GetTimestamp()
	case *convstatev1.Fact_UserCall:
		m := k.UserCall
		p.business, p.id, user, phone, stamp = m.GetBusinessId(), m.GetCallId(), m.GetUserId(), m.GetUserPhone(), m.GetTimestamp()
	case *convstatev1.Fact_BusinessMessage:
		m := k.BusinessMessage
		p.business, p.id, user, phone, stamp = m.GetBusinessId(), m.GetMessageId(), m.GetUserId(), m.GetUserPhone(), m.GetTimestamp()
	case *convstatev1.Fact_Status:
		m := k.Status
		p.business, p.id, user = m.GetBusinessId(), m.GetMessageId(), m.GetRecipientId()
		if user == "" {
			user = m.GetRecipientUserId()
		}
		if m.GetTimestamp() != nil {
			stamp = m.GetTimestamp()
		}
	case *convstatev1.Fact_TemplateCategoryChange:
		if m := k.TemplateCategoryChange; m.GetTimestamp() != nil {
			stamp = m.GetTimestamp()
		}
	default:
		p.err = invalidField("kind", "the fact has no kind: set one of user_message, user_call, business_message, status")
		return p
	}
	userField := "user_id"
	if f.GetStatus() != nil {
		userField = "recipient_id" // optional: lets a status of an unseen message be recorded
	}
	if f.GetTemplateCategoryChange() == nil && (f.GetStatus() == nil || user != "") {
		if p.user, p.phone, p.region, p.err = recipient(userField, user, phone); p.err != nil {
			return p
		}
	}
	if b := f.GetStatus().GetRecipientUserId(); b != "" {
		if p.bsuid, p.err = beside(p.user, b); p.err != nil {
			return p
		}
	}
	if stamp == nil {
		p.err = invalidField("timestamp", "timestamp is required: Meta's time of the event")
		return p
	}
	t := stamp.AsTime()
	switch {
	case t.Before(earliest):
		p.err = invalidField("timestamp", "timestamp %s is before 2009: not a WhatsApp timestamp (seconds mistaken for milliseconds, or unset?)", t.UTC().Format(time.RFC3339))
	case t.After(now.Add(l.cfg.MaxSkew)):
		p.err = inFuture("timestamp", t, l.cfg.MaxSkew)
	}
	p.at = t.UnixNano()
	return p
}

// events collects what a successful Update did, for callbacks after the commit
// (the Update function may run more than once).
type events struct {
	charges              []*pricing.Charge
	discrepancies        []string
	pricingDiscrepancies int
	redecided            []string // causes
}

// Record records facts in order, in one durable transaction, with one result per
// fact. Invalid facts get an error result and write nothing.
func (l *Ledger) Record(ctx context.Context, facts []*convstatev1.Fact) ([]*convstatev1.FactResult, error) {
	now := l.cfg.Now()
	preps := make([]prepared, len(facts))
	for i, f := range facts {
		preps[i] = l.prepare(f, now)
	}
	var (
		results []*convstatev1.FactResult
		ev      events
	)
	err := l.st.Update(ctx, func(tx store.Tx) error {
		results = make([]*convstatev1.FactResult, len(preps))
		ev = events{}
		a := applier{l: l, tx: tx, ev: &ev, profiles: map[string]*profile{}, now: now.UnixNano()}
		for i := range preps {
			p := &preps[i]
			if p.err != nil {
				results[i] = errorResult(p.err)
				continue
			}
			r, err := a.apply(p)
			if e, ok := AsError(err); ok {
				results[i] = errorResult(e)
				continue
			}
			if err != nil {
				return err
			}
			results[i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, c := range ev.charges {
		if l.cfg.OnCharge != nil {
			l.cfg.OnCharge(c)
		}
	}
	for _, b := range ev.discrepancies {
		if l.cfg.OnDiscrepancy != nil {
			l.cfg.OnDiscrepancy(b)
		}
	}
	for _, cause := range ev.redecided {
		if l.cfg.OnRedecided != nil {
			l.cfg.OnRedecided(cause)
		}
	}
	if l.cfg.OnPricingDiscrepancy != nil && ev.pricingDiscrepancies > 0 {
		l.cfg.OnPricingDiscrepancy(ev.pricingDiscrepancies)
	}
	return results, nil
}

// errorResult converts a client error to a batch item result.
func errorResult(e *Error) *convstatev1.FactResult {
	ie := &convstatev1.ItemError{
		Code:     int32(e.Code),
		CodeName: e.Code.String(),
		Message:  e.Msg,
		Reason:   e.Reason,
		Metadata: e.Metadata,
	}
	if e.Field != "" {
		ie.FieldViolations = []*convstatev1.FieldViolation{{Field: e.Field, Description: e.Msg}}
	}
	return &convstatev1.FactResult{Result: &convstatev1.FactResult_Error{Error: ie}}
}

// applier applies prepared facts inside one transaction.
type applier struct {
	l        *Ledger
	tx       store.Tx
	ev       *events
	profiles map[string]*profile
	now      int64  // the server's clock when the facts were received
	st       stamps // the results' timestamps, allocated a few at a time
	// deciding are the messages whose charges are being decided up the call stack: a
	// cascade of charges decided again (followWindows) leaves them alone.
	deciding map[string]bool
	depth    int // nested cascades
}

func (a *applier) profile(business string) (*profile, error) {
	if p, ok := a.profiles[business]; ok {
		return p, nil
	}
	p, _, err := a.l.loadProfile(a.tx, business)
	if err != nil {
		return nil, err
	}
	a.profiles[business] = p
	return p, nil
}

// pair loads a pair (a new one if absent) and refreshes its recipient details.
func (a *applier) pair(p *prepared) (*storagev1.Pair, error) {
	var (
		pair *storagev1.Pair
		err  error
	)
	if p.filed != "" { // the alias, just read
		pair, err = numberPair(a.tx, p.business, p.filed)
	} else {
		pair, err = pairOf(a.tx, p.business, p.user)
	}
	if notFound(err) {
		pair, err = &storagev1.Pair{BusinessId: p.business, UserId: p.user}, nil
	}
	if err != nil {
		return nil, err
	}
	if pair.UserId != p.user { // a BSUID's number's pair: its market is the number's
		return pair, nil
	}
	if p.phone != "" {
		pair.UserPhone, pair.Region = p.phone, p.region
	} else if pair.Region == "" {
		pair.Region = p.region
	}
	return pair, nil
}

// savePair writes back a pair and its clock, and moves its expiry index entries.
func (a *applier) savePair(pair *storagev1.Pair, clock *window.Pair, at int64) error {
	pair.LastFact = max(pair.LastFact, at)
	storeClock(pair, clock)
	if err := a.reindex(pair, clock); err != nil {
		return err
	}
	return a.tx.PutPair(pair)
}

func (a *applier) apply(p *prepared) (*convstatev1.FactResult, error) {
	switch k := p.fact.GetKind().(type) {
	case *convstatev1.Fact_UserMessage:
		r, err := a.userActivity(p, false, k.UserMessage.GetEntryPoint())
		if err != nil {
			return nil, err
		}
		return &convstatev1.FactResult{Result: &convstatev1.FactResult_UserMessage{UserMessage: a.userMessageResponse(r)}}, nil
	case *convstatev1.Fact_UserCall:
		r, err := a.userActivity(p, true, 0)
		if err != nil {
			return nil, err
		}
		return &convstatev1.FactResult{Result: &convstatev1.FactResult_UserCall{UserCall: a.userCallResponse(r)}}, nil
	case *convstatev1.Fact_BusinessMessage:
		r, err := a.businessMessage(p, k.BusinessMessage)
		if err != nil {
			return nil, err
		}
		return &convstatev1.FactResult{Result: &convstatev1.FactResult_BusinessMessage{BusinessMessage: r}}, nil
	case *convstatev1.Fact_Status:
		r, err := a.status(p, k.Status)
		if err != nil {
			return nil, err
		}
		return &convstatev1.FactResult{Result: &convstatev1.FactResult_Status{Status: r}}, nil
	case *convstatev1.Fact_TemplateCategoryChange:
		r, err := a.templateChange(p, k.TemplateCategoryChange)
		if err != nil {
			return nil, err
		}
		return &convstatev1.FactResult{Result: &convstatev1.FactResult_TemplateCategoryChange{TemplateCategoryChange: r}}, nil
	}
	return nil, invalidField("kind", "unknown fact kind")
}

// userResult is the stored result of a user message or call.
type userResult struct {
	rec       *storagev1.UserActivity
	duplicate bool
}

func (a *applier) userMessageResponse(r userResult) *convstatev1.RecordUserMessageResponse {
	return &convstatev1.RecordUserMessageResponse{
		Duplicate:        r.duplicate,
		WindowExpiresAt:  a.st.ts(r.rec.WindowExpiresAt),
		SendBefore:       a.st.ts(r.rec.WindowExpiresAt - int64(a.l.cfg.Margin)),
		FepEligibleUntil: a.st.ts(r.rec.FepEligibleUntil),
	}
}

func (a *applier) userCallResponse(r userResult) *convstatev1.RecordUserCallResponse {
	return &convstatev1.RecordUserCallResponse{
		Duplicate:       r.duplicate,
		WindowExpiresAt: a.st.ts(r.rec.WindowExpiresAt),
		SendBefore:      a.st.ts(r.rec.WindowExpiresAt - int64(a.l.cfg.Margin)),
	}
}

func kindName(f *storagev1.Fact) string {
	switch {
	case f.GetOutbound().GetFromStatus():
		return "a business message known from its statuses"
	case f.GetOutbound() != nil:
		return "a business message"
	case f.GetUserActivity().GetCall():
		return "a user call"
	}
	return "a user message"
}

// userActivity records a user message or call: it opens or refreshes the window.
func (a *applier) userActivity(p *prepared, call bool, entry convstatev1.EntryPoint) (userResult, error) {
	want := "a user message"
	if call {
		want = "a user call"
	}
	f, err := a.tx.Fact(p.business, p.id)
	if err == nil {
		ua := f.GetUserActivity()
		same, err := a.samePerson(p, f.UserId)
		if err != nil {
			return userResult{}, err
		}
		if ua == nil || ua.Call != call || !same {
			return userResult{}, idConflict(p.id, kindName(f)+" of user "+f.UserId, want+" of user "+p.user)
		}
		if _, err := a.learnIdentity(p); err != nil {
			return userResult{}, err
		}
		if call && p.at < f.Timestamp {
			return a.earlierCallEvent(p, f)
		}
		return userResult{rec: ua, duplicate: true}, nil
	}
	if !notFound(err) {
		return userResult{}, err
	}
	if _, err := a.learnIdentity(p); err != nil {
		return userResult{}, err
	}
	pair, err := a.pair(p)
	if err != nil {
		return userResult{}, err
	}
	clock := clockOf(pair)
	clock.AddActivity(p.at)
	ua := &storagev1.UserActivity{Call: call, EntryPoint: int32(entry)}
	if entry != convstatev1.EntryPoint_ENTRY_POINT_UNSPECIFIED {
		clock.AddEntryPoint(p.at, int32(entry))
		ua.FepEligibleUntil = p.at + window.FEPEligibility
	}
	ua.WindowExpiresAt = clock.Latest().ExpiresAt
	deliveries := deliveriesOf(pair)
	if err := a.savePair(pair, clock, p.at); err != nil {
		return userResult{}, err
	}
	fact := &storagev1.Fact{UserId: p.user, Timestamp: p.at, Kind: &storagev1.Fact_UserActivity{UserActivity: ua}}
	if err := a.tx.PutFact(p.business, p.id, fact); err != nil {
		return userResult{}, err
	}
	// Deliveries charged before this message was recorded, though it came first: its
	// window (or free entry point) may make them free. Unless the clock did not keep it
	// (older than the MaxActivity it keeps).
	if clock.Activity[0] > p.at {
		return userResult{rec: ua}, nil
	}
	until := p.at + window.CSW
	if entry != convstatev1.EntryPoint_ENTRY_POINT_UNSPECIFIED {
		until = p.at + deliveryHorizon
	}
	if err := a.redecideDeliveries(p.business, p.at, deliveries, until, causeLateActivity); err != nil {
		return userResult{}, err
	}
	return userResult{rec: ua}, nil
}

// earlierCallEvent handles a second event of a recorded call (Meta sends one when
// the call connects and one when it ends, with the same call id) that happened
// before the one recorded: the call's activity moves to the earlier time. The
// window then runs from the call's first event whichever webhook arrives first:
// the earliest, because Meta does not say which instant of a call it counts from
// (whatsapp-rules.md §3.1), and the earliest never allows a free-form message
// Meta would reject.
func (a *applier) earlierCallEvent(p *prepared, f *storagev1.Fact) (userResult, error) {
	pair, err := a.pair(p)
	if err != nil {
		return userResult{}, err
	}
	clock := clockOf(pair)
	clock.MoveActivity(f.Timestamp, p.at)
	ua := f.GetUserActivity()
	ua.WindowExpiresAt = clock.Latest().ExpiresAt
	was := f.Timestamp
	f.Timestamp = p.at
	deliveries := deliveriesOf(pair)
	if err := a.savePair(pair, clock, p.at); err != nil {
		return userResult{}, err
	}
	if err := a.tx.PutFact(p.business, p.id, f); err != nil {
		return userResult{}, err
	}
	// The window now ends earlier: a delivery it covered until now may not be free.
	if err := a.redecideDeliveries(p.business, p.at, deliveries, was+window.CSW, causeLateActivity); err != nil {
		return userResult{}, err
	}
	return userResult{rec: ua, duplicate: true}, nil
}

// businessMessage records a message the business sent; it never extends the window.
func (a *applier) businessMessage(p *prepared, m *convstatev1.BusinessMessage) (*convstatev1.RecordBusinessMessageResponse, error) {
	f, err := a.tx.Fact(p.business, p.id)
	if err == nil {
		out := f.GetOutbound()
		same, err := a.samePerson(p, f.UserId)
		if err != nil {
			return nil, err
		}
		if out.GetFromStatus() && (same || standInOf(f, p)) {
			// The stand-in's charge may be decided again as the send teaches who it was to.
			if merged, err := a.learnIdentity(p); err != nil {
				return nil, err
			} else if merged {
				if f, err = a.tx.Fact(p.business, p.id); err != nil {
					return nil, err
				}
			}
			return a.completeStandIn(p, m, f)
		}
		if out == nil || !same {
			return nil, idConflict(p.id, kindName(f)+" of user "+f.UserId, "a business message to user "+p.user)
		}
		if _, err := a.learnIdentity(p); err != nil {
			return nil, err
		}
		return a.outboundResponse(out, true), nil
	}
	if !notFound(err) {
		return nil, err
	}
	out, err := a.outbound(p, m)
	if err != nil {
		return nil, err
	}
	fact := &storagev1.Fact{UserId: p.user, Timestamp: p.at, Kind: &storagev1.Fact_Outbound{Outbound: out}}
	if err := a.tx.PutFact(p.business, p.id, fact); err != nil {
		return nil, err
	}
	return a.outboundResponse(out, false), nil
}

// outbound is the record of a message the business sent, as of its sending: the
// window then, the template's category at the time of use, the warnings. It saves
// the pair (created if new).
func (a *applier) outbound(p *prepared, m *convstatev1.BusinessMessage) (*storagev1.Outbound, error) {
	prof, err := a.profile(p.business)
	if err != nil {
		return nil, err
	}
	if _, err := a.learnIdentity(p); err != nil {
		return nil, err
	}
	pair, err := a.pair(p)
	if err != nil {
		return nil, err
	}
	clock := clockOf(pair)
	w := clock.At(p.at)
	out := &storagev1.Outbound{
		Template:        int32(m.GetTemplate()),
		TemplateName:    m.GetTemplateName(),
		UserPhone:       p.phone,
		InWindow:        w.Open,
		WindowExpiresAt: w.ExpiresAt,
	}
	if err := a.rateAtTimeOfUse(prof, out, p.at); err != nil {
		return nil, err
	}
	tmpl := templateCategory(convstatev1.TemplateCategory(out.Template))
	if tmpl == pricing.CategoryUnspecified && !w.Open {
		out.Warnings = append(out.Warnings, int32(convstatev1.WarningCode_WARNING_CODE_FREE_FORM_OUTSIDE_WINDOW))
	}
	if pricing.USMarketingPaused(pair.Region, prof.day(p.at), tmpl) {
		out.Warnings = append(out.Warnings, int32(convstatev1.WarningCode_WARNING_CODE_US_MARKETING_PAUSED))
	}
	if err := a.savePair(pair, clock, p.at); err != nil {
		return nil, err
	}
	return out, nil
}

func (a *applier) outboundResponse(out *storagev1.Outbound, dup bool) *convstatev1.RecordBusinessMessageResponse {
	return &convstatev1.RecordBusinessMessageResponse{
		Duplicate:       dup,
		InWindow:        out.InWindow,
		WindowExpiresAt: a.st.ts(out.WindowExpiresAt),
		Warnings:        warningsToAPI(out.Warnings),
	}
}
