package server_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/server"
	"github.com/convstate/convstate/window"
)

// Tests of rules where the order or the instant of Meta's webhooks used to change
// the answer (found by a review of the window and pricing rules on 2026-11-30).

// conversationCards are invented test figures (not Meta's), one amount per row so
// that a total names the rows it sums.
const conversationCards = `effective_from,currency,market,category,tier_from,rate
2022-02-01,USD,Brazil,business_initiated,0,0.0500
2022-02-01,USD,Brazil,user_initiated,0,0.0300
2023-06-01,USD,Brazil,marketing,0,0.0625
2023-06-01,USD,Brazil,utility,0,0.0350
`

// on re-times a fact built by the harness's builders to an absolute instant.
func on(f *convstatev1.Fact, t time.Time) *convstatev1.Fact {
	ts := timestamppb.New(t)
	switch k := f.GetKind().(type) {
	case *convstatev1.Fact_UserMessage:
		k.UserMessage.Timestamp = ts
	case *convstatev1.Fact_BusinessMessage:
		k.BusinessMessage.Timestamp = ts
	case *convstatev1.Fact_Status:
		k.Status.Timestamp = ts
	}
	return f
}

func (h *harness) chargeOf(id string) *convstatev1.Charge {
	h.t.Helper()
	g, err := h.bill.GetCharge(h.ctx, &convstatev1.GetChargeRequest{BusinessId: biz, MessageId: id})
	if err != nil {
		h.t.Fatalf("GetCharge %s: %v", id, err)
	}
	return g.GetCharge()
}

func (h *harness) monthCost(month string) string {
	h.t.Helper()
	u, err := h.bill.GetUsage(h.ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_BusinessId{BusinessId: biz}, Month: month})
	if err != nil {
		h.t.Fatal(err)
	}
	return u.GetTotalCost()["USD"]
}

// A 131047 says the window was closed when the rejected message was sent: a user
// message between the send and the failed status reopens it; and a rejection after
// the window had expired by itself leaves the window's expiry where it was.
func TestForceCloseAtTheRejectedSend(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name        string
		facts       []*convstatev1.Fact
		decideAt    time.Duration
		wantAllowed bool
		wantReason  convstatev1.DecisionReason
		wantExpiry  time.Duration
	}{{
		name: "user wrote between the send and the failure",
		facts: []*convstatev1.Fact{userMsg("u1", brUser, 0), send("b1", brUser, 24*h+10*s, freeForm),
			userMsg("u2", brUser, 24*h+20*s), statusFact("b1", failed, 24*h+30*s, 131047)},
		decideAt: 25 * h, wantAllowed: true, wantReason: open, wantExpiry: 48*h + 20*s,
	}, {
		name: "user wrote after the failure too",
		facts: []*convstatev1.Fact{userMsg("u1", brUser, 0), send("b1", brUser, 10*h, freeForm),
			statusFact("b1", failed, 10*h+30*s, 131047), userMsg("u2", brUser, 11*h)},
		decideAt: 12 * h, wantAllowed: true, wantReason: open, wantExpiry: 35 * h,
	}, {
		name: "closed inside the window, at the send",
		facts: []*convstatev1.Fact{userMsg("u1", brUser, 0), send("b1", brUser, 10*h, freeForm),
			statusFact("b1", failed, 10*h+30*s, 131047)},
		decideAt: 10*h + 10*s, wantAllowed: false, wantReason: forceClosed, wantExpiry: 10 * h,
	}, {
		name: "rejected after the window had expired",
		facts: []*convstatev1.Fact{userMsg("u1", brUser, 0), send("b1", brUser, 30*h, freeForm),
			statusFact("b1", failed, 30*h, 131047)},
		decideAt: 31 * h, wantAllowed: false, wantReason: expired, wantExpiry: 24 * h,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.clock.Set(t0.Add(60 * h))
			hs.record(tc.facts...)
			d := hs.decide(brUser, tc.decideAt, freeForm)
			if d.GetFreeFormAllowed() != tc.wantAllowed || d.GetReason() != tc.wantReason || offset(d.GetWindowExpiresAt(), true) != tc.wantExpiry {
				t.Errorf("Decide at t0+%v: allowed %v, %v, expires t0+%v; want %v, %v, t0+%v", tc.decideAt,
					d.GetFreeFormAllowed(), d.GetReason(), offset(d.GetWindowExpiresAt(), true), tc.wantAllowed, tc.wantReason, tc.wantExpiry)
			}
			p, err := hs.win.GetPair(hs.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: brUser})
			if err != nil {
				t.Fatal(err)
			}
			if got := offset(p.GetWindowExpiresAt(), true); got != tc.wantExpiry {
				t.Errorf("GetPair: window_expires_at t0+%v, want t0+%v", got, tc.wantExpiry)
			}
		})
	}
}

