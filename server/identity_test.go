package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
)

// withPhone names a fact's user by the BSUID it was built with and the number it
// belongs to (user_phone), as the webhook does when Meta names both.
func withPhone(f *convstatev1.Fact, phone string) *convstatev1.Fact {
	switch k := f.GetKind().(type) {
	case *convstatev1.Fact_UserMessage:
		k.UserMessage.UserPhone = phone
	case *convstatev1.Fact_UserCall:
		k.UserCall.UserPhone = phone
	case *convstatev1.Fact_BusinessMessage:
		k.BusinessMessage.UserPhone = phone
	}
	return f
}

func (h *harness) pairUser(user string) (string, error) {
	r, err := h.win.GetPair(h.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: user})
	return r.GetUserId(), err
}

// Once a fact names a BSUID and its number, the BSUID is the number's pair: a decision
// asked by BSUID sees the window the user's messages opened under the number, and a
// message sent to the BSUID is charged on that clock. Whichever fact teaches it, and
// after a restart.
func TestBSUIDIsItsNumbersPair(t *testing.T) {
	status := func(d time.Duration) *convstatev1.Fact {
		// Meta's sent status of a template convstate did not see sent: its pricing says what it was.
		return withPricing(recipients(on(statusFact("x1", sent, 0, 0), sendAt.Add(d)), inPhone, inBSUID), "PMP", "utility", "regular", nil)
	}
	for _, tc := range []struct {
		name  string
		teach *convstatev1.Fact
	}{
		{"a user message naming both", withPhone(on(userMsg("t1", inBSUID, 0), sendAt.Add(-3*h)), inPhone)},
		{"a user call naming both", withPhone(&convstatev1.Fact{Kind: &convstatev1.Fact_UserCall{UserCall: &convstatev1.UserCall{
			BusinessId: biz, UserId: inBSUID, CallId: "t1", Timestamp: at(0)}}}, inPhone)},
		{"a send naming both", withPhone(on(send("x1", inBSUID, 0, utility), sendAt.Add(-3*h)), inPhone)},
		{"a status naming both", status(-3 * h)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, withCards(indiaCards))
			hs.clock.Set(sendAt.Add(2 * h))
			if c := tc.teach.GetUserCall(); c != nil {
				c.Timestamp = at(sendAt.Add(-3 * h).Sub(t0))
			}
			// The user's message, filed under the number (no BSUID in its webhook).
			hs.record(tc.teach, on(userMsg("u1", inPhone, 0), sendAt.Add(-h)))
			hs.restart()
			d := hs.decide(inBSUID, sendAt.Sub(t0), freeForm)
			if !d.GetFreeFormAllowed() || !d.GetWindowExpiresAt().AsTime().Equal(sendAt.Add(23*h)) {
				t.Errorf("decide by BSUID: allowed %v until %v, want allowed until %v", d.GetFreeFormAllowed(), d.GetWindowExpiresAt().AsTime(), sendAt.Add(23*h))
			}
			if u, err := hs.pairUser(inBSUID); err != nil || u != inPhone {
				t.Errorf("GetPair by BSUID: user %q, %v; want the number's pair", u, err)
			}
			hs.record(on(send("m1", inBSUID, 0, utility), sendAt), on(statusFact("m1", delivered, 0, 0), sendAt.Add(5*time.Second)))
			if c := hs.chargeOf("m1"); c.GetPricingType() != convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE {
				t.Errorf("utility template to the BSUID inside the number's window: %s %s, want free", c.GetPricingType(), c.GetAmount())
			}
		})
	}
}

