package ledger

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/store"
	"github.com/convstate/convstate/window"
)

// Question is one decision to make.
type Question struct {
	Business string
	User     string // as given
	Phone    string // optional E.164 digits for a BSUID user
	Time     *timestamppb.Timestamp
	Template convstatev1.TemplateCategory
	Margin   time.Duration // < 0: the server's default
	Explain  bool          // include the quote's explanation
}

// Decide answers whether a free-form message may be sent to a pair at a time, and
// what the intended message would cost if delivered then.
func (l *Ledger) Decide(ctx context.Context, q Question) (*convstatev1.DecideResponse, error) {
	var resp *convstatev1.DecideResponse
	err := l.view(ctx, func(tx store.ReadTx) error {
		var err error
		resp, err = l.decide(tx, q, map[string]*profile{})
		return err
	})
	return resp, err
}

// decideChunk is how many users DecideBatch decides in one read transaction. A View holds
// the store's overlay lock, which the log writer needs to publish writes and so to acknowledge
// them: a 10,000-user batch in one View would hold every write, and every View queued behind
// it, for tens of milliseconds.
const decideChunk = 256

// DecideBatch decides for many users of one business, decideChunk users per read
// transaction (each decision is on its own; they need not share a snapshot).
func (l *Ledger) DecideBatch(ctx context.Context, q Question, users []string) ([]*convstatev1.DecideBatchResult, error) {
	out := make([]*convstatev1.DecideBatchResult, len(users))
	profiles := map[string]*profile{}
	for lo := 0; lo < len(users); lo += decideChunk {
		if err := ctx.Err(); err != nil { // honour the caller's deadline on big batches
			return nil, err
		}
		chunk := users[lo:min(lo+decideChunk, len(users))]
		err := l.view(ctx, func(tx store.ReadTx) error {
			for i, u := range chunk {
				qu := q
				qu.User = u
				r := &convstatev1.DecideBatchResult{UserId: u}
				d, err := l.decide(tx, qu, profiles)
				if e, ok := AsError(err); ok {
					r.Result = &convstatev1.DecideBatchResult_Error{Error: errorResult(e).GetError()}
				} else if err != nil {
					return err
				} else {
					r.Result = &convstatev1.DecideBatchResult_Decision{Decision: d}
				}
				out[lo+i] = r
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (l *Ledger) decide(tx store.ReadTx, q Question, profiles map[string]*profile) (*convstatev1.DecideResponse, error) {
	user, phone, region, e := recipient("user_id", q.User, q.Phone)
	if e != nil {
		return nil, e
	}
	t := l.cfg.Now().UnixNano()
	if q.Time != nil {
		if err := q.Time.CheckValid(); err != nil {
			return nil, invalidField("time", "time is not a valid timestamp: %v", err)
		}
		t = q.Time.AsTime().UnixNano()
	}
	margin := int64(l.cfg.Margin)
	if q.Margin >= 0 {
		margin = int64(q.Margin)
	}
	prof, ok := profiles[q.Business]
	if !ok {
		var err error
		if prof, err = l.cachedProfile(tx, q.Business); err != nil {
			return nil, err
		}
		profiles[q.Business] = prof
	}
	rec, clock, err := decisionPair(tx, q.Business, user, phone)
	if err != nil {
		return nil, err
	}
	// A BSUID user's number, learned from an earlier fact, decides the market
	// unless this question names one.
	if phone == "" && rec.Region != "" {
		region = rec.Region
	}
	w := clock.At(t)
	allowed, sendBefore, reason := w.Decision(t, margin)
	var st stamps
	resp := &convstatev1.DecideResponse{
		FreeFormAllowed:  allowed,
		TemplateRequired: !allowed,
		Reason:           convstatev1.DecisionReason(reason),
		WindowExpiresAt:  st.ts(w.ExpiresAt),
		LastUserActivity: st.ts(w.LastActivity),
		Time:             st.ts(t),
	}
	if w.ExpiresAt != 0 {
		resp.SendBefore = st.ts(sendBefore)
	}
	if fep, ok := clock.FEPAt(t); ok {
		resp.FepExpiresAt = st.ts(fep.End)
	}
	day := prof.day(t)
	if rules := pricing.RulesOn(day); rules.Model() == pricing.CBP {
		resp.OpenConversations = conversationsToAPI(clock.ConversationsAt(t, string(rules)))
	}
	tmpl := templateCategory(q.Template)
	in := pricingInput(prof, t, region, tmpl)
	in.Explain = q.Explain
	c, _, err := l.cfg.Engine.Price(in, clock, txCounts{tx: tx, prof: prof, month: in.Month})
	if err != nil {
		return nil, err
	}
	resp.Quote = chargeToAPIStamps(chargeRecord(&c, t, in.Month), &st)
	var warn []int32
	if pricing.USMarketingPaused(region, day, tmpl) {
		warn = append(warn, int32(convstatev1.WarningCode_WARNING_CODE_US_MARKETING_PAUSED))
	}
	if tmpl == pricing.CategoryUnspecified && !w.Open {
		warn = append(warn, int32(convstatev1.WarningCode_WARNING_CODE_FREE_FORM_OUTSIDE_WINDOW))
	}
	if c.RateUnknown {
		warn = append(warn, int32(convstatev1.WarningCode_WARNING_CODE_RATE_UNKNOWN))
	}
	resp.Warnings = warningsToAPI(warn)
	return resp, nil
}

// GetPair returns a pair's recorded state.
func (l *Ledger) GetPair(ctx context.Context, business, user string) (*convstatev1.GetPairResponse, error) {
	u, err := pricing.NormalizeUser(user)
	if err != nil {
		return nil, invalidUser("user_id", user, err)
	}
	var rec *storagev1.Pair
	err = l.view(ctx, func(tx store.ReadTx) error {
		var err error
		rec, err = pairOf(tx, business, u)
		return err
	})
	if notFound(err) {
		return nil, pairNotFound(business, u)
	}
	if err != nil {
		return nil, err
	}
	now := l.cfg.Now().UnixNano()
	clock := clockOf(rec)
	latest := clock.Latest()
	resp := &convstatev1.GetPairResponse{
		BusinessId:       business,
		UserId:           rec.UserId, // a BSUID's number, when it is known
		LastUserActivity: ts(latest.LastActivity),
		WindowExpiresAt:  ts(latest.ExpiresAt),
		WindowOpen:       clock.At(now).Open,
		FepEligibleUntil: ts(clock.EligibleUntil()),
	}
	if c, ok := clock.LastClosure(); ok {
		resp.ForceClosedAt = ts(c)
	}
	if f, ok := clock.LatestFEP(); ok {
		resp.FepOpenedAt, resp.FepExpiresAt = ts(f.Start), ts(f.End)
	}
	var open []window.Conversation
	for _, c := range clock.Conversations {
		if c.Start <= now && now < c.End {
			open = append(open, c)
		}
	}
	resp.OpenConversations = conversationsToAPI(open)
	for _, a := range clock.Activity {
		resp.RecentUserActivity = append(resp.RecentUserActivity, ts(a))
	}
	return resp, nil
}
