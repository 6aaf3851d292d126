package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/webhook"
)

// webhookFake adds IngestWebhook to the fake server of runner_test.go the way the
// real handler works: the body is read with webhook.Parse (a body that is not a
// webhook is InvalidArgument), the facts are recorded with the fake's RecordFacts
// and the items that could not be read get an InvalidArgument error.
type webhookFake struct {
	*fakeServer
	ingestErr error // returned by IngestWebhook when set
	bodies    []string
}

func (f *webhookFake) IngestWebhook(ctx context.Context, in *convstatev1.IngestWebhookRequest, _ ...grpc.CallOption) (*convstatev1.IngestWebhookResponse, error) {
	f.bodies = append(f.bodies, in.GetBody())
	if f.ingestErr != nil {
		return nil, f.ingestErr
	}
	items, ignored, err := webhook.Parse([]byte(in.GetBody()))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	var facts []*convstatev1.Fact
	for _, it := range items {
		if it.Fact != nil {
			facts = append(facts, it.Fact)
		}
	}
	var results []*convstatev1.FactResult
	if len(facts) > 0 {
		r, err := f.RecordFacts(ctx, &convstatev1.RecordFactsRequest{Facts: facts})
		if err != nil {
			return nil, err
		}
		results = r.GetResults()
	}
	resp := &convstatev1.IngestWebhookResponse{Ignored: int32(ignored)}
	for _, it := range items {
		wr := &convstatev1.WebhookFactResult{Path: it.Path, Fact: it.Fact}
		if it.Fact == nil {
			wr.Result = &convstatev1.FactResult{Result: &convstatev1.FactResult_Error{Error: &convstatev1.ItemError{
				Code: int32(codes.InvalidArgument), CodeName: "InvalidArgument", Message: it.Message(),
				Reason:          convstatev1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT,
				FieldViolations: []*convstatev1.FieldViolation{{Field: it.Field, Description: it.Problem}}}}}
		} else {
			wr.Result, results = results[0], results[1:]
			if c := it.Fact.GetTemplateCategoryChange(); c != nil && wr.Result == nil { // not in runner_test.go's fake
				key := "t" + c.GetTemplateName() + c.GetTimestamp().AsTime().String()
				wr.Result = &convstatev1.FactResult{Result: &convstatev1.FactResult_TemplateCategoryChange{
					TemplateCategoryChange: &convstatev1.TemplateCategoryChangeResult{Duplicate: f.seen[key]}}}
				f.seen[key] = true
			}
		}
		resp.Results = append(resp.Results, wr)
	}
	return resp, nil
}

func replayWebhooks(t *testing.T, f *webhookFake, r *Runner, input string) (Stats, string, error) {
	t.Helper()
	var out bytes.Buffer
	r.Window, r.Billing, r.Admin = f, f, f
	r.Out, r.Now, r.Webhooks = &out, f.clock, true
	st, err := r.Run(context.Background(), strings.NewReader(input))
	return st, out.String(), err
}

// fixture is a testdata/webhooks body on one line.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		t.Fatal(err)
	}
	return c.String()
}

