package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

func withPricing(f *convstatev1.Fact, model, category, typ string, billable *bool) *convstatev1.Fact {
	f.GetStatus().Pricing = &convstatev1.ReportedPricing{PricingModel: model, Category: category, Type: typ, Billable: billable}
	return f
}

const reconcileCards = `effective_from,currency,market,category,tier_from,rate
2025-07-01,USD,Brazil,marketing,0,0.0625
2025-07-01,USD,Brazil,utility,0,0.0068
`

// TestReconciliation: Meta's pricing object is stored beside convstate's charge; the
// messages where they disagree (category, billable, free type) are listed by
// business and month with both values, and counted in a metric.
func TestReconciliation(t *testing.T) {
	hs := newHarness(t, withCards(reconcileCards))
	hs.clock.Set(t0.Add(10 * h))
	yes, no := proto.Bool(true), proto.Bool(false)
	hs.record(
		userMsg("u1", brUser, 0),
		// Agrees: utility inside the window is free_customer_service (2025 rules).
		send("m1", brUser, 1*h, utility), withPricing(statusFact("m1", delivered, 1*h, 0), "PMP", "utility", "free_customer_service", no),
		// Meta says marketing: the template was re-categorised behind convstate's back.
		send("m2", brUser, 2*h, utility), withPricing(statusFact("m2", delivered, 2*h, 0), "PMP", "marketing", "regular", yes),
		// Pricing on sent, then a charge on delivered that disagrees on billable.
		send("m3", brUser, 3*h, marketing), withPricing(statusFact("m3", sent, 3*h, 0), "PMP", "marketing", "regular", no),
		statusFact("m3", delivered, 3*h, 0),
	)
	if got := counterValue(t, hs.reg, "convstate_pricing_discrepancies_total"); got != 2 {
		t.Errorf("pricing discrepancy metric = %v, want 2", got)
	}
	resp, err := hs.bill.ListDiscrepancies(hs.ctx, &convstatev1.ListDiscrepanciesRequest{BusinessId: biz, Month: "2025-09"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range resp.GetDiscrepancies() {
		got[d.GetMessageId()] = strings.Join(d.GetDifferences(), "; ")
		if d.GetComputed() == nil || d.GetReported() == nil {
			t.Errorf("%s lacks a side: %v", d.GetMessageId(), d)
		}
	}
	want := map[string]string{
		"m2": "category: convstate utility, Meta marketing; free type: convstate free_customer_service, Meta regular; billable: convstate false, Meta true",
		"m3": "billable: convstate true, Meta false",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: differences %q, want %q", id, got[id], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("listed %v, want only m2 and m3", got)
	}
	// Paging.
	page, err := hs.bill.ListDiscrepancies(hs.ctx, &convstatev1.ListDiscrepanciesRequest{BusinessId: biz, Month: "2025-09", PageSize: 1})
	if err != nil || len(page.GetDiscrepancies()) != 1 || page.GetNextPageToken() == "" {
		t.Fatalf("first page: %v %v", page, err)
	}
	rest, err := hs.bill.ListDiscrepancies(hs.ctx, &convstatev1.ListDiscrepanciesRequest{BusinessId: biz, Month: "2025-09", PageSize: 1, PageToken: page.GetNextPageToken()})
	if err != nil || len(rest.GetDiscrepancies()) != 1 || rest.GetNextPageToken() != "" || rest.GetDiscrepancies()[0].GetMessageId() == page.GetDiscrepancies()[0].GetMessageId() {
		t.Errorf("second page: %v %v", rest, err)
	}
}

// TestStatusOfAnUnseenMessage: a status naming its recipient records the message
// from Meta's reported category, so webhook-only deployments are priced.
func TestStatusOfAnUnseenMessage(t *testing.T) {
	hs := newHarness(t, withCards(reconcileCards))
	hs.clock.Set(t0.Add(10 * h))
	f := withPricing(statusFact("w1", delivered, time.Hour, 0), "PMP", "marketing", "regular", nil)
	f.GetStatus().RecipientId = brUser
	r := hs.record(f)[0].GetStatus()
	if c := r.GetCharge(); c.GetAmount() != "0.0625" || c.GetCategory() != convstatev1.ChargeCategory_CHARGE_CATEGORY_MARKETING {
		t.Errorf("charge = %v", c)
	}
	g, err := hs.bill.GetCharge(hs.ctx, &convstatev1.GetChargeRequest{BusinessId: biz, MessageId: "w1"})
	if err != nil || g.GetMessage().GetTemplate() != marketing || g.GetMessage().GetUserId() != brUser {
		t.Errorf("GetCharge = %v, %v", g, err)
	}
	// Without a recipient it is still an unknown message.
	if _, err := hs.recordOne(statusFact("w2", delivered, time.Hour, 0)); err == nil {
		t.Errorf("a status of an unknown message without recipient was accepted")
	}
}

// TestTemplateRecategorized: a template Meta re-categorised is rated at its
// category at the time of use, and shown as such.
func TestTemplateRecategorized(t *testing.T) {
	hs := newHarness(t, withCards(reconcileCards))
	hs.clock.Set(t0.Add(10 * h))
	change := &convstatev1.Fact{Kind: &convstatev1.Fact_TemplateCategoryChange{TemplateCategoryChange: &convstatev1.TemplateCategoryChange{
		WabaId: biz, TemplateName: "order_update", PreviousCategory: utility, NewCategory: marketing, Timestamp: at(5 * h),
	}}}
	named := func(id string, d time.Duration) *convstatev1.Fact {
		f := send(id, usUser, d, utility)
		f.GetBusinessMessage().TemplateName = "order_update"
		return f
	}
	rs := hs.record(change, named("before", 4*h), statusFact("before", delivered, 6*h, 0), named("after", 6*h), statusFact("after", delivered, 6*h, 0))
	if rs[0].GetTemplateCategoryChange() == nil {
		t.Fatalf("change result %v", rs[0])
	}
	if c := rs[2].GetStatus().GetCharge(); c.GetCategory() != convstatev1.ChargeCategory_CHARGE_CATEGORY_UTILITY {
		t.Errorf("sent before the change: %v, want utility", c)
	}
	after := rs[4].GetStatus().GetCharge()
	if after.GetCategory() != convstatev1.ChargeCategory_CHARGE_CATEGORY_MARKETING || !strings.Contains(after.GetExplanation(), "re-categorised") {
		t.Errorf("sent after the change: %v, want marketing, explained", after)
	}
	w := rs[3].GetBusinessMessage().GetWarnings()
	if len(w) == 0 || w[0].GetCode() != convstatev1.WarningCode_WARNING_CODE_TEMPLATE_RECATEGORIZED {
		t.Errorf("recording the message: warnings %v", w)
	}
	if again := hs.record(change)[0].GetTemplateCategoryChange(); !again.GetDuplicate() {
		t.Errorf("the same change again: %v, want duplicate", again)
	}
}
