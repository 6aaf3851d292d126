package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestIngestWebhook: a webhook body's facts are recorded with the typed calls'
// validation and idempotency; an entry-point message opens an FEP eligibility, a
// status with pricing is reconciled.
func TestIngestWebhook(t *testing.T) {
	hs := newHarness(t)
	hs.clock.Set(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	ingest := func(name string) *convstatev1.IngestWebhookResponse {
		t.Helper()
		r, err := hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: fixture(t, name)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	r := ingest("messages_referral_ad.json")
	if r.GetRecorded() != 1 || r.GetFailed() != 0 {
		t.Fatalf("referral ad: %v", r)
	}
	um := r.GetResults()[0]
	if um.GetFact().GetUserMessage().GetEntryPoint() != convstatev1.EntryPoint_ENTRY_POINT_CLICK_TO_WHATSAPP_AD || um.GetResult().GetUserMessage().GetFepEligibleUntil() == nil {
		t.Errorf("the ad message: %v", um)
	}
	// The same body again: every fact a duplicate.
	if again := ingest("messages_referral_ad.json"); again.GetDuplicates() != 1 || again.GetRecorded() != 0 {
		t.Errorf("re-delivered body: %v", again)
	}
	// Every fixture goes through without an internal error; items that cannot be
	// read are per-item errors.
	entries, err := os.ReadDir(filepath.Join("..", "testdata", "webhooks"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") || e.Name() == "onprem_envelope.json" {
			continue
		}
		r, err := hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: fixture(t, e.Name())})
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		for _, x := range r.GetResults() {
			if ie := x.GetResult().GetError(); ie != nil && ie.GetCode() == int32(codes.Internal) {
				t.Errorf("%s %s: internal error %v", e.Name(), x.GetPath(), ie)
			}
		}
	}
	if _, err := hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: fixture(t, "onprem_envelope.json")}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("an On-Premises body: %v, want InvalidArgument", err)
	}
	if _, err := hs.win.IngestWebhook(hs.ctx, &convstatev1.IngestWebhookRequest{Body: "{not json"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("not JSON: %v, want InvalidArgument", err)
	}
}

// TestIngestWebhookScope: a token may ingest only bodies of its businesses.
func TestIngestWebhookScope(t *testing.T) {
	ts := newTokens(t)
	hs := newHarness(t, withTokens(ts.tokens))
	hs.clock.Set(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	body := strings.ReplaceAll(fixture(t, "messages_text.json"), biz, otherBiz)
	if _, err := hs.win.IngestWebhook(hs.as(ts.writer), &convstatev1.IngestWebhookRequest{Body: body}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("another business's webhook: %v, want PermissionDenied", err)
	}
	if _, err := hs.win.IngestWebhook(hs.as(ts.writer), &convstatev1.IngestWebhookRequest{Body: fixture(t, "messages_text.json")}); err != nil {
		t.Errorf("its own business's webhook: %v", err)
	}
}
