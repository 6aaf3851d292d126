package server_test

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/server"
)

// evt is a fact at Meta's time.
type evt struct {
	at    time.Time // Meta's time
	order int       // tie-break in time order
	f     *convstatev1.Fact
}

// brBSUID is brUser's business-scoped user id.
const brBSUID = "BR.1349120865530274191"

// genConversation: a busy inbox bot with one Brazilian user. With twoIDs, facts name the
// user by number, by BSUID, or by both (as webhooks do since 2026, user_phone beside the
// BSUID), and the bot sends to either id.
func genConversation(r *rand.Rand, start time.Time, user string, ads, twoIDs bool) []evt {
	// by returns the user and user_phone a fact names.
	by := func() (string, string) {
		if !twoIDs {
			return user, ""
		}
		ids := [][2]string{{user, ""}, {brBSUID, ""}, {brBSUID, user}}[r.Intn(3)]
		return ids[0], ids[1]
	}
	var evs []evt
	n := 0
	add := func(t time.Time, f *convstatev1.Fact) { n++; evs = append(evs, evt{t, n, f}) }
	t := start
	msg := 0
	lastUser := time.Time{}
	for t.Before(start.Add(4 * 24 * time.Hour)) {
		// a gap
		switch r.Intn(6) {
		case 0:
			t = t.Add(time.Duration(r.Intn(30))*time.Hour + time.Minute)
		default:
			t = t.Add(time.Duration(r.Intn(40)+1) * time.Minute)
		}
		msg++
		id := fmt.Sprintf("x%d", msg)
		switch k := r.Intn(10); {
		case k < 4: // user message, maybe from an ad
			u, ph := by()
			f := &convstatev1.Fact{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{
				BusinessId: biz, UserId: u, UserPhone: ph, MessageId: "u" + id, Timestamp: timestamppb.New(t)}}}
			if ads && r.Intn(6) == 0 {
				f.GetUserMessage().EntryPoint = convstatev1.EntryPoint_ENTRY_POINT_CLICK_TO_WHATSAPP_AD
			}
			add(t, f)
			lastUser = t
			// the bot replies with free-form, or a template
			nrep := r.Intn(3)
			for j := 0; j < nrep; j++ {
				st := t.Add(time.Duration(r.Intn(20)+1) * time.Second)
				tmpl := freeForm
				if r.Intn(3) == 0 {
					tmpl = []convstatev1.TemplateCategory{utility, marketing}[r.Intn(2)]
				}
				u, ph := by()
				addSend(r, add, fmt.Sprintf("b%s_%d", id, j), u, ph, st, tmpl, false)
			}
		case k < 5: // a call, two events
			cid := "c" + id
			u, ph := by() // both events of a call name the user alike
			add(t, &convstatev1.Fact{Kind: &convstatev1.Fact_UserCall{UserCall: &convstatev1.UserCall{BusinessId: biz, UserId: u, UserPhone: ph, CallId: cid, Timestamp: timestamppb.New(t)}}})
			ce := t.Add(time.Duration(r.Intn(300)+5) * time.Second)
			add(ce, &convstatev1.Fact{Kind: &convstatev1.Fact_UserCall{UserCall: &convstatev1.UserCall{BusinessId: biz, UserId: u, UserPhone: ph, CallId: cid, Timestamp: timestamppb.New(ce)}}})
			lastUser = t
		default: // a template (or a late free-form that may fail)
			tmpl := []convstatev1.TemplateCategory{utility, marketing, utility}[r.Intn(3)]
			fail := false
			if r.Intn(5) == 0 {
				tmpl = freeForm
				fail = lastUser.IsZero() || t.Sub(lastUser) >= 24*time.Hour
			}
			u, ph := by()
			addSend(r, add, "b"+id, u, ph, t, tmpl, fail)
		}
	}
	return evs
}