// What was recorded under a BSUID before its number was known joins the number's pair
// when it is learned, and the charges are decided again on the merged clock: the same
// charges and decisions in time order (the number learned last) and in any order.
func TestIdentityLearnedLate(t *testing.T) {
	delivery := func(id string, d time.Duration) *convstatev1.Fact {
		return on(statusFact(id, delivered, 0, 0), sendAt.Add(d))
	}
	for _, tc := range []struct {
		name   string
		facts  []*convstatev1.Fact // in time order
		orders [][]int             // other arrival orders, as indexes into facts
		want   map[string]convstatev1.PricingType
		// decideBy is asked free-form at decideAt; wantOpen is its answer.
		decideBy string
		decideAt time.Duration
		wantOpen bool
	}{{
		// A utility template sent to the BSUID, charged on the BSUID's empty clock, was
		// inside the window the user's message opened under the number.
		name: "template to the BSUID inside the number's window",
		facts: []*convstatev1.Fact{
			on(userMsg("u1", inPhone, 0), sendAt.Add(-h)),
			on(send("m1", inBSUID, 0, utility), sendAt), delivery("m1", 5*time.Second),
			withPhone(on(userMsg("u2", inBSUID, 0), sendAt.Add(2*h)), inPhone),
		},
		orders:   [][]int{{3, 0, 1, 2}, {1, 2, 3, 0}, {1, 3, 2, 0}},
		want:     map[string]convstatev1.PricingType{"m1": convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE},
		decideBy: inBSUID, decideAt: 3 * h, wantOpen: true,
	}, {
		// The user wrote under the BSUID only (a username, no number in the webhook);
		// a template sent to the number was inside that window.
		name: "template to the number inside the BSUID's window",
		facts: []*convstatev1.Fact{
			on(userMsg("u1", inBSUID, 0), sendAt.Add(-h)),
			on(send("m1", inPhone, 0, utility), sendAt), delivery("m1", 5*time.Second),
			withPricing(recipients(on(statusFact("m1", read, 0, 0), sendAt.Add(time.Minute)), inPhone, inBSUID), "PMP", "utility", "free_customer_service", nil),
		},
		orders:   [][]int{{3, 1, 2, 0}, {1, 3, 2, 0}},
		want:     map[string]convstatev1.PricingType{"m1": convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE},
		decideBy: inPhone, decideAt: 20 * h, wantOpen: true,
	}, {
		// The delivered status came first, naming the number only: its stand-in was
		// charged on the number's clock. The send, naming both, teaches the alias and the
		// stand-in is decided again on the merged clock, before the send completes it.
		name: "a status before its send, then the send names both",
		facts: []*convstatev1.Fact{
			on(userMsg("u1", inBSUID, 0), sendAt.Add(-h)),
			withPhone(on(send("m1", inBSUID, 0, utility), sendAt), inPhone),
			withPricing(recipients(delivery("m1", 5*time.Second), inPhone, ""), "PMP", "utility", "free_customer_service", nil),
		},
		orders:   [][]int{{0, 2, 1}, {2, 1, 0}, {2, 0, 1}},
		want:     map[string]convstatev1.PricingType{"m1": convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE},
		decideBy: inBSUID, decideAt: 3 * h, wantOpen: true,
	}, {
		// The BSUID's window was force-closed by a 131047 before the template: the merged
		// clock is closed then too, and the template is charged.
		name: "a force-close under the BSUID",
		facts: []*convstatev1.Fact{
			on(userMsg("u1", inPhone, 0), sendAt.Add(-2*h)),
			on(send("f1", inBSUID, 0, freeForm), sendAt.Add(-h)), on(statusFact("f1", failed, 0, 131047), sendAt.Add(-h+time.Second)),
			on(send("m1", inBSUID, 0, utility), sendAt), delivery("m1", 5*time.Second),
			withPhone(on(send("m2", inBSUID, 0, utility), sendAt.Add(3*h)), inPhone),
		},
		orders:   [][]int{{5, 0, 1, 2, 3, 4}, {3, 4, 5, 1, 2, 0}},
		want:     map[string]convstatev1.PricingType{"m1": convstatev1.PricingType_PRICING_TYPE_REGULAR},
		decideBy: inPhone, decideAt: 3 * h, wantOpen: false,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			orders := append([][]int{nil}, tc.orders...)
			for _, order := range orders {
				hs := newHarness(t, withCards(indiaCards))
				hs.clock.Set(sendAt.Add(24 * h))
				facts := tc.facts
				if order != nil {
					facts = nil
					for _, i := range order {
						facts = append(facts, tc.facts[i])
					}
				}
				for _, f := range facts {
					if _, err := hs.recordOne(f); err != nil {
						t.Fatalf("order %v: record %v: %v", order, f, err)
					}
				}
				for id, want := range tc.want {
					if c := hs.chargeOf(id); c.GetPricingType() != want {
						t.Errorf("order %v: %s is %s %s, want %s", order, id, c.GetPricingType(), c.GetAmount(), want)
					}
				}
				d := hs.decide(tc.decideBy, sendAt.Add(tc.decideAt).Sub(t0), freeForm)
				if d.GetFreeFormAllowed() != tc.wantOpen {
					t.Errorf("order %v: decide by %s at +%v: allowed %v, want %v", order, tc.decideBy, tc.decideAt, d.GetFreeFormAllowed(), tc.wantOpen)
				}
			}
		})
	}
}

