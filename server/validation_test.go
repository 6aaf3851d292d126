package server_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// fieldViolations returns the BadRequest field names of an error.
func fieldViolations(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

func errorReason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// TestBadInput: invalid input returns InvalidArgument with BadRequest field
// violations (and an ErrorInfo reason), and writes nothing.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name       string
		fact       *convstatev1.Fact
		wantCode   codes.Code
		wantField  string
		wantReason string
	}{
		{"empty business id", func() *convstatev1.Fact { f := userMsg("u1", brUser, 0); f.GetUserMessage().BusinessId = ""; return f }(),
			codes.InvalidArgument, "message.business_id", "ERROR_REASON_INVALID_ARGUMENT"},
		{"empty user id", userMsg("u1", "", 0), codes.InvalidArgument, "message.user_id", "ERROR_REASON_INVALID_ARGUMENT"},
		{"empty message id", userMsg("", brUser, 0), codes.InvalidArgument, "message.message_id", "ERROR_REASON_INVALID_ARGUMENT"},
		{"user id not a phone number", userMsg("u1", "not-a-phone", 0), codes.InvalidArgument, "message.user_id", "ERROR_REASON_INVALID_USER_ID"},
		{"user id too short", userMsg("u1", "123", 0), codes.InvalidArgument, "message.user_id", "ERROR_REASON_INVALID_USER_ID"},
		{"bad BSUID", userMsg("u1", "XX.123", 0), codes.InvalidArgument, "message.user_id", "ERROR_REASON_INVALID_USER_ID"},
		{"no timestamp", func() *convstatev1.Fact { f := userMsg("u1", brUser, 0); f.GetUserMessage().Timestamp = nil; return f }(),
			codes.InvalidArgument, "message.timestamp", "ERROR_REASON_INVALID_ARGUMENT"},
		{"timestamp a day in the future", userMsg("u1", brUser, 24*time.Hour), codes.InvalidArgument, "message.timestamp", "ERROR_REASON_TIMESTAMP_IN_FUTURE"},
		// The rules validation's fast check knows (server/fastvalid.go): it must not accept these.
		{"business id with a space", func() *convstatev1.Fact {
			f := userMsg("u1", brUser, 0)
			f.GetUserMessage().BusinessId = "b 1"
			return f
		}(),
			codes.InvalidArgument, "message.business_id", "ERROR_REASON_INVALID_ARGUMENT"},
		{"business id of 65 characters", func() *convstatev1.Fact {
			f := userMsg("u1", brUser, 0)
			f.GetUserMessage().BusinessId = strings.Repeat("b", 65)
			return f
		}(), codes.InvalidArgument, "message.business_id", "ERROR_REASON_INVALID_ARGUMENT"},
		{"message id with a space", userMsg("wamid 1", brUser, 0), codes.InvalidArgument, "message.message_id", "ERROR_REASON_INVALID_ARGUMENT"},
		{"undefined entry point", func() *convstatev1.Fact {
			f := userMsg("u1", brUser, 0)
			f.GetUserMessage().EntryPoint = 99
			return f
		}(), codes.InvalidArgument, "message.entry_point", "ERROR_REASON_INVALID_ARGUMENT"},
		{"call with empty call id", userCall("", brUser, 0), codes.InvalidArgument, "call.call_id", "ERROR_REASON_INVALID_ARGUMENT"},
		{"status without status", statusFact("b1", 0, 0, 0), codes.InvalidArgument, "status.status", "ERROR_REASON_INVALID_ARGUMENT"},
		{"status of an unknown message", statusFact("nope", delivered, 0, 0), codes.NotFound, "status.message_id", "ERROR_REASON_UNKNOWN_MESSAGE"},
		{"recipient_user_id not a BSUID", recipients(statusFact("b1", delivered, 0, 0), brUser, usUser),
			codes.InvalidArgument, "status.recipient_user_id", "ERROR_REASON_INVALID_ARGUMENT"},
		{"recipient_user_id of an unknown country", recipients(statusFact("b1", delivered, 0, 0), brUser, "XX.123"),
			codes.InvalidArgument, "status.recipient_user_id", "ERROR_REASON_INVALID_USER_ID"},
		{"recipient_user_id beside another BSUID", recipients(statusFact("b1", delivered, 0, 0), "BR.15", "BR.16"),
			codes.InvalidArgument, "status.recipient_user_id", "ERROR_REASON_INVALID_ARGUMENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t)
			_, err := hs.recordOne(tt.fact)
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("code = %v, want %v (%v)", got, tt.wantCode, err)
			}
			if fv := fieldViolations(err); len(fv) == 0 || fv[0] != tt.wantField {
				t.Errorf("field violations = %v, want %q first", fv, tt.wantField)
			}
			if r := errorReason(err); r != tt.wantReason {
				t.Errorf("reason = %q, want %q", r, tt.wantReason)
			}
			if status.Convert(err).Message() == "" {
				t.Errorf("empty error message")
			}
			// Nothing was written: the pair has no state.
			if _, err := hs.win.GetPair(hs.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: brUser}); status.Code(err) != codes.NotFound {
				t.Errorf("GetPair after a rejected fact: %v, want NotFound", err)
			}
		})
	}
}

