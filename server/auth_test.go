package server_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/convstate/convstate/auth"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
)

const otherBiz = "999000111222333"

// mint returns a token and the token file line for it.
func mint(t *testing.T, name string, scopes auth.Scope, businesses ...string) (string, string) {
	t.Helper()
	tok, line, err := auth.Mint(name, scopes, businesses)
	if err != nil {
		t.Fatal(err)
	}
	return tok, line
}

type tokenSet struct {
	writer, reader, other, admin, root string
	tokens                             *auth.Tokens
}

func newTokens(t *testing.T) tokenSet {
	var ts tokenSet
	var lines []string
	add := func(dst *string, name string, sc auth.Scope, biz ...string) {
		tok, line := mint(t, name, sc, biz...)
		*dst = tok
		lines = append(lines, line)
	}
	add(&ts.writer, "writer", auth.Read|auth.Write, biz)
	add(&ts.reader, "reader", auth.Read, biz)
	add(&ts.other, "other", auth.Read|auth.Write|auth.Admin, otherBiz)
	add(&ts.admin, "admin", auth.Read|auth.Write|auth.Admin, biz)
	add(&ts.root, "root", auth.Read|auth.Write|auth.Admin, "*")
	tokens, err := auth.Parse(strings.NewReader(strings.Join(lines, "\n")), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	ts.tokens = tokens
	return ts
}

// TestAuth: without a valid token Unauthenticated; outside its scope
// PermissionDenied; nothing read or written either way; health and reflection open.
func TestAuth(t *testing.T) {
	ts := newTokens(t)
	var logs bytes.Buffer
	hs := newHarness(t, withTokens(ts.tokens), withLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	hs.clock.Set(t0.Add(time.Hour))
	um := &convstatev1.RecordUserMessageRequest{Message: userMsg("u1", brUser, 0).GetUserMessage()}
	decide := &convstatev1.DecideRequest{BusinessId: biz, UserId: brUser}
	tests := []struct {
		name  string
		token string
		call  func(ctx context.Context) error
		want  codes.Code
	}{
		{"no token", "", func(ctx context.Context) error { _, err := hs.win.Decide(ctx, decide); return err }, codes.Unauthenticated},
		{"wrong token", "cst_nope", func(ctx context.Context) error { _, err := hs.win.Decide(ctx, decide); return err }, codes.Unauthenticated},
		{"token of another business", ts.other, func(ctx context.Context) error { _, err := hs.win.Decide(ctx, decide); return err }, codes.PermissionDenied},
		{"another business's write", ts.other, func(ctx context.Context) error { _, err := hs.win.RecordUserMessage(ctx, um); return err }, codes.PermissionDenied},
		{"read-only token writes", ts.reader, func(ctx context.Context) error { _, err := hs.win.RecordUserMessage(ctx, um); return err }, codes.PermissionDenied},
		{"read-only token, admin call", ts.reader, func(ctx context.Context) error {
			_, err := hs.admin.SetBusinessProfile(ctx, &convstatev1.SetBusinessProfileRequest{Profile: &convstatev1.BusinessProfile{BusinessId: biz}})
			return err
		}, codes.PermissionDenied},
		{"write token, admin call", ts.writer, func(ctx context.Context) error {
			_, err := hs.admin.SetBusinessProfile(ctx, &convstatev1.SetBusinessProfileRequest{Profile: &convstatev1.BusinessProfile{BusinessId: biz}})
			return err
		}, codes.PermissionDenied},
		{"batch with a fact of another business", ts.writer, func(ctx context.Context) error {
			_, err := hs.win.RecordFacts(ctx, &convstatev1.RecordFactsRequest{Facts: []*convstatev1.Fact{
				userMsg("u1", brUser, 0),
				{Kind: &convstatev1.Fact_UserMessage{UserMessage: &convstatev1.UserMessage{BusinessId: otherBiz, UserId: brUser, MessageId: "x", Timestamp: at(0)}}},
			}})
			return err
		}, codes.PermissionDenied},
		{"portfolio usage with a business token", ts.admin, func(ctx context.Context) error {
			_, err := hs.bill.GetUsage(ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_PortfolioId{PortfolioId: "p"}})
			return err
		}, codes.PermissionDenied},
		{"backup with a business token", ts.admin, func(ctx context.Context) error {
			s, err := hs.admin.Backup(ctx, &convstatev1.BackupRequest{})
			if err == nil {
				_, err = s.Recv()
			}
			return err
		}, codes.PermissionDenied},
		{"read token reads", ts.reader, func(ctx context.Context) error { _, err := hs.win.Decide(ctx, decide); return err }, codes.OK},
		{"health needs no token", "", func(ctx context.Context) error {
			_, err := healthpb.NewHealthClient(hs.conn).Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		}, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := hs.ctx
			if tt.token != "" {
				ctx = hs.as(tt.token)
			}
			if got := status.Code(tt.call(ctx)); got != tt.want {
				t.Fatalf("code = %v, want %v", got, tt.want)
			}
		})
	}
	// Nothing was written by the refused calls.
	if _, err := hs.win.GetPair(hs.as(ts.root), &convstatev1.GetPairRequest{BusinessId: biz, UserId: brUser}); status.Code(err) != codes.NotFound {
		t.Errorf("a refused write was written: %v", err)
	}
	// The allowed write works; the root token sees everything.
	if _, err := hs.win.RecordUserMessage(hs.as(ts.writer), um); err != nil {
		t.Fatal(err)
	}
	if _, err := hs.win.GetPair(hs.as(ts.root), &convstatev1.GetPairRequest{BusinessId: biz, UserId: brUser}); err != nil {
		t.Errorf("root token: %v", err)
	}
	// Tokens never appear in logs; names do.
	for _, tok := range []string{ts.writer, ts.reader, ts.other, ts.admin, ts.root} {
		if strings.Contains(logs.String(), tok) {
			t.Fatalf("a token appears in the logs")
		}
	}
	if !strings.Contains(logs.String(), "caller=writer") || !strings.Contains(logs.String(), "call refused") {
		t.Errorf("logs lack the caller's name or the refusals:\n%s", logs.String())
	}
}

