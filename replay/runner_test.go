package replay

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

// fakeServer answers the calls the Runner makes, records what it was asked, and
// advances an injected clock by tick on every RecordFacts call (a slow server).
type fakeServer struct {
	convstatev1.WindowServiceClient
	convstatev1.BillingServiceClient
	convstatev1.AdminServiceClient

	now     time.Time
	tick    time.Duration
	batches []int // sizes of the RecordFacts calls
	seen    map[string]bool

	recordErr error // returned by RecordFacts when set
	decideErr error // returned by Decide when set
	profiles  []*convstatev1.BusinessProfile
	usageAsks []string // "business month"
}

func newFake() *fakeServer {
	return &fakeServer{now: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), seen: map[string]bool{}}
}

func (f *fakeServer) clock() time.Time { return f.now }

func (f *fakeServer) RecordFacts(_ context.Context, in *convstatev1.RecordFactsRequest, _ ...grpc.CallOption) (*convstatev1.RecordFactsResponse, error) {
	f.now = f.now.Add(f.tick)
	f.batches = append(f.batches, len(in.GetFacts()))
	if f.recordErr != nil {
		return nil, f.recordErr
	}
	out := &convstatev1.RecordFactsResponse{}
	for _, fact := range in.GetFacts() {
		var r *convstatev1.FactResult
		switch k := fact.GetKind().(type) {
		case *convstatev1.Fact_UserMessage:
			m := k.UserMessage
			if m.GetUserId() == "bad" {
				r = &convstatev1.FactResult{Result: &convstatev1.FactResult_Error{Error: &convstatev1.ItemError{
					Code: int32(codes.InvalidArgument), Message: "user id \"bad\" is not a number"}}}
				break
			}
			dup := f.seen["u"+m.GetMessageId()]
			f.seen["u"+m.GetMessageId()] = true
			r = &convstatev1.FactResult{Result: &convstatev1.FactResult_UserMessage{UserMessage: &convstatev1.RecordUserMessageResponse{
				Duplicate: dup, WindowExpiresAt: timestamppb.New(m.GetTimestamp().AsTime().Add(24 * time.Hour))}}}
		case *convstatev1.Fact_UserCall:
			r = &convstatev1.FactResult{Result: &convstatev1.FactResult_UserCall{UserCall: &convstatev1.RecordUserCallResponse{
				WindowExpiresAt: timestamppb.New(k.UserCall.GetTimestamp().AsTime().Add(24 * time.Hour))}}}
		case *convstatev1.Fact_BusinessMessage:
			r = &convstatev1.FactResult{Result: &convstatev1.FactResult_BusinessMessage{BusinessMessage: &convstatev1.RecordBusinessMessageResponse{}}}
		case *convstatev1.Fact_Status:
			s := k.Status
			key := "s" + s.GetBusinessId() + "/" + s.GetMessageId() + "/" + s.GetStatus().String()
			resp := &convstatev1.RecordStatusResponse{Duplicate: f.seen[key]}
			f.seen[key] = true
			if s.GetStatus() == convstatev1.MessageStatus_MESSAGE_STATUS_DELIVERED {
				resp.Charge = &convstatev1.Charge{
					Amount: "0.01", Currency: "USD", Market: "Brazil",
					Category:    convstatev1.ChargeCategory_CHARGE_CATEGORY_MARKETING,
					PricingType: convstatev1.PricingType_PRICING_TYPE_REGULAR,
					Model:       convstatev1.PricingModel_PRICING_MODEL_PMP, Rules: "2025-07-01",
					Tier: 3, Explanation: "why", Month: s.GetTimestamp().AsTime().Format("2006-01"),
				}
			}
			r = &convstatev1.FactResult{Result: &convstatev1.FactResult_Status{Status: resp}}
		}
		out.Results = append(out.Results, r)
	}
	return out, nil
}

func (f *fakeServer) Decide(_ context.Context, in *convstatev1.DecideRequest, _ ...grpc.CallOption) (*convstatev1.DecideResponse, error) {
	if f.decideErr != nil {
		return nil, f.decideErr
	}
	if in.GetUserId() == "bad" {
		return nil, status.Error(codes.InvalidArgument, "user id \"bad\" is not a number")
	}
	return &convstatev1.DecideResponse{
		FreeFormAllowed: true,
		Reason:          convstatev1.DecisionReason_DECISION_REASON_WINDOW_OPEN,
		WindowExpiresAt: timestamppb.New(time.Date(2025, 8, 5, 10, 0, 0, 0, time.UTC)),
		Quote: &convstatev1.Charge{Currency: "EUR", Market: "Germany", RateUnknown: true,
			Category: convstatev1.ChargeCategory_CHARGE_CATEGORY_UTILITY, PricingType: convstatev1.PricingType_PRICING_TYPE_REGULAR,
			Model: convstatev1.PricingModel_PRICING_MODEL_PMP, Rules: "2025-07-01"},
		Warnings: []*convstatev1.Warning{{Message: "rate unknown"}},
	}, nil
}

