package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// One user, by both of the identities a status webhook names: an Indian number and its BSUID.
const (
	inPhone = "919810218674"
	inBSUID = "IN.1410018717833190"
)

// indiaCards prices utility templates to India.
const indiaCards = `effective_from,currency,market,category,tier_from,rate
2025-07-01,USD,India,utility,0,0.0014
`

// sendAt is when the business sent the message of the status-first tests; its statuses
// follow: sent a second later, delivered at 5 s, read at a minute.
var sendAt = time.Date(2026, 5, 18, 14, 30, 0, 0, time.UTC)

// statusesOf are the sent, delivered and read statuses of message id, naming the recipient
// by phone and BSUID ("" for none), each with Meta's pricing: a utility template of type typ.
func statusesOf(id, phone, bsuid, typ string) []*convstatev1.Fact {
	var fs []*convstatev1.Fact
	for _, s := range []struct {
		st convstatev1.MessageStatus
		at time.Duration
	}{{sent, time.Second}, {delivered, 5 * time.Second}, {read, time.Minute}} {
		f := &convstatev1.Fact{Kind: &convstatev1.Fact_Status{Status: &convstatev1.StatusUpdate{
			BusinessId: biz, MessageId: id, Status: s.st, Timestamp: timestamppb.New(sendAt.Add(s.at))}}}
		fs = append(fs, withPricing(recipients(f, phone, bsuid), "PMP", "utility", typ, proto.Bool(typ == "regular")))
	}
	if phone == "" { // the BSUID alone is Meta's recipient_id
		for _, f := range fs {
			f.GetStatus().RecipientId = bsuid
			f.GetStatus().RecipientUserId = ""
		}
	}
	return fs
}

// webhookOf is the Cloud API webhook body that carries these statuses.
func webhookOf(fs []*convstatev1.Fact) string {
	var items string
	for i, f := range fs {
		s := f.GetStatus()
		if i > 0 {
			items += ","
		}
		items += fmt.Sprintf(`{"id":%q,"status":%q,"timestamp":"%d"`, s.GetMessageId(),
			map[convstatev1.MessageStatus]string{sent: "sent", delivered: "delivered", read: "read"}[s.GetStatus()], s.GetTimestamp().GetSeconds())
		if s.GetRecipientUserId() != "" {
			items += fmt.Sprintf(`,"recipient_id":%q,"recipient_user_id":%q`, s.GetRecipientId(), s.GetRecipientUserId())
		} else if s.GetRecipientId() != "" && s.GetRecipientId()[2] == '.' {
			items += fmt.Sprintf(`,"recipient_user_id":%q`, s.GetRecipientId())
		} else {
			items += fmt.Sprintf(`,"recipient_id":%q`, s.GetRecipientId())
		}
		p := s.GetPricing()
		items += fmt.Sprintf(`,"pricing":{"billable":%t,"pricing_model":%q,"category":%q,"type":%q}}`, p.GetBillable(), p.GetPricingModel(), p.GetCategory(), p.GetType())
	}
	return `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{` +
		`"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + biz + `"},` +
		`"statuses":[` + items + `]}}]}]}`
}

// ingestStatuses delivers statuses in one webhook body and returns how many were duplicates.
func (h *harness) ingestStatuses(fs []*convstatev1.Fact) int32 {
	h.t.Helper()
	if len(fs) == 0 {
		return 0
	}
	r, err := h.win.IngestWebhook(h.ctx, &convstatev1.IngestWebhookRequest{Body: webhookOf(fs)})
	if err != nil || r.GetFailed() != 0 || r.GetRecorded()+r.GetDuplicates() != int32(len(fs)) {
		h.t.Fatalf("ingest %d statuses: %v, %v", len(fs), r, err)
	}
	return r.GetDuplicates()
}

// ledgerState is what a business message left in the ledger, as the API shows it.
type ledgerState struct {
	Charge        *convstatev1.GetChargeResponse
	Pair          *convstatev1.GetPairResponse
	Usage         *convstatev1.GetUsageResponse
	Discrepancies *convstatev1.ListDiscrepanciesResponse
}

