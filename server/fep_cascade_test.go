package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/window"
)

// windowCase is one scenario of free entry point windows that move when facts arrive
// late: the same facts recorded in time order (before, then inOrder) and out of order
// (before, then oo) must give the same charges of ids, the same usage in month, and the
// same Decide (the free window's end and the quote) every 10 minutes for 200 h.
type windowCase struct {
	name                string
	opts                []option
	now                 time.Time
	before, inOrder, oo []*convstatev1.Fact
	ids                 []string
	month               string
}

func runWindowCase(t *testing.T, tc windowCase) {
	res := map[string]map[string]string{}
	for _, order := range []string{"in order", "out of order"} {
		hs := newHarness(t, tc.opts...)
		hs.clock.Set(tc.now)
		hs.record(tc.before...)
		if order == "in order" {
			hs.record(tc.inOrder...)
		} else {
			hs.record(tc.oo...)
		}
		m := map[string]string{}
		for _, id := range tc.ids {
			c := hs.chargeOf(id)
			m[id] = fmt.Sprintf("%s %s @%s", c.GetPricingType(), c.GetAmount(), c.GetChargedAt().AsTime().Sub(t0))
		}
		m["usage"] = usageRows(hs, tc.month)
		for d := time.Duration(0); d < 200*time.Hour; d += 10 * time.Minute {
			r, err := hs.win.Decide(hs.ctx, &convstatev1.DecideRequest{BusinessId: biz, UserId: brUser, Time: timestamppb.New(t0.Add(d)), Template: marketing})
			if err != nil {
				t.Fatal(err)
			}
			m["decide "+d.String()] = fmt.Sprintf("%v %s", r.GetFepExpiresAt().AsTime().Sub(t0), r.GetQuote().GetPricingType())
		}
		res[order] = m
	}
	n := 0
	for k, v := range res["in order"] {
		if w := res["out of order"][k]; w != v && (n < 8 || !strings.HasPrefix(k, "decide")) {
			t.Errorf("%s: in order %q, out of order %q", k, v, w)
			n++
		}
	}
}