func (f *fakeServer) SetBusinessProfile(_ context.Context, in *convstatev1.SetBusinessProfileRequest, _ ...grpc.CallOption) (*convstatev1.SetBusinessProfileResponse, error) {
	f.profiles = append(f.profiles, in.GetProfile())
	return &convstatev1.SetBusinessProfileResponse{Profile: in.GetProfile()}, nil
}

func (f *fakeServer) GetUsage(_ context.Context, in *convstatev1.GetUsageRequest, _ ...grpc.CallOption) (*convstatev1.GetUsageResponse, error) {
	f.usageAsks = append(f.usageAsks, in.GetBusinessId()+" "+in.GetMonth())
	return &convstatev1.GetUsageResponse{
		Month: in.GetMonth(), TotalVolume: 2, TotalCost: map[string]string{"USD": "0.02"},
		Rows: []*convstatev1.UsageRow{{Market: "Brazil", Category: convstatev1.ChargeCategory_CHARGE_CATEGORY_MARKETING,
			PricingType: convstatev1.PricingType_PRICING_TYPE_REGULAR, Volume: 2, Conversations: 0, Cost: "0.02", Currency: "USD"}},
	}, nil
}

// replayWith runs a Runner over the fake with input and returns stdout and stderr.
func replayWith(t *testing.T, f *fakeServer, r *Runner, input string) (Stats, string, string, error) {
	t.Helper()
	var out, progress bytes.Buffer
	r.Window, r.Billing, r.Admin = f, f, f
	r.Out, r.Progress, r.Now = &out, &progress, f.clock
	st, err := r.Run(context.Background(), strings.NewReader(input))
	return st, out.String(), progress.String(), err
}

func userLine(id string, at string) string {
	return fmt.Sprintf(`{"type":"user_message","business":"b1","user":"5511987650001","id":"%s","at":"%s"}`, id, at)
}