// TestWebhookReplay: one output line per fact, in body order, with the fact's path
// and type and the fields of the fact replay; duplicates, unreadable items, bodies
// that are not webhooks and lines that are not UTF-8 are reported and the replay
// goes on; a body without facts writes nothing; blank and # lines are skipped but
// counted.
func TestWebhookReplay(t *testing.T) {
	const (
		v0  = `"entry[0].changes[0].value.`
		biz = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},`
	)
	input := strings.Join([]string{
		"# webhooks of 2025-08-04",
		"",
		fixture(t, "messages_referral_ad.json") + "\r",
		"  " + fixture(t, "messages_referral_ad.json") + "  ",
		biz + `"statuses":[{"id":"m1","status":"sent","timestamp":"1754301600","recipient_id":"16505551234"},` +
			`{"id":"m1","status":"delivered","timestamp":"1754301605","recipient_id":"16505551234","pricing":{"pricing_model":"PMP","category":"marketing","type":"regular"}},` +
			`{"id":"m1","status":"bogus","timestamp":"1754301700"}]}}]}]}`,
		fixture(t, "calls_user_initiated.json"),
		fixture(t, "smb_message_echoes.json"),
		fixture(t, "template_category_update.json"),
		fixture(t, "account_update.json"),
		fixture(t, "template_category_update.json"),
		fixture(t, "onprem_envelope.json"),
		"{\"entry\":[\"\xff\"]}",
		biz + `"messages":[{"from":"bad","id":"u9","timestamp":"1754301600","type":"text"}]}}]}]}`,
		"   # the end",
	}, "\n")
	f := &webhookFake{fakeServer: newFake()}
	st, out, err := replayWebhooks(t, f, &Runner{}, input)
	if err != nil {
		t.Fatal(err)
	}
	charge := `"charge":{"amount":"0.01","currency":"USD","market":"Brazil","category":"marketing","pricing_type":"regular","model":"PMP","rules":"2025-07-01"}`
	want := []string{
		`{"line":3,"path":` + v0 + `messages[0]","type":"user_message","window_expires_at":"2025-08-05T10:00:00Z"}`,
		`{"line":4,"path":` + v0 + `messages[0]","type":"user_message","duplicate":true,"window_expires_at":"2025-08-05T10:00:00Z"}`,
		`{"line":5,"path":` + v0 + `statuses[0]","type":"status"}`,
		`{"line":5,"path":` + v0 + `statuses[1]","type":"status",` + charge + `}`,
		`{"line":5,"path":` + v0 + `statuses[2]","error":{"code":"InvalidArgument","message":"entry[0].changes[0].value.statuses[2].status: unsupported status \"bogus\" (convstate reads sent, delivered, read and failed)"}}`,
		`{"line":6,"path":` + v0 + `calls[0]","type":"user_call","window_expires_at":"2025-11-04T16:00:00Z"}`,
		`{"line":6,"path":"entry[0].changes[1].value.calls[0]","type":"user_call","window_expires_at":"2025-11-04T16:03:04Z"}`,
		`{"line":6,"path":"entry[0].changes[2].value.calls[0]","type":"user_call","window_expires_at":"2025-11-04T17:00:00Z"}`,
		`{"line":7,"path":` + v0 + `message_echoes[0]","type":"send"}`,
		`{"line":7,"path":` + v0 + `message_echoes[1]","type":"send"}`,
		`{"line":7,"path":` + v0 + `message_echoes[2]","error":{"code":"InvalidArgument","message":"entry[0].changes[0].value.message_echoes[2].type: template echo without category (the echo does not say the template's category, which decides its charge)"}}`,
		`{"line":7,"path":` + v0 + `message_echoes[4]","type":"send"}`,
		`{"line":8,"path":"entry[0].changes[0].value","type":"template_category_change"}`,
		`{"line":8,"path":"entry[2].changes[0].value","type":"template_category_change"}`,
		// line 9 (account_update only) writes nothing
		`{"line":10,"path":"entry[0].changes[0].value","type":"template_category_change","duplicate":true}`,
		`{"line":10,"path":"entry[2].changes[0].value","type":"template_category_change","duplicate":true}`,
		`{"line":11,"error":{"code":"InvalidArgument","message":"not a Cloud API webhook: \"statuses\" at the top level is the On-Premises API envelope (sunset 2025-10-23)"}}`,
		`{"line":12,"error":{"code":"InvalidArgument","message":"the body is not valid UTF-8"}}`,
		`{"line":13,"path":` + v0 + `messages[0]","type":"user_message","error":{"code":"InvalidArgument","message":"user id \"bad\" is not a number"}}`,
	}
	if d := cmp.Diff(want, strings.Split(strings.TrimSuffix(out, "\n"), "\n")); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	if want := (Stats{Lines: 14, Facts: 19, Errors: 5}); st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	// Every line but the skipped ones and the one that is not UTF-8 was sent, trimmed.
	if len(f.bodies) != 10 || f.bodies[0] != fixture(t, "messages_referral_ad.json") || f.bodies[1] != f.bodies[0] {
		t.Errorf("bodies sent: %d, first %q", len(f.bodies), f.bodies[0])
	}
	if d := cmp.Diff([]int{1, 1, 2, 3, 3, 2, 2, 1}, f.batches); d != "" {
		t.Errorf("RecordFacts calls, one per body with facts (-want +got):\n%s", d)
	}
}