// Meta sends a webhook when a user's call connects and another when it ends, with
// the same call id. The window runs from the call's first event whichever arrives
// first, and the second is a duplicate either way.
func TestCallEventsInEitherOrder(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name   string
		events []time.Duration
	}{
		{"connect first", []time.Duration{0, 184 * s}},
		{"end first", []time.Duration{184 * s, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.clock.Set(t0.Add(30 * h))
			var last *convstatev1.RecordUserCallResponse
			for i, ev := range tc.events {
				last = hs.record(userCall("c1", brUser, ev))[0].GetUserCall()
				if last.GetDuplicate() != (i > 0) {
					t.Errorf("event %d: duplicate %v", i, last.GetDuplicate())
				}
			}
			if got := offset(last.GetWindowExpiresAt(), true); got != 24*h {
				t.Errorf("second event's response: window expires t0+%v, want t0+24h", got)
			}
			d := hs.decide(brUser, 24*h+100*s, freeForm)
			if d.GetFreeFormAllowed() || offset(d.GetWindowExpiresAt(), true) != 24*h {
				t.Errorf("at t0+24h+100s: allowed %v, expires t0+%v; want closed at t0+24h",
					d.GetFreeFormAllowed(), offset(d.GetWindowExpiresAt(), true))
			}
			if got := offset(d.GetLastUserActivity(), true); got != 0 {
				t.Errorf("last user activity t0+%v, want t0", got)
			}
		})
	}
}

// Under conversation-based pricing a conversation lasts 24 h from the delivery that
// opened it, also when that delivery's status arrived after a later one's: A
// (delivered T), B (T+23h), C (T+30h), B's status first. In delivery order A opens
// [T, T+24h), B joins it, and C opens a second conversation.
func TestBackdatedConversationLasts24Hours(t *testing.T) {
	hs := newHarness(t, withCards(conversationCards))
	T := time.Date(2023, 7, 5, 10, 0, 0, 0, time.UTC)
	hs.record(
		on(send("a", brUser, 0, marketing), T),
		on(send("b", brUser, 0, marketing), T.Add(23*h)),
		on(send("c", brUser, 0, marketing), T.Add(30*h)),
		on(statusFact("b", delivered, 0, 0), T.Add(23*h)),
		on(statusFact("a", delivered, 0, 0), T),
		on(statusFact("c", delivered, 0, 0), T.Add(30*h)),
	)
	if got := hs.monthCost("2023-07"); got != "0.125" {
		t.Errorf("July 2023 cost %s, want 0.125 (two marketing conversations); c: %s", got, hs.chargeOf("c").GetExplanation())
	}
	if c := hs.chargeOf("a"); c.GetConversationExpiresAt().AsTime() != T.Add(24*h) {
		t.Errorf("a's conversation ends %v, want %v", c.GetConversationExpiresAt().AsTime(), T.Add(24*h))
	}
}

// From 2023-03-01, still under the 2022 rules, a free entry point is a 72 h window
// from the reply's delivery in which no conversation opens (whatsapp-rules.md §1,
// §3.2); before, it was the free 24 h conversation. Templates at 30 h, 70 h and 80 h
// after the entry point: in the window, in it, and after it (a conversation of the
// free tier, not one the window's end would have left free).
func TestFreeEntryPointWindowFromMarch2023(t *testing.T) {
	const (
		fep      = convstatev1.PricingType_PRICING_TYPE_FREE_ENTRY_POINT
		freeTier = convstatev1.PricingType_PRICING_TYPE_FREE_TIER
	)
	for _, tc := range []struct {
		day  time.Time
		want [3]convstatev1.PricingType
	}{
		{time.Date(2023, 2, 10, 10, 0, 0, 0, time.UTC), [3]convstatev1.PricingType{freeTier, freeTier, freeTier}},
		{time.Date(2023, 4, 10, 10, 0, 0, 0, time.UTC), [3]convstatev1.PricingType{fep, fep, freeTier}},
	} {
		t.Run(tc.day.Format(time.DateOnly), func(t *testing.T) {
			hs := newHarness(t, withCards(conversationCards))
			T := tc.day
			hs.record(
				on(entryMsg("u1", brUser, 0), T),
				on(send("r", brUser, 0, freeForm), T.Add(1*h)),
				on(statusFact("r", delivered, 0, 0), T.Add(1*h)),
			)
			if c := hs.chargeOf("r"); c.GetPricingType() != fep {
				t.Errorf("the reply to the entry point: %s, want free entry point", c.GetPricingType())
			}
			for i, after := range []time.Duration{30 * h, 70 * h, 80 * h} {
				id := "m" + after.String()
				hs.record(on(send(id, brUser, 0, marketing), T.Add(after)), on(statusFact(id, delivered, 0, 0), T.Add(after)))
				if c := hs.chargeOf(id); c.GetPricingType() != tc.want[i] {
					t.Errorf("a template %v after the entry point: %s %s, want %s (%s)", after, c.GetPricingType(), c.GetAmount(), tc.want[i], c.GetExplanation())
				}
			}
		})
	}
}

// Meta's wa_id of a Mexican mobile is 52, 1 and ten digits (the "1" Mexico's
// numbering dropped in 2019): it is accepted, kept as given, and priced as Mexico.
func TestMexicanWaIDs(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(t0.Add(2 * h))
	for _, user := range []string{"5215512345678", "525512345678"} {
		if _, err := hs.recordOne(userMsg("u-"+user, user, 0)); err != nil {
			t.Errorf("user message from %s: %v", user, err)
			continue
		}
		d := hs.decide(user, h, marketing)
		if !d.GetFreeFormAllowed() || d.GetQuote().GetMarket() != "Mexico" {
			t.Errorf("%s: allowed %v, market %q; want allowed, Mexico", user, d.GetFreeFormAllowed(), d.GetQuote().GetMarket())
		}
		p, err := hs.win.GetPair(hs.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: user})
		if err != nil || p.GetUserId() != user {
			t.Errorf("GetPair(%s): user %q, %v", user, p.GetUserId(), err)
		}
	}
	if _, err := hs.recordOne(userMsg("u-bad", "52155123456789", 0)); err == nil {
		t.Errorf("52 1 and eleven digits was accepted")
	}
}

