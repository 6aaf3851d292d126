package ledger

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	storagev1 "github.com/convstate/convstate/gen/go/convstate/storage/v1"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/pricing"
	"github.com/convstate/convstate/window"
)

// ts converts Unix nanoseconds to a Timestamp; 0 is "unset".
func ts(n int64) *timestamppb.Timestamp {
	if n == 0 {
		return nil
	}
	return timestamppb.New(time.Unix(0, n))
}

// stamps hands out the Timestamps of one response from a shared allocation: a decision
// carries up to seven, and each would otherwise be an object of its own for the collector.
type stamps struct{ buf []timestamppb.Timestamp }

// ts is the package ts, allocated from s.
func (s *stamps) ts(n int64) *timestamppb.Timestamp {
	if n == 0 {
		return nil
	}
	if len(s.buf) == cap(s.buf) {
		s.buf = make([]timestamppb.Timestamp, 0, 6) // the earlier ones stay where they are
	}
	s.buf = s.buf[:len(s.buf)+1]
	t := &s.buf[len(s.buf)-1]
	t.Seconds, t.Nanos = n/1e9, int32(n%1e9)
	if t.Nanos < 0 { // as time.Unix: nanoseconds in [0, 1e9)
		t.Seconds, t.Nanos = t.Seconds-1, t.Nanos+1e9
	}
	return t
}

// clockOf converts a stored pair to the window clock.
func clockOf(p *storagev1.Pair) *window.Pair {
	c := &window.Pair{
		Activity: p.GetActivity(),
		Closures: p.GetClosures(),
	}
	for _, e := range p.GetEntryPoints() {
		c.EntryPoints = append(c.EntryPoints, window.EntryPoint{At: e.At, Kind: e.EntryPoint, Used: e.Used})
	}
	for _, w := range p.GetFepWindows() {
		c.FEPWindows = append(c.FEPWindows, window.Interval{Start: w.Start, End: w.End})
	}
	for _, v := range p.GetConversations() {
		c.Conversations = append(c.Conversations, window.Conversation{
			Category: v.Category, Start: v.Start, End: v.End, PricingType: v.PricingType, Rules: v.Rules,
		})
	}
	return c
}

// storeClock writes the window clock back into a stored pair.
func storeClock(p *storagev1.Pair, c *window.Pair) {
	p.Activity = c.Activity
	p.Closures = c.Closures
	p.EntryPoints = p.EntryPoints[:0]
	for _, e := range c.EntryPoints {
		p.EntryPoints = append(p.EntryPoints, &storagev1.EntryPointVisit{At: e.At, EntryPoint: e.Kind, Used: e.Used})
	}
	p.FepWindows = p.FepWindows[:0]
	for _, w := range c.FEPWindows {
		p.FepWindows = append(p.FepWindows, &storagev1.Interval{Start: w.Start, End: w.End})
	}
	p.Conversations = p.Conversations[:0]
	for _, v := range c.Conversations {
		p.Conversations = append(p.Conversations, &storagev1.Conversation{
			Category: v.Category, Start: v.Start, End: v.End, PricingType: v.PricingType, Rules: v.Rules,
		})
	}
}

// chargeRecord converts an engine charge to its stored form.
func chargeRecord(c *pricing.Charge, at int64, month string) *storagev1.Charge {
	return &storagev1.Charge{
		AmountNanos:           int64(c.Amount),
		RateUnknown:           c.RateUnknown,
		Currency:              c.Currency,
		Market:                c.Market,
		Category:              int32(c.Category),
		PricingType:           int32(c.Type),
		Model:                 int32(c.Model),
		Rules:                 string(c.Rules),
		Tier:                  c.Tier,
		ChargedAt:             at,
		Month:                 month,
		RateCard:              c.RateCard,
		ConversationOpened:    c.ConversationOpened,
		ConversationExpiresAt: c.ConversationEnd,
		Explanation:           c.Explanation,
	}
}

// chargeToAPI converts a stored charge to the API's.
func chargeToAPI(c *storagev1.Charge) *convstatev1.Charge {
	var st stamps
	return chargeToAPIStamps(c, &st)
}

// chargeToAPIStamps is chargeToAPI with the response's timestamps allocator.
func chargeToAPIStamps(c *storagev1.Charge, st *stamps) *convstatev1.Charge {
	if c == nil {
		return nil
	}
	out := &convstatev1.Charge{
		AmountNanos:           c.AmountNanos,
		Currency:              c.Currency,
		Market:                c.Market,
		Category:              convstatev1.ChargeCategory(c.Category),
		PricingType:           convstatev1.PricingType(c.PricingType),
		Model:                 convstatev1.PricingModel(c.Model),
		Rules:                 c.Rules,
		Tier:                  c.Tier,
		RateUnknown:           c.RateUnknown,
		ChargedAt:             st.ts(c.ChargedAt),
		Month:                 c.Month,
		RateCard:              c.RateCard,
		ConversationOpened:    c.ConversationOpened,
		ConversationExpiresAt: st.ts(c.ConversationExpiresAt),
		Explanation:           c.Explanation,
	}
	if !c.RateUnknown {
		out.Amount = pricing.Nanos(c.AmountNanos).String()
	}
	return out
}

// conversationsToAPI converts open conversations.
func conversationsToAPI(cs []window.Conversation) []*convstatev1.Conversation {
	var out []*convstatev1.Conversation
	for _, c := range cs {
		out = append(out, &convstatev1.Conversation{
			Category:    convstatev1.ChargeCategory(c.Category),
			OpenedAt:    ts(c.Start),
			ExpiresAt:   ts(c.End),
			PricingType: convstatev1.PricingType(c.PricingType),
		})
	}
	return out
}

// templateCategory maps the API's template category to pricing's.
func templateCategory(t convstatev1.TemplateCategory) pricing.Category {
	switch t {
	case convstatev1.TemplateCategory_TEMPLATE_CATEGORY_MARKETING:
		return pricing.Marketing
	case convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UTILITY:
		return pricing.Utility
	case convstatev1.TemplateCategory_TEMPLATE_CATEGORY_AUTHENTICATION:
		return pricing.Authentication
	case convstatev1.TemplateCategory_TEMPLATE_CATEGORY_AUTHENTICATION_INTERNATIONAL:
		return pricing.AuthenticationInternational
	}
	return pricing.CategoryUnspecified
}

var warningText = map[convstatev1.WarningCode]string{
	convstatev1.WarningCode_WARNING_CODE_US_MARKETING_PAUSED:      "marketing templates to US numbers are not delivered since 2025-04-01 (error 131049)",
	convstatev1.WarningCode_WARNING_CODE_FREE_FORM_OUTSIDE_WINDOW: "free-form messages outside the customer service window are not delivered (error 131047): send a template",
	convstatev1.WarningCode_WARNING_CODE_RATE_UNKNOWN:             "the rate card in force has no rate for this message (or no card is in force): its charge is unknown",
	convstatev1.WarningCode_WARNING_CODE_TEMPLATE_RECATEGORIZED:   "Meta re-categorised this template before it was sent: it is rated at its category at the time of use",
}

func warningsToAPI(codes []int32) []*convstatev1.Warning {
	var out []*convstatev1.Warning
	for _, c := range codes {
		code := convstatev1.WarningCode(c)
		out = append(out, &convstatev1.Warning{Code: code, Message: warningText[code]})
	}
	return out
}