// addSend adds a business message to user (and user_phone phone, when user is a BSUID)
// and its statuses, which name the recipient as Meta does: by number with the BSUID
// beside it when the number is known.
func addSend(r *rand.Rand, add func(time.Time, *convstatev1.Fact), id, user, phone string, t time.Time, tmpl convstatev1.TemplateCategory, fail bool) {
	add(t, &convstatev1.Fact{Kind: &convstatev1.Fact_BusinessMessage{BusinessMessage: &convstatev1.BusinessMessage{
		BusinessId: biz, UserId: user, UserPhone: phone, MessageId: id, Timestamp: timestamppb.New(t), Template: tmpl}}})
	recipient, bsuid := user, ""
	if phone != "" {
		recipient, bsuid = phone, user
	}
	cat := map[convstatev1.TemplateCategory]string{freeForm: "service", utility: "utility", marketing: "marketing"}[tmpl]
	st := func(s convstatev1.MessageStatus, at time.Time, code int32) {
		f := &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: &convstatev1.StatusUpdate{
			BusinessId: biz, MessageId: id, Status: s, Timestamp: timestamppb.New(at), ErrorCode: code, RecipientId: recipient, RecipientUserId: bsuid}}}
		if s != failed {
			f.GetStatus().Pricing = &convstatev1.ReportedPricing{PricingModel: "PMP", Category: cat}
		}
		add(at, f)
	}
	if fail {
		st(failed, t.Add(time.Second), 131047)
		return
	}
	st(sent, t.Add(time.Second), 0)
	d := t.Add(time.Duration(r.Intn(10)+2) * time.Second)
	if r.Intn(8) != 0 {
		st(delivered, d, 0)
	}
	if r.Intn(2) == 0 {
		st(read, d.Add(time.Duration(r.Intn(600)+1)*time.Second), 0)
	}
}

type outcome struct {
	charges map[string]string
	usage   map[string]string
	decide  map[string]string
}

func runScenario(t *testing.T, evs []evt, opts []option, tz string, end time.Time, batches [][]*convstatev1.Fact, restart bool) outcome {
	hs := newHarness(t, opts...)
	hs.clock.Set(end)
	if tz != "" {
		if _, err := hs.admin.SetBusinessProfile(hs.ctx, &convstatev1.SetBusinessProfileRequest{Profile: &convstatev1.BusinessProfile{BusinessId: biz, TimeZone: tz}}); err != nil {
			t.Fatal(err)
		}
	}
	rr := rand.New(rand.NewSource(int64(len(batches))))
	for _, b := range batches {
		if restart && rr.Intn(15) == 0 {
			hs.restart()
		}
		r, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: b})
		if err != nil {
			t.Fatalf("RecordFacts: %v", err)
		}
		for i, x := range r.GetResults() {
			if e := x.GetError(); e != nil {
				t.Fatalf("fact %v: %v", b[i], e)
			}
		}
	}
	if restart {
		hs.restart()
	}
	o := outcome{charges: map[string]string{}, usage: map[string]string{}, decide: map[string]string{}}
	for _, e := range evs {
		bm := e.f.GetBusinessMessage()
		if bm == nil {
			continue
		}
		g, err := hs.bill.GetCharge(hs.ctx, &convstatev1.GetChargeRequest{BusinessId: biz, MessageId: bm.GetMessageId()})
		if err != nil {
			o.charges[bm.GetMessageId()] = "err " + err.Error()
			continue
		}
		c := g.GetCharge()
		if c == nil {
			o.charges[bm.GetMessageId()] = "none"
			continue
		}
		o.charges[bm.GetMessageId()] = fmt.Sprintf("%s %s %s @%s %s", c.GetPricingType(), c.GetCategory(), c.GetAmount(), c.GetChargedAt().AsTime().Format(time.RFC3339), c.GetMonth())
	}
	first, last := evs[0].at, evs[len(evs)-1].at
	months := map[string]bool{}
	for m := first.AddDate(0, -1, 0); m.Before(last.AddDate(0, 1, 0)); m = m.AddDate(0, 0, 10) {
		months[m.Format("2006-01")] = true
	}
	for m := range months {
		o.usage[m] = usageRows(hs, m)
	}
	for d := first; d.Before(last.Add(100 * time.Hour)); d = d.Add(17 * time.Minute) {
		for _, tmpl := range []convstatev1.TemplateCategory{freeForm, utility, marketing} {
			r, err := hs.win.Decide(hs.ctx, &convstatev1.DecideRequest{BusinessId: biz, UserId: brUser, Time: timestamppb.New(d), Template: tmpl})
			if err != nil {
				t.Fatal(err)
			}
			o.decide[d.Format(time.RFC3339)+"/"+tmpl.String()] = fmt.Sprintf("%v %v %v %v %s %s", r.GetFreeFormAllowed(), r.GetReason(), r.GetWindowExpiresAt().AsTime().Format(time.RFC3339), r.GetFepExpiresAt().AsTime().Format(time.RFC3339), r.GetQuote().GetPricingType(), r.GetQuote().GetAmount())
		}
	}
	return o
}

func diffMaps(t *testing.T, what string, a, b map[string]string) int {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	n := 0
	for _, k := range keys {
		if a[k] != b[k] {
			if n < 6 {
				t.Errorf("%s %s:\n  in order:     %s\n  out of order: %s", what, k, a[k], b[k])
			}
			n++
		}
	}
	return n
}