// The first number learned for a BSUID stays (Meta gives a changed number a new BSUID);
// a fact recorded under one id is the same fact when it comes again naming the other;
// and a decision that gives the number beside a BSUID not yet known sees both.
func TestIdentityEdges(t *testing.T) {
	const other = "919810218675"
	hs := newHarness(t, withCards(indiaCards))
	hs.clock.Set(sendAt.Add(2 * h))
	hs.record(
		on(userMsg("u0", inBSUID, 0), sendAt.Add(-5*h)), // before the number is known
		withPhone(on(userMsg("u1", inBSUID, 0), sendAt.Add(-4*h)), inPhone),
		withPhone(on(userMsg("u2", inBSUID, 0), sendAt.Add(-h)), other),
	)
	if u, _ := hs.pairUser(inBSUID); u != inPhone {
		t.Errorf("BSUID's pair is %q, want the first number's", u)
	}
	if _, err := hs.pairUser(other); status.Code(err) != codes.NotFound {
		t.Errorf("the other number has a pair (%v): the fact naming it went to the first number's", err)
	}
	for _, f := range []*convstatev1.Fact{
		withPhone(on(userMsg("u0", inBSUID, 0), sendAt.Add(-5*h)), inPhone), // first named the BSUID alone
		on(userMsg("u1", inPhone, 0), sendAt.Add(-4*h)),                     // first named both
	} {
		r, err := hs.recordOne(f)
		if err != nil || !r.GetUserMessage().GetDuplicate() {
			t.Errorf("%s again by the other id: %v, %v; want a duplicate", f.GetUserMessage().GetMessageId(), r, err)
		}
	}
	// A BSUID not known yet: the question's number finds the messages filed under it.
	const bsuid2, phone2 = "IN.1410018717833191", "919810218676"
	hs.record(on(userMsg("v1", phone2, 0), sendAt.Add(-h)))
	r, err := hs.win.Decide(hs.ctx, &convstatev1.DecideRequest{BusinessId: biz, UserId: bsuid2, UserPhone: phone2, Time: at(sendAt.Sub(t0))})
	if err != nil || !r.GetFreeFormAllowed() {
		t.Errorf("decide by an unknown BSUID with its number: %v, %v; want allowed", r, err)
	}
	if d := hs.decide(bsuid2, sendAt.Sub(t0), freeForm); d.GetFreeFormAllowed() {
		t.Errorf("decide by an unknown BSUID alone: allowed; nothing says it is that number")
	}
}