// TestRootTokenReachesReads: a token for all businesses with every scope reaches
// the calls that need one (portfolio usage, rate cards).
func TestRootTokenReachesReads(t *testing.T) {
	ts := newTokens(t)
	hs := newHarness(t, withTokens(ts.tokens))
	calls := map[string]func(ctx context.Context) error{
		"GetBusinessProfile": func(ctx context.Context) error {
			_, err := hs.admin.GetBusinessProfile(ctx, &convstatev1.GetBusinessProfileRequest{BusinessId: biz})
			return err
		},
		"ListRateCards": func(ctx context.Context) error {
			_, err := hs.admin.ListRateCards(ctx, &convstatev1.ListRateCardsRequest{})
			return err
		},
		"GetUsage": func(ctx context.Context) error {
			_, err := hs.bill.GetUsage(ctx, &convstatev1.GetUsageRequest{Scope: &convstatev1.GetUsageRequest_PortfolioId{PortfolioId: "p"}})
			return err
		},
		"DecideBatch": func(ctx context.Context) error {
			_, err := hs.win.DecideBatch(ctx, &convstatev1.DecideBatchRequest{BusinessId: biz, UserIds: []string{brUser}})
			return err
		},
	}
	for name, call := range calls {
		if err := call(hs.as(ts.root)); err != nil {
			t.Errorf("%s with the root token: %v", name, err)
		}
	}
}

func TestRateLimitPerToken(t *testing.T) {
	ts := newTokens(t)
	hs := newHarness(t, withTokens(ts.tokens), withRateLimit(0.001, 2))
	decide := &convstatev1.DecideRequest{BusinessId: biz, UserId: brUser}
	for i := range 2 {
		if _, err := hs.win.Decide(hs.as(ts.reader), decide); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err := hs.win.Decide(hs.as(ts.reader), decide)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("third call: %v, want ResourceExhausted", err)
	}
	// Another token has its own budget.
	if _, err := hs.win.Decide(hs.as(ts.writer), decide); err != nil {
		t.Errorf("another token: %v", err)
	}
}

func TestMaxRequestBytes(t *testing.T) {
	hs := newHarness(t, withMaxRequestBytes(4096))
	var facts []*convstatev1.Fact
	for i := range 200 {
		facts = append(facts, userMsg(fmt.Sprintf("u%d", i), brUser, 0))
	}
	_, err := hs.win.RecordFacts(hs.ctx, &convstatev1.RecordFactsRequest{Facts: facts})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("oversized request: %v, want ResourceExhausted", err)
	}
}