func (h *harness) state(id, user string) ledgerState {
	h.t.Helper()
	var (
		s   ledgerState
		err error
	)
	if s.Charge, err = h.bill.GetCharge(h.ctx, &convstatev1.GetChargeRequest{BusinessId: biz, MessageId: id}); err != nil {
		h.t.Fatalf("GetCharge: %v", err)
	}
	if s.Pair, err = h.win.GetPair(h.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: user}); err != nil {
		h.t.Fatalf("GetPair: %v", err)
	}
	if s.Usage, err = h.bill.GetUsage(h.ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_BusinessId{BusinessId: biz}, Month: "2026-05"}); err != nil {
		h.t.Fatalf("GetUsage: %v", err)
	}
	if s.Discrepancies, err = h.bill.ListDiscrepancies(h.ctx, &convstatev1.ListDiscrepanciesRequest{BusinessId: biz, Month: "2026-05"}); err != nil {
		h.t.Fatalf("ListDiscrepancies: %v", err)
	}
	return s
}

// TestStatusBeforeSend: Meta's status webhooks can come before the sender records its send
// (design.md rule 3). The message recorded from its statuses alone is then completed by the
// send, which is not a duplicate, whichever of the recipient's identities the status and the
// send name; the charge a delivered status decided is not decided again; and the end state is
// the state of the same facts recorded in order, after the send again, a replay of every fact
// and a restart on the file.
func TestStatusBeforeSend(t *testing.T) {
	tests := []struct {
		name             string
		user, phone      string // the send's user_id and user_phone
		statusP, statusB string // the recipient the statuses name: phone (recipient_id) and BSUID beside it
		before           int    // statuses recorded before the send: 1 sent, 2 and delivered, 3 and read
		metaType         string // Meta's pricing type (free_customer_service: a discrepancy with convstate's regular)
		batch            bool   // all of it in one RecordFacts, not webhooks and RecordBusinessMessage
	}{
		{name: "to the BSUID, sent first", user: inBSUID, statusP: inPhone, statusB: inBSUID, before: 1, metaType: "regular"},
		{name: "to the BSUID, delivered first", user: inBSUID, statusP: inPhone, statusB: inBSUID, before: 2, metaType: "free_customer_service"},
		// No status after the send re-reconciles it: the discrepancy moves with the message.
		{name: "to the BSUID, delivered and read first", user: inBSUID, statusP: inPhone, statusB: inBSUID, before: 3, metaType: "free_customer_service"},
		{name: "to the BSUID with its phone, the status named the phone only", user: inBSUID, phone: inPhone, statusP: inPhone, before: 2, metaType: "regular"},
		{name: "to the BSUID, the status named the BSUID only", user: inBSUID, statusB: inBSUID, before: 2, metaType: "regular"},
		{name: "to the phone, sent first", user: inPhone, statusP: inPhone, statusB: inBSUID, before: 1, metaType: "regular"},
		{name: "to the phone, delivered and read first", user: inPhone, statusP: inPhone, statusB: inBSUID, before: 3, metaType: "free_customer_service"},
		{name: "in one batch, to the BSUID, delivered first", user: inBSUID, statusP: inPhone, statusB: inBSUID, before: 2, metaType: "regular", batch: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("wamid.STATUSFIRST%d", i)
			statuses := statusesOf(id, tt.statusP, tt.statusB, tt.metaType)
			msg := &convstatev1.BusinessMessage{BusinessId: biz, UserId: tt.user, UserPhone: tt.phone, MessageId: id,
				Timestamp: timestamppb.New(sendAt), Template: utility, TemplateName: "order_update"}
			send := &convstatev1.Fact{Kind: &convstatev1.Fact_BusinessMessage{BusinessMessage: msg}}
			now := sendAt.Add(30 * time.Minute)

			// In order: the send, then its statuses.
			ref := newHarness(t, withCards(indiaCards))
			ref.clock.Set(now)
			wantSend, err := ref.win.RecordBusinessMessage(ref.ctx, &convstatev1.RecordBusinessMessageRequest{Message: msg})
			if err != nil {
				t.Fatal(err)
			}
			ref.ingestStatuses(statuses)
			want := ref.state(id, tt.user)
			d := want.Discrepancies.GetDiscrepancies()
			if tt.metaType == "regular" && len(d) != 0 || tt.metaType != "regular" && (len(d) != 1 || d[0].GetUserId() != tt.user) {
				t.Fatalf("in order: discrepancies %v", d)
			}
			if c := want.Charge.GetCharge(); c.GetAmount() != "0.0014" {
				t.Fatalf("in order: charge %v", c)
			}

			// Statuses first.
			hs := newHarness(t, withCards(indiaCards))
			hs.clock.Set(now)
			var got *convstatev1.RecordBusinessMessageResponse
			if tt.batch {
				r, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: append(statuses[:tt.before:tt.before], send)})
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range r.GetResults()[:tt.before] {
					if x.GetStatus() == nil {
						t.Fatalf("a status of the batch: %v", x)
					}
				}
				if got = r.GetResults()[tt.before].GetBusinessMessage(); got == nil {
					t.Fatalf("the send of the batch: %v", r.GetResults()[tt.before])
				}
			} else {
				hs.ingestStatuses(statuses[:tt.before])
				if got, err = hs.win.RecordBusinessMessage(hs.ctx, &convstatev1.RecordBusinessMessageRequest{Message: msg}); err != nil {
					t.Fatalf("the send after its statuses: %v", err)
				}
			}
			if diff := cmp.Diff(wantSend, got, protocmp.Transform()); diff != "" {
				t.Errorf("the send after %d statuses (-in order +statuses first):\n%s", tt.before, diff)
			}
			if n := hs.ingestStatuses(statuses[tt.before:]); n != 0 {
				t.Errorf("%d statuses after the send were duplicates", n)
			}
			check := func(when string) {
				t.Helper()
				if diff := cmp.Diff(want, hs.state(id, tt.user), protocmp.Transform()); diff != "" {
					t.Errorf("%s (-in order +statuses first):\n%s", when, diff)
				}
			}
			check("recorded")
			again := func(when string) {
				t.Helper()
				r, err := hs.win.RecordBusinessMessage(hs.ctx, &convstatev1.RecordBusinessMessageRequest{Message: msg})
				want := proto.CloneOf(wantSend)
				want.Duplicate = true
				if err != nil || !proto.Equal(r, want) {
					t.Errorf("%s: %v, %v; want %v", when, r, err, want)
				}
			}
			again("the send again")

			// A replay of every fact, in the order they came: all duplicates, nothing changes.
			all := append(append(statuses[:tt.before:tt.before], send), statuses[tt.before:]...)
			r, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: all})
			if err != nil {
				t.Fatal(err)
			}
			if r.GetDuplicates() != int32(len(all)) {
				t.Errorf("replay: %d of %d facts duplicates: %v", r.GetDuplicates(), len(all), r.GetResults())
			}
			check("after a replay")

			hs.restart()
			check("after a restart")
			again("the send again after a restart")
		})
	}
}

