package server_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

const (
	open        = convstatev1.DecisionReason_DECISION_REASON_WINDOW_OPEN
	closing     = convstatev1.DecisionReason_DECISION_REASON_WINDOW_CLOSING
	expired     = convstatev1.DecisionReason_DECISION_REASON_WINDOW_EXPIRED
	noActivity  = convstatev1.DecisionReason_DECISION_REASON_NO_USER_ACTIVITY
	forceClosed = convstatev1.DecisionReason_DECISION_REASON_FORCE_CLOSED
	none        = time.Duration(-1)
	h           = time.Hour
)

// check is a decision expected at t0+at.
type check struct {
	at      time.Duration
	allowed bool
	reason  convstatev1.DecisionReason
	expires time.Duration // window_expires_at - t0; none = unset
	fep     time.Duration // fep_expires_at - t0; none = unset
}

func offset(ts interface{ AsTime() time.Time }, set bool) time.Duration {
	if !set {
		return none
	}
	return ts.AsTime().Sub(t0)
}

// TestWindowRules proves design.md §2 rules 1, 2, 4 and 5 through the gRPC API:
// each case records facts (with Meta's timestamps) and checks decisions.
func TestWindowRules(t *testing.T) {
	tests := []struct {
		name   string
		opts   []option
		facts  []*convstatev1.Fact
		checks []check
	}{
		{
			name:   "rule 1: no user activity, template required",
			checks: []check{{at: 0, reason: noActivity, expires: none, fep: none}},
		},
		{
			name:  "rule 1: a user message opens the window for 24 h",
			facts: []*convstatev1.Fact{userMsg("u1", brUser, 0)},
			checks: []check{
				{at: -time.Minute, reason: noActivity, expires: none, fep: none},
				{at: 0, allowed: true, reason: open, expires: 24 * h, fep: none},
				{at: 23 * h, allowed: true, reason: open, expires: 24 * h, fep: none},
				{at: 24 * h, reason: expired, expires: 24 * h, fep: none},
			},
		},
		{
			name:  "rule 1: a user call opens the window",
			facts: []*convstatev1.Fact{userCall("c1", brUser, 0)},
			checks: []check{
				{at: 10 * h, allowed: true, reason: open, expires: 24 * h, fep: none},
			},
		},
		{
			name: "rule 1: a later message refreshes the window; an older one arriving late does not move it back",
			facts: []*convstatev1.Fact{
				userMsg("u2", brUser, 5*h),
				userMsg("u1", brUser, 0), // out of order
			},
			checks: []check{
				{at: 2 * h, allowed: true, reason: open, expires: 24 * h, fep: none}, // as it was at 2 h
				{at: 28 * h, allowed: true, reason: open, expires: 29 * h, fep: none},
				{at: 29 * h, reason: expired, expires: 29 * h, fep: none},
			},
		},
		{
			name: "rule 1: business messages and statuses never extend the window",
			facts: []*convstatev1.Fact{
				userMsg("u1", brUser, 0),
				send("b1", brUser, 20*h, freeForm),
				statusFact("b1", delivered, 20*h, 0),
				statusFact("b1", read, 23*h, 0),
				send("b2", brUser, 30*h, marketing),
				statusFact("b2", delivered, 30*h, 0),
			},
			checks: []check{
				{at: 24 * h, reason: expired, expires: 24 * h, fep: none},
				{at: 31 * h, reason: expired, expires: 24 * h, fep: none},
			},
		},
		{
			name:  "rule 2: the default 60 s margin closes the window early for decisions",
			facts: []*convstatev1.Fact{userMsg("u1", brUser, 0)},
			checks: []check{
				{at: 24*h - 61*time.Second, allowed: true, reason: open, expires: 24 * h, fep: none},
				{at: 24*h - 60*time.Second, reason: closing, expires: 24 * h, fep: none},
				{at: 24*h - time.Second, reason: closing, expires: 24 * h, fep: none},
			},
		},
		{
			name:  "rule 2: the margin is configurable",
			opts:  []option{withMargin(10 * time.Minute)},
			facts: []*convstatev1.Fact{userMsg("u1", brUser, 0)},
			checks: []check{
				{at: 24*h - 11*time.Minute, allowed: true, reason: open, expires: 24 * h, fep: none},
				{at: 24*h - 5*time.Minute, reason: closing, expires: 24 * h, fep: none},
			},
		},
		{
			name: "rule 4: 131047 force-closes the window until the next user message",
			facts: []*convstatev1.Fact{
				userMsg("u1", brUser, 0),
				send("b1", brUser, 2*h, freeForm),
				statusFact("b1", failed, 2*h, 131047),
			},
			checks: []check{
				{at: 1 * h, allowed: true, reason: open, expires: 2 * h, fep: none},
				{at: 3 * h, reason: forceClosed, expires: 2 * h, fep: none},
			},
		},
		{
			name: "rule 4: a user message after the force-close reopens; one before it does not",
			facts: []*convstatev1.Fact{
				userMsg("u1", brUser, 0),
				send("b1", brUser, 2*h, freeForm),
				statusFact("b1", failed, 2*h, 131047),
				userMsg("u0", brUser, 1*h), // older, arrives late: still closed
				userMsg("u2", brUser, 4*h),
			},
			checks: []check{
				{at: 3 * h, reason: forceClosed, expires: 2 * h, fep: none},
				{at: 5 * h, allowed: true, reason: open, expires: 28 * h, fep: none},
			},
		},
		{
			name: "rule 4: 131047 on a template does not close the window",
			facts: []*convstatev1.Fact{
				userMsg("u1", brUser, 0),
				send("b1", brUser, 2*h, marketing),
				statusFact("b1", failed, 2*h, 131047),
			},
			checks: []check{{at: 3 * h, allowed: true, reason: open, expires: 24 * h, fep: none}},
		},
		{
			name: "rule 5: the first business message delivered within 24 h of an entry point opens a 72 h FEP window",
			facts: []*convstatev1.Fact{
				entryMsg("u1", brUser, 0),
				send("b1", brUser, 2*h, marketing),
				statusFact("b1", delivered, 3*h, 0),
			},
			checks: []check{
				{at: 2 * h, allowed: true, reason: open, expires: 24 * h, fep: none},
				{at: 3 * h, allowed: true, reason: open, expires: 24 * h, fep: 75 * h},
				// Free-form still needs the customer service window.
				{at: 30 * h, reason: expired, expires: 24 * h, fep: 75 * h},
				{at: 75 * h, reason: expired, expires: 24 * h, fep: none},
			},
		},
		{
			name: "rule 5: no FEP when the first business message is delivered after 24 h",
			facts: []*convstatev1.Fact{
				entryMsg("u1", brUser, 0),
				send("b1", brUser, 23*h, marketing),
				statusFact("b1", delivered, 25*h, 0),
			},
			checks: []check{{at: 26 * h, reason: expired, expires: 24 * h, fep: none}},
		},
		{
			name: "rule 5: no FEP without an entry point",
			facts: []*convstatev1.Fact{
				userMsg("u1", brUser, 0),
				send("b1", brUser, 1*h, marketing),
				statusFact("b1", delivered, 1*h, 0),
			},
			checks: []check{{at: 2 * h, allowed: true, reason: open, expires: 24 * h, fep: none}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, tt.opts...)
			hs.clock.Set(t0.Add(100 * h))
			hs.record(tt.facts...)
			for _, c := range tt.checks {
				d := hs.decide(brUser, c.at, freeForm)
				got := check{
					at:      c.at,
					allowed: d.GetFreeFormAllowed(),
					reason:  d.GetReason(),
					expires: offset(d.GetWindowExpiresAt(), d.GetWindowExpiresAt() != nil),
					fep:     offset(d.GetFepExpiresAt(), d.GetFepExpiresAt() != nil),
				}
				if got != c {
					t.Errorf("decision at t0+%v:\n got %+v\nwant %+v", c.at, got, c)
				}
				if d.GetTemplateRequired() == d.GetFreeFormAllowed() {
					t.Errorf("at t0+%v: template_required must be the negation of free_form_allowed", c.at)
				}
				if d.GetWindowExpiresAt() != nil {
					margin := 60 * time.Second
					if len(tt.opts) > 0 {
						margin = 10 * time.Minute
					}
					if got, want := d.GetSendBefore().AsTime(), d.GetWindowExpiresAt().AsTime().Add(-margin); !got.Equal(want) {
						t.Errorf("at t0+%v: send_before = %v, want %v", c.at, got, want)
					}
				}
			}
		})
	}
}