// TestAnyArrivalOrderGivesTheSameAnswers records random conversations of a busy inbox
// bot (user messages, some through an ad, calls with their two events, free-form
// replies and templates with sent, delivered and read statuses, free-form messages
// failing with 131047) twice: in time order, and in an order Meta's webhooks may take
// (each delayed 0-3 minutes, one in ten delivered twice, in RecordFacts batches of 1-8,
// with restarts on the bbolt file), in a business time zone across a month's end. Every
// charge, the month's usage and Decide every 17 minutes must be the same.
func TestAnyArrivalOrderGivesTheSameAnswers(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 2
	}
	big := func(d *server.Deps) { d.Engine.ServiceAllowance = 1_000_000 }
	// A read status may arrive before its delivered one, also when the charge its read
	// decided opened a free entry point window (given up and opened again from the
	// delivery, ledger/rerate.go).
	scen := []struct {
		name  string
		start time.Time
		tz    string
		opts  []option
		ads   bool
		// twoIDs: facts name the user by number, BSUID or both; the ids merge when the
		// first fact naming both is recorded, early or late.
		twoIDs bool
	}{
		{"2025 Sao Paulo month end, ads", time.Date(2025, 9, 29, 12, 0, 0, 0, time.UTC), "America/Sao_Paulo", []option{withCards(reconcileCards), big}, true, false},
		{"2026-10 Sao Paulo month end, ads", time.Date(2026, 10, 29, 12, 0, 0, 0, time.UTC), "America/Sao_Paulo", []option{withCards(reconcileCards), big}, true, false},
		{"2025 Sao Paulo month end, no ads", time.Date(2025, 9, 29, 12, 0, 0, 0, time.UTC), "America/Sao_Paulo", []option{withCards(reconcileCards), big}, false, false},
		{"2026-10 Sao Paulo month end, no ads", time.Date(2026, 10, 29, 12, 0, 0, 0, time.UTC), "America/Sao_Paulo", []option{withCards(reconcileCards), big}, false, false},
		{"2025 Sao Paulo month end, two ids", time.Date(2025, 9, 29, 12, 0, 0, 0, time.UTC), "America/Sao_Paulo", []option{withCards(reconcileCards), big}, false, true},
		{"2026-10 Sao Paulo month end, two ids, ads", time.Date(2026, 10, 29, 12, 0, 0, 0, time.UTC), "America/Sao_Paulo", []option{withCards(reconcileCards), big}, true, true},
	}
	for _, sc := range scen {
		for seed := 0; seed < seeds; seed++ {
			t.Run(fmt.Sprintf("%s/%d", sc.name, seed), func(t *testing.T) {
				r := rand.New(rand.NewSource(int64(seed)))
				evs := genConversation(r, sc.start, brUser, sc.ads, sc.twoIDs)
				slices.SortStableFunc(evs, func(a, b evt) int {
					if c := a.at.Compare(b.at); c != 0 {
						return c
					}
					return a.order - b.order
				})
				end := evs[len(evs)-1].at.Add(time.Hour)
				var inOrder []*convstatev1.Fact
				for _, e := range evs {
					inOrder = append(inOrder, e.f)
				}
				// Arrival: Meta's time plus a delay of 0..3 min, sometimes a duplicate.
				type arr struct {
					at time.Time
					f  *convstatev1.Fact
				}
				var arrivals []arr
				for _, e := range evs {
					d := time.Duration(r.Intn(180)) * time.Second
					arrivals = append(arrivals, arr{e.at.Add(d), e.f})
					if r.Intn(10) == 0 {
						arrivals = append(arrivals, arr{e.at.Add(d + time.Duration(r.Intn(600))*time.Second), e.f})
					}
				}
				slices.SortStableFunc(arrivals, func(a, b arr) int { return a.at.Compare(b.at) })
				var batches [][]*convstatev1.Fact
				for i := 0; i < len(arrivals); {
					n := 1 + r.Intn(8)
					var b []*convstatev1.Fact
					for j := i; j < min(i+n, len(arrivals)); j++ {
						b = append(b, arrivals[j].f)
					}
					batches = append(batches, b)
					i += n
				}
				want := runScenario(t, evs, sc.opts, sc.tz, end, [][]*convstatev1.Fact{inOrder}, false)
				got := runScenario(t, evs, sc.opts, sc.tz, end, batches, true)
				n := diffMaps(t, "charge", want.charges, got.charges)
				n += diffMaps(t, "usage", want.usage, got.usage)
				n += diffMaps(t, "decide", want.decide, got.decide)
				if n > 0 {
					var lines []string
					for _, e := range evs {
						lines = append(lines, fmt.Sprintf("%s %v", e.at.Format(time.RFC3339), e.f))
					}
					t.Errorf("%d differences; the facts in time order:\n%s", n, strings.Join(lines, "\n"))
				}
			})
		}
	}
}