// The first reply to an entry point opens the free entry point window, also when its
// delivered status arrives after a later reply's (whatsapp-rules.md §3.2; design.md
// rule 3: webhooks arrive out of order): both replies are free and the window runs
// 72 h from the first. A window a later entry point opened stays.
func TestFreeEntryPointFromALateDeliveredStatus(t *testing.T) {
	fep := convstatev1.PricingType_PRICING_TYPE_FREE_ENTRY_POINT
	for _, tc := range []struct {
		name     string
		facts    []*convstatev1.Fact
		late     time.Duration                   // when the reply b1, whose status comes last, was delivered
		decideAt map[time.Duration]time.Duration // Decide's time: fep_expires_at (none: no window)
	}{{
		name: "second reply's status first",
		facts: []*convstatev1.Fact{entryMsg("u1", brUser, 0), send("b1", brUser, 1*h, marketing), send("b2", brUser, 2*h, marketing),
			statusFact("b2", delivered, 2*h, 0)},
		late:     1 * h,
		decideAt: map[time.Duration]time.Duration{72*h + 30*time.Minute: 73 * h, 73*h + 30*time.Minute: none},
	}, {
		name: "a newer entry point's window stays",
		facts: []*convstatev1.Fact{entryMsg("u1", brUser, 0), send("b1", brUser, 5*h, marketing),
			entryMsg("u2", brUser, 30*h), send("b2", brUser, 31*h, marketing), statusFact("b2", delivered, 31*h, 0)},
		late:     5 * h,
		decideAt: map[time.Duration]time.Duration{20 * h: 77 * h, 100 * h: 103 * h, 104 * h: none},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, withCards(reconcileCards))
			hs.clock.Set(t0.Add(40 * h))
			hs.record(tc.facts...)
			hs.record(statusFact("b1", delivered, tc.late, 0))
			for _, id := range []string{"b1", "b2"} {
				if c := hs.chargeOf(id); c.GetPricingType() != fep {
					t.Errorf("%s: %s %s, want free entry point", id, c.GetPricingType(), c.GetAmount())
				}
			}
			hs.clock.Set(t0.Add(200 * h))
			for at, want := range tc.decideAt {
				d := hs.decide(brUser, at, marketing)
				if got := offset(d.GetFepExpiresAt(), d.GetFepExpiresAt() != nil); got != want || (want != none) != (d.GetQuote().GetPricingType() == fep) {
					t.Errorf("Decide at t0+%v: fep_expires_at t0+%v, quote %s; want t0+%v", at, got, d.GetQuote().GetPricingType(), want)
				}
			}
		})
	}
}