// A BSUID's alias lives as long as its number's pair: kept past the retention while
// the number has recent facts, collected with the number's pair.
func TestIdentityGarbageCollected(t *testing.T) {
	hs := newHarness(t)
	day := 24 * time.Hour
	hs.clock.Set(t0.Add(h))
	hs.record(withPhone(userMsg("u0", inBSUID, 0), inPhone))
	gc := func() {
		t.Helper()
		if _, err := hs.admin.CollectGarbage(hs.ctx, &convstatev1.CollectGarbageRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	later := ledger.DefaultRetention + 10*day
	hs.clock.Set(t0.Add(later))
	hs.record(userMsg("u1", inPhone, later-h))
	gc()
	if d := hs.decide(inBSUID, later, freeForm); !d.GetFreeFormAllowed() {
		t.Errorf("decide by BSUID after a collection: the alias of a live number was collected")
	}
	hs.clock.Set(t0.Add(later + ledger.DefaultRetention + 2*day))
	gc()
	for _, u := range []string{inPhone, inBSUID} {
		if _, err := hs.pairUser(u); status.Code(err) != codes.NotFound {
			t.Errorf("%s after its number's pair was collected: %v, want NotFound", u, err)
		}
	}
}

// A webhook naming a user by number and BSUID (testdata/webhooks/messages_bsuid.json)
// files the message under the number, and the BSUID finds it.
func TestWebhookTeachesTheBSUID(t *testing.T) {
	hs := newHarness(t)
	msgAt := time.Unix(1779116400, 0) // the message's timestamp in the fixture
	hs.clock.Set(msgAt.Add(h))
	r, err := hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: fixture(t, "messages_bsuid.json")})
	if err != nil || r.GetRecorded() != 2 {
		t.Fatalf("ingest: %v, %v", r, err)
	}
	for _, u := range []string{inBSUID, inPhone} {
		d := hs.decide(u, msgAt.Add(h).Sub(t0), freeForm)
		if !d.GetFreeFormAllowed() || !d.GetWindowExpiresAt().AsTime().Equal(msgAt.Add(24*h)) {
			t.Errorf("decide by %s: allowed %v until %v, want allowed until %v", u, d.GetFreeFormAllowed(), d.GetWindowExpiresAt().AsTime(), msgAt.Add(24*h))
		}
	}
	if u, err := hs.pairUser(inBSUID); err != nil || u != inPhone {
		t.Errorf("GetPair by BSUID: %q, %v; want the number's pair", u, err)
	}
}

// A fact recorded under one id comes again naming both: a duplicate, which teaches the
// alias; a status-first stand-in under the number is completed by the send to its BSUID
// once the alias is known, and its 131047 moves to the send; and whether a 131047 was a
// window discrepancy does not depend on whether the alias was learned before or after
// the send (it is decided when the failure is recorded: a merge after it does not
// revisit it).
func TestIdentityAcrossRecordedFacts(t *testing.T) {
	t.Run("duplicate naming both", func(t *testing.T) {
		hs := newHarness(t, withCards(indiaCards))
		hs.clock.Set(sendAt.Add(2 * h))
		hs.record(on(userMsg("u1", inPhone, 0), sendAt.Add(-h)))
		r, err := hs.recordOne(withPhone(on(userMsg("u1", inBSUID, 0), sendAt.Add(-h)), inPhone))
		if err != nil || !r.GetUserMessage().GetDuplicate() {
			t.Fatalf("u1 again naming BSUID and number: %v, %v; want a duplicate", r, err)
		}
		if u, _ := hs.pairUser(inBSUID); u != inPhone {
			t.Errorf("the duplicate did not teach the alias: BSUID's pair %q", u)
		}
	})
	t.Run("stand-in completed through the alias", func(t *testing.T) {
		hs := newHarness(t, withCards(indiaCards))
		hs.clock.Set(sendAt.Add(4 * h))
		hs.record(withPhone(on(userMsg("u0", inBSUID, 0), sendAt.Add(-30*h)), inPhone),
			on(userMsg("u1", inPhone, 0), sendAt.Add(h)),
			recipients(on(statusFact("f1", failed, 0, 131047), sendAt.Add(2*h)), inPhone, ""))
		r, err := hs.recordOne(on(send("f1", inBSUID, 0, freeForm), sendAt))
		if err != nil || r.GetBusinessMessage().GetDuplicate() {
			t.Errorf("send to the BSUID of a message known from its status: %v, %v; want it completed", r, err)
		}
		if !hs.decide(inPhone, sendAt.Add(3*h).Sub(t0), freeForm).GetFreeFormAllowed() {
			t.Error("the 131047 stayed at its status's time: the user message after the send did not reopen the window")
		}
	})
	t.Run("131047 discrepancy, the alias learned before the failure", func(t *testing.T) {
		facts := []*convstatev1.Fact{
			withPhone(on(userMsg("u0", inBSUID, 0), sendAt.Add(-30*h)), inPhone),
			on(userMsg("u1", inPhone, 0), sendAt.Add(-h)),
			on(send("f1", inBSUID, 0, freeForm), sendAt),
			recipients(on(statusFact("f1", failed, 0, 131047), sendAt.Add(time.Second)), inBSUID, ""),
		}
		for _, order := range [][]int{{0, 1, 2, 3}, {1, 2, 0, 3}, {1, 0, 2, 3}} {
			hs := newHarness(t, withCards(indiaCards))
			hs.clock.Set(sendAt.Add(2 * h))
			for _, i := range order {
				r, err := hs.recordOne(facts[i])
				if err != nil {
					t.Fatal(err)
				}
				// The free-form message was sent inside the window u1 opened: Meta's 131047
				// disagrees with convstate's clock.
				if s := r.GetStatus(); s != nil && !s.GetDiscrepancy() {
					t.Errorf("order %v: the 131047 is not a discrepancy", order)
				}
			}
		}
	})
}