// TestWebhookReplayServerUnusable: a server without IngestWebhook (Unimplemented)
// or an unreachable one ends the replay with an error naming the line; an
// InvalidArgument is the line's error result and the replay goes on.
func TestWebhookReplayServerUnusable(t *testing.T) {
	body := fixture(t, "messages_text.json")
	for _, code := range []codes.Code{codes.Unimplemented, codes.Unavailable, codes.Internal} {
		f := &webhookFake{fakeServer: newFake(), ingestErr: status.Error(code, "no")}
		_, out, err := replayWebhooks(t, f, &Runner{}, "#\n"+body+"\n"+body+"\n")
		if err == nil || !strings.Contains(err.Error(), "line 2") || status.Code(err) != code {
			t.Errorf("%v: err = %v, want one naming line 2 with that code", code, err)
		}
		if out != "" || len(f.bodies) != 1 {
			t.Errorf("%v: out %q after %d calls; want nothing after the first", code, out, len(f.bodies))
		}
	}
	f := &webhookFake{fakeServer: newFake(), ingestErr: status.Error(codes.InvalidArgument, "body: value length must be at least 2 characters")}
	st, out, err := replayWebhooks(t, f, &Runner{}, "1\n2\n")
	if err != nil || st.Errors != 2 || out != `{"line":1,"error":{"code":"InvalidArgument","message":"body: value length must be at least 2 characters"}}`+"\n"+
		`{"line":2,"error":{"code":"InvalidArgument","message":"body: value length must be at least 2 characters"}}`+"\n" {
		t.Errorf("InvalidArgument: err %v, stats %+v, out %q", err, st, out)
	}
}

// TestWebhookReplaySummaryAndExplain: charges of webhook statuses count in the
// summary; --explain adds the tier and explanation as in the fact replay.
func TestWebhookReplaySummaryAndExplain(t *testing.T) {
	f := &webhookFake{fakeServer: newFake()}
	_, out, err := replayWebhooks(t, f, &Runner{Summary: true, Explain: true}, fixture(t, "statuses_cbp_2022.json"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("want 4 statuses and a summary, got:\n%s", out)
	}
	if want := `{"line":1,"path":"entry[0].changes[0].value.statuses[1]","type":"status","charge":{"amount":"0.01","currency":"USD","market":"Brazil","category":"marketing","pricing_type":"regular","model":"PMP","rules":"2025-07-01","tier":3,"explanation":"why"}}`; lines[1] != want {
		t.Errorf("explained charge:\n got %s\nwant %s", lines[1], want)
	}
	if d := cmp.Diff([]string{"106540352242922 2022-09"}, f.usageAsks); d != "" || !strings.HasPrefix(lines[4], `{"summary":[{"business":"106540352242922","month":"2022-09"`) {
		t.Errorf("usage asked for (-want +got):\n%s\nsummary %s", d, lines[4])
	}
}

// TestWebhookReplayEmptyResult: a result without a variant ends the replay.
func TestWebhookReplayEmptyResult(t *testing.T) {
	f := &emptyResultFake{webhookFake{fakeServer: newFake()}}
	_, _, err := replayWebhooks(t, &f.webhookFake, &Runner{}, fixture(t, "messages_text.json"))
	if err != nil {
		t.Fatalf("the plain fake: %v", err)
	}
	var out bytes.Buffer
	r := &Runner{Window: f, Out: &out, Now: f.clock, Webhooks: true}
	_, err = r.Run(context.Background(), strings.NewReader(fixture(t, "messages_text.json")))
	if err == nil || !strings.Contains(err.Error(), "line 1, entry[0].changes[0].value.messages[0]: the server returned an empty result") {
		t.Errorf("err = %v", err)
	}
}

// emptyResultFake answers every fact with an empty FactResult.
type emptyResultFake struct{ webhookFake }

func (f *emptyResultFake) IngestWebhook(ctx context.Context, in *convstatev1.IngestWebhookRequest, opts ...grpc.CallOption) (*convstatev1.IngestWebhookResponse, error) {
	resp, err := f.webhookFake.IngestWebhook(ctx, in, opts...)
	for _, r := range resp.GetResults() {
		r.Result = &convstatev1.FactResult{}
	}
	return resp, err
}