// A charge is decided at delivery (design.md §2): when a message's read status came
// first and decided it, its delivered status, earlier and arriving later, decides it
// again under per-message pricing, moving its usage and volume-tier count; under
// conversation-based pricing the charge stands and ListDiscrepancies says why.
func TestDeliveredAfterRead(t *testing.T) {
	const tiered = `effective_from,currency,market,category,tier_from,rate
2023-06-01,USD,Brazil,utility,0,0.0350
2025-07-01,USD,Brazil,marketing,0,0.0625
2025-07-01,USD,Brazil,marketing,1,0.0500
2025-07-01,USD,Brazil,marketing,3,0.0400
2025-07-01,USD,Brazil,utility,0,0.0068
`
	const freeCS = convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE
	m := time.Minute
	usage := func(hs *harness, month string) (cost string, volume int64) {
		hs.t.Helper()
		u, err := hs.bill.GetUsage(hs.ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_BusinessId{BusinessId: biz}, Month: month})
		if err != nil {
			hs.t.Fatal(err)
		}
		for _, r := range u.GetRows() {
			volume += r.GetVolume()
		}
		return u.GetTotalCost()["USD"], volume
	}

	t.Run("utility delivered inside the window, read after it", func(t *testing.T) {
		hs := newHarness(t, withCards(tiered))
		hs.clock.Set(t0.Add(30 * h))
		hs.record(userMsg("u1", brUser, 0), send("m1", brUser, 23*h+50*m, utility))
		r := hs.record(statusFact("m1", read, 24*h+10*m, 0))[0].GetStatus()
		if r.GetCharge().GetPricingType() != convstatev1.PricingType_PRICING_TYPE_REGULAR {
			t.Fatalf("charged at the read: %v", r.GetCharge())
		}
		r = hs.record(statusFact("m1", delivered, 23*h+55*m, 0))[0].GetStatus()
		if c := r.GetCharge(); c.GetPricingType() != freeCS || c.GetChargedAt().AsTime() != t0.Add(23*h+55*m) {
			t.Errorf("delivered status's response: %v, want free customer service at the delivery", c)
		}
		if c := hs.chargeOf("m1"); c.GetPricingType() != freeCS || c.GetAmount() != "0" {
			t.Errorf("GetCharge: %s %s, want free customer service", c.GetPricingType(), c.GetAmount())
		}
		if cost, volume := usage(hs, "2025-09"); cost != "0" || volume != 1 {
			t.Errorf("September usage: cost %s, volume %d; want 0, 1", cost, volume)
		}
		// A second delivered status changes nothing.
		if r := hs.record(statusFact("m1", delivered, 23*h+55*m, 0))[0].GetStatus(); !r.GetDuplicate() {
			t.Errorf("the same delivered status again: %v", r)
		}
		if n := counterValue(t, hs.reg, "convstate_charges_redecided_total"); n != 1 {
			t.Errorf("convstate_charges_redecided_total %v, want 1", n)
		}
		if cost, volume := usage(hs, "2025-09"); cost != "0" || volume != 1 {
			t.Errorf("September usage after a duplicate: cost %s, volume %d", cost, volume)
		}
	})

	t.Run("delivered in one month, read in the next", func(t *testing.T) {
		hs := newHarness(t, withCards(tiered))
		end := time.Date(2025, 9, 30, 23, 50, 0, 0, time.UTC)
		hs.clock.Set(end.Add(2 * h))
		hs.record(on(send("m1", brUser, 0, marketing), end), on(statusFact("m1", read, 0, 0), end.Add(20*m)))
		hs.record(on(send("m2", brUser, 0, marketing), end.Add(-h)), on(statusFact("m2", delivered, 0, 0), end.Add(-h)))
		hs.record(on(send("m3", brUser, 0, marketing), end.Add(-h)), on(statusFact("m3", delivered, 0, 0), end.Add(-h)))
		hs.record(on(statusFact("m1", delivered, 0, 0), end.Add(5*m)))
		if c := hs.chargeOf("m1"); c.GetChargedAt().AsTime() != end.Add(5*m) {
			t.Errorf("m1 charged at %v, want its delivery", c.GetChargedAt().AsTime())
		}
		if cost, volume := usage(hs, "2025-10"); cost != "0" || volume != 0 {
			t.Errorf("October usage: cost %s, volume %d; want none", cost, volume)
		}
		if cost, volume := usage(hs, "2025-09"); cost != "0.1625" || volume != 3 {
			t.Errorf("September usage: cost %s, volume %d; want 0.0625 + 0.05 + 0.05, 3", cost, volume)
		}
		// September's tier count holds three messages: the fourth is at the third tier.
		hs.record(on(send("m4", brUser, 0, marketing), end), on(statusFact("m4", delivered, 0, 0), end.Add(6*m)))
		if c := hs.chargeOf("m4"); c.GetAmount() != "0.04" {
			t.Errorf("the fourth September message: %s, want 0.04", c.GetAmount())
		}
		// October's count is back to none: its first message is at the first tier.
		hs.record(on(send("m5", brUser, 0, marketing), end.Add(h)), on(statusFact("m5", delivered, 0, 0), end.Add(h)))
		if c := hs.chargeOf("m5"); c.GetAmount() != "0.0625" {
			t.Errorf("the first October message: %s, want 0.0625", c.GetAmount())
		}
	})

	t.Run("conversation-based pricing: the charge stands", func(t *testing.T) {
		hs := newHarness(t, withCards(tiered))
		T := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)
		hs.record(on(userMsg("u1", brUser, 0), T), on(send("m1", brUser, 0, utility), T.Add(23*h+50*m)),
			on(statusFact("m1", read, 0, 0), T.Add(24*h+10*m)), on(statusFact("m1", delivered, 0, 0), T.Add(23*h+55*m)))
		if c := hs.chargeOf("m1"); c.GetChargedAt().AsTime() != T.Add(24*h+10*m) {
			t.Errorf("m1 charged at %v, want the read (the charge stands)", c.GetChargedAt().AsTime())
		}
		resp, err := hs.bill.ListDiscrepancies(hs.ctx, &convstatev1.ListDiscrepanciesRequest{BusinessId: biz, Month: "2024-03"})
		if err != nil {
			t.Fatal(err)
		}
		if d := resp.GetDiscrepancies(); len(d) != 1 || d[0].GetMessageId() != "m1" || len(d[0].GetDifferences()) != 1 ||
			!strings.Contains(d[0].GetDifferences()[0], "conversation-based charges are not decided again") {
			t.Errorf("discrepancies: %v", d)
		}
	})
}

