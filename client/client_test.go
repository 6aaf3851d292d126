package client_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/convstate/convstate/client"
	convstatev1 "github.com/convstate/convstate/gen/go/convstate/v1"
	"github.com/convstate/convstate/ledger"
	"github.com/convstate/convstate/server"
	"github.com/convstate/convstate/store"
)

// newClient serves the production server on a real bbolt file over bufconn and
// returns a client from client.New.
func newClient(t *testing.T, now time.Time) *client.Client {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, err := server.New(server.Deps{
		Store: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: prometheus.NewRegistry(),
		Now: func() time.Time { return now }, Margin: ledger.DefaultMargin, MaxSkew: ledger.DefaultMaxSkew,
	})
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	c, err := client.New("passthrough:///bufnet", client.WithDialOptions(
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); srv.Stop(); db.Close() })
	return c
}

func TestHelpers(t *testing.T) {
	now := time.Date(2025, 9, 10, 12, 0, 0, 0, time.UTC)
	c := newClient(t, now)
	ctx := t.Context()
	const biz, user = "106540352242922", "5511987654321"

	ok, _, err := c.CanSendFreeForm(ctx, biz, user)
	if err != nil || ok {
		t.Fatalf("before any user message: %v %v", ok, err)
	}
	r, err := c.UserMessage(ctx, biz, user, "wamid.1", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.GetWindowExpiresAt().AsTime(), now.Add(23*time.Hour); !got.Equal(want) {
		t.Errorf("window expires %v, want %v", got, want)
	}
	ok, d, err := c.CanSendFreeForm(ctx, biz, user)
	if err != nil || !ok || d.GetReason() != convstatev1.DecisionReason_DECISION_REASON_WINDOW_OPEN {
		t.Fatalf("after a user message: %v %v %v", ok, d, err)
	}
	q, err := c.Quote(ctx, biz, user, convstatev1.TemplateCategory_TEMPLATE_CATEGORY_UTILITY)
	if err != nil || q.GetPricingType() != convstatev1.PricingType_PRICING_TYPE_FREE_CUSTOMER_SERVICE {
		t.Errorf("utility quote inside the window (2025 rules): %v %v", q, err)
	}
	if _, err := c.Sent(ctx, biz, user, "wamid.2", now.Add(-time.Minute), convstatev1.TemplateCategory_TEMPLATE_CATEGORY_MARKETING); err != nil {
		t.Fatal(err)
	}
	ch, err := c.Status(ctx, biz, "wamid.2", convstatev1.MessageStatus_MESSAGE_STATUS_DELIVERED, now, 0)
	if err != nil || ch == nil || ch.GetCategory() != convstatev1.ChargeCategory_CHARGE_CATEGORY_MARKETING {
		t.Errorf("delivered: %v %v", ch, err)
	}
	ch, err = c.Status(ctx, biz, "wamid.2", convstatev1.MessageStatus_MESSAGE_STATUS_READ, now, 0)
	if err != nil || ch != nil {
		t.Errorf("read after delivered must not charge again: %v %v", ch, err)
	}
	_, err = c.Status(ctx, biz, "wamid.nope", convstatev1.MessageStatus_MESSAGE_STATUS_DELIVERED, now, 0)
	if status.Code(err) != codes.NotFound {
		t.Errorf("status of an unknown message: %v", err)
	}
}

// TestDefaultTimeout: a call without a deadline gets the client's timeout.
func TestDefaultTimeout(t *testing.T) {
	lis := bufconn.Listen(1 << 10)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
		<-make(chan struct{}) // never answers
		return nil
	}))
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	c, err := client.New("passthrough:///bufnet", client.WithTimeout(50*time.Millisecond), client.WithDialOptions(
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Decide(context.Background(), &convstatev1.DecideRequest{BusinessId: "b", UserId: "5511987654321"})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("got %v, want DeadlineExceeded", err)
	}
}