// TestRecordAnswersTheLatestWindow: recording a user message answers with the
// pair's window after it, not that message's own 24 h (rule 1).
func TestRecordAnswersTheLatestWindow(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(t0.Add(100 * h))
	rs := hs.record(userMsg("u2", brUser, 5*h), userMsg("u1", brUser, 0), userCall("c1", brUser, 7*h))
	for i, want := range []time.Duration{29 * h, 29 * h} {
		if got := rs[i].GetUserMessage().GetWindowExpiresAt().AsTime().Sub(t0); got != want {
			t.Errorf("result %d: window_expires_at = t0+%v, want t0+%v", i, got, want)
		}
	}
	if got := rs[2].GetUserCall().GetWindowExpiresAt().AsTime().Sub(t0); got != 31*h {
		t.Errorf("call: window_expires_at = t0+%v, want t0+31h", got)
	}
	if got := rs[2].GetUserCall().GetSendBefore().AsTime().Sub(t0); got != 31*h-time.Minute {
		t.Errorf("call: send_before = t0+%v, want t0+31h-1m", got)
	}
}

// TestIdempotent proves rule 3: a fact recorded again changes nothing and returns
// the first result, marked duplicate.
func TestIdempotent(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(t0.Add(100 * h))
	first := hs.record(userMsg("u1", brUser, 0))[0].GetUserMessage()
	again := hs.record(userMsg("u1", brUser, 10*h))[0].GetUserMessage() // same id, another time
	if !again.GetDuplicate() || first.GetDuplicate() {
		t.Fatalf("duplicate flags: first %v, again %v", first.GetDuplicate(), again.GetDuplicate())
	}
	if !again.GetWindowExpiresAt().AsTime().Equal(first.GetWindowExpiresAt().AsTime()) {
		t.Errorf("duplicate returned window %v, first was %v", again.GetWindowExpiresAt().AsTime(), first.GetWindowExpiresAt().AsTime())
	}
	if d := hs.decide(brUser, 25*h, freeForm); d.GetFreeFormAllowed() {
		t.Errorf("the duplicate's later timestamp extended the window")
	}

	hs.record(send("b1", brUser, 1*h, marketing))
	dup := hs.record(send("b1", brUser, 2*h, utility))[0].GetBusinessMessage()
	if !dup.GetDuplicate() {
		t.Errorf("business message duplicate not marked")
	}
	charged := hs.record(statusFact("b1", delivered, 1*h, 0))[0].GetStatus()
	again2 := hs.record(statusFact("b1", delivered, 1*h, 0))[0].GetStatus()
	if charged.GetCharge() == nil || charged.GetDuplicate() {
		t.Fatalf("first delivered: %v", charged)
	}
	if !again2.GetDuplicate() || again2.GetCharge().GetAmount() != charged.GetCharge().GetAmount() {
		t.Errorf("duplicate delivered = %v, want the first result marked duplicate", again2)
	}
	// The charge is counted once.
	u, err := hs.bill.GetUsage(hs.ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_BusinessId{BusinessId: biz}, Month: "2025-09"})
	if err != nil {
		t.Fatal(err)
	}
	if u.GetTotalVolume() != 1 {
		t.Errorf("usage volume = %d after a duplicate status, want 1", u.GetTotalVolume())
	}
	// Reusing an id for another kind of fact is a conflict, and writes nothing.
	_, err = hs.recordOne(userMsg("b1", brUser, 3*h))
	if status.Code(err) != codes.AlreadyExists {
		t.Errorf("user message reusing a business message id: %v, want AlreadyExists", err)
	}
}