// A message whose number comes with an enterprise's parent BSUID (US.ENT.…, not a pair's
// id) is the number's message.
func TestWebhookParentBSUIDBesideANumber(t *testing.T) {
	hs := newHarness(t)
	msgAt := time.Unix(1779116400, 0)
	hs.clock.Set(msgAt.Add(h))
	body := `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + biz + `"},` +
		`"messages":[{"from":"` + usUser + `","from_user_id":"US.ENT.11815799212886844830","id":"m1","timestamp":"1779116400","type":"text"}]}}]}]}`
	r, err := hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: body})
	if err != nil || r.GetRecorded() != 1 {
		t.Fatalf("ingest: %v, %v", r, err)
	}
	if !hs.decide(usUser, msgAt.Add(h).Sub(t0), freeForm).GetFreeFormAllowed() {
		t.Error("the number's window is not open")
	}
}

// A BSUID is a country, a dot and up to 128 letters and digits (those seen so far are
// all digits): one with letters, and one of the longest, are users like any other;
// one character more, or a parent BSUID, is rejected with nothing written.
func TestBSUIDFormats(t *testing.T) {
	longest := "BR." + strings.Repeat("Zx9", 42) + "Ab" // 3 + 128
	for _, tc := range []struct {
		name, bsuid string
		ok          bool
	}{
		{"letters", "BR.1a2B3c4D", true},
		{"the longest", longest, true},
		{"one character too long", longest + "1", false},
		{"a parent BSUID", "BR.ENT.11815799212886844830", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.clock.Set(t0.Add(h))
			_, err := hs.recordOne(withPhone(userMsg("u1", tc.bsuid, 0), brUser))
			if !tc.ok {
				if status.Code(err) != codes.InvalidArgument {
					t.Fatalf("recorded %q: %v, want InvalidArgument", tc.bsuid, err)
				}
				if _, err := hs.pairUser(brUser); status.Code(err) != codes.NotFound {
					t.Errorf("a rejected fact wrote the number's pair: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("record %q: %v", tc.bsuid, err)
			}
			if d := hs.decide(tc.bsuid, h, freeForm); !d.GetFreeFormAllowed() {
				t.Errorf("decide by %q: template required, want the number's window", tc.bsuid)
			}
			if u, err := hs.pairUser(tc.bsuid); err != nil || u != brUser {
				t.Errorf("GetPair(%q): %q, %v; want the number's pair", tc.bsuid, u, err)
			}
		})
	}
}

// A status naming a number and an enterprise's parent BSUID is the number's status.
func TestWebhookStatusParentBSUIDBesideANumber(t *testing.T) {
	hs := newHarness(t)
	msgAt := time.Unix(1779116400, 0)
	hs.clock.Set(msgAt.Add(h))
	hs.record(on(send("m1", usUser, 0, utility), msgAt))
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"15550783881","phone_number_id":"` + biz + `"},"statuses":[{"id":"m1","status":"delivered",` +
		`"timestamp":"1779116460","recipient_id":"` + usUser + `","recipient_user_id":"US.ENT.11815799212886844830"}]}}]}]}`
	if r, err := hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: body}); err != nil || r.GetRecorded() != 1 {
		t.Fatalf("ingest: %v, %v", r, err)
	}
	if c := hs.chargeOf("m1"); c == nil {
		t.Error("the delivered status decided no charge")
	}
}