// TestStatusBeforeSendOtherUser: a send completes the message recorded from its statuses
// only when they named its user (by phone or BSUID, or the phone the send gives for its
// BSUID user); to anyone else the message id stays taken, and the message as it was.
func TestStatusBeforeSendOtherUser(t *testing.T) {
	for i, tt := range []struct {
		name             string
		statusP, statusB string
		user, phone      string
	}{
		{name: "another phone", statusP: inPhone, statusB: inBSUID, user: brUser},
		{name: "another BSUID", statusP: inPhone, statusB: inBSUID, user: "IN.1410018717833191"},
		{name: "another BSUID with another phone", statusP: inPhone, user: "IN.1410018717833191", phone: "919810218675"},
		// Nothing says this number is that BSUID's: the status did not name it.
		{name: "a phone, the status named the BSUID only", statusB: inBSUID, user: inPhone},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.clock.Set(sendAt.Add(time.Hour))
			id := fmt.Sprintf("wamid.OTHER%d", i)
			hs.ingestStatuses(statusesOf(id, tt.statusP, tt.statusB, "regular")[:2])
			filed := tt.statusP // the user the statuses' message is filed under
			if filed == "" {
				filed = tt.statusB
			}
			before := hs.state(id, filed)
			_, err := hs.win.RecordBusinessMessage(hs.ctx, &convstatev1.RecordBusinessMessageRequest{Message: &convstatev1.BusinessMessage{
				BusinessId: biz, UserId: tt.user, UserPhone: tt.phone, MessageId: id, Timestamp: timestamppb.New(sendAt), Template: utility}})
			if status.Code(err) != codes.AlreadyExists {
				t.Errorf("the send to %s: %v, want AlreadyExists", tt.user, err)
			}
			if diff := cmp.Diff(before, hs.state(id, filed), protocmp.Transform()); diff != "" {
				t.Errorf("the refused send changed the message (-before +after):\n%s", diff)
			}
		})
	}
}
