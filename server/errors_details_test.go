package server_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// errorInfo returns the ErrorInfo detail of an error, or nil.
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// TestRecordErrorsCarryDocumentedMetadata: the ErrorInfo metadata each ErrorReason
// documents in convstate.proto reaches the caller, in the status of a single-fact
// call and in the ItemError of the same fact in a RecordFacts batch.
func TestRecordErrorsCarryDocumentedMetadata(t *testing.T) {
	future := t0.Add(24 * time.Hour)
	tests := []struct {
		name   string
		before []*convstatev1.Fact // recorded first
		fact   *convstatev1.Fact
		reason convstatev1.ErrorReason
		want   map[string]string
	}{
		{"timestamp in the future", nil, userMsg("m-future", brUser, 24*time.Hour),
			convstatev1.ErrorReason_ERROR_REASON_TIMESTAMP_IN_FUTURE,
			map[string]string{"timestamp": future.Format(time.RFC3339Nano), "max_skew": "5m0s"}},
		{"invalid user id", nil, userCall("c-bad-user", "not-a-phone", 0),
			convstatev1.ErrorReason_ERROR_REASON_INVALID_USER_ID,
			map[string]string{"user_id": "not-a-phone"}},
		{"status of an unknown message", nil, statusFact("nope", delivered, 0, 0),
			convstatev1.ErrorReason_ERROR_REASON_UNKNOWN_MESSAGE,
			map[string]string{"business_id": biz, "message_id": "nope"}},
		{"message id recorded as another kind", []*convstatev1.Fact{userMsg("m-taken", brUser, 0)}, send("m-taken", brUser, 0, marketing),
			convstatev1.ErrorReason_ERROR_REASON_MESSAGE_ID_CONFLICT,
			map[string]string{"message_id": "m-taken", "recorded_as": "a user message of user " + brUser}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t)
			hs.record(tc.before...)

			_, err := hs.recordOne(tc.fact)
			info := errorInfo(err)
			if info.GetReason() != tc.reason.String() {
				t.Fatalf("single call: %v, want reason %s", err, tc.reason)
			}
			if diff := cmp.Diff(tc.want, info.GetMetadata(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("single call: ErrorInfo metadata (-want +got):\n%s", diff)
			}

			resp, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: []*convstatev1.Fact{tc.fact}})
			if err != nil {
				t.Fatal(err)
			}
			ie := resp.GetResults()[0].GetError()
			if ie.GetReason() != tc.reason {
				t.Fatalf("batch item: %v, want reason %s", ie, tc.reason)
			}
			if diff := cmp.Diff(tc.want, ie.GetMetadata(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("batch item: ItemError metadata (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBatchItemErrorsCarryDocumentedMetadata: the other calls answering with
// ItemErrors (IngestWebhook, DecideBatch) carry the reason's metadata too.
func TestBatchItemErrorsCarryDocumentedMetadata(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))

	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"` + biz + `"},` +
		`"statuses":[{"id":"wamid.never-sent","status":"delivered","timestamp":"1795305600"}]}}]}]}`
	wr, err := hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: body})
	if err != nil {
		t.Fatal(err)
	}
	ie := wr.GetResults()[0].GetResult().GetError()
	want := map[string]string{"business_id": biz, "message_id": "wamid.never-sent"}
	if ie.GetReason() != convstatev1.ErrorReason_ERROR_REASON_UNKNOWN_MESSAGE || !cmp.Equal(ie.GetMetadata(), want) {
		t.Errorf("IngestWebhook item: %v, want UNKNOWN_MESSAGE with metadata %v", ie, want)
	}

	dr, err := hs.win.DecideBatch(hs.ctx, &convstatev1.DecideBatchRequest{BusinessId: biz, UserIds: []string{brUser, "not-a-phone"}})
	if err != nil {
		t.Fatal(err)
	}
	ie = dr.GetResults()[1].GetError()
	want = map[string]string{"user_id": "not-a-phone"}
	if ie.GetReason() != convstatev1.ErrorReason_ERROR_REASON_INVALID_USER_ID || !cmp.Equal(ie.GetMetadata(), want) {
		t.Errorf("DecideBatch item: %v, want INVALID_USER_ID with metadata %v", ie, want)
	}
}

// TestBatchFieldViolationsNameTheFactKind: in RecordFacts, a field violation the
// ledger finds is named from the Fact, with its kind ("user_message.user_id"), as
// protovalidate names the ones it finds; the single-fact call names the same field
// from its request ("message.user_id").
func TestBatchFieldViolationsNameTheFactKind(t *testing.T) {
	withRecipient := statusFact("s-bad-recipient", delivered, 0, 0)
	withRecipient.GetStatus().RecipientId = "not-a-phone"
	tests := []struct {
		name   string
		fact   *convstatev1.Fact
		batch  string // the field in the RecordFacts item
		single string // the field in the single-fact call's BadRequest; "" if there is no such call
	}{
		{"found by protovalidate", userMsg("", brUser, 0), "user_message.message_id", "message.message_id"},
		{"user message: user id", userMsg("m-bad-user", "not-a-phone", 0), "user_message.user_id", "message.user_id"},
		{"user message: timestamp", userMsg("m-future", brUser, 24*time.Hour), "user_message.timestamp", "message.timestamp"},
		{"user call: user id", userCall("c-bad-user", "not-a-phone", 0), "user_call.user_id", "call.user_id"},
		{"business message: timestamp", send("b-future", brUser, 24*time.Hour, marketing), "business_message.timestamp", "message.timestamp"},
		{"status: recipient id", withRecipient, "status.recipient_id", "status.recipient_id"},
		{"status: unknown message", statusFact("s-unknown", delivered, 0, 0), "status.message_id", "status.message_id"},
		{"template category change: timestamp", &convstatev1.Fact{Kind: &convstatev1.Fact_TemplateCategoryChange{TemplateCategoryChange: &convstatev1.TemplateCategoryChange{
			WabaId: biz, TemplateName: "order_update", NewCategory: marketing, Timestamp: at(24 * time.Hour)}}},
			"template_category_change.timestamp", ""},
	}
	hs := newHarness(t)
	facts := make([]*convstatev1.Fact, len(tests))
	for i, tc := range tests {
		facts[i] = tc.fact
	}
	resp, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, v := range resp.GetResults()[i].GetError().GetFieldViolations() {
				got = append(got, v.GetField())
			}
			if !cmp.Equal(got, []string{tc.batch}) {
				t.Errorf("RecordFacts item: fields %q, want [%q]", got, tc.batch)
			}
			if tc.single == "" {
				return
			}
			_, err := hs.recordOne(tc.fact)
			if got := fieldViolations(err); !cmp.Equal(got, []string{tc.single}) {
				t.Errorf("single-fact call: fields %q, want [%q] (%v)", got, tc.single, err)
			}
		})
	}
}

// TestWebhookFieldViolationsNameTheFactKind: IngestWebhook names the fields of the
// facts it read as RecordFacts does.
func TestWebhookFieldViolationsNameTheFactKind(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"` + biz + `"},` +
		`"messages":[{"from":"5511987650001","id":"wamid.future","timestamp":"1893456000","type":"text"}],` +
		`"statuses":[{"id":"wamid.never-sent","status":"delivered","timestamp":"1795305600"}]}}]}]}`
	r, err := hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: body})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"user_message.timestamp", "status.message_id"}
	var got []string
	for _, x := range r.GetResults() {
		for _, v := range x.GetResult().GetError().GetFieldViolations() {
			got = append(got, v.GetField())
		}
	}
	if !cmp.Equal(got, want) {
		t.Errorf("fields %q, want %q (%v)", got, want, r)
	}
}