// TestFreeWindowsFollowLateFacts: a free entry point window that a late fact moves,
// removes or opens takes the charges of the replies it covered, or now covers, with it,
// whichever way it moved (a late first reply's window replacing a later one's, a read
// decided before its delivery, a late user message or identity merge that re-decides a
// window's opener, a window opened inside a cascade), and no message is counted twice.
func TestFreeWindowsFollowLateFacts(t *testing.T) {
	m, sec := time.Minute, time.Second
	cases := []windowCase{{
		// r1's read opened the window; z's delivery, earlier, replaces it (LateFEP); the
		// delivery of r1, earlier still, takes it back: v, 72 h after z, is outside.
		name: "a window replaced, then moved again", opts: []option{withCards(reconcileCards)}, now: t0.Add(100 * h),
		before: []*convstatev1.Fact{entryMsg("u1", brUser, 0), send("r1", brUser, h, marketing), send("z", brUser, h+5*m, marketing),
			send("v", brUser, 73*h+2*m, marketing)},
		inOrder: []*convstatev1.Fact{statusFact("r1", delivered, h+5*sec, 0), statusFact("z", delivered, h+5*m, 0),
			statusFact("r1", read, h+10*m, 0), statusFact("v", delivered, 73*h+2*m, 0)},
		oo: []*convstatev1.Fact{statusFact("r1", read, h+10*m, 0), statusFact("z", delivered, h+5*m, 0),
			statusFact("v", delivered, 73*h+2*m, 0), statusFact("r1", delivered, h+5*sec, 0)},
		ids: []string{"r1", "z", "v"}, month: "2025-09",
	}, {
		// The first reply's delivered status comes after the second's, which opened the
		// window an hour late; decided for the first time, the first reply takes the
		// window back, and v, inside the late window only, is charged.
		name: "a late first reply", opts: []option{withCards(reconcileCards)}, now: t0.Add(100 * h),
		before: []*convstatev1.Fact{entryMsg("e", brUser, 0), send("r1", brUser, h, marketing), send("r2", brUser, 2*h, marketing),
			send("v", brUser, 73*h+30*m, marketing)},
		inOrder: []*convstatev1.Fact{statusFact("r1", delivered, h, 0), statusFact("r2", delivered, 2*h, 0),
			statusFact("v", delivered, 73*h+30*m, 0)},
		oo: []*convstatev1.Fact{statusFact("r2", delivered, 2*h, 0), statusFact("v", delivered, 73*h+30*m, 0),
			statusFact("r1", delivered, h, 0)},
		ids: []string{"r1", "r2", "v"}, month: "2025-09",
	}, {
		// b15's window (through e7) is not the latest: decided again at its delivery, it
		// gives back e7 and opens its window again, which still covers v.
		name: "a window before another, read first", opts: []option{withCards(reconcileCards)}, now: t0.Add(150 * h),
		before: []*convstatev1.Fact{entryMsg("e0", brUser, 0), send("b5", brUser, 0, marketing), statusFact("b5", delivered, 5*sec, 0),
			entryMsg("e7", brUser, 50*h), send("b15", brUser, 71*h, marketing), send("v", brUser, 74*h+30*m, marketing),
			send("b19", brUser, 76*h, marketing)},
		inOrder: []*convstatev1.Fact{statusFact("b15", delivered, 71*h, 0), statusFact("b15", read, 71*h+10*m, 0),
			statusFact("v", delivered, 74*h+30*m, 0), entryMsg("e16", brUser, 75*h), statusFact("b19", delivered, 76*h, 0)},
		oo: []*convstatev1.Fact{statusFact("b15", read, 71*h+10*m, 0),
			statusFact("v", delivered, 74*h+30*m, 0), entryMsg("e16", brUser, 75*h), statusFact("b19", delivered, 76*h, 0),
			statusFact("b15", delivered, 71*h, 0)},
		ids: []string{"b15", "v", "b19"}, month: "2025-09",
	}, {
		// The same through a late plain user message: b15 is decided again at its own time.
		name: "a window before another, late user message", opts: []option{withCards(reconcileCards)}, now: t0.Add(150 * h),
		before: []*convstatev1.Fact{entryMsg("e0", brUser, 0), send("b5", brUser, 0, marketing), statusFact("b5", delivered, 5*sec, 0),
			entryMsg("e7", brUser, 50*h), send("b15", brUser, 71*h, marketing), send("v", brUser, 74*h+30*m, marketing),
			send("b19", brUser, 76*h, marketing)},
		inOrder: []*convstatev1.Fact{userMsg("late", brUser, 70*h), statusFact("b15", delivered, 71*h, 0),
			statusFact("v", delivered, 74*h+30*m, 0), entryMsg("e16", brUser, 75*h), statusFact("b19", delivered, 76*h, 0)},
		oo: []*convstatev1.Fact{statusFact("b15", delivered, 71*h, 0),
			statusFact("v", delivered, 74*h+30*m, 0), entryMsg("e16", brUser, 75*h), statusFact("b19", delivered, 76*h, 0),
			userMsg("late", brUser, 70*h)},
		ids: []string{"b15", "v", "b19"}, month: "2025-09",
	}, {
		// r1's window moves back from its read to its delivery. e2, clicked after it
		// opened, lets no reply inside it open another (y stays free inside r1's), so v,
		// after r1's window, is charged, as in time order; giving back the entry points
		// r1 used must not let y open a window of its own on the way.
		name: "a window opened inside the cascade", opts: []option{withCards(reconcileCards)}, now: t0.Add(100 * h),
		before: []*convstatev1.Fact{entryMsg("e", brUser, 0), send("r1", brUser, h, marketing), entryMsg("e2", brUser, h+5*m),
			send("y", brUser, 2*h, marketing), send("v", brUser, 73*h+30*m, marketing)},
		inOrder: []*convstatev1.Fact{statusFact("r1", delivered, h, 0), statusFact("r1", read, h+10*m, 0),
			statusFact("y", delivered, 2*h, 0), statusFact("v", delivered, 73*h+30*m, 0)},
		oo: []*convstatev1.Fact{statusFact("r1", read, h+10*m, 0),
			statusFact("y", delivered, 2*h, 0), statusFact("v", delivered, 73*h+30*m, 0), statusFact("r1", delivered, h, 0)},
		ids: []string{"r1", "y", "v"}, month: "2025-09",
	}, {
		// The same through an identity merge: the facts under the BSUID join the number's
		// pair, and every charge is decided again on the merged clock.
		name: "a window before another, identity merge", opts: []option{withCards(reconcileCards)}, now: t0.Add(150 * h),
		inOrder: append([]*convstatev1.Fact{withPhone(userMsg("t", brBSUID, -h), brUser)}, mergeFacts()...),
		oo:      append(mergeFacts(), withPhone(userMsg("t", brBSUID, -h), brUser)),
		ids:     []string{"b15", "v", "b19"}, month: "2025-09",
	}, {
		// The opener's entry point fell out of the clock's bounded history
		// (MaxEntryPoints) before a late user message decides it again: its window stays
		// as history, and it is counted once.
		name: "an opener whose entry point the clock no longer keeps", opts: []option{withCards(reconcileCards)}, now: t0.Add(100 * h),
		before:  []*convstatev1.Fact{entryMsg("e0", brUser, 0), send("b1", brUser, h, marketing)},
		inOrder: append([]*convstatev1.Fact{userMsg("late", brUser, 30*m), statusFact("b1", delivered, h, 0)}, manyAds()...),
		oo:      append(append([]*convstatev1.Fact{statusFact("b1", delivered, h, 0)}, manyAds()...), userMsg("late", brUser, 30*m)),
		ids:     []string{"b1"}, month: "2025-09",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runWindowCase(t, tc) })
	}
}