// TestRunnerReaderAndOrder: blank, whitespace-only and # lines are skipped but
// counted for line numbers; CRLF line ends and a last line without a newline work;
// results come out in input order although facts are batched and checks, profiles
// and parse errors flush the batch first.
func TestRunnerReaderAndOrder(t *testing.T) {
	input := strings.Join([]string{
		"# a comment",
		"",
		userLine("u1", "2025-08-04T10:00:00Z") + "\r",
		"   ",
		"   # an indented comment",
		userLine("u2", "2025-08-04T11:00:00Z"),
		userLine("u3", "2025-08-04T12:00:00Z"),
		`{"type":"check","business":"b1","user":"5511987650001","at":"2025-08-04T12:30:00Z"}`,
		userLine("u4", "2025-08-04T13:00:00Z"),
		`not json`,
		`{"type":"business","business":"b1","timezone":"America/Sao_Paulo","note":"ignored"}`,
		`{"type":"user_message","business":"b1","user":"bad","id":"u5","at":"2025-08-04T14:00:00Z"}`,
		`{"type":"send","business":"b1","user":"5511987650001","id":"m1","at":"2025-08-04T14:00:00Z","template":"marketing"}`,
		`{"type":"status","business":"b1","id":"m1","status":"delivered","at":"2025-08-04T14:01:00Z"}`,
		`{"type":"status","business":"b1","id":"m1","status":"delivered","at":"2025-08-04T14:01:00Z"}`,
		userLine("u1", "2025-08-04T10:00:00Z"), // no newline at the end
	}, "\n")
	f := newFake()
	st, out, progress, err := replayWith(t, f, &Runner{BatchSize: 2}, input)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"line":3,"window_expires_at":"2025-08-05T10:00:00Z"}`,
		`{"line":6,"window_expires_at":"2025-08-05T11:00:00Z"}`,
		`{"line":7,"window_expires_at":"2025-08-05T12:00:00Z"}`,
		`{"line":8,"free_form_allowed":true,"template_required":false,"window_expires_at":"2025-08-05T10:00:00Z","fep_expires_at":null,` +
			`"quote":{"amount":null,"currency":"EUR","market":"Germany","category":"utility","pricing_type":"regular","model":"PMP","rules":"2025-07-01","rate_unknown":true},"warnings":["rate unknown"]}`,
		`{"line":9,"window_expires_at":"2025-08-05T13:00:00Z"}`,
		`{"line":10,"error":{"code":"InvalidArgument","message":"not a valid input object: invalid character 'o' in literal null (expecting 'u')"}}`,
		`{"line":11}`,
		`{"line":12,"error":{"code":"InvalidArgument","message":"user id \"bad\" is not a number"}}`,
		`{"line":13}`,
		`{"line":14,"charge":{"amount":"0.01","currency":"USD","market":"Brazil","category":"marketing","pricing_type":"regular","model":"PMP","rules":"2025-07-01"}}`,
		`{"line":15,"duplicate":true,"charge":{"amount":"0.01","currency":"USD","market":"Brazil","category":"marketing","pricing_type":"regular","model":"PMP","rules":"2025-07-01"}}`,
		`{"line":16,"duplicate":true,"window_expires_at":"2025-08-05T10:00:00Z"}`,
	}
	if d := cmp.Diff(want, strings.Split(strings.TrimSuffix(out, "\n"), "\n")); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	if want := (Stats{Lines: 16, Facts: 12, Errors: 2}); st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	// u1,u2 | u3 (flushed by the check) | u4 (by the parse error) | u5,m1 | delivered,delivered | u1 (at the end)
	if d := cmp.Diff([]int{2, 1, 1, 2, 2, 1}, f.batches); d != "" {
		t.Errorf("RecordFacts batch sizes (-want +got):\n%s", d)
	}
	if len(f.profiles) != 1 || f.profiles[0].GetTimeZone() != "America/Sao_Paulo" {
		t.Errorf("profiles sent: %v", f.profiles)
	}
	if progress != "" {
		t.Errorf("a replay that does not advance the clock prints no progress, got %q", progress)
	}
}

// TestRunnerProgress: with an injected clock that a slow server advances by one
// second per call, progress lines come every ProgressEvery (checked after every
// call and every 64 lines) and a last "done" line ends a long replay.
func TestRunnerProgress(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 5000; i++ {
		in.WriteString(userLine(fmt.Sprintf("u%d", i), "2025-08-04T10:00:00Z") + "\n")
	}
	f := newFake()
	f.tick = time.Second // 100 facts a call: 10 calls (10 s) per 1,000 lines
	st, out, progress, err := replayWith(t, f, &Runner{BatchSize: 100, ProgressEvery: 5 * time.Second}, in.String())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "\n"); n != 5000 || st.Facts != 5000 {
		t.Fatalf("%d output lines, stats %+v; want 5000", n, st)
	}
	var want string
	for n := 500; n <= 5000; n += 500 { // every 5 calls = 5 s
		want += fmt.Sprintf("replay: replaying: %d lines, %d facts, 0 errors, 100 facts/s\n", n, n)
	}
	want += "replay: done: 5000 lines, 5000 facts, 0 errors, 100 facts/s\n" // 50 calls = 50 s
	if d := cmp.Diff(want, progress); d != "" {
		t.Errorf("progress (-want +got):\n%s", d)
	}

	// Below ProgressEvery nothing is printed, not even "done".
	f = newFake()
	f.tick = time.Second
	_, _, progress, err = replayWith(t, f, &Runner{BatchSize: 100, ProgressEvery: time.Hour}, in.String())
	if err != nil || progress != "" {
		t.Errorf("quick replay: err %v, progress %q; want none", err, progress)
	}

	// The default ProgressEvery is 3 s: 1,000 facts a call, one second each.
	f = newFake()
	f.tick = time.Second
	_, _, progress, err = replayWith(t, f, &Runner{BatchSize: 1000}, in.String())
	if want := "replay: replaying: 3000 lines, 3000 facts, 0 errors, 1000 facts/s\n" + // 3 calls = 3 s
		"replay: done: 5000 lines, 5000 facts, 0 errors, 1000 facts/s\n"; err != nil || progress != want {
		t.Errorf("default interval: err %v, progress %q, want %q", err, progress, want)
	}
}

// TestRunnerServerUnusable: a failed call that is not about the line (e.g.
// Unavailable) ends the replay with an error naming the lines; one about the line
// (InvalidArgument) is an error result and the replay goes on.
func TestRunnerServerUnusable(t *testing.T) {
	input := userLine("u1", "2025-08-04T10:00:00Z") + "\n" + userLine("u2", "2025-08-04T11:00:00Z") + "\n" +
		`{"type":"check","business":"b1","user":"5511987650001"}` + "\n"
	f := newFake()
	f.recordErr = status.Error(codes.Unavailable, "connection refused")
	_, out, _, err := replayWith(t, f, &Runner{}, input)
	if err == nil || !strings.Contains(err.Error(), "lines 1-2") || status.Code(err) != codes.Unavailable {
		t.Errorf("RecordFacts Unavailable: err = %v, want one naming lines 1-2 with code Unavailable", err)
	}
	if out != "" {
		t.Errorf("nothing is written for facts that were not recorded, got %q", out)
	}

	f = newFake()
	f.decideErr = status.Error(codes.Internal, "internal error")
	_, _, _, err = replayWith(t, f, &Runner{}, input)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("Decide Internal: err = %v, want one naming line 3", err)
	}

	f = newFake()
	st, out, _, err := replayWith(t, f, &Runner{}, `{"type":"check","business":"b1","user":"bad"}`+"\n"+userLine("u1", "2025-08-04T10:00:00Z")+"\n")
	if err != nil || st.Errors != 1 || !strings.HasPrefix(out, `{"line":1,"error":{"code":"InvalidArgument","message":"user id \"bad\" is not a number"}}`+"\n{\"line\":2,") {
		t.Errorf("Decide InvalidArgument: err %v, stats %+v, out %q", err, st, out)
	}
}

// TestRunnerSummaryAndExplain: the summary line lists every business and month that
// got a (non-duplicate) charge in this replay, sorted; --explain adds the check's
// reason and the charge's tier and explanation.
func TestRunnerSummaryAndExplain(t *testing.T) {
	st := func(b, id, s, at string) string {
		return fmt.Sprintf(`{"type":"status","business":"%s","id":"%s","status":"%s","at":"%s"}`, b, id, s, at)
	}
	input := strings.Join([]string{
		st("b2", "m1", "delivered", "2025-09-01T00:00:00Z"),
		st("b1", "m2", "delivered", "2025-08-31T00:00:00Z"),
		st("b1", "m3", "read", "2025-07-01T00:00:00Z"), // no charge: not noted
		st("b1", "m4", "delivered", "2025-09-02T00:00:00Z"),
		st("b1", "m2", "delivered", "2025-08-31T00:00:00Z"), // duplicate
		`{"type":"check","business":"b1","user":"5511987650001","at":"2025-08-04T12:30:00Z"}`,
	}, "\n")
	f := newFake()
	_, out, _, err := replayWith(t, f, &Runner{Summary: true, Explain: true}, input)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 7 {
		t.Fatalf("want 6 results and a summary, got:\n%s", out)
	}
	if want := `{"line":1,"charge":{"amount":"0.01","currency":"USD","market":"Brazil","category":"marketing","pricing_type":"regular","model":"PMP","rules":"2025-07-01","tier":3,"explanation":"why"}}`; lines[0] != want {
		t.Errorf("explained charge:\n got %s\nwant %s", lines[0], want)
	}
	if !strings.Contains(lines[5], `"template_required":false,"reason":"window_open","window_expires_at"`) ||
		!strings.Contains(lines[5], `"rate_unknown":true,"tier":0}`) {
		t.Errorf("explained check: %s", lines[5])
	}
	if d := cmp.Diff([]string{"b1 2025-08", "b1 2025-09", "b2 2025-09"}, f.usageAsks); d != "" {
		t.Errorf("usage asked for (-want +got):\n%s", d)
	}
	row := `"rows":[{"market":"Brazil","category":"marketing","pricing_type":"regular","volume":2,"cost":"0.02","currency":"USD"}]`
	want := `{"summary":[` +
		`{"business":"b1","month":"2025-08","total_volume":2,"total_cost":{"USD":"0.02"},` + row + `},` +
		`{"business":"b1","month":"2025-09","total_volume":2,"total_cost":{"USD":"0.02"},` + row + `},` +
		`{"business":"b2","month":"2025-09","total_volume":2,"total_cost":{"USD":"0.02"},` + row + `}]}`
	if lines[6] != want {
		t.Errorf("summary:\n got %s\nwant %s", lines[6], want)
	}

	// No charge at all: an empty summary, still one line.
	_, out, _, err = replayWith(t, newFake(), &Runner{Summary: true}, userLine("u1", "2025-08-04T10:00:00Z"))
	if err != nil || !strings.HasSuffix(out, "\n{\"summary\":[]}\n") {
		t.Errorf("empty summary: err %v, out %q", err, out)
	}
}