// Each case records the same facts in time order and in an order Meta's webhooks may
// take, and wants the same charges (found by a review of this session's fixes).
func TestSameChargesInEitherOrder(t *testing.T) {
	allowance1 := func(d *server.Deps) { d.Engine.ServiceAllowance = 1 }
	oct := time.Date(2026, 10, 5, 10, 0, 0, 0, time.UTC)
	jun22 := time.Date(2022, 6, 1, 10, 0, 0, 0, time.UTC)
	const (
		fep      = convstatev1.PricingType_PRICING_TYPE_FREE_ENTRY_POINT
		freeTier = convstatev1.PricingType_PRICING_TYPE_FREE_TIER
		regular  = convstatev1.PricingType_PRICING_TYPE_REGULAR
	)
	m, sec := time.Minute, time.Second
	T := 26 * h                                             // a second ad clicked inside the first ad's window
	album := func(from time.Duration) []*convstatev1.Fact { // more user messages than a clock keeps
		var fs []*convstatev1.Fact
		for i := range window.MaxActivity + 6 {
			fs = append(fs, userMsg(fmt.Sprintf("p%d", i), brUser, from+time.Duration(i)*sec))
		}
		return fs
	}
	for _, tc := range []struct {
		name        string
		opts        []option
		now         time.Time
		before      []*convstatev1.Fact
		inOrder     []*convstatev1.Fact
		outOfOrder  []*convstatev1.Fact
		after       []*convstatev1.Fact
		want        map[string]convstatev1.PricingType
		month, cost string
		// fepAt, when set, is a time to Decide at and fepEnd its fep_expires_at.
		fepAt, fepEnd time.Time
	}{{
		// A message keeps its place in the service allowance when its delivered status,
		// arriving after a later message's, decides its charge again.
		name: "service allowance", opts: []option{withCards(reconcileCards), allowance1}, now: oct.Add(5 * h),
		before: []*convstatev1.Fact{on(userMsg("u1", brUser, 0), oct),
			on(send("m1", brUser, 0, freeForm), oct.Add(h)), on(send("m2", brUser, 0, freeForm), oct.Add(2*h))},
		inOrder: []*convstatev1.Fact{on(statusFact("m1", delivered, 0, 0), oct.Add(h+m)),
			on(statusFact("m1", read, 0, 0), oct.Add(h+5*m)), on(statusFact("m2", delivered, 0, 0), oct.Add(2*h))},
		outOfOrder: []*convstatev1.Fact{on(statusFact("m1", read, 0, 0), oct.Add(h+5*m)),
			on(statusFact("m2", delivered, 0, 0), oct.Add(2*h)), on(statusFact("m1", delivered, 0, 0), oct.Add(h+m))},
		want:  map[string]convstatev1.PricingType{"m1": freeTier, "m2": regular},
		month: "2026-10", cost: "0.0068",
	}, {
		// A user message recorded after a utility template's delivered status, though it
		// came first: the template was delivered inside its window (2025 rules: free).
		name: "user message recorded late", opts: []option{withCards(reconcileCards)}, now: t0.Add(5 * h),
		before:     []*convstatev1.Fact{send("m1", brUser, h, utility)},
		inOrder:    []*convstatev1.Fact{userMsg("u1", brUser, 30*m), statusFact("m1", delivered, h, 0)},
		outOfOrder: []*convstatev1.Fact{statusFact("m1", delivered, h, 0), userMsg("u1", brUser, 30*m)},
		want:       map[string]convstatev1.PricingType{"m1": convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE},
		month:      "2025-09", cost: "0",
	}, {
		// An entry point recorded after its replies' delivered statuses: the first reply
		// opens the free window, and the second, 29 h later, is inside it.
		name: "entry point recorded late", opts: []option{withCards(reconcileCards)}, now: t0.Add(80 * h),
		before: []*convstatev1.Fact{send("r1", brUser, h, marketing), send("r2", brUser, 30*h, marketing)},
		inOrder: []*convstatev1.Fact{entryMsg("u1", brUser, 0), statusFact("r1", delivered, h, 0),
			statusFact("r2", delivered, 30*h, 0)},
		outOfOrder: []*convstatev1.Fact{statusFact("r2", delivered, 30*h, 0), statusFact("r1", delivered, h, 0),
			entryMsg("u1", brUser, 0)},
		want:  map[string]convstatev1.PricingType{"r1": fep, "r2": fep},
		month: "2025-09", cost: "0",
		fepAt: t0.Add(72*h + 30*m), fepEnd: t0.Add(73 * h),
	}, {
		// A call's start recorded after its end and after a utility template's delivery:
		// the window ran out at 24 h from the start, before the delivery.
		name: "call start recorded late", opts: []option{withCards(reconcileCards)}, now: t0.Add(30 * h),
		before:     []*convstatev1.Fact{send("m1", brUser, 24*h, utility)},
		inOrder:    []*convstatev1.Fact{userCall("c1", brUser, 0), userCall("c1", brUser, 3*m), statusFact("m1", delivered, 24*h+m, 0)},
		outOfOrder: []*convstatev1.Fact{userCall("c1", brUser, 3*m), statusFact("m1", delivered, 24*h+m, 0), userCall("c1", brUser, 0)},
		want:       map[string]convstatev1.PricingType{"m1": regular},
		month:      "2025-09", cost: "0.0068",
	}, {
		// The first reply's read status, recorded before its delivered one, opened the free
		// window from the read; the delivery moves it back, and a reply delivered after
		// 72 h from the delivery (but not from the read) is charged.
		name: "window opened at a read, its delivery recorded late", opts: []option{withCards(reconcileCards)}, now: t0.Add(80 * h),
		before: []*convstatev1.Fact{entryMsg("u1", brUser, 0), send("r1", brUser, h, marketing), send("r2", brUser, 73*h+2*m, marketing)},
		inOrder: []*convstatev1.Fact{statusFact("r1", delivered, h+5*sec, 0), statusFact("r1", read, h+10*m, 0),
			statusFact("r2", delivered, 73*h+3*m, 0)},
		outOfOrder: []*convstatev1.Fact{statusFact("r1", read, h+10*m, 0), statusFact("r2", delivered, 73*h+3*m, 0),
			statusFact("r1", delivered, h+5*sec, 0)},
		want:  map[string]convstatev1.PricingType{"r1": fep, "r2": regular},
		month: "2025-09", cost: "0.0625",
		fepAt: t0.Add(72*h + 30*m), fepEnd: t0.Add(73*h + 5*sec),
	}, {
		// An entry point recorded after the reply that, through an older entry point,
		// opened a window: that reply used both, and no second window opens.
		name: "entry point recorded after its reply", opts: []option{withCards(reconcileCards)}, now: t0.Add(100 * h),
		before:     []*convstatev1.Fact{entryMsg("e0", brUser, 0)},
		inOrder:    []*convstatev1.Fact{entryMsg("e1", brUser, h), send("d1", brUser, 2*h, marketing), statusFact("d1", delivered, 2*h, 0)},
		outOfOrder: []*convstatev1.Fact{send("d1", brUser, 2*h, marketing), statusFact("d1", delivered, 2*h, 0), entryMsg("e1", brUser, h)},
		after: []*convstatev1.Fact{send("d2", brUser, 20*h, marketing), statusFact("d2", delivered, 20*h, 0),
			send("d3", brUser, 80*h, marketing), statusFact("d3", delivered, 80*h, 0)},
		want:  map[string]convstatev1.PricingType{"d1": fep, "d2": fep, "d3": regular},
		month: "2025-09", cost: "0.0625",
	}, {
		// The first reply to a second ad, clicked inside the first ad's window, opens a
		// window of its own from its delivery, also when a later reply's status came first.
		name: "first reply inside an older window", opts: []option{withCards(reconcileCards)}, now: t0.Add(T + 80*h),
		before: []*convstatev1.Fact{entryMsg("e0", brUser, 0), send("o1", brUser, h, marketing), statusFact("o1", delivered, h, 0),
			send("r1", brUser, T+8*sec, freeForm), send("r2", brUser, T+5*m-5*sec, marketing)},
		inOrder: []*convstatev1.Fact{entryMsg("e1", brUser, T), statusFact("r1", delivered, T+17*sec, 0),
			statusFact("r2", delivered, T+5*m, 0)},
		outOfOrder: []*convstatev1.Fact{statusFact("r2", delivered, T+5*m, 0), entryMsg("e1", brUser, T),
			statusFact("r1", delivered, T+17*sec, 0)},
		after: []*convstatev1.Fact{send("x", brUser, T+72*h+m, marketing), statusFact("x", delivered, T+72*h+m, 0)},
		want:  map[string]convstatev1.PricingType{"r2": fep, "x": regular},
	}, {
		// A template sent when a free-form message failed with 131047, its delivered
		// status recorded before the failure: the window was closed for it.
		name: "fallback template before the 131047", opts: []option{withCards(reconcileCards)}, now: t0.Add(11 * h),
		before:     []*convstatev1.Fact{userMsg("u1", brUser, 0), send("f1", brUser, 10*h, freeForm), send("t1", brUser, 10*h+3*sec, utility)},
		inOrder:    []*convstatev1.Fact{statusFact("f1", failed, 10*h+sec, 131047), statusFact("t1", delivered, 10*h+5*sec, 0)},
		outOfOrder: []*convstatev1.Fact{statusFact("t1", delivered, 10*h+5*sec, 0), statusFact("f1", failed, 10*h+sec, 131047)},
		want:       map[string]convstatev1.PricingType{"t1": regular},
		month:      "2025-09", cost: "0.0068",
	}, {
		// The same, with the failed status recorded before the free-form message's send.
		name: "fallback template before the send that failed", opts: []option{withCards(reconcileCards)}, now: t0.Add(11 * h),
		before: []*convstatev1.Fact{userMsg("u1", brUser, 0), send("t1", brUser, 10*h+3*sec, utility)},
		inOrder: []*convstatev1.Fact{send("f1", brUser, 10*h, freeForm), recipients(statusFact("f1", failed, 10*h+m, 131047), brUser, ""),
			statusFact("t1", delivered, 10*h+5*sec, 0)},
		outOfOrder: []*convstatev1.Fact{recipients(statusFact("f1", failed, 10*h+m, 131047), brUser, ""),
			statusFact("t1", delivered, 10*h+5*sec, 0), send("f1", brUser, 10*h, freeForm)},
		want:  map[string]convstatev1.PricingType{"t1": regular},
		month: "2025-09", cost: "0.0068",
	}, {
		// A user message older than the activity a clock keeps, recorded late, changes
		// nothing: it never makes a free charge regular.
		name: "user message beyond the kept activity", opts: []option{withCards(reconcileCards)}, now: t0.Add(2 * h),
		before:     []*convstatev1.Fact{userMsg("u0", brUser, 0), send("t1", brUser, h-5*sec, utility)},
		inOrder:    append([]*convstatev1.Fact{userMsg("late", brUser, h-10*sec), statusFact("t1", delivered, h, 0)}, album(h+10*sec)...),
		outOfOrder: append(append([]*convstatev1.Fact{statusFact("t1", delivered, h, 0)}, album(h+10*sec)...), userMsg("late", brUser, h-10*sec)),
		want:       map[string]convstatev1.PricingType{"t1": convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE},
	}, {
		// A newer entry point makes a later reply open its own window, which stays when
		// an earlier reply's status comes late.
		name: "newer entry point", opts: []option{withCards(reconcileCards)}, now: t0.Add(100 * h),
		before: []*convstatev1.Fact{entryMsg("u1", brUser, 0), send("b1", brUser, 5*h, marketing),
			entryMsg("u2", brUser, 10*h), send("b2", brUser, 11*h, marketing)},
		inOrder:    []*convstatev1.Fact{statusFact("b1", delivered, 5*h, 0), statusFact("b2", delivered, 11*h, 0)},
		outOfOrder: []*convstatev1.Fact{statusFact("b2", delivered, 11*h, 0), statusFact("b1", delivered, 5*h, 0)},
		after:      []*convstatev1.Fact{send("b3", brUser, 80*h, marketing), statusFact("b3", delivered, 80*h, 0)},
		want:       map[string]convstatev1.PricingType{"b1": fep, "b2": fep, "b3": fep},
	}, {
		// Under the 2022 rules only the first conversation after an entry point is
		// free; its backdated window leaves nothing behind for the next one.
		name: "2022 free conversation backdated", opts: []option{withCards(conversationCards)}, now: jun22.Add(50 * h),
		before: []*convstatev1.Fact{on(entryMsg("u1", brUser, 0), jun22),
			on(send("a", brUser, 0, freeForm), jun22.Add(h)), on(send("b", brUser, 0, freeForm), jun22.Add(2*h))},
		inOrder:    []*convstatev1.Fact{on(statusFact("a", delivered, 0, 0), jun22.Add(h)), on(statusFact("b", delivered, 0, 0), jun22.Add(2*h))},
		outOfOrder: []*convstatev1.Fact{on(statusFact("b", delivered, 0, 0), jun22.Add(2*h)), on(statusFact("a", delivered, 0, 0), jun22.Add(h))},
		after: []*convstatev1.Fact{on(send("c", brUser, 0, marketing), jun22.Add(25*h+30*m)), on(statusFact("c", delivered, 0, 0), jun22.Add(25*h+30*m)),
			on(send("d", brUser, 0, marketing), jun22.Add(40*h)), on(statusFact("d", delivered, 0, 0), jun22.Add(40*h))},
		want:  map[string]convstatev1.PricingType{"a": fep, "b": fep, "c": freeTier, "d": freeTier},
		fepAt: jun22.Add(24*h + 30*m), fepEnd: jun22.Add(25 * h),
	}} {
		for _, order := range []string{"in order", "out of order"} {
			t.Run(tc.name+"/"+order, func(t *testing.T) {
				hs := newHarness(t, tc.opts...)
				hs.clock.Set(tc.now)
				hs.record(tc.before...)
				if order == "in order" {
					hs.record(tc.inOrder...)
				} else {
					hs.record(tc.outOfOrder...)
				}
				hs.record(tc.after...)
				if n := counterValue(t, hs.reg, "convstate_charges_redecided_total"); order == "in order" && n != 0 {
					t.Errorf("in time order, %v charges changed when decided again", n)
				}
				for id, want := range tc.want {
					if c := hs.chargeOf(id); c.GetPricingType() != want {
						t.Errorf("%s: %s %s, want %s (%s)", id, c.GetPricingType(), c.GetAmount(), want, c.GetExplanation())
					}
				}
				if tc.month != "" {
					if got := hs.monthCost(tc.month); got != tc.cost {
						t.Errorf("%s cost %s, want %s", tc.month, got, tc.cost)
					}
				}
				if !tc.fepAt.IsZero() {
					d, err := hs.win.Decide(hs.ctx, &convstatev1.DecideRequest{BusinessId: biz, UserId: brUser, Time: timestamppb.New(tc.fepAt)})
					if err != nil {
						t.Fatal(err)
					}
					if got := d.GetFepExpiresAt().AsTime(); got != tc.fepEnd {
						t.Errorf("Decide at %v: fep_expires_at %v, want %v", tc.fepAt, got, tc.fepEnd)
					}
				}
			})
		}
	}
}