// mergeFacts: the user under the number, then under the BSUID (not yet known as an alias).
func mergeFacts() []*convstatev1.Fact {
	m, sec := time.Minute, time.Second
	return []*convstatev1.Fact{entryMsg("e0", brUser, 0), send("b5", brUser, 0, marketing), statusFact("b5", delivered, 5*sec, 0),
		entryMsg("e7", brBSUID, 50*h), send("b15", brBSUID, 71*h, marketing), statusFact("b15", delivered, 71*h, 0),
		send("v", brBSUID, 74*h+30*m, marketing), statusFact("v", delivered, 74*h+30*m, 0),
		entryMsg("e16", brBSUID, 75*h), send("b19", brBSUID, 76*h, marketing), statusFact("b19", delivered, 76*h, 0)}
}

// manyAds: MaxEntryPoints ads clicked after the first reply.
func manyAds() []*convstatev1.Fact {
	var fs []*convstatev1.Fact
	for i := range 16 {
		fs = append(fs, entryMsg(fmt.Sprintf("ad%d", i), brUser, 2*h+time.Duration(i)*time.Minute))
	}
	return fs
}

// The clock keeps the newest window.MaxFEPWindows free windows: the oldest falling off
// as a ninth opens changes no charge decided in it, in time order.
func TestOldestWindowDroppedKeepsItsCharges(t *testing.T) {
	hs := newHarness(t, withCards(reconcileCards))
	hs.clock.Set(t0.Add(200 * h))
	hs.record(entryMsg("e1", brUser, 0), send("r1", brUser, h, marketing), statusFact("r1", delivered, h, 0),
		send("m", brUser, 40*h, marketing), statusFact("m", delivered, 40*h, 0))
	for k := 2; k <= window.MaxFEPWindows+1; k++ {
		at := 41*h + time.Duration(k-2)*4*h
		id := fmt.Sprint("r", k)
		hs.record(entryMsg(fmt.Sprint("e", k), brUser, at), send(id, brUser, at+time.Minute, marketing),
			statusFact(id, delivered, at+time.Minute, 0))
	}
	if c := hs.chargeOf("m"); c.GetPricingType() != convstatev1.PricingType_PRICING_TYPE_FREE_ENTRY_POINT {
		t.Errorf("m: %s %s, want free_entry_point", c.GetPricingType(), c.GetAmount())
	}
	if n := counterValue(t, hs.reg, "convstate_charges_redecided_total"); n != 0 {
		t.Errorf("in time order, %v charges changed", n)
	}
}