// TestIdempotentFromTheFile: duplicates are found once their first recording has left
// memory for the file, where the duplicate check consults the store's filter of the facts
// index before searching it; and new ids among them are still new.
func TestIdempotentFromTheFile(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(t0.Add(100 * h))
	const n = 300
	facts := func(from int) []*convstatev1.Fact {
		var fs []*convstatev1.Fact
		for i := from; i < from+n; i++ {
			fs = append(fs, userMsg(fmt.Sprintf("wamid.%s.%04d", brUser, i), brUser, time.Duration(i)*time.Second))
		}
		return fs
	}
	dups := func(rs []*convstatev1.FactResult) (d int) {
		for _, r := range rs {
			if r.GetUserMessage().GetDuplicate() {
				d++
			}
		}
		return d
	}
	if got := dups(hs.record(facts(0)...)); got != 0 {
		t.Fatalf("first recording: %d duplicates, want 0", got)
	}
	if err := hs.db.Flush(hs.ctx); err != nil {
		t.Fatal(err)
	}
	// Half recorded before, half new.
	if got := dups(hs.record(facts(n / 2)...)); got != n/2 {
		t.Errorf("recording again after a flush: %d duplicates, want %d", got, n/2)
	}
}

// TestForceCloseDiscrepancy: a 131047 for a message convstate had inside the
// window is a discrepancy, reported and counted (rule 4).
func TestForceCloseDiscrepancy(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(t0.Add(100 * h))
	rs := hs.record(userMsg("u1", brUser, 0), send("b1", brUser, 1*h, freeForm), statusFact("b1", failed, 1*h, 131047))
	st := rs[2].GetStatus()
	if !st.GetWindowForceClosed() || !st.GetDiscrepancy() {
		t.Errorf("status result = %v, want window_force_closed and discrepancy", st)
	}
	if got := counterValue(t, hs.reg, "convstate_window_discrepancies_total"); got != 1 {
		t.Errorf("discrepancy metric = %v, want 1", got)
	}
	// Outside the window the rejection is expected: no discrepancy.
	rs = hs.record(send("b2", brUser, 30*h, freeForm), statusFact("b2", failed, 30*h, 131047))
	if rs[0].GetBusinessMessage().GetInWindow() || rs[1].GetStatus().GetDiscrepancy() {
		t.Errorf("free-form outside the window: %v / %v", rs[0], rs[1])
	}
	if len(rs[0].GetBusinessMessage().GetWarnings()) == 0 {
		t.Errorf("free-form outside the window recorded without a warning")
	}
}

// TestFutureTimestampsRejected proves rule 7: nothing is written for a fact more
// than a few minutes in the future.
func TestFutureTimestampsRejected(t *testing.T) {
	hs := newHarness(t)
	for _, f := range []*convstatev1.Fact{
		userMsg("u1", brUser, 24*h),
		userCall("c1", brUser, 10*time.Minute),
		send("b1", brUser, 24*h, marketing),
	} {
		_, err := hs.recordOne(f)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("future fact %v: %v, want InvalidArgument", f, err)
		}
	}
	// Within the allowed skew it is fine.
	hs.record(userMsg("u2", brUser, 4*time.Minute))
	_, err := hs.win.GetPair(hs.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: usUser})
	if status.Code(err) != codes.NotFound {
		t.Errorf("GetPair of an untouched pair: %v, want NotFound", err)
	}
	p, err := hs.win.GetPair(hs.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: brUser})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.GetRecentUserActivity()); n != 1 {
		t.Errorf("pair has %d user activities, want only the accepted one", n)
	}
}