// A 131047 whose failed status is recorded before the message's send closes the
// window from the send all the same: a user message between the two reopens it.
func TestForceCloseOfAMessageSentAfterItsStatus(t *testing.T) {
	s := time.Second
	for _, statusFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "send first", true: "failed status first"}[statusFirst], func(t *testing.T) {
			hs := newHarness(t)
			hs.clock.Set(t0.Add(60 * h))
			hs.record(userMsg("u1", brUser, 0), userMsg("u2", brUser, 24*h+20*s))
			fail := recipients(statusFact("b1", failed, 24*h+30*s, 131047), brUser, "")
			if statusFirst {
				hs.record(fail, send("b1", brUser, 24*h+10*s, freeForm))
			} else {
				hs.record(send("b1", brUser, 24*h+10*s, freeForm), fail)
			}
			if d := hs.decide(brUser, 25*h, freeForm); !d.GetFreeFormAllowed() || offset(d.GetWindowExpiresAt(), true) != 48*h+20*s {
				t.Errorf("Decide at t0+25h: %v, expires t0+%v; want open until t0+48h20s", d.GetReason(), offset(d.GetWindowExpiresAt(), true))
			}
		})
	}
}

// The first reply after an entry point recorded late opens the free window, also when
// many other messages were delivered after it.
func TestLateEntryPointAfterManyReplies(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run(map[bool]string{false: "in order", true: "entry point last"}[late], func(t *testing.T) {
			hs := newHarness(t, withCards(reconcileCards))
			hs.clock.Set(t0.Add(30 * h))
			e := entryMsg("e1", brUser, 0)
			if !late {
				hs.record(e)
			}
			hs.record(send("r0", brUser, h, marketing), statusFact("r0", delivered, h, 0))
			for i := range 40 {
				id := fmt.Sprintf("r%d", i+1)
				d := h + time.Duration(i+1)*time.Minute
				hs.record(send(id, brUser, d, freeForm), statusFact(id, delivered, d, 0))
			}
			if late {
				hs.record(e)
			}
			if c := hs.chargeOf("r0"); c.GetPricingType() != convstatev1.PricingType_PRICING_TYPE_FREE_ENTRY_POINT {
				t.Errorf("r0: %s %s, want free entry point", c.GetPricingType(), c.GetAmount())
			}
		})
	}
}