// TestWebhookUnreadableItemsAreFieldViolations: an item of a webhook that cannot
// be read is an invalid item (ERROR_REASON_INVALID_ARGUMENT, the reason of items
// protovalidate rejects) with one field violation: the field's path in the body and
// what is wrong with it. ERROR_REASON_INVALID_WEBHOOK stays the reason of a body
// that is not a webhook at all.
func TestWebhookUnreadableItemsAreFieldViolations(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	r, err := hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: fixture(t, "malformed_items.json")})
	if err != nil {
		t.Fatal(err)
	}
	const v0 = "entry[0].changes[0].value."
	tests := []struct {
		path string
		want *convstatev1.FieldViolation
	}{
		{v0 + "messages[0]", &convstatev1.FieldViolation{Field: v0 + "messages[0].id", Description: "missing"}},
		{v0 + "messages[1]", &convstatev1.FieldViolation{Field: v0 + "messages[1].timestamp", Description: `"yesterday" is not Unix seconds`}},
		{v0 + "messages[2]", &convstatev1.FieldViolation{Field: v0 + "messages[2]", Description: "not an object"}},
		{"entry[0].changes[1].value.messages[0]", &convstatev1.FieldViolation{Field: "entry[0].changes[1].value.metadata.phone_number_id", Description: "missing"}},
		// The field may lie outside the item.
		{"entry[0].changes[5].value", &convstatev1.FieldViolation{Field: "entry[0].time", Description: "no time (a template_category_update takes effect at the entry's time)"}},
	}
	byPath := map[string]*convstatev1.WebhookFactResult{}
	for _, x := range r.GetResults() {
		byPath[x.GetPath()] = x
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			x := byPath[tc.path]
			ie := x.GetResult().GetError()
			if x.GetFact() != nil || ie == nil {
				t.Fatalf("%v: want an item that could not be read", x)
			}
			if ie.GetCode() != int32(codes.InvalidArgument) || ie.GetReason() != convstatev1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT {
				t.Errorf("code %s, reason %s; want InvalidArgument, ERROR_REASON_INVALID_ARGUMENT", ie.GetCodeName(), ie.GetReason())
			}
			if diff := cmp.Diff([]*convstatev1.FieldViolation{tc.want}, ie.GetFieldViolations(), protocmp.Transform()); diff != "" {
				t.Errorf("field violations (-want +got):\n%s", diff)
			}
			if want := tc.want.GetField() + ": " + tc.want.GetDescription(); ie.GetMessage() != want {
				t.Errorf("message %q, want %q", ie.GetMessage(), want)
			}
		})
	}
	// Every item that could not be read says which field and why.
	for _, x := range r.GetResults() {
		if ie := x.GetResult().GetError(); x.GetFact() == nil && (len(ie.GetFieldViolations()) != 1 || ie.GetFieldViolations()[0].GetField() == "" || ie.GetFieldViolations()[0].GetDescription() == "") {
			t.Errorf("%s: %v, want one field violation", x.GetPath(), ie)
		}
	}

	_, err = hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: `{"entry":"not an array"}`})
	if status.Code(err) != codes.InvalidArgument || errorReason(err) != "ERROR_REASON_INVALID_WEBHOOK" || !cmp.Equal(fieldViolations(err), []string{"body"}) {
		t.Errorf("a body that is not a webhook: %v, want InvalidArgument, ERROR_REASON_INVALID_WEBHOOK on field body", err)
	}
}