// TestBadDecideInput: decisions refuse what their rules refuse, through the fast check and
// protovalidate alike, with the field named.
func TestBadDecideInput(t *testing.T) {
	hs := newHarness(t)
	for _, tt := range []struct {
		name  string
		req   *convstatev1.DecideRequest
		field string
	}{
		{"safety margin over a day", &convstatev1.DecideRequest{BusinessId: biz, UserId: brUser, SafetyMargin: durationpb.New(25 * time.Hour)}, "safety_margin"},
		{"negative safety margin", &convstatev1.DecideRequest{BusinessId: biz, UserId: brUser, SafetyMargin: durationpb.New(-time.Second)}, "safety_margin"},
		{"undefined template category", &convstatev1.DecideRequest{BusinessId: biz, UserId: brUser, Template: 99}, "template"},
		{"business id with a slash", &convstatev1.DecideRequest{BusinessId: "b/1", UserId: brUser}, "business_id"},
		{"user id of 65 characters", &convstatev1.DecideRequest{BusinessId: biz, UserId: strings.Repeat("é", 65)}, "user_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hs.win.Decide(hs.ctx, tt.req)
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("code = %v, want InvalidArgument", err)
			}
			if fv := fieldViolations(err); len(fv) == 0 || fv[0] != tt.field {
				t.Errorf("field violations = %v, want %q first", fv, tt.field)
			}
		})
	}
	// At the bounds, accepted.
	if _, err := hs.win.Decide(hs.ctx, &convstatev1.DecideRequest{BusinessId: biz, UserId: brUser, SafetyMargin: durationpb.New(24 * time.Hour)}); err != nil {
		t.Errorf("a safety margin of exactly a day: %v", err)
	}
}

// TestBatchWithBadItems: a batch reports per item; bad items write nothing and do
// not stop the good ones.
func TestBatchWithBadItems(t *testing.T) {
	hs := newHarness(t)
	resp, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: []*convstatev1.Fact{
		userMsg("u1", brUser, 0),
		userMsg("u2", "not-a-phone", 0),
		userMsg("", brUser, 0),
		userMsg("u3", usUser, 48*time.Hour),
		userMsg("u1", brUser, 0),
		send("b1", usUser, 0, marketing),
		{},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetRecorded() != 2 || resp.GetDuplicates() != 1 || resp.GetFailed() != 4 {
		t.Errorf("recorded/duplicates/failed = %d/%d/%d, want 2/1/4", resp.GetRecorded(), resp.GetDuplicates(), resp.GetFailed())
	}
	wantErr := []bool{false, true, true, true, false, false, true}
	for i, r := range resp.GetResults() {
		if got := r.GetError() != nil; got != wantErr[i] {
			t.Errorf("item %d: error = %v, want error %v", i, r.GetError(), wantErr[i])
		}
		if e := r.GetError(); e != nil && (e.GetCode() != int32(codes.InvalidArgument) || len(e.GetFieldViolations()) == 0) {
			t.Errorf("item %d: error %v, want InvalidArgument with field violations", i, e)
		}
	}
	if f := resp.GetResults()[2].GetError().GetFieldViolations(); f[0].GetField() != "user_message.message_id" {
		t.Errorf("item 2 field = %q", f[0].GetField())
	}
	if !resp.GetResults()[4].GetUserMessage().GetDuplicate() {
		t.Errorf("item 4 is the same message again: want duplicate")
	}
	// The bad items wrote nothing: the US user only has the business message, no activity.
	p, err := hs.win.GetPair(hs.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: usUser})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.GetRecentUserActivity()) != 0 {
		t.Errorf("the future user message was written: %v", p.GetRecentUserActivity())
	}
}

func TestBatchLimits(t *testing.T) {
	hs := newHarness(t, withMaxBatch(2))
	_, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: []*convstatev1.Fact{
		userMsg("u1", brUser, 0), userMsg("u2", brUser, 0), userMsg("u3", brUser, 0),
	}})
	if status.Code(err) != codes.InvalidArgument || errorReason(err) != "ERROR_REASON_BATCH_TOO_LARGE" {
		t.Errorf("oversized batch: %v", err)
	}
	_, err = hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("empty batch: %v", err)
	}
	if _, err := hs.win.GetPair(hs.ctx, &convstatev1.GetPairRequest{BusinessId: biz, UserId: brUser}); status.Code(err) != codes.NotFound {
		t.Errorf("a rejected batch wrote: %v", err)
	}
}

// TestHealthAndReflection guards grpcurl-friendliness.
func TestHealthAndReflection(t *testing.T) {
	hs := newHarness(t)
	for _, svc := range []string{"", "convstate.v1.WindowService", "convstate.v1.BillingService", "convstate.v1.AdminService"} {
		r, err := healthpb.NewHealthClient(hs.conn).Check(hs.ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health %q: %v %v", svc, r, err)
		}
	}
	stream, err := reflectionpb.NewServerReflectionClient(hs.conn).ServerReflectionInfo(hs.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range resp.GetListServicesResponse().GetService() {
		got[s.GetName()] = true
	}
	for _, want := range []string{"convstate.v1.WindowService", "convstate.v1.BillingService", "convstate.v1.AdminService",
		"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !got[want] {
			t.Errorf("reflection does not list %s (got %v)", want, got)
		}
	}
}