// A charge decided again is taken out of the usage of the portfolio it was counted
// in, though the business has moved to another portfolio since.
func TestRedecidedChargeLeavesTheOldPortfolio(t *testing.T) {
	hs := newHarness(t, withCards(reconcileCards))
	hs.clock.Set(t0.Add(5 * h))
	setPortfolio := func(p string) {
		t.Helper()
		if _, err := hs.admin.SetBusinessProfile(hs.ctx, &convstatev1.SetBusinessProfileRequest{Profile: &convstatev1.BusinessProfile{BusinessId: biz, PortfolioId: p}}); err != nil {
			t.Fatal(err)
		}
	}
	setPortfolio("P1")
	hs.record(send("m1", brUser, h, utility), statusFact("m1", delivered, h, 0))
	setPortfolio("P2")
	hs.record(userMsg("u1", brUser, 30*time.Minute)) // recorded late: m1 was delivered inside its window
	for p, want := range map[string]map[convstatev1.PricingType]int64{
		"P1": {}, // the regular charge taken out
		"P2": {convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE: 1},
	} {
		u, err := hs.bill.GetUsage(hs.ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_PortfolioId{PortfolioId: p}, Month: "2025-09"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[convstatev1.PricingType]int64{}
		for _, r := range u.GetRows() {
			if r.GetVolume() != 0 {
				got[r.GetPricingType()] += r.GetVolume()
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("portfolio %s usage by pricing type %v, want %v (cost %v)", p, got, want, u.GetTotalCost())
		}
	}
}

// A message its statuses filed under the user's phone, and its send then under the
// BSUID, is decided again by the phone's late user message on the phone's clock,
// where its charge was decided: the same charge as in time order.
func TestRedecisionOnThePairItWasDecidedOn(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run(map[bool]string{false: "in order", true: "user message last"}[late], func(t *testing.T) {
			hs := newHarness(t, withCards(indiaCards))
			hs.clock.Set(sendAt.Add(2 * h))
			um := on(userMsg("u1", inPhone, 0), sendAt.Add(-h))
			st := withPricing(on(recipients(statusFact("m1", delivered, 0, 0), inPhone, inBSUID), sendAt.Add(5*time.Second)), "PMP", "utility", "free_customer_service", nil)
			snd := on(send("m1", inBSUID, 0, utility), sendAt)
			if late {
				hs.record(st, snd, um)
			} else {
				hs.record(um, st, snd)
			}
			if c := hs.chargeOf("m1"); c.GetPricingType() != convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE {
				t.Errorf("m1: %s %s, want free customer service", c.GetPricingType(), c.GetAmount())
			}
		})
	}
}

// A charge decided at a read on the phone's clock (the read named the phone), whose
// message the send then filed under the user's BSUID, is decided again at the
// delivered status on the phone's clock still: the user's messages are there.
func TestDeliveredAfterReadOnTheClockThatDecided(t *testing.T) {
	hs := newHarness(t, withCards(indiaCards))
	hs.clock.Set(sendAt.Add(2 * h))
	status := func(st convstatev1.MessageStatus, d time.Duration) *convstatev1.Fact {
		return withPricing(on(recipients(statusFact("m1", st, 0, 0), inPhone, inBSUID), sendAt.Add(d)), "PMP", "utility", "free_customer_service", nil)
	}
	hs.record(on(userMsg("u1", inPhone, 0), sendAt.Add(-h)), status(read, time.Minute),
		on(send("m1", inBSUID, 0, utility), sendAt), status(delivered, 5*time.Second))
	c := hs.chargeOf("m1")
	if c.GetPricingType() != convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE || c.GetChargedAt().AsTime() != sendAt.Add(5*time.Second) {
		t.Errorf("m1: %s %s at %v, want free customer service at the delivery", c.GetPricingType(), c.GetAmount(), c.GetChargedAt().AsTime())
	}
}
